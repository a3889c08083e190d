"""HTTP events for functions: API Gateway proxy integrations (SAM ``Api`` and ``HttpApi``).

The runtime adds a route per SAM event; requests to
``http://HOST:PORT/_api/<api-id>/<path>`` are matched against that API's routes (exact paths
first, then ``{param}`` segments, then ``{proxy+}``; an exact method before ``ANY``), turned
into the proxy event of the route's payload format (1.0: REST API / ``Api``; 2.0: ``HttpApi``),
handed to the function with ``router.deliver(function_arn, event)`` and the function's answer
mapped back to HTTP as API Gateway does.

https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

import orjson

from cloudlet.api.http import Request, Response
from cloudlet.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from cloudlet.errors import CloudletError, ValidationError
from cloudlet.router import Router

logger = logging.getLogger(__name__)

PayloadFormat = Literal["1.0", "2.0"]

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")


@dataclass(frozen=True, slots=True)
class HttpRoute:
    """One route of an API: ``GET /items/{id}`` (or ``ANY /{proxy+}``, ``$default``) -> a function."""

    api_id: str
    method: str
    path: str
    function_arn: str
    payload_format: PayloadFormat = "2.0"
    stage: str = "$default"
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _rank: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.payload_format not in ("1.0", "2.0"):
            raise ValidationError(f"Unsupported payload format version {self.payload_format}")
        method = self.method.upper()
        object.__setattr__(
            self, "method", "ANY" if method in ("ANY", "*", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method
        )
        if self.path == "$default":
            regex, greedy, params = ".*", 2, 0
        else:
            regex, greedy, params = "", 0, 0
            for segment in self.path.strip("/").split("/"):
                if not segment:
                    continue
                label = re.fullmatch(r"\{([A-Za-z0-9_.-]+)(\+?)\}", segment)
                if label is None:
                    regex += "/" + re.escape(segment)
                elif label[2]:
                    regex += f"/(?P<{_group(label[1])}>.+)"
                    greedy = 1
                else:
                    regex += f"/(?P<{_group(label[1])}>[^/]+)"
                    params += 1
            regex = regex or "/"
            if regex != "/":
                regex += "/?"
        object.__setattr__(self, "_pattern", re.compile(f"^{regex}$"))
        object.__setattr__(self, "_rank", (greedy, params, 1 if self.method == "ANY" else 0))

    @property
    def route_key(self) -> str:
        """``GET /items/{id}`` or ``$default``, as HTTP APIs name routes."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves ``method path``, else None."""
        if self.method not in ("ANY", method):
            return None
        found = self._pattern.match(path)
        if found is None:
            return None
        return {_label(k): unquote(v) for k, v in found.groupdict().items()}


