"""What a target receives: Input, InputPath or InputTransformer applied to a matched event.

Pure functions over plain JSON values.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from cloudlet.errors import ValidationError

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_VAR_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
RESERVED = (
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event",
    "aws.events.event.json",
    "aws.events.event.ingestion-time",
)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What the predefined variables of a template refer to."""

    rule_arn: str
    rule_name: str
    ingestion_time: str  # ISO-8601, as the event's envelope writes time


def _path_tokens(path: str) -> list[str | int]:
    if not path.startswith("$"):
        raise ValidationError(f"Invalid JSON path: {path}")
    rest = path[1:]
    tokens: list[str | int] = []
    pos = 0
    while pos < len(rest):
        m = _PATH_TOKEN.match(rest, pos)
        if not m:
            raise ValidationError(f"Invalid JSON path: {path}")
        if m.group(1) is not None:
            tokens.append(m.group(1))
        elif m.group(2) is not None:
            tokens.append("*" if m.group(2) == "*" else int(m.group(2)))
        else:
            tokens.append(m.group(3) if m.group(3) is not None else m.group(4))
        pos = m.end()
    return tokens


def validate_path(path: str) -> None:
    """Raise ``ValidationError`` unless ``path`` is a JSON path EventBridge evaluates."""
    _path_tokens(path)


def select(value: Any, path: str) -> Any:
    """Evaluate a JSON path (dot notation, indices, ``*``) on ``value``; missing parts give ``_MISSING``."""
    results: list[Any] = [value]
    wildcard = False
    for token in _path_tokens(path):
        nxt: list[Any] = []
        for item in results:
            if token == "*":
                wildcard = True
                if isinstance(item, dict):
                    nxt.extend(item.values())
                elif isinstance(item, list):
                    nxt.extend(item)
            elif isinstance(token, int):
                if isinstance(item, list) and -len(item) <= token < len(item):
                    nxt.append(item[token])
            elif isinstance(item, dict) and token in item:
                nxt.append(item[token])
        results = nxt
    if wildcard:
        return results
    return results[0] if results else _MISSING


def apply_input_path(event: Any, path: str) -> Any:
    """InputPath: the part of the event the path selects (null when it selects nothing)."""
    found = select(event, path)
    return None if found is _MISSING else found


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _in_string_text(value: Any) -> str:
    """A value placed inside a JSON string: strings raw, objects and arrays with their quotes removed."""
    if isinstance(value, str):
        return value
    if value is _MISSING or value is None:
        return "" if value is _MISSING else "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return _dumps(value).replace('"', "")
    return _dumps(value)


def _bare_text(value: Any) -> str:
    """A value placed outside quotes: JSON text (strings get quotes)."""
    if value is _MISSING:
        return "null"
    return _dumps(value)


def _plain_text(value: Any) -> str:
    """A value placed into a template that is not JSON: strings raw, everything else as JSON text."""
    if value is _MISSING:
        return ""
    return value if isinstance(value, str) else _dumps(value)


def _resolve(
    paths_map: Mapping[str, str], event: Mapping[str, Any], ctx: RuleContext
) -> dict[str, tuple[Any, bool]]:
    """Variable name -> (value, is_raw_json_text)."""
    values: dict[str, tuple[Any, bool]] = {
        name: (select(event, path), False) for name, path in paths_map.items()
    }
    values["aws.events.rule-arn"] = (ctx.rule_arn, False)
    values["aws.events.rule-name"] = (ctx.rule_name, False)
    values["aws.events.event.ingestion-time"] = (ctx.ingestion_time, False)
    without_detail = {k: v for k, v in event.items() if k != "detail"}
    values["aws.events.event"] = (_dumps(without_detail), True)
    values["aws.events.event.json"] = (_dumps(dict(event)), True)
    return values


def _quoted_spans(template: str) -> list[tuple[int, int]]:
    """(start, end) offsets of double-quoted JSON strings in ``template``, honouring backslash escapes."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(template)
    while i < n:
        if template[i] == '"':
            j = i + 1
            while j < n and template[j] != '"':
                j += 2 if template[j] == "\\" else 1
            spans.append((i, j))
            i = j + 1
        else:
            i += 1
    return spans


def _is_json_template(template: str, names: set[str]) -> bool:
    """Whether the template is JSON once each placeholder is filled (objects, arrays, quoted strings)."""
    spans = _quoted_spans(template)

    def fill(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            return m.group(0)
        inside = any(a < m.start() < b for a, b in spans)
        return "x" if inside else "null"

    try:
        orjson.loads(_PLACEHOLDER.sub(fill, template))
    except orjson.JSONDecodeError:
        return False
    return True


def render_template(
    template: str, paths_map: Mapping[str, str], event: Mapping[str, Any], ctx: RuleContext
) -> str:
    """Fill an InputTemplate the way EventBridge does and return the resulting text.

    In a JSON template a placeholder outside quotes takes the value as JSON (strings gain
    quotes, objects and arrays stay JSON); inside quotes it takes the bare text (strings
    unquoted, objects and arrays with their inner quotes removed). A template that is not
    JSON (plain text) takes every value as bare text. ``<aws.events.event>`` and
    ``<aws.events.event.json>`` are inserted unescaped as AWS documents.
    """
    values = _resolve(paths_map, event, ctx)
    names = set(values)
    json_template = _is_json_template(template, names)
    spans = _quoted_spans(template) if json_template else []

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            return m.group(0)
        value, raw = values[name]
        if raw:
            return str(value)
        if not json_template:
            return _plain_text(value)
        if any(a < m.start() < b for a, b in spans):
            return _in_string_text(value)
        return _bare_text(value)

    return _PLACEHOLDER.sub(fill, template)


def validate_input_transformer(transformer: Mapping[str, Any]) -> None:
    """Reject an InputTransformer that AWS's PutTargets rejects (as ``ValidationError``)."""
    template = transformer.get("InputTemplate")
    if not isinstance(template, str) or not template:
        raise ValidationError("InputTemplate for target is not valid.")
    if len(template) > 8192:
        raise ValidationError("InputTemplate for target is not valid.")
    paths_map = transformer.get("InputPathsMap") or {}
    if len(paths_map) > 100:
        raise ValidationError("InputPathsMap has too many entries (maximum 100).")
    for name, path in paths_map.items():
        if name in RESERVED or name.startswith("aws.events"):
            raise ValidationError(f"Input path key '{name}' is reserved and cannot be used as a key.")
        if not _VAR_NAME.match(name) or len(name) > 256:
            raise ValidationError(f"Input path key '{name}' is not valid.")
        if not isinstance(path, str):
            raise ValidationError(f"Input path '{path}' for key '{name}' is not valid.")
        try:
            validate_path(path)
        except ValidationError:
            raise ValidationError(f"Input path '{path}' for key '{name}' is not valid.") from None


def target_payload(target: Mapping[str, Any], event: Mapping[str, Any], ctx: RuleContext) -> Any:
    """The JSON value a target receives for ``event``: the event itself, Input, InputPath or the transform.

    Text that is JSON is delivered as its value; text that is not (a plain-text template) is
    delivered as a string.
    """
    if target.get("Input") is not None:
        return _loads_or_text(target["Input"])
    if target.get("InputPath"):
        return apply_input_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        text = render_template(
            transformer["InputTemplate"], transformer.get("InputPathsMap") or {}, event, ctx
        )
        return _loads_or_text(text)
    return event


def _loads_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
