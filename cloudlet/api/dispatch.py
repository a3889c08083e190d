"""From an HTTP request to a service method call and back, for every registered service.

A request names its service and operation in one of three ways: an ``X-Amz-Target`` header
(json protocol), ``Action=`` form parameters (query protocol; the service from the SigV4
credential scope, the ``Version`` or the queue URL path), or its method and path (rest-json).
The operation's botocore model then drives parsing and serialization; the service method
named as boto3 names the operation does the work.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import orjson
from botocore.model import OperationModel

from cloudlet.api import auth
from cloudlet.api.config import ApiConfig
from cloudlet.api.http import Request, Response
from cloudlet.api.models import ServiceApi, service_api
from cloudlet.api.protocols import awsjson, query, restjson
from cloudlet.errors import CloudletError, ValidationError
from cloudlet.router import Router, operation_method_name

logger = logging.getLogger(__name__)


class UnknownOperation(CloudletError):
    """The request names no operation of a service that cloudlet runs."""

    code = "UnknownOperationException"


class NotImplementedOperation(CloudletError):
    """The operation exists in AWS's API but the cloudlet service does not implement it."""

    code = "NotImplemented"
    status = 501


class InternalFailure(CloudletError):
    """An unexpected failure inside cloudlet (logged with its traceback)."""

    code = "InternalFailure"
    status = 500


@dataclass(frozen=True, slots=True)
class Call:
    """A routed request: the service, its operation and the protocol it arrived in."""

    service: ServiceApi
    operation: OperationModel
    protocol: str  # "json" | "query" | "rest-json"
    labels: dict[str, str]
    params: list[tuple[str, str]] | None = None


