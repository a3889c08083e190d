"""The Functions service: Lambda's API operations over the store and the execution environments."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import TaskFailed, ValidationError
from cloudlet.functions.configuration import ConfigurationOperations
from cloudlet.functions.environments import EnvironmentHost, InitFailed, Outcome, Pool
from cloudlet.functions.errors import (
    InvalidRequestContent,
    RequestTooLarge,
)
from cloudlet.functions.event_invocations import EventQueue
from cloudlet.functions.interpreters import Interpreters
from cloudlet.functions.invoke_configs import EventInvokeConfigOperations
from cloudlet.functions.limits import ConcurrencyOperations
from cloudlet.functions.logs import FunctionLogs, invocation_lines, output_lines, tail
from cloudlet.functions.model import (
    ASYNC_PAYLOAD_LIMIT,
    MIN_UNRESERVED_CONCURRENCY,
    RESPONSE_PAYLOAD_LIMIT,
    SYNC_PAYLOAD_LIMIT,
    FunctionSpec,
    parse_function_name,
)
from cloudlet.router import InvocationType, Router
from cloudlet.store import Store

logger = logging.getLogger(__name__)


class Functions(ConfigurationOperations, ConcurrencyOperations, EventInvokeConfigOperations):
    """Lambda-compatible functions: configuration, versions, aliases, invocation, logs.

    Options beyond the service contract: ``concurrency_limit`` (the account's concurrent
    executions, 1000 as on AWS) and ``min_unreserved_concurrency`` (100); ``idle_timeout``
    (seconds before a warm environment is reaped); ``async_retry_delay`` (the first retry of an
    Event invocation, 60 s as on AWS, doubling); ``snapshot_latest`` (restore ``$LATEST`` from a
    snapshot when SnapStart is on); ``snapshot_forkers`` (forking processes per snapshot,
    default one per core).
    """

    def __init__(
        self,
        *,
        store: Store,
        router: Router,
        clock: Clock,
        config: ServiceConfig,
        concurrency_limit: int = 1000,
        min_unreserved_concurrency: int = MIN_UNRESERVED_CONCURRENCY,
        idle_timeout: float = 300.0,
        async_retry_delay: float = 60.0,
        snapshot_latest: bool = True,
        snapshot_forkers: int | None = None,
    ) -> None:
        data_dir = Path(config.data_dir).absolute() / "functions"
        host = EnvironmentHost(
            Interpreters(data_dir / "venvs"), idle_timeout=idle_timeout, forkers=snapshot_forkers
        )
        super().__init__(store=store, clock=clock, config=config, host=host, snapshot_latest=snapshot_latest)
        self.router = router
        self._init_limits(concurrency_limit, min_unreserved_concurrency)
        self.host.on_snapshot_output = self._log_snapshot_output
        self.logs = FunctionLogs(store, clock, region=config.region, account=config.account)
        self.events = EventQueue(self, retry_delay=async_retry_delay)
        router.register_api("lambda", self)
        router.register_owner("lambda", "function", self.deliver)

    # -- life cycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load functions from the store, start the environment host and the async queue."""
        await self.load()
        await self.host.start()
        await self.logs.start()
        await self.events.start()

    async def stop(self) -> None:
        """Stop the async queue, kill every environment, flush logs."""
        await self.events.stop()
        await self.host.stop()
        await self.logs.stop()

    # -- invocation ----------------------------------------------------------------------------------------
    async def invoke(
        self,
        FunctionName: str,
        InvocationType: str = "RequestResponse",
        LogType: str = "None",
        ClientContext: str | None = None,
        Payload: Any = b"",
        Qualifier: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Invoke: RequestResponse runs and answers; Event queues durably (202); DryRun only checks (204)."""
        ref = parse_function_name(FunctionName, Qualifier)
        payload = _payload_bytes(Payload)
        if InvocationType not in ("RequestResponse", "Event", "DryRun"):
            raise ValidationError(
                f"1 validation error detected: Value '{InvocationType}' at 'invocationType' failed to "
                "satisfy "
                "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )
        if InvocationType == "Event":
            if len(payload) > ASYNC_PAYLOAD_LIMIT:
                raise RequestTooLarge(
                    f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes "
                    "for the InvokeFunction operation"
                )
        elif len(payload) > SYNC_PAYLOAD_LIMIT:
            raise RequestTooLarge(
                f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
            )
        _check_json(payload)
        doc, version, config, code_dir = self._resolve(ref)
        if InvocationType == "DryRun":
            return {"StatusCode": 204, "Payload": b""}
        if InvocationType == "Event":
            await self.events.enqueue(ref.name, ref.qualifier, payload)
            return {"StatusCode": 202, "Payload": b""}
        request_id = str(uuid.uuid4())
        invoked_arn = self.function_arn(ref.name, ref.qualifier)
        outcome, lines = await self.execute(
            doc, version, config, code_dir, payload, request_id, invoked_arn, ClientContext
        )
        result: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": version, "Payload": outcome.payload}
        if outcome.error_type is not None:
            result["FunctionError"] = "Unhandled"
        if LogType == "Tail":
            result["LogResult"] = tail(lines)
        return result

    async def execute(
        self,
        doc: dict[str, Any],
        version: str,
        config: dict[str, Any],
        code_dir: str,
        payload: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: str | None = None,
    ) -> tuple[Outcome, list[str]]:
        """Run one invocation under the concurrency limits; returns its outcome and its log events."""
        name = config["FunctionName"]
        self._enter(name, doc)
        try:
            spec = self._spec(version, config, code_dir)
            pool = await self.host.pool(spec)
            outcome = await self._run(pool, spec, payload, request_id, invoked_arn, client_context)
        finally:
            self._leave(name, doc)
        if outcome.error_type is None and len(outcome.payload) > RESPONSE_PAYLOAD_LIMIT:
            outcome = _replace_payload(
                outcome,
                {
                    "errorMessage": "Response payload size exceeded maximum allowed payload size "
                    f"({RESPONSE_PAYLOAD_LIMIT + 100} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                },
            )
        lines = self._log_invocation(spec, outcome, request_id)
        return outcome, lines

    async def _run(
        self,
        pool: Pool,
        spec: FunctionSpec,
        payload: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: str | None,
    ) -> Outcome:
        try:
            env, _cold = await pool.acquire()
        except InitFailed as failure:
            return pool.init_failure_outcome(failure)
        context = None
        if client_context:
            try:
                context = json.loads(base64.b64decode(client_context))
            except ValueError:
                context = None
        header = {
            "op": "invoke",
            "request_id": request_id,
            "deadline_ms": int(time.time() * 1000 + spec.timeout * 1000),
            "arn": invoked_arn,
            "version": spec.version,
            "client_context": context,
            "identity": None,
            "trace_id": f"Root=1-{int(self.clock.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        return await pool.invoke(env, header, payload, spec.timeout)

    def _log_invocation(self, spec: FunctionSpec, outcome: Outcome, request_id: str) -> list[str]:
        now = self.clock.time()
        lines = invocation_lines(spec, outcome, request_id, now=now, region=self.config.region)
        self.logs.append(spec.log_group, outcome.log_stream, lines, int(now * 1000))
        return lines

    def _log_snapshot_output(self, pool: Pool, env: Any, output: str) -> None:
        self.logs.append(pool.spec.log_group, env.log_stream, output_lines(output))

    async def deliver(self, arn: str, payload: Any, invocation_type: InvocationType) -> Any:
        """Router entry: invoke the function an ARN names with a JSON payload.

        RequestResponse returns the handler's result; a function error raises ``TaskFailed`` with
        Error = errorType and Cause = Lambda's error JSON, as Step Functions sees it.
        """
        body = json.dumps(payload).encode()
        if invocation_type == "Event":
            await self.invoke(FunctionName=arn, InvocationType="Event", Payload=body)
            return None
        response = await self.invoke(FunctionName=arn, Payload=body)
        raw: bytes = response["Payload"]
        if "FunctionError" in response:
            error = json.loads(raw)
            raise TaskFailed(error.get("errorType", "Exception"), raw.decode())
        return json.loads(raw) if raw else None


def _payload_bytes(payload: Any) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    if hasattr(payload, "read"):
        data = payload.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return json.dumps(payload).encode()  # a JSON value (Step Functions' lambda:invoke passes one)


def _check_json(payload: bytes) -> None:
    if not payload:
        return
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestContent(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None


def _replace_payload(outcome: Outcome, error: dict[str, Any]) -> Outcome:
    return replace(outcome, payload=json.dumps(error).encode(), error_type=error["errorType"], status="error")
