"""Function logs: Lambda's line formats, CloudWatch Logs-shaped reads, filters and following."""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import CloudletError
from cloudlet.functions.logs import FilterPattern, FunctionLogs, output_lines, report_line, tail
from cloudlet.store import MemoryStore
from tests.functions.conftest import create

GROUP = "/aws/lambda/f"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"duration_ms": 1.234, "memory_mb": 128, "max_memory_mb": 40},
            "REPORT RequestId: r\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
            "Max Memory Used: 40 MB\t\n",
        ),
        (
            {"duration_ms": 10.0, "memory_mb": 256, "max_memory_mb": 50, "init_ms": 120.5},
            "REPORT RequestId: r\tDuration: 10.00 ms\tBilled Duration: 131 ms\tMemory Size: 256 MB\t"
            "Max Memory Used: 50 MB\tInit Duration: 120.50 ms\t\n",
        ),
        (
            {"duration_ms": 0.2, "memory_mb": 128, "max_memory_mb": 30, "restore_ms": 3.21},
            "REPORT RequestId: r\tDuration: 0.20 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"
            "Max Memory Used: 30 MB\tRestore Duration: 3.21 ms\tBilled Restore Duration: 4 ms\t\n",
        ),
        (
            {"duration_ms": 3000.4, "memory_mb": 128, "max_memory_mb": 30, "status": "timeout"},
            "REPORT RequestId: r\tDuration: 3000.40 ms\tBilled Duration: 3001 ms\tMemory Size: 128 MB\t"
            "Max Memory Used: 30 MB\tStatus: timeout\t\n",
        ),
    ],
)
def test_report_line(kwargs, expected):
    assert report_line("r", **kwargs) == expected


@pytest.mark.parametrize(
    ("pattern", "message", "matches"),
    [
        ("", "anything", True),
        ("ERROR", "[ERROR] boom", True),
        ("ERROR", "all fine", False),
        ("ERROR boom", "[ERROR] boom", True),
        ("ERROR boom", "[ERROR] bang", False),
        ('"START RequestId"', "START RequestId: 1", True),
        ('"START RequestId"', "RequestId START", False),
        ("?ERROR ?WARN", "WARN: x", True),
        ("?ERROR ?WARN", "INFO: x", False),
        ("ERROR -boom", "ERROR boom", False),
        ("ERROR -boom", "ERROR bang", True),
    ],
)
def test_filter_pattern(pattern, message, matches):
    assert FilterPattern(pattern).matches(message) is matches


def test_json_filter_patterns_are_reported_unimplemented():
    with pytest.raises(CloudletError) as caught:
        FilterPattern('{ $.level = "ERROR" }')
    assert caught.value.code == "InvalidParameterException"


def test_tail_is_last_4kb_base64():
    import base64

    messages = [f"line {i}\n" for i in range(2000)]
    raw = base64.b64decode(tail(messages))
    assert len(raw) == 4096 and raw.endswith(b"line 1999\n")
    assert output_lines("a\nb") == ["a\n", "b\n"]


