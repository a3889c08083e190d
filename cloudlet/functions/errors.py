"""Lambda's error codes, as subclasses of cloudlet's one hierarchy (``cloudlet.errors``).

https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html and each operation's Errors.
"""

from __future__ import annotations

from typing import Any

from cloudlet.errors import CloudletError, LimitExceeded, ResourceConflict, ResourceNotFound, ValidationError

REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)
MANDATORY_RUNTIME_HANDLER = (
    "Runtime and Handler are mandatory parameters for functions created with deployment packages."
)


class FunctionNotFound(ResourceNotFound):
    """ResourceNotFoundException (404): the function, version, alias or config does not exist."""

    status = 404


class FunctionConflict(ResourceConflict):
    """ResourceConflictException (409)."""


class InvalidParameterValue(ValidationError):
    """InvalidParameterValueException (400): a parameter AWS Lambda rejects."""

    code = "InvalidParameterValueException"


class InvalidRequestContent(ValidationError):
    """InvalidRequestContentException (400): the request body is not valid JSON."""

    code = "InvalidRequestContentException"


class RequestTooLarge(ValidationError):
    """RequestTooLargeException (413): the payload exceeds Lambda's invocation payload quota."""

    code = "RequestTooLargeException"
    status = 413


class PreconditionFailed(CloudletError):
    """PreconditionFailedException (412): the RevisionId does not match."""

    code = "PreconditionFailedException"
    status = 412


class TooManyRequests(LimitExceeded):
    """TooManyRequestsException (429) with Lambda's ``Reason`` and ``Type`` members."""

    code = "TooManyRequestsException"
    status = 429

    def __init__(self, message: str, *, reason: str, **fields: Any) -> None:
        super().__init__(message, Reason=reason, Type="User", **fields)
        self.reason = reason


class InvalidRuntime(CloudletError):
    """InvalidRuntimeException (502): the function's runtime cannot run here."""

    code = "InvalidRuntimeException"
    status = 502


class ServiceFailure(CloudletError):
    """ServiceException (500): cloudlet could not do what the request needed."""

    code = "ServiceException"
    status = 500
