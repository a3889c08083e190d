"""Queue -> function: Lambda's SQS poller.

Long-polls the queue, gathers up to ``BatchSize`` messages within
``MaximumBatchingWindowInSeconds``, drops (deletes) messages no filter matches, invokes the
function synchronously and deletes what it processed. When the function fails, the batch is
left in the queue: each message becomes visible again after the queue's visibility timeout
and its receive count follows the queue's redrive policy, as on AWS. With
``ReportBatchItemFailures`` only the reported messages are left.

https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from cloudlet.errors import CloudletError, TaskFailed
from cloudlet.mappings.events import filter_view, sqs_record

if TYPE_CHECKING:
    from cloudlet.mappings.service import EventSourceMappings, Mapping

log = logging.getLogger(__name__)

_ERROR_BACKOFF = 5.0


async def poll_queue(service: EventSourceMappings, mapping: Mapping) -> None:
    """Run until cancelled: receive, filter, invoke, delete."""
    router, clock = service.router, service.clock
    queue_arn = mapping.config["EventSourceArn"]
    while True:
        try:
            messages = await _gather(service, mapping)
        except CloudletError as exc:
            mapping.last_result = f"PROBLEM: {exc.code}: {exc.message}"
            log.warning(
                "queue poll failed", extra={"action": "poll_queue", "queue": queue_arn, "code": exc.code}
            )
            await clock.sleep(_ERROR_BACKOFF)
            continue
        if not messages:
            continue
        records = [sqs_record(m, queue_arn, service.config.region) for m in messages]
        matched = [r for r in records if mapping.accepts(filter_view(r, "sqs"))]
        dropped = [r for r in records if r not in matched]
        done = list(dropped)  # messages no filter matches are deleted without an invocation
        if matched:
            try:
                result = await router.deliver(
                    mapping.function_arn, {"Records": matched}, invocation_type="RequestResponse"
                )
            except TaskFailed as exc:
                mapping.last_result = "OK"
                log.info(
                    "function failed; batch returns to the queue",
                    extra={"action": "invoke", "function": mapping.function_arn, "error": exc.error},
                )
            except CloudletError as exc:
                mapping.last_result = f"PROBLEM: {exc.code}: {exc.message}"
                log.warning(
                    "function could not be invoked",
                    extra={"action": "invoke", "function": mapping.function_arn, "code": exc.code},
                )
                await clock.sleep(_ERROR_BACKOFF)  # the batch returns after its visibility timeout
            else:
                mapping.last_result = "OK"
                done += _processed(mapping, matched, result)
        if done:
            await _delete(service, queue_arn, done)


async def _gather(service: EventSourceMappings, mapping: Mapping) -> list[dict[str, Any]]:
    """Receive up to BatchSize messages, waiting at most the batching window once one arrived."""
    batch_size = mapping.config["BatchSize"]
    window = mapping.config.get("MaximumBatchingWindowInSeconds", 0) or 0
    queue_arn = mapping.config["EventSourceArn"]
    out: list[dict[str, Any]] = []
    deadline: float | None = None
    while len(out) < batch_size:
        if deadline is None:
            wait = 20
        else:
            remaining = deadline - service.clock.time()
            if remaining <= 0:
                break
            wait = min(20, math.ceil(remaining))
        response = await service.router.call(
            "sqs",
            "ReceiveMessage",
            {
                "QueueUrl": queue_arn,
                "MaxNumberOfMessages": min(10, batch_size - len(out)),
                "WaitTimeSeconds": wait,
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            },
        )
        got = response.get("Messages", [])
        out += got
        if out and window == 0:
            break
        if out and deadline is None:
            deadline = service.clock.time() + window
        if not got and deadline is None:
            return out  # a long poll came back empty: poll again
    return out


def _processed(mapping: Mapping, records: list[dict[str, Any]], result: Any) -> list[dict[str, Any]]:
    """The records to delete after a successful invocation (all but reported failures).

    With ReportBatchItemFailures, a null or empty response or ``batchItemFailures`` means every
    record succeeded; a response Lambda cannot read, or an identifier that is empty or not in
    the batch, fails the whole batch.
    """
    if "ReportBatchItemFailures" not in (mapping.config.get("FunctionResponseTypes") or []):
        return records
    if result is None:
        return records
    if not isinstance(result, dict):
        return []
    failures = result.get("batchItemFailures")
    if not failures:
        return records
    if not isinstance(failures, list):
        return []
    ids = {r["messageId"] for r in records}
    failed: set[str] = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in ids:
            return []
        failed.add(ident)
    return [r for r in records if r["messageId"] not in failed]


async def _delete(service: EventSourceMappings, queue_arn: str, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), 10):
        chunk = records[start : start + 10]
        await service.router.call(
            "sqs",
            "DeleteMessageBatch",
            {
                "QueueUrl": queue_arn,
                "Entries": [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            },
        )
