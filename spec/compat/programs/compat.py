"""What the compatibility programs share: the changes allowed against AWS's
published code, and nothing else.

- The endpoint and the key pair come from the environment (AWS_ENDPOINT_URL,
  AWS_ACCESS_KEY_ID, ...), so every boto3.client(...) call stays as AWS
  wrote it.
- time.sleep is scaled down (COMPAT_SLEEP_SCALE, default 0.01: AWS's
  one-minute poll becomes 0.6 s); time.time is left alone.
- Data is generated here, MovieLens-like or retail-like, instead of being
  downloaded, and written with the csv module where AWS's code uses pandas
  (write_frame writes pandas' to_csv layout, index column included when
  AWS's code keeps it).
- No IAM role is created: ROLE_ARN names one.

A program calls run(main). The last line of its output is
`COMPAT-RESULT {json}`: ok, the failing operation and error when not ok,
and every operation called with its count.
"""
import csv
import json
import os
import random
import sys
import time
import traceback

import boto3
import botocore.exceptions

SCALE = float(os.environ.get("COMPAT_SLEEP_SCALE", "0.01"))
_sleep = time.sleep


def _scaled_sleep(seconds):
    _sleep(seconds * SCALE)


time.sleep = _scaled_sleep

REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
ACCOUNT_ID = "123456789012"
ROLE_ARN = "arn:aws:iam::%s:role/PersonalizeCompatRole" % ACCOUNT_ID
WORKDIR = os.environ.get("COMPAT_WORKDIR", ".")

_calls = {}
_last = {"operation": None}


def _record(**kwargs):
    model = kwargs.get("model")
    if model is None:
        return
    name = "%s.%s" % (model.service_model.endpoint_prefix, model.name)
    _calls[name] = _calls.get(name, 0) + 1
    _last["operation"] = name


_orig_session_client = boto3.session.Session.client


def _session_client(self, *args, **kwargs):
    # boto3.client and boto3.Session().client both end here
    client = _orig_session_client(self, *args, **kwargs)
    client.meta.events.register("before-call", _record)
    return client


boto3.session.Session.client = _session_client


class Unexpected(Exception):
    """What AWS's code printed or displayed is not what AWS's runs show."""


def expect(cond, what):
    if not cond:
        raise Unexpected(what)


def path(name):
    return os.path.join(WORKDIR, name)


def bucket_name(suffix):
    return "%s-%s-%s" % (ACCOUNT_ID, REGION, suffix)


def run(main):
    result = {"ok": True}
    try:
        main()
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        result = {"ok": False, "operation": _last["operation"], "code": err.get("Code"),
                  "message": err.get("Message")}
    except Exception as e:  # noqa: BLE001 - the report names whatever failed
        result = {"ok": False, "operation": _last["operation"], "code": type(e).__name__,
                  "message": str(e)}
        traceback.print_exc()
    result["calls"] = _calls
    sys.stdout.flush()
    print("COMPAT-RESULT " + json.dumps(result, sort_keys=True))
    sys.exit(0 if result["ok"] else 1)


# -- data ---------------------------------------------------------------

GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Horror", "Musical", "Romance", "Sci-Fi", "Thriller", "Western"]
WORDS = ["Silent", "River", "Golden", "Station", "Hidden", "Empire", "Frozen", "Garden", "Iron",
         "Letter", "Wild", "Harbor", "Crimson", "Signal", "Distant", "Orchard"]


def movielens(users=120, items=300, seed=7):
    """MovieLens-like rows: (movies, ratings).

    movies: dicts movieId, title ("Name (YEAR)"; a few with a range of years
    or no year, as in ml-latest-small), genres ("A|B").
    ratings: dicts userId, movieId, rating (0.5-5), timestamp; every user
    rates 15 to 40 movies, popular movies and one favourite genre more.
    """
    rnd = random.Random(seed)
    movies = []
    for i in range(1, items + 1):
        year = str(rnd.randint(1930, 2016))
        if i % 97 == 0:
            year = "1975-1979"
        name = "%s %s" % (rnd.choice(WORDS), rnd.choice(WORDS))
        title = name if i % 89 == 0 else "%s (%s)" % (name, year)
        g = rnd.sample(GENRES, rnd.randint(1, 3))
        movies.append({"movieId": str(i), "title": title, "genres": "|".join(g)})
    weights = [1.0 / (i ** 0.8) for i in range(1, items + 1)]
    ratings = []
    ts = 1300000000
    for u in range(1, users + 1):
        fav = rnd.choice(GENRES)
        seen = set()
        for _ in range(rnd.randint(15, 40)):
            m = rnd.choices(movies, weights)[0]
            if rnd.random() < 0.5:
                liked = [x for x in movies if fav in x["genres"]]
                if liked:
                    m = rnd.choice(liked)
            if m["movieId"] in seen:
                continue
            seen.add(m["movieId"])
            ts += rnd.randint(1, 5000)
            r = rnd.choice([3.5, 4, 4.5, 5]) if fav in m["genres"] else rnd.choice([0.5, 1, 2, 3, 4])
            ratings.append({"userId": str(u), "movieId": m["movieId"], "rating": r,
                            "timestamp": ts})
    return movies, ratings


