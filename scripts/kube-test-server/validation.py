"""Defaults and validation for the objects clients create: what the API server fills in and what it rejects with
422 Invalid. The rules follow pkg/apis/batch/validation and pkg/apis/batch/v1/defaults (as summarised in
shared/reference/kubernetes-jobs.md); messages use the real shape "<field>: <Type>: <value>: <detail>".
"""

from __future__ import annotations

import re
from typing import Any

from errors import format_value
from indexes import parse_indexes
from labels import LabelSelector, SelectorError, valid_label_key, valid_label_value

MAX_INT32 = 2**31 - 1
INDEXED_LIMIT = 100_000
PER_INDEX_LARGE_LIMIT = 10_000
MAX_POD_FAILURE_RULES = 20
MAX_SUCCESS_RULES = 20
JOB_CONTROLLER = "kubernetes.io/job-controller"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class Causes:
    """Validation errors collected as metav1.StatusCause dicts."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def _add(self, reason: str, field: str, message: str) -> None:
        self.items.append({"reason": reason, "message": message, "field": field})

    def required(self, field: str, detail: str = "") -> None:
        self._add("FieldValueRequired", field, "Required value" + (f": {detail}" if detail else ""))

    def invalid(self, field: str, value: Any, detail: str) -> None:
        self._add("FieldValueInvalid", field, f"Invalid value: {format_value(value)}: {detail}")

    def invalid_shape(self, field: str, detail: str) -> None:
        """An invalid combination of fields, where no single value is to blame."""
        self._add("FieldValueInvalid", field, f"Invalid value: {detail}")

    def not_supported(self, field: str, value: Any, supported: list[str]) -> None:
        listed = ", ".join(f'"{item}"' for item in supported)
        self._add(
            "FieldValueNotSupported", field, f"Unsupported value: {format_value(value)}: supported values: {listed}"
        )

    def forbidden(self, field: str, detail: str) -> None:
        self._add("FieldValueForbidden", field, f"Forbidden: {detail}")

    def duplicate(self, field: str, value: Any) -> None:
        self._add("FieldValueDuplicate", field, f"Duplicate value: {format_value(value)}")

    def too_many(self, field: str, actual: int, limit: int) -> None:
        self._add("FieldValueTooMany", field, f"Too many: {actual}: must have at most {limit} items")


def _non_negative(causes: Causes, field: str, value: Any) -> None:
    if value is not None and value < 0:
        causes.invalid(field, value, "must be greater than or equal to 0")


def dns_label_problem(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS_LABEL.match(value):
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
            "and end with an alphanumeric character"
        )
    return None


def dns_subdomain_problem(value: str) -> str | None:
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not _DNS_SUBDOMAIN.match(value):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
            "start and end with an alphanumeric character"
        )
    return None


# MARK: - Object metadata


def validate_metadata(causes: Causes, metadata: dict[str, Any], *, name_is_label: bool = False) -> None:
    name = metadata.get("name")
    if not name and not metadata.get("generateName"):
        causes.required("metadata.name", "name or generateName is required")
    elif name:
        problem = dns_label_problem(name) if name_is_label else dns_subdomain_problem(name)
        if problem:
            causes.invalid("metadata.name", name, problem)
    for key, value in (metadata.get("labels") or {}).items():
        if not valid_label_key(key):
            causes.invalid("metadata.labels", key, "name part must consist of alphanumeric characters, '-', '_' or '.'")
        elif not isinstance(value, str) or not valid_label_value(value):
            causes.invalid(
                "metadata.labels",
                value,
                "a valid label value must be 63 characters or less, alphanumeric, '-', '_' or '.'",
            )
    for key in metadata.get("annotations") or {}:
        if not valid_label_key(key):
            causes.invalid(
                "metadata.annotations", key, "name part must consist of alphanumeric characters, '-', '_' or '.'"
            )


# MARK: - Pods


def default_pod_spec(spec: dict[str, Any]) -> None:
    """The defaults the API server writes into a pod spec (the parts clients can see and rely on)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            image = container.get("image", "")
            if "imagePullPolicy" not in container:
                container["imagePullPolicy"] = (
                    "Always" if image.endswith(":latest") or ":" not in image.rpartition("/")[2] else "IfNotPresent"
                )
            for variable in container.get("env") or []:
                field_ref = (variable.get("valueFrom") or {}).get("fieldRef")
                if field_ref is not None:
                    field_ref.setdefault("apiVersion", "v1")