class Dispatcher:
    """Routes, authenticates, parses, calls and serializes one request at a time."""

    def __init__(self, router: Router, config: ApiConfig | None = None) -> None:
        self.router = router
        self.config = config or ApiConfig()
        self._accepted: dict[Any, frozenset[str] | None] = {}
        self._method_names: dict[str, str] = {}  # operation -> boto3's method name

    # -- service catalog (follows the router: services may register after the server starts) --
    def _services(self) -> list[ServiceApi]:
        found = []
        for name in self.router.services:
            api = service_api(name)
            if api is not None:
                found.append(api)
        return found

    def _by_target_prefix(self, prefix: str) -> ServiceApi | None:
        for api in self._services():
            if api.target_prefix == prefix:
                return api
        return None

    # -- entry point ----------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Answer one AWS API request."""
        request_id = _request_id()
        try:
            call = self.route(request)
        except CloudletError as error:
            logger.info(
                "request not routed",
                extra={"action": "route", "code": error.code, "path": request.path, "error": error.message},
            )
            return _unrouted_error(request, error, request_id)
        try:
            if self.config.access_keys:
                try:
                    auth.verify(request, self.config.access_keys)
                except auth.AuthError as error:
                    if call.protocol == "query":
                        error.code = error.query_code
                    raise
            kwargs = self._parse(call, request)
            result = await self._invoke(call, kwargs)
            return self._serialize(call, result, request_id)
        except CloudletError as error:
            logger.info(
                "operation answered an error",
                extra={
                    "action": call.operation.name,
                    "service": call.service.name,
                    "code": error.code,
                    "error": error.message,
                },
            )
            return self._serialize_error(call, error, request_id)
        except Exception:
            logger.exception(
                "operation failed",
                extra={"action": call.operation.name, "service": call.service.name},
            )
            failure = InternalFailure("An internal error occurred in cloudlet; see its log.")
            return self._serialize_error(call, failure, request_id)

    # -- routing --------------------------------------------------------------------------
    def route(self, request: Request) -> Call:
        """Find the service, operation and protocol of ``request``; raise when there is none."""
        target = request.headers.get("x-amz-target")
        if target:  # json protocol: the target alone names the service and the operation
            prefix, _, name = target.rpartition(".")
            service = self._by_target_prefix(prefix)
            if service is None:
                raise UnknownOperation(f"Unknown target prefix '{prefix}': no such service runs in cloudlet")
            return Call(service, self._operation(service, name, query=False), "json", {})
        scope = auth.credential_scope(request.headers.get("authorization"))
        if scope is None and "X-Amz-Credential=" in request.query_string:
            presigned = dict(request.query_params()).get("X-Amz-Credential", "")
            scope = auth.credential_scope(f"Credential={presigned}")
        content_type = request.headers.get("content-type", "")
        if "x-www-form-urlencoded" in content_type or "Action=" in request.query_string:
            params = query.form_params(request)
            return self._route_query(request, params, scope)
        return self._route_rest(request, scope)

    def _route_query(
        self, request: Request, params: list[tuple[str, str]], scope: auth.CredentialScope | None
    ) -> Call:
        values = dict(params)
        action = values.get("Action")
        if not action:
            raise _QueryError("MissingAction", "The request must contain the parameter Action.")
        services = {api.name: api for api in self._services()}
        service = services.get(scope.service) if scope is not None else None
        if service is None:
            version = values.get("Version")
            candidates = [api for api in services.values() if version and api.api_version == version]
            if not candidates and ("QueueUrl" in values or _looks_like_queue_path(request.path)):
                candidates = [api for api in services.values() if api.name == "sqs"]
            service = candidates[0] if len(candidates) == 1 else None
        if service is None:
            raise _QueryError("InvalidAction", f"Could not find a service running in cloudlet for {action}.")
        try:
            operation = service.operation(action, query=True)
        except KeyError:
            raise _QueryError(
                "InvalidAction", f"The action {action} is not valid for this web service."
            ) from None
        return Call(service, operation, "query", {}, params)

    def _route_rest(self, request: Request, scope: auth.CredentialScope | None) -> Call:
        services = [api for api in self._services() if api.rest_routes]
        if scope is not None:
            services = [api for api in services if api.name == scope.service] or services
        method = request.method
        query_keys = None
        for service in services:
            for route in service.rest_routes:
                if route.method != method:
                    continue
                match = route.pattern.match(request.path)
                if match is None:
                    continue
                if route.required_query:
                    if query_keys is None:
                        query_keys = dict(request.query_params())
                    if any(
                        k not in query_keys or (v is not None and query_keys[k] != v)
                        for k, v in route.required_query
                    ):
                        continue
                return Call(service, route.operation, "rest-json", match.groupdict())
        raise UnknownOperation(f"No operation of a running service matches {method} {request.path}")

    @staticmethod
    def _operation(service: ServiceApi, name: str, *, query: bool) -> OperationModel:
        try:
            return service.operation(name, query=query)
        except KeyError:
            raise UnknownOperation(f"Unknown operation {name} for service {service.name}") from None

    # -- parsing, calling, serializing --------------------------------------------------------
    def _parse(self, call: Call, request: Request) -> dict[str, Any]:
        operation = call.operation
        if operation.has_event_stream_output or operation.has_event_stream_input:
            raise NotImplementedOperation(
                f"cloudlet does not serve {call.service.name}:{operation.name}: "
                "event-stream responses are not supported by its HTTP API"
            )
        if call.protocol == "json":
            kwargs = awsjson.parse_request(call.service, call.operation, request)
        elif call.protocol == "query":
            kwargs = query.parse_request(call.service, call.operation, call.params or [])
            if (
                call.service.name == "sqs"
                and "QueueUrl" not in kwargs
                and _looks_like_queue_path(request.path)
            ):
                # Old SQS clients post to the queue URL instead of naming it.
                host = request.headers.get("host", f"{self.config.host}:{self.config.port}")
                kwargs["QueueUrl"] = f"http://{host}{request.path}"
        else:
            kwargs = restjson.parse_request(call.service, call.operation, request, call.labels)
        shape = call.operation.input_shape
        if shape is not None:
            missing = [name for name in shape.required_members if kwargs.get(name) is None]
            if missing and call.service.query_compatible:
                # Services that began on the query protocol (SQS) name the first missing one.
                raise CloudletError(
                    f"The request must contain the parameter {missing[0]}.", code="MissingParameter"
                )
            if missing:
                raise ValidationError(
                    f"{len(missing)} validation error{'s' if len(missing) > 1 else ''} detected: "
                    + "; ".join(
                        f"Value null at '{_lower_first(name)}' failed to satisfy constraint: "
                        "Member must not be null"
                        for name in missing
                    ),
                    # The query services' request framework names this failure ValidationError.
                    code="ValidationError" if call.protocol == "query" else None,
                )
        return kwargs

    async def _invoke(self, call: Call, kwargs: dict[str, Any]) -> Any:
        method, accepted = self._method(call)
        if accepted is not None:
            unsupported = [name for name in kwargs if name not in accepted]
            if unsupported:
                raise ValidationError(
                    f"cloudlet does not support parameter(s) {', '.join(unsupported)} of "
                    f"{call.service.name}:{call.operation.name}"
                )
        result = method(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _method(self, call: Call) -> tuple[Callable[..., Any], frozenset[str] | None]:
        """The service method of the call's operation and the keyword names it accepts (None: any)."""
        api = self.router.services.get(call.service.name)
        operation = call.operation.name
        name = self._method_names.get(operation)
        if name is None:
            name = self._method_names[operation] = operation_method_name(operation)
        method = getattr(api, name, None)
        if method is None or not callable(method):
            raise NotImplementedOperation(
                f"cloudlet does not implement {call.service.name}:{call.operation.name} yet"
            )
        # Looked up on every call (services may be registered again); signatures are cached.
        function = getattr(method, "__func__", method)
        try:
            return method, self._accepted[function]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable
            return method, None
        try:
            params = inspect.signature(method).parameters.values()
        except (TypeError, ValueError):
            accepted = None
        else:
            if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
                accepted = None
            else:
                accepted = frozenset(
                    p.name
                    for p in params
                    if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                )
        self._accepted[function] = accepted
        return method, accepted

    @staticmethod
    def _serialize(call: Call, result: Any, request_id: str) -> Response:
        if call.protocol == "json":
            return awsjson.serialize_response(call.service, call.operation, result, request_id)
        if call.protocol == "query":
            return query.serialize_response(call.service, call.operation, result, request_id)
        return restjson.serialize_response(call.service, call.operation, result, request_id)

    @staticmethod
    def _serialize_error(call: Call, error: CloudletError, request_id: str) -> Response:
        if call.protocol == "json":
            return awsjson.serialize_error(call.service, error, request_id)
        if call.protocol == "query":
            return query.serialize_error(call.service, error, request_id)
        return restjson.serialize_error(call.service, error, request_id)


class _QueryError(CloudletError):
    """A query-protocol request that names no valid action."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def _request_id() -> str:
    """A random (version 4) UUID as text: what ``str(uuid.uuid4())`` gives, at a third of its cost."""
    h = bytearray(os.urandom(16))
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _looks_like_queue_path(path: str) -> bool:
    """``/000000000000/orders``: the path of an SQS queue URL."""
    parts = path.strip("/").split("/")
    return len(parts) == 2 and parts[0].isdigit() and len(parts[0]) == 12


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _unrouted_error(request: Request, error: CloudletError, request_id: str) -> Response:
    """An error for a request that reached no service, in the shape its protocol expects."""
    if isinstance(error, _QueryError):
        body = (
            '<?xml version="1.0"?>\n<ErrorResponse><Error><Type>Sender</Type>'
            f"<Code>{error.code}</Code><Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(
            error.status, body.encode(), [("content-type", "text/xml"), ("x-amzn-requestid", request_id)]
        )
    body_json = orjson.dumps({"__type": error.code, "message": error.message})
    return Response(
        error.status,
        body_json,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", request_id),
            ("x-amzn-errortype", error.code),
        ],
    )
