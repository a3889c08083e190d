"""Event invocations: durable queue, retries, event age, destinations, DLQ, throttling, kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import ResourceNotFound
from cloudlet.router import Router
from cloudlet.store import SQLiteStore
from tests.functions.conftest import FIXTURES, create

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:us-east-1:000000000000:function"
OK_ARN = "arn:aws:sqs:us-east-1:000000000000:on-success"
FAIL_ARN = "arn:aws:sqs:us-east-1:000000000000:on-failure"
DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:dlq"


def _capturing_router() -> tuple[Router, dict[str, list]]:
    router = Router()
    seen: dict[str, list] = {OK_ARN: [], FAIL_ARN: [], DLQ_ARN: []}
    for arn in seen:
        router.register_arn(arn, seen[arn].append)
    return router, seen


async def _starts(f, name: str) -> int:
    """How many invocations (START lines) the function's log group holds."""
    try:
        found = await f.logs.filter_log_events(
            logGroupName=f"/aws/lambda/{name}", filterPattern='"START RequestId"'
        )
    except ResourceNotFound:  # Lambda creates the group at the first invocation
        return 0
    return len(found["events"])


DESTINATIONS = {"OnSuccess": {"Destination": OK_ARN}, "OnFailure": {"Destination": FAIL_ARN}}


def test_event_success_goes_to_on_success(run_service):
    router, seen = _capturing_router()

    async def body(f):
        await create(f, "ok", "app.echo")
        await f.put_function_event_invoke_config(FunctionName="ok", DestinationConfig=DESTINATIONS)
        response = await f.invoke(FunctionName="ok", InvocationType="Event", Payload=b'{"n": 1}')
        assert response == {"StatusCode": 202, "Payload": b""}
        await f.events.drain()
        [record] = seen[OK_ARN]
        assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
        context = record["requestContext"]
        assert context["functionArn"] == f"{ARN}:ok:$LATEST"
        assert context["condition"] == "Success" and context["approximateInvokeCount"] == 1
        assert len(context["requestId"]) == 36
        assert record["requestPayload"] == {"n": 1}
        assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
        assert record["responsePayload"] == {"event": {"n": 1}}
        assert seen[FAIL_ARN] == [] and await f.store.scan("lambda.async") == []

    run_service(body, router=router, async_retry_delay=0.01)


