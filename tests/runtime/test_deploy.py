"""Deploy by difference: a Runtime on a temporary folder creates, updates in place and deletes.

Each test writes a template into ``tmp_path`` and deploys it with a real ``Runtime`` (every
service, SQLite in ``tmp_path/.cloudlet``); effects are checked through the same AWS operations
a user calls (``router.call``), and restarts use a new Runtime on the same folder.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from cloudlet.errors import CloudletError, InvalidTemplate
from cloudlet.runtime import DeployError, Runtime

ACCOUNT_REGION = "us-east-1:000000000000"

BASE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
  Alerts:
    Type: AWS::SNS::Topic
  AlertsToJobs:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt Jobs.Arn
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: shop
  OnOrder:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [shop]}
      Targets:
        - Id: jobs
          Arn: !GetAtt Jobs.Arn
  Clicks:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 2
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Timeout: 5
      Events:
        FromJobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            BatchSize: 5
            Enabled: false
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Hello
        States:
          Hello: {Type: Pass, Result: hello, End: true}
"""


def write_app(app_dir: Path, template: str) -> None:
    (app_dir / "src").mkdir(parents=True, exist_ok=True)
    (app_dir / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (app_dir / "template.yaml").write_text(textwrap.dedent(template))


@asynccontextmanager
async def runtime(app_dir: Path) -> AsyncIterator[Runtime]:
    started = Runtime(app_dir)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def call(rt: Runtime, service: str, operation: str, **params: Any) -> Any:
    return await rt.router.call(service, operation, params)


async def queue_url(rt: Runtime, name: str) -> str:
    return str((await call(rt, "sqs", "GetQueueUrl", QueueName=name))["QueueUrl"])


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "shop"
    write_app(app, BASE)
    return app


async def test_first_deploy_creates_every_resource(app_dir: Path) -> None:
    async with runtime(app_dir) as rt:
        outcome = await rt.deploy()
        assert set(outcome.result.created) == {
            "Jobs",
            "Alerts",
            "AlertsToJobs",
            "Bus",
            "OnOrder",
            "Clicks",
            "Worker",
            "WorkerFromJobs",
            "Flow",
        }
        assert outcome.result.updated == outcome.result.deleted == outcome.result.unchanged == []
        assert (app_dir / ".cloudlet" / "state.db").is_file()

        assert (await queue_url(rt, "Jobs")).endswith("/000000000000/Jobs")
        topics = (await call(rt, "sns", "ListTopics"))["Topics"]
        assert [t["TopicArn"] for t in topics] == [f"arn:aws:sns:{ACCOUNT_REGION}:Alerts"]
        subs = await call(rt, "sns", "ListSubscriptionsByTopic", TopicArn=topics[0]["TopicArn"])
        assert [s["Endpoint"] for s in subs["Subscriptions"]] == [f"arn:aws:sqs:{ACCOUNT_REGION}:Jobs"]
        rules = await call(rt, "events", "ListRules", EventBusName="shop")
        assert [r["Name"] for r in rules["Rules"]] == ["OnOrder"]
        stream = await call(rt, "kinesis", "DescribeStreamSummary", StreamName="Clicks")
        assert stream["StreamDescriptionSummary"]["OpenShardCount"] == 2
        worker = await call(rt, "lambda", "GetFunctionConfiguration", FunctionName="Worker")
        assert (worker["Timeout"], worker["Handler"]) == (5, "app.handler")
        mappings = await call(rt, "lambda", "ListEventSourceMappings", FunctionName="Worker")
        assert [m["BatchSize"] for m in mappings["EventSourceMappings"]] == [5]
        machine = await call(
            rt,
            "states",
            "DescribeStateMachine",
            stateMachineArn=f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:Flow",
        )
        assert json.loads(machine["definition"])["StartAt"] == "Hello"


async def test_redeploy_of_the_same_template_changes_nothing(app_dir: Path) -> None:
    async with runtime(app_dir) as rt:
        first = await rt.deploy()
        second = await rt.deploy()
    assert second.result.created == second.result.updated == second.result.deleted == []
    assert sorted(second.result.unchanged) == sorted(first.result.created)
    async with runtime(app_dir) as rt:  # a new start over the same store: still nothing to do
        third = await rt.deploy()
    assert sorted(third.result.unchanged) == sorted(first.result.created)


async def test_update_in_place_keeps_queue_messages(app_dir: Path) -> None:
    async with runtime(app_dir) as rt:
        await rt.deploy()
        url = await queue_url(rt, "Jobs")
        await call(rt, "sqs", "SendMessage", QueueUrl=url, MessageBody="survives the re-deploy")
    write_app(app_dir, BASE.replace("VisibilityTimeout: 30", "VisibilityTimeout: 45"))
    async with runtime(app_dir) as rt:
        outcome = await rt.deploy()
        assert outcome.result.updated == ["Jobs"]
        assert outcome.result.created == outcome.result.deleted == []
        url = await queue_url(rt, "Jobs")
        attributes = await call(rt, "sqs", "GetQueueAttributes", QueueUrl=url, AttributeNames=["All"])
        assert attributes["Attributes"]["VisibilityTimeout"] == "45"
        received = await call(rt, "sqs", "ReceiveMessage", QueueUrl=url, MaxNumberOfMessages=10)
        assert [m["Body"] for m in received["Messages"]] == ["survives the re-deploy"]


async def test_function_and_workflow_updates_keep_their_identity(app_dir: Path) -> None:
    async with runtime(app_dir) as rt:
        await rt.deploy()
        arn = f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:Flow"
        changed = BASE.replace("Timeout: 5", "Timeout: 9").replace("Result: hello", "Result: bonjour")
        changed = changed.replace("BatchSize: 5", "BatchSize: 7")
        write_app(app_dir, changed)
        outcome = await rt.deploy()
        assert sorted(outcome.result.updated) == ["Flow", "Worker", "WorkerFromJobs"]
        worker = await call(rt, "lambda", "GetFunctionConfiguration", FunctionName="Worker")
        assert worker["Timeout"] == 9
        machine = await call(rt, "states", "DescribeStateMachine", stateMachineArn=arn)
        assert json.loads(machine["definition"])["States"]["Hello"]["Result"] == "bonjour"
        mappings = await call(rt, "lambda", "ListEventSourceMappings", FunctionName="Worker")
        assert [m["BatchSize"] for m in mappings["EventSourceMappings"]] == [7]
        execution = await call(rt, "states", "StartExecution", stateMachineArn=arn, input="{}")
        assert execution["executionArn"].startswith(f"arn:aws:states:{ACCOUNT_REGION}:execution:Flow:")


async def test_removed_resources_are_deleted(app_dir: Path) -> None:
    async with runtime(app_dir) as rt:
        await rt.deploy()
    trimmed = BASE.split("  Alerts:\n")[0] + "  Flow:\n" + BASE.split("  Flow:\n")[1]
    write_app(app_dir, trimmed)
    async with runtime(app_dir) as rt:
        outcome = await rt.deploy()
        assert sorted(outcome.result.deleted) == sorted(
            ["Alerts", "AlertsToJobs", "Bus", "OnOrder", "Clicks", "Worker", "WorkerFromJobs"]
        )
        assert sorted(outcome.result.unchanged) == ["Flow", "Jobs"]
        assert (await call(rt, "sns", "ListTopics"))["Topics"] == []
        with pytest.raises(CloudletError):
            await call(rt, "events", "ListRules", EventBusName="shop")
        with pytest.raises(CloudletError):
            await call(rt, "kinesis", "DescribeStreamSummary", StreamName="Clicks")
        with pytest.raises(CloudletError):
            await call(rt, "lambda", "GetFunctionConfiguration", FunctionName="Worker")
        assert (await call(rt, "lambda", "ListEventSourceMappings"))["EventSourceMappings"] == []
        assert await queue_url(rt, "Jobs")


async def test_renaming_a_queue_replaces_it(app_dir: Path) -> None:
    async with runtime(app_dir) as rt:
        await rt.deploy()
        renamed = BASE.replace(
            "      VisibilityTimeout: 30", "      QueueName: jobs-v2\n      VisibilityTimeout: 30"
        )
        write_app(app_dir, renamed)
        outcome = await rt.deploy()
        assert "Jobs" in outcome.result.updated
        assert (await queue_url(rt, "jobs-v2")).endswith("/jobs-v2")
        with pytest.raises(CloudletError) as missing:
            await queue_url(rt, "Jobs")
        assert "NonExistentQueue" in missing.value.code or "QueueDoesNotExist" in missing.value.code


async def test_a_resource_the_service_refuses_names_itself_and_its_line(app_dir: Path) -> None:
    write_app(app_dir, BASE.replace("VisibilityTimeout: 30", "VisibilityTimeout: 99999"))
    async with runtime(app_dir) as rt:
        with pytest.raises(DeployError) as failed:
            await rt.deploy()
    message = failed.value.message
    assert message.startswith("Could not create Jobs (line 5): ")
    assert "VisibilityTimeout" in message


async def test_an_invalid_template_names_file_and_line(app_dir: Path) -> None:
    write_app(app_dir, BASE.replace("TopicArn: !Ref Alerts", "TopicArn: !Ref Alarms"))
    async with runtime(app_dir) as rt:
        with pytest.raises(InvalidTemplate) as failed:
            await rt.deploy()
    text = str(failed.value)
    assert "template.yaml" in text and "Alarms" in text
    assert "template.yaml:14: " in text  # the line of the TopicArn that names it


async def test_a_failed_deploy_resumes_where_it_stopped(app_dir: Path) -> None:
    write_app(app_dir, BASE.replace("ShardCount: 2", "ShardCount: 0"))
    async with runtime(app_dir) as rt:
        with pytest.raises(DeployError) as failed:
            await rt.deploy()
        assert "Could not create Clicks" in failed.value.message
        write_app(app_dir, BASE)
        outcome = await rt.deploy()
    # What was created before the failure is kept; the rest is created now.
    assert sorted(outcome.result.unchanged) == ["Alerts", "AlertsToJobs", "Bus", "Jobs", "OnOrder"]
    assert sorted(outcome.result.created) == ["Clicks", "Flow", "Worker", "WorkerFromJobs"]


EVERY_TYPE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: every}
  BusArchive:
    Type: AWS::Events::Archive
    Properties: {SourceArn: !GetAtt Bus.Arn, RetentionDays: 1}
  Dead:
    Type: AWS::SQS::Queue
  Stream:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Topic:
    Type: AWS::SNS::Topic
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Layers: [!Ref Shared]
      ReservedConcurrentExecutions: 3
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dead.Arn}
      EventInvokeConfig: {MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 120}
      Events:
        OnBus:
          Type: EventBridgeRule
          Properties: {EventBusName: !Ref Bus, Pattern: {source: [x]}}
        Legacy:
          Type: CloudWatchEvent
          Properties: {Pattern: {source: [y]}}
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
        Hourly:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 hour)}
        FromTopic:
          Type: SNS
          Properties: {Topic: !Ref Topic}
        FromStream:
          Type: Kinesis
          Properties: {Stream: !GetAtt Stream.Arn, StartingPosition: LATEST}
        Rest:
          Type: Api
          Properties: {Path: '/items/{id}', Method: get}
        Http:
          Type: HttpApi
          Properties: {Path: /things, Method: post}
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Call
        States:
          Call: {Type: Task, Resource: !GetAtt Worker.Arn, End: true}
