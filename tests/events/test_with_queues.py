"""With the real queues service: rules deliver to SQS, and failed events land in an SQS dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import ACCOUNT, REGION, Env

queues = pytest.importorskip("cloudlet.queues")

FAILING = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:broken"


def test_dead_letter_queue_receives_event_with_error_attributes(run: Any) -> None:
    async def scenario(env: Env) -> None:
        from cloudlet.config import ServiceConfig

        sqs = queues.Queues(
            store=env.store,
            router=env.router,
            clock=env.clock,
            config=ServiceConfig(account=ACCOUNT, region=REGION),
        )
        await sqs.start()
        try:
            dlq_url = (await sqs.create_queue(QueueName="dlq"))["QueueUrl"]
            env.target(FAILING, fail=1000)
            await env.events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
            await env.events.put_targets(
                Rule="r",
                Targets=[
                    {
                        "Id": "fn",
                        "Arn": FAILING,
                        "RetryPolicy": {"MaximumRetryAttempts": 1},
                        "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"},
                    }
                ],
            )
            put = await env.events.put_events(
                Entries=[{"Source": "my.app", "DetailType": "t", "Detail": '{"a": 1}'}]
            )
            await env.settle()
            await env.advance(1)
            await env.eventually(lambda: env.events.dispatcher.pending == 0)
            received = await sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            messages = received.get("Messages", [])
            assert len(messages) == 1
            assert json.loads(messages[0]["Body"])["id"] == put["Entries"][0]["EventId"]
            attributes = {k: v["StringValue"] for k, v in messages[0]["MessageAttributes"].items()}
            assert attributes["RULE_ARN"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"
            assert attributes["TARGET_ARN"] == FAILING
            assert attributes["RETRY_ATTEMPTS"] == "1"
            assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        finally:
            await sqs.stop()

    run(scenario)


def test_fifo_queue_target_uses_sqs_parameters(run: Any) -> None:
    async def scenario(env: Env) -> None:
        from cloudlet.config import ServiceConfig

        sqs = queues.Queues(
            store=env.store,
            router=env.router,
            clock=env.clock,
            config=ServiceConfig(account=ACCOUNT, region=REGION),
        )
        await sqs.start()
        try:
            url = (await sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"}))[
                "QueueUrl"
            ]
            await env.events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
            await env.events.put_targets(
                Rule="r",
                Targets=[
                    {
                        "Id": "q",
                        "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders.fifo",
                        "SqsParameters": {"MessageGroupId": "g1"},
                    }
                ],
            )
            await env.events.put_events(
                Entries=[{"Source": "my.app", "DetailType": "t", "Detail": '{"a": 1}'}]
            )
            await env.eventually(lambda: env.events.dispatcher.pending == 0)
            received = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
            messages = received.get("Messages", [])
            assert len(messages) == 1
            assert messages[0]["Attributes"]["MessageGroupId"] == "g1"
            assert json.loads(messages[0]["Body"])["detail"] == {"a": 1}
        finally:
            await sqs.stop()

    run(scenario)
