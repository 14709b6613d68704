"""Decoding of the protobuf request bodies some kubectl commands send (`kubectl create job NAME --image ...`,
`create secret`, `create configmap`, `create namespace`): the "k8s\\0" envelope (a runtime.Unknown holding the
apiVersion, kind and the raw message) and the messages of those commands, into the same dicts a JSON body gives.

Only the fields listed below are understood; a body with any other field is refused with 415, naming it, so a
field number this table lacks can never be dropped silently. Responses are always JSON (kubectl accepts both).
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


class ProtobufError(ValueError):
    pass


# A message is {field number: (JSON name, type)}. Types: "string", "bytes", "int32", "int64", "bool", "time",
# "quantity", "[T]" (repeated T), "{T}" (map from string to T), "inline:M" (message M's fields merged into the
# parent, as Volume embeds VolumeSource), or the name of another message.
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {
        1: ("typeMeta", "TypeMeta"),
        2: ("raw", "raw"),
        3: ("contentEncoding", "string"),
        4: ("contentType", "string"),
    },
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {
        1: ("name", "string"),
        2: ("generateName", "string"),
        3: ("namespace", "string"),
        4: ("selfLink", "string"),
        5: ("uid", "string"),
        6: ("resourceVersion", "string"),
        7: ("generation", "int64"),
        8: ("creationTimestamp", "time"),
        11: ("labels", "{string}"),
        12: ("annotations", "{string}"),
        14: ("finalizers", "[string]"),
    },
    "LocalObjectReference": {1: ("name", "string")},
    # batch/v1
    "Job": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec"), 3: ("status", "Ignored")},
    "JobSpec": {
        1: ("parallelism", "int32"),
        2: ("completions", "int32"),
        3: ("activeDeadlineSeconds", "int64"),
        6: ("template", "PodTemplateSpec"),
        7: ("backoffLimit", "int32"),
        8: ("ttlSecondsAfterFinished", "int32"),
        9: ("completionMode", "string"),
        10: ("suspend", "bool"),
    },
    # core/v1
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "Pod": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec"), 3: ("status", "Ignored")},
    "PodSpec": {
        1: ("volumes", "[Volume]"),
        2: ("containers", "[Container]"),
        3: ("restartPolicy", "string"),
        4: ("terminationGracePeriodSeconds", "int64"),
        5: ("activeDeadlineSeconds", "int64"),
        6: ("dnsPolicy", "string"),
        7: ("nodeSelector", "{string}"),
        8: ("serviceAccountName", "string"),
        9: ("serviceAccount", "string"),
        10: ("nodeName", "string"),
        11: ("hostNetwork", "bool"),
        12: ("hostPID", "bool"),
        13: ("hostIPC", "bool"),
        14: ("securityContext", "Empty"),
        15: ("imagePullSecrets", "[LocalObjectReference]"),
        16: ("hostname", "string"),
        17: ("subdomain", "string"),
        19: ("schedulerName", "string"),
        24: ("priorityClassName", "string"),
        20: ("initContainers", "[Container]"),
    },
    "Container": {
        1: ("name", "string"),
        2: ("image", "string"),
        3: ("command", "[string]"),
        4: ("args", "[string]"),
        5: ("workingDir", "string"),
        7: ("env", "[EnvVar]"),
        8: ("resources", "ResourceRequirements"),
        9: ("volumeMounts", "[VolumeMount]"),
        13: ("terminationMessagePath", "string"),
        14: ("imagePullPolicy", "string"),
        16: ("stdin", "bool"),
        17: ("stdinOnce", "bool"),
        18: ("tty", "bool"),
        20: ("terminationMessagePolicy", "string"),
    },
    "EnvVar": {1: ("name", "string"), 2: ("value", "string")},
    "ResourceRequirements": {1: ("limits", "{quantity}"), 2: ("requests", "{quantity}")},
    "VolumeMount": {
        1: ("name", "string"),
        2: ("readOnly", "bool"),
        3: ("mountPath", "string"),
        4: ("subPath", "string"),
    },
    "Volume": {1: ("name", "string"), 2: ("", "inline:VolumeSource")},
    "VolumeSource": {2: ("emptyDir", "EmptyDirVolumeSource")},
    "EmptyDirVolumeSource": {1: ("medium", "string"), 2: ("sizeLimit", "quantity")},
    "Secret": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "{bytes}"),
        3: ("type", "string"),
        4: ("stringData", "{string}"),
        5: ("immutable", "bool"),
    },
    "ConfigMap": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "{string}"),
        3: ("binaryData", "{bytes}"),
        4: ("immutable", "bool"),
    },
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "Ignored")},
    "NamespaceSpec": {1: ("finalizers", "[string]")},
    "Quantity": {1: ("string", "string")},
    "Time": {1: ("seconds", "int64"), 2: ("nanos", "int32")},
    "MapEntry": {1: ("key", "string"), 2: ("value", "raw")},
    # authorization.k8s.io/v1 (what `kubectl auth can-i` posts)
    "SelfSubjectAccessReview": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "SelfSubjectAccessReviewSpec"),
        3: ("status", "Ignored"),
    },
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"), 2: ("nonResourceAttributes", "Ignored")},
    "ResourceAttributes": {
        1: ("namespace", "string"),
        2: ("verb", "string"),
        3: ("group", "string"),
        4: ("version", "string"),
        5: ("resource", "string"),
        6: ("subresource", "string"),
        7: ("name", "string"),
    },
    # A message this table only accepts empty (kubectl sends some empty structs).
    "Empty": {},
    # Status is ignored on create: its content is not decoded.
    "Ignored": {},
}

KINDS = {
    ("batch/v1", "Job"): "Job",
    ("v1", "Pod"): "Pod",
    ("v1", "Secret"): "Secret",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Namespace"): "Namespace",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
}


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) for each field: an int for varints, bytes otherwise."""
    fields = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
        elif wire == 2:
            length, position = _varint(data, position)
            value = data[position : position + length]
            if len(value) != length:
                raise ProtobufError("truncated length-delimited field")
            position += length
        elif wire == 1:
            value, position = data[position : position + 8], position + 8
        elif wire == 5:
            value, position = data[position : position + 4], position + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        fields.append((number, wire, value))
    return fields


