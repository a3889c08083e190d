"""A minimal runtime for the durability test: events on a SQLite store, a target that appends to a file.

    python durable_runtime.py accept DB DELIVERED ACCEPTED N   # accept N events, then hang (to be killed)
    python durable_runtime.py resume DB DELIVERED              # deliver what is pending, then exit

In ``accept`` mode the target records even-numbered events and never finishes odd ones, so
some deliveries are pending when the process is killed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.events import Events
from cloudlet.router import Router
from cloudlet.store import SQLiteStore

TARGET = "arn:aws:lambda:us-east-1:123456789012:function:recorder"


def _append(path: str, line: str) -> None:
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


async def main(argv: list[str]) -> None:
    mode, db, delivered = argv[0], argv[1], argv[2]
    store = SQLiteStore(db)
    router = Router()
    hang = asyncio.Event()

    async def record(payload: Any) -> None:
        if mode == "accept" and payload["detail"]["n"] % 2:
            await hang.wait()  # never set: this delivery is in flight when the process dies
        _append(delivered, payload["id"])

    router.register_arn(TARGET, record)
    events = Events(store=store, router=router, clock=SystemClock(), config=ServiceConfig())
    await events.start()
    if mode == "accept":
        accepted, count = argv[3], int(argv[4])
        await events.put_rule(Name="all", EventPattern='{"source": ["durable.test"]}')
        await events.put_targets(Rule="all", Targets=[{"Id": "rec", "Arn": TARGET}])
        for start in range(0, count, 10):
            entries = [
                {"Source": "durable.test", "DetailType": "t", "Detail": f'{{"n": {n}}}'}
                for n in range(start, min(count, start + 10))
            ]
            result = await events.put_events(Entries=entries)
            for item in result["Entries"]:
                _append(accepted, item["EventId"])
        print("ACCEPTED", flush=True)
        await hang.wait()
    else:
        await events.dispatcher.drained()
        await events.stop()
        await store.close()
        print("DRAINED", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
