"""HTTP routes of API Gateway resources (the OpenAPI bodies SAM generates for Api / HttpApi events)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cloudlet.templates.application import Resource

_INVOCATION_URI = re.compile(r"functions/(arn:[^/]+?)/invocations")
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One route: method (or ANY) and path template to a function, with its event payload version."""

    api_id: str
    method: str
    path: str
    function_arn: str
    payload_format: Literal["1.0", "2.0"]  # "1.0": REST API (v1 events); "2.0": HTTP API default


def api_routes(resource: Resource) -> list[ApiRoute]:
    """Routes of an ``AWS::ApiGateway::RestApi`` or ``AWS::ApiGatewayV2::Api`` with an OpenAPI Body."""
    body = resource.properties.get("Body") or resource.properties.get("DefinitionBody") or {}
    is_http_api = resource.type == "AWS::ApiGatewayV2::Api"
    routes = []
    for path, operations in (body.get("paths") or {}).items():
        if not isinstance(operations, dict):
            continue
        for method, spec in operations.items():
            if method.lower() not in _METHODS or not isinstance(spec, dict):
                continue
            integration = spec.get("x-amazon-apigateway-integration") or {}
            match = _INVOCATION_URI.search(str(integration.get("uri", "")))
            if not match:
                continue
            declared = str(integration.get("payloadFormatVersion") or ("2.0" if is_http_api else "1.0"))
            fmt: Literal["1.0", "2.0"] = "2.0" if declared == "2.0" else "1.0"
            verb = "ANY" if method.lower() == "x-amazon-apigateway-any-method" else method.upper()
            routes.append(ApiRoute(resource.name, verb, path, match.group(1), fmt))
    return routes


_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def state_machine_definition(resource: Resource) -> str:
    """The definition text of a state machine, with ``DefinitionSubstitutions`` applied as AWS does."""
    import json

    props = resource.properties
    definition = props.get("DefinitionString")
    if definition is None:
        definition = json.dumps(props.get("Definition") or {})
    substitutions = props.get("DefinitionSubstitutions") or {}

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(substitutions[key]) if key in substitutions else match.group(0)

    return _SUBSTITUTION.sub(substitute, str(definition)) if substitutions else str(definition)
