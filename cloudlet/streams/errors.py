"""Kinesis Data Streams' error codes, as its service model names them."""

from __future__ import annotations

from cloudlet.errors import LimitExceeded, ResourceConflict, ResourceNotFound, ValidationError


class StreamNotFound(ResourceNotFound):
    code = "ResourceNotFoundException"


class ResourceInUse(ResourceConflict):
    code = "ResourceInUseException"
    status = 400


class InvalidArgument(ValidationError):
    code = "InvalidArgumentException"


class ExpiredIterator(ValidationError):
    code = "ExpiredIteratorException"


class KinesisLimitExceeded(LimitExceeded):
    code = "LimitExceededException"


__all__ = ["ExpiredIterator", "InvalidArgument", "KinesisLimitExceeded", "ResourceInUse", "StreamNotFound"]
