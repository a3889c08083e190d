"""Runtime hooks for snapshot starts, with the names of AWS's ``snapshot_restore_py`` library.

Handlers import this module (it sits in ``LAMBDA_RUNTIME_DIR``, on ``sys.path`` of every
execution environment). ``register_before_snapshot`` hooks run in the snapshot process after
init, in reverse order of registration; ``register_after_restore`` hooks run in each new
environment forked from the snapshot, in order of registration. Both work as decorators.
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

_runtime = sys.modules.get("cloudlet_lambda_bootstrap")
_before: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = (
    _runtime._before_snapshot if _runtime is not None else []
)
_after: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = (
    _runtime._after_restore if _runtime is not None else []
)


def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    """Run ``func(*args, **kwargs)`` just before the snapshot is taken."""
    _before.append((func, args, kwargs))
    return func


def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    """Run ``func(*args, **kwargs)`` in each environment restored from the snapshot."""
    _after.append((func, args, kwargs))
    return func


def get_before_snapshot() -> list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]:
    """The registered before-snapshot hooks, as (function, args, kwargs)."""
    return list(_before)


def get_after_restore() -> list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]:
    """The registered after-restore hooks, as (function, args, kwargs)."""
    return list(_after)
