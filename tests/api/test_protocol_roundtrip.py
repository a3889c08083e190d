"""Property tests: for every operation of every protocol, botocore's client side and cloudlet's
server side agree. A request serialized by botocore parses back to the same parameters, and a
response serialized by cloudlet parses (with botocore's parser) back to the same result.

The generated values come from the operations' own shapes, so no operation is special-cased.
"""

from __future__ import annotations

import io
import string
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import HeadersDict, prepare_request_dict
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.api.http import Request
from cloudlet.api.models import ServiceApi, service_api
from cloudlet.api.protocols import awsjson, query, restjson

TEXT = st.text(alphabet=string.ascii_letters + string.digits + " -_.:/<>&'\"é", min_size=1, max_size=12)
LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-_:", min_size=1, max_size=12)
TIMESTAMPS = st.integers(min_value=0, max_value=4_000_000_000).map(lambda s: datetime.fromtimestamp(s, UTC))


def _skip(shape: Shape, seen: frozenset[str] = frozenset()) -> bool:
    """Shapes whose wire form is not a plain document (event streams, documents)."""
    if shape.name in seen:
        return False
    if shape.type_name == "structure":
        if shape.serialization.get("eventstream") or shape.metadata.get("document"):
            return True
        return any(_skip(m, seen | {shape.name}) for m in shape.members.values())
    if shape.type_name == "list":
        return _skip(shape.member, seen | {shape.name})
    if shape.type_name == "map":
        return _skip(shape.value, seen | {shape.name})
    return False


def values(shape: Shape, depth: int = 0, *, label: bool = False) -> st.SearchStrategy[Any]:
    """Values of ``shape`` (required members always, others sometimes; bounded recursion)."""
    kind = shape.type_name
    if shape.serialization.get("location") == "statusCode":
        return st.integers(min_value=200, max_value=299)
    if kind == "structure":
        required = set(shape.required_members)
        members = {
            name: member
            for name, member in shape.members.items()
            if name in required or (depth < 3 and not member.serialization.get("eventpayload"))
        }
        if shape.metadata.get("union"):
            if not members:
                return st.just({})
            return st.sampled_from(sorted(members)).flatmap(
                lambda name: values(members[name], depth + 1).map(lambda v: {name: v})
            )
        fixed = {
            name: values(m, depth + 1, label=m.serialization.get("location") == "uri")
            for name, m in members.items()
            if name in required
        }
        optional = {
            name: values(m, depth + 1, label=m.serialization.get("location") == "uri")
            for name, m in members.items()
            if name not in required
        }
        return st.fixed_dictionaries(fixed, optional=optional)
    if kind == "list":
        return st.lists(values(shape.member, depth + 1), min_size=1, max_size=3 if depth < 3 else 1)
    if kind == "map":
        return st.dictionaries(
            TEXT, values(shape.value, depth + 1), min_size=1, max_size=3 if depth < 3 else 1
        )
    if kind == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        return LABEL if label else TEXT
    if kind in ("integer", "long"):
        return st.integers(min_value=0, max_value=2**31 - 1)
    if kind in ("float", "double"):
        return st.integers(min_value=-1000, max_value=1000).map(lambda n: n / 4)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return TIMESTAMPS
    if kind == "blob":
        return st.binary(min_size=1, max_size=12)
    return st.nothing()


def _operations(api: ServiceApi, *, query_model: bool = False) -> list[OperationModel]:
    model = api.query_model if query_model else api.model
    ops = []
    for name in model.operation_names:
        op = model.operation_model(name)
        shapes = [s for s in (op.input_shape, op.output_shape) if s is not None]
        if not any(_skip(s) for s in shapes) and not op.has_event_stream_output:
            ops.append(op)
    return ops


