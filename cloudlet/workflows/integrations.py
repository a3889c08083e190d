"""Task resources: how a Task state's ``Resource`` reaches the resource that does the work.

* plain Lambda ARNs and ``arn:aws:states:::lambda:invoke``: ``router.deliver(function ARN)``
  (the engine shapes ``lambda:invoke``'s result as AWS does);
* ``arn:aws:states:::states:startExecution`` (``.sync``, ``.sync:2``, ``.waitForTaskToken``):
  nested executions of this service;
* every other ``arn:aws:states:::SERVICE:action`` (and ``aws-sdk:SERVICE:action``):
  ``router.call(SERVICE, Action, parameters)``.

Failures become ``TaskFailed`` with AWS's names: the resource's own error, or
``<Service>.<ErrorCode>`` with a cause in the AWS SDK's style.
https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.asl.effects import InvokeResource
from cloudlet.config import ServiceConfig
from cloudlet.errors import CloudletError, ExecutionError, ResourceNotFound, TaskFailed
from cloudlet.router import Router
from cloudlet.workflows.records import SUCCEEDED, ExecutionRecord
from cloudlet.workflows.sdk import SDK_SERVICES, request_params, sdk_result

if TYPE_CHECKING:
    from cloudlet.workflows.driver import ExecutionRun

#: Error-name prefix and SDK service name AWS uses for each integrated service's errors.
_SERVICE_NAMES: dict[str, tuple[str, str]] = {
    "lambda": ("Lambda", "AWSLambda"),
    "sqs": ("SQS", "AmazonSQS"),
    "sns": ("SNS", "AmazonSNS"),
    "events": ("EventBridge", "AmazonEventBridge"),
    "states": ("StepFunctions", "AWSStepFunctions"),
    "dynamodb": ("DynamoDB", "AmazonDynamoDBv2"),
    "kinesis": ("Kinesis", "AmazonKinesis"),
}

StartNested = Callable[[str, str, str, "ExecutionRun"], Awaitable[ExecutionRecord]]
AwaitExecution = Callable[[str], Awaitable[ExecutionRecord]]
StopExecution = Callable[[str], Awaitable[Any]]


class Integrations:
    """Performs ``InvokeResource`` effects for the driver."""

    def __init__(
        self,
        router: Router,
        config: ServiceConfig,
        *,
        start_nested: StartNested,
        await_execution: AwaitExecution,
        stop_execution: StopExecution,
    ) -> None:
        self._router = router
        self._config = config
        self._start_nested = start_nested
        self._await_execution = await_execution
        self._stop_execution = stop_execution

    # -- driver entry points ----------------------------------------------------------------------
    async def invoke(self, run: ExecutionRun, effect: InvokeResource) -> Any:
        """Call the resource and return its JSON result (``request_response`` / ``sync``)."""
        if effect.integration in ("lambda", "lambda_invoke"):
            return await self._call_function(effect.resource, effect.payload)
        if effect.integration == "activity":
            raise TaskFailed(
                "States.Runtime",
                f"Activity tasks are not supported by cloudlet yet (resource '{effect.resource}')",
            )
        service, action, sdk = _split_service_arn(effect.resource)
        if service == "states" and action == "startExecution" and not sdk:
            return await self._start_execution(run, effect)
        if effect.pattern in ("sync", "sync2"):
            raise TaskFailed(
                "States.Runtime",
                f"The '.sync' integration pattern of '{service}:{action}' is not supported by cloudlet",
            )
        return await self._call_service(service, action, effect.payload, sdk=sdk)

    async def deliver(self, run: ExecutionRun, effect: InvokeResource) -> None:
        """Hand the payload (carrying the task token) over; the answer arrives by SendTask*."""
        if effect.integration in ("lambda", "lambda_invoke"):
            await self._call_function(effect.resource, effect.payload)
            return
        service, action, sdk = _split_service_arn(effect.resource)
        if service == "states" and action == "startExecution" and not sdk:
            await self._start_execution(run, effect)
            return
        await self._call_service(service, action, effect.payload, sdk=sdk)

    # -- Lambda -------------------------------------------------------------------------------------
    def function_arn(self, reference: str) -> str:
        """A function name, partial ARN or full ARN as the full ARN the router knows."""
        if reference.startswith("arn:"):
            return reference
        return f"arn:aws:lambda:{self._config.region}:{self._config.account}:function:{reference}"

    async def _call_function(self, reference: str, payload: Any) -> Any:
        target = reference
        try:
            self._router.owner(target)
        except ResourceNotFound:
            target = self.function_arn(reference)
        try:
            return _jsonable(await self._router.deliver(target, payload))
        except ExecutionError as exc:
            raise TaskFailed(exc.error, exc.cause) from None
        except ResourceNotFound:
            # AWS names the version it looked for: an unqualified ARN means $LATEST.
            named = target if target.count(":") >= 7 else f"{target}:$LATEST"
            raise TaskFailed(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {named} (Service: AWSLambda; Status Code: 404; "
                f"Error Code: ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)",
            ) from None
        except CloudletError as exc:
            raise _service_failure("lambda", exc) from None

    # -- other services ---------------------------------------------------------------------------------
    async def _call_service(self, service: str, action: str, payload: Any, *, sdk: bool = False) -> Any:
        operation = action[:1].upper() + action[1:]
        params = _stringify_bodies(service, operation, payload if isinstance(payload, dict) else {})
        params = request_params(service, operation, params)
        try:
            result = _jsonable(await self._router.call(service, operation, params))
            return sdk_result(service, operation, result) if sdk else result
        except ExecutionError as exc:
            raise TaskFailed(exc.error, exc.cause) from None
        except TypeError as exc:  # a parameter the operation does not take
            raise TaskFailed("States.Runtime", f"Invalid parameters for {service}:{action}: {exc}") from None
        except CloudletError as exc:
            raise _service_failure(service, exc) from None

    # -- nested executions ---------------------------------------------------------------------------------
    async def _start_execution(self, run: ExecutionRun, effect: InvokeResource) -> Any:
        params = effect.payload if isinstance(effect.payload, dict) else {}
        machine = params.get("StateMachineArn")
        if not isinstance(machine, str):
            raise TaskFailed(
                "States.Runtime",
                "The field 'StateMachineArn' is required by arn:aws:states:::states:startExecution",
            )
        raw_input = params.get("Input", {})
        text = raw_input if isinstance(raw_input, str) else orjson.dumps(raw_input).decode()
        # A replay after a crash must find the child it started before, not start a second one.
        name = params.get("Name") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run.record.arn}#{effect.key}"))
        try:
            child = await self._start_nested(machine, str(name), text, run)
        except CloudletError as exc:
            raise _service_failure("states", exc) from None
        if effect.pattern not in ("sync", "sync2"):
            return {"ExecutionArn": child.arn, "StartDate": _millis(child.start_date)}
        try:
            final = await self._await_execution(child.arn)
        except asyncio.CancelledError:
            if run.ending:  # the parent was stopped or timed out: so is the child it waits for
                await self._stop_execution(child.arn)
            raise
        output = describe_for_task(final, parse_json=effect.pattern == "sync2")
        if final.status != SUCCEEDED:
            raise TaskFailed("States.TaskFailed", orjson.dumps(output).decode())
        return output


def describe_for_task(record: ExecutionRecord, *, parse_json: bool) -> dict[str, Any]:
    """DescribeExecution as ``startExecution.sync`` (strings) / ``.sync:2`` (JSON) returns it."""

    def data(text: str | None) -> Any:
        return orjson.loads(text) if parse_json and text is not None else text

    out: dict[str, Any] = {
        "ExecutionArn": record.arn,
        "Input": data(record.input),
        "InputDetails": {"Included": True},
        "Name": record.name,
        "RedriveCount": record.redrive_count,
        "StartDate": _millis(record.start_date),
        "StateMachineArn": record.machine_arn,
        "Status": record.status,
    }
    if record.output is not None:
        out["Output"] = data(record.output)
        out["OutputDetails"] = {"Included": True}
    if record.stop_date is not None:
        out["StopDate"] = _millis(record.stop_date)
    if record.error is not None:
        out["Error"] = record.error
    if record.cause is not None:
        out["Cause"] = record.cause
    redrivable = record.status not in (SUCCEEDED, "RUNNING")
    out["RedriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
    if not redrivable:
        out["RedriveStatusReason"] = f"Execution is {record.status} and cannot be redriven"
    return out


#: Optimized integrations accept JSON where the API takes text and serialize it for you.
_TEXT_FIELDS: dict[tuple[str, str], str] = {
    ("sqs", "SendMessage"): "MessageBody",
    ("sns", "Publish"): "Message",
}


def _stringify_bodies(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Serialize JSON message bodies as AWS's optimized integrations do."""
    field = _TEXT_FIELDS.get((service, operation))
    if field is not None and field in params and not isinstance(params[field], str):
        return {**params, field: orjson.dumps(params[field]).decode()}
    if (service, operation) == ("events", "PutEvents") and isinstance(params.get("Entries"), list):
        entries = [
            {**e, "Detail": orjson.dumps(e["Detail"]).decode()}
            if isinstance(e, dict) and "Detail" in e and not isinstance(e["Detail"], str)
            else e
            for e in params["Entries"]
        ]
        return {**params, "Entries": entries}
    return params


