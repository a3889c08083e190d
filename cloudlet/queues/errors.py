"""SQS's error codes, as its service model names them.

SQS speaks the AWS JSON protocol with ``awsQueryCompatible``: the error ``code`` is the model's
shape name (``QueueDoesNotExist``) and ``query_code`` is the legacy Query code that SQS also sends
in the ``x-amzn-query-error`` header (``AWS.SimpleQueueService.NonExistentQueue``), which boto3
then reports as ``Error.Code``. The HTTP API layer writes both.

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

from cloudlet.errors import CloudletError, ResourceConflict, ResourceNotFound, ValidationError


class SqsError(CloudletError):
    """Mixin-free base: every SQS error carries its Query-compatible code."""

    query_code: str | None = None
    sender_fault: bool = True


class QueueDoesNotExist(ResourceNotFound, SqsError):
    code = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"

    def __init__(self, message: str = "The specified queue does not exist.") -> None:
        super().__init__(message)


class QueueNameExists(ResourceConflict, SqsError):
    code = "QueueNameExists"
    query_code = "QueueAlreadyExists"
    status = 400


class InvalidParameterValue(ValidationError, SqsError):
    code = "InvalidParameterValue"
    query_code = "InvalidParameterValue"


class MissingParameter(ValidationError, SqsError):
    code = "MissingParameter"
    query_code = "MissingParameter"


class InvalidAttributeName(ValidationError, SqsError):
    code = "InvalidAttributeName"
    query_code = "InvalidAttributeName"


class InvalidAttributeValue(ValidationError, SqsError):
    code = "InvalidAttributeValue"
    query_code = "InvalidAttributeValue"


class InvalidMessageContents(ValidationError, SqsError):
    code = "InvalidMessageContents"
    query_code = "InvalidMessageContents"


class ReceiptHandleIsInvalid(ValidationError, SqsError):
    code = "ReceiptHandleIsInvalid"
    query_code = "ReceiptHandleIsInvalid"

    def __init__(self, handle: str) -> None:
        super().__init__(f'The input receipt handle "{handle}" is not a valid receipt handle.')


class MessageNotInflight(ValidationError, SqsError):
    code = "MessageNotInflight"
    query_code = "AWS.SimpleQueueService.MessageNotInflight"

    def __init__(self, message: str = "The message referred to isn't in flight.") -> None:
        super().__init__(message)


class PurgeQueueInProgress(ValidationError, SqsError):
    code = "PurgeQueueInProgress"
    query_code = "AWS.SimpleQueueService.PurgeQueueInProgress"


class EmptyBatchRequest(ValidationError, SqsError):
    code = "EmptyBatchRequest"
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"


class TooManyEntriesInBatchRequest(ValidationError, SqsError):
    code = "TooManyEntriesInBatchRequest"
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(ValidationError, SqsError):
    code = "BatchEntryIdsNotDistinct"
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(ValidationError, SqsError):
    code = "InvalidBatchEntryId"
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"


class BatchRequestTooLong(ValidationError, SqsError):
    code = "BatchRequestTooLong"
    query_code = "AWS.SimpleQueueService.BatchRequestTooLong"


class UnsupportedOperation(ValidationError, SqsError):
    code = "UnsupportedOperation"
    query_code = "AWS.SimpleQueueService.UnsupportedOperation"


class MessageMoveTaskNotFound(ResourceNotFound, SqsError):
    code = "ResourceNotFoundException"
    query_code = "ResourceNotFoundException"


__all__ = [
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBatchEntryId",
    "InvalidMessageContents",
    "InvalidParameterValue",
    "MessageMoveTaskNotFound",
    "MessageNotInflight",
    "MissingParameter",
    "PurgeQueueInProgress",
    "QueueDoesNotExist",
    "QueueNameExists",
    "ReceiptHandleIsInvalid",
    "SqsError",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
]
