"""Retry backoff (a pure function) and error-name matching, from AWS's error-handling docs.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import pytest

from cloudlet.asl import StateMachine, TaskFailed
from cloudlet.asl.model import Retrier
from cloudlet.asl.retry import backoff_seconds, error_matches


@pytest.mark.parametrize(
    ("retrier", "attempt", "expected"),
    [
        (Retrier(("E",)), 1, 1.0),
        (Retrier(("E",)), 2, 2.0),
        (Retrier(("E",)), 3, 4.0),
        (Retrier(("E",)), 4, None),  # MaxAttempts defaults to 3
        (Retrier(("E",), interval_seconds=3, backoff_rate=1.5), 3, 6.75),
        (Retrier(("E",), max_attempts=0), 1, None),
        (Retrier(("E",), interval_seconds=2, max_delay_seconds=5, max_attempts=10), 2, 4.0),
        (Retrier(("E",), interval_seconds=2, max_delay_seconds=5, max_attempts=10), 3, 5.0),
        (Retrier(("E",), interval_seconds=2, max_delay_seconds=5, max_attempts=10), 9, 5.0),
        (Retrier(("E",), backoff_rate=1.0, max_attempts=5), 5, 1.0),
    ],
)
def test_backoff(retrier: Retrier, attempt: int, expected: float | None) -> None:
    assert backoff_seconds(retrier, attempt) == expected


def test_full_jitter_scales_the_delay() -> None:
    r = Retrier(("E",), interval_seconds=4, jitter_strategy="FULL")
    assert backoff_seconds(r, 1, 0.25) == 1.0
    assert backoff_seconds(r, 2, 0.0) == 0.0


@pytest.mark.parametrize(
    ("error", "names", "expected"),
    [
        ("MyError", ["MyError"], True),
        ("MyError", ["Other"], False),
        ("MyError", ["States.ALL"], True),
        ("States.Timeout", ["States.ALL"], True),
        ("States.Runtime", ["States.ALL"], False),
        ("States.DataLimitExceeded", ["States.ALL"], False),
        ("MyError", ["States.TaskFailed"], True),
        ("States.Timeout", ["States.TaskFailed"], False),
        ("States.HeartbeatTimeout", ["States.TaskFailed"], True),
        ("States.Timeout", ["States.Timeout"], True),
        ("Lambda.ServiceException", ["Other", "Lambda.ServiceException"], True),
    ],
)
def test_error_matching(error: str, names: list[str], expected: bool) -> None:
    assert error_matches(error, names) is expected


def _flaky(failures: int, error: str = "Flaky"):
    calls: list[float] = []

    def fn(payload: object) -> object:
        calls.append(1.0)
        if len(calls) <= failures:
            raise TaskFailed(error, f"attempt {len(calls)}")
        return {"ok": len(calls)}

    return fn, calls


def _retry_machine(
    retry: list[dict[str, object]], catch: list[dict[str, object]] | None = None
) -> StateMachine:
    task: dict[str, object] = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
        "Retry": retry,
        "End": True,
    }
    states: dict[str, object] = {"T": task}
    if catch:
        task["Catch"] = catch
        states["Caught"] = {"Type": "Pass", "End": True}
    return StateMachine.from_definition({"StartAt": "T", "States": states})


def test_retry_until_success_waits_the_backoff() -> None:
    fn, calls = _flaky(2)
    sm = _retry_machine([{"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "BackoffRate": 2}])
    result = sm.run({}, resources={"flaky": fn}, real_time=False)
    assert result.status == "SUCCEEDED" and result.output == {"ok": 3}
    assert len(calls) == 3
    waited = (result.history[-1]["timestamp"] - result.history[0]["timestamp"]).total_seconds()
    assert waited >= 9.0  # 3 s then 6 s on the virtual clock


def test_retries_exhausted_then_catch() -> None:
    fn, calls = _flaky(10)
    sm = _retry_machine(
        [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}],
        [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    )
    result = sm.run({}, resources={"flaky": fn}, real_time=False)
    assert len(calls) == 3
    assert result.output == {"Error": "Flaky", "Cause": "attempt 3"}


def test_max_attempts_zero_never_retries() -> None:
    fn, calls = _flaky(10)
    sm = _retry_machine([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}])
    result = sm.run({}, resources={"flaky": fn}, real_time=False)
    assert (result.status, result.error, len(calls)) == ("FAILED", "Flaky", 1)


def test_each_retrier_counts_its_own_attempts() -> None:
    errors = iter(["A", "B", "A", "B"])

    def fn(payload: object) -> object:
        err = next(errors, None)
        if err:
            raise TaskFailed(err, "")
        return "done"

    sm = _retry_machine(
        [
            {"ErrorEquals": ["A"], "MaxAttempts": 2, "IntervalSeconds": 1},
            {"ErrorEquals": ["B"], "MaxAttempts": 2, "IntervalSeconds": 1},
        ]
    )
    assert sm.run({}, resources={"flaky": fn}, real_time=False).output == "done"
