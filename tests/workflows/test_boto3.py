"""boto3's stepfunctions client against the running API server and the real workflows service."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from cloudlet.api import serve
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore
from cloudlet.workflows import Workflows
from tests.workflows.helpers import LAMBDA, ROLE

pytestmark = pytest.mark.integration


class Server:
    """The workflows service and the API in a background event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.router = Router()
        self.router.register_arn(LAMBDA + "greet", lambda payload: {"hello": payload["name"]})
        self.service = Workflows(
            store=MemoryStore(), router=self.router, clock=SystemClock(), config=ServiceConfig()
        )
        self.run(self.service.start())
        self.server = self.run(serve(self.router, port=0))

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.run(self.server.close())
        self.run(self.service.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def sfn() -> Iterator[Any]:
    server = Server()
    client = boto3.client(
        "stepfunctions",
        endpoint_url=server.server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
    )
    yield client
    client.close()
    server.stop()


def _wait(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        out = sfn.describe_execution(executionArn=arn)
        if out["status"] != "RUNNING" or time.monotonic() > deadline:
            return out
        time.sleep(0.01)


def test_create_start_describe_history(sfn: Any) -> None:
    definition = {
        "StartAt": "Greet",
        "States": {"Greet": {"Type": "Task", "Resource": LAMBDA + "greet", "End": True}},
    }
    arn = sfn.create_state_machine(name="greeter", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    started = sfn.start_execution(stateMachineArn=arn, name="first", input='{"name": "Ada"}')
    out = _wait(sfn, started["executionArn"])
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"hello": "Ada"}
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    listed = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]
    assert [e["name"] for e in listed] == ["first"]


def test_errors_arrive_as_boto3_exceptions(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:000000000000:stateMachine:missing"
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist) as err:
        sfn.describe_state_machine(stateMachineArn=missing)
    assert err.value.response["Error"]["Message"] == f"State Machine Does Not Exist: '{missing}'"
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.create_state_machine(name="bad", definition="{}", roleArn=ROLE)
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_success(taskToken="nope", output="{}")


def test_express_sync_execution(sfn: Any) -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 42, "End": True}}}
    arn = sfn.create_state_machine(
        name="quick", definition=json.dumps(definition), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    out = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert out["status"] == "SUCCEEDED" and out["output"] == "42"
