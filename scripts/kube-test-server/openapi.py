"""The OpenAPI documents kubectl reads before `kubectl create -f` (and `apply`) with its default --validate=strict.

kubectl asks whether the server validates fields itself: it looks for the fieldValidation query parameter on the
PATCH operation of the object's group-version-kind, in the OpenAPI v3 document of the group version (kubectl 1.29
and later) or in the protobuf-encoded OpenAPI v2 document (1.27, 1.28). Both are served: v3 as JSON with the paths
and schemas from schema.py, v2 as a minimal gnostic openapi_v2.Document holding only the paths' PATCH operations,
encoded by the small protobuf writer below. When the parameter is found, kubectl sends fieldValidation=Strict and
leaves validation to the server.
"""

from __future__ import annotations

from typing import Any

from schema import SCHEMAS, Schema


def _openapi_schema(schema: Schema, components: dict[str, Any]) -> dict[str, Any]:
    if schema.type == "object":
        if schema.name not in components:
            components[schema.name] = {}  # reserve the name first: the walk below may meet it again
            described: dict[str, Any] = {
                "type": "object",
                "properties": {name: _openapi_schema(child, components) for name, child in schema.fields.items()},
            }
            if schema.required:
                described["required"] = list(schema.required)
            components[schema.name] = described
        return {"allOf": [{"$ref": f"#/components/schemas/{schema.name}"}]}
    if schema.type == "array":
        described = {"type": "array", "items": _openapi_schema(schema.items, components)}
        if schema.merge_key:
            described["x-kubernetes-patch-merge-key"] = schema.merge_key
            described["x-kubernetes-patch-strategy"] = "merge"
        return described
    if schema.type == "map":
        return {"type": "object", "additionalProperties": _openapi_schema(schema.items, components)}
    if schema.type == "any":
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if schema.type == "int-or-string":
        return {"x-kubernetes-int-or-string": True}
    described = {"type": schema.type}
    if schema.format:
        described["format"] = schema.format
    if schema.enum:
        described["enum"] = list(schema.enum)
    return described


def _query_parameter(name: str, description: str, schema_type: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": schema_type, "uniqueItems": True},
    }


def openapi_document(resources: list[Any]) -> dict[str, Any]:
    """An OpenAPI v3 document for one group version, with every resource's paths and schemas.

    kubectl reads it to decide whether to validate client side: a PATCH operation that lists the fieldValidation
    parameter for the kind's group-version-kind tells it the server validates fields itself.
    """
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    version = ""
    for resource in resources:
        version = resource.version
        gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        ref = _openapi_schema(SCHEMAS[resource.name], components)
        body = {"content": {"application/json": {"schema": ref}, "application/yaml": {"schema": ref}}}
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
        common = [
            _query_parameter("dryRun", "When present, changes are not persisted. Valid value: All."),
            _query_parameter("fieldManager", "A name for the actor making the change."),
            _query_parameter("fieldValidation", "Ignore, Warn or Strict: how to treat unknown or duplicate fields."),
        ]
        base = resource.group_version_path
        collection = (
            f"{base}/namespaces/{{namespace}}/{resource.name}" if resource.namespaced else f"{base}/{resource.name}"
        )
        item = collection + "/{name}"
        extensions = {"x-kubernetes-group-version-kind": gvk}
        paths[collection] = {
            "get": {
                "operationId": f"list{resource.kind}",
                "responses": ok,
                "x-kubernetes-action": "list",
                **extensions,
            },
            "post": {
                "operationId": f"create{resource.kind}",
                "parameters": common,
                "requestBody": body,
                "responses": {**ok, "201": ok["200"]},
                "x-kubernetes-action": "post",
                **extensions,
            },
        }
        paths[item] = {
            "get": {"operationId": f"read{resource.kind}", "responses": ok, "x-kubernetes-action": "get", **extensions},
            "put": {
                "operationId": f"replace{resource.kind}",
                "parameters": common,
                "requestBody": body,
                "responses": ok,
                "x-kubernetes-action": "put",
                **extensions,
            },
            "patch": {
                "operationId": f"patch{resource.kind}",
                "parameters": common + [_query_parameter("force", "Force an apply.", "boolean")],
                "requestBody": {
                    "content": {
                        media: {"schema": {"type": "object"}}
                        for media in (
                            "application/json-patch+json",
                            "application/merge-patch+json",
                            "application/strategic-merge-patch+json",
                        )
                    }
                },
                "responses": ok,
                "x-kubernetes-action": "patch",
                **extensions,
            },
            "delete": {
                "operationId": f"delete{resource.kind}",
                "responses": ok,
                "x-kubernetes-action": "delete",
                **extensions,
            },
        }
        components[SCHEMAS[resource.name].name]["x-kubernetes-group-version-kind"] = [gvk]
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (fanout kube-test-server)", "version": version},
        "paths": paths,
        "components": {"schemas": components},
    }


# MARK: - OpenAPI v2 (protobuf)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field (wire type 2): a string or an embedded message."""
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _bool(number: int, value: bool) -> bytes:
    return _varint(number << 3) + _varint(1 if value else 0) if value else b""


def _query_parameter_v2(name: str, description: str, kind: str = "string") -> bytes:
    # QueryParameterSubSchema: in = 2, description = 3, name = 4, type = 6, unique_items = 20.
    sub_schema = _field(2, "query") + _field(3, description) + _field(4, name) + _field(6, kind) + _bool(20, True)
    non_body = _field(3, sub_schema)  # NonBodyParameter.query_parameter_sub_schema
    parameter = _field(2, non_body)  # Parameter.non_body_parameter
    return _field(1, parameter)  # ParametersItem.parameter


def openapi_v2_protobuf(resources: list[Any], version: str) -> bytes:
    """A gnostic openapi_v2.Document with one path per object and its PATCH operation: the operation's
    x-kubernetes-group-version-kind extension and its query parameters, fieldValidation among them."""
    paths = b""
    for resource in resources:
        base = resource.group_version_path
        collection = (
            f"{base}/namespaces/{{namespace}}/{resource.name}" if resource.namespaced else f"{base}/{resource.name}"
        )
        gvk_yaml = f'group: "{resource.group}"\nkind: {resource.kind}\nversion: {resource.version}\n'
        extension = _field(1, "x-kubernetes-group-version-kind") + _field(
            2, _field(2, gvk_yaml)
        )  # NamedAny{name, Any{yaml}}
        parameters = b"".join(
            _field(8, _query_parameter_v2(name, description, kind))  # Operation.parameters
            for name, description, kind in (
                ("dryRun", "When present, changes are not persisted. Valid value: All.", "string"),
                ("fieldManager", "A name for the actor making the change.", "string"),
                ("fieldValidation", "Ignore, Warn or Strict: how to treat unknown or duplicate fields.", "string"),
                ("force", "Force an apply.", "boolean"),
            )
        )
        operation = _field(5, f"patch{resource.kind}") + parameters + _field(13, extension)
        path_item = _field(8, operation)  # PathItem.patch
        paths += _field(2, _field(1, collection + "/{name}") + _field(2, path_item))  # Paths.path: NamedPathItem
    info = _field(1, "Kubernetes (fanout kube-test-server)") + _field(2, version)
    return _field(1, "2.0") + _field(2, info) + _field(8, paths)
