#!/usr/bin/env python3
"""The AWS credential endpoints of containers and instances, on loopback, for the credential tests.

Each test works under a case name of its own, so tests never see each other's requests:

- Container credentials (ECS, EKS Pod Identity): GET /container/CASE answers the credentials JSON. When the case was
  given a token (POST /__test/container/CASE with {"token": ..., "expires_in": seconds}), a request whose
  Authorization header is not exactly that token gets 401.
- IMDSv2 under the endpoint http://HOST:PORT/imds/CASE/: PUT latest/api/token needs
  X-aws-ec2-metadata-token-ttl-seconds between 1 and 21600 and answers a token valid that long; GET
  latest/meta-data/iam/security-credentials/ (the role name) and .../ROLE (the credentials) need a valid token in
  X-aws-ec2-metadata-token and get 401 without one. POST /__test/imds/CASE with {"role": ..., "expires_in": seconds}
  sets the role and the credentials' lifetime.
- The IAM Identity Center portal under http://HOST:PORT/sso/CASE: GET federation/credentials?role_name=R&account_id=A
  needs x-amz-sso_bearer_token to be the case's token (POST /__test/sso/CASE with {"token": ...}) and answers
  GetRoleCredentials' JSON.
- GET /__test/requests/CASE lists the requests of a case: method, path and the headers a client must send.

Every answer carries fresh keys (ASIA followed by a counter), so tests can tell a refresh from a cached value.
"""

import itertools
import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from loopback_server import serve

RECORDED_HEADERS = ("authorization", "x-amz-sso_bearer_token", "x-aws-ec2-metadata-token", "x-aws-ec2-metadata-token-ttl-seconds", "accept")

lock = threading.Lock()
counter = itertools.count(1)
cases = {}  # case -> {"token", "expires_in", "role", "requests": [...], "imds_tokens": {token: expiry}}


def case_state(name):
    return cases.setdefault(
        name, {"token": None, "expires_in": 3600, "role": "fanout-node", "requests": [], "imds_tokens": {}}
    )


def credentials(expires_in):
    number = next(counter)
    expiration = datetime.now(timezone.utc) + timedelta(seconds=expires_in)
    return {
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": f"ASIA{number:016d}",
        "SecretAccessKey": f"secret-{number}",
        "Token": f"session-token-{number}",
        "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "LastUpdated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body=b"", content_type="text/plain"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            content_type = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def record(self, state):
        headers = {name: self.headers[name] for name in RECORDED_HEADERS if self.headers.get(name) is not None}
        state["requests"].append({"method": self.command, "path": self.path, "headers": headers})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "__test" and parts[1] in ("container", "imds", "sso"):
            settings = self.body_json()
            with lock:
                state = case_state(parts[2])
                for key in ("token", "expires_in", "role"):
                    if key in settings:
                        state[key] = settings[key]
            return self.reply(204)
        self.reply(404, "not found")

    def do_PUT(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 5 and parts[0] == "imds" and parts[2:] == ["latest", "api", "token"]:
            self.body_json()
            with lock:
                state = case_state(parts[1])
                self.record(state)
                ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                    return self.reply(400, "X-aws-ec2-metadata-token-ttl-seconds must be between 1 and 21600")
                token = secrets.token_urlsafe(24)
                state["imds_tokens"][token] = time.monotonic() + int(ttl)
            return self.reply(200, token)
        self.reply(404, "not found")

    def do_GET(self):
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["__test", "requests"]:
            with lock:
                return self.reply(200, list(case_state(parts[2])["requests"]))
        if len(parts) == 2 and parts[0] == "container":
            with lock:
                state = case_state(parts[1])
                self.record(state)
                if state["token"] is not None and self.headers.get("Authorization") != state["token"]:
                    return self.reply(401, {"message": "Authorization header missing or wrong"})
                return self.reply(200, credentials(state["expires_in"]))
        if len(parts) == 4 and parts[0] == "sso" and parts[2:] == ["federation", "credentials"]:
            with lock:
                state = case_state(parts[1])
                self.record(state)
                if state["token"] is None or self.headers.get("x-amz-sso_bearer_token") != state["token"]:
                    return self.reply(401, {"message": "Session token not found or invalid"})
                document = credentials(state["expires_in"])
                expiration = int((time.time() + state["expires_in"]) * 1000)
                return self.reply(200, {"roleCredentials": {
                    "accessKeyId": document["AccessKeyId"], "secretAccessKey": document["SecretAccessKey"],
                    "sessionToken": document["Token"], "expiration": expiration}})
        prefix = ["latest", "meta-data", "iam", "security-credentials"]
        if len(parts) >= 6 and parts[0] == "imds" and parts[2:6] == prefix:
            with lock:
                state = case_state(parts[1])
                self.record(state)
                token = self.headers.get("X-aws-ec2-metadata-token")
                expiry = state["imds_tokens"].get(token)
                if expiry is None or expiry < time.monotonic():
                    return self.reply(401, "")
                if len(parts) == 6:
                    return self.reply(200, state["role"])
                if len(parts) == 7 and parts[6] == state["role"]:
                    return self.reply(200, credentials(state["expires_in"]))
        self.reply(404, "not found")


if __name__ == "__main__":
    serve(Handler, __doc__)