def test_log_reads_and_tokens():
    async def body():
        clock = ManualClock(start=1_700_000_000.0)
        logs = FunctionLogs(MemoryStore(), clock, region="us-east-1", account="000000000000")
        logs.append(GROUP, "s1", [f"m{i}\n" for i in range(5)], 1_700_000_000_000)
        logs.append(GROUP, "s2", ["ERROR x\n"], 1_700_000_001_000)
        page = await logs.get_log_events(logGroupName=GROUP, logStreamName="s1", limit=2)
        assert [e["message"] for e in page["events"]] == ["m3\n", "m4\n"]  # newest first page
        back = await logs.get_log_events(
            logGroupName=GROUP, logStreamName="s1", nextToken=page["nextBackwardToken"]
        )
        assert [e["message"] for e in back["events"]] == ["m0\n", "m1\n", "m2\n"]
        head = await logs.get_log_events(logGroupName=GROUP, logStreamName="s1", limit=2, startFromHead=True)
        assert [e["message"] for e in head["events"]] == ["m0\n", "m1\n"]
        more = await logs.get_log_events(
            logGroupName=GROUP, logStreamName="s1", nextToken=head["nextForwardToken"]
        )
        assert [e["message"] for e in more["events"]] == ["m2\n", "m3\n", "m4\n"]
        end = await logs.get_log_events(
            logGroupName=GROUP, logStreamName="s1", nextToken=more["nextForwardToken"]
        )
        assert end["events"] == [] and end["nextForwardToken"] == more["nextForwardToken"]
        found = await logs.filter_log_events(logGroupName=GROUP, filterPattern="ERROR")
        assert [(e["logStreamName"], e["message"]) for e in found["events"]] == [("s2", "ERROR x\n")]
        paged = await logs.filter_log_events(logGroupName=GROUP, limit=4)
        assert len(paged["events"]) == 4 and paged["nextToken"]
        rest = await logs.filter_log_events(logGroupName=GROUP, nextToken=paged["nextToken"])
        assert [e["message"] for e in rest["events"]] == ["m4\n", "ERROR x\n"]
        streams = await logs.describe_log_streams(
            logGroupName=GROUP, orderBy="LastEventTime", descending=True
        )
        assert [s["logStreamName"] for s in streams["logStreams"]] == ["s2", "s1"]
        assert streams["logStreams"][1]["firstEventTimestamp"] == 1_700_000_000_000
        groups = await logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")
        assert [g["logGroupName"] for g in groups["logGroups"]] == [GROUP]
        with pytest.raises(CloudletError) as caught:
            await logs.get_log_events(logGroupName="/aws/lambda/none", logStreamName="s")
        assert caught.value.code == "ResourceNotFoundException"
        # a restarted service finds the streams again in the store
        again = FunctionLogs(logs.store, clock, region="us-east-1", account="000000000000")
        await again.start()
        assert len((await again.filter_log_events(logGroupName=GROUP))["events"]) == 6
        again.append(GROUP, "s1", ["m5\n"])
        assert (await again.get_log_events(logGroupName=GROUP, logStreamName="s1", limit=1))["events"][0][
            "message"
        ] == "m5\n"
        await logs.delete_log_group(GROUP)

    asyncio.run(body())


@pytest.mark.integration
def test_invocation_logs_and_follow(run_service):
    async def body(f):
        await create(f, "noisy", "app.noisy")
        follower = f.logs.follow("/aws/lambda/noisy")
        first = asyncio.ensure_future(follower.__anext__())
        await asyncio.sleep(0)
        await f.invoke(FunctionName="noisy")
        await f.invoke(FunctionName="noisy")
        followed = [(await first)["message"]]
        while not followed[-1].startswith("REPORT"):
            followed.append((await asyncio.wait_for(follower.__anext__(), 5))["message"])
        await follower.aclose()
        assert followed[0].startswith("INIT_START")
        streams = (await f.logs.describe_log_streams(logGroupName="/aws/lambda/noisy"))["logStreams"]
        assert len(streams) == 1 and "[$LATEST]" in streams[0]["logStreamName"]
        events = await f.logs.get_log_events(
            logGroupName="/aws/lambda/noisy", logStreamName=streams[0]["logStreamName"], startFromHead=True
        )
        messages = [e["message"] for e in events["events"]]
        starts = [m for m in messages if m.startswith("START RequestId: ")]
        assert len(starts) == 2 and starts[0].endswith(" Version: $LATEST\n")
        assert messages.count("hello from the handler\n") == 2 and messages.count("second line\n") == 2
        assert sum(m.startswith("END RequestId: ") for m in messages) == 2
        reports = [m for m in messages if m.startswith("REPORT RequestId: ")]
        assert "Init Duration" in reports[0] and "Init Duration" not in reports[1]
        # the handler's output sits between its START and END
        start = messages.index(starts[1])
        assert messages[start + 1 : start + 3] == ["hello from the handler\n", "second line\n"]

    run_service(body)
