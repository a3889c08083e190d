"""Queues survive restarts and SIGKILL: every acknowledged message is there afterwards."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cloudlet.clock import ManualClock, SystemClock
from cloudlet.store import SQLiteStore
from tests.crash import kill_when_ready
from tests.queues.conftest import running_queues


async def test_restart_keeps_messages_receive_counts_and_dedup(tmp_path):
    clock = ManualClock()
    store = SQLiteStore(tmp_path / "state.db")
    async with running_queues(store=store, clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q", tags={"t": "1"}))["QueueUrl"]
        furl = (await sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"}))["QueueUrl"]
        await sqs.send_message(
            QueueUrl=url,
            MessageBody="kept",
            MessageAttributes={"b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
        )
        await sqs.send_message(QueueUrl=url, MessageBody="deleted")
        got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5))[
            "Messages"
        ]
        for m in got:
            if m["Body"] == "deleted":
                await sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        kept_handle = next(m["ReceiptHandle"] for m in got if m["Body"] == "kept")
        first = await sqs.send_message(
            QueueUrl=furl, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d"
        )
    await store.close()

    store = SQLiteStore(tmp_path / "state.db")
    async with running_queues(store=store, clock=clock) as sqs:
        assert (await sqs.list_queue_tags(QueueUrl=url))["Tags"] == {"t": "1"}
        assert await sqs.receive_message(QueueUrl=url) == {}  # still in flight after the restart
        await clock.advance(5)
        again = (
            await sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])
        )["Messages"]
        assert [m["Body"] for m in again] == ["kept"]
        assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
        assert again[0]["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\x01"
        await sqs.delete_message(QueueUrl=url, ReceiptHandle=kept_handle)  # stale handle: not deleted
        dup = await sqs.send_message(
            QueueUrl=furl, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d"
        )
        assert dup["MessageId"] == first["MessageId"]  # the dedup window survived the restart
        assert len((await sqs.receive_message(QueueUrl=furl, MaxNumberOfMessages=10))["Messages"]) == 1
    await store.close()


PRODUCER = textwrap.dedent(
    """
    import asyncio, sys
    from cloudlet.clock import SystemClock
    from cloudlet.config import ServiceConfig
    from cloudlet.queues import Queues
    from cloudlet.router import Router
    from cloudlet.store import SQLiteStore

    async def main(path, ack_path):
        store = SQLiteStore(path)
        sqs = Queues(store=store, router=Router(), clock=SystemClock(), config=ServiceConfig())
        await sqs.start()
        url = (await sqs.create_queue(QueueName="load"))["QueueUrl"]
        furl = (await sqs.create_queue(QueueName="load.fifo", Attributes={"FifoQueue": "true"}))["QueueUrl"]
        ack = open(ack_path, "a", buffering=1)
        n = 0
        while True:
            entries = [{"Id": str(i), "MessageBody": f"m{n + i}"} for i in range(10)]
            out = await sqs.send_message_batch(QueueUrl=url, Entries=entries)
            await sqs.send_message(QueueUrl=furl, MessageBody=f"f{n}", MessageGroupId=str(n % 3),
                                   MessageDeduplicationId=f"f{n}")
            ok = {s["Id"] for s in out["Successful"]}
            ack.write(" ".join(e["MessageBody"] for e in entries if e["Id"] in ok)
                      + f" f{n}\\n")
            n += 10
            if n == 200:
                print("ready", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@pytest.mark.integration
async def test_sigkill_mid_load_loses_no_acknowledged_message(tmp_path: Path):
    db, acks = tmp_path / "state.db", tmp_path / "acks.txt"
    kill_when_ready(PRODUCER, db, acks, after=0.3)
    acknowledged = acks.read_text().split()
    standard = {a for a in acknowledged if a.startswith("m")}
    fifo = [a for a in acknowledged if a.startswith("f")]
    assert len(standard) >= 200

    store = SQLiteStore(db)
    async with running_queues(store=store, clock=SystemClock()) as sqs:
        url = (await sqs.get_queue_url(QueueName="load"))["QueueUrl"]
        furl = (await sqs.get_queue_url(QueueName="load.fifo"))["QueueUrl"]
        received: set[str] = set()
        while True:
            got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)).get("Messages", [])
            if not got:
                break
            received.update(m["Body"] for m in got)
        assert standard <= received  # every acknowledged message survived SIGKILL
        order: dict[str, list[int]] = {}
        while True:
            got = (await sqs.receive_message(QueueUrl=furl, MaxNumberOfMessages=10)).get("Messages", [])
            if not got:
                break
            for m in got:
                n = int(m["Body"][1:])
                order.setdefault(str(n // 10 % 3), []).append(n)
                await sqs.delete_message(QueueUrl=furl, ReceiptHandle=m["ReceiptHandle"])
        got_fifo = sorted(n for values in order.values() for n in values)
        assert {int(f[1:]) for f in fifo} <= set(got_fifo)
        assert len(got_fifo) == len(set(got_fifo))  # no duplicates
        for values in order.values():
            assert values == sorted(values)  # in order per group
    await store.close()
