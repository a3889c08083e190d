"""The workflows service: AWS Step Functions' API over the ASL engine and the store.

Each operation is an async method named and shaped as boto3's ``stepfunctions`` client has it.
Standard executions are durable (see :mod:`cloudlet.workflows.driver`); ``start()`` resumes
every execution that was RUNNING when the process stopped or was killed.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import uuid
from typing import Any

import orjson

from cloudlet.asl import ExecutionInfo, StateMachine
from cloudlet.background import BackgroundTasks
from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import CloudletError, ValidationError
from cloudlet.router import InvocationType, Router
from cloudlet.store import Delete, Put, Store
from cloudlet.workflows.definitions import diagnostics, load_definition
from cloudlet.workflows.driver import ExecutionRun, JournalEntropy
from cloudlet.workflows.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidExecutionInput,
    InvalidOutput,
    InvalidStateMachineDefinition,
    InvalidToken,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineResourceNotFound,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    TaskTimedOut,
    TooManyTags,
)
from cloudlet.workflows.integrations import Integrations
from cloudlet.workflows.names import check_name, execution_arn, machine_arn, parse_states_arn
from cloudlet.workflows.records import (
    ABORTED,
    EXECUTIONS,
    EXPRESS,
    FAILED,
    HISTORY,
    MACHINES,
    RUNNING,
    STANDARD,
    SUCCEEDED,
    TIMED_OUT,
    ExecutionRecord,
    StateMachineRecord,
    to_datetime,
)
from cloudlet.workflows.tokens import decode_page_token, decode_task_token, encode_page_token

log = logging.getLogger(__name__)

_MAX_INPUT = 256 * 1024
_UNDECODED: Any = object()  # _launch: the input is still text
_MAX_TAGS = 50
_EXPRESS_KEPT = 1000  # finished Express executions kept in memory for Describe/GetExecutionHistory
_REDRIVE_DAYS = 14


class MissingRequiredParameter(ValidationError):
    """UpdateStateMachine without anything to update."""

    code = "MissingRequiredParameter"


class Workflows:
    """AWS Step Functions: state machines and their Standard (durable) and Express executions."""

    def __init__(self, *, store: Store, router: Router, clock: Clock, config: ServiceConfig) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.config = config
        self._machines: dict[str, StateMachineRecord] = {}
        self._compiled: dict[str, StateMachine] = {}  # definition text -> parsed machine
        self._executions: dict[str, ExecutionRecord] = {}
        self._runs: dict[str, ExecutionRun] = {}
        self._tasks = BackgroundTasks()
        self._express_events: dict[str, list[dict[str, Any]]] = {}
        self._express_order: list[str] = []
        self._integrations = Integrations(
            router,
            config,
            start_nested=self._start_nested,
            await_execution=self._await_execution,
            stop_execution=self._stop_child,
        )
        router.register_api("states", self)
        router.register_owner("states", "stateMachine", self.deliver)
        self._started = False

    # -- life cycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load state machines and executions from the store; resume every RUNNING execution."""
        for _, doc in await self.store.scan(MACHINES):
            record = StateMachineRecord.from_doc(doc)
            self._machines[record.arn] = record
        resume: list[ExecutionRecord] = []
        for _, doc in await self.store.scan(EXECUTIONS):
            execution = ExecutionRecord.from_doc(doc)
            self._executions[execution.arn] = execution
            if execution.running:
                resume.append(execution)
        self._started = True
        for execution in resume:
            log.info("resuming execution", extra={"action": "resume", "execution": execution.arn})
            try:
                self._launch(execution)
            except CloudletError as exc:  # e.g. a definition this version of the engine rejects
                log.error("cannot resume execution", extra={"execution": execution.arn, "error": exc.message})
                failed = dataclasses.replace(
                    execution,
                    status=FAILED,
                    stop_date=self.clock.time(),
                    error="States.Runtime",
                    cause=f"The execution could not be resumed: {exc.message}",
                )
                await self.store.write([Put(EXECUTIONS, failed.arn, failed.to_doc())])
                self._executions[failed.arn] = failed

    async def stop(self) -> None:
        """Stop driving executions; RUNNING ones resume on the next ``start()``."""
        await self._tasks.cancel_all()
        self._runs.clear()
        self._started = False

    async def deliver(self, arn: str, payload: Any, invocation_type: InvocationType = "Event") -> Any:
        """Router target for state machine ARNs: start an execution with ``payload`` as input."""
        return await self.start_execution(stateMachineArn=arn, input=orjson.dumps(payload).decode())

    # -- state machines ------------------------------------------------------------------------------------
    async def create_state_machine(
        self,
        *,
        name: str,
        definition: str,
        roleArn: str,
        type: str = STANDARD,
        loggingConfiguration: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        tracingConfiguration: dict[str, Any] | None = None,
        publish: bool = False,
        versionDescription: str | None = None,
        encryptionConfiguration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        check_name(name)
        _check_role(roleArn)
        _check_type(type)
        if publish:
            raise ValidationError("Publishing state machine versions is not supported by cloudlet yet")
        self._compile(definition, type)
        tag_pairs = _tag_pairs(tags or [])
        arn = machine_arn(name, region=self.config.region, account=self.config.account)
        if len(tag_pairs) > _MAX_TAGS:
            raise TooManyTags(arn)
        logging_conf = loggingConfiguration or {"level": "OFF", "includeExecutionData": False}
        tracing = tracingConfiguration or {"enabled": False}
        existing = self._machines.get(arn)
        if existing is not None:
            same = (
                existing.definition == definition
                and existing.role_arn == roleArn
                and existing.type == type
                and existing.logging == logging_conf
                and existing.tracing == tracing
            )
            if not same:
                raise StateMachineAlreadyExists(arn)
            return {"stateMachineArn": arn, "creationDate": to_datetime(existing.creation_date)}
        record = StateMachineRecord(
            arn=arn,
            name=name,
            definition=definition,
            role_arn=roleArn,
            type=type,
            creation_date=self.clock.time(),
            revision_id=str(uuid.uuid4()),
            logging=logging_conf,
            tracing=tracing,
            tags=tag_pairs,
        )
        await self.store.write([Put(MACHINES, arn, record.to_doc())])
        self._machines[arn] = record
        log.info("state machine created", extra={"action": "create_state_machine", "arn": arn})
        return {"stateMachineArn": arn, "creationDate": to_datetime(record.creation_date)}

    async def update_state_machine(
        self,
        *,
        stateMachineArn: str,
        definition: str | None = None,
        roleArn: str | None = None,
        loggingConfiguration: dict[str, Any] | None = None,
        tracingConfiguration: dict[str, Any] | None = None,
        publish: bool = False,
        versionDescription: str | None = None,
        encryptionConfiguration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        record = self._machine(stateMachineArn)
        if all(
            v is None
            for v in (
                definition,
                roleArn,
                loggingConfiguration,
                tracingConfiguration,
                encryptionConfiguration,
            )
        ):
            raise MissingRequiredParameter(
                "Either the definition, the role ARN, the LoggingConfiguration, "
                "the EncryptionConfiguration or the TracingConfiguration must be specified"
            )
        if publish:
            raise ValidationError("Publishing state machine versions is not supported by cloudlet yet")
        if definition is not None:
            self._compile(definition, record.type)
        if roleArn is not None:
            _check_role(roleArn)
        now = self.clock.time()
        updated = dataclasses.replace(
            record,
            definition=definition if definition is not None else record.definition,
            role_arn=roleArn if roleArn is not None else record.role_arn,
            logging=loggingConfiguration if loggingConfiguration is not None else record.logging,
            tracing=tracingConfiguration if tracingConfiguration is not None else record.tracing,
            revision_id=str(uuid.uuid4()),
            update_date=now,
        )
        await self.store.write([Put(MACHINES, updated.arn, updated.to_doc())])
        self._machines[updated.arn] = updated
        return {"updateDate": to_datetime(now), "revisionId": updated.revision_id}

    async def delete_state_machine(self, *, stateMachineArn: str) -> dict[str, Any]:
        parse_states_arn(stateMachineArn, expect=("stateMachine",))
        if stateMachineArn in self._machines:
            await self.store.write([Delete(MACHINES, stateMachineArn)])
            del self._machines[stateMachineArn]
        return {}

    async def describe_state_machine(
        self, *, stateMachineArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        return self._machine(stateMachineArn).describe()

    async def describe_state_machine_for_execution(
        self, *, executionArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        execution = self._execution(executionArn)
        machine = self._machines.get(execution.machine_arn)
        out = {
            "stateMachineArn": execution.machine_arn,
            "name": parse_states_arn(execution.machine_arn, expect=("stateMachine",)).machine_name,
            "definition": execution.definition,
            "roleArn": execution.role_arn,
            "updateDate": to_datetime(execution.start_date),
        }
        if machine is not None:
            out["loggingConfiguration"] = machine.logging
            out["tracingConfiguration"] = machine.tracing
            out["revisionId"] = machine.revision_id
        return out

    async def list_state_machines(
        self, *, maxResults: int | None = None, nextToken: str | None = None
    ) -> dict[str, Any]:
        machines = sorted(self._machines.values(), key=lambda m: m.name)
        page, token = _page([m for m in machines], maxResults, nextToken)
        out: dict[str, Any] = {
            "stateMachines": [
                {
                    "stateMachineArn": m.arn,
                    "name": m.name,
                    "type": m.type,
                    "creationDate": to_datetime(m.creation_date),
                }
                for m in page
            ]
        }
        if token is not None:
            out["nextToken"] = token
        return out

    async def validate_state_machine_definition(
        self,
        *,
        definition: str,
        type: str | None = None,
        severity: str | None = None,
        maxResults: int | None = None,
    ) -> dict[str, Any]:
        machine_type = type or STANDARD
        _check_type(machine_type)
        try:
            load_definition(definition, machine_type)
        except InvalidStateMachineDefinition as exc:
            found = diagnostics(exc.detail)
            limit = maxResults or 100
            return {"result": "FAIL", "diagnostics": found[:limit], "truncated": len(found) > limit}
        return {"result": "OK", "diagnostics": [], "truncated": False}

    # -- executions ---------------------------------------------------------------------------------------
    async def start_execution(
        self,
        *,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
    ) -> dict[str, Any]:
        machine = self._machine(stateMachineArn)
        record, value = self._new_execution(machine, name, input, traceHeader)
        if machine.type == EXPRESS:
            self._launch(record, value=value)
            return {"executionArn": record.arn, "startDate": to_datetime(record.start_date)}
        existing = self._executions.get(record.arn)
        if existing is not None:
            if existing.running and existing.input == record.input:
                return {"executionArn": existing.arn, "startDate": to_datetime(existing.start_date)}
            raise ExecutionAlreadyExists(record.arn)
        self._executions[record.arn] = record
        try:
            await self.store.write([Put(EXECUTIONS, record.arn, record.to_doc())])
        except BaseException:
            self._executions.pop(record.arn, None)
            raise
        self._launch(record, value=value)
        log.info("execution started", extra={"action": "start_execution", "execution": record.arn})
        return {"executionArn": record.arn, "startDate": to_datetime(record.start_date)}

    async def start_sync_execution(
        self,
        *,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
        includedData: str | None = None,
    ) -> dict[str, Any]:
        machine = self._machine(stateMachineArn)
        if machine.type != EXPRESS:
            raise StateMachineTypeNotSupported()
        record, value = self._new_execution(machine, name, input, traceHeader)
        run = self._launch(record, background=False, value=value)
        await self._drive(run)  # in the caller's task: no scheduling round trips
        final = run.record
        out: dict[str, Any] = {
            "executionArn": final.arn,
            "stateMachineArn": final.machine_arn,
            "name": final.name,
            "startDate": to_datetime(final.start_date),
            "stopDate": to_datetime(final.stop_date or final.start_date),
            "status": final.status,
            "input": final.input,
            "inputDetails": {"included": True},
        }
        if final.output is not None:
            out["output"] = final.output
            out["outputDetails"] = {"included": True}
        if final.error is not None:
            out["error"] = final.error
        if final.cause is not None:
            out["cause"] = final.cause
        if final.trace_header is not None:
            out["traceHeader"] = final.trace_header
        duration_ms = ((final.stop_date or final.start_date) - final.start_date) * 1000
        out["billingDetails"] = {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": max(100, math.ceil(duration_ms / 100.0) * 100),
        }
        return out

    async def stop_execution(
        self, *, executionArn: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        execution = self._execution(executionArn)
        if not execution.running:
            return {"stopDate": to_datetime(execution.stop_date or execution.start_date)}
        run = self._runs.get(executionArn)
        if run is None:  # RUNNING in the store but not driven here (service not started)
            raise ValidationError(f"Execution '{executionArn}' is not being run by this service")
        run.stop(ABORTED, error, cause)
        final = await asyncio.shield(run.done)
        return {"stopDate": to_datetime(final.stop_date or self.clock.time())}

    async def describe_execution(
        self, *, executionArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        return self._execution(executionArn).describe(include_data=includedData != "METADATA_ONLY")

    async def list_executions(
        self,
        *,
        stateMachineArn: str | None = None,
        statusFilter: str | None = None,
        maxResults: int | None = None,
        nextToken: str | None = None,
        mapRunArn: str | None = None,
        redriveFilter: str | None = None,
    ) -> dict[str, Any]:
        if mapRunArn is not None:
            raise ValidationError("Map runs (Distributed Map) are not supported by cloudlet yet")
        if stateMachineArn is None:
            raise ValidationError("Must provide a StateMachine ARN or MapRun ARN")
        machine = self._machine(stateMachineArn)
        if machine.type == EXPRESS:
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        if statusFilter is not None and statusFilter not in (
            RUNNING,
            SUCCEEDED,
            FAILED,
            TIMED_OUT,
            ABORTED,
            "PENDING_REDRIVE",
        ):
            raise ValidationError(
                f"1 validation error detected: Value '{statusFilter}' at 'statusFilter' failed to satisfy "
                "constraint: Member must satisfy enum value set: "
                "[SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
            )
        found = [
            e
            for e in self._executions.values()
            if e.machine_arn == machine.arn
            and (statusFilter is None or e.status == statusFilter)
            and (redriveFilter is None or (redriveFilter == "REDRIVEN") == (e.redrive_count > 0))
        ]
        found.sort(key=lambda e: (-e.start_date, e.arn))
        page, token = _page(found, maxResults, nextToken)
        out: dict[str, Any] = {"executions": [e.summary() for e in page]}
        if token is not None:
            out["nextToken"] = token
        return out

    async def get_execution_history(
        self,
        *,
        executionArn: str,
        maxResults: int | None = None,
        reverseOrder: bool = False,
        nextToken: str | None = None,
        includeExecutionData: bool = True,
    ) -> dict[str, Any]:
        execution = self._execution(executionArn)
        size = _page_size(maxResults)
        after = decode_page_token(nextToken)
        if after is not None and not isinstance(after, int):
            raise decode_error(nextToken)
        if execution.type == EXPRESS:
            live = self._runs.get(executionArn)
            events = list(live.events if live is not None else self._express_events.get(executionArn, []))
            if reverseOrder:
                events.reverse()
            if after is not None:
                events = [e for e in events if (e["id"] < after if reverseOrder else e["id"] > after)]
            batch = events[: size + 1]
        elif reverseOrder:
            rows = await self.store.read_log(HISTORY, executionArn, reverse=True)
            if after is not None:
                rows = [r for r in rows if r[0] < after]
            batch = [doc for _, doc in rows[: size + 1]]
        else:
            rows = await self.store.read_log(HISTORY, executionArn, after=after, limit=size + 1)
            batch = [doc for _, doc in rows]
        more = len(batch) > size
        batch = batch[:size]
        out: dict[str, Any] = {"events": [_event_out(e, includeExecutionData) for e in batch]}
        if more and batch:
            out["nextToken"] = encode_page_token(batch[-1]["id"])
        return out

    async def redrive_execution(self, *, executionArn: str, clientToken: str | None = None) -> dict[str, Any]:
        execution = self._execution(executionArn)
        if execution.type != STANDARD:
            raise ExecutionNotRedrivable("Execution of an Express state machine cannot be redriven")
        if execution.status not in (FAILED, TIMED_OUT, ABORTED):
            raise ExecutionNotRedrivable(f"Execution is {execution.status} and cannot be redriven")
        now = self.clock.time()
        if execution.stop_date is not None and now - execution.stop_date > _REDRIVE_DAYS * 86400:
            raise ExecutionNotRedrivable(
                f"Execution can only be redriven within {_REDRIVE_DAYS} days of when it stopped"
            )
        record = dataclasses.replace(
            execution,
            status=RUNNING,
            stop_date=None,
            output=None,
            error=None,
            cause=None,
            redrive_count=execution.redrive_count + 1,
            redrive_date=now,
        )
        await self.store.write([Put(EXECUTIONS, record.arn, record.to_doc())])
        self._executions[record.arn] = record
        self._launch(record)
        return {"redriveDate": to_datetime(now)}

    # -- task tokens ------------------------------------------------------------------------------------
    async def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        try:
            value = orjson.loads(output)
        except (orjson.JSONDecodeError, TypeError):
            raise InvalidOutput(str(output)) from None
        run, key = await self._token_target(taskToken)
        await run.callback(key, {"v": value})
        return {}

    async def send_task_failure(
        self, *, taskToken: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        run, key = await self._token_target(taskToken)
        await run.callback(key, {"e": error if error is not None else "", "c": cause})
        return {}

    async def send_task_heartbeat(self, *, taskToken: str) -> dict[str, Any]:
        run, key = await self._token_target(taskToken)
        run.heartbeat(key)
        return {}

    async def _token_target(self, token: str) -> tuple[ExecutionRun, str]:
        arn, key = decode_task_token(token)
        execution = self._executions.get(arn)
        if execution is None:
            raise TaskDoesNotExist()
        run = self._runs.get(arn)
        if run is not None and execution.running:
            await run.loaded.wait()  # resuming: the journal says which tokens it handed out
        if not execution.running or run is None or run.answered(key):
            raise TaskTimedOut()
        if not run.issued(key):
            raise TaskDoesNotExist()
        return run, key

    # -- test_state ----------------------------------------------------------------------------------------
    async def test_state(
        self,
        *,
        definition: str,
        roleArn: str | None = None,
        input: str | None = None,
        inspectionLevel: str | None = None,
        revealSecrets: bool | None = None,
        variables: str | None = None,
        stateName: str | None = None,
        mock: dict[str, Any] | None = None,
        context: str | None = None,
        stateConfiguration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from cloudlet.workflows.teststate import run_test_state

        return await run_test_state(
            self,
            definition=definition,
            input=input,
            variables=variables,
            state_name=stateName,
            mock=mock,
        )

    # -- tags --------------------------------------------------------------------------------------------
    async def tag_resource(self, *, resourceArn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        record = self._tagged(resourceArn)
        merged = dict(record.tags)
        merged.update(_tag_pairs(tags))
        if len(merged) > _MAX_TAGS:
            raise TooManyTags(resourceArn)
        await self._save_machine(dataclasses.replace(record, tags=tuple(merged.items())))
        return {}

    async def untag_resource(self, *, resourceArn: str, tagKeys: list[str]) -> dict[str, Any]:
        record = self._tagged(resourceArn)
        kept = tuple((k, v) for k, v in record.tags if k not in set(tagKeys))
        await self._save_machine(dataclasses.replace(record, tags=kept))
        return {}

    async def list_tags_for_resource(self, *, resourceArn: str) -> dict[str, Any]:
        record = self._tagged(resourceArn)
        return {"tags": [{"key": k, "value": v} for k, v in record.tags]}

    def _tagged(self, arn: str) -> StateMachineRecord:
        parse_states_arn(arn, expect=("stateMachine", "activity"))
        record = self._machines.get(arn)
        if record is None:
            raise StateMachineResourceNotFound(arn)
        return record

    async def _save_machine(self, record: StateMachineRecord) -> None:
        await self.store.write([Put(MACHINES, record.arn, record.to_doc())])
        self._machines[record.arn] = record

    # -- internals ---------------------------------------------------------------------------------------
    def _compile(self, definition: str, machine_type: str) -> StateMachine:
        cache_key = f"{machine_type}\n{definition}"
        machine = self._compiled.get(cache_key)
        if machine is None:
            if not isinstance(definition, str):
                raise InvalidStateMachineDefinition("Definition must be a JSON string")
            machine = load_definition(definition, machine_type)
            if len(self._compiled) > 512:
                self._compiled.clear()
            self._compiled[cache_key] = machine
        return machine

    def _machine(self, arn: str) -> StateMachineRecord:
        parse_states_arn(arn, expect=("stateMachine",))
        record = self._machines.get(arn)
        if record is None:
            raise StateMachineDoesNotExist(arn)
        return record

    def _execution(self, arn: str) -> ExecutionRecord:
        parse_states_arn(arn, expect=("execution", "express"))
        record = self._executions.get(arn)
        if record is None:
            raise ExecutionDoesNotExist(arn)
        return record

    def _new_execution(
        self, machine: StateMachineRecord, name: str | None, input: str | None, trace_header: str | None
    ) -> tuple[ExecutionRecord, Any]:
        """A new execution's record and its decoded input (checked as StartExecution does)."""
        exec_name = check_name(name) if name is not None else str(uuid.uuid4())
        text = "{}" if input is None else input
        if len(text.encode()) > _MAX_INPUT:
            raise InvalidExecutionInput(
                f"Input size exceeds the maximum number of bytes service limit ({_MAX_INPUT})"
            )
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: {exc}") from None
        express = machine.type == EXPRESS
        arn = execution_arn(machine.arn, exec_name, express=express)
        if express:
            arn = f"{arn}:{uuid.uuid4()}"
        record = ExecutionRecord(
            arn=arn,
            machine_arn=machine.arn,
            name=exec_name,
            type=machine.type,
            definition=machine.definition,
            input=text,
            start_date=self.clock.time(),
            trace_header=trace_header,
            role_arn=machine.role_arn,
        )
        return record, value

    def _launch(
        self, record: ExecutionRecord, *, background: bool = True, value: Any = _UNDECODED
    ) -> ExecutionRun:
        """Run ``record`` (``value``: its input, when the caller has already decoded it)."""
        compiled = self._compile(record.definition, record.type)
        parsed = parse_states_arn(record.machine_arn, expect=("stateMachine",))
        info = ExecutionInfo(
            execution_arn=record.arn,
            execution_name=record.name,
            state_machine_arn=record.machine_arn,
            state_machine_name=parsed.machine_name,
            role_arn=record.role_arn,
            account=parsed.account,
            region=parsed.region,
            partition=parsed.partition,
            redrive_count=record.redrive_count,
            state_machine_type="EXPRESS" if record.type == EXPRESS else "STANDARD",
        )
        if value is _UNDECODED:
            value = orjson.loads(record.input)
        durable = record.type == STANDARD

        def start(entropy: JournalEntropy) -> Any:
            return compiled.start(value, info=info, entropy=entropy)

        run = ExecutionRun(
            record,
            start,
            clock=self.clock,
            store=self.store if durable else None,
            invoke=self._integrations.invoke,
            deliver=self._integrations.deliver,
            timeout_seconds=_timeout_seconds(compiled),
        )
        self._runs[record.arn] = run
        self._executions[record.arn] = record
        if not background:
            return run
        self._tasks.spawn(self._drive(run))
        return run

    async def _drive(self, run: ExecutionRun) -> None:
        arn = run.record.arn
        try:
            final = await run.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # the store failed: the execution stays RUNNING and resumes on restart
            log.exception("execution driver failed", extra={"execution": arn})
            return
        finally:
            if self._runs.get(arn) is run:
                del self._runs[arn]
        self._executions[arn] = final
        if final.type == EXPRESS:
            self._express_events[arn] = run.events
            self._express_order.append(arn)
            while len(self._express_order) > _EXPRESS_KEPT:
                old = self._express_order.pop(0)
                self._express_events.pop(old, None)
                self._executions.pop(old, None)
        log.info(
            "execution finished",
            extra={"action": "execution_finished", "execution": arn, "status": final.status},
        )

    async def _start_nested(
        self, machine: str, name: str, input_text: str, parent: ExecutionRun
    ) -> ExecutionRecord:
        """Start (or find again, on replay) a child execution for ``states:startExecution``."""
        record = self._machine(machine)
        arn = execution_arn(record.arn, check_name(name), express=False)
        existing = self._executions.get(arn)
        if existing is not None and record.type == STANDARD and existing.input == input_text:
            return existing
        result = await self.start_execution(stateMachineArn=machine, name=name, input=input_text)
        return self._executions[result["executionArn"]]

    async def _stop_child(self, arn: str) -> None:
        """Abort a nested execution whose parent stopped waiting for it."""
        run = self._runs.get(arn)
        if run is not None:
            run.stop(ABORTED, None, None)
            await asyncio.shield(run.done)

    async def _await_execution(self, arn: str) -> ExecutionRecord:
        """The final record of execution ``arn``, waiting while it runs."""
        while True:
            run = self._runs.get(arn)
            if run is not None:
                return await asyncio.shield(run.done)
            record = self._executions.get(arn)
            if record is None:
                raise ExecutionDoesNotExist(arn)
            if not record.running:
                return record
            await asyncio.sleep(0.01)  # RUNNING but not yet resumed by start()


def _timeout_seconds(machine: StateMachine) -> float | None:
    """The definition's top-level TimeoutSeconds, which the driver enforces."""
    value = machine.model.timeout_seconds
    return float(value) if value is not None else None


def _check_role(role_arn: str) -> None:
    if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
        raise InvalidArn(f"Invalid ARN prefix: {role_arn}")


def _check_type(machine_type: str) -> None:
    if machine_type not in (STANDARD, EXPRESS):
        raise ValidationError(
            f"1 validation error detected: Value '{machine_type}' at 'type' failed to satisfy constraint: "
            "Member must satisfy enum value set: [STANDARD, EXPRESS]"
        )


def _tag_pairs(tags: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    merged: dict[str, str] = {}
    for tag in tags:
        merged[tag["key"]] = tag.get("value", "")
    return tuple(merged.items())


def _page_size(max_results: int | None) -> int:
    if max_results is None or max_results == 0:
        return 100
    if not 1 <= max_results <= 1000:
        raise ValidationError(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 1000"
        )
    return max_results


def decode_error(token: str | None) -> CloudletError:
    """The error for a ``nextToken`` that this service did not hand out."""
    return InvalidToken()


def _page(items: list[Any], max_results: int | None, token: str | None) -> tuple[list[Any], str | None]:
    size = _page_size(max_results)
    offset = decode_page_token(token) or 0
    if not isinstance(offset, int) or offset < 0:
        raise decode_error(token)
    page = items[offset : offset + size]
    more = offset + size < len(items)
    return page, encode_page_token(offset + size) if more else None


def _event_out(event: dict[str, Any], include_data: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in event.items():
        if key == "k":
            continue
        if key == "timestamp":
            out[key] = to_datetime(value)
        elif not include_data and isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k not in ("input", "output")}
        else:
            out[key] = value
    return out


__all__ = ["MissingRequiredParameter", "Workflows"]
