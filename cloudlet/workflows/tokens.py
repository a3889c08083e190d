"""Opaque tokens: task tokens for ``.waitForTaskToken`` callbacks and pagination tokens.

A task token names the execution and the deterministic effect key it answers, so that after
a restart the replayed execution waits on the very token it handed out before the crash.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from cloudlet.workflows.errors import InvalidToken

_TASK_PREFIX = "AQ"  # a version marker; tokens look like AWS's base64 blobs


def encode_task_token(execution_arn: str, key: str) -> str:
    """The task token for effect ``key`` of execution ``execution_arn``."""
    raw = orjson.dumps([execution_arn, key])
    return _TASK_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_task_token(token: str) -> tuple[str, str]:
    """``(execution_arn, key)`` of a task token, or ``InvalidToken``."""
    if not isinstance(token, str) or not token.startswith(_TASK_PREFIX) or len(token) > 2048:
        raise InvalidToken()
    body = token[len(_TASK_PREFIX) :]
    try:
        value = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidToken() from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise InvalidToken()
    return value[0], value[1]


def encode_page_token(position: Any) -> str:
    """A ``nextToken`` carrying ``position`` (an offset, an event id or a key)."""
    return base64.urlsafe_b64encode(orjson.dumps({"p": position})).decode()


def decode_page_token(token: str | None) -> Any:
    """The position inside ``token`` (None for no token), or ``InvalidToken``."""
    if token is None:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return value["p"]
    except (binascii.Error, ValueError, orjson.JSONDecodeError, KeyError, TypeError):
        raise InvalidToken() from None
