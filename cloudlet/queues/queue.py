"""One queue's in-memory state: its messages and which of them a receive may take.

The service persists every change to the store and rebuilds these objects on start; this
module decides, for a given moment, which messages are visible, in flight or delayed, and
hands out messages in SQS's order: roughly first-in-first-out for standard queues, strictly
in order per message group for FIFO queues, where a group with a message in flight is locked.

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from cloudlet.queues.digest import md5_of_attributes, md5_of_body

#: How long FIFO deduplication ids and ReceiveRequestAttemptIds are remembered.
DEDUP_WINDOW = 300.0


@dataclass(slots=True)
class Message:
    """A message and its mutable delivery state (not frozen: receives change it in place)."""

    seq: int
    message_id: str
    body: str
    attributes: dict[str, Any]
    system_attributes: dict[str, Any]
    md5_body: str
    md5_attributes: str | None
    md5_system_attributes: str | None
    sent_ms: int
    sender_id: str
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    dead_letter_source_arn: str | None = None
    #: Epoch seconds from which the message may be received (delay or visibility timeout).
    visible_at: float = 0.0
    receive_count: int = 0
    first_receive_ms: int | None = None
    #: Bumped whenever ``visible_at`` changes, so stale heap entries are recognised.
    version: int = 0

    def in_flight(self, now: float) -> bool:
        return self.receive_count > 0 and self.visible_at > now

    def delayed(self, now: float) -> bool:
        return self.receive_count == 0 and self.visible_at > now

    # -- persistence ------------------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        """The immutable part, as stored once when the message is accepted."""
        return {
            "seq": self.seq,
            "id": self.message_id,
            "body": self.body,
            "attrs": _encode_attrs(self.attributes),
            "sys": _encode_attrs(self.system_attributes),
            "sent": self.sent_ms,
            "sender": self.sender_id,
            "group": self.group_id,
            "dedup": self.dedup_id,
            "seqn": self.sequence_number,
            "dlsrc": self.dead_letter_source_arn,
            "vis": self.visible_at,
        }

    def state_doc(self) -> dict[str, Any]:
        """The delivery state, stored on every receive and visibility change."""
        return {"vis": self.visible_at, "rc": self.receive_count, "first": self.first_receive_ms}

    @classmethod
    def from_docs(cls, doc: dict[str, Any], state: dict[str, Any] | None) -> Message:
        attrs = _decode_attrs(doc["attrs"])
        system = _decode_attrs(doc["sys"])
        msg = cls(
            seq=doc["seq"],
            message_id=doc["id"],
            body=doc["body"],
            attributes=attrs,
            system_attributes=system,
            md5_body=md5_of_body(doc["body"]),
            md5_attributes=md5_of_attributes(attrs),
            md5_system_attributes=md5_of_attributes(system),
            sent_ms=doc["sent"],
            sender_id=doc["sender"],
            group_id=doc.get("group"),
            dedup_id=doc.get("dedup"),
            sequence_number=doc.get("seqn"),
            dead_letter_source_arn=doc.get("dlsrc"),
            visible_at=doc.get("vis", 0.0),
        )
        if state:
            msg.visible_at = state["vis"]
            msg.receive_count = state["rc"]
            msg.first_receive_ms = state.get("first")
        return msg


def _encode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, attr in attrs.items():
        if "BinaryValue" in attr:
            out[name] = {"DataType": attr["DataType"], "B": base64.b64encode(attr["BinaryValue"]).decode()}
        else:
            out[name] = {"DataType": attr["DataType"], "StringValue": attr["StringValue"]}
    return out


def _decode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, attr in attrs.items():
        if "B" in attr:
            out[name] = {"DataType": attr["DataType"], "BinaryValue": base64.b64decode(attr["B"])}
        else:
            out[name] = dict(attr)
    return out


@dataclass(slots=True)
class DedupEntry:
    """A FIFO deduplication id remembered for five minutes after its first send."""

    expires: float
    message_id: str
    sequence_number: str | None


@dataclass
class Queue:
    """In-memory state of one queue; every change is persisted by the service."""

    name: str
    fifo: bool
    attributes: dict[str, str]
    tags: dict[str, str]
    created: int
    last_modified: int
    purged_at: float | None = None
    messages: dict[str, Message] = field(default_factory=dict)
    #: (visible_at, seq, message_id, version): candidates for standard queues, wake-ups for FIFO.
    heap: list[tuple[float, int, str, int]] = field(default_factory=list)
    groups: OrderedDict[str, deque[Message]] = field(default_factory=OrderedDict)
    dedup: dict[str, DedupEntry] = field(default_factory=dict)
    attempts: dict[str, tuple[float, list[tuple[str, int]]]] = field(default_factory=dict)
    arrival: asyncio.Event = field(default_factory=asyncio.Event)
    deleted: bool = False

    # -- attributes -------------------------------------------------------------------------
    def int_attribute(self, name: str) -> int:
        return int(self.attributes[name])

    @property
    def redrive_policy(self) -> dict[str, Any] | None:
        text = self.attributes.get("RedrivePolicy")
        return orjson.loads(text) if text else None

    @property
    def redrive_allow_policy(self) -> dict[str, Any] | None:
        text = self.attributes.get("RedriveAllowPolicy")
        return orjson.loads(text) if text else None

    # -- membership -------------------------------------------------------------------------
    def add(self, msg: Message) -> None:
        """Insert a durable message and wake long pollers."""
        self.messages[msg.message_id] = msg
        if self.fifo:
            group = self.groups.get(msg.group_id or "")
            if group is None:
                group = self.groups[msg.group_id or ""] = deque()
            group.append(msg)
        self._schedule(msg)
        self.notify()

    def remove(self, msg: Message) -> None:
        """Forget a message (deleted, expired, moved)."""
        if self.messages.pop(msg.message_id, None) is None:
            return
        msg.version += 1
        if self.fifo:
            key = msg.group_id or ""
            group = self.groups.get(key)
            if group is not None:
                if group and group[0] is msg:
                    group.popleft()
                else:
                    try:
                        group.remove(msg)
                    except ValueError:
                        pass
                if not group:
                    del self.groups[key]
            self.notify()  # a deleted in-flight message may unlock its group

    def set_visible_at(self, msg: Message, when: float) -> None:
        msg.visible_at = when
        msg.version += 1
        self._schedule(msg)

    def _schedule(self, msg: Message) -> None:
        if not self.fifo or msg.visible_at:
            heapq.heappush(self.heap, (msg.visible_at, msg.seq, msg.message_id, msg.version))

    def notify(self) -> None:
        """Wake every long poll waiting on this queue."""
        self.arrival.set()
        self.arrival = asyncio.Event()

    # -- selection ----------------------------------------------------------------------------
    def next_change(self, now: float) -> float | None:
        """The earliest future moment at which a message becomes visible, if any."""
        heap = self.heap
        while heap:
            visible_at, _, message_id, version = heap[0]
            msg = self.messages.get(message_id)
            if msg is None or msg.version != version or (self.fifo and visible_at <= now):
                heapq.heappop(heap)
                continue
            return visible_at
        return None

    def candidates(self, now: float, limit: int) -> list[Message]:
        """Up to ``limit`` visible messages in delivery order, without changing them.

        Messages the caller does not take must be handed back with ``release``.
        """
        return self._fifo_candidates(now, limit) if self.fifo else self._standard_candidates(now, limit)

    def _standard_candidates(self, now: float, limit: int) -> list[Message]:
        out: list[Message] = []
        heap = self.heap
        while heap and len(out) < limit:
            visible_at, _, message_id, version = heap[0]
            if visible_at > now:
                break
            heapq.heappop(heap)
            msg = self.messages.get(message_id)
            if msg is not None and msg.version == version:
                out.append(msg)
        return out

    def release(self, msgs: list[Message]) -> None:
        """Put back candidates that were not taken (standard queues popped their heap entries)."""
        if not self.fifo:
            for msg in msgs:
                if msg.message_id in self.messages:
                    heapq.heappush(self.heap, (msg.visible_at, msg.seq, msg.message_id, msg.version))

    def _fifo_candidates(self, now: float, limit: int) -> list[Message]:
        out: list[Message] = []
        for group in self.groups.values():
            if any(m.in_flight(now) for m in _received_prefix(group)):
                continue  # a group with a message in flight is locked
            for msg in group:
                if msg.visible_at > now or len(out) >= limit:
                    break
                out.append(msg)
            if len(out) >= limit:
                break
        return out

    # -- counts ---------------------------------------------------------------------------------
    def counts(self, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed) message counts."""
        visible = in_flight = delayed = 0
        for msg in self.messages.values():
            if msg.visible_at <= now:
                visible += 1
            elif msg.receive_count:
                in_flight += 1
            else:
                delayed += 1
        return visible, in_flight, delayed


def _received_prefix(group: deque[Message]) -> list[Message]:
    out = []
    for msg in group:
        if not msg.receive_count:
            break
        out.append(msg)
    return out


# -- receipt handles ---------------------------------------------------------------------------


def make_receipt_handle(queue: str, msg: Message) -> str:
    """An opaque handle naming the queue, the message and which receive issued it."""
    raw = f"{queue}\x00{msg.message_id}\x00{msg.receive_count}\x00{secrets.token_hex(8)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_receipt_handle(handle: str) -> tuple[str, str, int] | None:
    """(queue name, message id, receive number) of a handle, or None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4)).decode()
        queue, message_id, count, _ = raw.split("\x00")
        return queue, message_id, int(count)
    except (ValueError, UnicodeDecodeError):
        return None