def _signed(value: int, bits: int) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    return value if bits == 64 else ((value + (1 << 31)) % (1 << 32)) - (1 << 31)


def _scalar(kind: str, wire: int, value: Any, where: str) -> Any:
    if kind in ("string", "bytes", "raw", "time", "quantity") or kind in MESSAGES:
        if wire != 2:
            raise ProtobufError(f"{where}: expected a length-delimited field")
        if kind == "string":
            return value.decode("utf-8")
        if kind == "bytes":
            return base64.b64encode(value).decode()
        if kind == "raw":
            return value
        if kind == "time":
            parts = decode_message(value, "Time", where)
            if not parts.get("seconds"):
                return None
            stamp = datetime.datetime.fromtimestamp(parts["seconds"], datetime.UTC)
            return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        if kind == "quantity":
            return decode_message(value, "Quantity", where).get("string", "0")
        return decode_message(value, kind, where)
    if wire != 0:
        raise ProtobufError(f"{where}: expected a varint")
    if kind == "bool":
        return bool(value)
    return _signed(value, 64 if kind == "int64" else 32)


def decode_message(data: bytes, message: str, where: str = "") -> dict[str, Any]:
    spec = MESSAGES[message]
    result: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        if message == "Ignored":
            continue
        if number not in spec:
            raise ProtobufError(
                f"field {number} of {message} (at {where or 'the top'}) is not understood by this test server"
            )
        name, kind = spec[number]
        path = f"{where}.{name}" if where else name
        if kind.startswith("inline:"):
            result.update(decode_message(value, kind[len("inline:") :], where))
        elif kind.startswith("["):
            item_kind = kind[1:-1]
            items = result.setdefault(name, [])
            if wire == 2 and item_kind in ("int32", "int64", "bool"):
                position = 0
                while position < len(value):
                    item, position = _varint(value, position)
                    items.append(_scalar(item_kind, 0, item, path))
            else:
                items.append(_scalar(item_kind, wire, value, path))
        elif kind.startswith("{"):
            entry = decode_message(value, "MapEntry", path)
            raw = entry.get("value", b"")
            value_kind = kind[1:-1]
            result.setdefault(name, {})[entry.get("key", "")] = _scalar(value_kind, 2, raw, path)
        else:
            decoded = _scalar(kind, wire, value, path)
            # Protobuf always carries Go's non-pointer strings and bools; empty and false mean "not set".
            if decoded not in ("", False, None):
                result[name] = decoded
    return result


def decode_object(body: bytes) -> dict[str, Any]:
    """The object in a Kubernetes protobuf body, as the dict its JSON form would give."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic number")
    envelope = decode_message(body[len(MAGIC) :], "Unknown")
    type_meta = envelope.get("typeMeta", {})
    key = (type_meta.get("apiVersion", ""), type_meta.get("kind", ""))
    message = KINDS.get(key)
    if message is None:
        raise ProtobufError(f"protobuf bodies of {key[1]} ({key[0]}) are not understood by this test server")
    obj = decode_message(envelope.get("raw", b""), message)
    obj.pop("status", None)
    return {"apiVersion": key[0], "kind": key[1], **obj}
