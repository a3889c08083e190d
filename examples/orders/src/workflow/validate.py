"""ValidateOrder: check the order against the catalog; decide whether it needs a fraud review hold."""

from __future__ import annotations

import os

from catalog import CATALOG, MAX_QUANTITY_PER_LINE

FRAUD_HOLD_SECONDS = int(os.environ.get("FRAUD_HOLD_SECONDS", "0"))
HIGH_VALUE_THRESHOLD = float(os.environ.get("HIGH_VALUE_THRESHOLD", "500"))


def problems(order: dict) -> list[str]:
    found = []
    for line, item in enumerate(order.get("items", [])):
        product = CATALOG.get(item["sku"])
        if product is None:
            found.append(f"line {line}: unknown product {item['sku']}")
        elif abs(product["price"] - item["unitPrice"]) > 0.005:
            found.append(f"line {line}: {item['sku']} costs {product['price']}, not {item['unitPrice']}")
        if item["quantity"] > MAX_QUANTITY_PER_LINE:
            found.append(f"line {line}: at most {MAX_QUANTITY_PER_LINE} of one product per order")
    return found


def handler(event: dict, context: object) -> dict:
    found = problems(event)
    high_value = event["total"] >= HIGH_VALUE_THRESHOLD
    result = {
        "valid": not found,
        "reason": "; ".join(found) if found else None,
        "fraudHoldSeconds": FRAUD_HOLD_SECONDS if high_value and not found else 0,
    }
    print(f"validated {event['orderId']}: {result}")
    return result
