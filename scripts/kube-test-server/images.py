"""Image references and pulls, as the kubelet and containerd report them.

The test kubelet runs no images, but it checks each container's image as a real kubelet does before starting it:
a reference that does not parse gives `InvalidImageName`; an image whose registry host ends in `.invalid` (a name
reserved never to resolve, RFC 6761) cannot be pulled and gives `ErrImagePull`, then `ImagePullBackOff` between
tries. Every other image is taken as present on the node.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

# The distribution/reference grammar, as containerd and the kubelet parse a reference.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
UNPULLABLE_SUFFIX = ".invalid"


def invalid_reason(image: str) -> str | None:
    """The kubelet's message for an image reference that does not parse (`InvalidImageName`); None if it parses."""
    if _REFERENCE.match(image) and len(image) <= 255:
        return None
    return (
        f'Failed to apply default image tag "{image}": couldn\'t parse image reference "{image}": '
        "invalid reference format"
    )


def normalized(image: str) -> str:
    """The fully qualified reference containerd pulls: docker.io/library/NAME:latest for a bare NAME."""
    match = _REFERENCE.match(image)
    if match is None:
        return image
    domain = match.group("domain")
    path = match.group("path")
    if domain is None or ("." not in domain and ":" not in domain and domain != "localhost"):
        if domain is not None:
            path = f"{domain}/{path}"
        domain = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    reference = f"{domain}/{path}"
    if match.group("tag"):
        reference += f":{match.group('tag')}"
    elif not match.group("digest"):
        reference += ":latest"
    if match.group("digest"):
        reference += f"@{match.group('digest')}"
    return reference


def pull_error(image: str) -> str | None:
    """containerd's error for an image that cannot be pulled (`ErrImagePull`); None when the pull succeeds."""
    match = _REFERENCE.match(image)
    domain = (match.group("domain") or "") if match else ""
    host = domain.rsplit(":", 1)[0] if domain and not domain.startswith("[") else domain
    if not host.endswith(UNPULLABLE_SUFFIX):
        return None
    full = normalized(image)
    path = match.group("path") if match else ""
    tag = (match.group("tag") or "latest") if match else "latest"
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{full}": failed to resolve reference '
        f'"{full}": failed to do request: Head "https://{domain}/v2/{path}/manifests/{tag}": dial tcp: lookup '
        f"{host} on 10.96.0.10:53: no such host"
    )


def ensure_image(
    image: str,
    waiting: Callable[[str, str], None],
    event: Callable[[str, str, str], None],
    halt: threading.Event,
    backoff: float,
) -> bool:
    """Pulls a container's image as the kubelet does: True once it is present; False if `halt` is set first.

    While it cannot be had, `waiting(reason, message)` sets the container's waiting state and `event(type, reason,
    message)` records the kubelet's events: `InvalidImageName` stays until the pod goes; an unpullable image
    alternates `ErrImagePull` (a try) and `ImagePullBackOff` (a wait that doubles from `backoff`, capped at 30 times
    it), for ever, as a real kubelet retries.
    """
    if not image:
        return True
    invalid = invalid_reason(image)
    if invalid is not None:
        event("Warning", "InspectFailed", invalid)
        event("Warning", "Failed", "Error: InvalidImageName")
        waiting("InvalidImageName", invalid)
        halt.wait()
        return False
    tries = 0
    while not halt.is_set():
        event("Normal", "Pulling", f'Pulling image "{image}"')
        error = pull_error(image)
        if error is None:
            return True
        event("Warning", "Failed", f'Failed to pull image "{image}": {error}')
        event("Warning", "Failed", "Error: ErrImagePull")
        waiting("ErrImagePull", error)
        delay = min(backoff * (2**tries), backoff * 30)
        tries += 1
        if halt.wait(delay):
            return False
        event("Normal", "BackOff", f'Back-off pulling image "{image}"')
        event("Warning", "Failed", "Error: ImagePullBackOff")
        waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
        if halt.wait(delay):
            return False
    return False
