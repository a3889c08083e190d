"""Schedule rules fire on the injected clock and deliver AWS's Scheduled Event."""

from __future__ import annotations

from typing import Any

from cloudlet.clock import ManualClock
from cloudlet.store import MemoryStore

from .conftest import ACCOUNT, REGION, START, Env

TARGET = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tick"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick"


async def _schedule(env: Env, expression: str) -> None:
    await env.events.put_rule(Name="tick", ScheduleExpression=expression)
    await env.events.put_targets(Rule="tick", Targets=[{"Id": "t", "Arn": TARGET}])


def test_rate_rule_fires_every_period(run: Any) -> None:
    async def scenario(env: Env) -> None:
        got = env.target(TARGET)
        await _schedule(env, "rate(5 minutes)")
        await env.advance(299)
        assert got == []
        await env.advance(1)
        await env.eventually(lambda: len(got) == 1)
        event = got[0]
        assert event["detail-type"] == "Scheduled Event"
        assert event["source"] == "aws.events"
        assert event["account"] == ACCOUNT and event["region"] == REGION
        assert event["resources"] == [RULE_ARN]
        assert event["detail"] == {}
        assert event["time"] == "2024-01-01T00:05:00Z"
        assert event["version"] == "0" and event["id"]
        for _ in range(3):
            await env.advance(300)
        await env.eventually(lambda: len(got) == 4)
        assert [e["time"] for e in got] == [
            "2024-01-01T00:05:00Z",
            "2024-01-01T00:10:00Z",
            "2024-01-01T00:15:00Z",
            "2024-01-01T00:20:00Z",
        ]

    run(scenario)


def test_cron_rule_fires_at_the_named_minutes(run: Any) -> None:
    async def scenario(env: Env) -> None:
        got = env.target(TARGET)
        await _schedule(env, "cron(0/15 * * * ? *)")
        for _ in range(60):  # one hour, a minute at a time
            await env.advance(60)
        await env.eventually(lambda: len(got) == 4)
        assert [e["time"] for e in got] == [
            "2024-01-01T00:15:00Z",
            "2024-01-01T00:30:00Z",
            "2024-01-01T00:45:00Z",
            "2024-01-01T01:00:00Z",
        ]

    run(scenario)


def test_disabled_schedule_does_not_fire_and_enabling_restarts_it(run: Any) -> None:
    async def scenario(env: Env) -> None:
        got = env.target(TARGET)
        await _schedule(env, "rate(1 minute)")
        await env.events.disable_rule(Name="tick")
        await env.advance(600)
        assert got == []
        await env.events.enable_rule(Name="tick")
        await env.advance(60)
        await env.eventually(lambda: len(got) == 1)
        await env.events.remove_targets(Rule="tick", Ids=["t"])
        await env.events.delete_rule(Name="tick")
        await env.advance(600)
        assert len(got) == 1

    run(scenario)


def test_schedule_survives_restart_without_double_firing(run: Any) -> None:
    store = MemoryStore()
    clock = ManualClock(start=START)

    async def first(env: Env) -> None:
        got = env.target(TARGET)
        await _schedule(env, "rate(1 minute)")
        await env.advance(60)
        await env.eventually(lambda: len(got) == 1)

    async def second(env: Env) -> None:
        got = env.target(TARGET)
        await env.settle()
        assert got == []  # the 00:01 firing is not repeated
        await env.advance(60)
        await env.eventually(lambda: len(got) == 1)
        assert got[0]["time"] == "2024-01-01T00:02:00Z"

    run(first, store=store, clock=clock)
    run(second, store=store, clock=clock)
