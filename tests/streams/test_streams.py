"""Kinesis semantics: shards, hash-key routing, sequence numbers, iterators, retention."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import CloudletError
from cloudlet.store import SQLiteStore
from cloudlet.streams.positions import parse_sequence_number
from tests.streams.conftest import running_streams


async def read_all(kinesis, name, shard, kind="TRIM_HORIZON", **kwargs):
    it = (await kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kwargs))[
        "ShardIterator"
    ]
    out = []
    while True:
        page = await kinesis.get_records(ShardIterator=it, Limit=3)
        out += page["Records"]
        it = page["NextShardIterator"]
        if not page["Records"]:
            return out, page


async def test_create_describe_list_delete():
    async with running_streams() as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=3, Tags={"a": "1"})
        desc = (await kinesis.describe_stream(StreamName="s"))["StreamDescription"]
        assert desc["StreamStatus"] == "ACTIVE" and desc["RetentionPeriodHours"] == 24
        assert desc["StreamARN"] == "arn:aws:kinesis:us-east-1:000000000000:stream/s"
        assert [s["ShardId"] for s in desc["Shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
        ranges = [
            (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
            for s in desc["Shards"]
        ]
        assert ranges[0][0] == 0 and ranges[-1][1] == 2**128 - 1
        assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(2))
        summary = (await kinesis.describe_stream_summary(StreamARN=desc["StreamARN"]))[
            "StreamDescriptionSummary"
        ]
        assert summary["OpenShardCount"] == 3
        assert (await kinesis.list_streams())["StreamNames"] == ["s"]
        shards = await kinesis.list_shards(StreamName="s", MaxResults=2)
        assert len(shards["Shards"]) == 2
        rest = await kinesis.list_shards(NextToken=shards["NextToken"])
        assert [s["ShardId"] for s in rest["Shards"]] == ["shardId-000000000002"]
        assert (await kinesis.list_tags_for_stream(StreamName="s"))["Tags"] == [{"Key": "a", "Value": "1"}]
        with pytest.raises(CloudletError) as err:
            await kinesis.create_stream(StreamName="s", ShardCount=1)
        assert err.value.code == "ResourceInUseException"
        await kinesis.delete_stream(StreamName="s")
        with pytest.raises(CloudletError) as err:
            await kinesis.describe_stream(StreamName="s")
        assert err.value.code == "ResourceNotFoundException"


async def test_partition_keys_route_by_md5_and_order_is_kept_per_shard():
    async with running_streams() as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=4)
        desc = (await kinesis.describe_stream(StreamName="s"))["StreamDescription"]
        sent = {}
        for i in range(40):
            key = f"key-{i % 7}"
            out = await kinesis.put_record(StreamName="s", Data=f"{i}".encode(), PartitionKey=key)
            h = int(hashlib.md5(key.encode()).hexdigest(), 16)
            expected = next(
                s["ShardId"]
                for s in desc["Shards"]
                if int(s["HashKeyRange"]["StartingHashKey"]) <= h <= int(s["HashKeyRange"]["EndingHashKey"])
            )
            assert out["ShardId"] == expected
            sent.setdefault(expected, []).append((out["SequenceNumber"], f"{i}".encode()))
        for shard, records in sent.items():
            got, last = await read_all(kinesis, "s", shard)
            assert [(r["SequenceNumber"], r["Data"]) for r in got] == records
            seqs = [int(r["SequenceNumber"]) for r in got]
            assert seqs == sorted(seqs) and all(len(r["SequenceNumber"]) == 56 for r in got)
            assert last["MillisBehindLatest"] == 0


async def test_put_records_and_explicit_hash_key():
    async with running_streams() as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=2)
        out = await kinesis.put_records(
            StreamName="s",
            Records=[
                {"Data": b"a", "PartitionKey": "x", "ExplicitHashKey": "0"},
                {"Data": b"b", "PartitionKey": "x", "ExplicitHashKey": str(2**128 - 1)},
            ],
        )
        assert out["FailedRecordCount"] == 0
        assert [r["ShardId"] for r in out["Records"]] == ["shardId-000000000000", "shardId-000000000001"]
        for bad in [
            {"Data": b"a", "PartitionKey": ""},
            {"Data": b"a" * 1_048_577, "PartitionKey": "k"},
            {"Data": b"a", "PartitionKey": "k", "ExplicitHashKey": str(2**128)},
        ]:
            with pytest.raises(CloudletError) as err:
                await kinesis.put_record(StreamName="s", **bad)
            assert err.value.code == "InvalidArgumentException"


async def test_iterator_types():
    clock = ManualClock()
    async with running_streams(clock=clock) as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        shard = "shardId-000000000000"
        seqs = []
        for i in range(5):
            seqs.append(
                (await kinesis.put_record(StreamName="s", Data=bytes([i]), PartitionKey="k"))[
                    "SequenceNumber"
                ]
            )
            await clock.advance(10)
        latest = (
            await kinesis.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType="LATEST")
        )["ShardIterator"]
        assert (await kinesis.get_records(ShardIterator=latest))["Records"] == []
        await kinesis.put_record(StreamName="s", Data=b"new", PartitionKey="k")
        assert [r["Data"] for r in (await kinesis.get_records(ShardIterator=latest))["Records"]] == [b"new"]
        at, _ = await read_all(kinesis, "s", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        assert [r["Data"] for r in at] == [b"\x02", b"\x03", b"\x04", b"new"]
        after, _ = await read_all(
            kinesis, "s", shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2]
        )
        assert [r["Data"] for r in after] == [b"\x03", b"\x04", b"new"]
        moment = datetime.fromtimestamp(1_700_000_000 + 25, UTC)  # between records 2 and 3
        ts, _ = await read_all(kinesis, "s", shard, "AT_TIMESTAMP", Timestamp=moment)
        assert [r["Data"] for r in ts] == [b"\x03", b"\x04", b"new"]
        assert ts[0]["ApproximateArrivalTimestamp"] == datetime.fromtimestamp(1_700_000_030, UTC)
        with pytest.raises(CloudletError) as err:
            await kinesis.get_shard_iterator(
                StreamName="s",
                ShardId=shard,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                StartingSequenceNumber="12",
            )
        assert err.value.code == "InvalidArgumentException"


async def test_millis_behind_latest_and_iterator_expiry():
    clock = ManualClock()
    async with running_streams(clock=clock) as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        for _ in range(3):
            await kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
            await clock.advance(1)
        it = (
            await kinesis.get_shard_iterator(
                StreamName="s", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
            )
        )["ShardIterator"]
        page = await kinesis.get_records(ShardIterator=it, Limit=1)
        assert page["MillisBehindLatest"] == 2000  # the next unread record arrived 2 s ago
        page = await kinesis.get_records(ShardIterator=page["NextShardIterator"], Limit=5)
        assert page["MillisBehindLatest"] == 0 and len(page["Records"]) == 2
        await clock.advance(301)
        with pytest.raises(CloudletError) as err:
            await kinesis.get_records(ShardIterator=page["NextShardIterator"])
        assert err.value.code == "ExpiredIteratorException"


async def test_retention_period_changes_and_trimming():
    clock = ManualClock()
    async with running_streams(clock=clock) as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        await kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
        with pytest.raises(CloudletError):
            await kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=72)
        with pytest.raises(CloudletError):
            await kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
        await kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
        await kinesis.put_record(StreamName="s", Data=b"old", PartitionKey="k")
        await clock.advance(23 * 3600)
        await kinesis.put_record(StreamName="s", Data=b"new", PartitionKey="k")
        await clock.advance(3600 + 1)
        await kinesis.trim_expired()
        got, _ = await read_all(kinesis, "s", "shardId-000000000000")
        assert [r["Data"] for r in got] == [b"new"]


async def test_records_and_positions_survive_restart(tmp_path):
    clock = ManualClock()
    store = SQLiteStore(tmp_path / "s.db")
    async with running_streams(store=store, clock=clock) as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        first = await kinesis.put_record(StreamName="s", Data=b"1", PartitionKey="k")
    await store.close()
    store = SQLiteStore(tmp_path / "s.db")
    async with running_streams(store=store, clock=clock) as kinesis:
        second = await kinesis.put_record(StreamName="s", Data=b"2", PartitionKey="k")
        assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])
        assert parse_sequence_number(second["SequenceNumber"]) == (0, 2)
        got, _ = await read_all(kinesis, "s", "shardId-000000000000")
        assert [r["Data"] for r in got] == [b"1", b"2"]
    await store.close()


async def test_router_delivery_puts_json_records():
    from cloudlet.router import Router

    router = Router()
    async with running_streams(router=router) as kinesis:
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        await router.deliver(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s", {"a": 1}, invocation_type="Event"
        )
        got, _ = await read_all(kinesis, "s", "shardId-000000000000")
        assert [r["Data"] for r in got] == [b'{"a":1}']