def test_retries_exhausted_go_to_on_failure_and_dlq(run_service):
    router, seen = _capturing_router()

    async def body(f):
        await create(f, "bad", "app.fail", DeadLetterConfig={"TargetArn": DLQ_ARN})
        await f.put_function_event_invoke_config(FunctionName="bad", DestinationConfig=DESTINATIONS)
        await f.invoke(FunctionName="bad", InvocationType="Event", Payload=b'{"n": 2}')
        await f.events.drain()
        assert await _starts(f, "bad") == 3  # one attempt and the default two retries
        [record] = seen[FAIL_ARN]
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 3
        assert record["responseContext"] == {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        assert record["responsePayload"]["errorType"] == "ValueError"
        assert seen[DLQ_ARN] == [{"n": 2}]
        assert seen[OK_ARN] == []

    run_service(body, router=router, async_retry_delay=0.01)


def test_maximum_retry_attempts_zero(run_service):
    router, seen = _capturing_router()

    async def body(f):
        await create(f, "once", "app.fail")
        await f.put_function_event_invoke_config(
            FunctionName="once", MaximumRetryAttempts=0, DestinationConfig=DESTINATIONS
        )
        await f.invoke(FunctionName="once", InvocationType="Event", Payload=b"{}")
        await f.events.drain()
        assert await _starts(f, "once") == 1
        assert seen[FAIL_ARN][0]["requestContext"]["approximateInvokeCount"] == 1

    run_service(body, router=router, async_retry_delay=0.01)


def test_retry_then_success(run_service, tmp_path):
    router, seen = _capturing_router()
    marker = tmp_path / "attempts"

    async def body(f):
        await create(f, "flaky", "app.flaky")
        await f.put_function_event_invoke_config(FunctionName="flaky", DestinationConfig=DESTINATIONS)
        payload = json.dumps({"marker": str(marker), "succeed_after": 1}).encode()
        await f.invoke(FunctionName="flaky", InvocationType="Event", Payload=payload)
        await f.events.drain()
        [record] = seen[OK_ARN]
        assert record["requestContext"]["approximateInvokeCount"] == 2
        assert record["responsePayload"] == {"attempt": 2}

    run_service(body, router=router, async_retry_delay=0.01)


def test_retry_waits_with_backoff_and_event_age(run_service):
    router, seen = _capturing_router()
    clock = ManualClock(start=time.time())

    async def body(f):
        await create(f, "aging", "app.fail")
        await f.put_function_event_invoke_config(
            FunctionName="aging", MaximumEventAgeInSeconds=90, DestinationConfig=DESTINATIONS
        )
        await f.invoke(FunctionName="aging", InvocationType="Event", Payload=b'{"k": 1}')
        for _ in range(200):
            if await _starts(f, "aging") == 1 and next(iter(f.events._records.values()))["attempts"] == 1:
                break
            await asyncio.sleep(0.02)
        await clock.advance(59)  # the first retry waits one minute
        await asyncio.sleep(0.2)
        assert await _starts(f, "aging") == 1
        await clock.advance(2)
        for _ in range(200):
            if await _starts(f, "aging") == 2 and next(iter(f.events._records.values()))["attempts"] == 2:
                break
            await asyncio.sleep(0.02)
        assert await _starts(f, "aging") == 2
        await clock.advance(121)  # second retry after two minutes, but the event is now too old
        await f.events.drain()
        assert await _starts(f, "aging") == 2
        [record] = seen[FAIL_ARN]
        assert record["requestContext"]["condition"] == "EventAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 2

    run_service(body, router=router, clock=clock)


def test_throttled_event_waits_for_capacity(run_service):
    router, seen = _capturing_router()

    async def body(f):
        await create(f, "t", "app.echo")
        await f.put_function_concurrency(FunctionName="t", ReservedConcurrentExecutions=0)
        await f.put_function_event_invoke_config(FunctionName="t", DestinationConfig=DESTINATIONS)
        await f.invoke(FunctionName="t", InvocationType="Event", Payload=b'{"x": 1}')
        await asyncio.sleep(0.2)
        assert seen[OK_ARN] == [] and f.events.pending == 1  # throttled, still queued
        await f.delete_function_concurrency(FunctionName="t")
        await f.events.drain()
        assert seen[OK_ARN][0]["requestContext"]["approximateInvokeCount"] == 1  # throttles are not retries

    run_service(body, router=router, async_retry_delay=0.01)


_CHILD = """
import asyncio, json, sys, time
from pathlib import Path
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.functions import Functions
from cloudlet.router import Router
from cloudlet.store import SQLiteStore

db, data, code, payload = sys.argv[1:5]

async def main():
    f = Functions(store=SQLiteStore(db), router=Router(), clock=SystemClock(),
                  config=ServiceConfig(data_dir=Path(data)))
    await f.start()
    await f.create_function(FunctionName="held", Runtime="python3.11", Handler="app.held", Timeout=60,
                            Code={"S3Bucket": "local", "S3Key": code})
    response = await f.invoke(FunctionName="held", InvocationType="Event", Payload=payload.encode())
    print("accepted", response["StatusCode"], flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_killed_runtime_loses_no_accepted_event(run_service, tmp_path):
    db, data = tmp_path / "state.db", tmp_path / "data"
    hold, out = tmp_path / "hold", tmp_path / "out.jsonl"
    hold.write_text("hold")
    payload = json.dumps({"hold": str(hold), "path": str(out)})
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db), str(data), str(FIXTURES / "basic"), payload],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "accepted 202"
        time.sleep(0.3)  # the attempt is running (held) when the runtime dies
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]
    assert not out.exists()
    hold.unlink()

    async def body(f):
        assert f.events.pending == 1  # reloaded from the store
        await f.events.drain()
        assert json.loads(out.read_text().splitlines()[0])["path"] == str(out)
        assert await f.store.scan("lambda.async") == []

    run_service(body, store=SQLiteStore(db))
