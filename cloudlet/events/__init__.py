"""Amazon EventBridge, locally: event buses, rules, targets, durable delivery, archives, replays.

``Events`` is the service (see docs/services.md); the pure pieces live beside it:
``schedule`` (rate/cron expressions), ``transform`` (Input, InputPath, InputTransformer),
``entries`` (PutEvents validation and the event envelope). ``Events`` is imported lazily so
that the pure modules load without the service's dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudlet.events.service import Events

__all__ = ["Events"]


def __getattr__(name: str) -> Any:
    if name == "Events":
        from cloudlet.events.service import Events

        return Events
    raise AttributeError(name)
