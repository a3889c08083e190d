"""SIGKILL during a publish load: every acknowledged publish reaches the subscribed queue after restart."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from cloudlet.clock import SystemClock
from cloudlet.store import SQLiteStore
from tests.crash import kill_when_ready
from tests.topics.conftest import running_messaging, settle

PUBLISHER = textwrap.dedent(
    """
    import asyncio, sys
    from cloudlet.clock import SystemClock
    from cloudlet.config import ServiceConfig
    from cloudlet.queues import Queues
    from cloudlet.router import Router
    from cloudlet.store import SQLiteStore
    from cloudlet.topics import Topics

    async def main(path, ack_path):
        store = SQLiteStore(path)
        router = Router()
        config = ServiceConfig()
        sqs = Queues(store=store, router=router, clock=SystemClock(), config=config)
        sns = Topics(store=store, router=router, clock=SystemClock(), config=config)
        await sqs.start()
        await sns.start()
        await sqs.create_queue(QueueName="sink")
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        sink = "arn:aws:sqs:us-east-1:000000000000:sink"
        raw = {"RawMessageDelivery": "true"}
        await sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sink, Attributes=raw)
        ack = open(ack_path, "a", buffering=1)
        n = 0
        while True:
            entries = [{"Id": str(i), "Message": f"m{n + i}"} for i in range(10)]
            out = await sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
            ack.write(" ".join(f"m{n + int(s['Id'])}" for s in out["Successful"]) + "\\n")
            n += 10
            if n == 300:
                print("ready", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@pytest.mark.integration
async def test_sigkill_mid_publish_loses_no_acknowledged_message(tmp_path: Path) -> None:
    db, acks = tmp_path / "state.db", tmp_path / "acks.txt"
    kill_when_ready(PUBLISHER, db, acks, after=0.3)
    acknowledged = set(acks.read_text().split())
    assert len(acknowledged) >= 300

    store = SQLiteStore(db)
    async with running_messaging(store=store, clock=SystemClock()) as (_, sqs, sns):
        await settle(sns, timeout=30)
        url = (await sqs.get_queue_url(QueueName="sink"))["QueueUrl"]
        received: set[str] = set()
        while True:
            got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)).get("Messages", [])
            if not got:
                break
            received.update(m["Body"] for m in got)
        assert acknowledged <= received  # every acknowledged publish was delivered after the restart
    await store.close()
    await asyncio.sleep(0)
