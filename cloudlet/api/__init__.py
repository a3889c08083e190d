"""cloudlet's AWS-compatible HTTP API: boto3 and the AWS CLI work unchanged against it.

One endpoint serves every service the application runs, by default ``http://127.0.0.1:4566``
(``cloudlet up --port N``; ``--port 0`` picks a free port and prints it). Point clients at it::

    export AWS_ENDPOINT_URL=http://127.0.0.1:4566
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
    export AWS_DISABLE_HOST_PREFIX_INJECTION=true   # StartSyncExecution calls "sync-<host>"

or ``boto3.client("sqs", endpoint_url=..., config=Config(inject_host_prefix=False))``.

How a request finds its operation:

* json protocol (Step Functions, EventBridge, SQS, Kinesis, CloudWatch Logs): the
  ``X-Amz-Target`` header, ``<targetPrefix>.<Operation>``;
* query protocol (SNS, and SQS for clients built before SQS moved to JSON): ``Action=`` with
  the service from the SigV4 credential scope, the ``Version`` or the queue URL path;
* rest-json (Lambda): method and path matched against the model's request URIs.

botocore's service models drive parsing and serialization (``protocols/``), so a service method
named as boto3 names the operation (``send_message``) is the whole implementation of it; an
operation a service lacks answers ``NotImplemented`` (HTTP 501) naming it, an unknown one
``UnknownOperationException`` / ``InvalidAction``. Errors from ``cloudlet.errors`` are rendered
in each protocol's shape with the modeled code and status, so boto3 raises the modeled
exception class (``client.exceptions.QueueDoesNotExist``...).

Authentication is off unless ``ApiConfig(access_keys={"AKID": "secret"})``: then every request
must carry a valid SigV4 signature for one of the keys (``Authorization`` header, or a presigned
URL's query string), else AWS's errors (``MissingAuthenticationTokenException``,
``IncompleteSignatureException``, ``UnrecognizedClientException`` / ``InvalidClientTokenId``,
``InvalidSignatureException`` / ``SignatureDoesNotMatch``).

HTTP events for functions (SAM ``Api`` and ``HttpApi`` events) are served on the same port under
``/_api/<api-id>/<path>`` (``Gateway`` / ``HttpRoute``), as API Gateway proxy integrations with
payload format 1.0 or 2.0; ``Gateway.set_cors`` adds an HTTP API's CORS answers.
``GET /_cloudlet/health`` lists the running services.

Not served: event-stream operations (Kinesis SubscribeToShard, Lambda
InvokeWithResponseStream), TLS, HTTP/2.
"""

from __future__ import annotations

from cloudlet.api.app import ApiApp, ApiServer, create_app, serve
from cloudlet.api.config import DEFAULT_HOST, DEFAULT_PORT, GATEWAY_PREFIX, ApiConfig
from cloudlet.api.gateway import CorsConfig, Gateway, HttpRoute

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GATEWAY_PREFIX",
    "ApiApp",
    "ApiConfig",
    "ApiServer",
    "CorsConfig",
    "Gateway",
    "HttpRoute",
    "create_app",
    "serve",
]