def _normalize(value: Any) -> Any:
    """Compare timestamps as instants and streaming bodies as bytes."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if hasattr(value, "read"):
        return value.read()
    return value


def _request(serialized: dict[str, Any]) -> Request:
    prepare_request_dict(serialized, endpoint_url="http://localhost:4566")
    url = urlsplit(serialized["url"])
    body = serialized["body"]
    if isinstance(body, dict):
        from urllib.parse import urlencode

        body = urlencode(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in serialized["headers"].items()}
    return Request(serialized["method"], url.path, url.query, headers, body or b"")


def _response_dict(response: Any) -> dict[str, Any]:
    return {
        "status_code": response.status,
        "headers": HeadersDict(response.headers),
        "body": response.body,
    }


CASES = [
    ("sqs", False),
    ("states", False),
    ("events", False),
    ("kinesis", False),
    ("logs", False),
    ("sns", False),
    ("sqs", True),
    ("lambda", False),
]


@pytest.mark.parametrize(
    ("service", "legacy_query"), CASES, ids=[f"{s}{'-query' if q else ''}" for s, q in CASES]
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_requests_parse_back_to_their_parameters(
    service: str, legacy_query: bool, data: st.DataObject
) -> None:
    api = service_api(service)
    assert api is not None
    op = data.draw(st.sampled_from(_operations(api, query_model=legacy_query)), label="operation")
    params = data.draw(values(op.input_shape) if op.input_shape is not None else st.just({}), label="params")
    protocol = op.metadata["protocol"]
    serialized = create_serializer(protocol, include_validation=False).serialize_to_request(params, op)
    request = _request(serialized)
    if protocol == "json":
        parsed = awsjson.parse_request(api, op, request)
    elif protocol == "query":
        parsed = query.parse_request(api, op, query.form_params(request))
    else:
        routed = next(
            (
                r
                for r in api.rest_routes
                if r.method == request.method
                and r.pattern.match(request.path)
                and all(k in dict(request.query_params()) for k, _ in r.required_query)
            ),
            None,
        )
        assert routed is not None and routed.operation.name == op.name, request.path
        labels = routed.pattern.match(request.path).groupdict()  # type: ignore[union-attr]
        parsed = restjson.parse_request(api, op, request, labels)
    expected = _normalize(params)
    if protocol == "rest-json" and op.input_shape is not None:
        payload = op.input_shape.serialization.get("payload")
        if payload and op.input_shape.members[payload].type_name == "blob":
            expected.setdefault(payload, b"")
        elif payload and op.input_shape.members[payload].type_name == "structure":
            expected.setdefault(payload, {})  # botocore sends {} for an absent structure payload
    assert _normalize(parsed) == expected


@pytest.mark.parametrize(
    ("service", "legacy_query"), CASES, ids=[f"{s}{'-query' if q else ''}" for s, q in CASES]
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_responses_parse_back_to_their_results(service: str, legacy_query: bool, data: st.DataObject) -> None:
    api = service_api(service)
    assert api is not None
    ops = [op for op in _operations(api, query_model=legacy_query) if op.output_shape is not None]
    op = data.draw(st.sampled_from(ops), label="operation")
    result = data.draw(values(op.output_shape), label="result")
    protocol = op.metadata["protocol"]
    if protocol == "json":
        response = awsjson.serialize_response(api, op, result, "req-1")
    elif protocol == "query":
        response = query.serialize_response(api, op, result, "req-1")
    else:
        response = restjson.serialize_response(api, op, result, "req-1")
    raw = _response_dict(response)
    if op.has_streaming_output:
        raw["body"] = StreamingBody(io.BytesIO(response.body), len(response.body))
    parsed = create_parser(protocol).parse(raw, op.output_shape)
    expected = _normalize(result)
    if op.has_streaming_output:
        expected.setdefault(op.output_shape.serialization["payload"], b"")
    if protocol == "rest-json":
        for name, member in op.output_shape.members.items():
            if member.serialization.get("location") == "statusCode":
                expected.pop(name, None)
                parsed.pop(name, None)
    assert _normalize(parsed) == expected


ERROR_CASES = [
    ("sqs", False),
    ("states", False),
    ("events", False),
    ("kinesis", False),
    ("logs", False),
    ("sns", False),
    ("lambda", False),
]


@pytest.mark.parametrize(("service", "legacy_query"), ERROR_CASES, ids=[s for s, _ in ERROR_CASES])
def test_every_modeled_error_reaches_boto3_as_its_exception_class(service: str, legacy_query: bool) -> None:
    import boto3

    from cloudlet.errors import CloudletError

    api = service_api(service)
    assert api is not None
    client = boto3.client(
        api.model.service_name,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://localhost:4566",
    )
    protocol = api.model.metadata["protocol"]
    serialize_error = {"json": awsjson, "query": query, "rest-json": restjson}[protocol].serialize_error
    parser = create_parser(protocol)
    for shape in api.model.error_shapes:
        response = serialize_error(api, CloudletError("it failed", code=shape.name), "req-1")
        parsed = parser.parse(_response_dict(response), None)
        error = parsed["Error"]
        # botocore's SQS handler maps a query-compatible error to its shape name this way.
        code = error.get("QueryErrorCode") or error["Code"]
        assert client.exceptions.from_code(code).__name__ == shape.name, (shape.name, code)
        assert error["Message"] == "it failed"
        status = shape.metadata.get("error", {}).get("httpStatusCode")
        assert response.status == (status or 400)
    client.close()
