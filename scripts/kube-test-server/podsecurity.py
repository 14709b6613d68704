"""Pod Security admission, as the API server's built-in PodSecurity plugin enforces the Pod Security Standards.

A namespace chooses a level with its labels (`pod-security.kubernetes.io/enforce: restricted`, `baseline` or
`privileged`, the default; a value that does not parse counts as `restricted`, as in the real plugin). A pod that
violates the enforced level is refused with 403 Forbidden (`pods "NAME" is forbidden: violates PodSecurity
"restricted:latest": ...`); the `warn` level adds a Warning header to a pod or Job that would violate it. The
checks, their order and their messages are those of k8s.io/pod-security-admission/policy at the latest policy
version this server's Kubernetes release knows (1.32): the `-version` labels only name the version in messages.
AppArmor is checked in its annotations only; audit mode is not modelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from errors import ApiError

LABEL_PREFIX = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")

Check = Callable[[dict[str, Any], dict[str, Any]], "tuple[str, str] | None"]


@dataclass(frozen=True)
class LevelVersion:
    level: str
    version: str = "latest"

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


def level_version(labels: dict[str, str], mode: str) -> LevelVersion:
    """The level and version a namespace's labels set for `mode` (`enforce`, `warn`): privileged by default,
    restricted when the level does not parse, and the version `latest` unless it is one (`v1.29`)."""
    level = labels.get(LABEL_PREFIX + mode)
    if level is None:
        level = "privileged"
    elif level not in LEVELS:
        level = "restricted" if mode == "enforce" else "privileged"
    version = labels.get(f"{LABEL_PREFIX}{mode}-version", "latest")
    number = version[3:] if version.startswith("v1.") else ""
    if version != "latest" and not number.isdigit():
        version = "latest"
    return LevelVersion(level, version)


def violations(level: str, metadata: dict[str, Any], spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The (reason, detail) of each check of `level` the pod fails, in the order the real plugin reports them."""
    if level == "privileged":
        return []
    checks = BASELINE + (BASELINE_OVERLAPPING if level == "baseline" else RESTRICTED)
    return [found for check in checks if (found := check(metadata, spec)) is not None]


def forbidden_detail(found: list[tuple[str, str]]) -> str:
    """`reason (detail), reason (detail)`: what follows `violates PodSecurity "LEVEL:VERSION": `."""
    return ", ".join(f"{reason} ({detail})" if detail else reason for reason, detail in found)


def check_pod(labels: dict[str, str], pod: dict[str, Any]) -> list[str]:
    """Admits a pod into a namespace with `labels`: raises 403 Forbidden when it violates the enforced level;
    returns the warnings of the warn level."""
    metadata, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    enforce = level_version(labels, "enforce")
    found = violations(enforce.level, metadata, spec)
    if found:
        name = metadata.get("name") or metadata.get("generateName") or "Unknown"
        error = ApiError.forbidden(
            f'pods "{name}" is forbidden: violates PodSecurity "{enforce}": {forbidden_detail(found)}'
        )
        error.details = {"name": name, "kind": "pods"}
        raise error
    return warnings(labels, metadata, spec)


