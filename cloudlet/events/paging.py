"""NextToken/Limit pagination over an ordered list, as the List* operations page."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar

from cloudlet.errors import ValidationError

T = TypeVar("T")
_DEFAULT_LIMIT = 100


def page(items: Sequence[T], token: str | None, limit: int | None) -> tuple[list[T], str | None]:
    """One page of ``items`` from the opaque ``token``, and the token of the next page (or None)."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise ValidationError("The NextToken provided is invalid.") from None
    if limit is not None and limit < 1:
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1"
        )
    size = limit or _DEFAULT_LIMIT
    chunk = list(items[start : start + size])
    end = start + len(chunk)
    return chunk, base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
