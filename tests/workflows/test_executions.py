"""Executions through the service: start, idempotency, listing, history, stop, sync, redrive."""

from __future__ import annotations

import asyncio
import json

import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import CloudletError, TaskFailed
from tests.workflows.helpers import LAMBDA, PASS, create, finished, history_types, run_service, settle

WAIT_60 = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}


def test_start_describe_and_history():
    async def scenario(service, router):
        arn = await create(service, "m", PASS)
        started = await service.start_execution(stateMachineArn=arn, name="one", input='{"a": 1}')
        assert started["executionArn"] == "arn:aws:states:us-east-1:000000000000:execution:m:one"
        assert started["startDate"].tzinfo is not None
        out = await finished(service, started["executionArn"])
        assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"ok": True}
        assert out["input"] == '{"a": 1}' and out["stopDate"] >= out["startDate"]
        assert out["redriveStatus"] == "NOT_REDRIVABLE"
        assert await history_types(service, started["executionArn"]) == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
        meta = await service.describe_execution(
            executionArn=started["executionArn"], includedData="METADATA_ONLY"
        )
        assert "input" not in meta and meta["inputDetails"] == {"included": False}

    run_service(scenario)


def test_name_idempotency_as_aws():
    async def scenario(service, router):
        arn = await create(service, "m", WAIT_60)
        first = await service.start_execution(stateMachineArn=arn, name="n", input="{}")
        same = await service.start_execution(stateMachineArn=arn, name="n", input="{}")
        assert same == first  # same name and input while RUNNING: the same execution
        with pytest.raises(CloudletError) as err:
            await service.start_execution(stateMachineArn=arn, name="n", input='{"other": 1}')
        assert (err.value.code, err.value.message) == (
            "ExecutionAlreadyExists",
            f"Execution Already Exists: '{first['executionArn']}'",
        )
        await service.stop_execution(executionArn=first["executionArn"])
        with pytest.raises(CloudletError) as err:  # closed: the name stays taken
            await service.start_execution(stateMachineArn=arn, name="n", input="{}")
        assert err.value.code == "ExecutionAlreadyExists"
        for bad_input, code in (("{oops", "InvalidExecutionInput"), ("{}", "InvalidName")):
            with pytest.raises(CloudletError) as err:
                await service.start_execution(
                    stateMachineArn=arn, name="bad name" if code == "InvalidName" else None, input=bad_input
                )
            assert err.value.code == code

    run_service(scenario, clock=ManualClock())


def test_list_executions_filter_and_pages():
    async def scenario(service, router):
        clock = service.clock
        waiting = await create(service, "w", WAIT_60)
        arns = []
        for i in range(5):
            arns.append(
                (await service.start_execution(stateMachineArn=waiting, name=f"e{i}"))["executionArn"]
            )
            await clock.advance(1)
        await service.stop_execution(executionArn=arns[0], error="Why", cause="Because")
        listed = await service.list_executions(stateMachineArn=waiting)
        assert [e["name"] for e in listed["executions"]] == ["e4", "e3", "e2", "e1", "e0"]  # newest first
        running = await service.list_executions(stateMachineArn=waiting, statusFilter="RUNNING", maxResults=3)
        assert [e["name"] for e in running["executions"]] == ["e4", "e3", "e2"]
        more = await service.list_executions(
            stateMachineArn=waiting, statusFilter="RUNNING", maxResults=3, nextToken=running["nextToken"]
        )
        assert [e["name"] for e in more["executions"]] == ["e1"] and "nextToken" not in more
        aborted = await service.list_executions(stateMachineArn=waiting, statusFilter="ABORTED")
        assert [e["status"] for e in aborted["executions"]] == ["ABORTED"]
        described = await service.describe_execution(executionArn=arns[0])
        assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Why", "Because")
        history = await service.get_execution_history(executionArn=arns[0])
        assert history["events"][-1]["type"] == "ExecutionAborted"
        assert history["events"][-1]["executionAbortedEventDetails"] == {"error": "Why", "cause": "Because"}
        with pytest.raises(CloudletError) as err:
            await service.list_executions(stateMachineArn=waiting, statusFilter="DONE")
        assert err.value.code == "ValidationException"

    run_service(scenario, clock=ManualClock())


