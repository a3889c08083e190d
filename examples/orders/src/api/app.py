"""POST /orders: validate the request, emit an OrderPlaced event and an order record.

The event goes to the orders event bus (rules start the workflow and route high-value orders);
the record goes to the orders stream (analytics). boto3 reaches the local endpoint through
AWS_ENDPOINT_URL, exactly as it reaches AWS when that variable is unset.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import boto3

EVENT_BUS_NAME = os.environ["EVENT_BUS_NAME"]
STREAM_NAME = os.environ["STREAM_NAME"]
SOURCE = "com.example.orders"

# Created once per execution environment (init), reused by every invocation.
events = boto3.client("events")
kinesis = boto3.client("kinesis")

ADDRESS_FIELDS = ("name", "line1", "city", "postalCode", "country")


class BadRequest(Exception):
    """The request body is not a valid order; the message lists what is wrong."""


def _money(value: object, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise BadRequest(f"{where} must be a number") from None
    if not amount.is_finite() or amount < 0:
        raise BadRequest(f"{where} must be a non-negative number")
    return amount


def parse_order(body: dict) -> dict:
    """The order to place, or BadRequest naming the first invalid field."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    customer = body.get("customerId")
    if not isinstance(customer, str) or not customer.strip():
        raise BadRequest("customerId is required")
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 50:
        raise BadRequest("items must be a list of 1 to 50 order lines")
    lines = []
    total = Decimal(0)
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"]:
            raise BadRequest(f"items[{i}].sku is required")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 100:
            raise BadRequest(f"items[{i}].quantity must be an integer from 1 to 100")
        price = _money(item.get("unitPrice"), f"items[{i}].unitPrice")
        total += price * quantity
        lines.append({"sku": item["sku"], "quantity": quantity, "unitPrice": float(price)})
    currency = body.get("currency", "USD")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise BadRequest("currency must be a three-letter ISO 4217 code")
    token = body.get("paymentToken")
    if not isinstance(token, str) or not token.startswith("tok_"):
        raise BadRequest("paymentToken must be a payment token (tok_...)")
    address = body.get("shippingAddress")
    if not isinstance(address, dict):
        raise BadRequest("shippingAddress is required")
    missing = [f for f in ADDRESS_FIELDS if not isinstance(address.get(f), str) or not address[f]]
    if missing:
        raise BadRequest(f"shippingAddress is missing {', '.join(missing)}")
    return {
        "orderId": f"ord-{uuid.uuid4().hex[:16]}",
        "customerId": customer,
        "items": lines,
        "total": float(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
        "currency": currency.upper(),
        "paymentToken": token,
        "shippingAddress": {f: address[f] for f in ADDRESS_FIELDS},
        "placedAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def _response(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def handler(event: dict, context: object) -> dict:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    try:
        order = parse_order(json.loads(raw or "null"))
    except json.JSONDecodeError:
        return _response(400, {"message": "the body must be JSON"})
    except BadRequest as exc:
        return _response(400, {"message": str(exc)})

    result = events.put_events(
        Entries=[
            {
                "EventBusName": EVENT_BUS_NAME,
                "Source": SOURCE,
                "DetailType": "OrderPlaced",
                "Detail": json.dumps(order),
            }
        ]
    )
    if result.get("FailedEntryCount"):
        entry = result["Entries"][0]
        print(json.dumps({"event": "put_events_failed", "orderId": order["orderId"], **entry}))
        return _response(503, {"message": "the order could not be placed, try again"})
    summary = {k: order[k] for k in ("orderId", "customerId", "total", "currency", "placedAt")}
    summary["lines"] = len(order["items"])
    kinesis.put_record(
        StreamName=STREAM_NAME, Data=json.dumps(summary).encode(), PartitionKey=order["customerId"]
    )
    print(json.dumps({"event": "order_placed", "orderId": order["orderId"], "total": order["total"]}))
    return _response(
        201,
        {
            "orderId": order["orderId"],
            "status": "PLACED",
            "total": order["total"],
            "currency": order["currency"],
        },
    )