def warnings(labels: dict[str, str], metadata: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """What the warn level says about a pod, or a pod template (of a Job)."""
    warn = level_version(labels, "warn")
    found = violations(warn.level, metadata, spec)
    return [f'would violate PodSecurity "{warn}": {forbidden_detail(found)}'] if found else []


def namespace_warnings(name: str, enforce: LevelVersion, pods: list[dict[str, Any]]) -> list[str]:
    """The warnings of a namespace update that makes `enforce` stricter: the existing pods that violate it, grouped
    by their reasons (`POD (and N other pods): reason, reason`)."""
    grouped: dict[str, list[str]] = {}
    for pod in pods:
        found = violations(enforce.level, pod.get("metadata") or {}, pod.get("spec") or {})
        if found:
            grouped.setdefault(", ".join(reason for reason, _ in found), []).append(pod["metadata"]["name"])
    if not grouped:
        return []
    lines = []
    for reasons, names in grouped.items():
        others = len(names) - 1
        suffix = "" if others == 0 else " (and 1 other pod)" if others == 1 else f" (and {others} other pods)"
        lines.append(f"{min(names)}{suffix}: {reasons}")
    header = f'existing pods in namespace "{name}" violate the new PodSecurity enforce level "{enforce}"'
    return [header] + sorted(lines)


def stricter(new: LevelVersion, old: LevelVersion) -> bool:
    """Whether a namespace's new enforce level calls for checking its existing pods, as the real plugin decides."""
    if new == old or new.level == "privileged":
        return False
    return new.version != old.version or LEVELS.index(new.level) > LEVELS.index(old.level)


# MARK: - Helpers


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Init containers, containers, then ephemeral containers, as the plugin visits them."""
    for group in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(group) or []


def _context(container: dict[str, Any]) -> dict[str, Any]:
    return container.get("securityContext") or {}


def _pod_context(spec: dict[str, Any]) -> dict[str, Any]:
    return spec.get("securityContext") or {}


def _quote(items: list[str]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def _containers_phrase(names: list[str]) -> str:
    """`container "a"` or `containers "a", "b"`."""
    return f"{'container' if len(names) == 1 else 'containers'} {_quote(names)}"


def _setters(pod_bad: bool, containers: list[str]) -> str:
    """`pod`, `container "a"`, or `pod and containers "a", "b"`."""
    parts = (["pod"] if pod_bad else []) + ([_containers_phrase(containers)] if containers else [])
    return " and ".join(parts)


def _windows(spec: dict[str, Any]) -> bool:
    return (spec.get("os") or {}).get("name") == "windows"


# MARK: - Baseline


def _app_armor(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    prefix = "container.apparmor.security.beta.kubernetes.io/"
    bad = sorted(
        f'{key}="{value}"'
        for key, value in (metadata.get("annotations") or {}).items()
        if key.startswith(prefix) and value and value != "runtime/default" and not value.startswith("localhost/")
    )
    if not bad:
        return None
    return ("forbidden AppArmor profile" if len(bad) == 1 else "forbidden AppArmor profiles"), ", ".join(bad)


def _host_namespaces(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    shared = sorted(name for name in ("hostNetwork", "hostPID", "hostIPC") if spec.get(name))
    return ("host namespaces", ", ".join(shared)) if shared else None


def _host_ports(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    bad: list[str] = []
    ports: set[int] = set()
    for container in _containers(spec):
        used = [port["hostPort"] for port in container.get("ports") or [] if port.get("hostPort")]
        if used:
            bad.append(container["name"])
            ports.update(used)
    if not bad:
        return None
    listed = ", ".join(sorted(str(port) for port in ports))
    return "hostPort", (
        f"{_containers_phrase(bad)} {'uses' if len(bad) == 1 else 'use'} "
        f"{'hostPort' if len(ports) == 1 else 'hostPorts'} {listed}"
    )


def _privileged(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    bad = [container["name"] for container in _containers(spec) if _context(container).get("privileged") is True]
    if not bad:
        return None
    return "privileged", f"{_containers_phrase(bad)} must not set securityContext.privileged=true"


def _proc_mount(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    bad: list[str] = []
    types: set[str] = set()
    for container in _containers(spec):
        value = _context(container).get("procMount")
        if value is not None and value != "Default":
            bad.append(container["name"])
            types.add(value)
    if not bad:
        return None
    return "procMount", (
        f"{_containers_phrase(bad)} must not set securityContext.procMount to {_quote(sorted(types))}"
    )


def _se_linux_options(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    bad_types: set[str] = set()
    set_user = set_role = False

    def valid(options: dict[str, Any]) -> bool:
        nonlocal set_user, set_role
        ok = True
        if options.get("type", "") not in ("", "container_t", "container_init_t", "container_kvm_t"):
            ok = False
            bad_types.add(options["type"])
        if options.get("user"):
            ok, set_user = False, True
        if options.get("role"):
            ok, set_role = False, True
        return ok

    pod_options = _pod_context(spec).get("seLinuxOptions")
    pod_bad = pod_options is not None and not valid(pod_options)
    bad = [
        container["name"]
        for container in _containers(spec)
        if _context(container).get("seLinuxOptions") is not None and not valid(_context(container)["seLinuxOptions"])
    ]
    if not pod_bad and not bad:
        return None
    data: list[str] = []
    # As in the plugin, user and role are named only alongside a forbidden type.
    if bad_types:
        data.append(f"{'type' if len(bad_types) == 1 else 'types'} {_quote(sorted(bad_types))}")
        if set_user:
            data.append("user may not be set")
        if set_role:
            data.append("role may not be set")
    return "seLinuxOptions", f"{_setters(pod_bad, bad)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}"


SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
}


def _sysctls(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    names = [item.get("name", "") for item in _pod_context(spec).get("sysctls") or []]
    bad = [name for name in names if name not in SAFE_SYSCTLS]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def _windows_host_process(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    def host_process(context: dict[str, Any]) -> bool:
        return (context.get("windowsOptions") or {}).get("hostProcess") is True

    pod_bad = host_process(_pod_context(spec))
    bad = [container["name"] for container in _containers(spec) if host_process(_context(container))]
    if not pod_bad and not bad:
        return None
    return "hostProcess", f"{_setters(pod_bad, bad)} must not set securityContext.windowsOptions.hostProcess=true"


BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}


def _capabilities_baseline(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    bad: list[str] = []
    added: set[str] = set()
    for container in _containers(spec):
        added_here = (_context(container).get("capabilities") or {}).get("add") or []
        extra = [c for c in added_here if c not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(container["name"])
            added.update(extra)
    if not bad:
        return None
    return "non-default capabilities", (
        f"{_containers_phrase(bad)} must not include {_quote(sorted(added))} in securityContext.capabilities.add"
    )


def _host_path_volumes(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    names = [volume["name"] for volume in spec.get("volumes") or [] if volume.get("hostPath") is not None]
    if not names:
        return None
    return "hostPath volumes", f"{'volume' if len(names) == 1 else 'volumes'} {_quote(names)}"


def _seccomp_setters(spec: dict[str, Any]) -> tuple[bool, bool, list[str], list[str], set[str]]:
    """Whether the pod sets a profile, whether it sets a bad one, the containers that set a bad one, those that set
    none, and the bad types."""
    valid = ("RuntimeDefault", "Localhost")
    bad_values: set[str] = set()
    pod_profile = _pod_context(spec).get("seccompProfile")
    pod_set = pod_profile is not None and pod_profile.get("type") in valid
    pod_bad = pod_profile is not None and not pod_set
    if pod_bad:
        bad_values.add(pod_profile.get("type", ""))
    explicit: list[str] = []
    implicit: list[str] = []
    for container in _containers(spec):
        profile = _context(container).get("seccompProfile")
        if profile is not None:
            if profile.get("type") not in valid:
                explicit.append(container["name"])
                bad_values.add(profile.get("type", ""))
        elif not pod_set:
            implicit.append(container["name"])
    return pod_set, pod_bad, explicit, implicit, bad_values


def _seccomp_baseline(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    _, pod_bad, explicit, _, bad_values = _seccomp_setters(spec)
    if not pod_bad and not explicit:
        return None
    return "seccompProfile", (
        f"{_setters(pod_bad, explicit)} must not set securityContext.seccompProfile.type to "
        f"{_quote(sorted(bad_values))}"
    )


BASELINE: list[Check] = [
    _app_armor,
    _host_namespaces,
    _host_ports,
    _privileged,
    _proc_mount,
    _se_linux_options,
    _sysctls,
    _windows_host_process,
]
# Baseline checks that a restricted check replaces: evaluated for baseline only.
BASELINE_OVERLAPPING: list[Check] = [_capabilities_baseline, _host_path_volumes, _seccomp_baseline]

# MARK: - Restricted


def _allow_privilege_escalation(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    if _windows(spec):
        return None
    bad = [c["name"] for c in _containers(spec) if _context(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return "allowPrivilegeEscalation != false", (
        f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false"
    )


def _capabilities_restricted(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    if _windows(spec):
        return None
    missing_drop: list[str] = []
    adding: list[str] = []
    forbidden: set[str] = set()
    for container in _containers(spec):
        capabilities = _context(container).get("capabilities")
        if capabilities is None:
            missing_drop.append(container["name"])
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            missing_drop.append(container["name"])
        extra = [c for c in capabilities.get("add") or [] if c != "NET_BIND_SERVICE"]
        if extra:
            adding.append(container["name"])
            forbidden.update(extra)
    details = []
    if missing_drop:
        details.append(f'{_containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(
            f"{_containers_phrase(adding)} must not include {_quote(sorted(forbidden))} in "
            "securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


ALLOWED_VOLUME_SOURCES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)


def _restricted_volumes(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    names = sorted(
        {
            volume["name"]
            for volume in spec.get("volumes") or []
            if not any(volume.get(source) is not None for source in ALLOWED_VOLUME_SOURCES)
        }
    )
    if not names:
        return None
    # Go's %q of a []string: ["a" "b"].
    quoted = " ".join(f'"{name}"' for name in names)
    return "restricted volume types", f"volumes [{quoted}] have restricted types"


def _run_as_non_root(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    pod_value = _pod_context(spec).get("runAsNonRoot")
    pod_bad = pod_value is False
    explicit: list[str] = []
    implicit: list[str] = []
    for container in _containers(spec):
        value = _context(container).get("runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(container["name"])
        elif pod_value is not True:
            implicit.append(container["name"])
    if pod_bad or explicit:
        return "runAsNonRoot != true", f"{_setters(pod_bad, explicit)} must not set securityContext.runAsNonRoot=false"
    if implicit:
        return "runAsNonRoot != true", (
            f"pod or {_containers_phrase(implicit)} must set securityContext.runAsNonRoot=true"
        )
    return None


def _run_as_user(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    pod_bad = _pod_context(spec).get("runAsUser") == 0
    bad = [container["name"] for container in _containers(spec) if _context(container).get("runAsUser") == 0]
    if not pod_bad and not bad:
        return None
    return "runAsUser=0", f"{_setters(pod_bad, bad)} must not set runAsUser=0"


def _seccomp_restricted(metadata: dict[str, Any], spec: dict[str, Any]) -> tuple[str, str] | None:
    if _windows(spec):
        return None
    _, pod_bad, explicit, implicit, bad_values = _seccomp_setters(spec)
    if pod_bad or explicit:
        return "seccompProfile", (
            f"{_setters(pod_bad, explicit)} must not set securityContext.seccompProfile.type to "
            f"{_quote(sorted(bad_values))}"
        )
    if implicit:
        return "seccompProfile", (
            f'pod or {_containers_phrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" '
            'or "Localhost"'
        )
    return None


RESTRICTED: list[Check] = [
    _allow_privilege_escalation,
    _capabilities_restricted,
    _restricted_volumes,
    _run_as_non_root,
    _run_as_user,
    _seccomp_restricted,
]
