"""The HTTP layer: listeners (HTTP and HTTPS), authentication, request routing, discovery and OpenAPI documents,
resource verbs, Table responses, watch streams, pod logs, and the unauthenticated test-control API under /__test/.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import select
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import yaml

import protobuf
import resources as discovery
import tables
from auth import Authenticator
from controller import JobController
from errors import ApiError
from faults import FaultRule, Faults
from kubelet import Kubelet
from labels import FieldSelector, LabelSelector, SelectorError
from meta import parse_rfc3339
from openapi import openapi_document, openapi_v2_protobuf
from registry import Registry
from resources import RESOURCES, SERVER_VERSION, ResourceType, resource_for
from slowness import Slowness, SlowRule
from store import ABRUPT, Store, WatchFilter

CONTROL_PREFIX = "/__test/"
HEALTH_PATHS = ("/healthz", "/readyz", "/livez")
DISCONNECTS = (ConnectionError, TimeoutError, socket.timeout, ssl.SSLError, BrokenPipeError)


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} api: {message}", file=sys.stderr, flush=True)


SELF_SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

class Route:
    """A parsed resource request path."""

    def __init__(
        self,
        resource: ResourceType,
        namespace: str | None,
        name: str | None,
        subresource: str = "",
        legacy_watch: bool = False,
    ):
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.legacy_watch = legacy_watch

    @property
    def label(self) -> str:
        return f"{self.resource.name}/{self.subresource}" if self.subresource else self.resource.name


def parse_route(path: str) -> Route | None:
    parts = [urllib.parse.unquote(part) for part in path.strip("/").split("/")]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None
    namespaces = resource_for("", "v1", "namespaces")
    if (
        rest[0] == "namespaces"
        and group == ""
        and len(rest) <= 3
        and (len(rest) < 3 or rest[2] in ("status", "finalize"))
    ):
        name = rest[1] if len(rest) > 1 else None
        return Route(namespaces, None, name, rest[2] if len(rest) == 3 else "", legacy_watch)
    if rest[0] == "namespaces" and len(rest) >= 3:
        resource = resource_for(group, version, rest[2])
        if resource is None or not resource.namespaced or len(rest) > 5:
            return None
        return Route(
            resource, rest[1], rest[3] if len(rest) > 3 else None, rest[4] if len(rest) > 4 else "", legacy_watch
        )
    resource = resource_for(group, version, rest[0])
    if resource is None or len(rest) > 3:
        return None
    if resource.namespaced and len(rest) > 1:
        return None
    return Route(resource, None, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else "", legacy_watch)


def truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class ApiServer:
    """Everything the handlers share."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        kubelet: Kubelet,
        faults: Faults,
        authenticator: Authenticator,
        *,
        controller: JobController | None = None,
        bookmark_interval: float = 1.0,
        verbose: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.registry = registry
        self.kubelet = kubelet
        self.controller = controller
        self.faults = faults
        self.authenticator = authenticator
        self.bookmark_interval = bookmark_interval
        self.verbose = verbose
        self.clock = clock
        self.https_address = "127.0.0.1:0"
        self.stopping = threading.Event()
        # (verb, resource) pairs the user may not do, as a Role without them would say: "create jobs", "get pods/log".
        self.denied: set[tuple[str, str]] = set()
        self._openapi: dict[str, tuple[bytes, str]] = {}
        for path, gv_resources in (
            ("api/v1", [r for r in RESOURCES.values() if r.group == ""]),
            ("apis/batch/v1", [r for r in RESOURCES.values() if r.group == "batch"]),
        ):
            document = json.dumps(openapi_document(gv_resources)).encode()
            self._openapi[path] = (document, hashlib.sha512(document).hexdigest()[:32].upper())
        self.openapi_v2 = openapi_v2_protobuf(list(RESOURCES.values()), SERVER_VERSION["gitVersion"])

    def openapi_root(self) -> dict[str, Any]:
        return {
            "paths": {
                path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
                for path, (_, digest) in self._openapi.items()
            }
        }

    def openapi(self, path: str) -> bytes | None:
        found = self._openapi.get(path)
        return found[0] if found else None


