"""The durable driver against hand-written generators that follow cloudlet.asl.effects' protocol.

These pin the driver's side of the protocol (replay, timeouts, callbacks, concurrency)
independently of the interpreter; tests/workflows/test_service.py runs real definitions.
"""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.asl.effects import InvokeResource, NewTaskToken, Outcome, RecordEvent, RunChildren, WaitUntil
from cloudlet.clock import ManualClock
from cloudlet.errors import ExecutionError, TaskFailed
from cloudlet.store import MemoryStore
from cloudlet.workflows.driver import ExecutionRun
from cloudlet.workflows.records import HISTORY, ExecutionRecord
from cloudlet.workflows.tokens import decode_task_token, encode_task_token

ARN = "arn:aws:states:us-east-1:000000000000:execution:m:e1"


def record() -> ExecutionRecord:
    return ExecutionRecord(
        arn=ARN,
        machine_arn="arn:aws:states:us-east-1:000000000000:stateMachine:m",
        name="e1",
        type="STANDARD",
        definition="{}",
        input="{}",
        start_date=1_700_000_000.0,
    )


def task_then_wait_then_task(calls: list[str]):
    """ExecutionStarted, task A, Wait 10 s (deadline from the recorded start), task B."""

    def start(entropy):
        _, started = yield RecordEvent("0.start", "ExecutionStarted", "executionStartedEventDetails", {})
        a = yield InvokeResource("1.A.invoke", "A", "fn-a", {"n": 1}, integration="lambda")
        yield RecordEvent("1.A.exited", "TaskStateExited", "stateExitedEventDetails", {"name": "A"})
        yield WaitUntil("2.W.wait", started + 10, 10)
        yield RecordEvent("2.W.exited", "WaitStateExited", "stateExitedEventDetails", {"name": "W"})
        b = yield InvokeResource("3.B.invoke", "B", "fn-b", {"a": a}, integration="lambda")
        yield RecordEvent("4.end", "ExecutionSucceeded", "executionSucceededEventDetails", {"output": "x"})
        return Outcome("SUCCEEDED", output={"a": a, "b": b, "id": entropy.uuid4()})

    return start


def make_run(start, store, clock, calls, **kw) -> ExecutionRun:
    async def invoke(run, effect):
        calls.append(effect.state_name)
        if isinstance(effect.payload, dict) and effect.payload.get("fail"):
            raise TaskFailed("Boom", "it failed")
        return f"{effect.state_name}-result"

    async def deliver(run, effect):
        calls.append("deliver:" + effect.state_name)

    return ExecutionRun(record(), start, clock=clock, store=store, invoke=invoke, deliver=deliver, **kw)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_replay_after_crash_runs_no_completed_task_twice_and_keeps_the_wait_deadline():
    async def scenario():
        store, clock, calls = MemoryStore(), ManualClock(1_700_000_000.0), []
        first = make_run(task_then_wait_then_task(calls), store, clock, calls)
        task = asyncio.ensure_future(first.run())
        await settle()
        assert calls == ["A"]
        await clock.advance(4)
        task.cancel()  # the process dies during the Wait
        with pytest.raises(asyncio.CancelledError):
            await task
        calls.clear()
        second = make_run(task_then_wait_then_task(calls), store, clock, calls)
        task = asyncio.ensure_future(second.run())
        await settle()
        assert calls == []  # A is answered from the journal, the Wait still has 6 s to go
        await clock.advance(5)
        await settle()
        assert calls == []
        await clock.advance(1)
        final = await task
        assert calls == ["B"]
        assert final.status == "SUCCEEDED"
        history = await store.read_log(HISTORY, ARN)
        types = [doc["type"] for _, doc in history]
        assert types == ["ExecutionStarted", "TaskStateExited", "WaitStateExited", "ExecutionSucceeded"]
        assert [seq for seq, _ in history] == [1, 2, 3, 4]
        assert [doc["previousEventId"] for _, doc in history] == [0, 1, 2, 3]

    asyncio.run(scenario())


def test_entropy_is_replayed():
    async def scenario():
        store, clock, calls = MemoryStore(), ManualClock(1_700_000_000.0), []
        seen: list[str] = []

        def start(entropy):
            seen.append(entropy.uuid4())
            yield InvokeResource("1.A.invoke", "A", "fn-a", {}, integration="lambda")
            yield WaitUntil("2.W", 1_700_000_100.0, 100)
            return Outcome("SUCCEEDED", output=None)

        run = make_run(start, store, clock, calls)
        task = asyncio.ensure_future(run.run())
        await settle()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        task = asyncio.ensure_future(make_run(start, store, clock, calls).run())
        await settle()
        await clock.advance(200)
        await task
        assert len(seen) == 2 and seen[0] == seen[1]

    asyncio.run(scenario())