"""


async def test_every_resource_type_deploys_runs_and_is_deleted(tmp_path: Path) -> None:
    app_dir = tmp_path / "every"
    write_app(app_dir, EVERY_TYPE)
    (app_dir / "layer" / "python").mkdir(parents=True)
    (app_dir / "layer" / "python" / "shared.py").write_text("GREETING = 'from the layer'\n")
    (app_dir / "src" / "app.py").write_text(
        "import shared\n\ndef handler(event, context):\n    return {'got': event, 'layer': shared.GREETING}\n"
    )
    async with runtime(app_dir) as rt:
        outcome = await rt.deploy()
        types = {r.type for r in outcome.application.resources.values()}
        assert types >= {
            "AWS::Events::EventBus",
            "AWS::Events::Archive",
            "AWS::Events::Rule",
            "AWS::Scheduler::Schedule",
            "AWS::SQS::Queue",
            "AWS::SNS::Topic",
            "AWS::SNS::Subscription",
            "AWS::Kinesis::Stream",
            "AWS::Lambda::LayerVersion",
            "AWS::Lambda::Function",
            "AWS::Lambda::EventInvokeConfig",
            "AWS::Lambda::EventSourceMapping",
            "AWS::StepFunctions::StateMachine",
            "AWS::ApiGateway::RestApi",
            "AWS::ApiGatewayV2::Api",
        }
        assert len(outcome.result.created) == len(outcome.application.resources)
        assert {(r.api_id, r.method, r.path, r.payload_format) for r in outcome.routes} == {
            ("ServerlessRestApi", "GET", "/items/{id}", "1.0"),
            ("ServerlessHttpApi", "POST", "/things", "2.0"),
        }
        worker = await call(rt, "lambda", "GetFunction", FunctionName="Worker")
        assert worker["Concurrency"] == {"ReservedConcurrentExecutions": 3}
        assert worker["Configuration"]["DeadLetterConfig"]["TargetArn"].endswith(":Dead")
        invoke_config = await call(rt, "lambda", "GetFunctionEventInvokeConfig", FunctionName="Worker")
        assert invoke_config["MaximumRetryAttempts"] == 1
        # The workflow calls the function, which imports the layer's module.
        flow = f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:Flow"
        result = await call(rt, "states", "StartSyncExecution", stateMachineArn=flow, input='{"n": 1}')
        assert result["status"] == "SUCCEEDED", result
        assert json.loads(result["output"]) == {"got": {"n": 1}, "layer": "from the layer"}
        rules = {r["Name"] for r in (await call(rt, "events", "ListRules"))["Rules"]}
        assert {"WorkerLegacy", "WorkerNightly"} <= rules

        write_app(app_dir, "Resources:\n  Dead:\n    Type: AWS::SQS::Queue\n")
        removed = await rt.deploy()
        assert removed.result.unchanged == ["Dead"]
        assert len(removed.result.deleted) == len(outcome.application.resources) - 1
        assert (await call(rt, "events", "ListRules"))["Rules"] == []
        assert (await call(rt, "events", "ListArchives"))["Archives"] == []
        assert (await call(rt, "sns", "ListTopics"))["Topics"] == []
        assert (await call(rt, "sns", "ListSubscriptions"))["Subscriptions"] == []
        assert (await call(rt, "lambda", "ListFunctions"))["Functions"] == []
        assert (await call(rt, "lambda", "ListEventSourceMappings"))["EventSourceMappings"] == []
        assert (await call(rt, "kinesis", "ListStreams"))["StreamNames"] == []
        assert (await call(rt, "states", "ListStateMachines"))["stateMachines"] == []
        buses = {b["Name"] for b in (await call(rt, "events", "ListEventBuses"))["EventBuses"]}
        assert buses == {"default"}