class Listener(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, api: ApiServer, port: int, tls: ssl.SSLContext | None):
        self.api = api
        self.tls = tls
        super().__init__(("127.0.0.1", port), Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        if self.tls is not None:
            # The handshake runs in the connection's thread (Handler.setup), never in the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, DISCONNECTS) or isinstance(error, OSError):
            return
        log(f"error serving {client_address}: {error!r}")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-test-server"
    timeout = 300
    server: Listener

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(self.timeout)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.api.verbose:
            log(f"{self.address_string()} {format % args}")

    @property
    def api(self) -> ApiServer:
        return self.server.api

    # MARK: - Entry

    def do_request(self) -> None:
        self._warnings: list[str] = []
        try:
            parsed = urllib.parse.urlsplit(self.path)
            path = parsed.path
            self.query = {
                key: values[-1] for key, values in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()
            }
            if path.startswith(CONTROL_PREFIX):
                return self.control(path[len(CONTROL_PREFIX) :])
            if path in HEALTH_PATHS or any(path.startswith(p + "/") for p in HEALTH_PATHS):
                self.read_body()
                return self.send_bytes(200, b"ok", "text/plain; charset=utf-8")
            peer = self.request.getpeercert() if isinstance(self.request, ssl.SSLSocket) else None
            if self.api.authenticator.user(self.headers.get("Authorization"), peer) is None:
                self.read_body()
                raise ApiError.unauthorized()
            self.serve_api(path)
        except ApiError as error:
            self.send_error_status(error)
        except DISCONNECTS:
            self.close_connection = True
        except Exception as error:
            log(f"{self.command} {self.path}: {traceback.format_exc()}")
            self.send_error_status(ApiError.internal(repr(error)))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_request

    def serve_api(self, path: str) -> None:
        if self.command == "POST" and path.rstrip("/") == SELF_SUBJECT_ACCESS_REVIEWS:
            self.api.faults.count("create", "selfsubjectaccessreviews")
            return self.serve_access_review()
        route = parse_route(path)
        if route is None:
            self.faults_and_count(self.command.lower(), path, path)
            return self.serve_non_resource(path)
        verb = self.verb_for(route)
        self.faults_and_count(verb, route.label, path)
        if (verb, route.label) in self.api.denied:
            self.read_body()
            group = route.resource.group
            where = f' in the namespace "{route.namespace}"' if route.namespace else " at the cluster scope"
            raise ApiError.forbidden(
                f'{route.resource.name}{"." + group if group else ""} is forbidden: User "test-user" cannot {verb} '
                f'resource "{route.label}" in API group "{group}"{where}'
            )
        if route.subresource == "log":
            if verb != "get":
                raise ApiError.method_not_allowed(self.command)
            return self.serve_log(route)
        if route.subresource not in ("", "status", "finalize"):
            raise ApiError.path_not_found()
        handlers = {
            "list": self.serve_list,
            "watch": self.serve_watch,
            "get": self.serve_get,
            "create": self.serve_create,
            "update": self.serve_update,
            "patch": self.serve_patch,
            "delete": self.serve_delete,
            "deletecollection": self.serve_delete_collection,
        }
        handler = handlers.get(verb)
        if handler is None:
            raise ApiError.method_not_allowed(self.command)
        handler(route)

    def serve_access_review(self) -> None:
        """A SelfSubjectAccessReview: whether the user may do what `spec.resourceAttributes` says, by the denials."""
        review, _ = self.parsed_body()
        if not isinstance(review, dict):
            raise ApiError.bad_request("a SelfSubjectAccessReview must be an object")
        attributes = (review.get("spec") or {}).get("resourceAttributes") or {}
        resource = attributes.get("resource", "")
        if attributes.get("subresource"):
            resource += "/" + attributes["subresource"]
        allowed = (attributes.get("verb", ""), resource) not in self.api.denied
        review["status"] = {"allowed": allowed}
        if not allowed:
            review["status"]["reason"] = "no RBAC policy matched"
        review.setdefault("apiVersion", "authorization.k8s.io/v1")
        review.setdefault("kind", "SelfSubjectAccessReview")
        self.send_json(201, review)

    def verb_for(self, route: Route) -> str:
        method = self.command
        if method == "GET":
            if route.name is None:
                return "watch" if truthy(self.query.get("watch")) or route.legacy_watch else "list"
            return "watch" if route.legacy_watch else "get"
        if route.name is None:
            return {"POST": "create", "DELETE": "deletecollection"}.get(method, method.lower())
        return {"PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}.get(method, method.lower())

    def faults_and_count(self, verb: str, resource: str, path: str) -> None:
        self.api.faults.count(verb, resource)
        error = self.api.faults.take(verb, resource, path)
        if error is not None:
            self.read_body()
            raise error

    # MARK: - Non-resource paths

    def serve_non_resource(self, path: str) -> None:
        self.read_body()
        trimmed = path.rstrip("/") or "/"
        if self.command != "GET":
            raise ApiError.path_not_found()
        if trimmed == "/version":
            return self.send_json(200, SERVER_VERSION)
        if trimmed == "/api":
            return self.send_json(200, discovery.api_versions(self.api.https_address))
        if trimmed == "/apis":
            return self.send_json(200, discovery.api_group_list())
        if trimmed == "/openapi/v2":
            return self.send_bytes(
                200, self.api.openapi_v2, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            )
        if trimmed == "/openapi/v3":
            return self.send_json(200, self.api.openapi_root())
        if trimmed.startswith("/openapi/v3/"):
            document = self.api.openapi(trimmed[len("/openapi/v3/") :])
            if document is not None:
                return self.send_bytes(200, document, "application/json")
            raise ApiError.path_not_found()
        parts = trimmed.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            group = discovery.api_group(parts[1])
            if group is not None:
                return self.send_json(200, group)
        if parts[0] == "api" and len(parts) == 2:
            found = discovery.api_resource_list("", parts[1])
            if found is not None:
                return self.send_json(200, found)
        if parts[0] == "apis" and len(parts) == 3:
            found = discovery.api_resource_list(parts[1], parts[2])
            if found is not None:
                return self.send_json(200, found)
        if trimmed == "/":
            return self.send_json(
                200,
                {
                    "paths": [
                        "/api",
                        "/api/v1",
                        "/apis",
                        "/apis/batch",
                        "/apis/batch/v1",
                        "/healthz",
                        "/livez",
                        "/openapi/v3",
                        "/readyz",
                        "/version",
                    ]
                },
            )
        raise ApiError.path_not_found()

    # MARK: - Reading objects

    def selectors(self, route: Route) -> tuple[LabelSelector, FieldSelector]:
        try:
            labels = LabelSelector.parse(self.query.get("labelSelector"))
            fields = FieldSelector.parse(self.query.get("fieldSelector"), route.resource.name)
        except SelectorError as error:
            raise ApiError.bad_request(str(error))
        return labels, fields

    def serve_get(self, route: Route) -> None:
        self.read_body()
        resource = route.resource
        obj = self.api.store.get(resource.name, route.namespace or "", route.name or "")
        if obj is None:
            raise ApiError.not_found(resource.name, resource.group, route.name or "")
        if tables.wants_table(self.headers.get("Accept")):
            body = tables.table(
                resource.name,
                resource.api_version,
                resource.kind,
                [obj],
                include_object=self.query.get("includeObject", "Metadata"),
                resource_version=obj["metadata"].get("resourceVersion", ""),
                now=self.api.clock(),
            )
            return self.send_json(200, body)
        self.send_json(200, obj)

    def serve_list(self, route: Route) -> None:
        self.read_body()
        resource = route.resource
        labels, fields = self.selectors(route)
        limit_text = self.query.get("limit")
        try:
            limit = int(limit_text) if limit_text else None
        except ValueError:
            raise ApiError.bad_request(f"invalid limit: {limit_text!r}")
        items, rv, token, remaining = self.api.store.list_page(
            resource.name, route.namespace, labels, fields, limit, self.query.get("continue")
        )
        if tables.wants_table(self.headers.get("Accept")):
            body = tables.table(
                resource.name,
                resource.api_version,
                resource.kind,
                items,
                include_object=self.query.get("includeObject", "Metadata"),
                resource_version=str(rv),
                continue_token=token,
                remaining=remaining,
                now=self.api.clock(),
            )
            return self.send_json(200, body)
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if token:
            metadata["continue"] = token
        if remaining is not None:
            metadata["remainingItemCount"] = remaining
        self.send_json(
            200,
            {"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": metadata, "items": items},
        )

    # MARK: - Watch

    def serve_watch(self, route: Route) -> None:
        self.read_body()
        resource = route.resource
        labels, fields = self.selectors(route)
        if route.name:
            fields.terms.append(("metadata.name", False, route.name, lambda obj: obj["metadata"].get("name", "")))
        watch_filter = WatchFilter(resource.name, route.namespace, labels, fields)
        as_table = tables.wants_table(self.headers.get("Accept"))
        include_object = self.query.get("includeObject", "Metadata")
        send_initial = truthy(self.query.get("sendInitialEvents"))
        resource_version = self.query.get("resourceVersion")
        if send_initial:
            resource_version = None
        timeout_text = self.query.get("timeoutSeconds")
        try:
            timeout = float(timeout_text) if timeout_text else 1800.0
        except ValueError:
            raise ApiError.bad_request(f"invalid timeoutSeconds: {timeout_text!r}")
        bookmarks = truthy(self.query.get("allowWatchBookmarks"))
        store = self.api.store
        try:
            watcher, initial = store.watch(watch_filter, resource_version)
        except ApiError as error:
            if error.code != 410:
                raise
            self.start_stream()
            self.write_event({"type": "ERROR", "object": error.body()})
            return self.end_stream()

        def encode(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
            if as_table and kind != "BOOKMARK":
                obj = tables.table(
                    resource.name,
                    resource.api_version,
                    resource.kind,
                    [obj],
                    include_object=include_object,
                    resource_version=obj["metadata"].get("resourceVersion", ""),
                    now=self.api.clock(),
                )
            return {"type": kind, "object": obj}

        def bookmark(rv: int, annotations: dict[str, str] | None = None) -> dict[str, Any]:
            metadata: dict[str, Any] = {"resourceVersion": str(rv)}
            if annotations:
                metadata["annotations"] = annotations
            return {
                "type": "BOOKMARK",
                "object": {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": metadata},
            }

        try:
            self.start_stream()
            for event in initial:
                self.write_event(encode(event.type, event.obj))
            if send_initial:
                rv = max([event.rv for event in initial] + [int(self.query.get("resourceVersion") or 0)])
                self.write_event(bookmark(store.bookmark_rv(watcher) or rv, {"k8s.io/initial-events-end": "true"}))
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + self.api.bookmark_interval
            last_check = time.monotonic()
            while not self.api.stopping.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(deadline - now, 0.5)
                if bookmarks:
                    wait = max(0.0, min(wait, next_bookmark - now))
                event = watcher.next(timeout=wait)
                if event is not None:
                    self.write_event(encode(event.type, event.obj))
                    continue
                if watcher.closed:
                    if watcher.close_reason == ABRUPT:
                        self.close_connection = True
                        self.request.shutdown(socket.SHUT_RDWR)
                        return
                    break
                now = time.monotonic()
                if bookmarks and now >= next_bookmark:
                    rv = store.bookmark_rv(watcher)
                    if rv is not None:
                        self.write_event(bookmark(rv))
                    next_bookmark = now + self.api.bookmark_interval
                if now - last_check >= 1.0:
                    last_check = now
                    if self.client_gone():
                        self.close_connection = True
                        return
            self.end_stream()
        finally:
            store.unwatch(watcher)

    def client_gone(self) -> bool:
        """True when the client closed the connection (a watch client never sends anything mid-stream)."""
        try:
            readable, _, _ = select.select([self.request], [], [], 0)
            if not readable:
                return False
            self.request.settimeout(0.2)
            try:
                return self.request.recv(1) == b""
            finally:
                self.request.settimeout(self.timeout)
        except (OSError, ValueError):
            return True

    def start_stream(self, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def write_event(self, event: dict[str, Any]) -> None:
        self.write_chunk(json.dumps(event, separators=(",", ":")).encode() + b"\n")

    def end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except DISCONNECTS:
            self.close_connection = True

    # MARK: - Writing objects

    def field_validation(self) -> str:
        value = self.query.get("fieldValidation") or "Warn"
        if value not in ("Ignore", "Warn", "Strict"):
            raise ApiError.bad_request(f'fieldValidation must be one of "Ignore", "Warn" or "Strict", got "{value}"')
        return value

    def dry_run(self) -> bool:
        value = self.query.get("dryRun")
        if value in (None, ""):
            return False
        if value != "All":
            raise ApiError.bad_request(f'Invalid dry run value: "{value}"; the only valid value is "All"')
        return True

    def parsed_body(self) -> tuple[Any, list[str]]:
        """The request body as JSON (or YAML), and the names of keys that appeared twice in one object."""
        raw = self.read_body()
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        duplicates: list[str] = []

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            result: dict[str, Any] = {}
            for key, value in items:
                if key in result:
                    duplicates.append(key)
                result[key] = value
            return result

        if content_type in ("application/yaml", "application/x-yaml", "text/yaml", "application/apply-patch+yaml"):
            if content_type == "application/apply-patch+yaml":
                raise ApiError.unsupported_media_type(
                    content_type + " (server-side apply is not supported by this test server)"
                )
            try:
                return yaml.safe_load(raw or b"null"), duplicates
            except yaml.YAMLError as error:
                raise ApiError.bad_request(f"invalid YAML: {error}")
        if content_type == protobuf.CONTENT_TYPE:
            try:
                return protobuf.decode_object(raw), duplicates
            except protobuf.ProtobufError as error:
                raise ApiError.unsupported_media_type(f"{content_type} ({error})") from None
        try:
            return json.loads(raw or b"null", object_pairs_hook=pairs), duplicates
        except ValueError as error:
            raise ApiError.bad_request(f"invalid JSON in the request body: {error}")

    def serve_create(self, route: Route) -> None:
        body, duplicates = self.parsed_body()
        resource = route.resource
        if route.subresource:
            raise ApiError.method_not_allowed(self.command)
        if resource.namespaced and route.namespace is None:
            raise ApiError.method_not_allowed(f"{self.command} on a resource across namespaces")
        namespace = route.namespace or ""
        if isinstance(body, dict) and resource.namespaced:
            body_namespace = (body.get("metadata") or {}).get("namespace")
            if body_namespace and body_namespace != namespace:
                raise ApiError.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
        created, warnings = self.api.registry.create(
            resource,
            namespace,
            body,
            dry_run=self.dry_run(),
            field_validation=self.field_validation(),
            duplicates=duplicates,
        )
        self._warnings.extend(warnings)
        self.send_json(201, created)

    def serve_update(self, route: Route) -> None:
        body, duplicates = self.parsed_body()
        if not isinstance(body, dict):
            raise ApiError.bad_request("the request body must be an object")
        updated, warnings = self.api.registry.replace(
            route.resource,
            route.namespace or "",
            route.name or "",
            body,
            subresource=route.subresource if route.subresource != "finalize" else "",
            dry_run=self.dry_run(),
            field_validation=self.field_validation(),
            duplicates=duplicates,
        )
        self._warnings.extend(warnings)
        self.send_json(200, updated)

    def serve_patch(self, route: Route) -> None:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body, _ = self.parsed_body()
        updated, warnings = self.api.registry.patch(
            route.resource,
            route.namespace or "",
            route.name or "",
            body,
            content_type,
            subresource=route.subresource,
            dry_run=self.dry_run(),
            field_validation=self.field_validation(),
        )
        self._warnings.extend(warnings)
        self.send_json(200, updated)

    def delete_options(self) -> dict[str, Any]:
        body, _ = self.parsed_body()
        options = dict(body) if isinstance(body, dict) else {}
        for name in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            if name in self.query:
                options[name] = self.query[name]
        if options.get("gracePeriodSeconds") is not None:
            try:
                options["gracePeriodSeconds"] = int(options["gracePeriodSeconds"])
            except (TypeError, ValueError):
                raise ApiError.bad_request("gracePeriodSeconds must be an integer")
        if isinstance(options.get("orphanDependents"), str):
            options["orphanDependents"] = truthy(options["orphanDependents"])
        if options.get("dryRun"):
            self.query.setdefault(
                "dryRun", options["dryRun"][0] if isinstance(options["dryRun"], list) else options["dryRun"]
            )
        return options

    def serve_delete(self, route: Route) -> None:
        options = self.delete_options()
        code, body, warnings = self.api.registry.delete(
            route.resource, route.namespace or "", route.name or "", options, dry_run=self.dry_run()
        )
        self._warnings.extend(warnings)
        self.send_json(code, body)

    def serve_delete_collection(self, route: Route) -> None:
        options = self.delete_options()
        labels, fields = self.selectors(route)
        body, warnings = self.api.registry.delete_collection(
            route.resource, route.namespace, labels, fields, options, self.dry_run()
        )
        self._warnings.extend(warnings)
        self.send_json(200, body)

    # MARK: - Logs

    def serve_log(self, route: Route) -> None:
        self.read_body()
        if route.resource.name != "pods" or route.namespace is None or not route.name:
            raise ApiError.path_not_found()

        def number(name: str) -> int | None:
            text = self.query.get(name)
            if text in (None, ""):
                return None
            try:
                value = int(text)
            except ValueError:
                raise ApiError.bad_request(f"{name} must be an integer")
            if value < 0 or (name in ("limitBytes", "sinceSeconds") and value == 0):
                raise ApiError(
                    422,
                    "Invalid",
                    f"{name} must be greater than 0" if name != "tailLines" else "tailLines must be non-negative",
                )
            return value

        tail = number("tailLines")
        limit = number("limitBytes")
        since_seconds = number("sinceSeconds")
        since = self.api.clock() - since_seconds if since_seconds else None
        if self.query.get("sinceTime"):
            try:
                since = parse_rfc3339(self.query["sinceTime"])
            except ValueError:
                raise ApiError.bad_request("sinceTime must be an RFC 3339 time")
        timestamps = truthy(self.query.get("timestamps"))
        log_file = self.api.kubelet.logs(
            route.namespace, route.name, self.query.get("container") or None, truthy(self.query.get("previous"))
        )
        content = log_file.read(tail_lines=tail, limit_bytes=limit, timestamps=timestamps, since=since)
        if not truthy(self.query.get("follow")):
            return self.send_bytes(200, content, "text/plain")
        self.start_stream("text/plain")
        self.write_chunk(content)
        sent = len(content)
        seen_lines = len(log_file.read().splitlines(keepends=True))
        while not self.api.stopping.is_set():
            if limit is not None and sent >= limit:
                break
            done = log_file.complete.is_set()
            lines = log_file.read(timestamps=timestamps).splitlines(keepends=True)
            fresh = b"".join(lines[seen_lines:])
            seen_lines = len(lines)
            if limit is not None:
                fresh = fresh[: limit - sent]
            if fresh:
                self.write_chunk(fresh)
                sent += len(fresh)
            if done:
                break
            time.sleep(0.1)
            if self.client_gone():
                self.close_connection = True
                return
        self.end_stream()

    # MARK: - Test control

    def control(self, route: str) -> None:
        """The unauthenticated test-control API, for loopback clients only."""
        if self.client_address[0] not in ("127.0.0.1", "::1"):
            self.read_body()
            return self.send_json(403, {"error": "the control API is for loopback clients only"})
        raw = self.read_body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as error:
            return self.send_json(400, {"error": f"invalid JSON: {error}"})
        api = self.api
        method = self.command
        parts = route.strip("/").split("/")
        try:
            if (method, route) == ("GET", "requests"):
                return self.send_json(200, api.faults.requests())
            if (method, route) in (("POST", "requests/reset"), ("DELETE", "requests")):
                api.faults.reset_requests()
                return self.send_json(200, {})
            if (method, route) == ("GET", "faults"):
                return self.send_json(200, {"pending": api.faults.pending(), "served": api.faults.served})
            if (method, route) == ("POST", "faults"):
                specs = body.get("faults", [body]) if isinstance(body, dict) else body
                rules = [FaultRule.from_json(spec) for spec in specs]
                for rule in rules:
                    api.faults.add(rule)
                return self.send_json(200, {"pending": api.faults.pending()})
            if (method, route) in (("POST", "faults/reset"), ("DELETE", "faults")):
                api.faults.clear()
                return self.send_json(200, {})
            if (method, route) == ("POST", "watches/drop"):
                return self.send_json(200, {"dropped": api.store.drop_watches(bool(body.get("abrupt")))})
            if (method, route) == ("POST", "expire"):
                return self.send_json(200, {"compactedResourceVersion": str(api.store.expire())})
            if (method, route) == ("POST", "scheduling"):
                if body.get("hold", True):
                    api.kubelet.hold_scheduling(body.get("message"), body.get("capacity"))
                    return self.send_json(200, {"holding": True, "capacity": api.kubelet.capacity})
                return self.send_json(200, {"holding": False, "released": api.kubelet.release_scheduling()})
            if (method, route) == ("POST", "pod-creation") and api.controller is not None:
                if body.get("refuse", True):
                    api.controller.refuse_pods(body.get("message"))
                    return self.send_json(200, {"refusing": True})
                api.controller.allow_pods()
                return self.send_json(200, {"refusing": False})
            if (method, route) == ("POST", "slow-pods"):
                specs = body.get("rules", [body]) if isinstance(body, dict) else body
                slow_rules = [SlowRule.from_json(spec) for spec in specs]
                for slow_rule in slow_rules:
                    api.kubelet.slow_pods.add(slow_rule)
                return self.send_json(200, {"pending": api.kubelet.slow_pods.pending()})
            if (method, route) == ("GET", "slow-pods"):
                slow_pods = api.kubelet.slow_pods
                return self.send_json(200, {"pending": slow_pods.pending(), "slowed": slow_pods.slowed()})
            if (method, route) in (("POST", "slow-pods/reset"), ("DELETE", "slow-pods")):
                api.kubelet.slow_pods.clear()
                return self.send_json(200, {})
            if (method, route) == ("GET", "state"):
                return self.send_json(
                    200,
                    {
                        "resourceVersion": str(api.store.resource_version),
                        "holdingScheduling": api.kubelet.holding,
                        "schedulingCapacity": api.kubelet.capacity,
                        "refusingPods": api.controller is not None and api.controller.refusing,
                        "slowPods": api.kubelet.slow_pods.pending(),
                        "faults": api.faults.pending(),
                        "requests": api.faults.requests(),
                    },
                )
            if (method, route) == ("POST", "rbac"):
                api.denied = {(rule["verb"], rule["resource"]) for rule in body.get("deny", [])}
                return self.send_json(200, {"denied": sorted(f"{v} {r}" for v, r in api.denied)})
            if (method, route) == ("POST", "reset"):
                api.denied = set()
                api.faults.clear()
                api.faults.reset_requests()
                api.kubelet.release_scheduling()
                api.kubelet.slow_pods.clear()
                if api.controller is not None:
                    api.controller.allow_pods()
                return self.send_json(200, {})
            if method == "POST" and len(parts) == 4 and parts[0] == "pods" and parts[3] in ("kill", "disrupt", "slow"):
                namespace, name = parts[1], parts[2]
                if parts[3] == "slow":
                    slowness = Slowness.from_json(body, "holdSeconds")
                    api.kubelet.slow(namespace, name, slowness)
                    return self.send_json(200, {"pod": name, **slowness.to_json("holdSeconds")})
                if parts[3] == "kill":
                    killed = api.kubelet.kill(namespace, name, body.get("container"))
                    return self.send_json(200, {"killed": killed})
                mode = body.get("mode", "evict")
                if mode not in ("evict", "delete"):
                    return self.send_json(400, {"error": 'mode must be "evict" or "delete"'})
                default_reason = "TerminationByKubelet" if mode == "evict" else "PreemptionByScheduler"
                default_message = (
                    "The node was low on resource: memory."
                    if mode == "evict"
                    else "Preempted in order to admit a critical pod"
                )
                pod = api.kubelet.disrupt(
                    namespace, name, body.get("reason", default_reason), body.get("message", default_message), mode
                )
                return self.send_json(200, {"pod": pod["metadata"]["name"], "mode": mode})
        except ValueError as error:
            return self.send_json(400, {"error": str(error)})
        except ApiError as error:
            return self.send_json(error.code, {"error": error.message})
        self.send_json(404, {"error": f"no control route {method} /__test/{route}", "routes": CONTROL_ROUTES})

    # MARK: - Bodies

    def read_body(self) -> bytes:
        if getattr(self, "_body", None) is not None:
            return self._body
        encodings = [
            value.strip().lower()
            for header in self.headers.get_all("Transfer-Encoding", [])
            for value in header.split(",")
        ]
        if encodings and encodings[-1] == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionResetError("client closed mid-body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.read(2)
            self._body = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            self._body = self.rfile.read(length) if length > 0 else b""
        return self._body

    def handle_one_request(self) -> None:
        self._body = None
        super().handle_one_request()

    def send_json(self, code: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(code, json.dumps(value, separators=(",", ":")).encode(), "application/json", headers)

    def send_bytes(self, code: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.read_body()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for warning in getattr(self, "_warnings", []):
            # RFC 7234's quoted-string, as the API server writes it: kubectl unescapes it.
            quoted = warning.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{quoted}"')
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_error_status(self, error: ApiError) -> None:
        try:
            self.send_json(error.code, error.body(), error.headers)
        except DISCONNECTS:
            self.close_connection = True


CONTROL_ROUTES = [
    "GET /__test/requests",
    "POST /__test/rbac {deny: [{verb, resource}]} (what the user may not do; SelfSubjectAccessReviews say the same)",
    "POST /__test/requests/reset",
    "GET /__test/faults",
    "POST /__test/faults {status, count, verb, resource, path, retryAfter, message} or {faults: [...]}",
    "POST /__test/faults/reset",
    "POST /__test/watches/drop {abrupt: false}",
    "POST /__test/expire",
    "POST /__test/scheduling {hold: true|false, message, capacity}",
    "POST /__test/pod-creation {refuse: true|false, message}",
    "POST /__test/slow-pods {namespace, selector, count, factor, periodSeconds, startDelaySeconds} or {rules: [...]}",
    "GET /__test/slow-pods",
    "POST /__test/slow-pods/reset",
    "POST /__test/pods/NAMESPACE/NAME/kill {container}",
    "POST /__test/pods/NAMESPACE/NAME/disrupt {mode: evict|delete, reason, message}",
    "POST /__test/pods/NAMESPACE/NAME/slow {factor, periodSeconds, holdSeconds}",
    "GET /__test/state",
    "POST /__test/reset",
]
