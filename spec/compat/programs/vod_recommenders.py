"""aws-samples getting_started/notebooks_managed_domains: the first
VIDEO_ON_DEMAND recommenders ("More like X", "Top picks for you") on
MovieLens-like data, then Clean_Up_Resources.

As the notebook: interactions with EVENT_TYPE "watch"; items with GENRES
and a YEAR cut out of the title (some empty, one a range of years) as
["string"] categorical fields; users with a random GENDER; three imports
started together, then each waited for; no wait between the datasets and
the imports. Left out: the IAM role (named here) and its one-minute
propagation sleep.
"""
import datetime
import json
import re
import time

import boto3

import compat
import cleanup


def main():
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")

    movies, ratings = compat.movielens(users=100, items=250, seed=5)
    interactions_data = [{"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "TIMESTAMP": r["timestamp"],
                          "EVENT_TYPE": "watch"} for r in ratings if r["rating"] > 3]
    ts = datetime.datetime(2022, 1, 1, 0, 0).strftime("%s")
    items_data = []
    for m in movies:
        year = re.match(r".*\((.*)\).*", m["title"])
        items_data.append({"ITEM_ID": m["movieId"], "GENRES": m["genres"],
                           "YEAR": year.group(1) if year else None, "CREATION_TIMESTAMP": ts})
    user_ids = sorted({r["USER_ID"] for r in interactions_data}, key=int)
    user_data = [{"USER_ID": u, "GENDER": ["female", "male"][n % 2]} for n, u in enumerate(user_ids)]

    region = compat.REGION
    s3 = boto3.client("s3")
    bucket_name = compat.bucket_name("personalizemanagedvod")
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket_name)
        else:
            s3.create_bucket(Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        print("Bucket already exists. Using bucket", bucket_name)

    interactions_filename = "interactions.csv"
    compat.write_frame(compat.path(interactions_filename), interactions_data,
                       ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"])
    boto3.Session().resource("s3").Bucket(bucket_name).Object(interactions_filename).upload_file(
        compat.path(interactions_filename))
    items_filename = "items.csv"
    compat.write_frame(compat.path(items_filename), items_data, ["ITEM_ID", "GENRES", "YEAR", "CREATION_TIMESTAMP"])
    boto3.Session().resource("s3").Bucket(bucket_name).Object(items_filename).upload_file(compat.path(items_filename))
    user_filename = "users.csv"
    compat.write_frame(compat.path(user_filename), user_data, ["USER_ID", "GENDER"])
    boto3.Session().resource("s3").Bucket(bucket_name).Object(user_filename).upload_file(compat.path(user_filename))

    policy = {
        "Version": "2012-10-17",
        "Id": "PersonalizeS3BucketAccessPolicy",
        "Statement": [{
            "Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
            "Principal": {"Service": "personalize.amazonaws.com"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::{}".format(bucket_name), "arn:aws:s3:::{}/*".format(bucket_name)],
        }],
    }
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))

    response = personalize.create_dataset_group(name="personalize-video-on-demand-ds-group",
                                                domain="VIDEO_ON_DEMAND")
    dataset_group_arn = response["datasetGroupArn"]

    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn)["datasetGroup"]["status"]
        print("DatasetGroup: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)

    schema = {"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
              "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                         {"name": "EVENT_TYPE", "type": "string"}, {"name": "TIMESTAMP", "type": "long"}],
              "version": "1.0"}
    interactions_schema_arn = personalize.create_schema(
        name="personalize-demo-interactions-schema", schema=json.dumps(schema),
        domain="VIDEO_ON_DEMAND")["schemaArn"]
    schema = {"type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
              "fields": [{"name": "ITEM_ID", "type": "string"},
                         {"name": "GENRES", "type": ["string"], "categorical": True},
                         {"name": "YEAR", "type": ["string"], "categorical": True},
                         {"name": "CREATION_TIMESTAMP", "type": "long"}],
              "version": "1.0"}
    items_schema_arn = personalize.create_schema(
        name="personalize-demo-items-schema", schema=json.dumps(schema), domain="VIDEO_ON_DEMAND")["schemaArn"]
    schema = {"type": "record", "name": "Users", "namespace": "com.amazonaws.personalize.schema",
              "fields": [{"name": "USER_ID", "type": "string"},
                         {"name": "GENDER", "type": "string", "categorical": True}],
              "version": "1.0"}
    users_schema_arn = personalize.create_schema(
        name="personalize-demo-users-schema", schema=json.dumps(schema), domain="VIDEO_ON_DEMAND")["schemaArn"]

    interactions_dataset_arn = personalize.create_dataset(
        name="personalize-demo-interactions", datasetType="INTERACTIONS", datasetGroupArn=dataset_group_arn,
        schemaArn=interactions_schema_arn)["datasetArn"]
    items_dataset_arn = personalize.create_dataset(
        name="personalize-demo-items", datasetType="ITEMS", datasetGroupArn=dataset_group_arn,
        schemaArn=items_schema_arn)["datasetArn"]
    users_dataset_arn = personalize.create_dataset(
        name="personalize-demo-users", datasetType="USERS", datasetGroupArn=dataset_group_arn,
        schemaArn=users_schema_arn)["datasetArn"]

    role_arn = compat.ROLE_ARN
    jobs = []
    for name, arn, filename in [("interactions", interactions_dataset_arn, interactions_filename),
                                ("items", items_dataset_arn, items_filename),
                                ("users", users_dataset_arn, user_filename)]:
        jobs.append((name, personalize.create_dataset_import_job(
            jobName="personalize-demo-import-" + name, datasetArn=arn,
            dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, filename)},
            roleArn=role_arn)["datasetImportJobArn"]))

    for name, job_arn in jobs:
        max_time = time.time() + 3 * 60 * 60
        while time.time() < max_time:
            job = personalize.describe_dataset_import_job(datasetImportJobArn=job_arn)["datasetImportJob"]
            status = job["status"]
            print("{} DatasetImportJob: {}".format(name, status))
            if status == "ACTIVE" or status == "CREATE FAILED":
                break
            time.sleep(60)
        compat.expect(status == "ACTIVE", "%s import ended %s: %s" % (name, status, job.get("failureReason")))

    available_recipes = personalize.list_recipes(domain="VIDEO_ON_DEMAND")
    if len(available_recipes["recipes"]) == 0:
        available_recipes = personalize.list_recipes(domain="VIDEO_ON_DEMAND",
                                                     nextToken=available_recipes["nextToken"])
    print(available_recipes["recipes"])

    recommender_more_like_x_arn = personalize.create_recommender(
        name="more_like_x_demo", recipeArn="arn:aws:personalize:::recipe/aws-vod-more-like-x",
        datasetGroupArn=dataset_group_arn)["recommenderArn"]
    recommender_top_picks_arn = personalize.create_recommender(
        name="top_picks_for_you_demo", recipeArn="arn:aws:personalize:::recipe/aws-vod-top-picks",
        datasetGroupArn=dataset_group_arn)["recommenderArn"]

    max_time = time.time() + 10 * 60 * 60
    for arn in [recommender_more_like_x_arn, recommender_top_picks_arn]:
        while time.time() < max_time:
            recommender = personalize.describe_recommender(recommenderArn=arn)["recommender"]
            status = recommender["status"]
            if status == "ACTIVE":
                print("Build succeeded for {}".format(arn))
            elif status == "CREATE FAILED":
                print("Build failed for {}".format(arn))
            if status == "ACTIVE":
                break
            print("The recommender build is still in progress")
            compat.expect(status != "CREATE FAILED", "recommender failed: %s" % recommender.get("failureReason"))
            time.sleep(60)

    titles = {m["movieId"]: m["title"] for m in movies}
    test_item_id = interactions_data[0]["ITEM_ID"]
    item_list = personalize_runtime.get_recommendations(
        recommenderArn=recommender_more_like_x_arn, userId="1", itemId=test_item_id, numResults=20)["itemList"]
    recommendation_list = [titles[item["itemId"]] for item in item_list]
    compat.expect(len(recommendation_list) > 0, "no More-like-X recommendations")

    genders = {u["USER_ID"]: u["GENDER"] for u in user_data}
    test_user_id = user_ids[10]
    item_list = personalize_runtime.get_recommendations(
        recommenderArn=recommender_top_picks_arn, userId=test_user_id, numResults=20)["itemList"]
    column_name = test_user_id + " (" + genders[test_user_id] + ")"
    recommendation_list = [titles[item["itemId"]] for item in item_list]
    print(column_name, recommendation_list)
    compat.expect(len(recommendation_list) > 0, "no Top-picks recommendations")

    # Clean_Up_Resources
    cleanup.delete_dataset_groups([dataset_group_arn], [], region)


compat.run(main)
