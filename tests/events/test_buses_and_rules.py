"""Event buses, rules, targets and tags: CRUD with AWS's error codes and messages."""

from __future__ import annotations

from typing import Any

import pytest

from cloudlet.errors import CloudletError

from .conftest import ACCOUNT, REGION, Env

PATTERN = '{"source": ["my.app"]}'
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"


async def _error(coro: Any) -> CloudletError:
    with pytest.raises(CloudletError) as info:
        await coro
    return info.value


def test_default_bus_and_custom_bus_life_cycle(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        default = await ev.describe_event_bus()
        assert default["Name"] == "default" and default["Arn"] == f"{BUS_ARN}/default"
        created = await ev.create_event_bus(Name="orders", Description="order events")
        assert created == {"EventBusArn": f"{BUS_ARN}/orders", "Description": "order events"}
        assert (await ev.describe_event_bus(Name=f"{BUS_ARN}/orders"))["Name"] == "orders"
        names = [b["Name"] for b in (await ev.list_event_buses())["EventBuses"]]
        assert names == ["default", "orders"]
        assert [b["Name"] for b in (await ev.list_event_buses(NamePrefix="ord"))["EventBuses"]] == ["orders"]

        err = await _error(ev.create_event_bus(Name="orders"))
        assert (err.code, err.message) == (
            "ResourceAlreadyExistsException",
            "Event bus orders already exists.",
        )
        err = await _error(ev.create_event_bus(Name="default"))
        assert err.code == "ResourceAlreadyExistsException"
        err = await _error(ev.delete_event_bus(Name="default"))
        assert (err.code, err.message) == ("ValidationException", "Cannot delete event bus default.")

        await ev.delete_event_bus(Name="orders")
        await ev.delete_event_bus(Name="orders")  # deleting a missing bus is not an error
        err = await _error(ev.describe_event_bus(Name="orders"))
        assert (err.code, err.message) == ("ResourceNotFoundException", "Event bus orders does not exist.")

    run(scenario)


def test_rule_crud_on_default_and_custom_bus(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        assert await ev.put_rule(Name="r1", EventPattern=PATTERN) == {"RuleArn": f"{RULE_ARN}/r1"}
        await ev.create_event_bus(Name="orders")
        out = await ev.put_rule(Name="r1", EventPattern=PATTERN, EventBusName="orders", Description="d")
        assert out == {"RuleArn": f"{RULE_ARN}/orders/r1"}

        rule = await ev.describe_rule(Name="r1")
        assert rule["Arn"] == f"{RULE_ARN}/r1"
        assert rule["EventPattern"] == PATTERN
        assert rule["State"] == "ENABLED"
        assert rule["EventBusName"] == "default"
        custom = await ev.describe_rule(Name="r1", EventBusName="orders")
        assert custom["Description"] == "d" and custom["EventBusName"] == "orders"

        await ev.disable_rule(Name="r1")
        assert (await ev.describe_rule(Name="r1"))["State"] == "DISABLED"
        await ev.enable_rule(Name="r1")
        assert (await ev.describe_rule(Name="r1"))["State"] == "ENABLED"
        # put_rule on an existing rule updates it in place
        await ev.put_rule(Name="r1", EventPattern='{"source": ["other"]}', State="DISABLED")
        rule = await ev.describe_rule(Name="r1")
        assert rule["EventPattern"] == '{"source": ["other"]}' and rule["State"] == "DISABLED"

        await ev.delete_rule(Name="r1")
        err = await _error(ev.describe_rule(Name="r1"))
        assert (err.code, err.message) == (
            "ResourceNotFoundException",
            "Rule r1 does not exist on EventBus default.",
        )
        await ev.delete_rule(Name="r1")  # deleting a missing rule is not an error
        err = await _error(ev.enable_rule(Name="r1"))
        assert err.code == "ResourceNotFoundException"

    run(scenario)


def test_list_rules_prefix_and_pagination(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        for i in range(7):
            await ev.put_rule(Name=f"orders-{i}", EventPattern=PATTERN)
        await ev.put_rule(Name="billing", EventPattern=PATTERN)
        first = await ev.list_rules(NamePrefix="orders-", Limit=3)
        assert [r["Name"] for r in first["Rules"]] == ["orders-0", "orders-1", "orders-2"]
        second = await ev.list_rules(NamePrefix="orders-", Limit=3, NextToken=first["NextToken"])
        third = await ev.list_rules(NamePrefix="orders-", Limit=3, NextToken=second["NextToken"])
        assert [r["Name"] for r in third["Rules"]] == ["orders-6"]
        assert "NextToken" not in third
        everything = await ev.list_rules()
        assert len(everything["Rules"]) == 8 and "NextToken" not in everything
        err = await _error(ev.list_rules(EventBusName="nope"))
        assert err.code == "ResourceNotFoundException"

    run(scenario)


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"Name": "r"},
            "ValidationException",
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ),
        (
            {"Name": "bad name", "EventPattern": PATTERN},
            "ValidationException",
            "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
        ),
        (
            {"Name": "x" * 65, "EventPattern": PATTERN},
            "ValidationException",
            f"1 validation error detected: Value '{'x' * 65}' at 'name' failed to satisfy constraint: "
            "Member must have length less than or equal to 64",
        ),
        (
            {"Name": "r", "ScheduleExpression": "rate(1 minutes)"},
            "ValidationException",
            "Parameter ScheduleExpression is not valid.",
        ),
        (
            {"Name": "r", "ScheduleExpression": "cron(0 10 * * * *)"},
            "ValidationException",
            "Parameter ScheduleExpression is not valid.",
        ),
        (
            {"Name": "r", "ScheduleExpression": "rate(5 minutes)", "EventBusName": "orders"},
            "ValidationException",
            "ScheduleExpression is supported only on the default event bus.",
        ),
        ({"Name": "r", "EventPattern": PATTERN, "EventBusName": "nope"}, "ResourceNotFoundException", None),
        ({"Name": "r", "EventPattern": '{"source": "my.app"}'}, "InvalidEventPatternException", None),
        ({"Name": "r", "EventPattern": "not json"}, "InvalidEventPatternException", None),
        ({"Name": "r", "EventPattern": PATTERN, "State": "PAUSED"}, "ValidationException", None),
    ],
)
def test_put_rule_errors(run: Any, kwargs: dict[str, Any], code: str, message: str | None) -> None:
    async def scenario(env: Env) -> None:
        await env.events.create_event_bus(Name="orders")
        err = await _error(env.events.put_rule(**kwargs))
        assert err.code == code
        if message is not None:
            assert err.message == message
        if code == "InvalidEventPatternException":
            assert err.message.startswith("Event pattern is not valid.")

    run(scenario)


