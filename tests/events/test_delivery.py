"""Delivery: retries with backoff on the injected clock, dead-letter queues, resuming after restart."""

from __future__ import annotations

import json
from typing import Any

from cloudlet.store import MemoryStore

from .conftest import ACCOUNT, REGION, Env

TARGET = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:flaky"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
ENTRY = {"Source": "my.app", "DetailType": "t", "Detail": '{"n": 1}'}


class FakeSqs:
    """Just enough of the SQS API for dead-lettering: GetQueueUrl and SendMessage."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def get_queue_url(
        self, *, QueueName: str, QueueOwnerAWSAccountId: str | None = None
    ) -> dict[str, Any]:
        return {"QueueUrl": f"http://localhost/{QueueOwnerAWSAccountId}/{QueueName}"}

    async def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": str(len(self.sent))}


async def _rule(env: Env, target: dict[str, Any]) -> str:
    await env.events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
    await env.events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": TARGET, **target}])
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"


def test_failed_deliveries_are_retried_with_exponential_backoff(run: Any) -> None:
    async def scenario(env: Env) -> None:
        got = env.target(TARGET, fail=3)
        await _rule(env, {})
        await env.events.put_events(Entries=[ENTRY])
        await env.settle()
        assert got == [] and env.events.dispatcher.pending == 1
        await env.advance(0.5)  # first retry is due after 1 s
        assert got == []
        await env.advance(0.5)
        await env.advance(2)  # then 2 s
        assert got == []
        await env.advance(4)  # then 4 s: the fourth call succeeds
        await env.eventually(lambda: len(got) == 1)
        await env.eventually(lambda: env.events.dispatcher.pending == 0)
        assert await env.store.scan("events.outbox") == []

    run(scenario)


def test_exhausted_retries_go_to_the_dead_letter_queue_with_aws_attributes(run: Any) -> None:
    async def scenario(env: Env) -> None:
        sqs = FakeSqs()
        env.router.register_api("sqs", sqs)
        env.target(TARGET, fail=1000)
        rule_arn = await _rule(
            env, {"RetryPolicy": {"MaximumRetryAttempts": 2}, "DeadLetterConfig": {"Arn": DLQ}}
        )
        result = await env.events.put_events(Entries=[ENTRY])
        await env.settle()
        await env.advance(1)
        await env.advance(2)
        await env.eventually(lambda: len(sqs.sent) == 1)
        message = sqs.sent[0]
        assert message["QueueUrl"] == f"http://localhost/{ACCOUNT}/dlq"
        body = json.loads(message["MessageBody"])
        assert body["id"] == result["Entries"][0]["EventId"] and body["detail"] == {"n": 1}
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes == {
            "RULE_ARN": rule_arn,
            "TARGET_ARN": TARGET,
            "ERROR_CODE": "SDK_CLIENT_ERROR",
            "ERROR_MESSAGE": f"target {TARGET} is failing",
            "RETRY_ATTEMPTS": "2",
            "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        }
        await env.eventually(lambda: env.events.dispatcher.pending == 0)
        await env.advance(1000)
        assert len(sqs.sent) == 1

    run(scenario)


def test_maximum_event_age_ends_retries(run: Any) -> None:
    async def scenario(env: Env) -> None:
        sqs = FakeSqs()
        env.router.register_api("sqs", sqs)
        env.target(TARGET, fail=1000)
        await _rule(env, {"RetryPolicy": {"MaximumEventAgeInSeconds": 60}, "DeadLetterConfig": {"Arn": DLQ}})
        await env.events.put_events(Entries=[ENTRY])
        await env.settle()
        for step in (1, 2, 4, 8, 16):  # attempts at 1, 3, 7, 15, 31 s; the next (63 s) is too old
            assert sqs.sent == []
            await env.advance(step)
        await env.eventually(lambda: len(sqs.sent) == 1)
        attributes = {k: v["StringValue"] for k, v in sqs.sent[0]["MessageAttributes"].items()}
        assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
        assert attributes["RETRY_ATTEMPTS"] == "5"

    run(scenario)


def test_a_missing_target_is_not_retried(run: Any) -> None:
    async def scenario(env: Env) -> None:
        sqs = FakeSqs()
        env.router.register_api("sqs", sqs)
        await env.events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
        await env.events.put_targets(
            Rule="r",
            Targets=[
                {
                    "Id": "t",
                    "Arn": f"arn:aws:nosuch:{REGION}:{ACCOUNT}:thing/x",
                    "DeadLetterConfig": {"Arn": DLQ},
                }
            ],
        )
        await env.events.put_events(Entries=[ENTRY])
        await env.eventually(lambda: len(sqs.sent) == 1)
        attributes = {k: v["StringValue"] for k, v in sqs.sent[0]["MessageAttributes"].items()}
        assert attributes["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
        assert attributes["RETRY_ATTEMPTS"] == "0"
        assert "EXHAUSTED_RETRY_CONDITION" not in attributes

    run(scenario)


def test_dead_letter_arn_without_an_sqs_api_gets_the_event_through_the_router(run: Any) -> None:
    async def scenario(env: Env) -> None:
        dead = env.target(DLQ)
        env.target(TARGET, fail=1000)
        await _rule(env, {"RetryPolicy": {"MaximumRetryAttempts": 0}, "DeadLetterConfig": {"Arn": DLQ}})
        await env.events.put_events(Entries=[ENTRY])
        await env.eventually(lambda: len(dead) == 1)
        assert dead[0]["detail"] == {"n": 1}

    run(scenario)


def test_pending_deliveries_resume_after_a_restart(run: Any) -> None:
    store = MemoryStore()

    async def accept(env: Env) -> None:
        env.target(TARGET, fail=1000)
        await _rule(env, {})
        await env.events.put_events(Entries=[ENTRY, ENTRY, ENTRY])
        await env.settle()
        assert len(await env.store.scan("events.outbox")) == 3

    async def resume(env: Env) -> None:
        got = env.target(TARGET)
        await env.advance(300)
        await env.eventually(lambda: len(got) == 3)
        await env.eventually(lambda: env.events.dispatcher.pending == 0)
        assert await env.store.scan("events.outbox") == []

    run(accept, store=store)
    run(resume, store=store)


class FakeKinesis:
    """Records PutRecord calls."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def put_record(self, **kwargs: Any) -> dict[str, Any]:
        self.records.append(kwargs)
        return {"ShardId": "shardId-000000000000", "SequenceNumber": str(len(self.records))}


def test_kinesis_targets_are_partitioned_by_partition_key_path_or_event_id(run: Any) -> None:
    async def scenario(env: Env) -> None:
        kinesis = FakeKinesis()
        env.router.register_api("kinesis", kinesis)
        stream = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"
        await env.events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
        await env.events.put_targets(
            Rule="r",
            Targets=[
                {"Id": "keyed", "Arn": stream, "KinesisParameters": {"PartitionKeyPath": "$.detail.n"}},
                {"Id": "plain", "Arn": stream, "InputPath": "$.detail"},
            ],
        )
        result = await env.events.put_events(Entries=[ENTRY])
        await env.eventually(lambda: len(kinesis.records) == 2)
        by_key = {r["PartitionKey"]: r for r in kinesis.records}
        assert set(by_key) == {"1", result["Entries"][0]["EventId"]}
        assert all(r["StreamName"] == "clicks" for r in kinesis.records)
        assert json.loads(by_key["1"]["Data"])["detail"] == {"n": 1}
        assert json.loads(by_key[result["Entries"][0]["EventId"]]["Data"]) == {"n": 1}

    run(scenario)
