"""Read a SAM / CloudFormation template (YAML or JSON) into plain data, keeping line numbers.

CloudFormation's short-form tags (``!Ref``, ``!GetAtt a.b``, ``!Sub``, ...) become their
long forms (``{"Ref": ...}``, ``{"Fn::GetAtt": [a, b]}``, ...), as CloudFormation reads them.
Every mapping key's line is recorded in a ``LineIndex`` under its path, so that errors found
later can name the file and line.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from cloudlet.errors import InvalidTemplate

#: Short-form tags and the long form each stands for.
_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!Not": "Fn::Not",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!FindInMap": "Fn::FindInMap",
    "!Base64": "Fn::Base64",
    "!GetAZs": "Fn::GetAZs",
    "!ImportValue": "Fn::ImportValue",
    "!Cidr": "Fn::Cidr",
    "!Transform": "Fn::Transform",
    "!ToJsonString": "Fn::ToJsonString",
    "!Length": "Fn::Length",
}


@dataclass
class LineIndex:
    """Line numbers (1-based) of template locations, keyed by path tuples such as ("Resources", "Fn")."""

    filename: str
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def line_of(self, path: tuple[str, ...]) -> int | None:
        """The line of ``path`` or of its nearest recorded ancestor."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def error(self, message: str, path: tuple[str, ...]) -> InvalidTemplate:
        """An ``InvalidTemplate`` naming this file and the line of ``path``."""
        line = self.line_of(path)
        where = f"{self.filename}:{line}" if line else self.filename
        return InvalidTemplate(f"{where}: {message}", file=self.filename, line=line)


class _Loader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation tags and records key lines."""


def _construct_tag(loader: _Loader, tag_suffix: str, node: yaml.Node) -> Any:
    long_name = _TAGS.get("!" + tag_suffix)
    if long_name is None:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{tag_suffix}", node.start_mark)
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if long_name == "Fn::GetAtt" and isinstance(value, str):
            logical, _, attribute = value.partition(".")
            value = [logical, attribute]
        elif long_name == "Fn::GetAZs" and value == "":
            value = ""
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {long_name: value}


_Loader.add_multi_constructor("!", _construct_tag)


def _record_lines(node: yaml.Node, path: tuple[str, ...], index: LineIndex) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            index.lines[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index.lines[(*path, str(i))] = item.start_mark.line + 1
            _record_lines(item, (*path, str(i)), index)


def load_template(text: str, filename: str = "template.yaml") -> tuple[dict[str, Any], LineIndex]:
    """Parse template ``text`` (YAML or JSON); returns the data and its line index."""
    index = LineIndex(filename)
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            data = json.loads(text)
            # JSON is valid YAML: walk it with the YAML composer only to learn key lines.
            node = yaml.compose(text, Loader=_Loader)
        else:
            node = yaml.compose(text, Loader=_Loader)
            data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InvalidTemplate(f"{filename}:{line}: {exc.problem or exc}", file=filename, line=line) from None
    except json.JSONDecodeError as exc:
        raise InvalidTemplate(f"{filename}:{exc.lineno}: {exc.msg}", file=filename, line=exc.lineno) from None
    if node is not None:
        _record_lines(node, (), index)
    if not isinstance(data, dict):
        raise InvalidTemplate(
            f"{filename}:1: a template must be a mapping with a Resources section", file=filename, line=1
        )
    if not isinstance(data.get("Resources"), dict) or not data["Resources"]:
        raise index.error(
            "Template format error: At least one Resources member must be defined.", ("Resources",)
        )
    return data, index
