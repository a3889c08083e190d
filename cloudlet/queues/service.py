"""The queue service: SQS's API over durable queues in the store.

Every operation is an async method named as boto3 names it, taking the SQS request members as
keyword arguments and returning the response shape. Every accepted message is in the store
before ``send_message`` returns; receives, visibility changes and deletes are persisted before
they return, so a process killed at any moment restarts with every acknowledged message.

Queue URLs are ``<endpoint>/<account>/<name>`` where ``<endpoint>`` is ``config.endpoint_url``
when the runtime serves the HTTP API, else ``http://localhost:4566``. Any URL whose last two
path segments are the account and the name is accepted, and so is the queue's ARN (which is how
other services address a queue through ``router.call("sqs", "SendMessage", {"QueueUrl": arn})``).

Store layout (namespace: key -> document):

* ``sqs.queues``: ``name`` -> attributes, tags, timestamps;
* ``sqs.messages``: ``name/seq`` -> the message as accepted (body, attributes, ids);
* ``sqs.state``: ``name/seq`` -> delivery state (visible_at, receive count, first receive);
* ``sqs.dedup``: ``name/dedup key`` -> FIFO deduplication entry (5-minute window);
* ``sqs.moves``: ``task handle`` -> message move task.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from cloudlet.arns import build_arn, parse_arn
from cloudlet.background import BackgroundTasks
from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import CloudletError, ValidationError
from cloudlet.queues import attributes as qattrs
from cloudlet.queues.digest import md5_of_attributes, md5_of_body
from cloudlet.queues.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidAttributeName,
    InvalidBatchEntryId,
    InvalidParameterValue,
    MessageNotInflight,
    MissingParameter,
    PurgeQueueInProgress,
    QueueDoesNotExist,
    QueueNameExists,
    ReceiptHandleIsInvalid,
    TooManyEntriesInBatchRequest,
)
from cloudlet.queues.moves import MessageMoves
from cloudlet.queues.queue import (
    DEDUP_WINDOW,
    DedupEntry,
    Message,
    Queue,
    make_receipt_handle,
    parse_receipt_handle,
)
from cloudlet.router import InvocationType, Router
from cloudlet.store import Delete, Op, Put, Store

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://localhost:4566"
NS_QUEUES = "sqs.queues"
NS_MESSAGES = "sqs.messages"
NS_STATE = "sqs.state"
NS_DEDUP = "sqs.dedup"

SYSTEM_ATTRIBUTE_NAMES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_GROUP_OR_DEDUP_ID = re.compile(r"^[!-~]{1,128}$")
_SWEEP_INTERVAL = 60.0


def message_key(queue: str, seq: int) -> str:
    return f"{queue}/{seq:020d}"


class Queues:
    """SQS: standard and FIFO queues, durable in the store."""

    def __init__(self, *, store: Store, router: Router, clock: Clock, config: ServiceConfig) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.config = config
        self._queues: dict[str, Queue] = {}
        self._seq = 0
        self._tasks = BackgroundTasks()
        self._stopping = False
        self.moves = MessageMoves(self)
        router.register_api("sqs", self)
        router.register_owner("sqs", "", self.deliver)

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Rebuild every queue, message and deduplication entry from the store."""
        self._stopping = False
        now = self.clock.time()
        for name, doc in await self.store.scan(NS_QUEUES):
            self._queues[name] = Queue(
                name=name,
                fifo=doc["fifo"],
                attributes=doc["attributes"],
                tags=doc["tags"],
                created=doc["created"],
                last_modified=doc["last_modified"],
                purged_at=doc.get("purged_at"),
            )
        states = dict(await self.store.scan(NS_STATE))
        stale: list[Op] = []
        for key, doc in await self.store.scan(NS_MESSAGES):
            queue = self._queues.get(key.rsplit("/", 1)[0])
            self._seq = max(self._seq, doc["seq"])
            if queue is None:
                stale += [Delete(NS_MESSAGES, key), Delete(NS_STATE, key)]
                continue
            queue.add(Message.from_docs(doc, states.get(key)))
        for key, doc in await self.store.scan(NS_DEDUP):
            name, dkey = key.split("/", 1)
            queue = self._queues.get(name)
            if queue is None or doc["exp"] <= now:
                stale.append(Delete(NS_DEDUP, key))
                continue
            queue.dedup[dkey] = DedupEntry(doc["exp"], doc["id"], doc.get("seqn"))
        if stale:
            await self.store.write(stale)
        await self.moves.start()
        self._spawn(self._sweep_forever())
        log.info("queues started", extra={"action": "start", "queues": len(self._queues)})

    async def stop(self) -> None:
        """Stop background work and wake long pollers; the store stays consistent."""
        self._stopping = True
        for queue in self._queues.values():
            queue.notify()
        await self.moves.stop()
        await self._tasks.cancel_all()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro)

    async def _sweep_forever(self) -> None:
        while True:
            await self.clock.sleep(_SWEEP_INTERVAL)
            try:
                await self.sweep()
            except CloudletError:
                log.exception("queue sweep failed", extra={"action": "sweep"})

    async def sweep(self) -> None:
        """Delete messages past their retention period and expired deduplication ids."""
        now = self.clock.time()
        for queue in list(self._queues.values()):
            ops: list[Op] = []
            retention_ms = queue.int_attribute("MessageRetentionPeriod") * 1000
            for msg in list(queue.messages.values()):
                if msg.sent_ms + retention_ms <= now * 1000:
                    queue.remove(msg)
                    ops += self._delete_ops(queue, msg)
            ops += self._prune_dedup(queue, now)
            if ops:
                await self.store.write(ops)

    # -- names, URLs, lookups -----------------------------------------------------------------
    def queue_url(self, name: str) -> str:
        base = (self.config.endpoint_url or DEFAULT_ENDPOINT).rstrip("/")
        return f"{base}/{self.config.account}/{name}"

    def queue_arn(self, name: str) -> str:
        return build_arn("sqs", name, region=self.config.region, account=self.config.account)

    def _queue(self, url: str | None) -> Queue:
        if not url:
            raise MissingParameter("The request must contain the parameter QueueUrl.")
        if url.startswith("arn:"):
            arn = parse_arn(url)
            name, account = arn.resource, arn.account
        else:
            parts = url.split("?", 1)[0].rstrip("/").split("/")
            name = parts[-1]
            account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else self.config.account
        queue = self._queues.get(name)
        if queue is None or account != self.config.account:
            raise QueueDoesNotExist()
        return queue

    def queue_by_arn(self, arn: str) -> Queue | None:
        """The queue an ARN names, or None (used for redrive and message moves)."""
        try:
            parsed = parse_arn(arn)
        except ValidationError:
            return None
        if parsed.service != "sqs" or parsed.account != self.config.account:
            return None
        return self._queues.get(parsed.resource)

    def _next_seq(self) -> int:
        self._seq = max(self._seq + 1, int(self.clock.time() * 1_000_000))
        return self._seq

    # -- delivery from other services ------------------------------------------------------------
    async def deliver(self, arn: str, payload: Any, invocation_type: InvocationType = "Event") -> Any:
        """Router entry point: send ``payload`` (a string, or JSON it is serialized to) to queue ``arn``."""
        if isinstance(payload, bytes):
            body = payload.decode("utf-8")
        elif isinstance(payload, str):
            body = payload
        else:
            body = orjson.dumps(payload).decode()
        return await self.send_message(QueueUrl=arn, MessageBody=body)

    # -- queues ----------------------------------------------------------------------------------
    async def create_queue(
        self,
        QueueName: str,
        Attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        attributes = dict(Attributes or {})
        fifo = str(attributes.get("FifoQueue", "false")).lower() == "true"
        if QueueName.endswith(".fifo") and not fifo:
            raise InvalidParameterValue(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
            )
        qattrs.validate_queue_name(QueueName, fifo)
        given = {
            name: qattrs.normalize(name, value, fifo=fifo, creating=True)
            for name, value in attributes.items()
        }
        existing = self._queues.get(QueueName)
        if existing is not None:
            for name, value in given.items():
                if existing.attributes.get(name, "") != value:
                    raise QueueNameExists(
                        "A queue already exists with the same name and a different value for "
                        f"attribute {name}"
                    )
            return {"QueueUrl": self.queue_url(QueueName)}
        merged = qattrs.default_attributes(fifo)
        merged.update(given)
        self._check_redrive(QueueName, fifo, merged)
        now = int(self.clock.time())
        queue = Queue(
            name=QueueName,
            fifo=fifo,
            attributes=merged,
            tags=dict(tags or {}),
            created=now,
            last_modified=now,
        )
        self._queues[QueueName] = queue
        await self.store.write([self._queue_put(queue)])
        log.info("queue created", extra={"action": "create_queue", "queue": QueueName})
        return {"QueueUrl": self.queue_url(QueueName)}

    def _queue_put(self, queue: Queue) -> Put:
        return Put(
            NS_QUEUES,
            queue.name,
            {
                "fifo": queue.fifo,
                "attributes": queue.attributes,
                "tags": queue.tags,
                "created": queue.created,
                "last_modified": queue.last_modified,
                "purged_at": queue.purged_at,
            },
        )

    def _check_redrive(self, name: str, fifo: bool, attributes: Mapping[str, str]) -> None:
        text = attributes.get("RedrivePolicy")
        if not text:
            return
        policy = orjson.loads(text)
        target = self.queue_by_arn(policy["deadLetterTargetArn"])
        if target is None:
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Dead letter target "
                "does not exist."
            )
        if target.fifo != fifo:
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be "
                "same type of queue as the source.."
            )
        allow = target.redrive_allow_policy
        if allow:
            source_arn = self.queue_arn(name)
            permission = allow["redrivePermission"]
            if permission == "denyAll" or (
                permission == "byQueue" and source_arn not in allow.get("sourceQueueArns", [])
            ):
                raise InvalidParameterValue(
                    f"Value {text} for parameter RedrivePolicy is invalid. Reason: Queue "
                    f"{self.queue_url(target.name)} does not allow this queue to use it as a "
                    "dead-letter queue."
                )

    async def get_queue_url(
        self, QueueName: str, QueueOwnerAWSAccountId: str | None = None
    ) -> dict[str, Any]:
        if QueueOwnerAWSAccountId not in (None, self.config.account) or QueueName not in self._queues:
            raise QueueDoesNotExist()
        return {"QueueUrl": self.queue_url(QueueName)}

    async def delete_queue(self, QueueUrl: str) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        queue.deleted = True
        del self._queues[queue.name]
        queue.notify()
        ops: list[Op] = [Delete(NS_QUEUES, queue.name)]
        for msg in queue.messages.values():
            ops += self._delete_ops(queue, msg)
        ops += [Delete(NS_DEDUP, f"{queue.name}/{key}") for key in queue.dedup]
        await self.store.write(ops)
        log.info("queue deleted", extra={"action": "delete_queue", "queue": queue.name})
        return {}

    async def list_queues(
        self,
        QueueNamePrefix: str | None = None,
        NextToken: str | None = None,
        MaxResults: int | None = None,
    ) -> dict[str, Any]:
        if MaxResults is not None and not 1 <= MaxResults <= 1000:
            raise InvalidParameterValue(
                f"Value {MaxResults} for parameter MaxResults is invalid. Reason: MaxResults must be "
                "an integer between 1 and 1000."
            )
        names = sorted(n for n in self._queues if n.startswith(QueueNamePrefix or ""))
        if NextToken:
            after = _decode_token(NextToken)
            names = [n for n in names if n > after]
        limit = MaxResults or 1000
        page = names[:limit]
        out: dict[str, Any] = {}
        if page:
            out["QueueUrls"] = [self.queue_url(n) for n in page]
        if MaxResults is not None and len(names) > limit:
            out["NextToken"] = _encode_token(page[-1])
        return out

    async def get_queue_attributes(
        self, QueueUrl: str, AttributeNames: Sequence[str] | None = None
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        names = list(AttributeNames or [])
        for name in names:
            if name != "All" and name not in qattrs.ALL_NAMES:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if not names:
            return {}
        everything = self._all_attributes(queue)
        if "All" in names:
            return {"Attributes": everything}
        return {"Attributes": {n: everything[n] for n in names if n in everything}}

    def _all_attributes(self, queue: Queue) -> dict[str, str]:
        visible, in_flight, delayed = queue.counts(self.clock.time())
        out = {
            "QueueArn": self.queue_arn(queue.name),
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(queue.created),
            "LastModifiedTimestamp": str(queue.last_modified),
        }
        out.update({k: v for k, v in queue.attributes.items() if v != ""})
        return out

    async def set_queue_attributes(self, QueueUrl: str, Attributes: Mapping[str, str]) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        given = {
            name: qattrs.normalize(name, value, fifo=queue.fifo, creating=False)
            for name, value in (Attributes or {}).items()
        }
        merged = {**queue.attributes, **given}
        self._check_redrive(queue.name, queue.fifo, merged)
        queue.attributes = merged
        queue.last_modified = int(self.clock.time())
        await self.store.write([self._queue_put(queue)])
        return {}

    async def purge_queue(self, QueueUrl: str) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        now = self.clock.time()
        if queue.purged_at is not None and now - queue.purged_at < 60:
            raise PurgeQueueInProgress(
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds."
            )
        queue.purged_at = now
        ops: list[Op] = [self._queue_put(queue)]
        for msg in list(queue.messages.values()):
            if msg.sent_ms <= now * 1000:
                queue.remove(msg)
                ops += self._delete_ops(queue, msg)
        await self.store.write(ops)
        return {}

    async def tag_queue(self, QueueUrl: str, Tags: Mapping[str, str]) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        if not Tags:
            raise InvalidParameterValue("The request must contain a non-empty Tags parameter.")
        tags = {**queue.tags, **Tags}
        if len(tags) > 50:
            raise InvalidParameterValue("Too many tags added for queue " + queue.name + ".")
        queue.tags = tags
        await self.store.write([self._queue_put(queue)])
        return {}

    async def untag_queue(self, QueueUrl: str, TagKeys: Sequence[str]) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        queue.tags = {k: v for k, v in queue.tags.items() if k not in set(TagKeys)}
        await self.store.write([self._queue_put(queue)])
        return {}

    async def list_queue_tags(self, QueueUrl: str) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        return {"Tags": dict(queue.tags)} if queue.tags else {}

    async def add_permission(
        self, QueueUrl: str, Label: str, AWSAccountIds: Sequence[str], Actions: Sequence[str]
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        policy = orjson.loads(queue.attributes.get("Policy") or '{"Version":"2012-10-17","Statement":[]}')
        if any(s.get("Sid") == Label for s in policy["Statement"]):
            raise InvalidParameterValue(
                f"Value {Label} for parameter Label is invalid. Reason: Already exists."
            )
        policy["Statement"].append(
            {
                "Sid": Label,
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in AWSAccountIds]},
                "Action": [f"SQS:{a}" for a in Actions],
                "Resource": self.queue_arn(queue.name),
            }
        )
        queue.attributes["Policy"] = orjson.dumps(policy).decode()
        await self.store.write([self._queue_put(queue)])
        return {}

    async def remove_permission(self, QueueUrl: str, Label: str) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        policy = orjson.loads(queue.attributes.get("Policy") or '{"Statement":[]}')
        kept = [s for s in policy.get("Statement", []) if s.get("Sid") != Label]
        if len(kept) == len(policy.get("Statement", [])):
            raise InvalidParameterValue(
                f"Value {Label} for parameter Label is invalid. Reason: can't find label on existing policy."
            )
        policy["Statement"] = kept
        queue.attributes["Policy"] = orjson.dumps(policy).decode() if kept else ""
        await self.store.write([self._queue_put(queue)])
        return {}

    async def list_dead_letter_source_queues(
        self, QueueUrl: str, NextToken: str | None = None, MaxResults: int | None = None
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        arn = self.queue_arn(queue.name)
        names = sorted(
            q.name
            for q in self._queues.values()
            if (q.redrive_policy or {}).get("deadLetterTargetArn") == arn
        )
        if NextToken:
            after = _decode_token(NextToken)
            names = [n for n in names if n > after]
        limit = MaxResults or 1000
        out: dict[str, Any] = {"queueUrls": [self.queue_url(n) for n in names[:limit]]}
        if MaxResults is not None and len(names) > limit:
            out["NextToken"] = _encode_token(names[limit - 1])
        return out

    # -- sending -------------------------------------------------------------------------------
    async def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int | None = None,
        MessageAttributes: Mapping[str, Any] | None = None,
        MessageSystemAttributes: Mapping[str, Any] | None = None,
        MessageDeduplicationId: str | None = None,
        MessageGroupId: str | None = None,
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        now = self.clock.time()
        msg, result = self._prepare(
            queue,
            now,
            MessageBody,
            DelaySeconds,
            MessageAttributes,
            MessageSystemAttributes,
            MessageDeduplicationId,
            MessageGroupId,
        )
        if msg is not None:
            await self._commit(queue, [msg], now)
        return result

    async def send_message_batch(self, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        _check_batch(Entries, "SendMessageBatchRequestEntry")
        total = sum(
            len(str(e.get("MessageBody", "")).encode())
            + qattrs.attributes_size(_lenient_attrs(e.get("MessageAttributes")))
            for e in Entries
        )
        limit = queue.int_attribute("MaximumMessageSize")
        if total > limit:
            raise BatchRequestTooLong(
                f"Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes."
            )
        now = self.clock.time()
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        accepted: list[Message] = []
        for entry in Entries:
            try:
                msg, result = self._prepare(
                    queue,
                    now,
                    entry.get("MessageBody"),
                    entry.get("DelaySeconds"),
                    entry.get("MessageAttributes"),
                    entry.get("MessageSystemAttributes"),
                    entry.get("MessageDeduplicationId"),
                    entry.get("MessageGroupId"),
                )
            except CloudletError as exc:
                failed.append(_failure(entry["Id"], exc))
                continue
            if msg is not None:
                accepted.append(msg)
            successful.append({"Id": entry["Id"], **result})
        if accepted:
            await self._commit(queue, accepted, now)
        return {"Successful": successful, "Failed": failed}

    def _prepare(
        self,
        queue: Queue,
        now: float,
        body: str | None,
        delay: int | None,
        attributes: Mapping[str, Any] | None,
        system_attributes: Mapping[str, Any] | None,
        dedup_id: str | None,
        group_id: str | None,
    ) -> tuple[Message | None, dict[str, Any]]:
        """Validate one message and build it; (None, result) when FIFO deduplication drops it."""
        if body is None or body == "":
            raise MissingParameter("The request must contain the parameter MessageBody.")
        qattrs.check_characters(body)
        attrs = qattrs.validate_message_attributes(attributes)
        system = qattrs.validate_message_attributes(system_attributes, system=True)
        limit = queue.int_attribute("MaximumMessageSize")
        size = len(body.encode("utf-8")) + qattrs.attributes_size(attrs)
        if size > limit:
            raise InvalidParameterValue(
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
            )
        if delay is not None and not 0 <= delay <= 900:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be "
                ">= 0 and <= 900."
            )
        if group_id is not None and not _GROUP_OR_DEDUP_ID.match(group_id):
            raise InvalidParameterValue(
                f"Value {group_id} for parameter MessageGroupId is invalid. Reason: MessageGroupId can "
                "only include alphanumeric and punctuation characters. 1 to 128 in length."
            )
        if dedup_id is not None and not _GROUP_OR_DEDUP_ID.match(dedup_id):
            raise InvalidParameterValue(
                f"Value {dedup_id} for parameter MessageDeduplicationId is invalid. Reason: "
                "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 "
                "to 128 in length."
            )
        result: dict[str, Any] = {"MD5OfMessageBody": md5_of_body(body)}
        md5_attrs = md5_of_attributes(attrs)
        md5_system = md5_of_attributes(system)
        if md5_attrs:
            result["MD5OfMessageAttributes"] = md5_attrs
        if md5_system:
            result["MD5OfMessageSystemAttributes"] = md5_system
        dedup_key: str | None = None
        if queue.fifo:
            if delay:
                raise InvalidParameterValue(
                    f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include "
                    "parameter that is not valid for this queue type."
                )
            if group_id is None:
                raise MissingParameter("The request must contain the parameter MessageGroupId.")
            if dedup_id is None:
                if queue.attributes.get("ContentBasedDeduplication") != "true":
                    raise InvalidParameterValue(
                        "The queue should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                dedup_id = hashlib.sha256(body.encode("utf-8")).hexdigest()
            scope = queue.attributes.get("DeduplicationScope", "queue")
            dedup_key = f"{group_id}\x00{dedup_id}" if scope == "messageGroup" else dedup_id
            seen = queue.dedup.get(dedup_key)
            if seen is not None and seen.expires > now:
                result["MessageId"] = seen.message_id
                if seen.sequence_number:
                    result["SequenceNumber"] = seen.sequence_number
                return None, result
        elif dedup_id is not None:
            raise InvalidParameterValue(
                f"Value {dedup_id} for parameter MessageDeduplicationId is invalid. Reason: The request "
                "includes a parameter that is not valid for this queue type."
            )
        seq = self._next_seq()
        msg = Message(
            seq=seq,
            message_id=str(uuid.uuid4()),
            body=body,
            attributes=attrs,
            system_attributes=system,
            md5_body=result["MD5OfMessageBody"],
            md5_attributes=md5_attrs,
            md5_system_attributes=md5_system,
            sent_ms=int(now * 1000),
            sender_id=self.config.account,
            group_id=group_id,
            dedup_id=dedup_id,
            sequence_number=str(10**19 + seq) if queue.fifo else None,
            visible_at=now + (queue.int_attribute("DelaySeconds") if delay is None else delay),
        )
        result["MessageId"] = msg.message_id
        if msg.sequence_number:
            result["SequenceNumber"] = msg.sequence_number
        if dedup_key is not None:
            queue.dedup[dedup_key] = DedupEntry(now + DEDUP_WINDOW, msg.message_id, msg.sequence_number)
        return msg, result

    async def _commit(self, queue: Queue, msgs: list[Message], now: float) -> None:
        """Persist accepted messages, then make them receivable."""
        ops: list[Op] = []
        for msg in msgs:
            ops.append(Put(NS_MESSAGES, message_key(queue.name, msg.seq), msg.to_doc()))
            if queue.fifo and msg.dedup_id is not None:
                scope = queue.attributes.get("DeduplicationScope", "queue")
                key = f"{msg.group_id}\x00{msg.dedup_id}" if scope == "messageGroup" else msg.dedup_id
                ops.append(
                    Put(
                        NS_DEDUP,
                        f"{queue.name}/{key}",
                        {"exp": now + DEDUP_WINDOW, "id": msg.message_id, "seqn": msg.sequence_number},
                    )
                )
        try:
            await self.store.write(ops)
        except BaseException:
            for msg in msgs:  # not durable: forget the deduplication reservations
                for key, entry in list(queue.dedup.items()):
                    if entry.message_id == msg.message_id:
                        del queue.dedup[key]
            raise
        if queue.deleted:
            return
        for msg in msgs:
            queue.add(msg)

    def _prune_dedup(self, queue: Queue, now: float) -> list[Op]:
        expired = [k for k, e in queue.dedup.items() if e.expires <= now]
        for key in expired:
            del queue.dedup[key]
        cutoff = now - DEDUP_WINDOW
        queue.attempts = {k: v for k, v in queue.attempts.items() if v[0] > cutoff}
        return [Delete(NS_DEDUP, f"{queue.name}/{k}") for k in expired]

    # -- receiving -----------------------------------------------------------------------------
    async def receive_message(
        self,
        QueueUrl: str,
        AttributeNames: Sequence[str] | None = None,
        MessageSystemAttributeNames: Sequence[str] | None = None,
        MessageAttributeNames: Sequence[str] | None = None,
        MaxNumberOfMessages: int | None = None,
        VisibilityTimeout: int | None = None,
        WaitTimeSeconds: int | None = None,
        ReceiveRequestAttemptId: str | None = None,
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        limit = 1 if MaxNumberOfMessages is None else MaxNumberOfMessages
        if not 1 <= limit <= 10:
            raise InvalidParameterValue(
                f"Value {limit} for parameter MaxNumberOfMessages is invalid. Reason: Must be between "
                "1 and 10, if provided."
            )
        wait = (
            queue.int_attribute("ReceiveMessageWaitTimeSeconds")
            if WaitTimeSeconds is None
            else WaitTimeSeconds
        )
        if not 0 <= wait <= 20:
            raise InvalidParameterValue(
                f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= "
                "20, if provided."
            )
        visibility = (
            queue.int_attribute("VisibilityTimeout") if VisibilityTimeout is None else VisibilityTimeout
        )
        if not 0 <= visibility <= 43_200:
            raise InvalidParameterValue(
                f"Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 "
                "and <= 43200, if provided."
            )
        system_names = set(AttributeNames or ()) | set(MessageSystemAttributeNames or ())
        attribute_names = list(MessageAttributeNames or ())
        if ReceiveRequestAttemptId is not None and queue.fifo:
            replay = self._replay_attempt(queue, ReceiveRequestAttemptId)
            if replay is not None:
                return self._render_all(queue, replay, system_names, attribute_names)
        deadline = self.clock.time() + wait
        while True:
            taken = await self._take(queue, limit, visibility)
            if taken or queue.deleted or self._stopping:
                break
            now = self.clock.time()
            if now >= deadline:
                break
            timeout = deadline - now
            upcoming = queue.next_change(now)
            if upcoming is not None:
                timeout = min(timeout, max(upcoming - now, 0.001))
            await self._wait(queue.arrival, timeout)
        if ReceiveRequestAttemptId is not None and queue.fifo and taken:
            queue.attempts[ReceiveRequestAttemptId] = (
                self.clock.time(),
                [(m.message_id, m.receive_count) for m, _ in taken],
            )
        return self._render_all(queue, taken, system_names, attribute_names)

    def _replay_attempt(self, queue: Queue, attempt_id: str) -> list[tuple[Message, str]] | None:
        """Messages of an earlier receive with the same attempt id, if none has been touched since."""
        entry = queue.attempts.get(attempt_id)
        if entry is None or entry[0] + DEDUP_WINDOW <= self.clock.time():
            return None
        out = []
        for message_id, count in entry[1]:
            msg = queue.messages.get(message_id)
            if msg is None or msg.receive_count != count:
                return None
            out.append((msg, make_receipt_handle(queue.name, msg)))
        return out

    async def _wait(self, event: asyncio.Event, timeout: float) -> None:
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    async def _take(self, queue: Queue, limit: int, visibility: int) -> list[tuple[Message, str]]:
        """Receive up to ``limit`` messages: expire, dead-letter or mark them in flight, durably."""
        now = self.clock.time()
        now_ms = int(now * 1000)
        retention_ms = queue.int_attribute("MessageRetentionPeriod") * 1000
        policy = queue.redrive_policy
        dlq = self.queue_by_arn(policy["deadLetterTargetArn"]) if policy else None
        ops: list[Op] = []
        moved: list[Message] = []
        taken: list[tuple[Message, str]] = []
        while len(taken) < limit:
            candidates = queue.candidates(now, limit - len(taken))
            if not candidates:
                break
            for msg in candidates:
                if msg.sent_ms + retention_ms <= now_ms:
                    queue.remove(msg)
                    ops += self._delete_ops(queue, msg)
                elif policy and dlq is not None and msg.receive_count >= policy["maxReceiveCount"]:
                    queue.remove(msg)
                    ops += self._delete_ops(queue, msg)
                    copy = self._copy_for(dlq, msg, now, source_arn=self.queue_arn(queue.name))
                    ops.append(Put(NS_MESSAGES, message_key(dlq.name, copy.seq), copy.to_doc()))
                    moved.append(copy)
                else:
                    msg.receive_count += 1
                    if msg.first_receive_ms is None:
                        msg.first_receive_ms = now_ms
                    queue.set_visible_at(msg, now + visibility)
                    ops.append(Put(NS_STATE, message_key(queue.name, msg.seq), msg.state_doc()))
                    taken.append((msg, make_receipt_handle(queue.name, msg)))
        if ops:
            await self.store.write(ops)
        if moved and dlq is not None and not dlq.deleted:
            for copy in moved:
                dlq.add(copy)
            log.info(
                "messages moved to dead-letter queue",
                extra={"action": "redrive", "queue": queue.name, "dlq": dlq.name, "count": len(moved)},
            )
        return taken

    def _copy_for(self, target: Queue, msg: Message, now: float, *, source_arn: str | None) -> Message:
        """The message as it enters another queue (dead-letter queue or move-task destination)."""
        seq = self._next_seq()
        return Message(
            seq=seq,
            message_id=msg.message_id,
            body=msg.body,
            attributes=msg.attributes,
            system_attributes=msg.system_attributes,
            md5_body=msg.md5_body,
            md5_attributes=msg.md5_attributes,
            md5_system_attributes=msg.md5_system_attributes,
            sent_ms=msg.sent_ms,
            sender_id=msg.sender_id,
            group_id=msg.group_id,
            dedup_id=msg.dedup_id,
            sequence_number=str(10**19 + seq) if target.fifo else None,
            dead_letter_source_arn=source_arn,
            visible_at=now,
        )

    def _delete_ops(self, queue: Queue, msg: Message) -> list[Op]:
        key = message_key(queue.name, msg.seq)
        return [Delete(NS_MESSAGES, key), Delete(NS_STATE, key)]

    def _render_all(
        self,
        queue: Queue,
        taken: list[tuple[Message, str]],
        system_names: set[str],
        attribute_names: list[str],
    ) -> dict[str, Any]:
        if not taken:
            return {}
        return {
            "Messages": [self._render(msg, handle, system_names, attribute_names) for msg, handle in taken]
        }

    def _render(
        self, msg: Message, handle: str, system_names: set[str], attribute_names: list[str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MessageId": msg.message_id,
            "ReceiptHandle": handle,
            "MD5OfBody": msg.md5_body,
            "Body": msg.body,
        }
        if system_names:
            every = "All" in system_names
            values = {
                "SenderId": msg.sender_id,
                "SentTimestamp": str(msg.sent_ms),
                "ApproximateReceiveCount": str(msg.receive_count),
                "ApproximateFirstReceiveTimestamp": str(msg.first_receive_ms or msg.sent_ms),
                "SequenceNumber": msg.sequence_number,
                "MessageDeduplicationId": msg.dedup_id,
                "MessageGroupId": msg.group_id,
                "AWSTraceHeader": (msg.system_attributes.get("AWSTraceHeader") or {}).get("StringValue"),
                "DeadLetterQueueSourceArn": msg.dead_letter_source_arn,
            }
            chosen = {k: v for k, v in values.items() if v is not None and (every or k in system_names)}
            if chosen:
                out["Attributes"] = chosen
        if msg.attributes:
            if attribute_names:
                chosen_attrs = {
                    name: dict(attr)
                    for name, attr in msg.attributes.items()
                    if _attribute_selected(name, attribute_names)
                }
                if chosen_attrs:
                    out["MessageAttributes"] = chosen_attrs
                    out["MD5OfMessageAttributes"] = md5_of_attributes(chosen_attrs)
                else:
                    out["MD5OfMessageAttributes"] = msg.md5_attributes
            else:
                out["MD5OfMessageAttributes"] = msg.md5_attributes
        return out

    # -- deleting and visibility ---------------------------------------------------------------
    def _lookup_handle(self, queue: Queue, handle: str) -> tuple[Message | None, int]:
        parsed = parse_receipt_handle(handle) if handle else None
        if parsed is None or parsed[0] != queue.name:
            raise ReceiptHandleIsInvalid(handle)
        return queue.messages.get(parsed[1]), parsed[2]

    def _delete_one(self, queue: Queue, handle: str, now: float) -> list[Op]:
        msg, count = self._lookup_handle(queue, handle)
        if msg is None:
            return []  # already deleted: SQS answers success
        if count != msg.receive_count and msg.in_flight(now):
            return []  # a stale handle while someone else holds the message: success, nothing deleted
        queue.remove(msg)
        return self._delete_ops(queue, msg)

    async def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        ops = self._delete_one(queue, ReceiptHandle, self.clock.time())
        if ops:
            await self.store.write(ops)
        return {}

    async def delete_message_batch(
        self, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        _check_batch(Entries, "DeleteMessageBatchRequestEntry")
        now = self.clock.time()
        return await self._per_entry(
            Entries, lambda e: self._delete_one(queue, e.get("ReceiptHandle", ""), now)
        )

    def _change_one(self, queue: Queue, handle: str, timeout: Any, now: float) -> list[Op]:
        if not isinstance(timeout, int) or not 0 <= timeout <= 43_200:
            raise InvalidParameterValue(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 "
                "and <= 43200."
            )
        msg, count = self._lookup_handle(queue, handle)
        if msg is None or count != msg.receive_count:
            raise InvalidParameterValue(
                f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist "
                "or is not available for visibility timeout change."
            )
        if not msg.in_flight(now):
            raise MessageNotInflight()
        queue.set_visible_at(msg, now + timeout)
        if timeout == 0:
            queue.notify()
        return [Put(NS_STATE, message_key(queue.name, msg.seq), msg.state_doc())]

    async def change_message_visibility(
        self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        ops = self._change_one(queue, ReceiptHandle, VisibilityTimeout, self.clock.time())
        await self.store.write(ops)
        return {}

    async def change_message_visibility_batch(
        self, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        _check_batch(Entries, "ChangeMessageVisibilityBatchRequestEntry")
        now = self.clock.time()
        return await self._per_entry(
            Entries,
            lambda e: self._change_one(queue, e.get("ReceiptHandle", ""), e.get("VisibilityTimeout", 0), now),
        )

    async def _per_entry(
        self, entries: Sequence[Mapping[str, Any]], one: Callable[[Mapping[str, Any]], list[Op]]
    ) -> dict[str, Any]:
        """A batch operation: each entry succeeds or fails on its own; one write for all that succeed."""
        ops: list[Op] = []
        successful, failed = [], []
        for entry in entries:
            try:
                ops += one(entry)
            except CloudletError as exc:
                failed.append(_failure(entry["Id"], exc))
                continue
            successful.append({"Id": entry["Id"]})
        if ops:
            await self.store.write(ops)
        return {"Successful": successful, "Failed": failed}

    # -- message move tasks (dead-letter queue redrive) -------------------------------------------
    async def start_message_move_task(
        self,
        SourceArn: str,
        DestinationArn: str | None = None,
        MaxNumberOfMessagesPerSecond: int | None = None,
    ) -> dict[str, Any]:
        return await self.moves.start_task(SourceArn, DestinationArn, MaxNumberOfMessagesPerSecond)

    async def list_message_move_tasks(self, SourceArn: str, MaxResults: int | None = None) -> dict[str, Any]:
        return self.moves.list_tasks(SourceArn, MaxResults)

    async def cancel_message_move_task(self, TaskHandle: str) -> dict[str, Any]:
        return await self.moves.cancel_task(TaskHandle)

    async def move_message(self, source: Queue, msg: Message, target: Queue) -> None:
        """Durably move one message from ``source`` to ``target`` (used by move tasks)."""
        now = self.clock.time()
        copy = self._copy_for(target, msg, now, source_arn=None)
        source.remove(msg)
        ops = self._delete_ops(source, msg)
        ops.append(Put(NS_MESSAGES, message_key(target.name, copy.seq), copy.to_doc()))
        await self.store.write(ops)
        if not target.deleted:
            target.add(copy)

    def queues(self) -> list[Queue]:
        """Every queue (read-only use by move tasks)."""
        return list(self._queues.values())


# -- helpers -------------------------------------------------------------------------------------


def _check_batch(entries: Sequence[Mapping[str, Any]], entry_name: str) -> None:
    if not entries:
        raise EmptyBatchRequest(f"There should be at least one {entry_name} in the request.")
    if len(entries) > 10:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are 10. You have sent {len(entries)}."
        )
    seen: set[str] = set()
    for entry in entries:
        ident = entry.get("Id", "")
        if not _BATCH_ID.match(ident):
            raise InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                "It can be at most 80 letters long."
            )
        if ident in seen:
            raise BatchEntryIdsNotDistinct(f"Id {ident} repeated.")
        seen.add(ident)


def _failure(ident: str, exc: CloudletError) -> dict[str, Any]:
    return {"Id": ident, "SenderFault": True, "Code": exc.code, "Message": exc.message}


def _lenient_attrs(attrs: Any) -> dict[str, Any]:
    """Attributes for a size estimate only: skip malformed ones (they fail their entry later)."""
    out: dict[str, Any] = {}
    for name, attr in (attrs or {}).items():
        if isinstance(attr, Mapping) and attr.get("DataType"):
            if attr.get("BinaryValue") is not None:
                out[name] = {"DataType": attr["DataType"], "BinaryValue": attr["BinaryValue"]}
            elif attr.get("StringValue") is not None:
                out[name] = {"DataType": attr["DataType"], "StringValue": attr["StringValue"]}
    return out


def _attribute_selected(name: str, wanted: list[str]) -> bool:
    for pattern in wanted:
        if pattern in ("All", ".*") or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": name, "t": int(time.time())})).decode()


def _decode_token(token: str) -> str:
    try:
        return str(orjson.loads(base64.urlsafe_b64decode(token.encode()))["after"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise InvalidParameterValue("Invalid NextToken value.") from None


__all__ = ["DEFAULT_ENDPOINT", "Queues"]
