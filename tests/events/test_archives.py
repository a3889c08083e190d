"""Archives record a bus's events; replays send them back to the bus's rules with replay-name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cloudlet.errors import CloudletError

from .conftest import ACCOUNT, REGION, START, Env

BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
TARGET = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
OTHER = f"arn:aws:sqs:{REGION}:{ACCOUNT}:other"


def _entry(n: int, source: str = "my.app") -> dict[str, Any]:
    return {"Source": source, "DetailType": "t", "Detail": f'{{"n": {n}}}'}


async def _error(coro: Any) -> CloudletError:
    with pytest.raises(CloudletError) as info:
        await coro
    return info.value


def test_archive_crud_and_counts(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        created = await ev.archives.create_archive(
            ArchiveName="all", EventSourceArn=BUS, RetentionDays=0, Description="everything"
        )
        assert created["ArchiveArn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:archive/all"
        assert created["State"] == "ENABLED"
        await ev.archives.create_archive(
            ArchiveName="mine", EventSourceArn=BUS, EventPattern='{"source": ["my.app"]}'
        )
        await ev.put_events(Entries=[_entry(1), _entry(2), _entry(3, "other.app")])
        described = await ev.archives.describe_archive(ArchiveName="all")
        assert described["EventCount"] == 3 and described["SizeBytes"] > 0
        assert described["Description"] == "everything" and described["EventSourceArn"] == BUS
        assert (await ev.archives.describe_archive(ArchiveName="mine"))["EventCount"] == 2
        listed = await ev.archives.list_archives(NamePrefix="m")
        assert [a["ArchiveName"] for a in listed["Archives"]] == ["mine"]
        await ev.archives.update_archive(
            ArchiveName="mine", RetentionDays=3, EventPattern='{"source": ["other.app"]}'
        )
        described = await ev.archives.describe_archive(ArchiveName="mine")
        assert described["RetentionDays"] == 3 and described["EventPattern"] == '{"source": ["other.app"]}'

        err = await _error(ev.archives.create_archive(ArchiveName="all", EventSourceArn=BUS))
        assert (err.code, err.message) == ("ResourceAlreadyExistsException", "Archive all already exists.")
        err = await _error(
            ev.archives.create_archive(
                ArchiveName="x", EventSourceArn=f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/nope"
            )
        )
        assert (err.code, err.message) == ("ResourceNotFoundException", "Event bus nope does not exist.")
        err = await _error(
            ev.archives.create_archive(ArchiveName="x", EventSourceArn=BUS, EventPattern='{"a": 1}')
        )
        assert err.code == "InvalidEventPatternException"
        await ev.archives.delete_archive(ArchiveName="mine")
        err = await _error(ev.archives.describe_archive(ArchiveName="mine"))
        assert (err.code, err.message) == ("ResourceNotFoundException", "Archive mine does not exist.")

    run(scenario)


def test_retention_drops_old_events(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        await ev.archives.create_archive(ArchiveName="short", EventSourceArn=BUS, RetentionDays=1)
        await ev.put_events(Entries=[_entry(1)])
        await env.advance(86400 + 10)
        await ev.put_events(Entries=[_entry(2)])
        await ev.archives.trim()
        assert (await ev.archives.describe_archive(ArchiveName="short"))["EventCount"] == 1
        entries = await env.store.read_log("events.archive", "short")
        assert [e["event"]["detail"]["n"] for _, e in entries] == [2]

    run(scenario)


def test_replay_sends_the_window_back_to_the_rules_with_replay_name(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        got = env.target(TARGET)
        other = env.target(OTHER)
        await ev.archives.create_archive(ArchiveName="all", EventSourceArn=BUS)
        await ev.put_events(Entries=[_entry(1)])  # at START, before any rule exists
        await env.advance(100)
        await ev.put_events(Entries=[_entry(2)])  # START+100
        await env.advance(100)
        await ev.put_events(Entries=[_entry(3)])  # START+200, outside the window
        await ev.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
        await ev.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": TARGET}])
        await ev.put_rule(Name="other", EventPattern='{"source": ["my.app"]}')
        await ev.put_targets(Rule="other", Targets=[{"Id": "q", "Arn": OTHER}])
        await env.advance(100)

        started = await ev.archives.start_replay(
            ReplayName="again",
            EventSourceArn=f"arn:aws:events:{REGION}:{ACCOUNT}:archive/all",
            EventStartTime=datetime.fromtimestamp(START, UTC),
            EventEndTime=datetime.fromtimestamp(START + 150, UTC),
            Destination={"Arn": BUS, "FilterArns": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"]},
        )
        assert started["State"] == "STARTING"
        await ev.archives.replay_finished("again")
        await env.eventually(lambda: len(got) == 2)
        await env.settle()
        assert other == []  # filtered out by FilterArns
        assert [e["detail"]["n"] for e in got] == [1, 2]
        assert all(e["replay-name"] == "again" for e in got)
        described = await ev.archives.describe_replay(ReplayName="again")
        assert described["State"] == "COMPLETED"
        assert described["EventLastReplayedTime"] == datetime.fromtimestamp(START + 100, UTC)
        # replayed events are not archived again
        assert (await ev.archives.describe_archive(ArchiveName="all"))["EventCount"] == 3
        listed = await ev.archives.list_replays()
        assert [(r["ReplayName"], r["State"]) for r in listed["Replays"]] == [("again", "COMPLETED")]
        err = await _error(ev.archives.cancel_replay(ReplayName="again"))
        assert err.code == "IllegalStatusException"

    run(scenario)


def test_replay_validation(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        archive = (await ev.archives.create_archive(ArchiveName="all", EventSourceArn=BUS))["ArchiveArn"]
        await ev.create_event_bus(Name="other")
        await env.advance(1000)
        early, late = datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(START + 10, UTC)
        err = await _error(
            ev.archives.start_replay(
                ReplayName="r",
                EventSourceArn=archive,
                EventStartTime=late,
                EventEndTime=early,
                Destination={"Arn": BUS},
            )
        )
        assert (
            err.message
            == "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
        )
        err = await _error(
            ev.archives.start_replay(
                ReplayName="r",
                EventSourceArn=archive,
                EventStartTime=early,
                EventEndTime=late,
                Destination={"Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/other"},
            )
        )
        assert (
            err.message
            == "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."
        )
        err = await _error(
            ev.archives.start_replay(
                ReplayName="r",
                EventSourceArn=f"arn:aws:events:{REGION}:{ACCOUNT}:archive/none",
                EventStartTime=early,
                EventEndTime=late,
                Destination={"Arn": BUS},
            )
        )
        assert err.code == "ResourceNotFoundException"
        await ev.archives.start_replay(
            ReplayName="r",
            EventSourceArn=archive,
            EventStartTime=early,
            EventEndTime=late,
            Destination={"Arn": BUS},
        )
        err = await _error(
            ev.archives.start_replay(
                ReplayName="r",
                EventSourceArn=archive,
                EventStartTime=early,
                EventEndTime=late,
                Destination={"Arn": BUS},
            )
        )
        assert (err.code, err.message) == ("ResourceAlreadyExistsException", "Replay r already exists.")
        err = await _error(ev.archives.describe_replay(ReplayName="none"))
        assert (err.code, err.message) == ("ResourceNotFoundException", "Replay none does not exist.")

    run(scenario)


def test_cancel_a_running_replay(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        archive = (await ev.archives.create_archive(ArchiveName="all", EventSourceArn=BUS))["ArchiveArn"]
        await ev.put_events(Entries=[_entry(1)])
        await env.advance(10)
        await ev.archives.start_replay(
            ReplayName="r",
            EventSourceArn=archive,
            EventStartTime=datetime.fromtimestamp(START - 1, UTC),
            EventEndTime=datetime.fromtimestamp(START + 5, UTC),
            Destination={"Arn": BUS},
        )
        assert (await ev.archives.cancel_replay(ReplayName="r"))["State"] == "CANCELLING"
        await ev.archives.replay_finished("r")
        assert (await ev.archives.describe_replay(ReplayName="r"))["State"] == "CANCELLED"

    run(scenario)


def test_a_replay_interrupted_by_a_restart_resumes(run: Any) -> None:
    from cloudlet.clock import ManualClock
    from cloudlet.store import MemoryStore

    store, clock = MemoryStore(), ManualClock(start=START)

    async def begin(env: Env) -> None:
        ev = env.events
        await ev.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
        await ev.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": TARGET}])
        archive = (await ev.archives.create_archive(ArchiveName="all", EventSourceArn=BUS))["ArchiveArn"]
        env.target(TARGET)
        await ev.put_events(Entries=[_entry(1), _entry(2)])
        await ev.dispatcher.drained()
        await env.advance(10)
        await ev.archives.start_replay(
            ReplayName="again",
            EventSourceArn=archive,
            EventStartTime=datetime.fromtimestamp(START - 1, UTC),
            EventEndTime=datetime.fromtimestamp(START + 5, UTC),
            Destination={"Arn": BUS},
        )
        assert (await ev.archives.describe_replay(ReplayName="again"))[
            "State"
        ] == "STARTING"  # stopped before it ran

    async def resume(env: Env) -> None:
        got = env.target(TARGET)
        await env.events.archives.replay_finished("again")
        await env.eventually(lambda: len(got) == 2)
        assert sorted(e["detail"]["n"] for e in got) == [1, 2]
        assert all(e["replay-name"] == "again" for e in got)
        assert (await env.events.archives.describe_replay(ReplayName="again"))["State"] == "COMPLETED"

    run(begin, store=store, clock=clock)
    run(resume, store=store, clock=clock)
