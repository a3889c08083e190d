"""The library entry point: ``StateMachine.from_definition(...).run(input, resources=..., context=...)``."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from cloudlet.asl import ExecutionInfo, InvalidDefinition, RecordEvent, StateMachine, TaskFailed

FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:greet"


def task(resource: str, **fields: Any) -> StateMachine:
    return StateMachine.from_definition(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}}}
    )


def greet(payload: Any) -> Any:
    return {"hello": payload["name"]}


@pytest.mark.parametrize("key", ["greet", FN_ARN])
def test_plain_lambda_arn_resolves_by_name_or_arn(key: str) -> None:
    result = task(FN_ARN).run({"name": "ada"}, resources={key: greet})
    assert (result.status, result.output) == ("SUCCEEDED", {"hello": "ada"})


def test_definition_text_is_accepted() -> None:
    sm = StateMachine.from_definition(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
    assert sm.run().status == "SUCCEEDED"


def test_lambda_invoke_integration_result_shape() -> None:
    sm = task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": "greet", "Payload.$": "$"})
    out = sm.run({"name": "ada"}, resources={"greet": greet}).output
    assert out["Payload"] == {"hello": "ada"}
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    headers = out["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == str(len(json.dumps({"hello": "ada"})))
    assert out["SdkHttpMetadata"]["AllHttpHeaders"]["Content-Type"] == ["application/json"]
    assert out["SdkResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]


def test_lambda_invoke_accepts_a_function_arn_with_alias() -> None:
    sm = task(
        "arn:aws:states:::lambda:invoke",
        Parameters={"FunctionName": FN_ARN + ":live", "Payload": {"name": "x"}},
    )
    assert sm.run({}, resources={"greet": greet}).output["Payload"] == {"hello": "x"}


def test_unknown_function_fails_like_lambda() -> None:
    sm = task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": "nope", "Payload": {}})
    result = sm.run({}, resources={})
    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause.startswith("Function not found: arn:aws:lambda:")


def test_callable_exception_becomes_lambda_error() -> None:
    def broken(payload: Any) -> Any:
        raise ValueError("bad input")

    result = task(FN_ARN).run({}, resources={"greet": broken})
    assert (result.status, result.error) == ("FAILED", "ValueError")
    cause = json.loads(result.cause)
    assert cause["errorType"] == "ValueError" and cause["errorMessage"] == "bad input"
    assert {"requestId", "stackTrace"} <= cause.keys()


def test_task_failed_sets_error_and_cause() -> None:
    def refuse(payload: Any) -> Any:
        raise TaskFailed("Payment.Declined", "card expired")

    result = task(FN_ARN).run({}, resources={"greet": refuse})
    assert (result.error, result.cause) == ("Payment.Declined", "card expired")


def test_context_names_the_execution() -> None:
    sm = StateMachine.from_definition(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Pass",
                    "Parameters": {"id.$": "$$.Execution.Id", "sm.$": "$$.StateMachine.Name"},
                    "End": True,
                }
            },
        }
    )
    ctx = {
        "account": "111111111111",
        "region": "eu-west-1",
        "state_machine_name": "orders",
        "execution_arn": "arn:aws:states:eu-west-1:111111111111:execution:orders:run-1",
    }
    out = sm.run({}, context=ctx).output
    assert out == {"id": ctx["execution_arn"], "sm": "orders"}


def test_waits_really_wait_by_default() -> None:
    sm = StateMachine.from_definition(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    )
    started = time.monotonic()
    assert sm.run({}).status == "SUCCEEDED"
    assert time.monotonic() - started >= 0.95
    started = time.monotonic()
    assert sm.run({}, real_time=False).status == "SUCCEEDED"
    assert time.monotonic() - started < 0.5


def test_machine_timeout_seconds() -> None:
    sm = StateMachine.from_definition(
        {"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    result = sm.run({}, real_time=False)
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert result.history[-1]["type"] == "ExecutionTimedOut"


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        ("arn:aws:states:::sns:publish.waitForTaskToken", "'.waitForTaskToken'"),
        ("arn:aws:states:::states:startExecution.sync", "'.sync'"),
    ],
)
def test_run_is_express_and_rejects_callback_integrations(resource: str, fragment: str) -> None:
    with pytest.raises(InvalidDefinition) as info:
        task(resource).run({})
    assert fragment in info.value.message and "/States/T/Resource" in info.value.message


def test_unregistered_service_integration_names_what_is_missing() -> None:
    result = task("arn:aws:states:::sqs:sendMessage", Parameters={"QueueUrl": "q", "MessageBody": "m"}).run(
        {}
    )
    assert result.status == "FAILED" and "arn:aws:states:::sqs:sendMessage" in result.cause


def test_start_yields_effects_for_drivers() -> None:
    sm = StateMachine.from_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    gen = sm.start({"x": 1}, info=ExecutionInfo(execution_arn="arn:x"))
    effect = gen.send(None)
    keys = []
    reply: Any = None
    with pytest.raises(StopIteration) as stop:
        n = 0
        while True:
            assert isinstance(effect, RecordEvent)
            keys.append(effect.key)
            n += 1
            effect = gen.send((n, 1_700_000_000.0 + n))
            reply = effect
    assert reply is not None
    assert stop.value.value.output == {"x": 1}
    assert len(set(keys)) == len(keys) == 4


def test_busy_loop_times_out_too() -> None:
    sm = StateMachine.from_definition(
        {
            "TimeoutSeconds": 1,
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.x", "IsPresent": False, "Next": "A"}],
                    "Default": "C",
                },
                "C": {"Type": "Succeed"},
            },
        }
    )
    assert sm.run({}).status == "TIMED_OUT"


def test_parallel_branches_call_their_resources_concurrently() -> None:
    def slow(payload: Any) -> Any:
        time.sleep(0.3)
        return payload

    branches = [
        {"StartAt": f"T{i}", "States": {f"T{i}": {"Type": "Task", "Resource": FN_ARN, "End": True}}}
        for i in range(4)
    ]
    sm = StateMachine.from_definition(
        {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": True}}}
    )
    started = time.monotonic()
    result = sm.run({"n": 1}, resources={"greet": slow})
    assert result.output == [{"n": 1}] * 4
    assert time.monotonic() - started < 0.9  # 4 x 0.3 s sequentially would be 1.2 s


def test_history_can_be_skipped() -> None:
    sm = StateMachine.from_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    result = sm.run({"x": 1}, history=False)
    assert (result.status, result.output, result.history) == ("SUCCEEDED", {"x": 1}, [])
