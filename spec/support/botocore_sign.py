#!/usr/bin/env python3
"""Signs a request with botocore's SigV4Auth: an independent check of ours.

Reads JSON on stdin: {method, url, headers: {name: value}, body, region,
service, access_key, secret_key, token, amz_date} and prints the signature
botocore computes for exactly those headers at that X-Amz-Date.
"""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    r = json.load(sys.stdin)
    creds = Credentials(r["access_key"], r["secret_key"], r.get("token"))
    auth = SigV4Auth(creds, r["service"], r["region"])
    req = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode(),
                     headers=r["headers"])
    req.context["timestamp"] = r["amz_date"]
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    print(auth.signature(sts, req))


if __name__ == "__main__":
    main()
