"""FulfillOrder: book a shipment for each confirmed order on the fulfillment queue.

Reports partial batch failures (ReportBatchItemFailures): only the failed messages return to
the queue; after maxReceiveCount receives they move to the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import json

#: Countries the carrier delivers to.
SHIPS_TO = {"US", "CA", "MX", "GB", "IE", "FR", "DE", "NL", "BE", "ES", "IT", "SE", "DK", "NO", "JP", "AU"}


class CannotShip(Exception):
    """The carrier refuses the shipment."""


def book_shipment(order: dict) -> str:
    country = order["shippingAddress"]["country"]
    if country not in SHIPS_TO:
        raise CannotShip(f"the carrier does not deliver to {country}")
    return "TRK" + hashlib.sha256(order["orderId"].encode()).hexdigest()[:12].upper()


def handler(event: dict, context: object) -> dict:
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        try:
            tracking = book_shipment(order)
        except CannotShip as exc:
            print(json.dumps({"event": "shipment_failed", "orderId": order["orderId"], "reason": str(exc)}))
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        print(json.dumps({"event": "shipment_booked", "orderId": order["orderId"], "tracking": tracking}))
    return {"batchItemFailures": failures}
