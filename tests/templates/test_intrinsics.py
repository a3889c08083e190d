"""CloudFormation intrinsic functions, one row per documented behaviour."""

from __future__ import annotations

import pytest

from cloudlet.errors import InvalidTemplate
from cloudlet.templates import Place, load_application

PLACE = Place("123456789012", "eu-west-1", "shop", "http://127.0.0.1:4566")

HEADER = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Sizes: {Type: CommaDelimitedList, Default: "a, b,c"}
  Memory: {Type: Number, Default: 256}
Mappings:
  Regions:
    eu-west-1: {Name: ireland}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Equals [a, a]]
  Either: !Or [!Condition IsProd, !Equals [1, "1"]]
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
  Subject:
    Type: AWS::SNS::Topic
    Properties:
      TopicName:
"""


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("!Ref Stage", "dev"),
        ("!Ref AWS::Region", "eu-west-1"),
        ("!Ref AWS::AccountId", "123456789012"),
        ("!Ref AWS::StackName", "shop"),
        ("!Ref AWS::Partition", "aws"),
        ("!Ref AWS::URLSuffix", "amazonaws.com"),
        ("!Ref Q", "http://127.0.0.1:4566/123456789012/orders"),
        ("!GetAtt Q.Arn", "arn:aws:sqs:eu-west-1:123456789012:orders"),
        ("!GetAtt [Q, QueueName]", "orders"),
        ("!Sub '${AWS::StackName}-${Stage}'", "shop-dev"),
        ("!Sub '${Q.Arn}/x'", "arn:aws:sqs:eu-west-1:123456789012:orders/x"),
        ("!Sub '${!Literal}-${Stage}'", "${Literal}-dev"),
        ("!Sub ['${A}-${B}', {A: x, B: !Ref Stage}]", "x-dev"),
        ("!Join ['-', [a, !Ref Stage, c]]", "a-dev-c"),
        ("!Join ['', []]", ""),
        ("!Select [1, [a, b, c]]", "b"),
        ("!Select [2, !Ref Sizes]", "c"),
        ("!Split [',', 'a,b,,c']", ["a", "b", "", "c"]),
        ("!Select [1, !Split ['/', 'x/y/z']]", "y"),
        ("!If [IsProd, big, small]", "small"),
        ("!If [IsDev, !Ref Stage, other]", "dev"),
        ("!If [Both, on1, off1]", "on1"),
        ("!If [Either, on2, off2]", "on2"),
        ("!FindInMap [Regions, !Ref AWS::Region, Name]", "ireland"),
        ("!Base64 hello", "aGVsbG8="),
        ("!GetAZs ''", ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ("!Ref Memory", "256"),
        ("!Ref Sizes", ["a", "b", "c"]),
    ],
)
def test_intrinsic(expression, expected):
    app = load_application(HEADER + f"        {expression}\n", place=PLACE)
    assert app.resources["Subject"].properties["TopicName"] == expected


def test_no_value_removes_the_property():
    text = HEADER + "        !If [IsProd, named, !Ref AWS::NoValue]\n"
    app = load_application(text, place=PLACE)
    assert "TopicName" not in app.resources["Subject"].properties
    assert app.resources["Subject"].name == "Subject"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("!ImportValue shared-vpc", "Fn::ImportValue reads another stack's exports"),
        ("!Ref Missing", r"Unresolved resource dependencies \[Missing\]"),
        ("!GetAtt Q.Nope", "has no attribute Nope"),
        ("!If [NoSuchCondition, a, b]", "unresolved condition dependency NoSuchCondition"),
        ("!FindInMap [Regions, mars, Name]", "Unable to get mapping for Regions::mars::Name"),
    ],
)
def test_errors_name_file_and_line(expression, message):
    with pytest.raises(InvalidTemplate, match=message) as info:
        load_application(HEADER + f"        {expression}\n", filename="app.yaml", place=PLACE)
    assert info.value.file == "app.yaml"
    # the line of the property holding the failing expression
    line = HEADER.splitlines().index("      TopicName:") + 1
    assert info.value.line == line
    assert str(info.value).startswith(f"app.yaml:{line}: ")


def test_parameter_overrides_and_validation():
    app = load_application(HEADER + "        !Ref Stage\n", place=PLACE, parameters={"Stage": "prod"})
    assert app.resources["Subject"].properties["TopicName"] == "prod"
    with pytest.raises(InvalidTemplate, match="AllowedValues"):
        load_application(HEADER + "        x\n", place=PLACE, parameters={"Stage": "qa"})
    with pytest.raises(InvalidTemplate, match="do not exist"):
        load_application(HEADER + "        x\n", place=PLACE, parameters={"Nope": "1"})


def test_conditional_resources_are_left_out():
    text = HEADER + "        x\n  Extra:\n    Type: AWS::SQS::Queue\n    Condition: IsProd\n"
    assert "Extra" not in load_application(text, place=PLACE).resources


def test_yaml_syntax_error_names_line():
    with pytest.raises(InvalidTemplate) as info:
        load_application("Resources:\n  Q:\n    Type: [unclosed\n", filename="t.yaml", place=PLACE)
    assert info.value.line is not None and str(info.value).startswith("t.yaml:")


def test_json_templates_load():
    text = '{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": true}}}}'
    app = load_application(text, filename="t.json", place=PLACE)
    assert app.resources["Q"].name == "Q.fifo"
    assert app.resources["Q"].line == 1
