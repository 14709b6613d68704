"""API errors and the metav1.Status bodies that carry them."""

from __future__ import annotations

import json
from typing import Any


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A metav1.Status with status Failure."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def format_value(value: Any) -> str:
    """A field value as validation messages print it: strings quoted, numbers bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


class ApiError(Exception):
    """An error answered with a Status body and `code`."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details)

    # MARK: - The errors the API answers with

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, "BadRequest", message)

    @classmethod
    def unauthorized(cls) -> ApiError:
        return cls(401, "Unauthorized", "Unauthorized")

    @classmethod
    def forbidden(cls, message: str) -> ApiError:
        return cls(403, "Forbidden", message)

    @classmethod
    def not_found(cls, resource: str, group: str, name: str) -> ApiError:
        qualified = f"{resource}.{group}" if group else resource
        return cls(404, "NotFound", f'{qualified} "{name}" not found', {"name": name, "group": group, "kind": resource})

    @classmethod
    def path_not_found(cls) -> ApiError:
        return cls(404, "NotFound", "the server could not find the requested resource", {})

    @classmethod
    def method_not_allowed(cls, method: str) -> ApiError:
        return cls(
            405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({method})"
        )

    @classmethod
    def not_acceptable(cls, message: str) -> ApiError:
        return cls(406, "NotAcceptable", message)

    @classmethod
    def already_exists(cls, resource: str, group: str, name: str) -> ApiError:
        qualified = f"{resource}.{group}" if group else resource
        return cls(
            409,
            "AlreadyExists",
            f'{qualified} "{name}" already exists',
            {"name": name, "group": group, "kind": resource},
        )

    @classmethod
    def conflict(cls, resource: str, group: str, name: str, why: str) -> ApiError:
        qualified = f"{resource}.{group}" if group else resource
        return cls(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
            {"name": name, "group": group, "kind": resource},
        )

    @classmethod
    def expired(cls, message: str) -> ApiError:
        return cls(410, "Expired", message)

    @classmethod
    def unsupported_media_type(cls, content_type: str) -> ApiError:
        return cls(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}")

    @classmethod
    def invalid(cls, kind: str, group: str, name: str, causes: list[dict[str, str]]) -> ApiError:
        qualified = f"{kind}.{group}" if group else kind
        lines = [f"{cause['field']}: {cause['message']}" for cause in causes]
        summary = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
        return cls(
            422,
            "Invalid",
            f'{qualified} "{name}" is invalid: {summary}',
            {"name": name, "group": group, "kind": kind, "causes": causes},
        )

    @classmethod
    def too_many_requests(cls, retry_after: int | None) -> ApiError:
        details = {"retryAfterSeconds": retry_after} if retry_after is not None else None
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return cls(429, "TooManyRequests", "Too many requests, please try again later.", details, headers)

    @classmethod
    def internal(cls, message: str) -> ApiError:
        return cls(500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]})

    @classmethod
    def service_unavailable(cls, message: str) -> ApiError:
        return cls(503, "ServiceUnavailable", message)