def test_history_pages_reverse_order_and_execution_data():
    async def scenario(service, router):
        chain = {
            "StartAt": "S0",
            "States": {
                f"S{i}": {"Type": "Pass", **({"Next": f"S{i + 1}"} if i < 4 else {"End": True})}
                for i in range(5)
            },
        }
        arn = await create(service, "chain", chain)
        ex = (await service.start_execution(stateMachineArn=arn, input='{"secret": 1}'))["executionArn"]
        await finished(service, ex)
        full = await service.get_execution_history(executionArn=ex)
        ids = [e["id"] for e in full["events"]]
        assert ids == list(range(1, 13))
        assert [e["previousEventId"] for e in full["events"]] == [0, *ids[:-1]]
        assert all(e["timestamp"].tzinfo is not None for e in full["events"])
        seen, token = [], None
        while True:
            kwargs = {"nextToken": token} if token else {}
            page = await service.get_execution_history(executionArn=ex, maxResults=5, **kwargs)
            seen += [e["id"] for e in page["events"]]
            token = page.get("nextToken")
            if token is None:
                break
        assert seen == ids
        backwards, token = [], None
        while True:
            kwargs = {"nextToken": token} if token else {}
            page = await service.get_execution_history(
                executionArn=ex, maxResults=5, reverseOrder=True, **kwargs
            )
            backwards += [e["id"] for e in page["events"]]
            token = page.get("nextToken")
            if token is None:
                break
        assert backwards == ids[::-1]
        bare = await service.get_execution_history(executionArn=ex, includeExecutionData=False)
        started = bare["events"][0]["executionStartedEventDetails"]
        assert "input" not in started
        with pytest.raises(CloudletError) as err:
            await service.get_execution_history(executionArn=ex, nextToken="%%%")
        assert err.value.code == "InvalidToken"

    run_service(scenario)


def test_start_sync_execution_express_only():
    async def scenario(service, router):
        express = await create(service, "fast", PASS, type="EXPRESS")
        out = await service.start_sync_execution(stateMachineArn=express, input="{}")
        assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"ok": True}
        assert out["executionArn"].startswith("arn:aws:states:us-east-1:000000000000:express:fast:")
        assert out["billingDetails"]["billedDurationInMilliseconds"] >= 100
        fail = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "why"}}}
        failing = await create(service, "failing", fail, type="EXPRESS")
        out = await service.start_sync_execution(stateMachineArn=failing)
        assert (out["status"], out["error"], out["cause"]) == ("FAILED", "Bad", "why")
        standard = await create(service, "std", PASS)
        with pytest.raises(CloudletError) as err:
            await service.start_sync_execution(stateMachineArn=standard)
        assert err.value.code == "StateMachineTypeNotSupported"
        with pytest.raises(CloudletError) as err:
            await service.list_executions(stateMachineArn=express)
        assert err.value.code == "StateMachineTypeNotSupported"
        # Express executions started asynchronously run in memory too.
        started = await service.start_execution(stateMachineArn=express)
        assert (await finished(service, started["executionArn"]))["status"] == "SUCCEEDED"

    run_service(scenario)


def test_execution_timeout_seconds():
    async def scenario(service, router):
        arn = await create(service, "slow", {**WAIT_60, "TimeoutSeconds": 10})
        ex = (await service.start_execution(stateMachineArn=arn))["executionArn"]
        await settle()
        await service.clock.advance(10)
        out = await finished(service, ex)
        assert (out["status"], out["error"]) == ("TIMED_OUT", "States.Timeout")
        assert (await history_types(service, ex))[-1] == "ExecutionTimedOut"

    run_service(scenario, clock=ManualClock())


def test_redrive_runs_only_what_failed():
    calls: list[str] = []
    broken = {"value": True}

    def first(payload):
        calls.append("first")
        return {"n": 1}

    def flaky(payload):
        calls.append("flaky")
        if broken["value"]:
            raise TaskFailed("Broken", "not yet")
        return {"n": 2}

    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Task", "Resource": LAMBDA + "first", "Next": "Flaky"},
            "Flaky": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True},
        },
    }

    async def scenario(service, router):
        arn = await create(service, "redrivable", definition)
        ex = (await service.start_execution(stateMachineArn=arn))["executionArn"]
        out = await finished(service, ex)
        assert (out["status"], out["error"], out["redriveStatus"]) == ("FAILED", "Broken", "REDRIVABLE")
        broken["value"] = False
        redriven = await service.redrive_execution(executionArn=ex)
        assert redriven["redriveDate"].tzinfo is not None
        out = await finished(service, ex)
        assert out["status"] == "SUCCEEDED" and out["redriveCount"] == 1
        assert calls == ["first", "flaky", "flaky"]  # First did not run again
        types = await history_types(service, ex)
        assert "ExecutionRedriven" in types and types[-1] == "ExecutionSucceeded"
        assert types.count("ExecutionFailed") == 1
        with pytest.raises(CloudletError) as err:
            await service.redrive_execution(executionArn=ex)
        assert err.value.code == "ExecutionNotRedrivable"
        listed = await service.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")
        assert len(listed["executions"]) == 1

    run_service(scenario, functions={"first": first, "flaky": flaky})


