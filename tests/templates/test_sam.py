"""SAM resources become the CloudFormation resources cloudlet runs (AWS's own transform)."""

from __future__ import annotations

import json

import pytest

from cloudlet.errors import InvalidTemplate
from cloudlet.templates import Place, api_routes, load_application, local_code_path, state_machine_definition

PLACE = Place("000000000000", "us-east-1", "app", "http://127.0.0.1:4566")

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 7
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: orders}
  Queue:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      SnapStart: {ApplyOn: PublishedVersions}
      Environment: {Variables: {BUS: !Ref Bus}}
      Events:
        OnOrder:
          Type: EventBridgeRule
          Properties: {EventBusName: !Ref Bus, Pattern: {source: [shop]}}
        FromQueue:
          Type: SQS
          Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 5}
        Http:
          Type: HttpApi
          Properties: {Path: '/orders/{id}', Method: get}
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: flow.asl.json
      DefinitionSubstitutions:
        WorkerArn: !GetAtt Worker.Arn
  Thing:
    Type: AWS::Foo::Bar
"""

DEFINITION = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${WorkerArn}", "End": True}}}


def load(text=TEMPLATE):
    files = {"flow.asl.json": json.dumps(DEFINITION)}
    return load_application(text, filename="template.yaml", place=PLACE, read_file=files.__getitem__)


def test_sam_resources_expand():
    app = load()
    types = {r.logical_id: r.type for r in app.resources.values()}
    assert types["Worker"] == "AWS::Lambda::Function"
    assert types["WorkerOnOrder"] == "AWS::Events::Rule"
    assert types["WorkerFromQueue"] == "AWS::Lambda::EventSourceMapping"
    assert types["WorkerNightly"] == "AWS::Events::Rule"
    assert types["Flow"] == "AWS::StepFunctions::StateMachine"
    assert "WorkerRole" in app.recorded and app.recorded["WorkerRole"] == "AWS::IAM::Role"
    worker = app.resources["Worker"]
    assert worker.properties["Timeout"] == 7 and worker.properties["Runtime"] == "python3.12"
    assert worker.properties["Environment"] == {"Variables": {"BUS": "orders"}}
    assert local_code_path(worker.properties["Code"]) == "src/"
    assert worker.line == 14


def test_dependencies_come_first():
    order = list(load().resources)
    assert order.index("Queue") < order.index("WorkerFromQueue")
    assert order.index("Worker") < order.index("Flow")
    assert order.index("Bus") < order.index("WorkerOnOrder")


def test_state_machine_definition_is_substituted():
    flow = load().resources["Flow"]
    definition = json.loads(state_machine_definition(flow))
    assert definition["States"]["A"]["Resource"] == "arn:aws:lambda:us-east-1:000000000000:function:Worker"


def test_http_api_routes():
    app = load()
    (api,) = app.of_type("AWS::ApiGatewayV2::Api")
    (route,) = api_routes(api)
    assert (route.method, route.path, route.payload_format) == ("GET", "/orders/{id}", "2.0")
    assert route.function_arn.endswith(":function:Worker")


def test_unknown_types_warn_once():
    app = load()
    assert app.unknown_types == {"Thing": "AWS::Foo::Bar"}
    assert app.warnings == [
        "template.yaml: these resource types are not run by cloudlet and were skipped: Thing (AWS::Foo::Bar)"
    ]


def test_sam_errors_name_the_resource_line():
    bad = TEMPLATE.replace("Handler: app.handler", "Handler: app.handler\n      Events: 12")
    with pytest.raises(InvalidTemplate) as info:
        load(bad.replace("      Events:\n        OnOrder", "      Evts:\n        OnOrder"))
    assert info.value.line == 14


def test_missing_definition_file():
    with pytest.raises(InvalidTemplate, match=r"DefinitionUri 'flow\.asl\.json' cannot be read"):
        load_application(TEMPLATE, place=PLACE)
