"""The ``query`` protocol: ``Action=...&Version=...`` form parameters in, XML out.

Lists travel as ``Name.member.N`` (or ``Name.N`` / ``ElementName.N`` when flattened), maps as
``Name.entry.N.key`` / ``.value`` (or flattened with their own key and value names), and the
answer is ``<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>``.

https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.model import OperationModel, Shape

from cloudlet.api.http import Request, Response
from cloudlet.api.models import ServiceApi
from cloudlet.api.protocols.values import (
    decode_blob,
    format_scalar_text,
    parse_boolean,
    parse_number,
    parse_timestamp,
)
from cloudlet.errors import CloudletError

Tree = dict[str, Any]


def form_params(request: Request) -> list[tuple[str, str]]:
    """The request's parameters: the query string followed by a form-encoded body."""
    pairs = request.query_params()
    content_type = request.headers.get("content-type", "")
    if request.body and (not content_type or "x-www-form-urlencoded" in content_type):
        pairs.extend(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return pairs


def _tree(pairs: list[tuple[str, str]]) -> Tree:
    """``A.b.1=x`` pairs as nested dicts; a value that is also a prefix keeps its text under ``""``."""
    root: Tree = {}
    for key, value in pairs:
        if key in ("Action", "Version"):
            continue
        parts = key.split(".")
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {} if child is None else {"": child}
            node = child
        last = parts[-1]
        if isinstance(node.get(last), dict):
            node[last][""] = value
        else:
            node[last] = value
    return root


def _text(node: Any) -> str:
    if isinstance(node, dict):
        return str(node.get("", ""))
    return str(node)


def _member_wire_name(member: Shape, name: str) -> str:
    if member.type_name == "list" and member.serialization.get("flattened"):
        element = member.member.serialization.get("name")
        if element:
            return str(element)
    return str(member.serialization.get("name", name))


def _read(shape: Shape, node: Any) -> Any:
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(node, dict):
            return {}
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = _member_wire_name(member, name)
            child = node.get(wire)
            if child is None and wire != name:
                child = node.get(name)
            if child is not None:
                result[name] = _read(member, child)
        return result
    if type_name == "list":
        if not isinstance(node, dict):
            return [] if _text(node) == "" else [_read(shape.member, node)]
        if not shape.serialization.get("flattened"):
            inner = node.get(shape.member.serialization.get("name", "member"))
            node = inner if isinstance(inner, dict) else {}
        items = sorted(((int(k), v) for k, v in node.items() if k.isdigit()), key=lambda kv: kv[0])
        return [_read(shape.member, v) for _, v in items]
    if type_name == "map":
        if not isinstance(node, dict):
            return {}
        if not shape.serialization.get("flattened"):
            entries = node.get("entry")
            node = entries if isinstance(entries, dict) else {}
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        mapping: dict[str, Any] = {}
        for _, entry in sorted(((int(k), v) for k, v in node.items() if k.isdigit()), key=lambda kv: kv[0]):
            if isinstance(entry, dict) and key_name in entry:
                value = entry.get(value_name)
                mapping[_text(entry[key_name])] = _read(shape.value, value) if value is not None else None
        return mapping
    text = _text(node)
    if type_name in ("integer", "long", "short", "byte", "float", "double"):
        return parse_number(text, type_name)
    if type_name == "boolean":
        return parse_boolean(text)
    if type_name == "timestamp":
        return parse_timestamp(text)
    if type_name == "blob":
        return decode_blob(text)
    return text


def parse_request(
    service: ServiceApi, operation: OperationModel, params: list[tuple[str, str]]
) -> dict[str, Any]:
    """The operation's keyword arguments from its form parameters."""
    shape = operation.input_shape
    if shape is None:
        return {}
    return _read(shape, _tree(params))


# -- XML out -------------------------------------------------------------------------------
def _write(shape: Shape, value: Any, out: list[str]) -> None:
    """Append the XML content (not the enclosing element) of ``value``."""
    type_name = shape.type_name
    if type_name == "structure":
        members = shape.members
        for name, member in members.items():
            child = value.get(name) if isinstance(value, dict) else None
            if child is None:
                continue
            _write_member(member, _member_wire_name(member, name), child, out)
        return
    if type_name == "list":
        element = shape.member.serialization.get("name", "member")
        for item in value:
            out.append(f"<{element}>")
            _write(shape.member, item, out)
            out.append(f"</{element}>")
        return
    if type_name == "map":
        _write_map_entries(shape, value, "entry", out)
        return
    out.append(
        escape(format_scalar_text(value, type_name, shape.serialization.get("timestampFormat", "iso8601")))
    )


def _write_map_entries(shape: Shape, value: dict[str, Any], element: str, out: list[str]) -> None:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    for key, item in value.items():
        out.append(f"<{element}><{key_name}>{escape(str(key))}</{key_name}><{value_name}>")
        _write(shape.value, item, out)
        out.append(f"</{value_name}></{element}>")


def _write_member(member: Shape, wire: str, value: Any, out: list[str]) -> None:
    flattened = member.serialization.get("flattened")
    if member.type_name == "list" and flattened:
        for item in value:
            out.append(f"<{wire}>")
            _write(member.member, item, out)
            out.append(f"</{wire}>")
        return
    if member.type_name == "map" and flattened:
        _write_map_entries(member, value, wire, out)
        return
    out.append(f"<{wire}>")
    _write(member, value, out)
    out.append(f"</{wire}>")


def serialize_response(
    service: ServiceApi, operation: OperationModel, result: Any, request_id: str
) -> Response:
    """``<ActionResponse>`` with the result wrapper and ``ResponseMetadata``."""
    name = operation.name
    out = [f'<?xml version="1.0"?>\n<{name}Response xmlns="{service.xml_namespace}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        out.append(f"<{wrapper}>")
        if result:
            _write(shape, result, out)
        out.append(f"</{wrapper}>")
    out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{name}Response>")
    return Response(
        200, "".join(out).encode(), [("content-type", "text/xml"), ("x-amzn-requestid", request_id)]
    )


def serialize_error(service: ServiceApi, error: CloudletError, request_id: str) -> Response:
    """``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``."""
    modeled = service.error(error.code)
    code = modeled.code if modeled is not None else error.code
    status = (modeled.status if modeled is not None and modeled.status else None) or error.status
    fault = "Receiver" if status >= 500 or (modeled is not None and not modeled.sender_fault) else "Sender"
    body = (
        f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{service.xml_namespace}"><Error>'
        f"<Type>{fault}</Type><Code>{escape(code)}</Code><Message>{escape(error.message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(status, body.encode(), [("content-type", "text/xml"), ("x-amzn-requestid", request_id)])
