"""Step Functions' API errors: each ``code`` is the exception name in botocore's stepfunctions model.

    CloudletError
    ├── ResourceNotFound
    │   ├── StateMachineDoesNotExist
    │   ├── ExecutionDoesNotExist
    │   ├── TaskDoesNotExist
    │   └── StateMachineResourceNotFound     code "ResourceNotFound" (tag operations)
    ├── ResourceConflict
    │   ├── StateMachineAlreadyExists
    │   ├── ExecutionAlreadyExists
    │   ├── ExecutionNotRedrivable
    │   └── TaskTimedOut
    └── ValidationError
        ├── InvalidArn, InvalidName, InvalidToken, InvalidExecutionInput, InvalidOutput
        ├── InvalidStateMachineDefinition    code "InvalidDefinition"
        ├── StateMachineTypeNotSupported
        └── TooManyTags

Messages follow AWS's texts, e.g. ``State Machine Does Not Exist: 'arn:...'``.
https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
"""

from __future__ import annotations

from cloudlet.errors import ResourceConflict, ResourceNotFound, ValidationError


class StateMachineDoesNotExist(ResourceNotFound):
    """The state machine ARN names no state machine."""

    code = "StateMachineDoesNotExist"

    def __init__(self, arn: str) -> None:
        super().__init__(f"State Machine Does Not Exist: '{arn}'")


class ExecutionDoesNotExist(ResourceNotFound):
    """The execution ARN names no execution."""

    code = "ExecutionDoesNotExist"

    def __init__(self, arn: str) -> None:
        super().__init__(f"Execution Does Not Exist: '{arn}'")


class TaskDoesNotExist(ResourceNotFound):
    """The task token belongs to no known execution."""

    code = "TaskDoesNotExist"

    def __init__(self) -> None:
        super().__init__("Task Does Not Exist: 'Provided task does not exist'")


class StateMachineResourceNotFound(ResourceNotFound):
    """A tagging operation named a resource that does not exist (code ``ResourceNotFound``)."""

    code = "ResourceNotFound"

    def __init__(self, arn: str) -> None:
        super().__init__(f"Resource not found: '{arn}'")


class StateMachineAlreadyExists(ResourceConflict):
    """A state machine with that name exists with a different definition or settings."""

    code = "StateMachineAlreadyExists"
    status = 400

    def __init__(self, arn: str) -> None:
        super().__init__(f"State Machine Already Exists: '{arn}'")


class ExecutionAlreadyExists(ResourceConflict):
    """An execution with that name exists (closed, or running with a different input)."""

    code = "ExecutionAlreadyExists"
    status = 400

    def __init__(self, arn: str) -> None:
        super().__init__(f"Execution Already Exists: '{arn}'")


class ExecutionNotRedrivable(ResourceConflict):
    """The execution cannot be redriven (still running, succeeded, or not Standard)."""

    code = "ExecutionNotRedrivable"
    status = 400


class TaskTimedOut(ResourceConflict):
    """The task behind the token finished already (completed, timed out or aborted)."""

    code = "TaskTimedOut"
    status = 400

    def __init__(self) -> None:
        super().__init__("Task Timed Out: 'Provided task does not exist anymore'")


class InvalidArn(ValidationError):
    """A malformed ARN, or one of the wrong resource type for the operation."""

    code = "InvalidArn"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid Arn: '{detail}'")


class InvalidName(ValidationError):
    """A state machine or execution name AWS would reject."""

    code = "InvalidName"

    def __init__(self, name: str) -> None:
        super().__init__(f"Invalid Name: '{name}'")


class InvalidToken(ValidationError):
    """A task token or pagination token that cannot be decoded."""

    code = "InvalidToken"

    def __init__(self, detail: str = "Invalid token") -> None:
        super().__init__(f"Invalid Token: '{detail}'")


class InvalidExecutionInput(ValidationError):
    """The execution input is not valid JSON (or too large)."""

    code = "InvalidExecutionInput"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid State Machine Execution Input: '{detail}'")


class InvalidOutput(ValidationError):
    """SendTaskSuccess output that is not valid JSON."""

    code = "InvalidOutput"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid Output: '{detail}'")


class InvalidStateMachineDefinition(ValidationError):
    """A definition the engine rejected (code ``InvalidDefinition``)."""

    code = "InvalidDefinition"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid State Machine Definition: '{detail}'")
        self.detail = detail


class StateMachineTypeNotSupported(ValidationError):
    """The operation is not available for this type of state machine."""

    code = "StateMachineTypeNotSupported"

    def __init__(
        self, message: str = "This operation is not supported by this type of state machine"
    ) -> None:
        super().__init__(message)


class TooManyTags(ValidationError):
    """More than 50 tags on one resource."""

    code = "TooManyTags"

    def __init__(self, arn: str) -> None:
        super().__init__(f"Too many tags: the resource '{arn}' can have at most 50 tags")
