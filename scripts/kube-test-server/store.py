"""The object store: objects in memory, one global resourceVersion counter, a window of recent events per resource
and watch fan-out.

Every write (create, update, delete) takes the next resourceVersion and appends one event to its resource's window.
A watch from resourceVersion R replays the window's events after R, then follows live events; when events after R
have already left the window (or were expired on purpose), the watch is refused with 410 Expired, as the API
server's watch cache and etcd compaction do. Lists are always served from the current state; paginated lists keep
the first page's snapshot so that the continuation is consistent, and their continue tokens expire like a compacted
revision.

Objects are plain dicts. A stored object is never mutated after it is committed: writers commit new dicts, and
readers get deep copies, so events can share the stored snapshot.
"""

from __future__ import annotations

import base64
import collections
import copy
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from errors import ApiError
from labels import FieldSelector, LabelSelector
from meta import random_suffix, rfc3339

Key = tuple[str, str]
ABRUPT = "dropped abruptly by a test fault"  # (namespace, name); namespace is "" for cluster-scoped resources


@dataclass(frozen=True)
class Event:
    rv: int
    resource: str
    type: str  # ADDED, MODIFIED or DELETED
    obj: dict[str, Any]
    old: dict[str, Any] | None = None  # the previous state for MODIFIED and DELETED


