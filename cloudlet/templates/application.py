"""A template, loaded and resolved into the resources an application runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudlet.arns import build_arn
from cloudlet.errors import InvalidTemplate
from cloudlet.templates.intrinsics import NO_VALUE, Resolver
from cloudlet.templates.loader import LineIndex, load_template
from cloudlet.templates.resources import RECORDED, RUNNABLE, Names, Place, ResourceType
from cloudlet.templates.sam import is_sam, transform_sam

_PSEUDO_WITHOUT_VALUE = "AWS::NoValue"


@dataclass(frozen=True)
class Resource:
    """One resource after conditions and intrinsic functions: what a service creates."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    names: Names
    line: int | None
    depends_on: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.names.name

    @property
    def arn(self) -> str | None:
        return self.names.attributes.get("Arn") or self.names.attributes.get("TopicArn")


@dataclass(frozen=True)
class Application:
    """The resources of one template, in an order that creates dependencies first."""

    filename: str
    resources: dict[str, Resource]
    outputs: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Resource types cloudlet does not know; they are skipped (one warning lists them).
    unknown_types: dict[str, str] = field(default_factory=dict)
    #: Resources accepted and recorded but not enforced locally (IAM, permissions, policies).
    recorded: dict[str, str] = field(default_factory=dict)

    def of_type(self, type_name: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == type_name]

    @property
    def warnings(self) -> list[str]:
        if not self.unknown_types:
            return []
        listed = ", ".join(f"{lid} ({t})" for lid, t in sorted(self.unknown_types.items()))
        return [f"{self.filename}: these resource types are not run by cloudlet and were skipped: {listed}"]


def _parameters(template: dict[str, Any], overrides: dict[str, Any], index: LineIndex) -> dict[str, Any]:
    declared = template.get("Parameters") or {}
    unknown = set(overrides) - set(declared)
    if unknown:
        raise index.error(f"Parameters: {sorted(unknown)} do not exist in the template", ("Parameters",))
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        path = ("Parameters", name)
        if name in overrides:
            value = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise index.error(f"Parameters: [{name}] must have values", path)
        ptype = spec.get("Type", "String")
        if ptype in ("CommaDelimitedList", "List<Number>") or ptype.startswith("List<"):
            value = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
        elif ptype == "Number":
            try:
                float(str(value))
            except ValueError:
                raise index.error(f"Parameter '{name}' must be a number", path) from None
            value = str(value)
        else:
            value = value if isinstance(value, str) else str(value)
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            raise index.error(f"Parameter '{name}' must be one of AllowedValues", path)
        pattern = spec.get("AllowedPattern")
        if pattern is not None and isinstance(value, str) and not re.fullmatch(pattern, value):
            raise index.error(f"Parameter '{name}' must match pattern {pattern}", path)
        values[name] = value
    return values


