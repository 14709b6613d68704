"""What each API operation means for each resource: server-set fields, defaults, validation, strict field checks,
update rules, graceful pod deletion and the garbage collection of a deleted Job's pods.

The HTTP layer (api.py) parses requests and calls these; the job controller calls them too, so pods it creates get
the same defaults as pods created through the API.
"""

from __future__ import annotations

import base64
import copy
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import patch as patching
import podsecurity
import validation
from errors import ApiError
from labels import FieldSelector, LabelSelector
from meta import owned_by, random_suffix, rfc3339
from resources import RESOURCES, ResourceType
from schema import SCHEMAS, check_fields
from store import Store

JOB_DELETE_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them "
    "or set propagationPolicy=Orphan to suppress this warning"
)
TERMINAL_PHASES = ("Succeeded", "Failed")


class Registry:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock
        self._namespace_lock = threading.Lock()

    # MARK: - Namespaces

    def ensure_namespace(self, name: str) -> None:
        """Creates the namespace when missing: namespaces are made on first use."""
        with self._namespace_lock:
            if self.store.get("namespaces", "", name) is None:
                self.store.create("namespaces", new_namespace(name))

    # MARK: - Create

    def create(
        self,
        resource: ResourceType,
        namespace: str,
        body: dict[str, Any],
        *,
        dry_run: bool = False,
        field_validation: str = "Warn",
        duplicates: list[str] | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """Creates an object from a client's request body; returns it and the warnings to send."""
        warnings = self._check_body(resource, body, field_validation, duplicates)
        obj = copy.deepcopy(body)
        obj["apiVersion"] = resource.api_version
        obj["kind"] = resource.kind
        metadata = obj.setdefault("metadata", {})
        if metadata.get("resourceVersion"):
            raise ApiError.bad_request("resourceVersion should not be set on objects to be created")
        for server_field in (
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ):
            metadata.pop(server_field, None)
        if resource.namespaced:
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + random_suffix()
        metadata["uid"] = str(uuid.uuid4())
        self._prepare_new(resource, obj)
        warnings += self._admit(resource, namespace, obj)
        if resource.namespaced and not dry_run:
            self.ensure_namespace(namespace)
        return self.store.create(resource.name, obj, dry_run=dry_run), warnings

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        found = self.store.get("namespaces", "", namespace)
        return dict(((found or {}).get("metadata") or {}).get("labels") or {})

    def _admit(self, resource: ResourceType, namespace: str, obj: dict[str, Any]) -> list[str]:
        """Pod Security admission of a new pod (refused with 403 under the enforced level) or Job (warnings only);
        returns the warnings."""
        if resource.name == "pods":
            return podsecurity.check_pod(self.namespace_labels(namespace), obj)
        if resource.name == "jobs":
            template = obj["spec"].get("template") or {}
            return podsecurity.warnings(
                self.namespace_labels(namespace), template.get("metadata") or {}, template.get("spec") or {}
            )
        return []

    def _prepare_new(self, resource: ResourceType, obj: dict[str, Any]) -> None:
        """Defaults, validation and server-set state for a new object."""
        name = resource.name
        metadata = obj["metadata"]
        if name == "jobs":
            validation.default_job(obj)
            causes = validation.validate_job(obj)
            if causes:
                raise ApiError.invalid("Job", "batch", metadata.get("name", ""), causes)
            validation.generate_selector(obj)
            obj["status"] = {}
        elif name == "pods":
            spec = obj.get("spec")
            if isinstance(spec, dict):
                validation.default_pod_spec(spec)
            causes = validation.validate_pod(obj)
            if causes:
                raise ApiError.invalid("Pod", "", metadata.get("name", ""), causes)
            metadata.setdefault("generation", 1)
            obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj["spec"])}
        elif name == "namespaces":
            problem = validation.dns_label_problem(metadata.get("name", ""))
            if problem:
                raise ApiError.invalid(
                    "Namespace",
                    "",
                    metadata.get("name", ""),
                    [
                        {
                            "reason": "FieldValueInvalid",
                            "field": "metadata.name",
                            "message": f'Invalid value: "{metadata.get("name", "")}": {problem}',
                        }
                    ],
                )
            metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = metadata["name"]
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        else:
            causes = validation.Causes()
            validation.validate_metadata(causes, metadata)
            if causes:
                raise ApiError.invalid(resource.kind, resource.group, metadata.get("name", ""), causes.items)
            if name == "secrets":
                _fold_string_data(obj)
                obj["type"] = obj.get("type") or "Opaque"

    def create_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        """Creates a pod on behalf of a controller: defaults applied, no field checks, but Pod Security admission
        (an ApiError, 403, when the namespace's enforced level refuses it)."""
        pod = copy.deepcopy(pod)
        pod["apiVersion"], pod["kind"] = "v1", "Pod"
        validation.default_pod_spec(pod["spec"])
        podsecurity.check_pod(self.namespace_labels(pod["metadata"]["namespace"]), pod)
        pod["metadata"]["generation"] = 1
        pod["status"] = {"phase": "Pending", "qosClass": _qos_class(pod["spec"])}
        return self.store.create("pods", pod)

    def _check_body(
        self, resource: ResourceType, body: Any, field_validation: str, duplicates: list[str] | None
    ) -> list[str]:
        if not isinstance(body, dict):
            raise ApiError.bad_request("the request body must be a JSON or YAML object")
        api_version = body.get("apiVersion")
        if api_version and api_version != resource.api_version:
            raise ApiError.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({resource.api_version})"
            )
        kind = body.get("kind")
        if kind and kind != resource.kind:
            raise ApiError.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
            )
        problems = check_fields(SCHEMAS[resource.name], body)
        if problems.wrong_type:
            raise ApiError.bad_request(
                f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: '
                + "; ".join(problems.wrong_type)
            )
        found = [f'unknown field "{path}"' for path in problems.unknown]
        found += [f'duplicate field "{name}"' for name in duplicates or []]
        if field_validation == "Strict" and found:
            raise ApiError.bad_request("strict decoding error: " + ", ".join(found))
        return found if field_validation == "Warn" else []

    # MARK: - Update and patch

    def replace(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str = "",
        dry_run: bool = False,
        field_validation: str = "Warn",
        duplicates: list[str] | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        warnings = self._check_body(resource, body, field_validation, duplicates)
        current = self.store.get(resource.name, namespace, name)
        if current is None:
            raise ApiError.not_found(resource.name, resource.group, name)
        if body.get("metadata", {}).get("name") not in (None, name):
            raise ApiError.bad_request("the name of the object does not match the name on the URL")
        expected_rv = body.get("metadata", {}).get("resourceVersion") or None
        updated = self._merge_update(resource, current, body, subresource)
        warnings += self._namespace_warnings(resource, current, updated)
        stored = self.store.replace(resource.name, updated, expected_rv=expected_rv, dry_run=dry_run)
        return stored, warnings

    def patch(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        content_type: str,
        *,
        subresource: str = "",
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[dict[str, Any], list[str]]:
        current = self.store.get(resource.name, namespace, name)
        if current is None:
            raise ApiError.not_found(resource.name, resource.group, name)
        if content_type == "application/merge-patch+json":
            patched = patching.merge_patch(current, body)
        elif content_type == "application/json-patch+json":
            patched = patching.json_patch(current, body)
        elif content_type == "application/strategic-merge-patch+json":
            patched = patching.strategic_merge_patch(current, body, SCHEMAS[resource.name])
        else:
            raise ApiError.unsupported_media_type(content_type)
        warnings = self._check_body(resource, patched, field_validation, None)
        expected_rv = None
        if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
            expected_rv = body["metadata"].get("resourceVersion") or None
        updated = self._merge_update(resource, current, patched, subresource)
        warnings += self._namespace_warnings(resource, current, updated)
        return self.store.replace(resource.name, updated, expected_rv=expected_rv, dry_run=dry_run), warnings

    def _namespace_warnings(
        self, resource: ResourceType, current: dict[str, Any], updated: dict[str, Any]
    ) -> list[str]:
        """A namespace update that makes its enforced Pod Security level stricter warns of the existing pods that
        violate it, as the real admission plugin does (they keep running)."""
        if resource.name != "namespaces":
            return []
        old = podsecurity.level_version(current["metadata"].get("labels") or {}, "enforce")
        new = podsecurity.level_version(updated["metadata"].get("labels") or {}, "enforce")
        if not podsecurity.stricter(new, old):
            return []
        name = current["metadata"]["name"]
        pods, _ = self.store.list("pods", name)
        return podsecurity.namespace_warnings(name, new, pods)

    def _merge_update(
        self, resource: ResourceType, current: dict[str, Any], body: dict[str, Any], subresource: str
    ) -> dict[str, Any]:
        """The object to store for an update: server-set metadata kept, spec or status taken from the body."""
        if subresource not in ("", "status"):
            raise ApiError.method_not_allowed(f"update of {resource.name}/{subresource}")
        if subresource == "status":
            updated = copy.deepcopy(current)
            updated["status"] = copy.deepcopy(body.get("status") or {})
            return updated
        updated = copy.deepcopy(body)
        updated["apiVersion"], updated["kind"] = resource.api_version, resource.kind
        metadata = updated.setdefault("metadata", {})
        for kept in (
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if kept in current["metadata"]:
                metadata[kept] = current["metadata"][kept]
            else:
                metadata.pop(kept, None)
        metadata.pop("resourceVersion", None)
        if "status" in current:
            updated["status"] = copy.deepcopy(current["status"])
        if resource.name == "jobs":
            validation.default_job(updated)
            causes = validation.validate_job_update(updated, current)
            if causes:
                raise ApiError.invalid("Job", "batch", current["metadata"]["name"], causes)
        elif resource.name == "pods":
            spec = updated.get("spec")
            if isinstance(spec, dict):
                validation.default_pod_spec(spec)
            if _pod_spec_without_images(spec) != _pod_spec_without_images(current.get("spec")):
                raise ApiError.invalid(
                    "Pod",
                    "",
                    current["metadata"]["name"],
                    [
                        {
                            "reason": "FieldValueForbidden",
                            "field": "spec",
                            "message": "Forbidden: pod updates may not change fields other than container images",
                        }
                    ],
                )
        elif resource.name == "secrets":
            _fold_string_data(updated)
        if updated.get("spec") != current.get("spec") and "generation" in metadata:
            metadata["generation"] = metadata["generation"] + 1
        return updated

    # MARK: - Delete

    def delete(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        options: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> tuple[int, dict[str, Any], list[str]]:
        """Deletes one object; returns the HTTP status (200 done, 202 pending), the body and warnings."""
        current = self.store.get(resource.name, namespace, name)
        if current is None:
            raise ApiError.not_found(resource.name, resource.group, name)
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != current["metadata"]["uid"]:
            raise ApiError.conflict(
                resource.name,
                resource.group,
                name,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {current['metadata']['uid']}",
            )
        if (
            preconditions.get("resourceVersion")
            and preconditions["resourceVersion"] != current["metadata"]["resourceVersion"]
        ):
            raise ApiError.conflict(
                resource.name, resource.group, name, "Precondition failed: the resourceVersion does not match"
            )
        if dry_run:
            return 200, current, []
        warnings: list[str] = []
        propagation = options.get("propagationPolicy")
        if propagation is None and options.get("orphanDependents") is not None:
            propagation = "Orphan" if options["orphanDependents"] else "Background"
        if propagation not in (None, "Orphan", "Background", "Foreground"):
            raise ApiError.bad_request(
                f'propagationPolicy "{propagation}" is not supported: use Orphan, Background or Foreground'
            )
        if resource.name == "jobs":
            if propagation is None:
                propagation = "Orphan"
                warnings.append(JOB_DELETE_WARNING)
            final, done = self.delete_job(namespace, name, propagation)
        elif resource.name == "pods":
            final, done = self.delete_pod(namespace, name, options.get("gracePeriodSeconds"))
        elif resource.name == "namespaces":
            final, done = self.delete_namespace(name), True
        else:
            final, done = self.store.delete(resource.name, namespace, name), True
        if final is None:
            raise ApiError.not_found(resource.name, resource.group, name)
        if done:
            return 200, deleted_status(resource, final), warnings
        return 202, final, warnings

    def delete_pod(self, namespace: str, name: str, grace: int | None = None) -> tuple[dict[str, Any] | None, bool]:
        """Graceful pod deletion. A pod that never started, has finished, or is deleted with grace 0 is removed at
        once; a running pod gets deletionTimestamp and is removed by the kubelet once its processes have exited.
        Returns the pod (final state or marked) and whether it is gone."""
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            return None, True
        if grace is None:
            grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
        started = bool(pod.get("spec", {}).get("nodeName"))
        if grace <= 0 or not started or pod.get("status", {}).get("phase") in TERMINAL_PHASES:
            return self.store.delete("pods", namespace, name), True
        now = self.clock()

        def mark(current: dict[str, Any]) -> Any:
            metadata = current["metadata"]
            existing = metadata.get("deletionGracePeriodSeconds")
            if existing is not None and existing <= grace:
                return False
            metadata["deletionTimestamp"] = rfc3339(now + grace)
            metadata["deletionGracePeriodSeconds"] = grace

        return self.store.mutate("pods", namespace, name, mark), False

    def delete_job(self, namespace: str, name: str, propagation: str) -> tuple[dict[str, Any] | None, bool]:
        job = self.store.get("jobs", namespace, name)
        if job is None:
            return None, True
        uid = job["metadata"]["uid"]
        pods, _ = self.store.list("pods", namespace, predicate=lambda pod: owned_by(pod, uid))
        if propagation == "Orphan":
            for pod in pods:
                self.store.mutate("pods", namespace, pod["metadata"]["name"], lambda current: _drop_owner(current, uid))
            return self.store.delete("jobs", namespace, name), True
        if propagation == "Background":
            final = self.store.delete("jobs", namespace, name)
            for pod in pods:
                self.delete_pod(namespace, pod["metadata"]["name"])
            return final, True

        def mark(current: dict[str, Any]) -> None:
            metadata = current["metadata"]
            metadata.setdefault("deletionTimestamp", rfc3339(self.clock()))
            metadata["deletionGracePeriodSeconds"] = 0
            finalizers = metadata.setdefault("finalizers", [])
            if "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")

        marked = self.store.mutate("jobs", namespace, name, mark)
        for pod in pods:
            self.delete_pod(namespace, pod["metadata"]["name"])
        if self.finish_foreground_deletion(namespace, name):
            return marked, True
        return marked, False

    def finish_foreground_deletion(self, namespace: str, name: str) -> bool:
        """Removes a Job marked for foreground deletion once none of its pods remain; True when removed."""
        job = self.store.get("jobs", namespace, name)
        if job is None:
            return True
        if "foregroundDeletion" not in (job["metadata"].get("finalizers") or []):
            return False
        uid = job["metadata"]["uid"]
        pods, _ = self.store.list("pods", namespace, predicate=lambda pod: owned_by(pod, uid))
        if pods:
            return False
        self.store.delete("jobs", namespace, name)
        return True

    def delete_namespace(self, name: str) -> dict[str, Any] | None:
        """Deletes everything in the namespace at once (pods without grace), then the namespace."""
        for resource in RESOURCES.values():
            if not resource.namespaced:
                continue
            items, _ = self.store.list(resource.name, name)
            for item in items:
                self.store.delete(resource.name, name, item["metadata"]["name"])
        return self.store.delete("namespaces", "", name)

    def delete_collection(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        options: dict[str, Any],
        dry_run: bool,
    ) -> tuple[dict[str, Any], list[str]]:
        items, rv = self.store.list(resource.name, namespace, labels, fields)
        warnings: list[str] = []
        for item in items:
            metadata = item["metadata"]
            try:
                _, _, item_warnings = self.delete(
                    resource, metadata.get("namespace", ""), metadata["name"], options, dry_run=dry_run
                )
                warnings.extend(w for w in item_warnings if w not in warnings)
            except ApiError as error:
                if error.code != 404:
                    raise
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": items,
        }, warnings

    # MARK: - Events

    def record_event(
        self,
        involved: dict[str, Any],
        kind: str,
        reason: str,
        message: str,
        component: str,
        *,
        field_path: str | None = None,
    ) -> str | None:
        """A v1 Event about `involved` (a container of it, with `field_path`), as `kubectl describe` lists them;
        returns the event's name."""
        metadata = involved["metadata"]
        now = rfc3339(self.clock())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{metadata['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": metadata.get("namespace", "default"),
            },
            "involvedObject": {
                "apiVersion": involved.get("apiVersion", ""),
                "kind": involved.get("kind", ""),
                "name": metadata["name"],
                "namespace": metadata.get("namespace", ""),
                "uid": metadata.get("uid", ""),
                "resourceVersion": metadata.get("resourceVersion", ""),
                **({"fieldPath": field_path} if field_path else {}),
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": "",
        }
        try:
            self.store.create("events", event)
        except ApiError:
            return None
        return event["metadata"]["name"]


def new_namespace(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def deleted_status(resource: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj["metadata"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": metadata["name"],
            "group": resource.group,
            "kind": resource.name,
            "uid": metadata.get("uid", ""),
        },
    }


def _drop_owner(pod: dict[str, Any], uid: str) -> None:
    references = [ref for ref in pod["metadata"].get("ownerReferences") or [] if ref.get("uid") != uid]
    if references:
        pod["metadata"]["ownerReferences"] = references
    else:
        pod["metadata"].pop("ownerReferences", None)


def _qos_class(spec: dict[str, Any]) -> str:
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    resources = [container.get("resources") or {} for container in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        r.get("limits", {}).get(name) and r.get("requests", {}).get(name, r["limits"][name]) == r["limits"][name]
        for r in resources
        for name in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def _fold_string_data(secret: dict[str, Any]) -> None:
    """Moves stringData into data (base64), as the API server does for Secrets."""
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _pod_spec_without_images(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    trimmed = copy.deepcopy(spec)
    for group in ("initContainers", "containers"):
        for container in trimmed.get(group) or []:
            container.pop("image", None)
    trimmed.pop("activeDeadlineSeconds", None)
    trimmed.pop("tolerations", None)
    return trimmed
