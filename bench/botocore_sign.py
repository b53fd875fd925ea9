#!/usr/bin/env python3
"""The botocore baseline of the signing benchmark: SigV4Auth.add_auth on
the same get_recommendations request bench/run.lua signs, N times.

Usage: botocore_sign.py N    -> prints nanoseconds per signature (best of 3)
"""
import sys
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = ('{"campaignArn":"arn:aws:personalize:us-east-1:123456789012:campaign/movies",'
        '"numResults":10,"userId":"42"}')
URL = "https://personalize-runtime.us-east-1.amazonaws.com/recommendations"


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    signer = SigV4Auth(creds, "personalize", "us-east-1")
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            req = AWSRequest(method="POST", url=URL, data=BODY,
                             headers={"Content-Type": "application/json"})
            signer.add_auth(req)
        dt = (time.perf_counter() - t0) / n
        best = dt if best is None or dt < best else best
    print("%.1f" % (best * 1e9))


if __name__ == "__main__":
    main()
