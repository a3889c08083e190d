"""A stream consumer killed with SIGKILL resumes from its checkpoint: nothing lost, little replayed."""

from __future__ import annotations

import asyncio
import base64
import textwrap
import time
from pathlib import Path

import pytest

from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.mappings import EventSourceMappings
from cloudlet.router import Router
from cloudlet.store import SQLiteStore
from cloudlet.streams import Streams
from tests.crash import kill_when_ready

FN = "arn:aws:lambda:us-east-1:000000000000:function:consumer"
RECORDS = 300
BATCH = 10

CONSUMER = textwrap.dedent(
    f"""
    import asyncio, base64, sys, time
    from cloudlet.clock import SystemClock
    from cloudlet.config import ServiceConfig
    from cloudlet.mappings import EventSourceMappings
    from cloudlet.router import Router
    from cloudlet.store import SQLiteStore
    from cloudlet.streams import Streams

    async def main(path, log_path):
        store = SQLiteStore(path)
        router = Router()
        config = ServiceConfig()
        streams = Streams(store=store, router=router, clock=SystemClock(), config=config)
        mappings = EventSourceMappings(store=store, router=router, clock=SystemClock(), config=config)
        log = open(log_path, "a", buffering=1)
        seen = 0

        def handler(event):
            nonlocal seen
            time.sleep(0.02)  # a slow function, so the kill lands mid-stream
            for record in event["Records"]:
                log.write(base64.b64decode(record["kinesis"]["data"]).decode() + "\\n")
            seen += 1
            if seen == 3:
                print("ready", flush=True)

        router.register_arn("{FN}", handler)
        await streams.start()
        await mappings.start()
        await streams.create_stream(StreamName="s", ShardCount=1)
        await streams.put_records(
            StreamName="s",
            Records=[{{"Data": str(i).encode(), "PartitionKey": "k"}} for i in range({RECORDS})],
        )
        await mappings.create_event_source_mapping(
            FunctionName="{FN}", EventSourceArn="arn:aws:kinesis:us-east-1:000000000000:stream/s",
            StartingPosition="TRIM_HORIZON", BatchSize={BATCH},
        )
        await asyncio.Event().wait()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@pytest.mark.integration
async def test_stream_consumer_resumes_from_checkpoint_after_sigkill(tmp_path: Path) -> None:
    db, log = tmp_path / "state.db", tmp_path / "processed.txt"
    kill_when_ready(CONSUMER, db, log, after=0.15)
    before = [int(line) for line in log.read_text().split()]
    assert 0 < len(before) < RECORDS, "the kill should land mid-stream"

    store = SQLiteStore(db)
    router = Router()
    after: list[int] = []
    router.register_arn(
        FN, lambda event: after.extend(int(base64.b64decode(r["kinesis"]["data"])) for r in event["Records"])
    )
    streams = Streams(store=store, router=router, clock=SystemClock(), config=ServiceConfig())
    mappings = EventSourceMappings(store=store, router=router, clock=SystemClock(), config=ServiceConfig())
    await streams.start()
    await mappings.start()
    try:
        deadline = time.monotonic() + 20
        while (not after or after[-1] != RECORDS - 1) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        await mappings.stop()
        await streams.stop()
        await store.close()
    assert set(before) | set(after) == set(range(RECORDS))  # nothing lost
    assert after == list(range(after[0], RECORDS))  # in order, from one point on
    assert len(set(before) & set(after)) <= BATCH  # resumed from the checkpoint: at most one batch again
