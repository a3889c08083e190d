"""Retry and Catch rules as pure functions: which rule matches an error, and how long to wait.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

from collections.abc import Sequence

from cloudlet.asl.model import Retrier

__all__ = ["backoff_seconds", "error_matches", "find_matching"]

#: Errors that ``States.ALL`` does not match: they are terminal.
_NOT_MATCHED_BY_ALL = frozenset({"States.Runtime", "States.DataLimitExceeded"})


def error_matches(error: str, error_equals: Sequence[str]) -> bool:
    """True when ``error`` is named by ``error_equals`` (with AWS's wildcards).

    ``States.ALL`` matches every error except the terminal ``States.Runtime`` and
    ``States.DataLimitExceeded``; ``States.TaskFailed`` matches every error except
    ``States.Timeout`` (and those two terminal ones).
    """
    for name in error_equals:
        if name == error:
            return True
        if name == "States.ALL" and error not in _NOT_MATCHED_BY_ALL:
            return True
        if name == "States.TaskFailed" and error != "States.Timeout" and error not in _NOT_MATCHED_BY_ALL:
            return True
    return False


def find_matching(error: str, rules: Sequence[object]) -> int | None:
    """Index of the first rule (Retrier or Catcher) whose ``error_equals`` names ``error``."""
    for i, rule in enumerate(rules):
        if error_matches(error, rule.error_equals):  # type: ignore[attr-defined]
            return i
    return None


def backoff_seconds(retrier: Retrier, attempt: int, random_value: float = 1.0) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based), or ``None`` when exhausted.

    ``IntervalSeconds * BackoffRate ** (attempt - 1)``, capped by ``MaxDelaySeconds``; with
    ``JitterStrategy: FULL`` the delay is scaled by ``random_value`` drawn from [0, 1).
    """
    if attempt > retrier.max_attempts:
        return None
    delay = retrier.interval_seconds * retrier.backoff_rate ** (attempt - 1)
    if retrier.max_delay_seconds is not None and delay > retrier.max_delay_seconds:
        delay = retrier.max_delay_seconds
    if retrier.jitter_strategy == "FULL":
        delay *= random_value
    return float(delay)