CATEGORIES = {"apparel": ["shirts", "jackets"], "seasonal": ["halloween", "christmas"],
              "homedecor": ["decorative", "kitchen"], "footwear": ["sneakers", "boots"]}


def retail(users=100, items=200, seed=11):
    """Retail-demo-store-like rows: (items, interactions).

    items: ITEM_ID, PRICE, CATEGORY_L1, CATEGORY_L2, PRODUCT_DESCRIPTION,
    GENDER, PROMOTED, MARGIN. interactions: ITEM_ID, USER_ID, EVENT_TYPE
    (View, AddToCart, Purchase), TIMESTAMP, DISCOUNT (Yes/No).
    """
    rnd = random.Random(seed)
    rows = []
    for i in range(items):
        l1 = rnd.choice(sorted(CATEGORIES))
        l2 = rnd.choice(CATEGORIES[l1])
        price = round(rnd.uniform(5, 120), 2)
        rows.append({"ITEM_ID": "i%04d" % i, "PRICE": price, "CATEGORY_L1": l1, "CATEGORY_L2": l2,
                     "PRODUCT_DESCRIPTION": "A %s %s, %s" % (rnd.choice(WORDS).lower(), l2, l1),
                     "GENDER": rnd.choice(["M", "F", "Unisex"]), "PROMOTED": rnd.choice(["Y", "N"]),
                     "MARGIN": round(price * rnd.uniform(0.1, 0.4), 2)})
    weights = [1.0 / ((i + 1) ** 0.7) for i in range(items)]
    inter = []
    ts = 1591000000
    for u in range(1, users + 1):
        fav = rnd.choice(sorted(CATEGORIES))
        for _ in range(rnd.randint(12, 30)):
            it = rnd.choices(rows, weights)[0]
            if rnd.random() < 0.5:
                it = rnd.choice([r for r in rows if r["CATEGORY_L1"] == fav])
            ts += rnd.randint(1, 3000)
            for ev in ["View", "AddToCart", "Purchase"][:rnd.choice([1, 1, 2, 3])]:
                inter.append({"ITEM_ID": it["ITEM_ID"], "USER_ID": str(u), "EVENT_TYPE": ev,
                              "TIMESTAMP": ts, "DISCOUNT": rnd.choice(["Yes", "No"])})
                ts += 1
    return rows, inter


def write_frame(filename, rows, columns, index=False):
    """Writes rows as pandas' DataFrame.to_csv(filename, index=index) would:
    with index=True the first column is unnamed and holds 0, 1, 2, ..."""
    with open(filename, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(([""] if index else []) + columns)
        for n, row in enumerate(rows):
            values = []
            for c in columns:
                v = row.get(c)
                values.append("" if v is None else v)
            w.writerow(([n] if index else []) + values)


def read_rows(filename):
    with open(filename, newline="") as f:
        return list(csv.DictReader(f))


def personalize_bucket(bucket):
    """The bucket with the policy that lets Personalize read and write it, as
    the samples' CloudFormation template (or the notebook) sets it up."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
        "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                       "Principal": {"Service": "personalize.amazonaws.com"},
                       "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                       "Resource": ["arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"]}]}))
    return bucket


def wait(describe, member, seconds=60, done=("ACTIVE", "CREATE FAILED"), max_hours=3):
    """The samples' polling loop: describe, print the status, stop at ACTIVE
    or CREATE FAILED, else sleep(seconds) and describe again. Returns the
    last description (the member's dict)."""
    max_time = time.time() + max_hours * 60 * 60
    while time.time() < max_time:
        d = describe()[member]
        print("{}: {}".format(member, d["status"]))
        if d["status"] in done:
            break
        time.sleep(seconds)
    return d


def active(d, what):
    expect(d["status"] in ("ACTIVE", "COMPLETED"),
           "%s ended %s: %s" % (what, d["status"], d.get("failureReason")))