def token_task(heartbeat: float | None = None, timeout: float | None = None):
    def start(entropy):
        token = yield NewTaskToken("1.T.token", "T")
        try:
            result = yield InvokeResource(
                "1.T.invoke",
                "T",
                "arn:aws:states:::sqs:sendMessage",
                {"token": token},
                pattern="wait_for_task_token",
                heartbeat_seconds=heartbeat,
                timeout_seconds=timeout,
                task_token=token,
            )
        except ExecutionError as exc:
            return Outcome("FAILED", error=exc.error, cause=exc.cause)
        return Outcome("SUCCEEDED", output=result)

    return start


def test_callback_reaches_the_execution_and_survives_a_restart():
    async def scenario():
        store, clock, calls = MemoryStore(), ManualClock(), []
        run = make_run(token_task(), store, clock, calls)
        task = asyncio.ensure_future(run.run())
        await settle()
        assert calls == ["deliver:T"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        calls.clear()
        again = make_run(token_task(), store, clock, calls)
        task = asyncio.ensure_future(again.run())
        await settle()
        assert calls == []  # delivered before the crash: not delivered twice
        token_arn, key = decode_task_token(encode_task_token(ARN, "1.T.token"))
        assert again.issued(key) and token_arn == ARN
        await again.callback(key, {"v": {"ok": True}})
        final = await task
        assert final.status == "SUCCEEDED" and final.output == '{"ok":true}'

    asyncio.run(scenario())


def test_heartbeat_timeout_and_heartbeats_extend_it():
    async def scenario():
        clock, calls = ManualClock(), []
        run = make_run(token_task(heartbeat=10), None, clock, calls)
        task = asyncio.ensure_future(run.run())
        await settle()
        await clock.advance(8)
        run.heartbeat("1.T.token")
        await settle()
        await clock.advance(8)  # 16 s since start, 8 s since the heartbeat
        await settle()
        assert not task.done()
        await clock.advance(3)
        final = await task
        assert (final.status, final.error) == ("FAILED", "States.HeartbeatTimeout")

    asyncio.run(scenario())


def test_task_timeout():
    async def scenario():
        clock, calls = ManualClock(), []
        run = make_run(token_task(timeout=5), None, clock, calls)
        task = asyncio.ensure_future(run.run())
        await settle()
        await clock.advance(5)
        final = await task
        assert (final.status, final.error) == ("FAILED", "States.Timeout")

    asyncio.run(scenario())


def test_execution_timeout_and_stop():
    async def scenario():
        clock, calls = ManualClock(1_700_000_000.0), []
        run = make_run(token_task(), None, clock, calls, timeout_seconds=30)
        task = asyncio.ensure_future(run.run())
        await settle()
        await clock.advance(30)
        final = await task
        assert final.status == "TIMED_OUT" and final.error == "States.Timeout"
        assert run.events[-1]["type"] == "ExecutionTimedOut"

        run = make_run(token_task(), None, clock, calls)
        task = asyncio.ensure_future(run.run())
        await settle()
        run.stop("ABORTED", "Stopped", "by test")
        final = await task
        assert final.status == "ABORTED"
        assert run.events[-1] == {
            "timestamp": clock.time(),
            "type": "ExecutionAborted",
            "id": 1,
            "previousEventId": 0,
            "executionAbortedEventDetails": {"error": "Stopped", "cause": "by test"},
        }

    asyncio.run(scenario())


def children_machine(n: int, max_concurrency: int, tolerated: int | None, fail: set[int]):
    def child(i: int):
        yield RecordEvent(
            f"c{i}.started", "MapIterationStarted", "mapIterationStartedEventDetails", {"index": i}
        )
        yield InvokeResource(f"c{i}.invoke", f"C{i}", "fn", {"fail": i in fail}, integration="lambda")
        return Outcome("SUCCEEDED", output=i)

    def safe(i: int):
        try:
            return (yield from child(i))
        except ExecutionError as exc:
            return Outcome("FAILED", error=exc.error, cause=exc.cause)

    def start(entropy):
        outcomes = yield RunChildren(
            "1.M.children",
            "M",
            "Map",
            tuple(safe(i) for i in range(n)),
            max_concurrency=max_concurrency,
            tolerated_failure_count=tolerated,
        )
        return Outcome("SUCCEEDED", output=[o.status if o else None for o in outcomes])

    return start


def test_children_honour_max_concurrency():
    async def scenario():
        clock = ManualClock()
        active, peak = 0, 0

        async def invoke(run, effect):
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.001)
            active -= 1
            return 1

        run = ExecutionRun(
            record(),
            children_machine(10, 3, None, set()),
            clock=clock,
            store=MemoryStore(),
            invoke=invoke,
            deliver=invoke,
        )
        final = await run.run()
        assert final.status == "SUCCEEDED" and peak == 3

    asyncio.run(scenario())


def test_children_stop_when_failures_exceed_tolerance():
    async def scenario():
        calls: list[str] = []
        run = make_run(children_machine(6, 1, 0, {1}), None, ManualClock(), calls)
        final = await run.run()
        assert final.output == '["SUCCEEDED","FAILED",null,null,null,null]'
        assert calls == ["C0", "C1"]

    asyncio.run(scenario())
