"""The ``json`` protocol (awsJson1_0 / awsJson1_1): POST / with ``X-Amz-Target``, JSON bodies.

https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html
"""

from __future__ import annotations

from typing import Any

import orjson
from botocore.model import OperationModel

from cloudlet.api.http import Request, Response
from cloudlet.api.models import ServiceApi
from cloudlet.api.protocols.shapes import JsonCodec
from cloudlet.errors import CloudletError

_CODECS: dict[str, JsonCodec] = {}


def codec(service: ServiceApi) -> JsonCodec:
    """The (cached) JSON codec of ``service``."""
    found = _CODECS.get(service.name)
    if found is None:
        found = _CODECS[service.name] = JsonCodec()
    return found


class SerializationError(CloudletError):
    """The request body is not the JSON document the operation takes."""

    code = "SerializationException"


def load_document(body: bytes) -> dict[str, Any]:
    """A JSON request body as a dict (an empty body is ``{}``)."""
    if not body.strip():
        return {}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationError(f"Could not parse request body into json: {exc}") from None
    if not isinstance(document, dict):
        raise SerializationError("Start of structure or map found where not expected.")
    return document


def parse_request(service: ServiceApi, operation: OperationModel, request: Request) -> dict[str, Any]:
    """The operation's keyword arguments from a JSON request."""
    return read_document(service, operation.input_shape, load_document(request.body))


def read_document(service: ServiceApi, shape: Any, document: Any) -> Any:
    """``document`` converted to service values by ``shape``; a mismatch is a serialization error."""
    reader = codec(service).reader(shape)
    if reader is None:
        return document
    try:
        return reader(document)
    except (AttributeError, TypeError, ValueError, KeyError):
        raise SerializationError(
            f"The request body does not match the shape of {shape.name} in the service model"
        ) from None


def content_type(service: ServiceApi) -> str:
    return f"application/x-amz-json-{service.model.metadata.get('jsonVersion', '1.0')}"


def serialize_response(
    service: ServiceApi, operation: OperationModel, result: Any, request_id: str
) -> Response:
    """A 200 response carrying ``result`` as the operation's output document."""
    writer = codec(service).writer(operation.output_shape)
    document = (writer(result) if writer is not None else result) if result is not None else {}
    return Response(
        200,
        orjson.dumps(document),
        [("content-type", content_type(service)), ("x-amzn-requestid", request_id)],
    )


def error_document(service: ServiceApi, error: CloudletError) -> tuple[int, str, dict[str, Any]]:
    """(status, type name, body) of ``error`` in the JSON protocols."""
    modeled = service.error(error.code)
    type_name = modeled.shape_name if modeled is not None else error.code
    status = (modeled.status if modeled is not None and modeled.status else None) or error.status
    body: dict[str, Any] = {"__type": type_name, "message": error.message}
    if modeled is not None and error.fields:
        members = service.model.shape_for(modeled.shape_name).members
        for key, value in error.fields.items():
            if key in members and value is not None:
                body[key] = value
    return status, type_name, body


def serialize_error(service: ServiceApi, error: CloudletError, request_id: str) -> Response:
    """``{"__type": ..., "message": ...}`` with ``x-amzn-ErrorType`` (and SQS's query error)."""
    status, type_name, body = error_document(service, error)
    headers = [
        ("content-type", content_type(service)),
        ("x-amzn-requestid", request_id),
        ("x-amzn-errortype", type_name),
    ]
    if service.query_compatible:
        # Clients of services that moved from the query protocol (SQS) read the old error
        # code from this header and raise the modeled exception named by ``__type``.
        legacy = service.legacy_query_code(type_name) or error.code
        fault = "Receiver" if status >= 500 else "Sender"
        headers.append(("x-amzn-query-error", f"{legacy};{fault}"))
    return Response(status, orjson.dumps(body, default=str), headers)
