"""Injected API failures and request counting.

A fault rule answers the next `count` matching requests with `status` (429 with Retry-After, 500, 503...) instead of
serving them. A rule matches by verb (get, list, watch, create, update, patch, delete, deletecollection), resource
("jobs", "pods", "pods/log"...) and a substring of the path, each optional. Requests are counted per "verb resource"
("create jobs", "watch pods", "get pods/log"), discovery and other non-resource requests as "get /path".
"""

from __future__ import annotations

import collections
import threading
from dataclasses import asdict, dataclass
from typing import Any

from errors import ApiError


@dataclass
class FaultRule:
    status: int = 500
    count: int = 1
    verb: str | None = None
    resource: str | None = None
    path: str | None = None
    retry_after: int | None = None
    message: str | None = None

    @classmethod
    def from_json(cls, value: Any) -> FaultRule:
        if not isinstance(value, dict):
            raise ValueError("a fault must be a JSON object")
        known = set(cls.__dataclass_fields__) | {"retryAfter"}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}; known: {sorted(known)}")
        rule = cls(
            status=value.get("status", 500),
            count=value.get("count", 1),
            verb=value.get("verb"),
            resource=value.get("resource"),
            path=value.get("path"),
            retry_after=value.get("retry_after", value.get("retryAfter")),
            message=value.get("message"),
        )
        if not isinstance(rule.status, int) or not 400 <= rule.status <= 599:
            raise ValueError("status must be an integer from 400 to 599")
        if not isinstance(rule.count, int) or rule.count < 1:
            raise ValueError("count must be a positive integer")
        if rule.status == 429 and rule.retry_after is None:
            rule.retry_after = 1
        return rule

    def matches(self, verb: str, resource: str, path: str) -> bool:
        return (
            self.verb in (None, verb) and self.resource in (None, resource) and (self.path is None or self.path in path)
        )

    def error(self) -> ApiError:
        if self.status == 429:
            error = ApiError.too_many_requests(self.retry_after)
        elif self.status == 500:
            error = ApiError.internal(self.message or "injected fault")
        else:
            error = ApiError(
                self.status,
                {503: "ServiceUnavailable", 422: "Invalid"}.get(self.status, "InternalError"),
                self.message or "injected fault",
            )
            if self.retry_after is not None:
                error.headers["Retry-After"] = str(self.retry_after)
        if self.message and self.status != 500:
            error.message = self.message
        return error


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._counts: collections.Counter[str] = collections.Counter()
        self._served = 0

    def add(self, rule: FaultRule) -> int:
        with self._lock:
            self._rules.append(rule)
            return len(self._rules)

    def take(self, verb: str, resource: str, path: str) -> ApiError | None:
        """The error for this request when a rule matches (using one of its count), else None."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(verb, resource, path):
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    self._served += 1
                    return rule.error()
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._served = 0

    def count(self, verb: str, resource: str) -> None:
        with self._lock:
            self._counts[f"{verb} {resource}"] += 1

    def requests(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset_requests(self) -> None:
        with self._lock:
            self._counts.clear()

    @property
    def served(self) -> int:
        with self._lock:
            return self._served
