"""Amazon EventBridge, locally: event buses, rules, targets, durable delivery, archives, replays.

``Events`` is the service (see docs/services.md); the pure pieces live beside it:
``schedule`` (rate/cron expressions), ``transform`` (Input, InputPath, InputTransformer),
``entries`` (PutEvents validation and the event envelope).
"""

from cloudlet.events.service import Events

__all__ = ["Events"]
