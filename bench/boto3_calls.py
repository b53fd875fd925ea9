#!/usr/bin/env python3
"""The boto3 baseline of the sequential benchmark: get_recommendations
one after another against ENDPOINT (keep-alive, as boto3 does by default).

Usage: boto3_calls.py ENDPOINT N  -> prints microseconds per call (best of 3)
"""
import sys
import time

import boto3


def main():
    endpoint, n = sys.argv[1], int(sys.argv[2])
    client = boto3.client(
        "personalize-runtime", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    params = {"campaignArn": "arn:aws:personalize:us-east-1:123456789012:campaign/movies",
              "userId": "42", "numResults": 10}
    for _ in range(50):
        client.get_recommendations(**params)
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            client.get_recommendations(**params)
        dt = (time.perf_counter() - t0) / n
        best = dt if best is None or dt < best else best
    print("%.1f" % (best * 1e6))


if __name__ == "__main__":
    main()
