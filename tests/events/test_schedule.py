"""Schedule expressions: AWS's cron examples and rate rules, as next-fire tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloudlet.errors import ValidationError
from cloudlet.events.schedule import RateSchedule, next_fire, parse_schedule


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (expression, after, expected next fire) -- expressions from
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
# 2024-01-01 is a Monday; 2024 is a leap year.
CRON_CASES = [
    ("cron(0 10 * * ? *)", "2024-01-01T00:00", "2024-01-01T10:00"),
    ("cron(0 10 * * ? *)", "2024-01-01T10:00", "2024-01-02T10:00"),
    ("cron(15 12 * * ? *)", "2024-01-01T12:14:59", "2024-01-01T12:15"),
    ("cron(0 18 ? * MON-FRI *)", "2024-01-01T00:00", "2024-01-01T18:00"),
    ("cron(0 18 ? * MON-FRI *)", "2024-01-05T18:00", "2024-01-08T18:00"),
    ("cron(0 8 1 * ? *)", "2024-01-01T09:00", "2024-02-01T08:00"),
    ("cron(0/15 * * * ? *)", "2024-01-01T00:00", "2024-01-01T00:15"),
    ("cron(0/15 * * * ? *)", "2024-01-01T00:07", "2024-01-01T00:15"),
    ("cron(0/15 * * * ? *)", "2024-01-01T23:45", "2024-01-02T00:00"),
    ("cron(0/10 * ? * MON-FRI *)", "2024-01-06T00:00", "2024-01-08T00:00"),
    ("cron(0/5 8-17 ? * MON-FRI *)", "2024-01-01T17:55", "2024-01-02T08:00"),
    ("cron(0/5 8-17 ? * MON-FRI *)", "2024-01-01T08:02", "2024-01-01T08:05"),
    ("cron(0 9 ? * 2#1 *)", "2024-01-01T09:00", "2024-02-05T09:00"),
    ("cron(0 9 ? * MON#1 *)", "2023-12-31T00:00", "2024-01-01T09:00"),
    ("cron(0 0 L * ? *)", "2024-02-01T00:00", "2024-02-29T00:00"),
    ("cron(0 0 L * ? *)", "2023-02-01T00:00", "2023-02-28T00:00"),
    ("cron(0 0 15W * ? *)", "2024-06-01T00:00", "2024-06-14T00:00"),  # 15th is a Saturday
    ("cron(0 0 1W * ? *)", "2024-05-31T12:00", "2024-06-03T00:00"),  # 1st is a Saturday
    ("cron(0 0 ? * 6L *)", "2024-01-01T00:00", "2024-01-26T00:00"),  # last Friday
    ("cron(0 0 ? * L *)", "2024-01-01T00:00", "2024-01-06T00:00"),  # L alone: Saturday
    ("cron(0 12 ? * SUN *)", "2024-01-01T00:00", "2024-01-07T12:00"),
    ("cron(0 12 ? * 1 *)", "2024-01-01T00:00", "2024-01-07T12:00"),
    ("cron(0 0 1 JAN ? 2030)", "2024-01-01T00:00", "2030-01-01T00:00"),
    ("cron(0 0 1 1,7 ? 2024-2025)", "2024-01-01T00:00", "2024-07-01T00:00"),
    ("cron(30 1 ? * FRI-MON *)", "2024-01-02T00:00", "2024-01-05T01:30"),  # wrapping range
    ("cron(0 0 29 2 ? *)", "2024-03-01T00:00", "2028-02-29T00:00"),
]


@pytest.mark.parametrize(("expression", "after", "expected"), CRON_CASES)
def test_cron_next_fire(expression: str, after: str, expected: str) -> None:
    schedule = parse_schedule(expression)
    assert next_fire(schedule, _t(after), _t(after)) == _t(expected)


def test_cron_with_no_fire_left_returns_none() -> None:
    schedule = parse_schedule("cron(0 0 1 1 ? 2020)")
    assert next_fire(schedule, _t("2024-01-01T00:00"), _t("2024-01-01T00:00")) is None


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(12 hours)", 43200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
    ],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert parse_schedule(expression) == RateSchedule(seconds)


def test_rate_fires_every_period_after_its_anchor() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    anchor = _t("2024-01-01T00:00:30")
    assert next_fire(schedule, anchor, anchor) == _t("2024-01-01T00:05:30")
    assert next_fire(schedule, _t("2024-01-01T00:05:30"), anchor) == _t("2024-01-01T00:10:30")
    assert next_fire(schedule, _t("2024-01-01T00:07:00"), anchor) == _t("2024-01-01T00:10:30")


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # value 1 needs the singular unit
        "rate(5 minute)",  # values above 1 need the plural
        "rate(0 minutes)",
        "rate(5 seconds)",
        "rate(-1 hours)",
        "rate(five minutes)",
        "cron(0 10 * * * *)",  # neither day field is '?'
        "cron(0 10 ? * ? *)",  # both are
        "cron(0 10 * * ?)",  # five fields
        "cron(60 * * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 ? 13 * *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * 2#6 *)",
        "cron(0 0 ? * FUNDAY *)",
        "cron(0 0 1 * ? 1969)",
        "every 5 minutes",
        "",
    ],
)
def test_invalid_schedule_expressions(expression: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_schedule(expression)
    assert info.value.code == "ValidationException"
    assert info.value.message == "Parameter ScheduleExpression is not valid."
