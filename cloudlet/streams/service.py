"""The stream service: Kinesis Data Streams' API over shard logs in the store.

Each shard is an append-only log in the store (namespace ``kinesis.records``, log
``<stream>/<shard id>``); a record's log position is encoded in its sequence number, so reads
are range scans. ``put_record(s)`` return once the records are durable. Streams are ACTIVE as
soon as they are created (AWS passes through CREATING for a few seconds). Shards are never
split or merged (UpdateShardCount, SplitShard and MergeShards are not implemented).

https://docs.aws.amazon.com/kinesis/latest/APIReference/Welcome.html
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from cloudlet.arns import build_arn, parse_arn
from cloudlet.background import BackgroundTasks
from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import CloudletError, ValidationError
from cloudlet.router import InvocationType, Router
from cloudlet.store import Append, Delete, DeleteLog, Op, Put, Store, TrimLog
from cloudlet.streams.errors import InvalidArgument, KinesisLimitExceeded, ResourceInUse, StreamNotFound
from cloudlet.streams.positions import (
    ITERATOR_LIFETIME,
    Iterator,
    parse_sequence_number,
    sequence_number,
    shard_id,
    shard_index,
    starting_sequence_number,
)

log = logging.getLogger(__name__)

NS_STREAMS = "kinesis.streams"
NS_RECORDS = "kinesis.records"
HASH_SPACE = 2**128
MAX_RECORD_BYTES = 1_048_576
MAX_PUT_RECORDS = 500
MAX_PUT_RECORDS_BYTES = 5 * 1_048_576
_SWEEP_INTERVAL = 60.0


@dataclass
class Shard:
    index: int
    start_hash: int
    end_hash: int
    last_position: int = 0

    @property
    def ident(self) -> str:
        return shard_id(self.index)

    def describe(self) -> dict[str, Any]:
        return {
            "ShardId": self.ident,
            "HashKeyRange": {"StartingHashKey": str(self.start_hash), "EndingHashKey": str(self.end_hash)},
            "SequenceNumberRange": {"StartingSequenceNumber": starting_sequence_number(self.index)},
        }


@dataclass
class Stream:
    name: str
    arn: str
    mode: str
    retention_hours: int
    created: float
    shards: list[Shard]
    tags: dict[str, str] = field(default_factory=dict)
    #: Arrival time (seconds) per shard position, for AT_TIMESTAMP and MillisBehindLatest.
    arrivals: dict[str, dict[int, float]] = field(default_factory=dict)

    def doc(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "retention": self.retention_hours,
            "created": self.created,
            "shards": [[s.index, str(s.start_hash), str(s.end_hash)] for s in self.shards],
            "tags": self.tags,
        }

    def shard(self, ident: str) -> Shard:
        index = shard_index(ident)
        for shard in self.shards:
            if shard.index == index:
                return shard
        raise StreamNotFound(f"Shard {ident} in stream {self.name} under account does not exist")

    def shard_for(self, hash_key: int) -> Shard:
        for shard in self.shards:
            if shard.start_hash <= hash_key <= shard.end_hash:
                return shard
        raise InvalidArgument(f"ExplicitHashKey {hash_key} is outside the stream's hash key range")


class Streams:
    """Kinesis: streams of N shards with ordered, durable records."""

    def __init__(self, *, store: Store, router: Router, clock: Clock, config: ServiceConfig) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.config = config
        self._streams: dict[str, Stream] = {}
        self._tasks = BackgroundTasks()
        self._arrival = asyncio.Event()
        router.register_api("kinesis", self)
        router.register_owner("kinesis", "", self.deliver)

    # -- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        for name, doc in await self.store.scan(NS_STREAMS):
            shards = [Shard(i, int(a), int(b)) for i, a, b in doc["shards"]]
            stream = Stream(
                name,
                self.stream_arn(name),
                doc["mode"],
                doc["retention"],
                doc["created"],
                shards,
                doc["tags"],
            )
            for shard in shards:
                entries = await self.store.read_log(NS_RECORDS, f"{name}/{shard.ident}")
                shard.last_position = entries[-1][0] if entries else 0
                stream.arrivals[shard.ident] = {seq: doc["t"] for seq, doc in entries}
            self._streams[name] = stream
        self._tasks.spawn(self._sweep_forever())

    async def stop(self) -> None:
        await self._tasks.cancel_all()
        self._arrival.set()

    async def _sweep_forever(self) -> None:
        while True:
            await self.clock.sleep(_SWEEP_INTERVAL)
            try:
                await self.trim_expired()
            except CloudletError:
                log.exception("stream retention sweep failed", extra={"action": "trim"})

    async def trim_expired(self) -> None:
        """Drop records older than each stream's retention period."""
        now = self.clock.time()
        for stream in list(self._streams.values()):
            cutoff = now - stream.retention_hours * 3600
            ops: list[Op] = []
            for shard in stream.shards:
                arrivals = stream.arrivals[shard.ident]
                old = [p for p, t in arrivals.items() if t < cutoff]
                if old:
                    for position in old:
                        del arrivals[position]
                    ops.append(TrimLog(NS_RECORDS, f"{stream.name}/{shard.ident}", max(old) + 1))
            if ops:
                await self.store.write(ops)

    # -- names -----------------------------------------------------------------------------------
    def stream_arn(self, name: str) -> str:
        return build_arn("kinesis", f"stream/{name}", region=self.config.region, account=self.config.account)

    def _stream(self, name: str | None = None, arn: str | None = None) -> Stream:
        if arn:
            try:
                parsed = parse_arn(arn)
            except ValidationError:
                raise InvalidArgument(f"Invalid StreamARN: {arn}") from None
            name = parsed.resource_name
        if not name:
            raise InvalidArgument("Either StreamName or StreamARN should be provided.")
        stream = self._streams.get(name)
        if stream is None:
            raise StreamNotFound(f"Stream {name} under account {self.config.account} not found.")
        return stream

    # -- router entry point ---------------------------------------------------------------------
    async def deliver(self, arn: str, payload: Any, invocation_type: InvocationType = "Event") -> Any:
        """Put ``payload`` (bytes, text, or JSON it is serialized to) on stream ``arn``, random key."""
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = orjson.dumps(payload)
        return await self.put_record(StreamARN=arn, Data=data, PartitionKey=str(uuid.uuid4()))

    # -- streams ---------------------------------------------------------------------------------
    async def create_stream(
        self,
        StreamName: str,
        ShardCount: int | None = None,
        StreamModeDetails: Mapping[str, str] | None = None,
        Tags: Mapping[str, str] | None = None,
        WarmThroughputMiBps: int | None = None,
        MaxRecordSizeInKiB: int | None = None,
    ) -> dict[str, Any]:
        if not StreamName or len(StreamName) > 128 or not all(c.isalnum() or c in "_.-" for c in StreamName):
            raise InvalidArgument(f"Invalid stream name: {StreamName}")
        mode = (StreamModeDetails or {}).get("StreamMode") or ("PROVISIONED" if ShardCount else "ON_DEMAND")
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            raise InvalidArgument(f"Invalid StreamMode: {mode}")
        count = ShardCount if ShardCount is not None else 4
        if mode == "PROVISIONED" and ShardCount is None:
            raise InvalidArgument("ShardCount is required for a PROVISIONED stream.")
        if not 1 <= count <= 500:
            raise InvalidArgument(f"ShardCount {count} must be between 1 and 500.")
        if StreamName in self._streams:
            raise ResourceInUse(f"Stream {StreamName} under account {self.config.account} already exists.")
        width = HASH_SPACE // count
        shards = [
            Shard(i, i * width, HASH_SPACE - 1 if i == count - 1 else (i + 1) * width - 1)
            for i in range(count)
        ]
        stream = Stream(
            StreamName, self.stream_arn(StreamName), mode, 24, self.clock.time(), shards, dict(Tags or {})
        )
        stream.arrivals = {s.ident: {} for s in shards}
        self._streams[StreamName] = stream
        await self.store.write([Put(NS_STREAMS, StreamName, stream.doc())])
        log.info("stream created", extra={"action": "create_stream", "stream": StreamName, "shards": count})
        return {}

    async def delete_stream(
        self,
        StreamName: str | None = None,
        EnforceConsumerDeletion: bool | None = None,
        StreamARN: str | None = None,
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        del self._streams[stream.name]
        ops: list[Op] = [Delete(NS_STREAMS, stream.name)]
        ops += [DeleteLog(NS_RECORDS, f"{stream.name}/{s.ident}") for s in stream.shards]
        await self.store.write(ops)
        return {}

    def _summary(self, stream: Stream) -> dict[str, Any]:
        return {
            "StreamName": stream.name,
            "StreamARN": stream.arn,
            "StreamStatus": "ACTIVE",
            "StreamModeDetails": {"StreamMode": stream.mode},
            "RetentionPeriodHours": stream.retention_hours,
            "StreamCreationTimestamp": datetime.fromtimestamp(stream.created, UTC),
            "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
            "EncryptionType": "NONE",
        }

    async def describe_stream(
        self,
        StreamName: str | None = None,
        Limit: int | None = None,
        ExclusiveStartShardId: str | None = None,
        StreamARN: str | None = None,
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        shards = stream.shards
        if ExclusiveStartShardId:
            start = shard_index(ExclusiveStartShardId)
            shards = [s for s in shards if start is None or s.index > start]
        limit = Limit or 100
        description = self._summary(stream)
        description["Shards"] = [s.describe() for s in shards[:limit]]
        description["HasMoreShards"] = len(shards) > limit
        return {"StreamDescription": description}

    async def describe_stream_summary(
        self, StreamName: str | None = None, StreamARN: str | None = None
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        summary = self._summary(stream)
        summary["OpenShardCount"] = len(stream.shards)
        summary["ConsumerCount"] = 0
        return {"StreamDescriptionSummary": summary}

    async def list_streams(
        self,
        Limit: int | None = None,
        ExclusiveStartStreamName: str | None = None,
        NextToken: str | None = None,
    ) -> dict[str, Any]:
        names = sorted(self._streams)
        after = ExclusiveStartStreamName or (_decode(NextToken) if NextToken else None)
        if after:
            names = [n for n in names if n > after]
        limit = Limit or 100
        page = names[:limit]
        out: dict[str, Any] = {
            "StreamNames": page,
            "HasMoreStreams": len(names) > limit,
            "StreamSummaries": [
                {
                    "StreamName": n,
                    "StreamARN": self._streams[n].arn,
                    "StreamStatus": "ACTIVE",
                    "StreamModeDetails": {"StreamMode": self._streams[n].mode},
                    "StreamCreationTimestamp": datetime.fromtimestamp(self._streams[n].created, UTC),
                }
                for n in page
            ],
        }
        if len(names) > limit:
            out["NextToken"] = _encode(page[-1])
        return out

    async def list_shards(
        self,
        StreamName: str | None = None,
        NextToken: str | None = None,
        ExclusiveStartShardId: str | None = None,
        MaxResults: int | None = None,
        StreamCreationTimestamp: Any = None,
        ShardFilter: Mapping[str, Any] | None = None,
        StreamARN: str | None = None,
    ) -> dict[str, Any]:
        if NextToken:
            token = orjson.loads(base64.urlsafe_b64decode(NextToken.encode()))
            stream = self._stream(token["stream"])
            after: int | None = token["after"]
        else:
            stream = self._stream(StreamName, StreamARN)
            after = shard_index(ExclusiveStartShardId) if ExclusiveStartShardId else None
        shards = [s for s in stream.shards if after is None or s.index > after]
        limit = MaxResults or 1000
        out: dict[str, Any] = {"Shards": [s.describe() for s in shards[:limit]]}
        if len(shards) > limit:
            out["NextToken"] = base64.urlsafe_b64encode(
                orjson.dumps({"stream": stream.name, "after": shards[limit - 1].index})
            ).decode()
        return out

    async def increase_stream_retention_period(
        self, RetentionPeriodHours: int, StreamName: str | None = None, StreamARN: str | None = None
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        if RetentionPeriodHours < stream.retention_hours:
            raise InvalidArgument(
                f"Requested retention period ({RetentionPeriodHours} hours) for stream {stream.name} can not "
                f"be shorter than existing retention period ({stream.retention_hours} hours). Use "
                "DecreaseRetentionPeriod API."
            )
        return await self._set_retention(stream, RetentionPeriodHours)

    async def decrease_stream_retention_period(
        self, RetentionPeriodHours: int, StreamName: str | None = None, StreamARN: str | None = None
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        if RetentionPeriodHours > stream.retention_hours:
            raise InvalidArgument(
                f"Requested retention period ({RetentionPeriodHours} hours) for stream {stream.name} can not "
                f"be longer than existing retention period ({stream.retention_hours} hours). Use "
                "IncreaseRetentionPeriod API."
            )
        return await self._set_retention(stream, RetentionPeriodHours)

    async def _set_retention(self, stream: Stream, hours: int) -> dict[str, Any]:
        if not 24 <= hours <= 8760:
            raise InvalidArgument(
                f"Minimum allowed retention period is 24 hours and maximum is 8760 hours; got {hours}."
            )
        stream.retention_hours = hours
        await self.store.write([Put(NS_STREAMS, stream.name, stream.doc())])
        return {}

    # -- tags --------------------------------------------------------------------------------------
    async def add_tags_to_stream(
        self, Tags: Mapping[str, str], StreamName: str | None = None, StreamARN: str | None = None
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        tags = {**stream.tags, **Tags}
        if len(tags) > 50:
            raise KinesisLimitExceeded("A stream can have at most 50 tags.")
        stream.tags = tags
        await self.store.write([Put(NS_STREAMS, stream.name, stream.doc())])
        return {}

    async def remove_tags_from_stream(
        self, TagKeys: Sequence[str], StreamName: str | None = None, StreamARN: str | None = None
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        stream.tags = {k: v for k, v in stream.tags.items() if k not in set(TagKeys)}
        await self.store.write([Put(NS_STREAMS, stream.name, stream.doc())])
        return {}

    async def list_tags_for_stream(
        self,
        StreamName: str | None = None,
        ExclusiveStartTagKey: str | None = None,
        Limit: int | None = None,
        StreamARN: str | None = None,
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        keys = sorted(k for k in stream.tags if ExclusiveStartTagKey is None or k > ExclusiveStartTagKey)
        limit = Limit or 50
        return {
            "Tags": [{"Key": k, "Value": stream.tags[k]} for k in keys[:limit]],
            "HasMoreTags": len(keys) > limit,
        }

    async def tag_resource(self, Tags: Mapping[str, str], ResourceARN: str) -> dict[str, Any]:
        return await self.add_tags_to_stream(Tags=Tags, StreamARN=ResourceARN)

    async def untag_resource(self, TagKeys: Sequence[str], ResourceARN: str) -> dict[str, Any]:
        return await self.remove_tags_from_stream(TagKeys=TagKeys, StreamARN=ResourceARN)

    async def list_tags_for_resource(self, ResourceARN: str) -> dict[str, Any]:
        stream = self._stream(arn=ResourceARN)
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(stream.tags.items())]}

    # -- writing ------------------------------------------------------------------------------------
    def _prepare(
        self, stream: Stream, data: Any, partition_key: str | None, explicit_hash_key: str | None, now: float
    ) -> tuple[Shard, int, dict[str, Any]]:
        if isinstance(data, str):
            data = data.encode()
        if data is None:
            raise InvalidArgument(
                "1 validation error detected: Value null at 'data' failed to satisfy constraint"
            )
        if not partition_key or len(partition_key) > 256:
            raise InvalidArgument(
                "1 validation error detected: Value at 'partitionKey' failed to satisfy constraint: "
                "Member must have length between 1 and 256"
            )
        if len(data) + len(partition_key.encode()) > MAX_RECORD_BYTES:
            raise InvalidArgument(
                "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have "
                "length less than or equal to 1048576"
            )
        if explicit_hash_key is not None:
            try:
                hash_key = int(explicit_hash_key)
            except ValueError:
                hash_key = -1
            if not 0 <= hash_key < HASH_SPACE:
                raise InvalidArgument(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                    f"Specified value was {explicit_hash_key}"
                )
        else:
            hash_key = int(hashlib.md5(partition_key.encode(), usedforsecurity=False).hexdigest(), 16)
        shard = stream.shard_for(hash_key)
        shard.last_position += 1
        position = shard.last_position
        doc = {"d": base64.b64encode(bytes(data)).decode(), "pk": partition_key, "t": now}
        return shard, position, doc

    async def put_record(
        self,
        Data: bytes,
        PartitionKey: str,
        StreamName: str | None = None,
        ExplicitHashKey: str | None = None,
        SequenceNumberForOrdering: str | None = None,
        StreamARN: str | None = None,
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        now = self.clock.time()
        shard, position, doc = self._prepare(stream, Data, PartitionKey, ExplicitHashKey, now)
        await self.store.write([Append(NS_RECORDS, f"{stream.name}/{shard.ident}", position, doc)])
        stream.arrivals[shard.ident][position] = now
        self._notify()
        return {
            "ShardId": shard.ident,
            "SequenceNumber": sequence_number(shard.index, position),
            "EncryptionType": "NONE",
        }

    async def put_records(
        self,
        Records: Sequence[Mapping[str, Any]],
        StreamName: str | None = None,
        StreamARN: str | None = None,
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        if not Records or len(Records) > MAX_PUT_RECORDS:
            raise InvalidArgument(
                "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must "
                "have length less than or equal to 500"
            )
        total = sum(len(r.get("Data") or b"") + len(str(r.get("PartitionKey", ""))) for r in Records)
        if total > MAX_PUT_RECORDS_BYTES:
            raise InvalidArgument("Records size exceeds 5 MB limit")
        now = self.clock.time()
        results: list[dict[str, Any]] = []
        ops: list[Op] = []
        placed: list[tuple[Shard, int]] = []
        for record in Records:
            shard, position, doc = self._prepare(
                stream, record.get("Data"), record.get("PartitionKey"), record.get("ExplicitHashKey"), now
            )
            ops.append(Append(NS_RECORDS, f"{stream.name}/{shard.ident}", position, doc))
            placed.append((shard, position))
            results.append({"SequenceNumber": sequence_number(shard.index, position), "ShardId": shard.ident})
        await self.store.write(ops)
        for shard, position in placed:
            stream.arrivals[shard.ident][position] = now
        self._notify()
        return {"FailedRecordCount": 0, "Records": results, "EncryptionType": "NONE"}

    def _notify(self) -> None:
        self._arrival.set()
        self._arrival = asyncio.Event()

    async def wait_for_records(self, timeout: float) -> None:
        """Sleep until a record is put on any stream or ``timeout`` passes (for pollers)."""
        event = self._arrival
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    # -- reading --------------------------------------------------------------------------------------
    async def get_shard_iterator(
        self,
        ShardId: str,
        ShardIteratorType: str,
        StreamName: str | None = None,
        StartingSequenceNumber: str | None = None,
        Timestamp: Any = None,
        StreamARN: str | None = None,
    ) -> dict[str, Any]:
        stream = self._stream(StreamName, StreamARN)
        shard = stream.shard(ShardId)
        kind = ShardIteratorType
        if kind == "TRIM_HORIZON":
            after = 0
        elif kind == "LATEST":
            after = shard.last_position
        elif kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if not StartingSequenceNumber:
                raise InvalidArgument(f"StartingSequenceNumber is required for {kind}")
            index, position = parse_sequence_number(StartingSequenceNumber)
            if index != shard.index:
                raise InvalidArgument(
                    f"Invalid StartingSequenceNumber. It encodes {shard_id(index)}, while it was used "
                    "in a call "
                    f"to a shard with {shard.ident}"
                )
            after = position - 1 if kind == "AT_SEQUENCE_NUMBER" else position
        elif kind == "AT_TIMESTAMP":
            if Timestamp is None:
                raise InvalidArgument("Timestamp is required for AT_TIMESTAMP")
            moment = Timestamp.timestamp() if isinstance(Timestamp, datetime) else float(Timestamp)
            later = [p for p, t in stream.arrivals[shard.ident].items() if t >= moment]
            after = (min(later) - 1) if later else shard.last_position
        else:
            raise InvalidArgument(f"Invalid ShardIteratorType: {kind}")
        iterator = Iterator(stream.name, shard.ident, max(after, 0), self.clock.time() + ITERATOR_LIFETIME)
        return {"ShardIterator": iterator.encode()}

    async def get_records(
        self, ShardIterator: str, Limit: int | None = None, StreamARN: str | None = None
    ) -> dict[str, Any]:
        now = self.clock.time()
        it = Iterator.decode(ShardIterator, now)
        stream = self._stream(it.stream)
        shard = stream.shard(it.shard)
        limit = 10_000 if Limit is None else Limit
        if not 1 <= limit <= 10_000:
            raise InvalidArgument(f"Limit {limit} must be between 1 and 10000.")
        entries = await self.store.read_log(
            NS_RECORDS, f"{stream.name}/{shard.ident}", after=it.after, limit=limit
        )
        records = [
            {
                "SequenceNumber": sequence_number(shard.index, position),
                "ApproximateArrivalTimestamp": datetime.fromtimestamp(doc["t"], UTC),
                "Data": base64.b64decode(doc["d"]),
                "PartitionKey": doc["pk"],
            }
            for position, doc in entries
        ]
        last = entries[-1][0] if entries else it.after
        if last < shard.last_position:
            following = stream.arrivals[shard.ident].get(last + 1, now)
            behind = max(0, int((now - following) * 1000))
        else:
            behind = 0
        next_iterator = Iterator(stream.name, shard.ident, last, now + ITERATOR_LIFETIME)
        return {"Records": records, "NextShardIterator": next_iterator.encode(), "MillisBehindLatest": behind}


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("Invalid NextToken") from None
