"""Time stamps, generated names and small object-metadata helpers shared by the modules."""

from __future__ import annotations

import datetime
import random
from typing import Any

# The alphabet Kubernetes uses for generateName suffixes: no vowels, no look-alike characters.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def rfc3339(timestamp: float) -> str:
    """Seconds precision, UTC, as metadata.creationTimestamp and condition times are written."""
    return datetime.datetime.fromtimestamp(int(timestamp), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(timestamp: float) -> str:
    """Nanosecond-style precision (microseconds, zero padded), as log time stamps are written."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch; raises ValueError."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(value).timestamp()


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(_SUFFIX_ALPHABET) for _ in range(length))


def controller_owner(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The ownerReference marked controller: true, if any."""
    for reference in obj.get("metadata", {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return reference
    return None


def owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(reference.get("uid") == uid for reference in obj.get("metadata", {}).get("ownerReferences") or [])


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The status condition of type `kind`, if present."""
    for item in obj.get("status", {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def has_true_condition(obj: dict[str, Any], kind: str) -> bool:
    found = condition(obj, kind)
    return found is not None and found.get("status") == "True"


def human_duration(seconds: float) -> str:
    """A short duration for tables (5s, 3m20s, 10m, 2h5m, 3d4h, 40d), in the style kubectl prints."""
    seconds = int(seconds)
    if seconds < 0:
        return "<invalid>"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"
