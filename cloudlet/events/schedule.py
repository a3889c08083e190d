"""Schedule expressions of EventBridge rules: ``rate(...)`` and AWS's six-field ``cron(...)``.

Pure: parse once into an immutable model, then ask it for the next fire time after an
instant. All times are UTC.

Why our own parser: AWS's cron dialect is not Unix cron. It has a sixth field (Year), the
``?`` placeholder that must stand in exactly one of Day-of-month / Day-of-week, days of the
week numbered 1-7 from Sunday, ``L`` in both day fields, ``W`` and ``#``. croniter and cronsim
implement Unix/Quartz variants (0-6 days of week, no year field or different ``?`` rules) and
pyawscron is an unmaintained port; translating between dialects would be more code and more
risk than the small grammar below.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cloudlet.errors import ValidationError

INVALID_SCHEDULE = "Parameter ScheduleExpression is not valid."

_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MAX_YEAR = 2199


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """``rate(N unit)``: fires every ``seconds`` after its anchor (when the rule was created or enabled)."""

    seconds: int

    def next_after(self, after: datetime, anchor: datetime) -> datetime | None:
        """The first fire strictly after ``after`` for a schedule that started at ``anchor``."""
        if after < anchor:
            return anchor + timedelta(seconds=self.seconds)
        periods = int((after - anchor).total_seconds() // self.seconds) + 1
        return anchor + timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True, slots=True)
class DaySpec:
    """Day-of-month or day-of-week constraint beyond a plain set of numbers."""

    values: frozenset[int]  # plain days (1-31 or 1-7)
    any: bool = False  # ``*`` or ``?``
    last: bool = False  # DOM ``L``
    last_weekday: bool = False  # DOM ``LW``
    nearest_weekday: int | None = None  # DOM ``15W``
    last_dow: int | None = None  # DOW ``6L`` (last Friday); ``L`` alone is Saturday
    nth_dow: tuple[int, int] | None = None  # DOW ``2#1`` (first Monday) as (day, n)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed ``cron(Minutes Hours Day-of-month Month Day-of-week Year)``."""

    minutes: frozenset[int]
    hours: frozenset[int]
    dom: DaySpec
    months: frozenset[int]
    dow: DaySpec
    years: frozenset[int]
    dom_is_question: bool

    def next_after(self, after: datetime, anchor: datetime | None = None) -> datetime | None:
        """The first minute strictly after ``after`` that the expression names, or None if none is left."""
        t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        year, month, day, hour, minute = t.year, t.month, t.day, t.hour, t.minute
        while year <= _MAX_YEAR:
            if year not in self.years:
                year, month, day, hour, minute = year + 1, 1, 1, 0, 0
                continue
            if month not in self.months:
                month, day, hour, minute = month + 1, 1, 0, 0
                if month > 12:
                    year, month = year + 1, 1
                continue
            days = self._days(year, month)
            next_day = next((d for d in days if d >= day), None)
            if next_day is None:
                month, day, hour, minute = month + 1, 1, 0, 0
                if month > 12:
                    year, month = year + 1, 1
                continue
            if next_day != day:
                day, hour, minute = next_day, 0, 0
            next_hour = next((h for h in sorted(self.hours) if h >= hour), None)
            if next_hour is None:
                day, hour, minute = day + 1, 0, 0
                continue
            if next_hour != hour:
                hour, minute = next_hour, 0
            next_minute = next((m for m in sorted(self.minutes) if m >= minute), None)
            if next_minute is None:
                hour, minute = hour + 1, 0
                if hour > 23:
                    day, hour = day + 1, 0
                continue
            return datetime(year, month, day, hour, next_minute, tzinfo=UTC)
        return None

    def _days(self, year: int, month: int) -> list[int]:
        """Days of ``month`` that match the day-of-month or day-of-week field (whichever is not ``?``)."""
        ndays = calendar.monthrange(year, month)[1]
        if self.dom_is_question:
            return [d for d in range(1, ndays + 1) if _dow_matches(self.dow, year, month, d, ndays)]
        return [d for d in range(1, ndays + 1) if _dom_matches(self.dom, year, month, d, ndays)]


Schedule = RateSchedule | CronSchedule


