"""Fires enabled schedule rules on the injected clock.

Each firing is recorded (the last fire time per rule) in the same store batch as the
deliveries it creates, so a restart neither repeats a firing nor loses one; a firing missed
while the runtime was down is made up once, not once per missed period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from cloudlet.clock import Clock
from cloudlet.events.model import SCHEDULES, Rule
from cloudlet.events.schedule import Schedule, next_fire, parse_schedule
from cloudlet.store import Store

log = logging.getLogger(__name__)

FireRule = Callable[[Rule, float], Awaitable[None]]


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class RuleScheduler:
    """Keeps the next fire time of every enabled schedule rule and fires them when due."""

    def __init__(self, store: Store, clock: Clock, fire: FireRule) -> None:
        self._store = store
        self._clock = clock
        self._fire = fire
        self._entries: dict[str, tuple[Rule, Schedule, float]] = {}
        self._last: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, rules: list[Rule]) -> None:
        """Load last fire times, plan every schedule rule and start the timer loop."""
        self._last = {key: float(doc["last"]) for key, doc in await self._store.scan(SCHEDULES)}
        for rule in rules:
            self.update(rule)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def update(self, rule: Rule) -> None:
        """(Re)plan ``rule`` after it was created, changed, enabled or disabled."""
        self._entries.pop(rule.key, None)
        if rule.schedule_expression and rule.enabled:
            schedule = parse_schedule(rule.schedule_expression)
            anchor = rule.schedule_anchor if rule.schedule_anchor is not None else self._clock.time()
            after = max(self._last.get(rule.key, anchor), anchor)
            due = next_fire(schedule, _dt(after), _dt(anchor))
            if due is not None:
                self._entries[rule.key] = (rule, schedule, due.timestamp())
        self._wake.set()

    def remove(self, key: str) -> None:
        self._entries.pop(key, None)
        self._last.pop(key, None)
        self._wake.set()

    def next_fire_time(self, key: str) -> float | None:
        """When the rule with store key ``key`` fires next (None if it is not scheduled)."""
        entry = self._entries.get(key)
        return entry[2] if entry else None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock.time()
            for key, (rule, schedule, due) in list(self._entries.items()):
                if due > now:
                    continue
                try:
                    await self._fire(rule, due)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("schedule firing failed", extra={"action": "fire", "rule": rule.arn})
                self._last[key] = due
                anchor = rule.schedule_anchor if rule.schedule_anchor is not None else due
                nxt = next_fire(schedule, _dt(max(due, now)), _dt(anchor))
                if key in self._entries and self._entries[key][0] is rule:
                    if nxt is None:
                        del self._entries[key]
                    else:
                        self._entries[key] = (rule, schedule, nxt.timestamp())
            if self._entries:
                soonest = min(due for _, _, due in self._entries.values())
                await self._wait(max(0.0, soonest - now))
            else:
                await self._wake.wait()

    async def _wait(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (sleeper, waker):
                fut.cancel()