@dataclass
class WatchFilter:
    resource: str
    namespace: str | None = None
    labels: LabelSelector = field(default_factory=LabelSelector)
    fields: FieldSelector = field(default_factory=FieldSelector)

    def accepts(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        metadata = obj.get("metadata", {})
        if self.namespace is not None and metadata.get("namespace", "") != self.namespace:
            return False
        return self.labels.matches(metadata.get("labels")) and self.fields.matches(obj)

    def translate(self, event: Event) -> Event | None:
        """The event as this watcher sees it: an object that starts or stops matching is ADDED or DELETED."""
        if event.resource != self.resource:
            return None
        now = self.accepts(event.obj)
        before = event.old is not None and self.accepts(event.old)
        if event.type == "MODIFIED":
            if now and before:
                return event
            if now:
                return Event(event.rv, event.resource, "ADDED", event.obj, event.old)
            if before:
                return Event(event.rv, event.resource, "DELETED", event.obj, event.old)
            return None
        if event.type == "DELETED":
            return event if now or before else None
        return event if now else None


class Watcher:
    """One watch: a queue of events, filled by the store under its lock and drained by one reader."""

    def __init__(self, filters: list[WatchFilter], capacity: int | None, internal: bool):
        self.filters = filters
        self.capacity = capacity
        self.internal = internal
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self.closed = False
        self.close_reason = ""

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        for watch_filter in self.filters:
            seen = watch_filter.translate(event)
            if seen is not None:
                if self.capacity is not None and self._queue.qsize() >= self.capacity:
                    self.close("the watcher fell too far behind")
                    return
                self._queue.put(seen)
                return

    def next(self, timeout: float | None) -> Event | None:
        """The next event; None on timeout or once closed and drained."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, reason: str = "closed") -> None:
        if not self.closed:
            self.closed = True
            self.close_reason = reason
            self._queue.put(None)


class Store:
    def __init__(self, *, window: int = 1000, continue_ttl: float = 300.0, clock: Callable[[], float] = time.time):
        self._lock = threading.RLock()
        self._clock = clock
        self._rv = 0
        self._objects: dict[str, dict[Key, dict[str, Any]]] = collections.defaultdict(dict)
        # A window of recent events per resource, as the API server's watch cache keeps one per resource.
        self._history: dict[str, collections.deque[Event]] = collections.defaultdict(
            lambda: collections.deque(maxlen=window)
        )
        # The oldest resourceVersion a watch may start from: the events after it are all still in the window.
        self._oldest_watchable: dict[str, int] = collections.defaultdict(int)
        # Lists older than this resourceVersion cannot be continued (etcd compaction, or the expire fault).
        self._compacted = 0
        self._watchers: set[Watcher] = set()
        self._snapshots: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._continue_ttl = continue_ttl

    # MARK: - Reading

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A copy of the object, or None."""
        with self._lock:
            found = self._objects[resource].get((namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def list(
        self,
        resource: str,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Copies of the matching objects in (namespace, name) order, and the list's resourceVersion."""
        watch_filter = WatchFilter(resource, namespace, labels or LabelSelector(), fields or FieldSelector())
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for key, obj in sorted(self._objects[resource].items())
                if watch_filter.accepts(obj) and (predicate is None or predicate(obj))
            ]
            return items, self._rv

    def list_page(
        self,
        resource: str,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        limit: int | None,
        continue_token: str | None,
    ) -> tuple[list[dict[str, Any]], int, str | None, int | None]:
        """One page: items, the list's resourceVersion, the next continue token (None on the last page) and the
        number of items remaining after this page (None when there is no next page).

        The first page of a limited list saves its result; continuations read from it, so a paginated list is a
        consistent snapshot. Raises 410 Expired for a token older than the continue TTL or than the last compaction.
        """
        with self._lock:
            if continue_token:
                snapshot_id, list_rv, offset = self._decode_continue(continue_token)
                saved = self._snapshots.get(snapshot_id)
                if saved is None or list_rv < self._compacted or self._clock() - saved[0] > self._continue_ttl:
                    self._snapshots.pop(snapshot_id, None)
                    raise ApiError.expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "Start a new list without the continue parameter."
                    )
                items = saved[1]
            else:
                items, list_rv = self.list(resource, namespace, labels, fields)
                offset = 0
                snapshot_id = uuid.uuid4().hex
            if not limit or limit <= 0 or offset + limit >= len(items):
                self._snapshots.pop(snapshot_id, None)
                return items[offset:], list_rv, None, None
            self._forget_old_snapshots()
            self._snapshots[snapshot_id] = (self._snapshots.get(snapshot_id, (self._clock(), items))[0], items)
            end = offset + limit
            token = self._encode_continue(snapshot_id, list_rv, end)
            return copy.deepcopy(items[offset:end]), list_rv, token, len(items) - end

    @staticmethod
    def _encode_continue(snapshot_id: str, list_rv: int, offset: int) -> str:
        payload = json.dumps({"v": "fanout.test/1", "rv": list_rv, "id": snapshot_id, "offset": offset})
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    @staticmethod
    def _decode_continue(token: str) -> tuple[str, int, int]:
        try:
            padded = token + "=" * (-len(token) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
            return str(payload["id"]), int(payload["rv"]), int(payload["offset"])
        except (ValueError, KeyError, TypeError):
            raise ApiError.bad_request(f"invalid continue token: {token!r}")

    def _forget_old_snapshots(self) -> None:
        now = self._clock()
        for snapshot_id, (created, _) in list(self._snapshots.items()):
            if now - created > self._continue_ttl:
                del self._snapshots[snapshot_id]
        while len(self._snapshots) > 200:
            del self._snapshots[next(iter(self._snapshots))]

    # MARK: - Writing

    def create(self, resource: str, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Stores a new object: fills name (from generateName), uid, creationTimestamp, generation and
        resourceVersion. Raises 409 AlreadyExists. Returns a copy of what was stored."""
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        namespace = metadata.get("namespace", "")
        group = obj.get("apiVersion", "v1").rpartition("/")[0]
        with self._lock:
            if not metadata.get("name"):
                prefix = metadata.get("generateName", "")
                for _ in range(20):
                    candidate = prefix + random_suffix()
                    if (namespace, candidate) not in self._objects[resource]:
                        metadata["name"] = candidate
                        break
            name = metadata["name"]
            if (namespace, name) in self._objects[resource]:
                raise ApiError.already_exists(resource, group, name)
            if not metadata.get("uid"):
                metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = rfc3339(self._clock())
            if "spec" in obj:
                metadata["generation"] = 1
            if dry_run:
                return obj
            self._rv += 1
            metadata["resourceVersion"] = str(self._rv)
            self._objects[resource][(namespace, name)] = obj
            self._commit(Event(self._rv, resource, "ADDED", obj))
            return copy.deepcopy(obj)

    def replace(
        self, resource: str, obj: dict[str, Any], *, expected_rv: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Replaces a stored object. With `expected_rv`, a different current resourceVersion is a 409 Conflict.
        Raises 404 when the object is gone. The caller keeps uid and creationTimestamp."""
        obj = copy.deepcopy(obj)
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        group = obj.get("apiVersion", "v1").rpartition("/")[0]
        with self._lock:
            current = self._objects[resource].get(key)
            if current is None:
                raise ApiError.not_found(resource, group, key[1])
            if expected_rv and expected_rv != current["metadata"]["resourceVersion"]:
                raise ApiError.conflict(
                    resource, group, key[1], "the object has been modified; read the latest version and try again"
                )
            if metadata.get("uid") and metadata["uid"] != current["metadata"]["uid"]:
                raise ApiError.conflict(resource, group, key[1], "the UID in the precondition does not match")
            if _without_rv(current) == _without_rv(obj):
                return copy.deepcopy(current)
            if dry_run:
                return obj
            self._rv += 1
            metadata["resourceVersion"] = str(self._rv)
            self._objects[resource][key] = obj
            self._commit(Event(self._rv, resource, "MODIFIED", obj, current))
            return copy.deepcopy(obj)

    def mutate(
        self, resource: str, namespace: str, name: str, change: Callable[[dict[str, Any]], Any]
    ) -> dict[str, Any] | None:
        """Applies `change` to a copy of the object under the store lock and commits it when it differs. No
        conflicts: for the server's own controllers. Returns the stored object, or None when it does not exist.
        `change` may return False to abandon the write."""
        with self._lock:
            current = self._objects[resource].get((namespace, name))
            if current is None:
                return None
            updated = copy.deepcopy(current)
            if change(updated) is False or updated == current:
                return copy.deepcopy(current)
            self._rv += 1
            updated["metadata"]["resourceVersion"] = str(self._rv)
            self._objects[resource][(namespace, name)] = updated
            self._commit(Event(self._rv, resource, "MODIFIED", updated, current))
            return copy.deepcopy(updated)

    def delete(self, resource: str, namespace: str, name: str, *, dry_run: bool = False) -> dict[str, Any] | None:
        """Removes the object; returns its final state (with the deletion's resourceVersion), or None."""
        with self._lock:
            current = self._objects[resource].get((namespace, name))
            if current is None:
                return None
            if dry_run:
                return copy.deepcopy(current)
            del self._objects[resource][(namespace, name)]
            self._rv += 1
            final = copy.deepcopy(current)
            final["metadata"]["resourceVersion"] = str(self._rv)
            self._commit(Event(self._rv, resource, "DELETED", final, current))
            return copy.deepcopy(final)

    def _commit(self, event: Event) -> None:
        history = self._history[event.resource]
        if len(history) == history.maxlen:
            resource = event.resource
            self._oldest_watchable[resource] = max(self._oldest_watchable[resource], history[0].rv)
        history.append(event)
        for watcher in list(self._watchers):
            watcher.offer(event)
            if watcher.closed:
                self._watchers.discard(watcher)

    # MARK: - Watching

    def watch(
        self,
        watch_filter: WatchFilter,
        resource_version: str | None,
        *,
        capacity: int | None = 10000,
    ) -> tuple[Watcher, list[Event]]:
        """Registers a watcher and returns it with the events to send first.

        No resourceVersion (or "0"): a synthetic ADDED event per current object. A resourceVersion R: the window's
        events after R. Raises 410 Expired when events after R are no longer retained, 400 for a malformed R.
        """
        with self._lock:
            if resource_version in (None, "", "0"):
                initial = [
                    Event(int(obj["metadata"]["resourceVersion"]), watch_filter.resource, "ADDED", obj)
                    for _, obj in sorted(self._objects[watch_filter.resource].items())
                    if watch_filter.accepts(obj)
                ]
            else:
                try:
                    since = int(resource_version)
                except ValueError:
                    raise ApiError.bad_request(f'invalid resource version: "{resource_version}"')
                oldest = self._oldest_watchable[watch_filter.resource]
                if since < oldest:
                    raise ApiError.expired(f"too old resource version: {since} ({oldest})")
                initial = []
                for event in self._history[watch_filter.resource]:
                    if event.rv > since:
                        seen = watch_filter.translate(event)
                        if seen is not None:
                            initial.append(seen)
            watcher = Watcher([watch_filter], capacity, internal=False)
            self._watchers.add(watcher)
            return watcher, initial

    def subscribe(self, resources: list[str]) -> Watcher:
        """An internal, unbounded watcher of every event on `resources`, for the controllers."""
        with self._lock:
            watcher = Watcher([WatchFilter(resource) for resource in resources], None, internal=True)
            watcher.filters = [_AllOf(resource) for resource in resources]
            self._watchers.add(watcher)
            return watcher

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            watcher.close("stopped")
            self._watchers.discard(watcher)

    def bookmark_rv(self, watcher: Watcher) -> int | None:
        """The current resourceVersion when the watcher has received every event up to it, else None."""
        with self._lock:
            return self._rv if watcher.pending() == 0 and not watcher.closed else None

    def drop_watches(self, abrupt: bool = False) -> int:
        """Closes every client watch (not the controllers'); returns how many. An abrupt drop closes the
        connection mid-stream (no final chunk) instead of ending the stream cleanly."""
        with self._lock:
            dropped = [watcher for watcher in self._watchers if not watcher.internal]
            for watcher in dropped:
                watcher.close(ABRUPT if abrupt else "dropped by a test fault")
                self._watchers.discard(watcher)
            return len(dropped)

    def expire(self) -> int:
        """Compacts everything up to now: a watch or continue token from any resourceVersion handed out so far gets
        410. The counter moves on by one, so that a fresh list gives a resourceVersion a watch can start from.
        Returns that resourceVersion."""
        with self._lock:
            self._rv += 1
            self._compacted = self._rv
            for resource in list(self._history) + list(self._objects):
                self._oldest_watchable[resource] = self._rv
            self._history.clear()
            self._snapshots.clear()
            return self._rv

    def close(self) -> None:
        with self._lock:
            for watcher in self._watchers:
                watcher.close("server stopping")
            self._watchers.clear()


class _AllOf(WatchFilter):
    """A filter that passes every event of one resource unchanged."""

    def __init__(self, resource: str):
        super().__init__(resource)

    def translate(self, event: Event) -> Event | None:
        return event if event.resource == self.resource else None


def _without_rv(obj: dict[str, Any]) -> dict[str, Any]:
    trimmed = dict(obj)
    trimmed["metadata"] = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
    return trimmed
