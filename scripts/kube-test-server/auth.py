"""TLS and authentication: the server's own PKI (made with openssl), the kubeconfig that points at it, and the
check that a request carries the bearer token or a client certificate signed by the CA."""

from __future__ import annotations

import base64
import hmac
import os
import ssl
import subprocess
import tempfile
from typing import Any

import yaml

CLIENT_CN = "fanout-test"
CLIENT_ORG = "system:masters"
# The only names on the certificate of the "named" listener: a client reaches it at 127.0.0.1 and must verify the
# certificate against this name (kubeconfig tls-server-name), as for an API server behind a tunnel or an IP address.
NAMED_SERVER_NAME = "kubernetes.default.svc"


class PKIError(Exception):
    pass


def _openssl(directory: str, *args: str) -> None:
    result = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True)
    if result.returncode != 0:
        raise PKIError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _usable(path: str) -> bool:
    """The certificate exists and stays valid for at least a day."""
    if not os.path.exists(path):
        return False
    return (
        subprocess.run(["openssl", "x509", "-checkend", "86400", "-noout", "-in", path], capture_output=True).returncode
        == 0
    )


def make_pki(directory: str) -> dict[str, str]:
    """A CA, a server certificate (SAN 127.0.0.1, localhost), a second server certificate that names only
    NAMED_SERVER_NAME and `kubernetes`, and a client certificate (CN=fanout-test, O=system:masters) under `directory`,
    made again when missing or expiring. EC P-256 keys, valid 30 days."""
    os.makedirs(directory, exist_ok=True)
    files = {
        "ca": os.path.join(directory, "ca.pem"),
        "ca_key": os.path.join(directory, "ca-key.pem"),
        "server": os.path.join(directory, "server.pem"),
        "server_key": os.path.join(directory, "server-key.pem"),
        "named_server": os.path.join(directory, "named-server.pem"),
        "named_server_key": os.path.join(directory, "named-server-key.pem"),
        "client": os.path.join(directory, "client.pem"),
        "client_key": os.path.join(directory, "client-key.pem"),
    }
    if all(_usable(files[name]) for name in ("ca", "server", "named_server", "client")) and all(
        os.path.exists(path) for path in files.values()
    ):
        return files

    def key(name: str) -> None:
        _openssl(directory, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name)

    key("ca-key.pem")
    _openssl(
        directory,
        "req",
        "-x509",
        "-new",
        "-key",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=kube-test-server CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )

    def sign(name: str, subject: str, extensions: str) -> None:
        key(f"{name}-key.pem")
        _openssl(directory, "req", "-new", "-key", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", subject)
        with tempfile.NamedTemporaryFile("w", dir=directory, suffix=".ext", delete=False) as file:
            file.write(extensions)
        try:
            _openssl(
                directory,
                "x509",
                "-req",
                "-in",
                f"{name}.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                file.name,
                "-out",
                f"{name}.pem",
            )
        finally:
            os.unlink(file.name)
            os.unlink(os.path.join(directory, f"{name}.csr"))

    sign(
        "server",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    sign(
        "named-server",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{NAMED_SERVER_NAME},DNS:kubernetes\n",
    )
    sign(
        "client",
        f"/O={CLIENT_ORG}/CN={CLIENT_CN}",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    )
    serial = os.path.join(directory, "ca.srl")
    if os.path.exists(serial):
        os.unlink(serial)
    return files


def server_context(files: dict[str, str], certificate: str = "server") -> ssl.SSLContext:
    """TLS for an HTTPS listener, presenting `certificate` ("server" or "named_server"): a client certificate is
    requested, verified against the CA when sent, and optional (token clients send none)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files[certificate], files[f"{certificate}_key"])
    context.load_verify_locations(files["ca"])
    context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


def _data(path: str) -> str:
    with open(path, "rb") as file:
        return base64.b64encode(file.read()).decode()


def write_kubeconfig(path: str, https_url: str, token: str, files: dict[str, str], named_url: str) -> None:
    """A kubeconfig with the cluster (CA inline), a token user and a client-certificate user, and the contexts
    "token" (current) and "cert"; and the context "named": the token user on the listener whose certificate names
    only NAMED_SERVER_NAME, reached at `named_url` with tls-server-name. There is no context for the plain-HTTP
    listener: client-go (so kubectl) never sends credentials over plain HTTP."""
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": "kube-test-server",
                "cluster": {"server": https_url, "certificate-authority-data": _data(files["ca"])},
            },
            {
                "name": "kube-test-server-named",
                "cluster": {
                    "server": named_url,
                    "certificate-authority-data": _data(files["ca"]),
                    "tls-server-name": NAMED_SERVER_NAME,
                },
            },
        ],
        "users": [
            {"name": "token", "user": {"token": token}},
            {
                "name": "cert",
                "user": {
                    "client-certificate-data": _data(files["client"]),
                    "client-key-data": _data(files["client_key"]),
                },
            },
        ],
        "contexts": [
            {"name": "token", "context": {"cluster": "kube-test-server", "user": "token", "namespace": "default"}},
            {"name": "cert", "context": {"cluster": "kube-test-server", "user": "cert", "namespace": "default"}},
            {
                "name": "named",
                "context": {"cluster": "kube-test-server-named", "user": "token", "namespace": "default"},
            },
        ],
        "current-context": "token",
    }
    temporary = path + ".tmp"
    with open(temporary, "w") as file:
        yaml.safe_dump(config, file, sort_keys=False)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


class Authenticator:
    def __init__(self, token: str):
        self.token = token

    def user(self, authorization: str | None, peer_certificate: dict[str, Any] | None) -> str | None:
        """The authenticated user's name, or None. A bearer token is checked first, then the client certificate
        (already verified against the CA by the TLS handshake)."""
        if authorization:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self.token.encode()):
                return "test-token-user"
            return None
        if peer_certificate:
            for entry in peer_certificate.get("subject", ()):
                for name, value in entry:
                    if name == "commonName":
                        return value
        return None
