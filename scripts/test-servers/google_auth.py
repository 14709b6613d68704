#!/usr/bin/env python3
"""Google's token services on loopback, and an authenticating proxy in front of fake-gcs-server, for the Cloud
Storage credential tests.

Each test works under a case name of its own, so tests never see each other's requests:

- POST /__test/service-account/CASE makes an RSA key and answers a service-account key file whose token_uri is
  /token/CASE here; POST /__test/authorized-user/CASE answers a gcloud user's file (client id, secret, refresh
  token) with the same token_uri. A body {"expires_in": seconds} sets how long the case's tokens last.
- POST /__test/external-account/CASE answers {"file": an external_account file, "subject_token": ...}: its
  credential_source is GET /subject/CASE (needs "Metadata: True", answers {"id_token": SUBJECT}), its token_url
  POST /sts/CASE (the token-exchange grant: audience, subject token and its type, requested token type, a scope,
  as Google's STS checks them) and, with {"impersonate": true}, its service_account_impersonation_url
  POST /impersonate/CASE (a bearer token from the STS, a JSON body with a scope; answers accessToken and expireTime).
- POST /token/CASE is an OAuth 2.0 token endpoint. The jwt-bearer grant needs an assertion that google-auth's own
  google.auth.jwt.decode verifies with the case's public key, for this endpoint as audience, with the key's email as
  issuer and a Cloud Storage scope; the refresh_token grant needs the case's client id, secret and refresh token.
  Anything else gets OAuth's JSON error (400 invalid_grant / invalid_client).
- GET /computeMetadata/v1/instance/service-accounts/default/token is the metadata server (GCE_METADATA_HOST is this
  server's host:port, case "metadata"): it needs Metadata-Flavor: Google, and refuses requests carrying
  X-Forwarded-For, as the real one does.
  GET .../service-accounts/default/email names its service account, whose key GET /__test/metadata-key answers
  (as a service-account key file, for the reference signatures).
- POST /v1/projects/-/serviceAccounts/EMAIL:signBlob is the IAM Credentials API: with a token this server issued,
  for the metadata server's account, it signs the base64 payload with that account's key (RSA PKCS#1 v1.5 with
  SHA-256) and answers {"keyId", "signedBlob"}; 401 or 403 with Google's JSON error otherwise (case "signblob").
- /storage/..., /upload/..., /download/... are proxied to fake-gcs-server (--upstream) when the bearer token is one
  this server issued and has not expired; otherwise 401 with Cloud Storage's JSON error. A bucket whose name starts
  with "forbidden-" answers 403 to every token.
- GET /__test/requests/CASE lists a case's requests: method, path, the headers a client must send, and the form.

Tokens are "ya29.CASE.N", a counter per server, so tests can tell a refresh from a cached token.
"""

import base64
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth import jwt

from loopback_server import serve

RECORDED_HEADERS = ("authorization", "metadata-flavor", "content-type", "x-forwarded-for")
STORAGE_SCOPES = {
    "https://www.googleapis.com/auth/devstorage.full_control",
    "https://www.googleapis.com/auth/devstorage.read_write",
    "https://www.googleapis.com/auth/cloud-platform",
}

lock = threading.Lock()
counter = itertools.count(1)
cases = {}  # case -> {"expires_in", "requests", "public_key", "email", "user"}
issued = {}  # token -> expiry (monotonic)
METADATA_EMAIL = "fanout-node@test-project.iam.gserviceaccount.com"
metadata_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def case_state(name):
    return cases.setdefault(name, {"expires_in": 3600, "requests": []})


