"""The async driver of the ASL engine's execution generators (durable for Standard executions).

The engine (:mod:`cloudlet.asl`) is pure: one execution is a generator that yields effect
requests (:mod:`cloudlet.asl.effects`). This module performs them: it assigns history event
ids and timestamps, calls task resources through the integrations, sleeps for Waits and
retry backoff, runs Map iterations and Parallel branches concurrently, and enforces task and
execution timeouts.

Standard executions are durable by **replay**: every history event is appended to the
execution's history log and every effect result to its journal (``cloudlet.workflows.records``),
using the store's group commit. After a crash, :meth:`ExecutionRun.run` re-runs the generator
from the start and answers every recorded key from the log, so no completed task runs twice,
Waits keep their deadlines (their ``until`` derives from recorded timestamps) and callbacks
for tokens handed out before the crash still reach the execution. Express executions skip all
of that and run in memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cloudlet.asl.effects import (
    Effect,
    ExecutionGenerator,
    InvokeResource,
    NewTaskToken,
    Outcome,
    RecordEvent,
    RunChildren,
    WaitUntil,
)
from cloudlet.asl.expressions import SystemEntropy
from cloudlet.clock import Clock
from cloudlet.errors import ExecutionError, TaskFailed
from cloudlet.store import Append, Op, Put, Store
from cloudlet.workflows.records import (
    ABORTED,
    EXECUTIONS,
    FAILED,
    HISTORY,
    JOURNAL,
    SUCCEEDED,
    TIMED_OUT,
    ExecutionRecord,
)
from cloudlet.workflows.tokens import decode_task_token, encode_task_token

log = logging.getLogger(__name__)

#: Events the driver never answers from the log on replay: a redriven execution ends anew.
_TERMINAL = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})
#: Flush queued events at least this often while a generator runs without other effects.
_FLUSH_EVERY = 64

Invoker = Callable[["ExecutionRun", InvokeResource], Awaitable[Any]]
Deliverer = Callable[["ExecutionRun", InvokeResource], Awaitable[None]]


@dataclass(slots=True)
class _Scope:
    """One generator (the execution, a Map iteration or a Parallel branch) being driven."""

    last_event: int
    diverged: bool = False


@dataclass(slots=True)
class _Callback:
    """A ``.waitForTaskToken`` task waiting for SendTaskSuccess / Failure / Heartbeat."""

    future: asyncio.Future[Any]
    beat: asyncio.Event = field(default_factory=asyncio.Event)


class _Aborted(Exception):
    """Internal: the execution was stopped or timed out while an effect was pending."""


class JournalEntropy:
    """UUIDs and random numbers that a replay gets again, keyed by (generator, call number)."""

    def __init__(self, recorded: dict[str, Any], sink: Callable[[str, Any], None] | None) -> None:
        self._recorded = recorded
        self._sink = sink
        self._system = SystemEntropy()
        self._counts: dict[str, int] = {}
        self.scope = ""

    def _draw(self, kind: str, make: Callable[[], Any]) -> Any:
        n = self._counts.get(self.scope, 0)
        self._counts[self.scope] = n + 1
        ident = f"{self.scope}#{kind}{n}"
        if ident in self._recorded:
            return self._recorded[ident]
        value = make()
        if self._sink is not None:
            self._sink(ident, value)
        return value

    def uuid4(self) -> str:
        return str(self._draw("u", self._system.uuid4))

    def random(self) -> float:
        return float(self._draw("r", self._system.random))


class ExecutionRun:
    """Drives one execution's generator to its end; durable when ``store`` is given."""

    def __init__(
        self,
        record: ExecutionRecord,
        start: Callable[[JournalEntropy], ExecutionGenerator],
        *,
        clock: Clock,
        store: Store | None,
        invoke: Invoker,
        deliver: Deliverer,
        timeout_seconds: float | None = None,
    ) -> None:
        self.record = record
        self._start = start
        self._clock = clock
        self._store = store
        self._invoke = invoke
        self._deliver = deliver
        self._timeout = timeout_seconds
        self.events: list[dict[str, Any]] = []  # Express executions keep their history here
        #: True once the execution is being aborted or timed out (not when the service stops).
        self.ending = False
        #: Set once the journal is loaded: callbacks arriving during a resume wait for it.
        self.loaded = asyncio.Event()
        self._replay_events: dict[str, tuple[int, float, str]] = {}
        self._journal: dict[str, dict[str, Any]] = {}
        self._entropy_recorded: dict[str, Any] = {}
        self._next_event = 1
        self._journal_seq = 0
        self._pending: list[Op] = []
        self._writes: list[asyncio.Future[None]] = []
        self._callbacks: dict[str, _Callback] = {}
        self._issued: set[str] = set()
        loop = asyncio.get_running_loop()
        self._stop: asyncio.Future[tuple[str, str | None, str | None]] = loop.create_future()
        self.done: asyncio.Future[ExecutionRecord] = loop.create_future()

    # -- public -------------------------------------------------------------------------------
    @property
    def durable(self) -> bool:
        return self._store is not None

    def stop(self, status: str, error: str | None, cause: str | None) -> None:
        """Abort the execution (StopExecution) with ``status`` ABORTED."""
        if not self._stop.done():
            self._stop.set_result((status, error, cause))

    def issued(self, key: str) -> bool:
        """True if this execution handed out the task token of effect ``key``."""
        return key in self._issued or key in self._callbacks or key + "#delivered" in self._journal

    def answered(self, key: str) -> bool:
        """True if the effect ``key`` already has a result (a late callback is too late)."""
        return key in self._journal

    async def callback(self, key: str, entry: dict[str, Any]) -> None:
        """Deliver SendTaskSuccess (``{"v": output}``) or SendTaskFailure (``{"e", "c"}``)."""
        if key in self._journal:
            return
        self._journal[key] = entry
        if self.durable:  # accepted callbacks survive a crash
            await self._write([self._journal_op({"k": key, **entry})])
        waiter = self._callbacks.get(key)
        if waiter is not None and not waiter.future.done():
            waiter.future.set_result(entry)

    def heartbeat(self, key: str) -> None:
        """SendTaskHeartbeat: push the waiting task's heartbeat deadline back."""
        waiter = self._callbacks.get(key)
        if waiter is not None:
            waiter.beat.set()

    async def run(self) -> ExecutionRecord:
        """Run (or resume, or redrive) the execution to its end and return its final record."""
        try:
            record = await self._run()
        except asyncio.CancelledError:
            self.done.cancel()
            raise
        except BaseException as exc:
            if not self.done.done():
                self.done.set_exception(exc)
                self.done.exception()  # retrieved: the caller of run() sees it
            raise
        if not self.done.done():
            self.done.set_result(record)
        return record

    # -- the run ------------------------------------------------------------------------------
    async def _run(self) -> ExecutionRecord:
        if self.durable:
            await self._load()
        self.loaded.set()
        entropy = JournalEntropy(self._entropy_recorded, self._record_entropy if self.durable else None)
        self._entropy = entropy
        scope = _Scope(last_event=0)
        if self.record.redrive_count:  # answered from the log when resuming a redriven run
            self._record_driver_event(
                scope,
                f"redriven#{self.record.redrive_count}",
                "ExecutionRedriven",
                "executionRedrivenEventDetails",
                {"redriveCount": self.record.redrive_count},
            )
        gen = self._start(entropy)
        outcome: Outcome | None = None
        final: ExecutionRecord | None = None
        try:  # pure steps (Pass, Choice, ...) need no task: Express runs them inline
            first, outcome = self._advance(gen, scope, "") if not self._stop.done() else (None, None)
        except Exception as exc:  # an engine bug must not leave the execution RUNNING forever
            outcome = _engine_failure(self.record.arn, exc)
        if outcome is None:
            outcome, final = await self._run_tasks(gen, scope, first)
        if final is None:
            assert outcome is not None
            if outcome.status == "SUCCEEDED":
                final = self._finish(SUCCEEDED, output=orjson.dumps(outcome.output).decode())
            else:
                final = self._finish(FAILED, error=outcome.error, cause=outcome.cause)
        for waiter in self._callbacks.values():
            if not waiter.future.done():
                waiter.future.cancel()
        if self.durable:
            self._pending.append(Put(EXECUTIONS, final.arn, final.to_doc()))
            await self._flush(wait=True)
        return final

    async def _run_tasks(
        self, gen: ExecutionGenerator, scope: _Scope, first: Effect | None
    ) -> tuple[Outcome | None, ExecutionRecord | None]:
        """Drive the root generator as a task, racing StopExecution and the execution's timeout."""
        root = asyncio.ensure_future(self._drive(gen, scope, "", first))
        waiters: set[asyncio.Future[Any]] = {root, self._stop}
        timer: asyncio.Future[None] | None = None
        if self._timeout is not None:
            # A redriven execution gets its TimeoutSeconds again from the redrive.
            deadline = (self.record.redrive_date or self.record.start_date) + self._timeout
            timer = asyncio.ensure_future(self._clock.sleep(deadline - self._clock.time()))
            waiters.add(timer)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the service is stopping: leave the execution RUNNING
            await _cancel(root)
            if timer is not None:
                await _cancel(timer)
            raise
        if timer is not None and not timer.done():
            await _cancel(timer)
        if root.done():
            try:
                return root.result(), None
            except Exception as exc:
                return _engine_failure(self.record.arn, exc), None
        self.ending = True
        await _cancel(root)
        if self._stop.done():
            _, error, cause = self._stop.result()
            details: dict[str, Any] = {}
            if error is not None:
                details["error"] = error
            if cause is not None:
                details["cause"] = cause
            self._record_driver_event(
                scope, "aborted", "ExecutionAborted", "executionAbortedEventDetails", details
            )
            return None, self._finish(ABORTED, error=error, cause=cause)
        cause = f"The execution timed out after {self._timeout:g} seconds"
        self._record_driver_event(
            scope,
            "timedout",
            "ExecutionTimedOut",
            "executionTimedOutEventDetails",
            {"error": "States.Timeout", "cause": cause},
        )
        return None, self._finish(TIMED_OUT, error="States.Timeout", cause=cause)

    def _advance(
        self, gen: ExecutionGenerator, scope: _Scope, path: str
    ) -> tuple[Effect | None, Outcome | None]:
        """Answer events synchronously until the generator needs the outside world or ends."""
        self._entropy.scope = path
        reply: Any = None
        while True:
            try:
                effect = gen.send(reply)
            except StopIteration as stop:
                if self.durable:
                    self._schedule_flush()
                return None, stop.value
            if type(effect) is not RecordEvent:
                return effect, None
            reply = self._record(effect, scope)

    def _finish(self, status: str, **fields: Any) -> ExecutionRecord:
        stop = self._clock.time()
        self.record = dataclasses.replace(self.record, status=status, stop_date=stop, **fields)
        return self.record

    async def _load(self) -> None:
        assert self._store is not None
        arn = self.record.arn
        for seq, doc in await self._store.read_log(HISTORY, arn):
            self._next_event = max(self._next_event, seq + 1)
            key = doc.get("k")
            if key is not None and doc["type"] not in _TERMINAL:
                self._replay_events[key] = (seq, doc["timestamp"], doc["type"])
        failed: set[str] = set()
        generation = self.record.redrive_count
        for seq, doc in await self._store.read_log(JOURNAL, arn):
            self._journal_seq = max(self._journal_seq, seq)
            if "x" in doc:
                self._entropy_recorded[doc["x"]] = doc["v"]
            elif "d" in doc:
                self._journal[doc["k"] + "#delivered"] = doc
            elif "e" in doc and doc.get("g", 0) < generation:  # a redrive runs failed effects again
                failed.add(doc["k"])
            else:
                self._journal[doc["k"]] = doc
        for key in failed:  # ... and hands a failed callback's task token out anew
            if key not in self._journal:
                self._journal.pop(key + "#delivered", None)

    # -- the effect loop ------------------------------------------------------------------------
    async def _drive(
        self, gen: ExecutionGenerator, scope: _Scope, path: str, first: Effect | None = None
    ) -> Outcome:
        reply: Any = None
        error: BaseException | None = None
        entropy = self._entropy
        since_flush = 0
        pending = first
        try:
            while True:
                if pending is not None:
                    effect, pending = pending, None
                else:
                    entropy.scope = path
                    try:
                        effect = gen.send(reply) if error is None else gen.throw(error)
                    except StopIteration as stop:
                        if self.durable:
                            self._schedule_flush()
                        return stop.value
                    error = None
                kind = type(effect)
                if kind is RecordEvent:
                    reply = self._record(effect, scope)  # type: ignore[arg-type]
                    since_flush += 1
                    if self.durable and since_flush >= _FLUSH_EVERY:
                        self._schedule_flush()
                        since_flush = 0
                    continue
                if self.durable:
                    self._schedule_flush()
                    since_flush = 0
                if kind is InvokeResource:
                    try:
                        reply = await self._perform_invoke(effect, scope)  # type: ignore[arg-type]
                    except ExecutionError as exc:
                        reply, error = None, exc
                elif kind is WaitUntil:
                    await self._wait_until(effect.until)  # type: ignore[union-attr]
                    reply = None
                elif kind is NewTaskToken:
                    key = effect.key
                    self._issued.add(key)
                    reply = encode_task_token(self.record.arn, key)
                elif kind is RunChildren:
                    reply = await self._run_children(effect, scope, path)  # type: ignore[arg-type]
                else:  # pragma: no cover - the Effect union is closed
                    raise TypeError(f"unknown effect {effect!r}")
        except (asyncio.CancelledError, GeneratorExit):
            gen.close()
            raise

    def _record(self, effect: RecordEvent, scope: _Scope) -> tuple[int, float]:
        if not scope.diverged:
            seen = self._replay_events.get(effect.key)
            if seen is not None and seen[2] == effect.type:
                scope.last_event = seen[0]
                return seen[0], seen[1]
        event_id = self._next_event
        self._next_event += 1
        now = self._clock.time()
        event: dict[str, Any] = {
            "timestamp": now,
            "type": effect.type,
            "id": event_id,
            "previousEventId": scope.last_event,
        }
        if effect.details_key is not None:
            event[effect.details_key] = effect.details if effect.details is not None else {}
        scope.last_event = event_id
        if self.durable:
            event["k"] = effect.key
            self._pending.append(Append(HISTORY, self.record.arn, event_id, event))
        else:
            self.events.append(event)
        return event_id, now

    def _record_driver_event(
        self,
        scope: _Scope,
        key: str,
        type_: str,
        details_key: str,
        details: dict[str, Any],
    ) -> None:
        self._record(
            RecordEvent(key=f"driver:{key}", type=type_, details_key=details_key, details=details), scope
        )

    # -- effects ----------------------------------------------------------------------------------
    async def _perform_invoke(self, effect: InvokeResource, scope: _Scope) -> Any:
        key = effect.key
        entry = self._journal.get(key)
        if entry is None and effect.pattern == "wait_for_task_token":
            entry = self._journal.get(_token_key(effect))
        if entry is not None:
            return _answer(entry)
        # Performed live: what this generator records from now on is new, not a replay.
        scope.diverged = True
        await self._flush(wait=True)
        started = self._clock.time()
        if effect.pattern == "wait_for_task_token":
            return await self._wait_for_token(effect, started)
        try:
            result = await self._limited(self._invoke(self, effect), effect, started, None)
        except ExecutionError as exc:
            self._journal_result(key, {"e": exc.error, "c": exc.cause})
            raise
        self._journal_result(key, {"v": result})
        return result

    async def _wait_for_token(self, effect: InvokeResource, started: float) -> Any:
        # Callbacks name the token's key (the NewTaskToken effect), not the invoke's own key.
        key = _token_key(effect)
        self._issued.add(key)
        entry = self._journal.get(key)
        if entry is not None:  # answered while the execution was not waiting (or before a crash)
            return _answer(entry)
        marker = self._journal.get(key + "#delivered")
        if marker is not None:
            started = float(marker["d"])
        waiter = _Callback(asyncio.get_running_loop().create_future())
        self._callbacks[key] = waiter
        try:
            if marker is None:
                try:
                    await self._limited(self._deliver(self, effect), effect, started, None)
                except ExecutionError as exc:
                    if not waiter.future.done():
                        self._journal_result(key, {"e": exc.error, "c": exc.cause})
                        raise
                if self.durable:
                    doc = {"k": key, "d": started}
                    self._journal[key + "#delivered"] = doc
                    await self._write([self._journal_op(doc)])
            try:
                entry = await self._limited(waiter.future, effect, started, waiter)
            except ExecutionError as exc:
                self._journal_result(key, {"e": exc.error, "c": exc.cause})
                raise
            return _answer(entry)
        finally:
            self._callbacks.pop(key, None)

    async def _limited(
        self, work: Awaitable[Any], effect: InvokeResource, started: float, waiter: _Callback | None
    ) -> Any:
        """Await ``work`` within the task's TimeoutSeconds and HeartbeatSeconds."""
        task = asyncio.ensure_future(work)
        timeout = effect.timeout_seconds
        heartbeat = effect.heartbeat_seconds if waiter is not None else None
        if timeout is None and heartbeat is None:
            return await task
        last_beat = self._clock.time()
        try:
            while True:
                deadlines: list[tuple[float, str]] = []
                if timeout is not None:
                    deadlines.append((started + timeout, "States.Timeout"))
                if heartbeat is not None:
                    deadlines.append((last_beat + heartbeat, "States.HeartbeatTimeout"))
                deadline, error = min(deadlines)
                sleeper = asyncio.ensure_future(self._clock.sleep(deadline - self._clock.time()))
                others: set[asyncio.Future[Any]] = {task, sleeper}
                beat: asyncio.Future[Any] | None = None
                if waiter is not None and heartbeat is not None:
                    waiter.beat.clear()
                    beat = asyncio.ensure_future(waiter.beat.wait())
                    others.add(beat)
                try:
                    await asyncio.wait(others, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    await _cancel(sleeper)
                    if beat is not None:
                        await _cancel(beat)
                if task.done():
                    return task.result()
                if beat is not None and waiter is not None and waiter.beat.is_set():
                    last_beat = self._clock.time()
                    continue
                if self._clock.time() >= deadline:
                    await _cancel(task)
                    raise ExecutionError(error, None)
        except asyncio.CancelledError:
            await _cancel(task)
            raise

    async def _wait_until(self, until: float) -> None:
        delay = until - self._clock.time()
        if delay > 0:
            if self.durable:
                await self._flush(wait=True)
            await self._clock.sleep(delay)

    async def _run_children(self, effect: RunChildren, scope: _Scope, path: str) -> list[Outcome | None]:
        children = effect.children
        results: list[Outcome | None] = [None] * len(children)
        if not children:
            return results
        limit = effect.max_concurrency or len(children)
        running: dict[asyncio.Future[Outcome], int] = {}
        scopes: list[_Scope] = []
        next_index = 0
        failed = 0
        aborted = False
        base = scope.last_event
        try:
            while next_index < len(children) or running:
                while not aborted and next_index < len(children) and len(running) < limit:
                    child_scope = _Scope(last_event=base, diverged=scope.diverged)
                    scopes.append(child_scope)
                    child_path = f"{path}/{effect.key}[{next_index}]"
                    child = asyncio.ensure_future(self._drive(children[next_index], child_scope, child_path))
                    running[child] = next_index
                    next_index += 1
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for finished in done:
                    index = running.pop(finished)
                    outcome = finished.result()
                    results[index] = outcome
                    if outcome.status != "SUCCEEDED":
                        failed += 1
                if not aborted and effect.should_abort(failed):
                    aborted = True
                    for pending in list(running):
                        await _cancel(pending)
                    running.clear()
                    for gen in children[next_index:]:
                        gen.close()
                    next_index = len(children)
        except asyncio.CancelledError:
            for pending in list(running):
                await _cancel(pending)
            for gen in children[next_index:]:
                gen.close()
            raise
        scope.last_event = self._next_event - 1
        if any(s.diverged for s in scopes):
            scope.diverged = True
        return results

    # -- persistence --------------------------------------------------------------------------------
    def _journal_op(self, doc: dict[str, Any]) -> Append:
        if self.record.redrive_count:  # which run of a redriven execution wrote it
            doc = {**doc, "g": self.record.redrive_count}
        self._journal_seq += 1
        return Append(JOURNAL, self.record.arn, self._journal_seq, doc)

    def _journal_result(self, key: str, entry: dict[str, Any]) -> None:
        self._journal[key] = entry
        if self.durable:
            self._pending.append(self._journal_op({"k": key, **entry}))

    def _record_entropy(self, ident: str, value: Any) -> None:
        self._entropy_recorded[ident] = value
        self._pending.append(self._journal_op({"x": ident, "v": value}))

    def _schedule_flush(self) -> None:
        if self._pending:
            ops, self._pending = self._pending, []
            self._writes.append(asyncio.ensure_future(self._write(ops)))

    async def _flush(self, *, wait: bool) -> None:
        self._schedule_flush()
        if wait and self._writes:
            writes, self._writes = self._writes, []
            await asyncio.gather(*writes)

    async def _write(self, ops: list[Op]) -> None:
        assert self._store is not None
        await self._store.write(ops)


def _engine_failure(arn: str, exc: Exception) -> Outcome:
    """An exception out of the engine fails the execution instead of leaving it RUNNING."""
    log.error("execution generator raised", exc_info=exc, extra={"execution": arn})
    return Outcome("FAILED", error="States.Runtime", cause=f"Internal error: {exc!r}")


def _token_key(effect: InvokeResource) -> str:
    """The key callbacks for ``effect`` name: the NewTaskToken effect's, carried in its token."""
    return decode_task_token(effect.task_token)[1] if effect.task_token else effect.key


def task_error(error: str, cause: str | None) -> ExecutionError:
    """The exception the engine receives for a failed task: timeouts stay ``ExecutionError``."""
    if error in ("States.Timeout", "States.HeartbeatTimeout"):
        return ExecutionError(error, cause)
    return TaskFailed(error, cause)


def _answer(entry: dict[str, Any]) -> Any:
    """The reply a journal entry stands for: its value, or the error it records."""
    if "e" in entry:
        raise task_error(entry["e"], entry.get("c"))
    return entry.get("v")


async def _cancel(future: asyncio.Future[Any]) -> None:
    """Cancel ``future`` and wait until it has finished (swallowing its cancellation)."""
    if future.done():
        if not future.cancelled():
            future.exception()  # mark retrieved
        return
    future.cancel()
    try:
        await future
    except asyncio.CancelledError:
        pass
    except Exception:  # the task failed while being cancelled; its error no longer matters
        log.debug("cancelled effect failed", exc_info=True)
