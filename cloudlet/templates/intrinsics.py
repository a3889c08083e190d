"""CloudFormation intrinsic functions, pseudo parameters and conditions, evaluated locally.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from cloudlet.templates.loader import LineIndex

#: The marker AWS::NoValue resolves to; containers drop it.
NO_VALUE = object()

_SUB_VAR = re.compile(r"\$\{([^}]*)\}")

Path = tuple[str, ...]


class Resolver:
    """Evaluates intrinsic functions against parameters, conditions, mappings and resources."""

    def __init__(
        self,
        *,
        index: LineIndex,
        parameters: dict[str, Any],
        pseudo: dict[str, Any],
        mappings: dict[str, Any],
        condition_definitions: dict[str, Any],
        ref: Callable[[str, Path], Any],
        get_att: Callable[[str, str, Path], Any],
    ) -> None:
        self.index = index
        self.parameters = parameters
        self.pseudo = pseudo
        self.mappings = mappings
        self._condition_definitions = condition_definitions
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._ref = ref
        self._get_att = get_att

    # -- conditions -----------------------------------------------------------------------
    def condition(self, name: str, path: Path) -> bool:
        """The value of condition ``name`` (evaluated once)."""
        if name in self._conditions:
            return self._conditions[name]
        if name not in self._condition_definitions:
            raise self.index.error(f"Template error: unresolved condition dependency {name}", path)
        if name in self._evaluating:
            raise self.index.error(f"Template error: circular condition dependency {name}", path)
        self._evaluating.add(name)
        value = self.resolve(self._condition_definitions[name], ("Conditions", name))
        self._evaluating.discard(name)
        if not isinstance(value, bool):
            raise self.index.error(
                f"Template error: condition {name} must evaluate to a boolean", ("Conditions", name)
            )
        self._conditions[name] = value
        return value

    # -- evaluation -----------------------------------------------------------------------
    def resolve(self, value: Any, path: Path) -> Any:
        """``value`` with every intrinsic function evaluated; NO_VALUE entries removed."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                    return self._function(key, arg, (*path, key))
            out = {}
            for k, v in value.items():
                r = self.resolve(v, (*path, k))
                if r is not NO_VALUE:
                    out[k] = r
            return out
        if isinstance(value, list):
            items = [self.resolve(v, (*path, str(i))) for i, v in enumerate(value)]
            return [v for v in items if v is not NO_VALUE]
        return value

    def _function(self, name: str, arg: Any, path: Path) -> Any:
        handler = getattr(self, "_fn_" + name.replace("Fn::", "").lower(), None)
        if handler is None:
            raise self.index.error(f"Template error: {name} is not supported", path)
        return handler(arg, path)

    def _fn_ref(self, arg: Any, path: Path) -> Any:
        if not isinstance(arg, str):
            raise self.index.error("Template error: Ref requires a string name", path)
        if arg in self.pseudo:
            return self.pseudo[arg]
        if arg == "AWS::NoValue":
            return NO_VALUE
        if arg in self.parameters:
            return self.parameters[arg]
        return self._ref(arg, path)

    def _fn_getatt(self, arg: Any, path: Path) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not (isinstance(arg, list) and len(arg) == 2):
            raise self.index.error("Template error: Fn::GetAtt requires [LogicalId, Attribute]", path)
        logical, attribute = arg[0], self.resolve(arg[1], path)
        return self._get_att(str(logical), str(attribute), path)

    def _fn_sub(self, arg: Any, path: Path) -> str:
        variables: dict[str, Any] = {}
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[1], dict):
                raise self.index.error(
                    "Template error: Fn::Sub requires a string or [string, {variables}]", path
                )
            text = arg[0]
            variables = {k: self.resolve(v, (*path, "1", k)) for k, v in arg[1].items()}
        else:
            text = arg
        if not isinstance(text, str):
            raise self.index.error("Template error: Fn::Sub requires a string", path)

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and name.split(".", 1)[0] not in self.parameters:
                logical, attribute = name.split(".", 1)
                value = self._get_att(logical, attribute, path)
            else:
                value = self._fn_ref(name, path)
            if isinstance(value, list):
                raise self.index.error(f"Template error: variable {name} in Fn::Sub resolves to a list", path)
            return _scalar_text(value)

        return _SUB_VAR.sub(substitute, text)

    def _fn_join(self, arg: Any, path: Path) -> str:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise self.index.error("Template error: Fn::Join requires [delimiter, [values]]", path)
        delimiter = self.resolve(arg[0], path)
        values = self.resolve(arg[1], path)
        if not isinstance(values, list):
            raise self.index.error("Template error: Fn::Join requires a list of values", path)
        return str(delimiter).join(_scalar_text(v) for v in values)

    def _fn_select(self, arg: Any, path: Path) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise self.index.error("Template error: Fn::Select requires [index, [values]]", path)
        index = self.resolve(arg[0], path)
        values = self.resolve(arg[1], path)
        try:
            return values[int(index)]
        except (ValueError, TypeError, IndexError):
            raise self.index.error(
                f"Template error: Fn::Select cannot select index {index!r}", path
            ) from None

    def _fn_split(self, arg: Any, path: Path) -> list[str]:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise self.index.error("Template error: Fn::Split requires [delimiter, string]", path)
        return str(self.resolve(arg[1], path)).split(str(arg[0]))

    def _fn_if(self, arg: Any, path: Path) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
            raise self.index.error(
                "Template error: Fn::If requires [condition, value_if_true, value_if_false]", path
            )
        branch = 1 if self.condition(arg[0], path) else 2
        return self.resolve(arg[branch], (*path, str(branch)))

    def _fn_equals(self, arg: Any, path: Path) -> bool:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise self.index.error("Template error: Fn::Equals requires [value_1, value_2]", path)
        a, b = (self.resolve(v, path) for v in arg)
        return _scalar_text(a) == _scalar_text(b) if not isinstance(a, (list, dict)) else a == b

    def _bools(self, name: str, arg: Any, path: Path, lo: int, hi: int) -> list[bool]:
        if not (isinstance(arg, list) and lo <= len(arg) <= hi):
            raise self.index.error(f"Template error: {name} requires between {lo} and {hi} conditions", path)
        out = []
        for i, item in enumerate(arg):
            value = self.resolve(item, (*path, str(i)))
            if not isinstance(value, bool):
                raise self.index.error(f"Template error: {name} requires boolean conditions", path)
            out.append(value)
        return out

    def _fn_not(self, arg: Any, path: Path) -> bool:
        return not self._bools("Fn::Not", arg, path, 1, 1)[0]

    def _fn_and(self, arg: Any, path: Path) -> bool:
        return all(self._bools("Fn::And", arg, path, 2, 10))

    def _fn_or(self, arg: Any, path: Path) -> bool:
        return any(self._bools("Fn::Or", arg, path, 2, 10))

    def _fn_condition(self, arg: Any, path: Path) -> bool:
        return self.condition(str(arg), path)

    def _fn_findinmap(self, arg: Any, path: Path) -> Any:
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            raise self.index.error(
                "Template error: Fn::FindInMap requires [MapName, TopLevelKey, SecondLevelKey]", path
            )
        name, top, second = (_scalar_text(self.resolve(v, path)) for v in arg[:3])
        try:
            return self.mappings[name][top][second]
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.resolve(arg[3]["DefaultValue"], path)
            raise self.index.error(
                f"Template error: Unable to get mapping for {name}::{top}::{second}", path
            ) from None

    def _fn_base64(self, arg: Any, path: Path) -> str:
        return base64.b64encode(_scalar_text(self.resolve(arg, path)).encode()).decode()

    def _fn_getazs(self, arg: Any, path: Path) -> list[str]:
        region = self.resolve(arg, path) or self.pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_importvalue(self, arg: Any, path: Path) -> Any:
        raise self.index.error(
            "Fn::ImportValue reads another stack's exports, which cloudlet does not have: "
            "pass the value as a Parameter instead",
            path,
        )

    def _fn_tojsonstring(self, arg: Any, path: Path) -> str:
        return json.dumps(self.resolve(arg, path), separators=(",", ":"))

    def _fn_length(self, arg: Any, path: Path) -> int:
        value = self.resolve(arg, path)
        if not isinstance(value, list):
            raise self.index.error("Template error: Fn::Length requires a list", path)
        return len(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
