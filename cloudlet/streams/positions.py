"""Where a reader is in a shard: sequence numbers and shard iterators.

A sequence number is a 56-digit decimal, as Kinesis writes them, that orders records within a
shard and is unique across the stream: ``4`` · shard index (25 digits) · position (30 digits).
A shard iterator is an opaque token naming the stream, the shard, the position after which
the next read starts, and when it expires (five minutes after it was issued).

https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import orjson

from cloudlet.streams.errors import ExpiredIterator, InvalidArgument

_POSITION = 10**30
_SHARD = 10**25
_LEAD = 4 * 10**55
ITERATOR_LIFETIME = 300.0


def sequence_number(shard_index: int, position: int) -> str:
    """The sequence number of the record at ``position`` (1-based) of shard ``shard_index``."""
    return str(_LEAD + shard_index * _POSITION + position)


def starting_sequence_number(shard_index: int) -> str:
    return sequence_number(shard_index, 0)


def parse_sequence_number(text: str) -> tuple[int, int]:
    """(shard index, position) of a sequence number; InvalidArgument when it is not one of ours."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = -1
    if value < _LEAD or value >= _LEAD + _SHARD * _POSITION:
        raise InvalidArgument(
            f"StartingSequenceNumber {text} used in GetShardIterator on shard is not a valid sequence number."
        )
    rest = value - _LEAD
    return rest // _POSITION, rest % _POSITION


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_index(ident: str) -> int | None:
    if not ident.startswith("shardId-"):
        return None
    try:
        return int(ident[len("shardId-") :])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Iterator:
    """A decoded shard iterator: read records with position > ``after``."""

    stream: str
    shard: str
    after: int
    expires: float

    def encode(self) -> str:
        raw = orjson.dumps({"s": self.stream, "h": self.shard, "a": self.after, "e": self.expires})
        return base64.urlsafe_b64encode(raw).decode()

    @classmethod
    def decode(cls, token: str, now: float) -> Iterator:
        try:
            doc = orjson.loads(base64.urlsafe_b64decode(token.encode()))
            it = cls(doc["s"], doc["h"], int(doc["a"]), float(doc["e"]))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            raise InvalidArgument(f"Invalid ShardIterator: {token}") from None
        if it.expires <= now:
            raise ExpiredIterator(
                f"Iterator expired. The iterator was created at time {it.expires - ITERATOR_LIFETIME}"
            )
        return it
