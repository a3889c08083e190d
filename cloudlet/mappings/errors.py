"""Lambda's error codes for event source mappings, as its service model names them."""

from __future__ import annotations

from cloudlet.errors import ResourceConflict, ResourceNotFound, ValidationError


class InvalidParameterValue(ValidationError):
    code = "InvalidParameterValueException"


class MappingNotFound(ResourceNotFound):
    code = "ResourceNotFoundException"
    status = 404


class MappingConflict(ResourceConflict):
    code = "ResourceConflictException"


class MappingInUse(ResourceConflict):
    code = "ResourceInUseException"
    status = 400


__all__ = ["InvalidParameterValue", "MappingConflict", "MappingInUse", "MappingNotFound"]
