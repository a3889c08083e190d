"""A SAM application run by the runtime: queue -> function with partial failures -> DLQ, topic -> queue."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path

import pytest

from cloudlet.runtime import Runtime

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Dead:
    Type: AWS::SQS::Queue
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dead.Arn
        maxReceiveCount: 2
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      Subscription:
        - Protocol: sqs
          Endpoint: !GetAtt Work.Arn
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handler.handle
      Runtime: python3.11
      CodeUri: src/
      Timeout: 5
      Events:
        FromQueue:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
Outputs:
  WorkUrl:
    Value: !Ref Work
  DeadUrl:
    Value: !Ref Dead
  TopicArn:
    Value: !Ref Alerts
"""

HANDLER = textwrap.dedent(
    """
    import json

    def handle(event, context):
        failures = []
        for record in event["Records"]:
            body = record["body"]
            if body.startswith("{"):
                body = json.loads(body)["Message"]  # an SNS envelope
            if body == "bad":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}
    """
)


@pytest.mark.integration
async def test_sam_queue_function_dlq_and_topic(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "handler.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    runtime = Runtime(tmp_path, services=("queues", "topics", "functions", "mappings"))
    await runtime.start()
    try:
        await runtime.deploy()
        sqs = runtime.services["queues"]
        sns = runtime.services["topics"]
        work = (await sqs.get_queue_url(QueueName=_name(sqs, "Work")))["QueueUrl"]
        dead = (await sqs.get_queue_url(QueueName=_name(sqs, "Dead")))["QueueUrl"]
        topic = (await sns.list_topics())["Topics"][0]["TopicArn"]
        await sqs.send_message(QueueUrl=work, MessageBody="good")
        await sqs.send_message(QueueUrl=work, MessageBody="bad")
        await sns.publish(TopicArn=topic, Message="bad")
        await sns.publish(TopicArn=topic, Message="fine")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = [_count(sqs, work), _count(sqs, dead)]
            if counts == [0, 2]:
                break
            await asyncio.sleep(0.1)
        assert [_count(sqs, work), _count(sqs, dead)] == [0, 2]  # good ones deleted, bad ones dead-lettered
    finally:
        await runtime.stop()


def _name(sqs, logical: str) -> str:
    names = [q.name for q in sqs.queues() if logical in q.name]
    assert len(names) == 1, names
    return names[0]


def _count(sqs, url: str) -> int:
    return len(sqs._queue(url).messages)
