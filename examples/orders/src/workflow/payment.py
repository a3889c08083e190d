"""ChargePayment: charge the order total to the customer's payment token (a simulated provider)."""

from __future__ import annotations

import hashlib

#: Test tokens in the style of payment providers' sandboxes.
DECLINED_TOKENS = {"tok_chargeDeclined", "tok_insufficientFunds"}


class PaymentDeclined(Exception):
    """The provider declined the charge; the workflow cancels the order."""


def handler(event: dict, context: object) -> dict:
    token = event["paymentToken"]
    if token in DECLINED_TOKENS:
        raise PaymentDeclined(f"the card behind {token} was declined")
    # The order id is the idempotency key: a retried charge returns the same charge.
    charge_id = "ch_" + hashlib.sha256(event["orderId"].encode()).hexdigest()[:20]
    charge = {
        "chargeId": charge_id,
        "amount": event["amount"],
        "currency": event["currency"],
        "status": "captured",
    }
    print(f"charged {charge}")
    return charge
