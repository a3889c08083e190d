"""A runtime process for the crash-resume test: the workflows service on SQLite.

    python service_process.py DB LOG start|resume

``start`` creates the state machine and starts execution ``crash-me``; ``resume`` only
starts the service (which resumes RUNNING executions). Either way the process prints
``ready`` and, once the execution ends, its status and history as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import SQLiteStore
from cloudlet.workflows import Workflows

FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:recorder"
MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:crashy"
EXECUTION = "arn:aws:states:us-east-1:000000000000:execution:crashy:crash-me"
DEFINITION = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Task", "Resource": FUNCTION, "Parameters": {"step": "first"}, "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 4, "Next": "Second"},
        "Second": {"Type": "Task", "Resource": FUNCTION, "Parameters": {"step": "second"}, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}


async def main(db: str, log_path: str, mode: str) -> None:
    store = SQLiteStore(db, synchronous="FULL")
    router = Router()

    def recorder(payload: dict[str, str]) -> dict[str, str]:
        with open(log_path, "a") as f:
            f.write(payload["step"] + "\n")
            f.flush()
            os.fsync(f.fileno())
        return {"done": payload["step"]}

    router.register_arn(FUNCTION, recorder)
    service = Workflows(store=store, router=router, clock=SystemClock(), config=ServiceConfig())
    await service.start()
    if mode == "start":
        await service.create_state_machine(
            name="crashy", definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::000000000000:role/r"
        )
        await service.start_execution(stateMachineArn=MACHINE, name="crash-me", input="{}")
    print("ready", flush=True)
    while (await service.describe_execution(executionArn=EXECUTION))["status"] == "RUNNING":
        await asyncio.sleep(0.05)
    history = await service.get_execution_history(executionArn=EXECUTION, maxResults=1000)
    events = [
        {
            "type": e["type"],
            "id": e["id"],
            "timestamp": e["timestamp"].timestamp(),
            "name": e.get("stateEnteredEventDetails", {}).get("name"),
        }
        for e in history["events"]
    ]
    status = (await service.describe_execution(executionArn=EXECUTION))["status"]
    print(json.dumps({"status": status, "events": events}), flush=True)
    await service.stop()
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
