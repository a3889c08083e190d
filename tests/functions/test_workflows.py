"""Step Functions tasks call real functions through the router: results, and errors as Error/Cause."""

from __future__ import annotations

import json

import pytest

from cloudlet.functions import Functions
from tests.functions.conftest import create

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:us-east-1:000000000000:function"


def _machine(resource: str, parameters: dict | None = None) -> str:
    task: dict = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        task["Parameters"] = parameters
    return json.dumps({"StartAt": "Call", "States": {"Call": task}})


def test_task_states_invoke_functions(run_service):
    workflows_module = pytest.importorskip("cloudlet.workflows")

    async def body(f: Functions):
        flows = workflows_module.Workflows(store=f.store, router=f.router, clock=f.clock, config=f.config)
        await flows.start()
        try:
            await create(f, "echo", "app.echo")
            await create(f, "fail", "app.fail")

            async def run(name: str, definition: str) -> dict:
                machine = await flows.create_state_machine(
                    name=name,
                    definition=definition,
                    roleArn="arn:aws:iam::000000000000:role/r",
                    type="EXPRESS",
                )
                return await flows.start_sync_execution(
                    stateMachineArn=machine["stateMachineArn"], input='{"k": 1}'
                )

            ok = await run("plain", _machine(f"{ARN}:echo"))
            assert ok["status"] == "SUCCEEDED" and json.loads(ok["output"]) == {"event": {"k": 1}}
            invoke = await run(
                "invoke",
                _machine("arn:aws:states:::lambda:invoke", {"FunctionName": "echo", "Payload.$": "$"}),
            )
            assert invoke["status"] == "SUCCEEDED"
            assert json.loads(invoke["output"])["Payload"] == {"event": {"k": 1}}
            failed = await run("failing", _machine(f"{ARN}:fail"))
            assert failed["status"] == "FAILED" and failed["error"] == "ValueError"
            cause = json.loads(failed["cause"])
            assert cause["errorMessage"] == "something broke" and cause["errorType"] == "ValueError"
            assert failed["cause"] == json.dumps(cause)
        finally:
            await flows.stop()

    run_service(body)