@dataclass(frozen=True, slots=True)
class CorsConfig:
    """An API's CORS settings (SAM ``Cors`` / ``CorsConfiguration``).

    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
    """

    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for a request from ``origin`` (None: not allowed)."""
        if not origin:
            return None
        if origin in self.allow_origins:
            return origin
        if "*" in self.allow_origins:
            return origin if self.allow_credentials else "*"
        return None

    def preflight(self, request: Request) -> Response:
        """The answer to an OPTIONS preflight request."""
        allowed = self.origin(request.headers.get("origin"))
        headers: list[tuple[str, str]] = []
        if allowed is not None:
            requested_headers = request.headers.get("access-control-request-headers", "")
            allow_headers = requested_headers if "*" in self.allow_headers else ",".join(self.allow_headers)
            requested_method = request.headers.get("access-control-request-method", "")
            allow_methods = requested_method if "*" in self.allow_methods else ",".join(self.allow_methods)
            headers.append(("access-control-allow-origin", allowed))
            if allow_methods:
                headers.append(("access-control-allow-methods", allow_methods))
            if allow_headers:
                headers.append(("access-control-allow-headers", allow_headers))
            if self.max_age is not None:
                headers.append(("access-control-max-age", str(self.max_age)))
            if self.allow_credentials:
                headers.append(("access-control-allow-credentials", "true"))
        return Response(204, b"", headers)

    def decorate(self, request: Request, response: Response) -> Response:
        """Add the CORS headers an actual (non-preflight) response carries."""
        allowed = self.origin(request.headers.get("origin"))
        if allowed is None:
            return response
        response.headers = [h for h in response.headers if not h[0].startswith("access-control-")]
        response.headers.append(("access-control-allow-origin", allowed))
        if self.expose_headers:
            response.headers.append(("access-control-expose-headers", ",".join(self.expose_headers)))
        if self.allow_credentials:
            response.headers.append(("access-control-allow-credentials", "true"))
        return response


def _group(label: str) -> str:
    return "p_" + label.encode().hex()


def _label(group: str) -> str:
    return bytes.fromhex(group[2:]).decode()


class Gateway:
    """The route table of every HTTP API in the application, and the proxy that serves it."""

    def __init__(
        self, router: Router, *, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
    ) -> None:
        self.router = router
        self.account = account
        self.region = region
        self._routes: dict[str, list[HttpRoute]] = {}
        self._cors: dict[str, CorsConfig] = {}

    def add_route(self, route: HttpRoute) -> None:
        """Serve ``route`` (replacing one with the same API, method and path)."""
        routes = [
            r for r in self._routes.get(route.api_id, []) if (r.method, r.path) != (route.method, route.path)
        ]
        routes.append(route)
        routes.sort(key=lambda r: r._rank)
        self._routes[route.api_id] = routes

    def remove_api(self, api_id: str) -> None:
        """Stop serving every route of ``api_id`` (and forget its CORS settings)."""
        self._routes.pop(api_id, None)
        self._cors.pop(api_id, None)

    def set_cors(self, api_id: str, cors: CorsConfig | None) -> None:
        """Answer preflight requests of ``api_id`` and add CORS headers to its responses (HTTP APIs)."""
        if cors is None:
            self._cors.pop(api_id, None)
        else:
            self._cors[api_id] = cors

    @property
    def routes(self) -> list[HttpRoute]:
        return [r for routes in self._routes.values() for r in routes]

    async def handle(self, request: Request, api_path: str) -> Response:
        """Serve ``request`` whose path below the gateway prefix is ``/<api-id>/<rest>``."""
        api_id, _, rest = api_path.lstrip("/").partition("/")
        path = "/" + rest
        routes = self._routes.get(api_id)
        if routes is None:
            return _message(404, "Not Found")
        cors = self._cors.get(api_id)
        if (
            cors is not None
            and request.method == "OPTIONS"
            and "access-control-request-method" in request.headers
        ):
            return cors.preflight(request)
        response = await self._integrate(routes, request, path)
        if cors is not None and routes[0].payload_format == "2.0":
            # HTTP APIs answer CORS themselves; REST API functions set their own headers.
            response = cors.decorate(request, response)
        return response

    async def _integrate(self, routes: list[HttpRoute], request: Request, path: str) -> Response:
        for route in routes:
            params = route.match(request.method, path)
            if params is None:
                continue
            if route.payload_format == "1.0":
                event = self._event_v1(route, request, path, params)
            else:
                event = self._event_v2(route, request, path, params)
            try:
                result = await self.router.deliver(route.function_arn, event)
            except CloudletError as error:
                logger.warning(
                    "integration failed",
                    extra={"action": "invoke", "function": route.function_arn, "code": error.code},
                )
                return _message(502, "Internal server error")
            try:
                if route.payload_format == "1.0":
                    return _response_v1(result)
                return _response_v2(result)
            except (TypeError, ValueError, KeyError):
                logger.warning("malformed integration response", extra={"function": route.function_arn})
                return _message(502, "Internal server error")
        if routes and all(r.payload_format == "1.0" for r in routes):
            # REST APIs answer an unmatched method or path this way.
            return _message(403, "Missing Authentication Token")
        return _message(404, "Not Found")

    # -- events ---------------------------------------------------------------------------
    def _common_context(self, route: HttpRoute, request: Request) -> dict[str, Any]:
        now = time.time()
        return {
            "accountId": self.account,
            "apiId": route.api_id,
            "domainName": request.headers.get("host", "localhost"),
            "domainPrefix": request.headers.get("host", "localhost").split(".")[0].split(":")[0],
            "requestId": str(uuid.uuid4()),
            "stage": route.stage,
            "_epoch_ms": int(now * 1000),
            "_time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        }

    def _event_v1(
        self, route: HttpRoute, request: Request, path: str, params: dict[str, str]
    ) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in _raw_headers(request):
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(request.query_string, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        context = self._common_context(route, request)
        body, is_base64 = _body(request, binary_by_type=False)
        source_ip = request.headers.get("x-forwarded-for", "127.0.0.1").split(",")[0].strip()
        resource = "/{proxy+}" if route.path == "$default" else route.path
        return {
            "resource": resource,
            "path": unquote(path),
            "httpMethod": request.method,
            "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": context["accountId"],
                "apiId": context["apiId"],
                "resourceId": route.api_id[:6],
                "resourcePath": resource,
                "httpMethod": request.method,
                "extendedRequestId": context["requestId"],
                "requestId": context["requestId"],
                "path": f"/{route.stage}{unquote(path)}" if route.stage != "$default" else unquote(path),
                "stage": route.stage,
                "domainName": context["domainName"],
                "domainPrefix": context["domainPrefix"],
                "protocol": "HTTP/1.1",
                "requestTime": context["_time"],
                "requestTimeEpoch": context["_epoch_ms"],
                "identity": {
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "sourceIp": source_ip,
                    "user": None,
                    "userAgent": request.headers.get("user-agent"),
                    "userArn": None,
                },
                "authorizer": None,
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _event_v2(
        self, route: HttpRoute, request: Request, path: str, params: dict[str, str]
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for raw_name, value in _raw_headers(request):
            name = raw_name.lower()
            if name == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.query_string, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        context = self._common_context(route, request)
        body, is_base64 = _body(request, binary_by_type=True)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": path,
            "rawQueryString": request.query_string,
        }
        if cookies:
            event["cookies"] = cookies
        event["headers"] = headers
        if query:
            event["queryStringParameters"] = query
        event["requestContext"] = {
            "accountId": context["accountId"],
            "apiId": context["apiId"],
            "domainName": context["domainName"],
            "domainPrefix": context["domainPrefix"],
            "http": {
                "method": request.method,
                "path": unquote(path),
                "protocol": "HTTP/1.1",
                "sourceIp": request.headers.get("x-forwarded-for", "127.0.0.1").split(",")[0].strip(),
                "userAgent": request.headers.get("user-agent", ""),
            },
            "requestId": context["requestId"],
            "routeKey": route.route_key,
            "stage": route.stage,
            "time": context["_time"],
            "timeEpoch": context["_epoch_ms"],
        }
        if body is not None:
            event["body"] = body
        if params:
            event["pathParameters"] = params
        event["isBase64Encoded"] = is_base64
        return event


def _raw_headers(request: Request) -> list[tuple[str, str]]:
    return list(request.raw_headers) or list(request.headers.items())


def _body(request: Request, *, binary_by_type: bool) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = request.headers.get("content-type", "").lower()
    textual = not content_type or any(t in content_type for t in _TEXT_TYPES) or "charset=" in content_type
    if binary_by_type and not textual:
        return base64.b64encode(request.body).decode("ascii"), True
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode("ascii"), True


def _message(status: int, message: str) -> Response:
    return Response(
        status,
        orjson.dumps({"message": message}),
        [("content-type", "application/json"), ("date", formatdate(usegmt=True))],
    )


def _body_bytes(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise ValueError("body must be a string")
    if result.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode()


def _response_v1(result: Any) -> Response:
    """A REST API proxy response: ``statusCode``, ``headers``, ``multiValueHeaders``, ``body``."""
    if not isinstance(result, dict) or "statusCode" not in result:
        raise ValueError("missing statusCode")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    for name, value in single.items():
        if name not in multi:
            headers.append((name.lower(), str(value)))
    for name, values in multi.items():
        headers.extend((name.lower(), str(v)) for v in values)
    if not any(h[0] == "content-type" for h in headers):
        headers.append(("content-type", "application/json"))
    return Response(int(result["statusCode"]), _body_bytes(result), headers)


def _response_v2(result: Any) -> Response:
    """An HTTP API response: the full form, or any other JSON value as a 200 JSON body."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = [(name.lower(), str(value)) for name, value in (result.get("headers") or {}).items()]
        headers.extend(("set-cookie", str(c)) for c in result.get("cookies") or [])
        if not any(h[0] == "content-type" for h in headers):
            headers.append(("content-type", "application/json"))
        return Response(int(result["statusCode"]), _body_bytes(result), headers)
    body = result.encode() if isinstance(result, str) else orjson.dumps(result)
    return Response(200, body, [("content-type", "application/json")])
