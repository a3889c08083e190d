"""OrderAnalytics: revenue figures from the order stream (Kinesis event source mapping)."""

from __future__ import annotations

import base64
import json

# Per execution environment; a real consumer would write these to a metrics store.
revenue: dict[str, float] = {}


def handler(event: dict, context: object) -> dict:
    for record in event["Records"]:
        order = json.loads(base64.b64decode(record["kinesis"]["data"]))
        currency = order["currency"]
        revenue[currency] = round(revenue.get(currency, 0.0) + order["total"], 2)
        print(
            json.dumps(
                {
                    "event": "order_recorded",
                    "orderId": order["orderId"],
                    "total": order["total"],
                    "sequenceNumber": record["kinesis"]["sequenceNumber"],
                    "revenueSoFar": revenue,
                }
            )
        )
    return {"recorded": len(event["Records"])}
