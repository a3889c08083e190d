"""Message move tasks: redrive messages out of a dead-letter queue (StartMessageMoveTask).

A task moves the messages that are in the dead-letter queue when it starts, back to the queue
each came from (``DeadLetterQueueSourceArn``) or to ``DestinationArn``, at most
``MaxNumberOfMessagesPerSecond`` a second. Each move is one atomic store write; tasks are
persisted and a task that was running when the process stopped resumes on start.

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.errors import CloudletError
from cloudlet.queues.errors import InvalidParameterValue, MessageMoveTaskNotFound, UnsupportedOperation
from cloudlet.store import Put

if TYPE_CHECKING:
    from cloudlet.queues.service import Queues

log = logging.getLogger(__name__)

NS_MOVES = "sqs.moves"


@dataclass
class MoveTask:
    """One message move task and its progress (mutable: the runner updates it)."""

    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    status: str
    moved: int
    to_move: int
    started_ms: int
    failure: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure:
            out["FailureReason"] = self.failure
        return out


class MessageMoves:
    """The move tasks of one ``Queues`` service."""

    def __init__(self, service: Queues) -> None:
        self._service = service
        self._tasks: dict[str, MoveTask] = {}
        self._runners: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        for handle, doc in await self._service.store.scan(NS_MOVES):
            task = MoveTask(**doc)
            self._tasks[handle] = task
            if task.status in ("RUNNING", "CANCELLING"):
                self._run(task)

    async def stop(self) -> None:
        for runner in list(self._runners.values()):
            runner.cancel()
        for runner in list(self._runners.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        self._runners.clear()

    async def start_task(
        self, source_arn: str, destination_arn: str | None, rate: int | None
    ) -> dict[str, Any]:
        service = self._service
        source = service.queue_by_arn(source_arn)
        if source is None:
            raise MessageMoveTaskNotFound(
                "The resource that you specified for the SourceArn parameter doesn't exist."
            )
        if not any(
            (q.redrive_policy or {}).get("deadLetterTargetArn") == source_arn for q in service.queues()
        ):
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        if destination_arn is not None and service.queue_by_arn(destination_arn) is None:
            raise MessageMoveTaskNotFound(
                "The resource that you specified for the DestinationArn parameter doesn't exist."
            )
        if rate is not None and not 1 <= rate <= 500:
            raise InvalidParameterValue(
                f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be "
                "between 1 and 500."
            )
        if any(t.source_arn == source_arn and t.status == "RUNNING" for t in self._tasks.values()):
            raise UnsupportedOperation(
                "There is already a task running. Only one active task is allowed for a source queue "
                "arn at a given time."
            )
        handle = base64.b64encode(
            orjson.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn})
        ).decode()
        task = MoveTask(
            handle=handle,
            source_arn=source_arn,
            destination_arn=destination_arn,
            rate=rate,
            status="RUNNING",
            moved=0,
            to_move=len(source.messages),
            started_ms=int(service.clock.time() * 1000),
        )
        self._tasks[handle] = task
        await self._save(task)
        self._run(task)
        return {"TaskHandle": handle}

    def list_tasks(self, source_arn: str, max_results: int | None) -> dict[str, Any]:
        if max_results is not None and not 1 <= max_results <= 10:
            raise InvalidParameterValue(
                f"Value {max_results} for parameter MaxResults is invalid. Reason: must be between 1 and 10."
            )
        if self._service.queue_by_arn(source_arn) is None:
            raise MessageMoveTaskNotFound(
                "The resource that you specified for the SourceArn parameter doesn't exist."
            )
        tasks = sorted(
            (t for t in self._tasks.values() if t.source_arn == source_arn),
            key=lambda t: t.started_ms,
            reverse=True,
        )
        return {"Results": [t.describe() for t in tasks[: max_results or 1]]}

    async def cancel_task(self, handle: str) -> dict[str, Any]:
        task = self._tasks.get(handle)
        if task is None:
            raise MessageMoveTaskNotFound("Task does not exist.")
        if task.status != "RUNNING":
            raise UnsupportedOperation("Only a task in RUNNING status can be cancelled.")
        task.status = "CANCELLED"
        runner = self._runners.pop(handle, None)
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await self._save(task)
        return {"ApproximateNumberOfMessagesMoved": task.moved}

    def _run(self, task: MoveTask) -> None:
        runner = asyncio.get_running_loop().create_task(self._move_all(task))
        self._runners[task.handle] = runner
        runner.add_done_callback(lambda _: self._runners.pop(task.handle, None))

    async def _save(self, task: MoveTask) -> None:
        await self._service.store.write([Put(NS_MOVES, task.handle, asdict(task))])

    async def _move_all(self, task: MoveTask) -> None:
        service = self._service
        try:
            while task.moved < task.to_move and task.status == "RUNNING":
                source = service.queue_by_arn(task.source_arn)
                if source is None:
                    raise InvalidParameterValue("The source queue was deleted.")
                now = service.clock.time()
                batch = sorted(
                    (m for m in source.messages.values() if m.visible_at <= now), key=lambda m: m.seq
                )
                if not batch:
                    break
                for msg in batch[: task.to_move - task.moved]:
                    if task.status != "RUNNING":
                        break
                    if source.messages.get(msg.message_id) is not msg or msg.in_flight(service.clock.time()):
                        continue
                    target_arn = task.destination_arn or msg.dead_letter_source_arn
                    target = service.queue_by_arn(target_arn) if target_arn else None
                    if target is None:
                        raise InvalidParameterValue(
                            f"The destination queue {target_arn or '(unknown source)'} does not exist."
                        )
                    await service.move_message(source, msg, target)
                    task.moved += 1
                    if task.moved % 100 == 0:
                        await self._save(task)
                    if task.rate:
                        await service.clock.sleep(1.0 / task.rate)
            if task.status == "RUNNING":
                task.status = "COMPLETED"
        except CloudletError as exc:
            task.status = "FAILED"
            task.failure = exc.message
            log.warning("message move task failed", extra={"action": "move_messages", "reason": exc.message})
        await self._save(task)