def new_token(case):
    token = f"ya29.{case}.{next(counter)}"
    state = case_state(case)
    issued[token] = time.monotonic() + state["expires_in"]
    return {"access_token": token, "expires_in": state["expires_in"], "token_type": "Bearer"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body=b"", content_type="text/plain", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            content_type = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def record(self, case, form=None):
        headers = {name: self.headers[name] for name in RECORDED_HEADERS if self.headers.get(name) is not None}
        case_state(case)["requests"].append(
            {"method": self.command, "path": self.path, "headers": headers, "form": form or {}})

    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # Test control

    def make_case(self, kind, case, settings):
        state = case_state(case)
        state["expires_in"] = settings.get("expires_in", state["expires_in"])
        token_uri = f"{self.base_url()}/token/{case}"
        if kind == "service-account":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
            state["public_key"] = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            state["email"] = f"fanout-{case}@test-project.iam.gserviceaccount.com"
            return {"type": "service_account", "project_id": "test-project", "private_key_id": f"key-{case}",
                    "private_key": pem, "client_email": state["email"], "client_id": "1234567890",
                    "token_uri": token_uri}
        state["user"] = {"client_id": f"client-{case}.apps.googleusercontent.com", "client_secret": f"secret-{case}",
                         "refresh_token": f"1//refresh-{case}"}
        return {"type": "authorized_user", **state["user"], "token_uri": token_uri}

    def make_external(self, case, settings):
        state = case_state(case)
        state["expires_in"] = settings.get("expires_in", state["expires_in"])
        state["subject"] = f"eyJhbGciOiJub25lIn0.subject-{case}."
        state["audience"] = f"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/{case}"
        config = {"type": "external_account", "audience": state["audience"],
                  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                  "token_url": f"{self.base_url()}/sts/{case}",
                  "credential_source": {"url": f"{self.base_url()}/subject/{case}", "headers": {"Metadata": "True"},
                                        "format": {"type": "json", "subject_token_field_name": "id_token"}}}
        if settings.get("impersonate"):
            config["service_account_impersonation_url"] = f"{self.base_url()}/impersonate/{case}"
        return {"file": config, "subject_token": state["subject"]}

    def subject(self, case):
        state = case_state(case)
        self.record(case)
        if self.headers.get("Metadata") != "True" or "subject" not in state:
            return self.reply(400, "no")
        return self.reply(200, {"id_token": state["subject"]})

    def sts(self, case):
        form = {name: values[0] for name, values in parse_qs(self.body().decode()).items()}
        state = case_state(case)
        self.record(case, form)
        expected = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": state.get("audience"),
            "subject_token": state.get("subject"), "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
        wrong = [name for name, value in expected.items() if form.get(name) != value]
        if wrong or form.get("scope") not in STORAGE_SCOPES:
            return self.reply(400, {"error": "invalid_request", "error_description": f"wrong {wrong or 'scope'}"})
        answer = new_token(case)
        answer["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
        return self.reply(200, answer)

    def impersonate(self, case):
        body = json.loads(self.body() or b"{}")
        self.record(case, {"scope": " ".join(body.get("scope", []))})
        authorization = self.headers.get("Authorization", "")
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else None
        if token not in issued or not set(body.get("scope", [])) & STORAGE_SCOPES:
            return self.gcs_error(401, "Request had invalid authentication credentials.", "authError")
        answer = new_token(f"{case}-sa")
        expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + answer["expires_in"]))
        return self.reply(200, {"accessToken": answer["access_token"], "expireTime": expire})

    # OAuth 2.0

    def token(self, case):
        form = {name: values[0] for name, values in parse_qs(self.body().decode()).items()}
        state = case_state(case)
        self.record(case, form)
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self.reply(400, {"error": "invalid_request", "error_description": "not a form"})
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" and "public_key" in state:
            try:
                claims = jwt.decode(form.get("assertion", ""), certs=state["public_key"],
                                    audience=f"{self.base_url()}/token/{case}")
            except Exception as error:
                return self.reply(400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {error}"})
            if claims.get("iss") != state["email"] or claims.get("scope") not in STORAGE_SCOPES:
                return self.reply(400, {"error": "invalid_scope", "error_description": f"bad claims {claims}"})
            return self.reply(200, new_token(case))
        if grant == "refresh_token" and "user" in state:
            if any(form.get(name) != value for name, value in state["user"].items()):
                return self.reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return self.reply(200, new_token(case))
        return self.reply(400, {"error": "unsupported_grant_type", "error_description": f"{grant}"})

    def metadata(self, what):
        self.record("metadata")
        if self.headers.get("Metadata-Flavor") != "Google" or self.headers.get("X-Forwarded-For"):
            return self.reply(403, "Missing required header: Metadata-Flavor")
        if what == "email":
            return self.reply(200, METADATA_EMAIL, "application/text")
        return self.reply(200, new_token("metadata"))

    def metadata_key_file(self):
        pem = metadata_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": "test-project", "private_key_id": "metadata-key",
                "private_key": pem, "client_email": METADATA_EMAIL, "client_id": "1",
                "token_uri": f"{self.base_url()}/token/metadata"}

    def sign_blob(self, email):
        body = json.loads(self.body() or b"{}")
        self.record("signblob", {"email": email})
        authorization = self.headers.get("Authorization", "")
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else None
        expiry = issued.get(token)
        if expiry is None or expiry < time.monotonic():
            return self.gcs_error(401, "Request had invalid authentication credentials.", "authError")
        if email != METADATA_EMAIL:
            return self.gcs_error(403, f"Permission 'iam.serviceAccounts.signBlob' denied on resource {email}",
                                  "forbidden")
        signature = metadata_key.sign(base64.b64decode(body["payload"]), padding.PKCS1v15(), hashes.SHA256())
        return self.reply(200, {"keyId": "metadata-key", "signedBlob": base64.b64encode(signature).decode()})

    # Cloud Storage

    def storage(self):
        body = self.body()
        path = urlsplit(self.path).path
        parts = path.strip("/").split("/")
        bucket = None
        if "b" in parts and parts.index("b") + 1 < len(parts):
            bucket = unquote(parts[parts.index("b") + 1])
        authorization = self.headers.get("Authorization", "")
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else None
        expiry = issued.get(token)
        if expiry is None or expiry < time.monotonic():
            return self.gcs_error(401, "Invalid Credentials", "authError")
        if bucket and bucket.startswith("forbidden-"):
            return self.gcs_error(
                403, f"fanout@test-project.iam.gserviceaccount.com does not have storage.objects.list access to "
                     f"the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it "
                     f"may not exist).", "forbidden")
        request = urllib.request.Request(self.options.upstream + self.path, data=body or None, method=self.command)
        for name in ("Content-Type", "Range", "Content-Range", "X-Upload-Content-Type", "X-Upload-Content-Length"):
            if self.headers.get(name) is not None:
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, headers, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, data = error.code, error.headers, error.read()
        passed = [(name, value) for name, value in headers.items()
                  if name.lower() in ("location", "x-goog-generation", "content-range", "range", "etag")]
        self.reply(status, data, headers.get("Content-Type", "application/octet-stream"), passed)

    def gcs_error(self, status, message, reason):
        self.reply(status, {"error": {"code": status, "message": message,
                                      "errors": [{"message": message, "domain": "global", "reason": reason}]}})

    def dispatch(self):
        path = urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if parts[0] in ("storage", "upload", "download"):
            return self.storage()
        if self.command == "POST" and len(parts) == 3 and parts[0] == "__test" and parts[1] in (
                "service-account", "authorized-user"):
            settings = json.loads(self.body() or b"{}")
            with lock:
                return self.reply(200, self.make_case(parts[1], parts[2], settings))
        if self.command == "POST" and len(parts) == 3 and parts[:2] == ["__test", "external-account"]:
            settings = json.loads(self.body() or b"{}")
            with lock:
                return self.reply(200, self.make_external(parts[2], settings))
        if len(parts) == 2 and parts[0] in ("subject", "sts", "impersonate"):
            with lock:
                handler = {"subject": self.subject, "sts": self.sts, "impersonate": self.impersonate}[parts[0]]
                return handler(parts[1])
        if self.command == "GET" and len(parts) == 3 and parts[:2] == ["__test", "requests"]:
            with lock:
                return self.reply(200, list(case_state(parts[2])["requests"]))
        if self.command == "POST" and len(parts) == 2 and parts[0] == "token":
            with lock:
                return self.token(parts[1])
        if self.command == "GET" and path.startswith("/computeMetadata/v1/instance/service-accounts/default/"):
            with lock:
                return self.metadata(parts[-1])
        if self.command == "GET" and path == "/__test/metadata-key":
            return self.reply(200, self.metadata_key_file())
        if self.command == "POST" and len(parts) == 5 and parts[:4] == ["v1", "projects", "-", "serviceAccounts"] \
                and parts[4].endswith(":signBlob"):
            with lock:
                return self.sign_blob(unquote(parts[4][:-len(":signBlob")]))
        self.body()
        self.reply(404, "not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = dispatch


if __name__ == "__main__":
    serve(Handler, __doc__, lambda parser: parser.add_argument("--upstream", required=True,
                                                              help="fake-gcs-server's URL"))
