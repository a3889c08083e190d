"""Timestamp and blob conversions on the wire, one row per format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cloudlet.api.protocols.values import decode_blob, encode_blob, format_timestamp, parse_timestamp
from cloudlet.errors import ValidationError

MOMENT = datetime(2024, 2, 29, 13, 14, 15, 678000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (1709212455.678, MOMENT),
        ("1709212455.678", MOMENT),
        (1709212455, MOMENT.replace(microsecond=0)),
        ("2024-02-29T13:14:15.678Z", MOMENT),
        ("2024-02-29T13:14:15.678+00:00", MOMENT),
        ("2024-02-29T14:14:15.678+01:00", MOMENT),
        ("2024-02-29T13:14:15", MOMENT.replace(microsecond=0)),
        ("Thu, 29 Feb 2024 13:14:15 GMT", MOMENT.replace(microsecond=0)),
    ],
)
def test_parse_timestamp(wire: object, expected: datetime) -> None:
    parsed = parse_timestamp(wire)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("wire", ["yesterday", "", None, [1]])
def test_parse_timestamp_rejects(wire: object) -> None:
    with pytest.raises(ValidationError):
        parse_timestamp(wire)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("unixTimestamp", 1709212455.678),
        ("iso8601", "2024-02-29T13:14:15.678Z"),
        ("rfc822", "Thu, 29 Feb 2024 13:14:15 GMT"),
    ],
)
def test_format_timestamp(fmt: str, expected: object) -> None:
    assert format_timestamp(MOMENT, fmt) == expected
    other_zone = MOMENT.astimezone(timezone(timedelta(hours=-5)))
    assert format_timestamp(other_zone, fmt) == expected
    assert format_timestamp(MOMENT.replace(tzinfo=None), fmt) == expected  # naive means UTC


def test_blobs() -> None:
    assert encode_blob(b"\x00\xff") == "AP8="
    assert decode_blob("AP8=") == b"\x00\xff"
    assert encode_blob("é") == "w6k="
