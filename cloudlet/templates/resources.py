"""What each CloudFormation resource type cloudlet runs is called, and what Ref / GetAtt return.

Names: a resource's own name property when the template sets one, else its logical ID
(readable for ``cloudlet invoke OrderFunction``; AWS would add the stack name and a suffix).
Ref and GetAtt values follow each type's "Return values" section of the CloudFormation docs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cloudlet.arns import build_arn


@dataclass(frozen=True, slots=True)
class Names:
    """Where a deployed resource lives: everything Ref and GetAtt can return."""

    name: str
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Place:
    """Account, region and endpoint that ARNs and URLs are built for."""

    account: str
    region: str
    stack_name: str
    endpoint_url: str


NameFn = Callable[[str, Place], Names]


@dataclass(frozen=True, slots=True)
class ResourceType:
    """How cloudlet names one resource type; ``name_property`` is the template's own name, if any."""

    name_property: str | None
    names: NameFn


def _arn(service: str, resource: str, p: Place) -> str:
    return build_arn(service, resource, region=p.region, account=p.account)


def _function(n: str, p: Place) -> Names:
    arn = _arn("lambda", f"function:{n}", p)
    return Names(n, n, {"Arn": arn})


def _queue(n: str, p: Place) -> Names:
    url = f"{p.endpoint_url.rstrip('/')}/{p.account}/{n}"
    return Names(n, url, {"Arn": _arn("sqs", n, p), "QueueName": n, "QueueUrl": url})


def _topic(n: str, p: Place) -> Names:
    arn = _arn("sns", n, p)
    return Names(n, arn, {"TopicArn": arn, "TopicName": n})


def _state_machine(n: str, p: Place) -> Names:
    arn = _arn("states", f"stateMachine:{n}", p)
    return Names(n, arn, {"Arn": arn, "Name": n, "StateMachineRevisionId": arn})


def _event_bus(n: str, p: Place) -> Names:
    return Names(n, n, {"Arn": _arn("events", f"event-bus/{n}", p), "Name": n})


def _rule(n: str, p: Place) -> Names:
    return Names(n, n, {"Arn": _arn("events", f"rule/{n}", p)})


def _archive(n: str, p: Place) -> Names:
    return Names(n, n, {"Arn": _arn("events", f"archive/{n}", p)})


def _stream(n: str, p: Place) -> Names:
    return Names(n, n, {"Arn": _arn("kinesis", f"stream/{n}", p)})


def _schedule(n: str, p: Place) -> Names:
    arn = _arn("scheduler", f"schedule/default/{n}", p)
    return Names(n, n, {"Arn": arn})


def _layer(n: str, p: Place) -> Names:
    arn = _arn("lambda", f"layer:{n}:1", p)
    return Names(n, arn, {"Arn": arn})


def _mapping(n: str, p: Place) -> Names:
    return Names(n, n, {"Id": n})


def _http_api(n: str, p: Place) -> Names:
    return Names(n, n, {"ApiEndpoint": f"{p.endpoint_url.rstrip('/')}/_api/{n}", "ApiId": n})


def _rest_api(n: str, p: Place) -> Names:
    return Names(n, n, {"RootResourceId": n, "RestApiId": n})


def _role(n: str, p: Place) -> Names:
    return Names(n, n, {"Arn": f"arn:aws:iam::{p.account}:role/{n}", "RoleId": n})


def _plain(n: str, p: Place) -> Names:
    return Names(n, n, {})


#: The resource types cloudlet runs (after SAM's transform to CloudFormation).
RUNNABLE: dict[str, ResourceType] = {
    "AWS::Lambda::Function": ResourceType("FunctionName", _function),
    "AWS::Lambda::LayerVersion": ResourceType("LayerName", _layer),
    "AWS::Lambda::EventSourceMapping": ResourceType(None, _mapping),
    "AWS::Lambda::EventInvokeConfig": ResourceType(None, _plain),
    "AWS::StepFunctions::StateMachine": ResourceType("StateMachineName", _state_machine),
    "AWS::Events::EventBus": ResourceType("Name", _event_bus),
    "AWS::Events::Rule": ResourceType("Name", _rule),
    "AWS::Events::Archive": ResourceType("ArchiveName", _archive),
    "AWS::Scheduler::Schedule": ResourceType("Name", _schedule),
    "AWS::SQS::Queue": ResourceType("QueueName", _queue),
    "AWS::SNS::Topic": ResourceType("TopicName", _topic),
    "AWS::SNS::Subscription": ResourceType(None, _plain),
    "AWS::Kinesis::Stream": ResourceType("Name", _stream),
    "AWS::ApiGatewayV2::Api": ResourceType(None, _http_api),
    "AWS::ApiGateway::RestApi": ResourceType(None, _rest_api),
}

#: Types accepted and recorded but not enforced locally (documented in docs/templates.md).
RECORDED: dict[str, ResourceType] = {
    "AWS::IAM::Role": ResourceType("RoleName", _role),
    "AWS::IAM::Policy": ResourceType(None, _plain),
    "AWS::IAM::ManagedPolicy": ResourceType(None, _plain),
    "AWS::Lambda::Permission": ResourceType(None, _plain),
    "AWS::Lambda::Version": ResourceType(None, _plain),
    "AWS::Lambda::Alias": ResourceType(None, _plain),
    "AWS::SQS::QueuePolicy": ResourceType(None, _plain),
    "AWS::SNS::TopicPolicy": ResourceType(None, _plain),
    "AWS::Logs::LogGroup": ResourceType("LogGroupName", _plain),
    "AWS::ApiGatewayV2::Stage": ResourceType(None, _plain),
    "AWS::ApiGateway::Stage": ResourceType(None, _plain),
    "AWS::ApiGateway::Deployment": ResourceType(None, _plain),
}
