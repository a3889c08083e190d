"""State machine operations: happy paths and AWS's error codes and messages."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cloudlet.errors import CloudletError
from tests.workflows.helpers import PASS, ROLE, create, machine_arn, run_service

EXECUTION_ARN = "arn:aws:states:us-east-1:000000000000:execution:m:e"


def test_create_describe_list_update_delete():
    async def scenario(service, router):
        arn = await create(service, "orders", PASS)
        assert arn == machine_arn("orders")
        described = await service.describe_state_machine(stateMachineArn=arn)
        assert described["name"] == "orders" and described["type"] == "STANDARD"
        assert described["status"] == "ACTIVE" and json.loads(described["definition"]) == PASS
        assert isinstance(described["creationDate"], datetime) and described["creationDate"].tzinfo
        # Creating again with the same settings is idempotent.
        again = await service.create_state_machine(name="orders", definition=json.dumps(PASS), roleArn=ROLE)
        assert again["stateMachineArn"] == arn
        await create(service, "billing", PASS, type="EXPRESS")
        listed = await service.list_state_machines()
        assert [m["name"] for m in listed["stateMachines"]] == ["billing", "orders"]
        page = await service.list_state_machines(maxResults=1)
        assert [m["name"] for m in page["stateMachines"]] == ["billing"]
        rest = await service.list_state_machines(maxResults=1, nextToken=page["nextToken"])
        assert [m["name"] for m in rest["stateMachines"]] == ["orders"] and "nextToken" not in rest
        new_def = {"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}}
        updated = await service.update_state_machine(stateMachineArn=arn, definition=json.dumps(new_def))
        assert updated["revisionId"] != described["revisionId"]
        assert (
            json.loads((await service.describe_state_machine(stateMachineArn=arn))["definition"]) == new_def
        )
        assert await service.delete_state_machine(stateMachineArn=arn) == {}
        with pytest.raises(CloudletError) as err:
            await service.describe_state_machine(stateMachineArn=arn)
        assert err.value.code == "StateMachineDoesNotExist"
        assert err.value.message == f"State Machine Does Not Exist: '{arn}'"

    run_service(scenario)


BAD_DEFINITION = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}

CREATE_ERRORS = [
    ({"name": "bad name"}, "InvalidName", "Invalid Name: 'bad name'"),
    ({"name": "a" * 81}, "InvalidName", None),
    ({"name": "x:y"}, "InvalidName", None),
    ({"roleArn": "not-an-arn"}, "InvalidArn", "Invalid Arn: 'Invalid ARN prefix: not-an-arn'"),
    ({"type": "FAST"}, "ValidationException", None),
    ({"definition": "{not json"}, "InvalidDefinition", None),
    ({"definition": json.dumps(BAD_DEFINITION)}, "InvalidDefinition", None),
    (
        {
            "type": "EXPRESS",
            "definition": json.dumps(
                {
                    "StartAt": "S",
                    "States": {
                        "S": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::states:startExecution.sync",
                            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x"},
                            "End": True,
                        }
                    },
                }
            ),
        },
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not "
        "support '.sync' service integration at /States/S/Resource'",
    ),
]


@pytest.mark.parametrize(("override", "code", "message"), CREATE_ERRORS)
def test_create_state_machine_errors(override, code, message):
    async def scenario(service, router):
        params = {"name": "m", "definition": json.dumps(PASS), "roleArn": ROLE, **override}
        with pytest.raises(CloudletError) as err:
            await service.create_state_machine(**params)
        assert err.value.code == code
        if message is not None:
            assert err.value.message == message
        if code == "InvalidDefinition":
            assert err.value.message.startswith("Invalid State Machine Definition: '")

    run_service(scenario)


def test_create_with_other_settings_is_state_machine_already_exists():
    async def scenario(service, router):
        arn = await create(service, "m", PASS)
        other = {"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}}
        with pytest.raises(CloudletError) as err:
            await service.create_state_machine(name="m", definition=json.dumps(other), roleArn=ROLE)
        assert (err.value.code, err.value.message) == (
            "StateMachineAlreadyExists",
            f"State Machine Already Exists: '{arn}'",
        )

    run_service(scenario)


ARN_ERRORS = [
    ("describe_state_machine", {"stateMachineArn": "nope"}, "InvalidArn"),
    ("describe_state_machine", {"stateMachineArn": EXECUTION_ARN}, "InvalidArn"),
    ("describe_state_machine", {"stateMachineArn": machine_arn("missing")}, "StateMachineDoesNotExist"),
    (
        "update_state_machine",
        {"stateMachineArn": machine_arn("missing"), "roleArn": ROLE},
        "StateMachineDoesNotExist",
    ),
    ("delete_state_machine", {"stateMachineArn": "arn:aws:sqs:us-east-1:1:q"}, "InvalidArn"),
    ("start_execution", {"stateMachineArn": machine_arn("missing")}, "StateMachineDoesNotExist"),
    ("describe_execution", {"executionArn": EXECUTION_ARN}, "ExecutionDoesNotExist"),
    ("describe_execution", {"executionArn": machine_arn("m")}, "InvalidArn"),
    ("stop_execution", {"executionArn": EXECUTION_ARN}, "ExecutionDoesNotExist"),
    ("get_execution_history", {"executionArn": EXECUTION_ARN}, "ExecutionDoesNotExist"),
    ("list_executions", {"stateMachineArn": machine_arn("missing")}, "StateMachineDoesNotExist"),
    ("list_executions", {}, "ValidationException"),
    ("redrive_execution", {"executionArn": EXECUTION_ARN}, "ExecutionDoesNotExist"),
    ("list_tags_for_resource", {"resourceArn": machine_arn("missing")}, "ResourceNotFound"),
    ("list_state_machines", {"nextToken": "garbage!"}, "InvalidToken"),
    ("send_task_success", {"taskToken": "garbage", "output": "{}"}, "InvalidToken"),
]


@pytest.mark.parametrize(("operation", "params", "code"), ARN_ERRORS)
def test_operation_errors(operation, params, code):
    async def scenario(service, router):
        await create(service, "m", PASS)
        with pytest.raises(CloudletError) as err:
            await getattr(service, operation)(**params)
        assert err.value.code == code

    run_service(scenario)


def test_update_without_changes_is_missing_required_parameter():
    async def scenario(service, router):
        arn = await create(service, "m", PASS)
        with pytest.raises(CloudletError) as err:
            await service.update_state_machine(stateMachineArn=arn)
        assert err.value.code == "MissingRequiredParameter"

    run_service(scenario)


def test_validate_state_machine_definition():
    async def scenario(service, router):
        ok = await service.validate_state_machine_definition(definition=json.dumps(PASS))
        assert ok == {"result": "OK", "diagnostics": [], "truncated": False}
        bad = await service.validate_state_machine_definition(definition=json.dumps(BAD_DEFINITION))
        assert bad["result"] == "FAIL" and bad["diagnostics"]
        assert bad["diagnostics"][0] == {
            "severity": "ERROR",
            "code": "MISSING_TRANSITION_TARGET",
            "message": "Missing 'Next' target: Nowhere",
            "location": "/States/A/Next",
        }

    run_service(scenario)


def test_tags():
    async def scenario(service, router):
        arn = await create(service, "m", PASS)
        await service.tag_resource(
            resourceArn=arn, tags=[{"key": "team", "value": "a"}, {"key": "env", "value": "x"}]
        )
        await service.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "b"}])
        await service.untag_resource(resourceArn=arn, tagKeys=["env"])
        assert await service.list_tags_for_resource(resourceArn=arn) == {
            "tags": [{"key": "team", "value": "b"}]
        }
        with pytest.raises(CloudletError) as err:
            await service.tag_resource(
                resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)]
            )
        assert err.value.code == "TooManyTags"

    run_service(scenario)


def test_state_machines_survive_a_restart():
    from cloudlet.store import MemoryStore

    store = MemoryStore()

    async def first(service, router):
        await create(service, "kept", PASS)

    async def second(service, router):
        listed = await service.list_state_machines()
        return [m["name"] for m in listed["stateMachines"]]

    run_service(first, store=store)
    assert run_service(second, store=store) == ["kept"]
