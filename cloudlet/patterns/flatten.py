"""Flatten an event once into its leaf values by path.

``{"detail": {"state": "running", "ids": [1, 2]}}`` becomes
``{"detail.state": [("running", ())], "detail.ids": [(1, ((0, 0),)), (2, ((0, 1),))]}``.

* Paths join keys with ``.``, as EventBridge does, so a pattern key ``"a.b"`` and nested
  keys ``a`` → ``b`` name the same field.
* Arrays are transparent: each element is a value of the array's own path, and objects
  inside arrays contribute their fields below that path. Empty arrays and objects hold no
  leaf, so ``{"exists": false}`` holds for them.
* Each leaf carries its *trail*: ``(array id, element index)`` for every array it lies in,
  outermost first, so matchers can refuse to combine values from different elements of one
  array (array-consistent matching).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

Trail = tuple[tuple[int, int], ...]
Leaf = tuple[Any, Trail]
Flat = dict[str, list[Leaf]]


def parse_event(event: str | bytes | dict[str, Any]) -> Any:
    """An event given as JSON text or as a parsed object, parsed."""
    if isinstance(event, str | bytes):
        try:
            return orjson.loads(event)
        except orjson.JSONDecodeError:  # integers beyond 64 bits: the standard parser reads them
            return json.loads(event)
    return event


def flatten(event: dict[str, Any]) -> Flat:
    """The event's leaf values grouped by path (see the module docstring)."""
    out: Flat = {}
    arrays = [0]

    def walk_object(obj: dict[str, Any], prefix: str, trail: Trail) -> None:
        for key, value in obj.items():
            path = prefix + key
            t = type(value)
            if t is dict:
                walk_object(value, path + ".", trail)
            elif t is list:
                walk_array(value, path, trail)
            else:
                leaves = out.get(path)
                if leaves is None:
                    out[path] = [(value, trail)]
                else:
                    leaves.append((value, trail))

    def walk_array(items: list[Any], path: str, trail: Trail) -> None:
        array_id = arrays[0]
        arrays[0] += 1
        for index, value in enumerate(items):
            inner = (*trail, (array_id, index))
            t = type(value)
            if t is dict:
                walk_object(value, path + ".", inner)
            elif t is list:
                walk_array(value, path, inner)
            else:
                leaves = out.get(path)
                if leaves is None:
                    out[path] = [(value, inner)]
                else:
                    leaves.append((value, inner))

    walk_object(event, "", ())
    return out


def consistent(trail: Trail, chosen: tuple[Trail, ...]) -> bool:
    """True when a leaf with ``trail`` lies in the same element of every array it shares with ``chosen``."""
    for other in chosen:
        for a, b in zip(trail, other, strict=False):
            if a != b:
                if a[0] == b[0]:  # same array, different elements
                    return False
                break
    return True