def test_router_delivery_starts_an_execution():
    async def scenario(service, router):
        arn = await create(service, "target", PASS)
        started = await router.deliver(arn, {"from": "rule"}, invocation_type="Event")
        out = await finished(service, started["executionArn"])
        assert out["input"] == '{"from":"rule"}' and out["status"] == "SUCCEEDED"

    run_service(scenario)


def test_describe_state_machine_for_execution_keeps_the_definition_it_started_with():
    async def scenario(service, router):
        arn = await create(service, "m", WAIT_60)
        ex = (await service.start_execution(stateMachineArn=arn))["executionArn"]
        await service.update_state_machine(stateMachineArn=arn, definition=json.dumps(PASS))
        out = await service.describe_state_machine_for_execution(executionArn=ex)
        assert json.loads(out["definition"]) == WAIT_60

    run_service(scenario, clock=ManualClock())


def test_service_restart_resumes_running_executions():
    from cloudlet.store import MemoryStore

    store = MemoryStore()
    clock = ManualClock()

    async def first(service, router):
        arn = await create(service, "m", WAIT_60)
        ex = (await service.start_execution(stateMachineArn=arn, name="resumed"))["executionArn"]
        await settle()
        return ex

    async def second(service, router):
        await settle()
        await clock.advance(60)
        return await finished(service, ex)

    ex = run_service(first, store=store, clock=clock)
    out = run_service(second, store=store, clock=clock)
    assert out["status"] == "SUCCEEDED"
    assert asyncio.run(store.read_log("states:history", ex))[-1][1]["type"] == "ExecutionSucceeded"


def test_restart_in_the_middle_of_a_concurrent_map_runs_each_iteration_once():
    from cloudlet.store import MemoryStore

    store, clock, seen = MemoryStore(), ManualClock(), []

    def work(payload):
        seen.append(payload)
        return payload

    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {
                        "Work": {"Type": "Task", "Resource": LAMBDA + "work", "Next": "Rest"},
                        "Rest": {"Type": "Wait", "Seconds": 10, "End": True},
                    },
                },
                "End": True,
            }
        },
    }

    async def first(service, router):
        arn = await create(service, "map", definition)
        ex = (await service.start_execution(stateMachineArn=arn, name="m", input="[1, 2, 3, 4]"))[
            "executionArn"
        ]
        await settle()
        assert sorted(seen) == [1, 2]  # two iterations run, both now in their Wait
        return ex

    async def second(service, router):
        await settle()
        for _ in range(3):
            await clock.advance(10)
            await settle()
        return await finished(service, ex)

    ex = run_service(first, store=store, clock=clock, functions={"work": work})
    out = run_service(second, store=store, clock=clock, functions={"work": work})
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == [1, 2, 3, 4]
    assert sorted(seen) == [1, 2, 3, 4]  # no iteration's Task ran twice
    events = [doc for _, doc in asyncio.run(store.read_log("states:history", ex))]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types.count("MapIterationStarted") == 4 and types.count("MapIterationSucceeded") == 4
    assert types.count("TaskStateEntered") == 4 and types.count("ExecutionSucceeded") == 1


def test_a_redriven_execution_resumes_after_a_restart_without_replaying_the_old_failure():
    from cloudlet.store import MemoryStore

    store, clock, calls = MemoryStore(), ManualClock(), []
    broken = {"value": True}

    def flaky(payload):
        calls.append("flaky")
        if broken["value"]:
            raise TaskFailed("Broken", "not yet")
        return {"ok": True}

    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {"Type": "Task", "Resource": LAMBDA + "flaky", "Next": "Rest"},
            "Rest": {"Type": "Wait", "Seconds": 10, "End": True},
        },
    }

    async def first(service, router):
        arn = await create(service, "r", definition)
        ex = (await service.start_execution(stateMachineArn=arn, name="r1"))["executionArn"]
        assert (await finished(service, ex))["status"] == "FAILED"
        broken["value"] = False
        await service.redrive_execution(executionArn=ex)
        return ex  # the process stops before the redriven run has done anything

    async def second(service, router):
        await settle()
        assert calls == ["flaky", "flaky"]  # the old failure was not replayed: Flaky ran again
        await clock.advance(10)
        return await finished(service, ex)

    ex = run_service(first, store=store, clock=clock, functions={"flaky": flaky})
    out = run_service(second, store=store, clock=clock, functions={"flaky": flaky})
    assert (out["status"], out["redriveCount"]) == ("SUCCEEDED", 1)
    assert calls == ["flaky", "flaky"]
    types = [doc["type"] for _, doc in asyncio.run(store.read_log("states:history", ex))]
    assert types.count("ExecutionRedriven") == 1 and types[-1] == "ExecutionSucceeded"
