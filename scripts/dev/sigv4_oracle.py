#!/usr/bin/env python3
"""Prints expected AWS SigV4 signatures computed with botocore's own signer.

Development aid only: the FanoutSigV4 tests hard-code the values this prints and never run it.
Requires botocore (`pip install botocore`). Run: python3 scripts/dev/sigv4_oracle.py
"""

import datetime
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def capture_canonical_request(signer):
    # Keeps the canonical request the signer actually signed (it is not recomputable after signing,
    # because signing adds headers and query parameters).
    captured = {}
    original = signer.string_to_sign

    def string_to_sign(request, canonical_request):
        captured["canonical_request"] = canonical_request
        return original(request, canonical_request)

    signer.string_to_sign = string_to_sign
    return captured


def at(stamp):
    fixed = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda: fixed


def key_path(key):
    # The URL path as an S3 client sends it: each byte outside A-Z a-z 0-9 - _ . ~ / percent-encoded.
    return "/" + quote(key, safe="/~")


def sign_headers(name, method, url, headers=(), params=None, body=b"", token=None,
                 region="us-east-1", stamp="20130524T000000Z", unsigned=False):
    at(stamp)
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers), params=params or {})
    if unsigned:
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, token)
    signer = botocore.auth.S3SigV4Auth(credentials, "s3", region)
    captured = capture_canonical_request(signer)
    signer.add_auth(request)
    print(f"== {name}")
    print(captured["canonical_request"])
    print("--")
    print("Authorization:", request.headers["Authorization"])
    print("x-amz-content-sha256:", request.headers["X-Amz-Content-SHA256"])
    print()


def presign(name, method, url, expires, headers=(), params=None, token=None,
            region="us-east-1", stamp="20130524T000000Z"):
    at(stamp)
    request = AWSRequest(method=method, url=url, headers=dict(headers), params=params or {})
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, token)
    signer = botocore.auth.S3SigV4QueryAuth(credentials, "s3", region, expires=expires)
    captured = capture_canonical_request(signer)
    signer.add_auth(request)
    print(f"== {name}")
    print(captured["canonical_request"])
    print("--")
    print("URL:", request.url)
    print("Signature:", request.url.rsplit("X-Amz-Signature=", 1)[1])
    print()


BUCKET = "https://examplebucket.s3.amazonaws.com"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes=="

# AWS documentation examples, as a check that this harness reproduces the published values.
sign_headers("doc GET object", "GET", BUCKET + "/test.txt", headers={"Range": "bytes=0-9"})
sign_headers("doc GET lifecycle", "GET", BUCKET + "/", params=[("lifecycle", "")])
sign_headers("doc GET list", "GET", BUCKET + "/", params=[("max-keys", "2"), ("prefix", "J")])
presign("doc presign", "GET", BUCKET + "/test.txt", 86400)

# Extra cases.
sign_headers("put special key", "PUT", BUCKET + key_path("my file+name=1~x/sub dir/a.txt"),
             headers={"Content-Type": "text/plain"}, body=b"hello")
sign_headers("get unicode key unsigned", "GET", BUCKET + key_path("données/été.txt"), unsigned=True)
sign_headers("list special query", "GET", BUCKET + "/",
             params=[("list-type", "2"), ("prefix", "a b+c/é"), ("delimiter", "/"),
                     ("continuation-token", "abc=="), ("start-after", "x*y'(z)!")])
sign_headers("session token", "GET", BUCKET + "/test.txt", token=TOKEN)
sign_headers("port and whitespace", "PUT", "http://localhost:9000/bucket/dir/obj.bin",
             headers={"X-Amz-Meta-Note": "  hello    world  ", "Content-Length": "3"}, body=b"abc",
             region="eu-west-1", stamp="20240229T235959Z")
presign("presign token special", "GET", BUCKET + key_path("données/a b+c=~.txt"), 3600, token=TOKEN)
presign("presign port query", "GET", "http://127.0.0.1:9000/bucket/obj",
        600, params=[("response-content-disposition", 'attachment; filename="a b.txt"'),
                     ("versionId", "v+1=")],
        region="eu-central-1", stamp="20240229T235959Z")
presign("presign put content-type", "PUT", BUCKET + "/upload/part.bin", 604800,
        headers={"Content-Type": "application/octet-stream"})