def _weekday(year: int, month: int, day: int) -> int:
    """AWS day of week: 1 = Sunday ... 7 = Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _dom_matches(spec: DaySpec, year: int, month: int, day: int, ndays: int) -> bool:
    if spec.any or day in spec.values:
        return True
    if spec.last and day == ndays:
        return True
    if spec.last_weekday:
        last = ndays
        while _weekday(year, month, last) in (1, 7):
            last -= 1
        if day == last:
            return True
    if spec.nearest_weekday is not None:
        return day == _nearest_weekday(year, month, min(spec.nearest_weekday, ndays), ndays)
    return False


def _nearest_weekday(year: int, month: int, target: int, ndays: int) -> int:
    """The weekday nearest ``target`` without leaving the month (Quartz's and AWS's ``W``)."""
    wd = _weekday(year, month, target)
    if wd == 7:  # Saturday -> Friday, or Monday if the 1st
        return target - 1 if target > 1 else target + 2
    if wd == 1:  # Sunday -> Monday, or Friday if the last day
        return target + 1 if target < ndays else target - 2
    return target


def _dow_matches(spec: DaySpec, year: int, month: int, day: int, ndays: int) -> bool:
    wd = _weekday(year, month, day)
    if spec.any or wd in spec.values:
        return True
    if spec.last_dow is not None and wd == spec.last_dow and day + 7 > ndays:
        return True
    if spec.nth_dow is not None:
        dow, n = spec.nth_dow
        return wd == dow and (day - 1) // 7 + 1 == n
    return False


def parse_schedule(expression: str) -> Schedule:
    """Parse a ScheduleExpression; raises ``ValidationError`` with AWS's message if it is not valid."""
    text = expression.strip()
    m = _RATE.match(text)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        singular = unit.rstrip("s") if unit.endswith("s") else unit
        if value <= 0 or singular not in _UNITS or (unit == singular) != (value == 1):
            raise ValidationError(INVALID_SCHEDULE)
        return RateSchedule(value * _UNITS[singular])
    m = _CRON.match(text)
    if not m:
        raise ValidationError(INVALID_SCHEDULE)
    fields = m.group(1).split()
    if len(fields) != 6:
        raise ValidationError(INVALID_SCHEDULE)
    try:
        return _parse_cron(fields)
    except (ValueError, KeyError):
        raise ValidationError(INVALID_SCHEDULE) from None


def _parse_cron(fields: list[str]) -> CronSchedule:
    minute_f, hour_f, dom_f, month_f, dow_f, year_f = (f.upper() for f in fields)
    # Exactly one of the day fields is '?': AWS rejects both or neither.
    if (dom_f == "?") == (dow_f == "?"):
        raise ValueError("one of Day-of-month and Day-of-week must be '?'")
    return CronSchedule(
        minutes=_values(minute_f, 0, 59),
        hours=_values(hour_f, 0, 23),
        dom=_dom_spec(dom_f),
        months=_values(month_f, 1, 12, _MONTHS),
        dow=_dow_spec(dow_f),
        years=_values(year_f, 1970, _MAX_YEAR),
        dom_is_question=dom_f == "?",
    )


def _number(token: str, lo: int, hi: int, names: dict[str, int] | None = None) -> int:
    if names and token in names:
        return names[token]
    if not token.isdigit():
        raise ValueError(token)
    value = int(token)
    if not lo <= value <= hi:
        raise ValueError(token)
    return value


def _values(field: str, lo: int, hi: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """A field of numbers: ``*``, ``5``, ``1,3``, ``1-5`` (wrapping if start > end), ``0/15``, ``8-17/2``."""
    out: set[int] = set()
    for part in field.split(","):
        if not part:
            raise ValueError(field)
        step = 1
        if "/" in part:
            base, step_text = part.split("/", 1)
            step = _number(step_text, 1, hi - lo + 1 if hi - lo + 1 > 0 else 1)
        else:
            base = part
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _number(a, lo, hi, names), _number(b, lo, hi, names)
        else:
            start = _number(base, lo, hi, names)
            end = hi if "/" in part else start
        span = end - start if end >= start else end + (hi - lo + 1) - start
        for offset in range(0, span + 1, step):
            value = start + offset
            out.add(value if value <= hi else value - (hi - lo + 1))
    return frozenset(out)


def _dom_spec(field: str) -> DaySpec:
    if field in ("?", "*"):
        return DaySpec(frozenset(), any=True)
    if field == "L":
        return DaySpec(frozenset(), last=True)
    if field == "LW":
        return DaySpec(frozenset(), last_weekday=True)
    if field.endswith("W"):
        return DaySpec(frozenset(), nearest_weekday=_number(field[:-1], 1, 31))
    return DaySpec(_values(field, 1, 31))


def _dow_spec(field: str) -> DaySpec:
    if field in ("?", "*"):
        return DaySpec(frozenset(), any=True)
    if field == "L":
        return DaySpec(frozenset({7}))
    if field.endswith("L"):
        return DaySpec(frozenset(), last_dow=_number(field[:-1], 1, 7, _DAYS))
    if "#" in field:
        day, n = field.split("#", 1)
        return DaySpec(frozenset(), nth_dow=(_number(day, 1, 7, _DAYS), _number(n, 1, 5)))
    return DaySpec(_values(field, 1, 7, _DAYS))


def next_fire(schedule: Schedule, after: datetime, anchor: datetime) -> datetime | None:
    """The next time ``schedule`` fires strictly after ``after``; ``anchor`` starts rate schedules."""
    if isinstance(schedule, RateSchedule):
        return schedule.next_after(after, anchor)
    return schedule.next_after(after)