def _split_service_arn(resource: str) -> tuple[str, str, bool]:
    """``arn:aws:states:::sqs:sendMessage`` -> ("sqs", "sendMessage", False); ``aws-sdk:`` -> True."""
    parts = resource.split(":")
    if len(parts) < 7 or parts[2] != "states" or parts[5] == "":
        raise TaskFailed(
            "States.Runtime", f"The resource '{resource}' is not a service integration cloudlet knows"
        )
    rest = parts[5:]
    sdk = rest[0] == "aws-sdk" and len(rest) >= 3
    if sdk:
        rest = rest[1:]
    if len(rest) < 2:
        raise TaskFailed(
            "States.Runtime", f"The resource '{resource}' is not a service integration cloudlet knows"
        )
    action = rest[1].split(".")[0]
    service = SDK_SERVICES.get(rest[0], rest[0]) if sdk else rest[0]
    return service, action, sdk


def _service_failure(service: str, exc: CloudletError) -> TaskFailed:
    prefix, sdk_name = _SERVICE_NAMES.get(service, (service[:1].upper() + service[1:], service))
    code = exc.code
    # The error names the AWS SDK's exception class: "StepFunctions.StateMachineDoesNotExistException".
    name = code if code.endswith("Exception") else f"{code}Exception"
    return TaskFailed(
        f"{prefix}.{name}",
        f"{exc.message} (Service: {sdk_name}; Status Code: {exc.status}; Error Code: {code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)",
    )


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def _jsonable(value: Any) -> Any:
    """A service response as JSON: datetimes as epoch milliseconds, blobs as base64 text."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _millis(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value
