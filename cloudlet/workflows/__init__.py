"""The workflows service: AWS Step Functions (state machines, Standard and Express executions).

    service = Workflows(store=store, router=router, clock=clock, config=config)
    await service.start()        # resumes every RUNNING Standard execution
    await service.start_execution(stateMachineArn=..., input="{}")

See :mod:`cloudlet.workflows.service` for the operations and :mod:`cloudlet.workflows.driver`
for how executions run and survive a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudlet.workflows.service import Workflows

__all__ = ["Workflows"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that the driver and records load without the whole service.
    if name == "Workflows":
        from cloudlet.workflows.service import Workflows

        return Workflows
    raise AttributeError(name)
