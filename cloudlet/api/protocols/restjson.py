"""The ``rest-json`` protocol: operations addressed by method and path, members in the URI,
query string, headers and a JSON (or raw payload) body.

https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote

import orjson
from botocore.model import OperationModel, Shape

from cloudlet.api.http import Request, Response
from cloudlet.api.models import ServiceApi, uri_group
from cloudlet.api.protocols import awsjson
from cloudlet.api.protocols.values import (
    format_scalar_text,
    parse_boolean,
    parse_number,
    parse_timestamp,
)
from cloudlet.errors import CloudletError


def _from_text(shape: Shape, text: str, default_ts: str) -> Any:
    """A scalar member from a URI label, query parameter or header."""
    type_name = shape.type_name
    if type_name in ("integer", "long", "short", "byte", "float", "double"):
        return parse_number(text, type_name)
    if type_name == "boolean":
        return parse_boolean(text)
    if type_name == "timestamp":
        return parse_timestamp(text)
    if type_name == "blob":
        return base64.b64decode(text)
    if type_name == "string" and shape.serialization.get("jsonvalue"):
        return orjson.loads(base64.b64decode(text))
    return text


def parse_request(
    service: ServiceApi, operation: OperationModel, request: Request, labels: dict[str, str]
) -> dict[str, Any]:
    """The operation's keyword arguments from the path ``labels``, query, headers and body."""
    shape = operation.input_shape
    if shape is None:
        return {}
    kwargs: dict[str, Any] = {}
    query = request.query_params()
    consumed: set[str] = set()
    query_map_member: tuple[str, Shape] | None = None
    payload_name = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            raw = labels.get(uri_group(wire))
            if raw is not None:
                kwargs[name] = _from_text(member, unquote(raw), "iso8601")
        elif location == "querystring":
            if member.type_name == "map":
                query_map_member = (name, member)
                continue
            values = [v for k, v in query if k == wire]
            consumed.add(wire)
            if not values:
                continue
            if member.type_name == "list":
                kwargs[name] = [_from_text(member.member, v, "iso8601") for v in values]
            else:
                kwargs[name] = _from_text(member, values[0], "iso8601")
        elif location == "header":
            value = request.headers.get(wire.lower())
            if value is None:
                continue
            if member.type_name == "list":
                kwargs[name] = [_from_text(member.member, v.strip(), "rfc822") for v in value.split(",")]
            else:
                kwargs[name] = _from_text(member, value, "rfc822")
        elif location == "headers":
            prefix = wire.lower()
            found = {k[len(prefix) :]: v for k, v in request.headers.items() if k.startswith(prefix)}
            if found:
                kwargs[name] = found
    if query_map_member is not None:
        extra = {k: v for k, v in query if k not in consumed}
        if extra:
            kwargs[query_map_member[0]] = extra
    if payload_name is not None:
        member = shape.members[payload_name]
        if member.type_name == "blob":
            kwargs[payload_name] = request.body
        elif member.type_name == "string":
            if request.body:
                kwargs[payload_name] = request.body.decode()
        elif request.body.strip():
            document = awsjson.load_document(request.body)
            kwargs[payload_name] = awsjson.read_document(service, member, document)
    elif request.body.strip():
        document = awsjson.load_document(request.body)
        kwargs.update(awsjson.read_document(service, shape, document))
    return kwargs


def serialize_response(
    service: ServiceApi, operation: OperationModel, result: Any, request_id: str
) -> Response:
    """The operation's status code, headers and body from the service's ``result``."""
    status = int(operation.http.get("responseCode", 200))
    headers: list[tuple[str, str]] = [("x-amzn-requestid", request_id)]
    shape = operation.output_shape
    if shape is None:
        return Response(status, b"{}", [*headers, ("content-type", "application/json")])
    body_values = dict(result or {})
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location is None:
            continue
        value = body_values.pop(name, None)
        if value is None:
            continue
        wire = member.serialization.get("name", name)
        if location == "statusCode":
            status = int(value)
        elif location == "header":
            if member.type_name == "string" and member.serialization.get("jsonvalue"):
                text = base64.b64encode(orjson.dumps(value)).decode()
            elif member.type_name == "list":
                text = ",".join(str(v) for v in value)
            else:
                fmt = member.serialization.get("timestampFormat", "rfc822")
                text = format_scalar_text(value, member.type_name, fmt)
            headers.append((wire.lower(), text))
        elif location == "headers":
            headers.extend((f"{wire}{k}".lower(), str(v)) for k, v in value.items())
    payload_name = shape.serialization.get("payload")
    if payload_name is not None:
        member = shape.members[payload_name]
        value = body_values.get(payload_name)
        if member.type_name in ("blob", "string"):
            raw = value.encode() if isinstance(value, str) else bytes(value or b"")
            return Response(status, raw, [*headers, ("content-type", "application/json")])
        writer = awsjson.codec(service).writer(member)
        document = (writer(value) if writer is not None else value) if value is not None else {}
    else:
        writer = awsjson.codec(service).writer(shape)
        document = writer(body_values) if writer is not None else body_values
    return Response(status, orjson.dumps(document), [*headers, ("content-type", "application/json")])


def serialize_error(service: ServiceApi, error: CloudletError, request_id: str) -> Response:
    """The error's code in ``x-amzn-ErrorType`` and a JSON body with its message."""
    status, type_name, body = awsjson.error_document(service, error)
    del body["__type"]
    body.setdefault("Type", "Service" if status >= 500 else "User")
    headers = [
        ("content-type", "application/json"),
        ("x-amzn-requestid", request_id),
        ("x-amzn-errortype", type_name),
    ]
    return Response(status, orjson.dumps(body, default=str), headers)
