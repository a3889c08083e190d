"""NotifyHighValue: alert the account manager about each high-value order (SNS subscription)."""

from __future__ import annotations

import json


def handler(event: dict, context: object) -> None:
    for record in event["Records"]:
        # The rule published the whole EventBridge event; the order is its detail.
        placed = json.loads(record["Sns"]["Message"])
        order = placed["detail"]
        print(
            json.dumps(
                {
                    "event": "high_value_alert",
                    "orderId": order["orderId"],
                    "customerId": order["customerId"],
                    "total": order["total"],
                    "topic": record["Sns"]["TopicArn"],
                }
            )
        )
