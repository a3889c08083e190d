"""Random operation sequences against a FIFO and a standard queue: the invariants always hold.

* nothing is lost: every sent message is received until it is deleted, and never after;
* FIFO: within a group, messages are first delivered in send order, and a group never has two
  receivers at once (no message of a group is handed out while another is in flight).
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.clock import ManualClock
from tests.queues.conftest import running_queues

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 1)),
        st.tuples(st.just("send"), st.integers(0, 2)),
        st.tuples(st.just("receive"), st.integers(1, 4)),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("advance"), st.sampled_from([1, 5, 11])),
    ),
    max_size=60,
)


async def _run(ops: list[tuple[str, int]], fifo: bool) -> None:
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        name = "p.fifo" if fifo else "p"
        attrs = {"VisibilityTimeout": "10"}
        if fifo:
            attrs.update(FifoQueue="true", ContentBasedDeduplication="true")
        url = (await sqs.create_queue(QueueName=name, Attributes=attrs))["QueueUrl"]
        sent: dict[str, tuple[int, int]] = {}  # body -> (group, index in group)
        alive: set[str] = set()
        held: dict[str, tuple[str, float]] = {}  # body -> (receipt handle, visible again at)
        first_seen: dict[int, list[int]] = {}
        counter = 0
        for op, arg in ops:
            now = clock.time()
            if op == "send":
                body = f"{arg}:{counter}"
                counter += 1
                params = {"MessageGroupId": str(arg)} if fifo else {}
                await sqs.send_message(QueueUrl=url, MessageBody=body, **params)
                sent[body] = (arg, counter)
                alive.add(body)
            elif op == "receive":
                got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=arg)).get("Messages", [])
                batch = {m["Body"] for m in got}
                for m in got:
                    body = m["Body"]
                    assert body in alive, "a deleted message came back"
                    assert body not in held or held[body][1] <= now, (
                        "an in-flight message was handed out twice"
                    )
                    group, index = sent[body]
                    if fifo:
                        for other, (_, until) in held.items():
                            if other in batch or other not in alive:
                                continue
                            if until > now and sent[other][0] == group:
                                raise AssertionError("two messages of one group in flight")
                    seen = first_seen.setdefault(group, [])
                    if index not in seen:
                        seen.append(index)
                    held[body] = (m["ReceiptHandle"], now + 10)
            elif op == "delete" and held:
                body = sorted(held)[arg % len(held)]
                handle, until = held.pop(body)
                if until > now:  # only a current handle deletes for sure
                    await sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
                    alive.discard(body)
            elif op == "release" and held:
                body = sorted(held)[arg % len(held)]
                handle, until = held[body]
                if until > now and body in alive:
                    await sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
                    )
                    held[body] = (handle, now)
            elif op == "advance":
                await clock.advance(arg)
        if fifo:
            for seen in first_seen.values():
                assert seen == sorted(seen), "a group was delivered out of order"
        await clock.advance(11)
        remaining: set[str] = set()
        while True:
            got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)).get("Messages", [])
            if not got:
                break
            for m in got:
                remaining.add(m["Body"])
                await sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert remaining == alive, "messages lost or resurrected"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_fifo_invariants(ops):
    asyncio.run(_run(ops, fifo=True))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_standard_invariants(ops):
    asyncio.run(_run(ops, fifo=False))
