"""SNS's error codes as its service model names them on the wire (query protocol).

https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html
"""

from __future__ import annotations

from cloudlet.errors import CloudletError, ResourceNotFound, ValidationError


class NotFound(ResourceNotFound):
    """A topic, subscription or endpoint that does not exist (``NotFoundException``)."""

    code = "NotFound"
    status = 404


class TagResourceNotFound(ResourceNotFound):
    """Tagging a resource that does not exist (``ResourceNotFoundException``)."""

    code = "ResourceNotFound"
    status = 404


class InvalidParameter(ValidationError):
    """``InvalidParameterException``: messages read ``Invalid parameter: <name>...``."""

    code = "InvalidParameter"


class InvalidParameterValue(ValidationError):
    """``InvalidParameterValueException`` (its wire code is ``ParameterValueInvalid``)."""

    code = "ParameterValueInvalid"


class AuthorizationError(CloudletError):
    code = "AuthorizationError"
    status = 403


class EmptyBatchRequest(ValidationError):
    code = "EmptyBatchRequest"


class TooManyEntriesInBatchRequest(ValidationError):
    code = "TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(ValidationError):
    code = "BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(ValidationError):
    code = "InvalidBatchEntryId"


class BatchRequestTooLong(ValidationError):
    code = "BatchRequestTooLong"


class TagLimitExceeded(ValidationError):
    code = "TagLimitExceeded"


__all__ = [
    "AuthorizationError",
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidBatchEntryId",
    "InvalidParameter",
    "InvalidParameterValue",
    "NotFound",
    "TagLimitExceeded",
    "TagResourceNotFound",
    "TooManyEntriesInBatchRequest",
]