def _references(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        if len(value) == 1:
            ((k, v),) = value.items()
            if k == "Ref" and isinstance(v, str) and not v.startswith("AWS::"):
                out.add(v)
            elif k == "Fn::GetAtt":
                target = v.split(".", 1)[0] if isinstance(v, str) else v[0]
                out.add(str(target))
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                if isinstance(text, str):
                    for name in re.findall(r"\$\{([^}!][^}]*)\}", text):
                        out.add(name.split(".", 1)[0])
        for v in value.values():
            _references(v, out)
    elif isinstance(value, list):
        for v in value:
            _references(v, out)


def load_application(
    text: str,
    *,
    filename: str = "template.yaml",
    place: Place,
    parameters: dict[str, Any] | None = None,
    read_file: Callable[[str], str] | None = None,
) -> Application:
    """Load a SAM or CloudFormation template into an ``Application``; errors name file and line."""
    template, index = load_template(text, filename)

    def no_files(path: str) -> str:
        raise OSError(2, "No such file", path)

    overrides = dict(parameters or {})
    param_values = _parameters(template, overrides, index)
    if is_sam(template):
        template = transform_sam(
            template, index, region=place.region, parameters=param_values, read_file=read_file or no_files
        )
    resources: dict[str, Any] = template.get("Resources") or {}
    original_ids = sorted(index.lines, key=len)

    def line_of(logical_id: str) -> int | None:
        line = index.lines.get(("Resources", logical_id))
        if line is not None:
            return line
        # Resources SAM generated ("FnRole", "FnQ") take the line of the resource they came from.
        best = None
        for path in original_ids:
            if len(path) == 2 and path[0] == "Resources" and logical_id.startswith(path[1]):
                if best is None or len(path[1]) > len(best[1]):
                    best = path
        return index.lines.get(best) if best else None

    pseudo = {
        "AWS::Region": place.region,
        "AWS::AccountId": place.account,
        "AWS::StackName": place.stack_name,
        "AWS::StackId": build_arn(
            "cloudformation", f"stack/{place.stack_name}/cloudlet", region=place.region, account=place.account
        ),
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    names: dict[str, Names] = {}
    naming: set[str] = set()

    def kind(logical_id: str) -> ResourceType | None:
        rtype = resources[logical_id].get("Type", "")
        return RUNNABLE.get(rtype) or RECORDED.get(rtype)

    def names_of(logical_id: str, path: tuple[str, ...]) -> Names:
        if logical_id in names:
            return names[logical_id]
        if logical_id not in resources:
            raise index.error(
                f"Template format error: Unresolved resource dependencies [{logical_id}] "
                "in the Resources block of the template",
                path,
            )
        if logical_id in naming:
            raise index.error(
                f"Circular dependency between resources: {logical_id}", ("Resources", logical_id)
            )
        naming.add(logical_id)
        resource = resources[logical_id]
        rtype = kind(logical_id)
        props = resource.get("Properties") or {}
        name = logical_id
        own_name = None
        if rtype and rtype.name_property and props.get(rtype.name_property) is not None:
            own_name = resolver.resolve(
                props[rtype.name_property], ("Resources", logical_id, "Properties", rtype.name_property)
            )
        if own_name is not None and own_name is not NO_VALUE:
            name = str(own_name)
        elif resource.get("Type") == "AWS::SQS::Queue" and str(props.get("FifoQueue")).lower() == "true":
            name = f"{logical_id}.fifo"
        result = rtype.names(name, place) if rtype else Names(name, name, {})
        names[logical_id] = result
        naming.discard(logical_id)
        return result

    def ref(logical_id: str, path: tuple[str, ...]) -> Any:
        return names_of(logical_id, path).ref

    def get_att(logical_id: str, attribute: str, path: tuple[str, ...]) -> Any:
        resolved = names_of(logical_id, path)
        if attribute in resolved.attributes:
            return resolved.attributes[attribute]
        rtype = resources[logical_id].get("Type")
        if kind(logical_id) is None:
            return f"{resolved.name}.{attribute}"
        raise index.error(
            f"Template error: resource {logical_id} ({rtype}) has no attribute {attribute} "
            f"cloudlet can provide (known: {', '.join(sorted(resolved.attributes)) or 'none'})",
            path,
        )

    resolver = Resolver(
        index=index,
        parameters=param_values,
        pseudo=pseudo,
        mappings=template.get("Mappings") or {},
        condition_definitions=template.get("Conditions") or {},
        ref=ref,
        get_att=get_att,
    )

    built: dict[str, Resource] = {}
    unknown: dict[str, str] = {}
    recorded: dict[str, str] = {}
    deps: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        path = ("Resources", logical_id)
        if not isinstance(resource, dict) or "Type" not in resource:
            raise index.error(
                f"Template format error: [/Resources/{logical_id}] Every Resources object "
                "must contain a Type member.",
                path,
            )
        condition = resource.get("Condition")
        if condition is not None and not resolver.condition(str(condition), (*path, "Condition")):
            continue
        rtype = resource["Type"]
        if rtype in RECORDED:
            recorded[logical_id] = rtype
            continue
        if rtype not in RUNNABLE:
            unknown[logical_id] = rtype
            continue
        raw_props = resource.get("Properties") or {}
        if not isinstance(raw_props, dict):
            raise index.error("Properties must be a mapping", (*path, "Properties"))
        props = resolver.resolve(raw_props, (*path, "Properties"))
        found: set[str] = set()
        _references(raw_props, found)
        depends = resource.get("DependsOn") or []
        found.update([depends] if isinstance(depends, str) else depends)
        deps[logical_id] = {d for d in found if d in resources and d != logical_id}
        line = line_of(logical_id)
        built[logical_id] = Resource(
            logical_id, rtype, props, names_of(logical_id, path), line, tuple(sorted(deps[logical_id]))
        )

    ordered: dict[str, Resource] = {}
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered or logical_id not in built:
            return
        if logical_id in visiting:
            raise index.error(
                f"Circular dependency between resources: {logical_id}", ("Resources", logical_id)
            )
        visiting.add(logical_id)
        for dep in sorted(deps.get(logical_id, ())):
            visit(dep)
        visiting.discard(logical_id)
        ordered[logical_id] = built[logical_id]

    for logical_id in built:
        visit(logical_id)

    outputs: dict[str, Any] = {}
    for name, spec in (template.get("Outputs") or {}).items():
        path = ("Outputs", name)
        if isinstance(spec, dict) and "Value" in spec:
            if "Condition" in spec and not resolver.condition(str(spec["Condition"]), path):
                continue
            try:
                outputs[name] = resolver.resolve(spec["Value"], (*path, "Value"))
            except InvalidTemplate:
                raise
    return Application(filename, ordered, outputs, param_values, unknown, recorded)
