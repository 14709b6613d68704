"""The resources this server serves, and the discovery documents that describe them to kubectl."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    name: str  # plural, as in the URL
    kind: str
    group: str
    version: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    subresources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> verbs

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def qualified(self) -> str:
        """jobs.batch, or pods for the core group: how error messages name the resource."""
        return f"{self.name}.{self.group}" if self.group else self.name


RESOURCES: dict[str, ResourceType] = {
    resource.name: resource
    for resource in [
        ResourceType(
            "namespaces",
            "Namespace",
            "",
            "v1",
            namespaced=False,
            singular="namespace",
            short_names=("ns",),
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
            subresources={"status": ("get", "patch", "update")},
        ),
        ResourceType(
            "pods",
            "Pod",
            "",
            "v1",
            singular="pod",
            short_names=("po",),
            categories=("all",),
            subresources={"log": ("get",), "status": ("get", "patch", "update")},
        ),
        ResourceType("events", "Event", "", "v1", singular="event", short_names=("ev",)),
        ResourceType("secrets", "Secret", "", "v1", singular="secret"),
        ResourceType("configmaps", "ConfigMap", "", "v1", singular="configmap", short_names=("cm",)),
        ResourceType(
            "jobs",
            "Job",
            "batch",
            "v1",
            singular="job",
            categories=("all",),
            subresources={"status": ("get", "patch", "update")},
        ),
    ]
}


def resource_for(group: str, version: str, name: str) -> ResourceType | None:
    resource = RESOURCES.get(name)
    if resource is None or resource.group != group or resource.version != version:
        return None
    return resource


# MARK: - Discovery documents


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str) -> dict[str, Any]:
    version = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [version], "preferredVersion": version}


# The authorization group serves only SelfSubjectAccessReviews (create), which `kubectl auth can-i` and Fanout's
# permission check post.
AUTHORIZATION_GROUP = "authorization.k8s.io"


def api_group_list() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group("batch"), _group(AUTHORIZATION_GROUP)]}


def api_group(name: str) -> dict[str, Any] | None:
    if name not in ("batch", AUTHORIZATION_GROUP):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    if (group, version) == (AUTHORIZATION_GROUP, "v1"):
        review = {
            "name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": False,
            "kind": "SelfSubjectAccessReview", "verbs": ["create"],
        }
        return {
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}", "resources": [review]
        }
    entries: list[dict[str, Any]] = []
    for resource in RESOURCES.values():
        if resource.group != group or resource.version != version:
            continue
        entry: dict[str, Any] = {
            "name": resource.name,
            "singularName": resource.singular,
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": list(resource.verbs),
        }
        if resource.short_names:
            entry["shortNames"] = list(resource.short_names)
        if resource.categories:
            entry["categories"] = list(resource.categories)
        entries.append(entry)
        for subresource, verbs in resource.subresources.items():
            kind = "Pod" if subresource == "log" else resource.kind
            entries.append(
                {
                    "name": f"{resource.name}/{subresource}",
                    "singularName": "",
                    "namespaced": resource.namespaced,
                    "kind": kind,
                    "verbs": list(verbs),
                }
            )
    if not entries:
        return None
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}
