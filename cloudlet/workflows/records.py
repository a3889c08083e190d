"""What the service stores: state machines and executions as frozen records, and their documents.

Store layout (namespaces):

* ``states:machines``   document per state machine, key = its ARN;
* ``states:executions`` document per Standard execution, key = its ARN;
* ``states:history``    log per execution (stream = ARN, seq = event id): AWS-shaped events;
* ``states:journal``    log per execution: each effect result the driver performed (replay),
  task-token delivery markers and the UUIDs / random numbers the execution drew.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MACHINES = "states:machines"
EXECUTIONS = "states:executions"
HISTORY = "states:history"
JOURNAL = "states:journal"

STANDARD = "STANDARD"
EXPRESS = "EXPRESS"

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"
PENDING_REDRIVE = "PENDING_REDRIVE"


def to_datetime(seconds: float) -> datetime:
    """Epoch seconds as the timezone-aware UTC datetime the API returns."""
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True, slots=True)
class StateMachineRecord:
    """A state machine as CreateStateMachine / UpdateStateMachine left it."""

    arn: str
    name: str
    definition: str
    role_arn: str
    type: str
    creation_date: float
    revision_id: str
    logging: dict[str, Any]
    tracing: dict[str, Any]
    tags: tuple[tuple[str, str], ...] = ()
    update_date: float | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["tags"] = [list(t) for t in self.tags]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> StateMachineRecord:
        return cls(**{**doc, "tags": tuple((k, v) for k, v in doc.get("tags", []))})

    def describe(self) -> dict[str, Any]:
        """DescribeStateMachine's response."""
        return {
            "stateMachineArn": self.arn,
            "name": self.name,
            "status": "ACTIVE",
            "definition": self.definition,
            "roleArn": self.role_arn,
            "type": self.type,
            "creationDate": to_datetime(self.creation_date),
            "loggingConfiguration": self.logging,
            "tracingConfiguration": self.tracing,
            "revisionId": self.revision_id,
        }


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One execution: what DescribeExecution shows, plus the definition it runs."""

    arn: str
    machine_arn: str
    name: str
    type: str
    definition: str
    input: str
    start_date: float
    status: str = RUNNING
    stop_date: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    trace_header: str | None = None
    redrive_count: int = 0
    redrive_date: float | None = None
    role_arn: str = ""

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def to_doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ExecutionRecord:
        return cls(**doc)

    def summary(self) -> dict[str, Any]:
        """One entry of ListExecutions."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": to_datetime(self.start_date),
        }
        if self.stop_date is not None:
            out["stopDate"] = to_datetime(self.stop_date)
        if self.type == STANDARD:
            out["redriveCount"] = self.redrive_count
            if self.redrive_date is not None:
                out["redriveDate"] = to_datetime(self.redrive_date)
        return out

    def describe(self, *, include_data: bool = True) -> dict[str, Any]:
        """DescribeExecution's response."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": to_datetime(self.start_date),
        }
        if self.stop_date is not None:
            out["stopDate"] = to_datetime(self.stop_date)
        if include_data:
            out["input"] = self.input
        out["inputDetails"] = {"included": include_data}
        if self.output is not None:
            if include_data:
                out["output"] = self.output
            out["outputDetails"] = {"included": include_data}
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.trace_header is not None:
            out["traceHeader"] = self.trace_header
        if self.type == STANDARD:
            out["redriveCount"] = self.redrive_count
            if self.redrive_date is not None:
                out["redriveDate"] = to_datetime(self.redrive_date)
            redrivable = self.status in (FAILED, TIMED_OUT, ABORTED)
            out["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
            if not redrivable:
                reason = (
                    "Execution is RUNNING and cannot be redriven"
                    if self.running
                    else "Execution is SUCCEEDED and cannot be redriven"
                    if self.status == SUCCEEDED
                    else f"Execution is {self.status} and cannot be redriven"
                )
                out["redriveStatusReason"] = reason
        return out