def validate_pod_spec(causes: Causes, spec: dict[str, Any] | None, path: str) -> None:
    if not isinstance(spec, dict):
        causes.required(path)
        return
    containers = spec.get("containers") or []
    if not containers:
        causes.required(f"{path}.containers")
    names: set[str] = set()
    volumes = set()
    for index, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name", "")
        if not name:
            causes.required(f"{path}.volumes[{index}].name")
        elif name in volumes:
            causes.duplicate(f"{path}.volumes[{index}].name", name)
        volumes.add(name)
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            where = f"{path}.{group}[{index}]"
            name = container.get("name", "")
            if not name:
                causes.required(f"{where}.name")
            elif dns_label_problem(name):
                causes.invalid(f"{where}.name", name, dns_label_problem(name))
            elif name in names:
                causes.duplicate(f"{where}.name", name)
            names.add(name)
            if not container.get("image"):
                causes.required(f"{where}.image")
            for env_index, variable in enumerate(container.get("env") or []):
                env_name = variable.get("name", "")
                if not env_name:
                    causes.required(f"{where}.env[{env_index}].name")
                elif not _ENV_NAME.match(env_name):
                    causes.invalid(
                        f"{where}.env[{env_index}].name",
                        env_name,
                        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
                        "or '.', and must not start with a digit",
                    )
                source = variable.get("valueFrom")
                if source is not None:
                    if "value" in variable and variable["value"]:
                        causes.invalid(
                            f"{where}.env[{env_index}].valueFrom", "", "may not be specified when `value` is not empty"
                        )
                    if len([key for key, value in source.items() if value is not None]) != 1:
                        causes.invalid(
                            f"{where}.env[{env_index}].valueFrom",
                            "",
                            "may not have more than one field specified at a time",
                        )
            for mount_index, mount in enumerate(container.get("volumeMounts") or []):
                if mount.get("name") not in volumes:
                    causes.not_supported(
                        f"{where}.volumeMounts[{mount_index}].name", mount.get("name", ""), sorted(volumes)
                    )
                if not str(mount.get("mountPath", "")).startswith("/"):
                    causes.invalid(
                        f"{where}.volumeMounts[{mount_index}].mountPath",
                        mount.get("mountPath", ""),
                        "must be an absolute path",
                    )
    policy = spec.get("restartPolicy")
    if policy not in ("Always", "OnFailure", "Never"):
        causes.not_supported(f"{path}.restartPolicy", policy or "", ["Always", "OnFailure", "Never"])
    _non_negative(causes, f"{path}.terminationGracePeriodSeconds", spec.get("terminationGracePeriodSeconds"))
    if spec.get("activeDeadlineSeconds") is not None and spec["activeDeadlineSeconds"] <= 0:
        causes.invalid(
            f"{path}.activeDeadlineSeconds",
            spec["activeDeadlineSeconds"],
            "must be between 1 and 2147483647, inclusive",
        )


def validate_pod(pod: dict[str, Any]) -> list[dict[str, str]]:
    causes = Causes()
    validate_metadata(causes, pod.get("metadata", {}))
    validate_pod_spec(causes, pod.get("spec"), "spec")
    return causes.items


# MARK: - Jobs


def default_job(job: dict[str, Any]) -> None:
    """The batch/v1 defaults, plus the selector and labels the server generates for a Job."""
    spec = job.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    if spec.get("completionMode") is None:
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("manualSelector") is None:
        spec.pop("manualSelector", None)
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in rule.get("onPodConditions") or []:
            if not pattern.get("status"):
                pattern["status"] = "True"
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    pod_spec = template.get("spec")
    if isinstance(pod_spec, dict):
        default_pod_spec(pod_spec)


