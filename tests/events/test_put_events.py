"""PutEvents: AWS's per-entry validation, the envelope, and delivery to matching rules' targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cloudlet.errors import CloudletError

from .conftest import ACCOUNT, REGION, Env

TARGET = f"arn:aws:sqs:{REGION}:{ACCOUNT}:target"
GOOD = {"Source": "my.app", "DetailType": "order placed", "Detail": '{"id": 7, "total": 12.5}'}


@pytest.mark.parametrize(
    ("entry", "code", "message"),
    [
        (
            {"DetailType": "t", "Detail": "{}"},
            "InvalidArgument",
            "Parameter Source is not valid. Reason: Source is a required argument.",
        ),
        (
            {"Source": "s", "Detail": "{}"},
            "InvalidArgument",
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
        ),
        (
            {"Source": "s", "DetailType": "t"},
            "InvalidArgument",
            "Parameter Detail is not valid. Reason: Detail is a required argument.",
        ),
        (
            {"Source": "s", "DetailType": "t", "Detail": "{not json"},
            "MalformedDetail",
            "Detail is malformed.",
        ),
        ({"Source": "s", "DetailType": "t", "Detail": "[1, 2]"}, "MalformedDetail", "Detail is malformed."),
        ({"Source": "s", "DetailType": "t", "Detail": '"text"'}, "MalformedDetail", "Detail is malformed."),
        (
            {"Source": "aws.ec2", "DetailType": "t", "Detail": "{}"},
            "NotAuthorizedForSourceException",
            "Not authorized for the source.",
        ),
    ],
)
def test_invalid_entries_fail_one_by_one(run: Any, entry: dict[str, Any], code: str, message: str) -> None:
    async def scenario(env: Env) -> None:
        result = await env.events.put_events(Entries=[GOOD, entry, GOOD])
        assert result["FailedEntryCount"] == 1
        first, bad, last = result["Entries"]
        assert bad == {"ErrorCode": code, "ErrorMessage": message}
        assert set(first) == {"EventId"} and set(last) == {"EventId"}
        assert first["EventId"] != last["EventId"]

    run(scenario)


def test_an_entry_for_a_missing_bus_is_accepted_and_dropped_as_aws_does(run: Any) -> None:
    async def scenario(env: Env) -> None:
        got = env.target(TARGET)
        await env.events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
        await env.events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": TARGET}])
        result = await env.events.put_events(Entries=[{**GOOD, "EventBusName": "missing"}])
        assert result["FailedEntryCount"] == 0 and set(result["Entries"][0]) == {"EventId"}
        await env.settle()
        assert got == [] and await env.store.scan("events.outbox") == []

    run(scenario)


def test_request_limits(run: Any) -> None:
    async def scenario(env: Env) -> None:
        with pytest.raises(CloudletError) as info:
            await env.events.put_events(Entries=[GOOD] * 11)
        assert info.value.code == "ValidationException"
        assert "Member must have length less than or equal to 10" in info.value.message
        big = {**GOOD, "Detail": json.dumps({"x": "a" * (256 * 1024)})}
        with pytest.raises(CloudletError) as info:
            await env.events.put_events(Entries=[big])
        assert info.value.code == "ValidationException"
        # just under the limit is accepted
        fits = {**GOOD, "Detail": json.dumps({"x": "a" * (255 * 1024)})}
        assert (await env.events.put_events(Entries=[fits]))["FailedEntryCount"] == 0

    run(scenario)


def test_envelope_and_delivery_to_matching_targets(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        got = env.target(TARGET)
        other = env.target(TARGET + "-other")
        await ev.put_rule(
            Name="orders",
            EventPattern='{"source": ["my.app"], "detail": {"total": [{"numeric": [">", 10]}]}}',
        )
        await ev.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": TARGET}])
        await ev.put_rule(Name="nothing", EventPattern='{"source": ["someone.else"]}')
        await ev.put_targets(Rule="nothing", Targets=[{"Id": "q", "Arn": TARGET + "-other"}])

        when = datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
        result = await ev.put_events(
            Entries=[
                {**GOOD, "Time": when, "Resources": ["arn:aws:s3:::bucket"], "TraceHeader": "Root=1-abc"},
                {**GOOD, "Detail": '{"total": 3}'},
            ]
        )
        await env.eventually(lambda: len(got) == 1)
        await env.settle()
        assert other == [] and len(got) == 1
        event = got[0]
        assert event == {
            "version": "0",
            "id": result["Entries"][0]["EventId"],
            "detail-type": "order placed",
            "source": "my.app",
            "account": ACCOUNT,
            "time": "2024-05-01T12:30:15Z",
            "region": REGION,
            "resources": ["arn:aws:s3:::bucket"],
            "detail": {"id": 7, "total": 12.5},
        }
        assert list(event) == [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        ]

    run(scenario)


def test_disabled_rules_and_other_buses_do_not_deliver(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        got = env.target(TARGET)
        await ev.create_event_bus(Name="orders")
        await ev.put_rule(Name="r", EventPattern='{"source": ["my.app"]}', EventBusName="orders")
        await ev.put_targets(Rule="r", EventBusName="orders", Targets=[{"Id": "q", "Arn": TARGET}])

        await ev.put_events(Entries=[GOOD])  # default bus: no rule
        await ev.put_events(
            Entries=[{**GOOD, "EventBusName": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"}]
        )
        await env.eventually(lambda: len(got) == 1)
        await ev.disable_rule(Name="r", EventBusName="orders")
        await ev.put_events(Entries=[{**GOOD, "EventBusName": "orders"}])
        await env.settle()
        assert len(got) == 1
        await ev.enable_rule(Name="r", EventBusName="orders")
        await ev.put_events(Entries=[{**GOOD, "EventBusName": "orders"}])
        await env.eventually(lambda: len(got) == 2)

    run(scenario)


def test_input_transformer_end_to_end(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        got = env.target(TARGET)
        await ev.put_rule(Name="orders", EventPattern='{"source": ["my.app"]}')
        await ev.put_targets(
            Rule="orders",
            Targets=[
                {
                    "Id": "q",
                    "Arn": TARGET,
                    "InputTransformer": {
                        "InputPathsMap": {"id": "$.detail.id", "src": "$.source"},
                        "InputTemplate": '{"order": <id>, "text": "order <id> from <src>", '
                        '"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>"}',
                    },
                }
            ],
        )
        await ev.put_events(Entries=[GOOD])
        await env.eventually(lambda: len(got) == 1)
        assert got[0] == {
            "order": 7,
            "text": "order 7 from my.app",
            "rule": "orders",
            "arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders",
        }

    run(scenario)


def test_a_bus_can_target_another_bus(run: Any) -> None:
    async def scenario(env: Env) -> None:
        ev = env.events
        got = env.target(TARGET)
        await ev.create_event_bus(Name="downstream")
        await ev.put_rule(Name="fwd", EventPattern='{"source": ["my.app"]}')
        await ev.put_targets(
            Rule="fwd",
            Targets=[{"Id": "bus", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/downstream"}],
        )
        await ev.put_rule(Name="sink", EventPattern='{"source": ["my.app"]}', EventBusName="downstream")
        await ev.put_targets(Rule="sink", EventBusName="downstream", Targets=[{"Id": "q", "Arn": TARGET}])
        result = await ev.put_events(Entries=[GOOD])
        await env.eventually(lambda: len(got) == 1)
        assert got[0]["id"] == result["Entries"][0]["EventId"]
        assert got[0]["detail"] == {"id": 7, "total": 12.5}

        # other services put events onto a bus by ARN through the router
        await env.router.deliver(
            f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/downstream",
            {"Source": "my.app", "DetailType": "from a pipe", "Detail": "{}"},
            invocation_type="Event",
        )
        await env.eventually(lambda: len(got) == 2)
        assert got[1]["detail-type"] == "from a pipe"

    run(scenario)


def test_test_event_pattern_delegates_to_the_engine(run: Any) -> None:
    async def scenario(env: Env) -> None:
        event = json.dumps(
            {
                "id": "1",
                "account": ACCOUNT,
                "source": "my.app",
                "time": "2024-01-01T00:00:00Z",
                "region": REGION,
                "detail-type": "t",
                "detail": {"n": 5},
            }
        )
        ev = env.events
        assert await ev.test_event_pattern(
            EventPattern='{"detail": {"n": [{"numeric": [">", 1]}]}}', Event=event
        ) == {"Result": True}
        assert await ev.test_event_pattern(EventPattern='{"source": ["x"]}', Event=event) == {"Result": False}
        with pytest.raises(CloudletError) as info:
            await ev.test_event_pattern(EventPattern='{"source": "x"}', Event=event)
        assert info.value.code == "InvalidEventPatternException"
        with pytest.raises(CloudletError) as info:
            await ev.test_event_pattern(EventPattern='{"source": ["x"]}', Event='{"testEvent": "value"}')
        assert (info.value.code, info.value.message) == (
            "ValidationException",
            "Parameter Event is not valid.",
        )

    run(scenario)
