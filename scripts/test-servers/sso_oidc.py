#!/usr/bin/env python3
"""IAM Identity Center's SSO-OIDC CreateToken, refresh_token grant only, on loopback, for the credential tests.

Each test works under a case name of its own, so tests never see each other's requests:

- POST /__test/oidc/CASE with {"client_id", "client_secret", "refresh_token", "access_token", "expires_in",
  "new_refresh_token"} sets the registration and refresh token the case accepts and the token it hands out.
- POST /oidc/CASE/token is CreateToken, with the case's endpoint http://HOST:PORT/oidc/CASE as
  AWS_ENDPOINT_URL_SSO_OIDC. It checks what a client must send: no Authorization header (the call is unsigned),
  Content-Type application/json, a JSON body with exactly clientId, clientSecret, grantType "refresh_token" and
  refreshToken. A wrong client gets 401 invalid_client, a wrong refresh token 400 invalid_grant, anything else
  malformed 400 invalid_request. Otherwise it answers accessToken, tokenType, expiresIn and refreshToken.
- GET /__test/requests/CASE lists the requests of a case: method, path, content type, whether an Authorization
  header came, and the JSON body.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler

from loopback_server import serve

REQUIRED_FIELDS = {"clientId", "clientSecret", "grantType", "refreshToken"}

lock = threading.Lock()
cases = {}  # case -> {"settings": {...}, "requests": [...]}


def case_state(name):
    return cases.setdefault(name, {"settings": None, "requests": []})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, description):
        self.reply(status, {"error": code, "error_description": description})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["__test", "oidc"]:
            with lock:
                case_state(parts[2])["settings"] = json.loads(raw or b"{}")
            return self.reply(204)
        if len(parts) == 3 and parts[0] == "oidc" and parts[2] == "token":
            return self.create_token(parts[1], raw)
        self.error(404, "not_found", self.path)

    def create_token(self, case, raw):
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with lock:
            state = case_state(case)
            state["requests"].append({
                "method": self.command,
                "path": self.path,
                "contentType": self.headers.get("Content-Type"),
                "signed": self.headers.get("Authorization") is not None,
                "body": body,
            })
            settings = state["settings"]
        if settings is None:
            return self.error(400, "invalid_request", "the test did not configure this case")
        if self.headers.get("Authorization") is not None:
            return self.error(400, "invalid_request", "CreateToken is unsigned: send no Authorization header")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self.error(400, "invalid_request", "Content-Type must be application/json")
        if not isinstance(body, dict) or set(body) != REQUIRED_FIELDS:
            return self.error(400, "invalid_request", f"the body must have exactly {sorted(REQUIRED_FIELDS)}")
        if body["grantType"] != "refresh_token":
            return self.error(400, "unsupported_grant_type", "only refresh_token is served here")
        if body["clientId"] != settings["client_id"] or body["clientSecret"] != settings["client_secret"]:
            return self.error(401, "invalid_client", "unknown client or wrong secret")
        if body["refreshToken"] != settings["refresh_token"]:
            return self.error(400, "invalid_grant", "the refresh token is not valid")
        self.reply(200, {
            "accessToken": settings["access_token"],
            "tokenType": "Bearer",
            "expiresIn": settings.get("expires_in", 28800),
            "refreshToken": settings.get("new_refresh_token", settings["refresh_token"]),
        })

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["__test", "requests"]:
            with lock:
                return self.reply(200, list(case_state(parts[2])["requests"]))
        self.error(404, "not_found", self.path)


if __name__ == "__main__":
    serve(Handler, __doc__)