def test_targets_crud_and_limits(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        await ev.put_rule(Name="r", EventPattern=PATTERN)
        targets = [{"Id": f"t{i}", "Arn": f"{QUEUE}{i}"} for i in range(5)]
        assert await ev.put_targets(Rule="r", Targets=targets) == {"FailedEntryCount": 0, "FailedEntries": []}
        listed = await ev.list_targets_by_rule(Rule="r")
        assert [t["Id"] for t in listed["Targets"]] == ["t0", "t1", "t2", "t3", "t4"]
        # replacing an existing Id does not count against the limit
        await ev.put_targets(Rule="r", Targets=[{"Id": "t0", "Arn": f"{QUEUE}-new", "Input": '{"a": 1}'}])
        listed = await ev.list_targets_by_rule(Rule="r", Limit=2)
        assert listed["Targets"][0] == {"Id": "t0", "Arn": f"{QUEUE}-new", "Input": '{"a": 1}'}
        assert "NextToken" in listed
        err = await _error(ev.put_targets(Rule="r", Targets=[{"Id": "t5", "Arn": QUEUE}]))
        assert (err.code, err.message) == (
            "LimitExceededException",
            "The requested resource exceeds the maximum number allowed.",
        )
        err = await _error(ev.delete_rule(Name="r"))
        assert (err.code, err.message) == (
            "ValidationException",
            "Rule can't be deleted since it has targets.",
        )

        names = await ev.list_rule_names_by_target(TargetArn=f"{QUEUE}1")
        assert names == {"RuleNames": ["r"]}
        await ev.remove_targets(Rule="r", Ids=["t0", "t1", "t2", "t3", "t4"])
        assert (await ev.list_targets_by_rule(Rule="r"))["Targets"] == []
        assert (await ev.list_rule_names_by_target(TargetArn=f"{QUEUE}1"))["RuleNames"] == []
        await ev.delete_rule(Name="r")
        err = await _error(ev.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": QUEUE}]))
        assert err.code == "ResourceNotFoundException"

    run(scenario)


def test_put_targets_reports_invalid_entries_one_by_one(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        await ev.put_rule(Name="r", EventPattern=PATTERN)
        result = await ev.put_targets(
            Rule="r",
            Targets=[
                {"Id": "good", "Arn": QUEUE},
                {"Id": "both", "Arn": QUEUE, "Input": "{}", "InputPath": "$.detail"},
                {"Id": "badarn", "Arn": "not-an-arn"},
                {"Id": "badinput", "Arn": QUEUE, "Input": "{nope"},
                {"Id": "badretry", "Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 500}},
                {"Id": "badtemplate", "Arn": QUEUE, "InputTransformer": {"InputPathsMap": {"a": "$.x"}}},
            ],
        )
        assert result["FailedEntryCount"] == 5
        assert [f["TargetId"] for f in result["FailedEntries"]] == [
            "both",
            "badarn",
            "badinput",
            "badretry",
            "badtemplate",
        ]
        assert all(f["ErrorCode"] == "ValidationException" for f in result["FailedEntries"])
        assert [t["Id"] for t in (await ev.list_targets_by_rule(Rule="r"))["Targets"]] == ["good"]

    run(scenario)


def test_tags_on_rules_and_buses(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        arn = (await ev.put_rule(Name="r", EventPattern=PATTERN, Tags=[{"Key": "team", "Value": "a"}]))[
            "RuleArn"
        ]
        await ev.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
        tags = (await ev.list_tags_for_resource(ResourceARN=arn))["Tags"]
        assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "a")]
        await ev.untag_resource(ResourceARN=arn, TagKeys=["team"])
        assert (await ev.list_tags_for_resource(ResourceARN=arn))["Tags"] == [{"Key": "env", "Value": "dev"}]
        bus = (await ev.create_event_bus(Name="b", Tags=[{"Key": "k", "Value": "v"}]))["EventBusArn"]
        assert (await ev.list_tags_for_resource(ResourceARN=bus))["Tags"] == [{"Key": "k", "Value": "v"}]
        err = await _error(ev.list_tags_for_resource(ResourceARN=f"{RULE_ARN}/missing"))
        assert err.code == "ResourceNotFoundException"

    run(scenario)


def test_rules_survive_a_restart(run: Any) -> None:
    from cloudlet.store import MemoryStore

    store = MemoryStore()

    async def create(env: Env) -> None:
        await env.events.put_rule(Name="r", EventPattern=PATTERN, State="DISABLED")
        await env.events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": QUEUE}])

    async def check(env: Env) -> None:
        rule = await env.events.describe_rule(Name="r")
        assert rule["State"] == "DISABLED" and rule["EventPattern"] == PATTERN
        assert (await env.events.list_targets_by_rule(Rule="r"))["Targets"] == [{"Id": "t", "Arn": QUEUE}]

    run(create, store=store)
    run(check, store=store)
