"""The store and selectors on their own, without a server."""

from __future__ import annotations

import pytest

from errors import ApiError
from labels import FieldSelector, LabelSelector, SelectorError
from store import Store, WatchFilter


def job(name: str, **labels: str) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {},
    }


def test_resource_versions_are_one_global_counter() -> None:
    store = Store()
    first = store.create("jobs", job("a"))
    pod = store.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}})
    second = store.mutate("jobs", "default", "a", lambda obj: obj["metadata"]["labels"].update(x="y"))
    assert [int(o["metadata"]["resourceVersion"]) for o in (first, pod, second)] == [1, 2, 3]
    assert first["metadata"]["generation"] == 1 and first["metadata"]["uid"]
    with pytest.raises(ApiError) as conflict:
        store.replace("jobs", first, expected_rv=first["metadata"]["resourceVersion"])
    assert conflict.value.code == 409


def test_watch_from_a_resource_version_outside_the_window_is_expired() -> None:
    store = Store(window=3)
    for name in "abcde":
        store.create("jobs", job(name))
    with pytest.raises(ApiError) as expired:
        store.watch(WatchFilter("jobs"), "1")
    assert expired.value.code == 410 and "too old resource version" in expired.value.message
    _, replay = store.watch(WatchFilter("jobs"), "2")
    assert [event.obj["metadata"]["name"] for event in replay] == ["c", "d", "e"]
    # Other resources keep their own window.
    store.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}})
    _, pods = store.watch(WatchFilter("pods"), "1")
    assert [event.type for event in pods] == ["ADDED"]


def test_an_object_leaving_the_selector_is_deleted_for_the_watcher() -> None:
    store = Store()
    store.create("jobs", job("a", tier="web"))
    watcher, initial = store.watch(WatchFilter("jobs", "default", LabelSelector.parse("tier=web")), None)
    assert [event.type for event in initial] == ["ADDED"]
    store.mutate("jobs", "default", "a", lambda obj: obj["metadata"]["labels"].update(tier="db"))
    store.mutate("jobs", "default", "a", lambda obj: obj["metadata"]["labels"].update(tier="web"))
    assert [watcher.next(0.1).type for _ in range(2)] == ["DELETED", "ADDED"]


def test_selector_parsing() -> None:
    assert str(LabelSelector.parse("a=b, c!=d,e in (f, g),!h")) == "a=b,c!=d,e in (f,g),!h"
    assert LabelSelector.from_object({"matchExpressions": [{"key": "a", "operator": "Exists"}]}).matches({"a": ""})
    assert not LabelSelector.from_object(None).matches({})
    for bad in ("a in ()", "=b", "a=b c"):
        with pytest.raises(SelectorError):
            LabelSelector.parse(bad)
    with pytest.raises(SelectorError, match="field label not supported"):
        FieldSelector.parse("spec.foo=1", "jobs")
    assert FieldSelector.parse("status.phase!=Running", "pods").matches({"metadata": {}, "status": {"phase": "Failed"}})
