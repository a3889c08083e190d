"""cloudlet's AWS-compatible HTTP API: boto3 and the AWS CLI work unchanged against it.

One endpoint (default ``http://127.0.0.1:4566``) serves every registered service. Requests are
routed by ``X-Amz-Target`` (json protocol), ``Action=`` (query protocol) or method and path
(rest-json); botocore's service models drive parsing and serialization, so a service method
named as boto3 names the operation is the whole implementation of that operation. HTTP events
for functions (API Gateway proxy integrations) are served under ``/_api/<api-id>/``.
"""

from __future__ import annotations

from cloudlet.api.app import ApiApp, ApiServer, create_app, serve
from cloudlet.api.config import DEFAULT_HOST, DEFAULT_PORT, GATEWAY_PREFIX, ApiConfig
from cloudlet.api.gateway import Gateway, HttpRoute

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GATEWAY_PREFIX",
    "ApiApp",
    "ApiConfig",
    "ApiServer",
    "Gateway",
    "HttpRoute",
    "create_app",
    "serve",
]
