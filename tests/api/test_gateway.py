"""API Gateway proxy events (payload 1.0 and 2.0) served under /_api/<api-id>/."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from cloudlet.api import HttpRoute
from cloudlet.errors import ValidationError
from tests.api.conftest import App


def _request(
    app: App, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
):
    request = urllib.request.Request(app.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read(), response.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read(), error.headers


@pytest.fixture(scope="module")
def seen(app: App) -> list[Any]:
    events: list[Any] = []

    def record(event: Any) -> Any:
        events.append(event)
        return {
            "statusCode": 201,
            "headers": {"X-Single": "one", "Content-Type": "text/plain"},
            "multiValueHeaders": {"X-Multi": ["a", "b"]},
            "body": "created",
        }

    def simple(event: Any) -> Any:
        events.append(event)
        return {"ok": True, "path": event["rawPath"]}

    def binary(event: Any) -> Any:
        events.append(event)
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "cookies": ["a=1", "b=2; Path=/"],
            "body": base64.b64encode(b"\x00\x01\x02").decode(),
            "isBase64Encoded": True,
        }

    def failing(event: Any) -> Any:
        raise ValidationError("handler crashed")

    lam = app.fakes["lambda"]
    gateway = app.server.server.gateway
    gateway.add_route(
        HttpRoute("rest1", "POST", "/items/{id}", lam.add("record", record), "1.0", stage="Prod")
    )
    gateway.add_route(HttpRoute("rest1", "GET", "/fail", lam.add("failing", failing), "1.0"))
    gateway.add_route(HttpRoute("http1", "GET", "/users/{userId}/files/{proxy+}", lam.add("simple", simple)))
    gateway.add_route(HttpRoute("http1", "ANY", "/bin", lam.add("binary", binary)))
    gateway.add_route(HttpRoute("http1", "GET", "/users/me/files/{proxy+}", lam.add("simple2", simple)))
    return events


def test_v1_event_and_response(app: App, seen: list[Any]) -> None:
    status, headers, body, raw = _request(
        app,
        "POST",
        "/_api/rest1/items/42?tag=a&tag=b&one=1",
        b'{"n": 1}',
        {"Content-Type": "application/json"},
    )
    assert status == 201
    assert body == b"created"
    assert headers["x-single"] == "one"
    assert raw.get_all("x-multi") == ["a", "b"]
    event = seen[-1]
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "b", "one": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["1"]}
    # REST APIs pass header names as the client spelled them.
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert event["body"] == '{"n": 1}'
    assert event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["stage"] == "Prod"
    assert context["path"] == "/Prod/items/42"
    assert context["resourcePath"] == "/items/{id}"
    assert context["apiId"] == "rest1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(context["requestTimeEpoch"], int)


def test_v1_unmatched_and_failing_routes(app: App, seen: list[Any]) -> None:
    status, _, body, _ = _request(app, "GET", "/_api/rest1/items/42")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    status, _, body, _ = _request(app, "GET", "/_api/rest1/fail")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    status, _, body, _ = _request(app, "GET", "/_api/unknown-api/x")
    assert status == 404


def test_v2_event_and_plain_json_response(app: App, seen: list[Any]) -> None:
    status, headers, body, _ = _request(
        app, "GET", "/_api/http1/users/7/files/a/b.txt?x=1&x=2", headers={"Cookie": "c1=v1; c2=v2"}
    )
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"ok": True, "path": "/users/7/files/a/b.txt"}
    event = seen[-1]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /users/{userId}/files/{proxy+}"
    assert event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["pathParameters"] == {"userId": "7", "proxy": "a/b.txt"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["path"] == "/users/7/files/a/b.txt"
    assert event["requestContext"]["stage"] == "$default"
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_v2_more_specific_route_wins(app: App, seen: list[Any]) -> None:
    _request(app, "GET", "/_api/http1/users/me/files/x")
    assert seen[-1]["routeKey"] == "GET /users/me/files/{proxy+}"


def test_v2_binary_body_cookies_and_any_method(app: App, seen: list[Any]) -> None:
    status, _headers, body, raw = _request(
        app, "PUT", "/_api/http1/bin", b"\xff\x00binary", {"Content-Type": "application/octet-stream"}
    )
    assert status == 200
    assert body == b"\x00\x01\x02"
    assert raw.get_all("set-cookie") == ["a=1", "b=2; Path=/"]
    event = seen[-1]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00binary"
    assert event["routeKey"] == "ANY /bin"
    status, _, body, _ = _request(app, "GET", "/_api/http1/nothing-here")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_encoded_path_parameters_are_decoded_once(app: App, seen: list[Any]) -> None:
    status, _, _, _ = _request(app, "GET", "/_api/http1/users/a%20b/files/x%2Fy%25z")
    assert status == 200
    event = seen[-1]
    assert event["pathParameters"] == {"userId": "a b", "proxy": "x/y%z"}
    assert event["requestContext"]["http"]["path"] == "/users/a b/files/x/y%z"


def test_http_api_cors_preflight_and_response_headers(app: App, seen: list[Any]) -> None:
    from cloudlet.api import CorsConfig

    lam = app.fakes["lambda"]
    gateway = app.server.server.gateway
    gateway.add_route(HttpRoute("web", "GET", "/data", lam.add("data", lambda event: {"n": 1})))
    gateway.set_cors(
        "web",
        CorsConfig(
            allow_origins=("http://localhost:3000",),
            allow_methods=("GET", "POST"),
            allow_headers=("content-type", "x-token"),
            expose_headers=("x-total",),
            max_age=600,
        ),
    )
    status, headers, body, _ = _request(
        app,
        "OPTIONS",
        "/_api/web/data",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
    )
    assert status == 204
    assert body == b""
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-allow-headers"] == "content-type,x-token"
    assert headers["access-control-max-age"] == "600"
    status, headers, body, _ = _request(
        app, "GET", "/_api/web/data", headers={"Origin": "http://localhost:3000"}
    )
    assert (status, json.loads(body)) == (200, {"n": 1})
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert headers["access-control-expose-headers"] == "x-total"
    # An origin that is not allowed gets no CORS headers.
    status, headers, _, _ = _request(app, "GET", "/_api/web/data", headers={"Origin": "http://evil.example"})
    assert status == 200
    assert "access-control-allow-origin" not in headers
