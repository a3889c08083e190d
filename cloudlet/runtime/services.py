"""The services a runtime starts: one per kind of resource, each owning its ARNs."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """Where a service class lives and the AWS service names it answers for."""

    module: str
    class_name: str
    aws_names: tuple[str, ...]

    @property
    def name(self) -> str:
        """The service's package name: "queues", "functions", ..."""
        return self.module.rsplit(".", 1)[-1]


#: Every service of a full application, in start order (deliveries flow to later ones too:
#: the router resolves owners at delivery time, so order matters only for resume).
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("cloudlet.queues", "Queues", ("sqs",)),
    ServiceSpec("cloudlet.topics", "Topics", ("sns",)),
    ServiceSpec("cloudlet.streams", "Streams", ("kinesis",)),
    ServiceSpec("cloudlet.functions", "Functions", ("lambda", "logs")),
    ServiceSpec("cloudlet.mappings", "EventSourceMappings", ("lambda",)),
    ServiceSpec("cloudlet.events", "Events", ("events",)),
    ServiceSpec("cloudlet.workflows", "Workflows", ("states",)),
)


def available(spec: ServiceSpec) -> bool:
    """Whether this installation ships the service's module."""
    return importlib.util.find_spec(spec.module) is not None


def service_class(spec: ServiceSpec) -> type:
    """The service class (imported on first use)."""
    cls: type = getattr(importlib.import_module(spec.module), spec.class_name)
    return cls
