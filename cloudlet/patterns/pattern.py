"""`EventPattern`: one validated pattern and the brute-force reference matcher.

`EventPattern.matches` tests every step of every branch against the flattened event
directly. It is the specification that `PatternIndex` is checked against.
"""

from __future__ import annotations

from typing import Any

from cloudlet.patterns.compiler import EVENTBRIDGE, Dialect, compile_pattern
from cloudlet.patterns.flatten import Flat, Leaf, Trail, consistent, flatten, parse_event
from cloudlet.patterns.jsontext import Pairs
from cloudlet.patterns.model import AbsentStep, Branch, FieldStep


class EventPattern:
    """An EventBridge event pattern, validated on construction.

    ``EventPattern(text_or_dict)`` raises `cloudlet.errors.InvalidEventPattern` with AWS's
    message when AWS would reject the pattern; ``matches(event)`` takes the event as a dict
    or as JSON text.
    """

    __slots__ = ("branches", "source")

    def __init__(
        self, pattern: str | bytes | dict[str, Any] | Pairs, *, dialect: Dialect = EVENTBRIDGE
    ) -> None:
        self.source = pattern
        self.branches: tuple[Branch, ...] = compile_pattern(pattern, dialect)

    def __repr__(self) -> str:
        return f"EventPattern({self.source!r})"

    def matches(self, event: str | bytes | dict[str, Any]) -> bool:
        """True when the event (a JSON object, as text or dict) matches the pattern."""
        parsed = parse_event(event)
        if not isinstance(parsed, dict):
            return False
        return self.matches_flat(flatten(parsed))

    def matches_flat(self, flat: Flat) -> bool:
        """`matches` for an event already flattened with `flatten`."""
        return any(branch_matches(branch, flat) for branch in self.branches)


def branch_matches(branch: Branch, flat: Flat) -> bool:
    """Reference semantics of one branch against a flattened event."""
    candidates: list[list[Leaf]] = []
    for step in branch.steps:
        if isinstance(step, AbsentStep):
            if step.path in flat:
                return False
            continue
        assert isinstance(step, FieldStep)
        leaves = [leaf for leaf in flat.get(step.path, ()) if step.test(leaf[0])]
        if not leaves:
            return False
        candidates.append(leaves)
    if all(not trail for leaves in candidates for _, trail in leaves):
        return True
    return _assign(candidates, 0, ())


def _assign(candidates: list[list[Leaf]], index: int, chosen: tuple[Trail, ...]) -> bool:
    """Backtracking: one leaf per step, all array-consistent."""
    if index == len(candidates):
        return True
    for _, trail in candidates[index]:
        if not trail:
            if _assign(candidates, index + 1, chosen):
                return True
        elif consistent(trail, chosen) and _assign(candidates, index + 1, (*chosen, trail)):
            return True
    return False
