"""Task resources: callbacks with task tokens, nested executions, service integrations."""

from __future__ import annotations

import json

import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import CloudletError, ResourceNotFound
from tests.workflows.helpers import LAMBDA, PASS, create, finished, history_types, run_service, settle


class FakeQueues:
    """Stands in for the queues service: the router calls its ``send_message``."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send_message(self, *, QueueUrl: str, MessageBody: str) -> dict:
        if QueueUrl.endswith("missing"):
            raise ResourceNotFound("The specified queue does not exist.", code="QueueDoesNotExist")
        self.sent.append({"QueueUrl": QueueUrl, "MessageBody": MessageBody})
        return {"MessageId": f"m{len(self.sent)}", "MD5OfMessageBody": "x"}


def callback_machine(heartbeat: int | None = None, timeout: int | None = None) -> dict:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {
            "QueueUrl": "https://q/work",
            "MessageBody": {"token.$": "$$.Task.Token", "job.$": "$.job"},
        },
        "End": True,
    }
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    if timeout is not None:
        task["TimeoutSeconds"] = timeout
    return {"StartAt": "Wait for worker", "States": {"Wait for worker": task}}


def test_wait_for_task_token_success_and_late_callbacks():
    queues = FakeQueues()

    async def scenario(service, router):
        router.register_api("sqs", queues)
        arn = await create(service, "cb", callback_machine())
        ex = (await service.start_execution(stateMachineArn=arn, input='{"job": 7}'))["executionArn"]
        await settle()
        assert len(queues.sent) == 1
        body = json.loads(queues.sent[0]["MessageBody"])
        assert body["job"] == 7
        token = body["token"]
        await service.send_task_heartbeat(taskToken=token)
        await service.send_task_success(taskToken=token, output='{"result": "done"}')
        out = await finished(service, ex)
        assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"result": "done"}
        for call, kwargs in (
            (service.send_task_success, {"output": "{}"}),
            (service.send_task_failure, {"error": "E"}),
            (service.send_task_heartbeat, {}),
        ):
            with pytest.raises(CloudletError) as err:
                await call(taskToken=token, **kwargs)
            assert (err.value.code, err.value.message) == (
                "TaskTimedOut",
                "Task Timed Out: 'Provided task does not exist anymore'",
            )
        with pytest.raises(CloudletError) as err:
            await service.send_task_success(taskToken=token, output="{not json")
        assert err.value.code == "InvalidOutput"

    run_service(scenario)


def test_send_task_failure_fails_the_task():
    queues = FakeQueues()

    async def scenario(service, router):
        router.register_api("sqs", queues)
        arn = await create(service, "cb", callback_machine())
        ex = (await service.start_execution(stateMachineArn=arn, input='{"job": 1}'))["executionArn"]
        await settle()
        token = json.loads(queues.sent[0]["MessageBody"])["token"]
        await service.send_task_failure(taskToken=token, error="Worker.Crashed", cause="disk full")
        out = await finished(service, ex)
        assert (out["status"], out["error"], out["cause"]) == ("FAILED", "Worker.Crashed", "disk full")
        assert "TaskFailed" in await history_types(service, ex)

    run_service(scenario)


def test_heartbeat_timeout():
    queues = FakeQueues()

    async def scenario(service, router):
        router.register_api("sqs", queues)
        arn = await create(service, "cb", callback_machine(heartbeat=10))
        ex = (await service.start_execution(stateMachineArn=arn, input='{"job": 1}'))["executionArn"]
        await settle()
        token = json.loads(queues.sent[0]["MessageBody"])["token"]
        await service.clock.advance(7)
        await service.send_task_heartbeat(taskToken=token)
        await settle()
        await service.clock.advance(7)
        await settle()
        assert (await service.describe_execution(executionArn=ex))["status"] == "RUNNING"
        await service.clock.advance(4)
        out = await finished(service, ex)
        assert (out["status"], out["error"]) == ("FAILED", "States.HeartbeatTimeout")
        with pytest.raises(CloudletError) as err:
            await service.send_task_success(taskToken=token, output="{}")
        assert err.value.code == "TaskTimedOut"

    run_service(scenario, clock=ManualClock())


def test_task_timeout_on_a_callback():
    queues = FakeQueues()

    async def scenario(service, router):
        router.register_api("sqs", queues)
        arn = await create(service, "cb", callback_machine(timeout=30))
        ex = (await service.start_execution(stateMachineArn=arn, input='{"job": 1}'))["executionArn"]
        await settle()
        await service.clock.advance(30)
        out = await finished(service, ex)
        assert (out["status"], out["error"]) == ("FAILED", "States.Timeout")
        assert "TaskTimedOut" in await history_types(service, ex)

    run_service(scenario, clock=ManualClock())


def test_unknown_token_of_a_known_execution_is_task_does_not_exist():
    from cloudlet.workflows.tokens import encode_task_token

    async def scenario(service, router):
        arn = await create(
            service, "w", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
        )
        ex = (await service.start_execution(stateMachineArn=arn))["executionArn"]
        await settle()
        with pytest.raises(CloudletError) as err:
            await service.send_task_success(taskToken=encode_task_token(ex, "99"), output="{}")
        assert err.value.code == "TaskDoesNotExist"
        with pytest.raises(CloudletError) as err:
            await service.send_task_success(taskToken=encode_task_token(ex + "x", "1"), output="{}")
        assert err.value.code == "TaskDoesNotExist"

    run_service(scenario, clock=ManualClock())


CHILD_OK = {"StartAt": "C", "States": {"C": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True}}}
CHILD_FAIL = {
    "StartAt": "F",
    "States": {"F": {"Type": "Fail", "Error": "ChildError", "Cause": "child broke"}},
}


def parent(pattern: str, child: str) -> dict:
    return {
        "StartAt": "Run child",
        "States": {
            "Run child": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::states:startExecution{pattern}",
                "Parameters": {"StateMachineArn": child, "Input": {"n": 5}},
                "End": True,
            }
        },
    }


@pytest.mark.parametrize(("pattern", "parsed"), [(".sync", False), (".sync:2", True)])
def test_nested_sync_execution_output(pattern, parsed):
    async def scenario(service, router):
        child = await create(service, "child", CHILD_OK)
        arn = await create(service, "parent", parent(pattern, child))
        ex = (await service.start_execution(stateMachineArn=arn))["executionArn"]
        out = await finished(service, ex)
        assert out["status"] == "SUCCEEDED", out
        result = json.loads(out["output"])
        assert result["Status"] == "SUCCEEDED" and result["StateMachineArn"] == child
        assert result["Output"] == ({"got": 5} if parsed else '{"got":5}')
        assert result["Input"] == ({"n": 5} if parsed else '{"n":5}')
        assert isinstance(result["StartDate"], int) and isinstance(result["StopDate"], int)
        children = await service.list_executions(stateMachineArn=child)
        assert [e["executionArn"] for e in children["executions"]] == [result["ExecutionArn"]]

    run_service(scenario)


def test_nested_sync_child_failure_fails_the_task():
    async def scenario(service, router):
        child = await create(service, "child", CHILD_FAIL)
        arn = await create(service, "parent", parent(".sync", child))
        out = await finished(service, (await service.start_execution(stateMachineArn=arn))["executionArn"])
        assert out["status"] == "FAILED" and out["error"] == "States.TaskFailed"
        cause = json.loads(out["cause"])
        assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "ChildError", "child broke")

    run_service(scenario)


def test_nested_fire_and_forget_returns_arn_and_start_date():
    async def scenario(service, router):
        child = await create(service, "child", CHILD_OK)
        arn = await create(service, "parent", parent("", child))
        out = await finished(service, (await service.start_execution(stateMachineArn=arn))["executionArn"])
        result = json.loads(out["output"])
        assert set(result) == {"ExecutionArn", "StartDate"}
        assert (await finished(service, result["ExecutionArn"]))["status"] == "SUCCEEDED"

    run_service(scenario)


def test_service_integration_through_the_router_and_its_errors():
    queues = FakeQueues()

    def machine(url: str) -> dict:
        return {
            "StartAt": "Send",
            "States": {
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": url, "MessageBody": "hi"},
                    "End": True,
                }
            },
        }

    async def scenario(service, router):
        router.register_api("sqs", queues)
        ok = await create(service, "ok", machine("https://q/a"))
        out = await finished(service, (await service.start_execution(stateMachineArn=ok))["executionArn"])
        assert json.loads(out["output"]) == {"MessageId": "m1", "MD5OfMessageBody": "x"}
        bad = await create(service, "bad", machine("https://q/missing"))
        out = await finished(service, (await service.start_execution(stateMachineArn=bad))["executionArn"])
        assert (out["status"], out["error"]) == ("FAILED", "SQS.QueueDoesNotExistException")
        assert out["cause"].startswith("The specified queue does not exist. (Service: AmazonSQS;")
        sns = {
            "StartAt": "Publish",
            "States": {
                "Publish": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Message": "m"},
                    "End": True,
                }
            },
        }
        none = await create(service, "nosns", sns)
        out = await finished(service, (await service.start_execution(stateMachineArn=none))["executionArn"])
        assert (out["status"], out["error"]) == ("FAILED", "SNS.ResourceNotFoundException")

    run_service(scenario)


def test_lambda_tasks_and_unknown_functions():
    def double(payload):
        return {"x": payload["x"] * 2}

    definition = {
        "StartAt": "Plain",
        "States": {
            "Plain": {"Type": "Task", "Resource": LAMBDA + "double", "Next": "Invoke"},
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "double", "Payload.$": "$"},
                "ResultSelector": {"p.$": "$.Payload", "code.$": "$.StatusCode"},
                "End": True,
            },
        },
    }
    missing = {"StartAt": "M", "States": {"M": {"Type": "Task", "Resource": LAMBDA + "ghost", "End": True}}}

    async def scenario(service, router):
        arn = await create(service, "fns", definition)
        out = await finished(
            service, (await service.start_execution(stateMachineArn=arn, input='{"x": 2}'))["executionArn"]
        )
        assert json.loads(out["output"]) == {"p": {"x": 8}, "code": 200}
        arn = await create(service, "ghost", missing)
        out = await finished(service, (await service.start_execution(stateMachineArn=arn))["executionArn"])
        assert (out["status"], out["error"]) == ("FAILED", "Lambda.ResourceNotFoundException")
        assert out["cause"].startswith(f"Function not found: {LAMBDA}ghost:$LATEST (Service: AWSLambda;")

    run_service(scenario, functions={"double": double})


def test_map_and_parallel_run_concurrently_with_max_concurrency():
    import asyncio

    active = {"now": 0, "peak": 0}

    async def slow(payload):
        active["now"] += 1
        active["peak"] = max(active["peak"], active["now"])
        await asyncio.sleep(0.01)
        active["now"] -= 1
        return payload

    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "MaxConcurrency": 3,
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": LAMBDA + "slow", "End": True}},
                },
                "End": True,
            }
        },
    }

    async def scenario(service, router):
        arn = await create(service, "fan", definition)
        items = json.dumps(list(range(10)))
        out = await finished(
            service, (await service.start_execution(stateMachineArn=arn, input=items))["executionArn"]
        )
        assert json.loads(out["output"]) == list(range(10))
        assert active["peak"] == 3

    run_service(scenario, functions={"slow": slow})


def test_test_state():
    async def scenario(service, router):
        out = await service.test_state(
            definition=json.dumps({"Type": "Pass", "Parameters": {"v.$": "$.a"}, "Next": "After"}),
            input='{"a": 3}',
        )
        assert (out["status"], json.loads(out["output"]), out["nextState"]) == (
            "SUCCEEDED",
            {"v": 3},
            "After",
        )
        choice = {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}],
            "Default": "Small",
        }
        out = await service.test_state(definition=json.dumps(choice), input='{"n": 9}')
        assert out["nextState"] == "Big"
        task = {"Type": "Task", "Resource": LAMBDA + "nobody", "End": True}
        out = await service.test_state(definition=json.dumps(task), mock={"result": '{"mocked": 1}'})
        assert (out["status"], json.loads(out["output"])) == ("SUCCEEDED", {"mocked": 1})
        retried = {**task, "Retry": [{"ErrorEquals": ["Oops"]}]}
        out = await service.test_state(
            definition=json.dumps(retried), mock={"errorOutput": {"error": "Oops", "cause": "c"}}
        )
        assert (out["status"], out["error"]) == ("RETRIABLE", "Oops")
        caught = {**task, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]}
        out = await service.test_state(
            definition=json.dumps(caught), mock={"errorOutput": {"error": "Oops", "cause": "c"}}
        )
        assert (out["status"], out["nextState"]) == ("CAUGHT_ERROR", "Handler")
        assert json.loads(out["output"]) == {"Error": "Oops", "Cause": "c"}

    run_service(scenario)


def test_express_rejects_callbacks_at_create():
    async def scenario(service, router):
        with pytest.raises(CloudletError) as err:
            await create(service, "x", callback_machine(), type="EXPRESS")
        assert err.value.message == (
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not "
            "support '.waitForTaskToken' service integration  at /States/Wait for worker/Resource'"
        )
        await create(service, "fine", PASS, type="EXPRESS")

    run_service(scenario)


def test_callback_after_a_service_restart():
    from cloudlet.store import MemoryStore

    store, queues = MemoryStore(), FakeQueues()

    async def first(service, router):
        router.register_api("sqs", queues)
        arn = await create(service, "cb", callback_machine())
        ex = (await service.start_execution(stateMachineArn=arn, input='{"job": 1}'))["executionArn"]
        await settle()
        return ex

    async def second(service, router):
        router.register_api("sqs", queues)
        # At once, while the resumed execution may still be loading its journal.
        token = json.loads(queues.sent[0]["MessageBody"])["token"]
        await service.send_task_success(taskToken=token, output='"after restart"')
        return await finished(service, ex)

    ex = run_service(first, store=store)
    out = run_service(second, store=store)
    assert (out["status"], out["output"]) == ("SUCCEEDED", '"after restart"')
    assert len(queues.sent) == 1  # the message with the token was not sent again


def test_stopping_a_parent_stops_its_sync_child():
    waiting_child = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}

    async def scenario(service, router):
        child = await create(service, "child", waiting_child)
        arn = await create(service, "parent", parent(".sync", child))
        ex = (await service.start_execution(stateMachineArn=arn))["executionArn"]
        await settle()
        [kid] = (await service.list_executions(stateMachineArn=child))["executions"]
        assert kid["status"] == "RUNNING"
        await service.stop_execution(executionArn=ex)
        assert (await service.describe_execution(executionArn=kid["executionArn"]))["status"] == "ABORTED"

    run_service(scenario, clock=ManualClock())


def test_child_answers_its_parent_through_the_aws_sdk_integration():
    child = {
        "StartAt": "Answer",
        "States": {
            "Answer": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                "Parameters": {"TaskToken.$": "$.token", "Output": '{"from": "child"}'},
                "End": True,
            }
        },
    }

    async def scenario(service, router):
        child_arn = await create(service, "child", child)
        parent_def = {
            "StartAt": "Ask child",
            "States": {
                "Ask child": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                    "Parameters": {"StateMachineArn": child_arn, "Input": {"token.$": "$$.Task.Token"}},
                    "Next": "Describe",
                },
                "Describe": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
                    "Parameters": {"StateMachineArn": child_arn},
                    "ResultSelector": {"name.$": "$.Name", "type.$": "$.Type"},
                    "ResultPath": "$.child",
                    "End": True,
                },
            },
        }
        arn = await create(service, "parent", parent_def)
        out = await finished(service, (await service.start_execution(stateMachineArn=arn))["executionArn"])
        assert out["status"] == "SUCCEEDED", out
        assert json.loads(out["output"]) == {"from": "child", "child": {"name": "child", "type": "STANDARD"}}

    run_service(scenario)


def test_nested_start_of_a_missing_machine_fails_as_aws():
    missing = "arn:aws:states:us-east-1:000000000000:stateMachine:nope"

    async def scenario(service, router):
        arn = await create(service, "parent", parent(".sync", missing))
        out = await finished(service, (await service.start_execution(stateMachineArn=arn))["executionArn"])
        assert (out["status"], out["error"]) == ("FAILED", "StepFunctions.StateMachineDoesNotExistException")
        assert out["cause"].startswith(
            f"State Machine Does Not Exist: '{missing}' (Service: AWSStepFunctions; Status Code: 400; "
            "Error Code: StateMachineDoesNotExist; Request ID: "
        )

    run_service(scenario)
