"""ReserveItem: reserve stock for one order line (called once per line by the workflow's Map)."""

from __future__ import annotations

from catalog import CATALOG


class InventoryBusy(Exception):
    """The stock row is locked by another reservation; the workflow retries with backoff."""


class OutOfStock(Exception):
    """Not enough stock for this line; the workflow cancels the order."""


def handler(event: dict, context: object) -> dict:
    item = event["item"]
    product = CATALOG.get(item["sku"])
    if product is None:
        raise OutOfStock(f"{item['sku']} is not sold")
    if product["hot"] and event.get("attempt", 0) == 0:
        # Popular products are contended: the first attempt finds the row locked (simulated).
        raise InventoryBusy(f"stock of {item['sku']} is locked by another reservation")
    if product["stock"] < item["quantity"]:
        raise OutOfStock(f"only {product['stock']} of {item['sku']} left, {item['quantity']} ordered")
    reservation = {
        "reservationId": f"rsv-{event['orderId']}-{event['line']}",
        "sku": item["sku"],
        "quantity": item["quantity"],
    }
    print(f"reserved {reservation}")
    return reservation
