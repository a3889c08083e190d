"""Property: the cron search agrees with a brute-force walk over every minute of matching days."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlet.events.schedule import CronSchedule, parse_schedule

HORIZON_DAYS = 366 * 16
_DOW_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _aws_weekday(day: datetime) -> int:
    """1 = Sunday ... 7 = Saturday, computed independently of the engine."""
    return (day.isoweekday() % 7) + 1


def _day_matches(schedule: CronSchedule, day: datetime, dom_text: str, dow_text: str) -> bool:
    ndays = calendar.monthrange(day.year, day.month)[1]
    if dom_text == "?":
        wd = _aws_weekday(day)
        if dow_text == "*":
            return True
        if dow_text.endswith("L"):
            target = (
                7
                if dow_text == "L"
                else _DOW_NAMES.index(dow_text[:-1]) + 1
                if not dow_text[:-1].isdigit()
                else int(dow_text[:-1])
            )
            return wd == target and (dow_text == "L" or day.day + 7 > ndays)
        if "#" in dow_text:
            d, n = dow_text.split("#")
            return wd == int(d) and (day.day - 1) // 7 + 1 == int(n)
        return wd in schedule.dow.values
    if dom_text == "*":
        return True
    if dom_text == "L":
        return day.day == ndays
    if dom_text.endswith("W"):
        target = min(int(dom_text[:-1]), ndays)
        candidates = [d for d in range(1, ndays + 1) if _aws_weekday(day.replace(day=d)) not in (1, 7)]
        nearest = min(candidates, key=lambda d: (abs(d - target), d))
        return day.day == nearest
    return day.day in schedule.dom.values


def _brute_force(schedule: CronSchedule, after: datetime, dom_text: str, dow_text: str) -> datetime | None:
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for _ in range(HORIZON_DAYS):
        if (
            day.year in schedule.years
            and day.month in schedule.months
            and _day_matches(schedule, day, dom_text, dow_text)
        ):
            for hour in sorted(schedule.hours):
                for minute in sorted(schedule.minutes):
                    moment = day.replace(hour=hour, minute=minute)
                    if moment >= start:
                        return moment
        day += timedelta(days=1)
    return None


minutes = st.sampled_from(["*", "0", "0/15", "5,35", "10-20/5", "59"])
hours = st.sampled_from(["*", "0", "9-17", "23", "0/6", "22-2"])
months = st.sampled_from(["*", "1", "FEB", "2-4", "JUN,DEC", "11-1"])
years = st.sampled_from(["*", "2024-2026", "2025", "2027"])
dom_fields = st.sampled_from(["*", "1", "15", "L", "1W", "15W", "31W", "29-31", "1/10"])
dow_fields = st.sampled_from(["*", "1", "MON-FRI", "SAT,SUN", "2#1", "6#5", "6L", "L", "FRI-MON"])


@settings(max_examples=150, deadline=None)
@given(
    minute=minutes,
    hour=hours,
    month=months,
    year=years,
    day_field=st.one_of(dom_fields.map(lambda d: (d, "?")), dow_fields.map(lambda d: ("?", d))),
    after=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31)),
)
def test_cron_search_agrees_with_brute_force(
    minute: str, hour: str, month: str, year: str, day_field: tuple[str, str], after: datetime
) -> None:
    dom_text, dow_text = day_field
    expression = f"cron({minute} {hour} {dom_text} {month} {dow_text} {year})"
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    moment = after.replace(tzinfo=UTC)
    expected = _brute_force(schedule, moment, dom_text, dow_text)
    found = schedule.next_after(moment)
    if expected is None:  # nothing within the reference's horizon: the engine may find a later one
        assert found is None or found > moment + timedelta(days=HORIZON_DAYS - 1), expression
    else:
        assert found == expected, expression
