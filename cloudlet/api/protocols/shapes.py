"""Compiled converters between JSON documents and the values services take and return.

Walking a shape for every request is slow, so each shape is compiled once into a converter
that touches only the parts that need converting (timestamps, blobs, renamed members); a shape
with nothing to convert compiles to ``None`` and its document passes through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from cloudlet.api.protocols.values import decode_blob, encode_blob, format_timestamp, parse_timestamp

Converter = Callable[[Any], Any]

_PENDING = object()


class JsonCodec:
    """Converters for one service's JSON bodies, compiled per shape and cached.

    ``reader(shape)`` turns a parsed JSON request body into service keyword values
    (timestamps to ``datetime``, base64 to ``bytes``, wire names to member names);
    ``writer(shape)`` turns a service's result into a JSON-ready document (the reverse,
    dropping ``None`` members).
    """

    def __init__(self, default_timestamp_format: str = "unixTimestamp") -> None:
        self._default_ts = default_timestamp_format
        self._readers: dict[str, Any] = {}
        self._writers: dict[str, Any] = {}

    # -- reading --------------------------------------------------------------------------
    def reader(self, shape: Shape | None) -> Converter | None:
        """The converter for request documents of ``shape`` (None: use the document as is)."""
        if shape is None:
            return None
        return self._compile(shape, self._readers, reading=True)

    def writer(self, shape: Shape | None) -> Converter | None:
        """The converter for response documents of ``shape`` (None: serialize as is)."""
        if shape is None:
            return None
        return self._compile(shape, self._writers, reading=False)

    def _compile(self, shape: Shape, memo: dict[str, Any], *, reading: bool) -> Converter | None:
        key = shape.name
        if key in memo:
            found = memo[key]
            if found is _PENDING:
                # A recursive shape: look the finished converter up when it runs.
                return lambda value: _apply(memo[key], value)
            return found
        memo[key] = _PENDING
        converter = self._build(shape, memo, reading=reading)
        memo[key] = converter
        return converter

    def _build(self, shape: Shape, memo: dict[str, Any], *, reading: bool) -> Converter | None:
        type_name = shape.type_name
        if type_name == "structure":
            assert isinstance(shape, StructureShape)
            return self._structure(shape, memo, reading=reading)
        if type_name == "list":
            assert isinstance(shape, ListShape)
            item = self._compile(shape.member, memo, reading=reading)
            if item is None:
                return None
            return lambda value: [item(v) if v is not None else v for v in value]
        if type_name == "map":
            assert isinstance(shape, MapShape)
            conv = self._compile(shape.value, memo, reading=reading)
            if conv is None:
                return None
            return lambda value: {k: conv(v) if v is not None else v for k, v in value.items()}
        if type_name == "timestamp":
            if reading:
                return parse_timestamp
            fmt = shape.serialization.get("timestampFormat", self._default_ts)
            return lambda value: format_timestamp(value, fmt)
        if type_name == "blob":
            return decode_blob if reading else encode_blob
        return None

    def _structure(self, shape: StructureShape, memo: dict[str, Any], *, reading: bool) -> Converter | None:
        members: dict[str, tuple[str, Converter | None]] = {}
        renamed = False
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if member.serialization.get("location"):
                continue  # rest-json members outside the body are handled by the caller
            conv = self._compile(member, memo, reading=reading)
            if reading:
                members[wire] = (name, conv)
            else:
                members[name] = (wire, conv)
            renamed = renamed or wire != name
        if not renamed and all(conv is None for _, conv in members.values()):
            if reading:
                return None
            return _drop_none
        if reading:
            return lambda value: {
                target: (conv(v) if conv is not None and v is not None else v)
                for k, v in value.items()
                for target, conv in (members.get(k, (k, None)),)
            }
        return lambda value: {
            target: (conv(v) if conv is not None else v)
            for k, v in value.items()
            if v is not None
            for target, conv in (members.get(k, (k, None)),)
        }


def _drop_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def _apply(converter: Converter | None, value: Any) -> Any:
    return value if converter is None else converter(value)
