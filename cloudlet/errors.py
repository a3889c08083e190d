"""The one exception hierarchy of cloudlet.

Every error carries AWS's error ``code`` (the name a boto3 client would raise, such as
``InvalidDefinition`` or ``ResourceNotFoundException``) and a ``message`` in AWS's words.
The API and CLI layers map these to their wire shapes; nothing below them invents messages.

    CloudletError                        code, message
    ├── ValidationError                  ValidationException (bad request parameters)
    ├── ResourceNotFound                 ResourceNotFoundException (and service-specific codes)
    ├── ResourceConflict                 ResourceConflictException / ...AlreadyExists
    ├── LimitExceeded                    LimitExceededException / TooManyRequestsException
    ├── EngineError                      errors raised by the pure engines
    │   ├── InvalidDefinition            a States Language document AWS would reject
    │   ├── InvalidEventPattern          an event pattern AWS would reject
    │   ├── InvalidFilterPolicy          an SNS filter policy AWS would reject (InvalidParameter)
    │   └── InvalidTemplate              a SAM / CloudFormation template that cannot be loaded
    ├── ExecutionError                   a workflow or function failure as a value (error, cause)
    │   └── TaskFailed                   a task's failure reported by its resource
    └── StoreError                       the durable store could not do what was asked

Services subclass these where an AWS API names a more specific code (for example
Step Functions' ``StateMachineDoesNotExist``); set ``code`` on the subclass.
"""

from __future__ import annotations

from typing import Any


class CloudletError(Exception):
    """Base of every cloudlet error: AWS's error ``code`` and a human ``message``."""

    code: str = "InternalFailure"
    #: HTTP status the API answers with for this error.
    status: int = 400

    def __init__(self, message: str = "", *, code: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields

    def __str__(self) -> str:
        return self.message


class ValidationError(CloudletError):
    """A request parameter is missing, malformed or out of range."""

    code = "ValidationException"


class ResourceNotFound(CloudletError):
    """The named resource does not exist."""

    code = "ResourceNotFoundException"


class ResourceConflict(CloudletError):
    """The resource exists already, or is in a state that forbids the operation."""

    code = "ResourceConflictException"
    status = 409


class LimitExceeded(CloudletError):
    """A quota or rate limit was hit."""

    code = "LimitExceededException"


class EngineError(CloudletError):
    """An error from a pure engine (asl, patterns, templates)."""


class InvalidDefinition(EngineError):
    """A States Language definition that AWS would reject.

    The message names the rule and the JSON location, in AWS's style, for example
    ``SCHEMA_VALIDATION_FAILED: Missing 'Next' target: Foo at /States/Bar/Next``.
    """

    code = "InvalidDefinition"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class InvalidEventPattern(EngineError):
    """An event pattern that AWS would reject; the message is AWS's ("Event pattern is not valid. ...")."""

    code = "InvalidEventPatternException"


class InvalidFilterPolicy(EngineError):
    """An SNS subscription filter policy that AWS would reject ("Invalid parameter: FilterPolicy: ...")."""

    code = "InvalidParameter"


class InvalidTemplate(EngineError):
    """A SAM / CloudFormation template that cannot be loaded; the message names file and line."""

    code = "ValidationError"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line


class ExecutionError(CloudletError):
    """A failure carried as a value: Step Functions' (error, cause) pair."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(cause or error, code=error)
        self.error = error
        self.cause = cause


class TaskFailed(ExecutionError):
    """Raised by a task's resource to fail the task with this error name and cause."""


class StoreError(CloudletError):
    """The durable store could not complete an operation."""

    code = "InternalFailure"
    status = 500
