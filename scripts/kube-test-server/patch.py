"""The three PATCH formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

The strategic merge patch handles what kubectl sends for built-in types: maps merge recursively, null deletes a
key, lists with a merge key (containers by name, env by name, conditions by type...) merge element by element and
honour `$patch: delete` / `$patch: replace`; other lists are replaced. Directives kubectl adds for ordering and
retained keys ($setElementOrder, $retainKeys, $deleteFromPrimitiveList) are applied or dropped as noted below.
"""

from __future__ import annotations

import copy
from typing import Any

from errors import ApiError
from schema import Schema


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise ApiError.bad_request("a JSON patch must be a list of operations")
    document = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise ApiError.bad_request(f"invalid JSON patch operation: {operation!r}")
        kind = operation["op"]
        path = _pointer(operation["path"])
        if kind == "add":
            document = _add(document, path, copy.deepcopy(operation.get("value")))
        elif kind == "remove":
            _remove(document, path)
        elif kind == "replace":
            _remove(document, path)
            document = _add(document, path, copy.deepcopy(operation.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(operation.get("from", ""))
            value = copy.deepcopy(_get(document, source))
            if kind == "move":
                _remove(document, source)
            document = _add(document, path, value)
        elif kind == "test":
            if _get(document, path) != operation.get("value"):
                raise ApiError(422, "Invalid", f"testing value {operation['path']} failed")
        else:
            raise ApiError.bad_request(f"unknown JSON patch operation {kind!r}")
    return document


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise ApiError.bad_request(f"invalid JSON pointer {text!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _get(document: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(document, list):
            try:
                document = document[int(part)]
            except (ValueError, IndexError):
                raise ApiError(422, "Invalid", f"no element {part!r} in the array")
        elif isinstance(document, dict) and part in document:
            document = document[part]
        else:
            raise ApiError(422, "Invalid", f"doc is missing path: /{'/'.join(path)}")
    return document


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                parent.insert(int(last), value)
            except ValueError:
                raise ApiError(422, "Invalid", f"invalid array index {last!r}")
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise ApiError(422, "Invalid", f"cannot add to /{'/'.join(path)}")
    return document


def _remove(document: Any, path: list[str]) -> None:
    parent = _get(document, path[:-1])
    last = path[-1] if path else ""
    try:
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            del parent[last]
    except (KeyError, ValueError, IndexError, TypeError):
        raise ApiError(422, "Invalid", f"unable to remove nonexistent key: /{'/'.join(path)}")


def strategic_merge_patch(target: Any, patch: Any, schema: Schema | None) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {key: copy.deepcopy(value) for key, value in patch.items() if key != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if (
            key.startswith("$setElementOrder/")
            or key.startswith("$deleteFromPrimitiveList/")
            or key in ("$retainKeys", "$patch")
        ):
            continue
        child = _child_schema(schema, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and child is not None and child.type == "array" and child.merge_key:
            result[key] = _merge_list(result.get(key) or [], value, child)
        elif isinstance(value, dict) and not (child is not None and child.type == "array"):
            merged = strategic_merge_patch(result.get(key), value, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.partition("/")[2]
            if isinstance(result.get(name), list):
                result[name] = [item for item in result[name] if item not in value]
    if isinstance(retain, list):
        result = {key: value for key, value in result.items() if key in retain}
    return result


def _child_schema(schema: Schema | None, key: str) -> Schema | None:
    if schema is None:
        return None
    if schema.type == "map":
        return schema.items
    if schema.type == "object":
        return schema.fields.get(key)
    return None


def _merge_list(target: list[Any], patch: list[Any], schema: Schema) -> list[Any]:
    key = schema.merge_key
    result = copy.deepcopy(target)
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            if isinstance(element, dict) and element.get("$patch") == "replace":
                return [item for item in patch if not (isinstance(item, dict) and "$patch" in item)]
            result.append(copy.deepcopy(element))
            continue
        position = next(
            (i for i, item in enumerate(result) if isinstance(item, dict) and item.get(key) == element[key]), None
        )
        if element.get("$patch") == "delete":
            if position is not None:
                del result[position]
            continue
        if position is None:
            result.append({k: copy.deepcopy(v) for k, v in element.items() if not k.startswith("$")})
        else:
            result[position] = strategic_merge_patch(result[position], element, schema.items)
    return result