def generate_selector(job: dict[str, Any]) -> None:
    """Sets spec.selector and the template labels from the Job's name and uid, unless manualSelector is true."""
    spec = job["spec"]
    if spec.get("manualSelector"):
        return
    metadata = job["metadata"]
    uid = metadata["uid"]
    name = metadata["name"]
    labels = spec["template"].setdefault("metadata", {}).setdefault("labels", {})
    labels.update(
        {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
    )
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def validate_job(job: dict[str, Any], *, creating: bool = True) -> list[dict[str, str]]:
    """The causes of a 422 for a Job about to be created (or updated), defaults applied; empty when it is valid."""
    causes = Causes()
    metadata = job.get("metadata", {})
    validate_metadata(causes, metadata, name_is_label=True)
    spec = job.get("spec") or {}
    name = metadata.get("name") or metadata.get("generateName") or ""

    for field in (
        "parallelism",
        "completions",
        "backoffLimit",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "ttlSecondsAfterFinished",
    ):
        _non_negative(causes, f"spec.{field}", spec.get(field))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and deadline <= 0:
        causes.invalid("spec.activeDeadlineSeconds", deadline, "must be greater than or equal to 1")

    if creating and spec.get("selector") is not None and not spec.get("manualSelector"):
        causes.invalid("spec.selector", spec["selector"], "`selector` will be auto-generated")
    if spec.get("manualSelector"):
        if spec.get("selector") is None:
            causes.required("spec.selector")
        else:
            try:
                selector = LabelSelector.from_object(spec["selector"])
                labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
                if not selector.matches(labels):
                    causes.invalid(
                        "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
                    )
            except SelectorError as error:
                causes.invalid("spec.selector", spec["selector"], str(error))

    mode = spec.get("completionMode")
    indexed = mode == "Indexed"
    if mode not in ("NonIndexed", "Indexed"):
        causes.not_supported("spec.completionMode", mode, ["NonIndexed", "Indexed"])
    completions = spec.get("completions")
    parallelism = spec.get("parallelism")
    per_index = spec.get("backoffLimitPerIndex")
    max_failed = spec.get("maxFailedIndexes")

    if indexed:
        if completions is None:
            causes.required("spec.completions", "when completion mode is Indexed")
        if parallelism is not None and parallelism > INDEXED_LIMIT:
            causes.invalid(
                "spec.parallelism",
                parallelism,
                f"must be less than or equal to {INDEXED_LIMIT} when completion mode is Indexed",
            )
        if completions is not None and completions > INDEXED_LIMIT:
            if per_index is None:
                causes.invalid(
                    "spec.completions",
                    completions,
                    f"must be less than or equal to {INDEXED_LIMIT} when completion mode is Indexed",
                )
            else:
                if max_failed is None:
                    causes.required(
                        "spec.maxFailedIndexes", f"must be specified when completions is above {INDEXED_LIMIT}"
                    )
                if parallelism is not None and parallelism > PER_INDEX_LARGE_LIMIT:
                    causes.invalid(
                        "spec.parallelism",
                        parallelism,
                        f"must be less than or equal to {PER_INDEX_LARGE_LIMIT} when completions are above "
                        f"{INDEXED_LIMIT} and used with backoff limit per index",
                    )
                if max_failed is not None and max_failed > PER_INDEX_LARGE_LIMIT:
                    causes.invalid(
                        "spec.maxFailedIndexes",
                        max_failed,
                        f"must be less than or equal to {PER_INDEX_LARGE_LIMIT} when completions are above "
                        f"{INDEXED_LIMIT}",
                    )
        if completions and name and metadata.get("name"):
            hostname = f"{name}-{completions - 1}"
            if dns_label_problem(hostname):
                causes.invalid(
                    "metadata.name", name, f"will not be able to create pod with invalid DNS label: {hostname}"
                )
    else:
        if per_index is not None:
            causes.forbidden("spec.backoffLimitPerIndex", "requires indexed completion mode")
        if max_failed is not None:
            causes.forbidden("spec.maxFailedIndexes", "requires indexed completion mode")
    if max_failed is not None:
        if per_index is None:
            causes.required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified")
        elif completions is not None and max_failed > completions:
            causes.invalid("spec.maxFailedIndexes", max_failed, "must be less than or equal to completions")
        elif max_failed > INDEXED_LIMIT:
            causes.invalid("spec.maxFailedIndexes", max_failed, f"must be less than or equal to {INDEXED_LIMIT}")

    replacement = spec.get("podReplacementPolicy")
    if replacement not in ("TerminatingOrFailed", "Failed"):
        causes.not_supported("spec.podReplacementPolicy", replacement, ["Failed", "TerminatingOrFailed"])
    elif spec.get("podFailurePolicy") and replacement != "Failed":
        causes.not_supported("spec.podReplacementPolicy", replacement, ["Failed"])

    template = spec.get("template")
    pod_spec = (template or {}).get("spec") if isinstance(template, dict) else None
    if not isinstance(pod_spec, dict):
        causes.required("spec.template.spec")
    else:
        validate_pod_spec(causes, pod_spec, "spec.template.spec")
        restart = pod_spec.get("restartPolicy")
        if spec.get("podFailurePolicy") is not None:
            if restart != "Never":
                causes.not_supported("spec.template.spec.restartPolicy", restart, ["Never"])
        elif restart not in ("OnFailure", "Never"):
            # validate_pod_spec already rejected values outside the pod's own set.
            if restart in ("Always",):
                causes.not_supported("spec.template.spec.restartPolicy", restart, ["OnFailure", "Never"])
        _validate_pod_failure_policy(causes, spec, pod_spec)
    _validate_success_policy(causes, spec, indexed)
    managed_by = spec.get("managedBy")
    if managed_by is not None:
        if not managed_by:
            causes.invalid("spec.managedBy", managed_by, "must not be empty")
        elif len(managed_by) > 63:
            causes.invalid("spec.managedBy", managed_by, "must be no more than 63 characters")
    return causes.items


def _validate_pod_failure_policy(causes: Causes, spec: dict[str, Any], pod_spec: dict[str, Any]) -> None:
    policy = spec.get("podFailurePolicy")
    if policy is None:
        return
    rules = policy.get("rules")
    if rules is None:
        causes.required("spec.podFailurePolicy.rules")
        return
    if len(rules) > MAX_POD_FAILURE_RULES:
        causes.too_many("spec.podFailurePolicy.rules", len(rules), MAX_POD_FAILURE_RULES)
    container_names = {c.get("name") for group in ("initContainers", "containers") for c in pod_spec.get(group) or []}
    actions = ["Count", "FailIndex", "FailJob", "Ignore"]
    for index, rule in enumerate(rules):
        where = f"spec.podFailurePolicy.rules[{index}]"
        action = rule.get("action")
        if not action:
            causes.required(f"{where}.action")
        elif action not in actions:
            causes.not_supported(f"{where}.action", action, actions)
        elif action == "FailIndex" and spec.get("backoffLimitPerIndex") is None:
            causes.forbidden(f"{where}.action", "requires the backoffLimitPerIndex to be set")
        on_codes = rule.get("onExitCodes")
        on_conditions = rule.get("onPodConditions")
        if on_codes is not None and on_conditions:
            causes.invalid_shape(where, "specifying both OnExitCodes and OnPodConditions is not supported")
        elif on_codes is None and not on_conditions:
            causes.invalid_shape(where, "specifying one of OnExitCodes and OnPodConditions is required")
        if on_codes is not None:
            codes_where = f"{where}.onExitCodes"
            container = on_codes.get("containerName")
            if container is not None and container not in container_names:
                causes.invalid(
                    f"{codes_where}.containerName",
                    container,
                    "must be one of the container or initContainer names in the pod template",
                )
            operator = on_codes.get("operator")
            if operator not in ("In", "NotIn"):
                causes.not_supported(f"{codes_where}.operator", operator or "", ["In", "NotIn"])
            values = on_codes.get("values") or []
            if not values:
                causes.invalid(f"{codes_where}.values", values, "at least one value is required")
            elif len(values) > 255:
                causes.too_many(f"{codes_where}.values", len(values), 255)
            seen: set[int] = set()
            previous = None
            for value_index, value in enumerate(values):
                value_where = f"{codes_where}.values[{value_index}]"
                if value in seen:
                    causes.duplicate(value_where, value)
                if operator == "In" and value == 0:
                    causes.invalid(value_where, value, "must not be 0 for the In operator")
                if previous is not None and value < previous:
                    causes.invalid(value_where, value, "must be ordered")
                seen.add(value)
                previous = value
        for pattern_index, pattern in enumerate(on_conditions or []):
            pattern_where = f"{where}.onPodConditions[{pattern_index}]"
            kind = pattern.get("type")
            if not kind:
                causes.required(f"{pattern_where}.type")
            elif not valid_label_key(kind):
                causes.invalid(f"{pattern_where}.type", kind, "must be a qualified name")
            status = pattern.get("status")
            if status not in ("True", "False", "Unknown"):
                causes.not_supported(f"{pattern_where}.status", status or "", ["True", "False", "Unknown"])


def _validate_success_policy(causes: Causes, spec: dict[str, Any], indexed: bool) -> None:
    policy = spec.get("successPolicy")
    if policy is None:
        return
    if not indexed:
        causes.invalid("spec.successPolicy", policy, "requires indexed completion mode")
        return
    rules = policy.get("rules") or []
    if not rules:
        causes.required(
            "spec.successPolicy.rules", "at least one rules must be specified when the successPolicy is specified"
        )
    if len(rules) > MAX_SUCCESS_RULES:
        causes.too_many("spec.successPolicy.rules", len(rules), MAX_SUCCESS_RULES)
    completions = spec.get("completions") or 0
    for index, rule in enumerate(rules):
        where = f"spec.successPolicy.rules[{index}]"
        succeeded_indexes = rule.get("succeededIndexes")
        count = rule.get("succeededCount")
        if succeeded_indexes is None and count is None:
            causes.required(where, "at least one of succeededCount or succeededIndexes must be specified")
        listed = None
        if succeeded_indexes is not None:
            try:
                listed = parse_indexes(succeeded_indexes, completions)
            except ValueError as error:
                causes.invalid(
                    f"{where}.succeededIndexes", succeeded_indexes, f"error parsing succeededIndexes: {error}"
                )
        if count is not None:
            if count < 0:
                causes.invalid(f"{where}.succeededCount", count, "must be greater than or equal to 0")
            elif count > completions:
                causes.invalid(
                    f"{where}.succeededCount",
                    count,
                    f"must be less than or equal to {completions} (the number of specified completions)",
                )
            elif listed is not None and count > len(listed):
                causes.invalid(
                    f"{where}.succeededCount",
                    count,
                    f"must be less than or equal to {len(listed)} "
                    "(the number of indexes in the specified succeededIndexes field)",
                )


# Fields of a Job's spec that cannot change after creation.
IMMUTABLE_JOB_FIELDS = (
    "selector",
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "managedBy",
    "successPolicy",
    "manualSelector",
)


def validate_job_update(job: dict[str, Any], old: dict[str, Any]) -> list[dict[str, str]]:
    causes = Causes()
    causes.items.extend(validate_job(job, creating=False))
    spec, old_spec = job.get("spec", {}), old.get("spec", {})
    for field in IMMUTABLE_JOB_FIELDS:
        if spec.get(field) != old_spec.get(field):
            causes.invalid(f"spec.{field}", spec.get(field), "field is immutable")
    if spec.get("template") != old_spec.get("template"):
        never_started = old_spec.get("suspend") and not old.get("status", {}).get("startTime")
        if not never_started:
            causes.invalid("spec.template", spec.get("template"), "field is immutable")
    if spec.get("completions") != old_spec.get("completions"):
        elastic = spec.get("completionMode") == "Indexed" and spec.get("completions") == spec.get("parallelism")
        if not elastic:
            causes.invalid("spec.completions", spec.get("completions"), "field is immutable")
    return causes.items
