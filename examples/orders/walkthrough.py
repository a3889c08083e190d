"""Walk through the orders pipeline with boto3 against a running ``cloudlet up examples/orders``.

    python examples/orders/walkthrough.py [ENDPOINT]   # default: examples/orders/.cloudlet/endpoint

The same code runs against AWS when ENDPOINT is left out and the names are the deployed ones:
cloudlet only changes where the clients point.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
saved = HERE / ".cloudlet" / "endpoint"
ENDPOINT = (
    sys.argv[1]
    if len(sys.argv) > 1
    else saved.read_text().strip()
    if saved.exists()
    else "http://127.0.0.1:4566"
)
SETTINGS = {
    "endpoint_url": ENDPOINT,
    "region_name": "us-east-1",
    "aws_access_key_id": "test",
    "aws_secret_access_key": "test",
}
sfn = boto3.client("stepfunctions", **SETTINGS)
sqs = boto3.client("sqs", **SETTINGS)
logs = boto3.client("logs", **SETTINGS)
MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:OrderWorkflow"

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345"}


def place(items: list[tuple[str, int, float]], token: str = "tok_visa", country: str = "US") -> str:
    """POST /orders through the HTTP API route; returns the new order's id."""
    body = {
        "customerId": "cus-42",
        "items": [{"sku": s, "quantity": q, "unitPrice": p} for s, q, p in items],
        "paymentToken": token,
        "shippingAddress": {**ADDRESS, "country": country},
    }
    request = urllib.request.Request(
        f"{ENDPOINT}/_api/ServerlessHttpApi/orders",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    print(f"POST /orders -> {response.status} {answer}")
    return str(answer["orderId"])


def execution_of(order_id: str) -> dict:
    """The workflow execution the OrderPlaced event started for this order, once it has finished."""
    for _ in range(120):
        for summary in sfn.list_executions(stateMachineArn=MACHINE)["executions"]:
            described = sfn.describe_execution(executionArn=summary["executionArn"])
            if json.loads(described["input"])["orderId"] == order_id and described["status"] != "RUNNING":
                return described
        time.sleep(0.5)
    raise SystemExit(f"no finished execution for {order_id}")


def states_of(execution_arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def receive(queue: str, wait: float = 20.0) -> list[dict]:
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages"
        )
        if messages:
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return [json.loads(m["Body"]) for m in messages]
    return []


def printed(function: str, event: str) -> list[dict]:
    """The JSON lines a function printed to its log group with this "event" field."""
    found = []
    for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]:
        for line in e["message"].splitlines():
            if line.startswith("{") and json.loads(line).get("event") == event:
                found.append(json.loads(line))
    return found


print("1. A standard order: the workflow confirms it and fulfillment ships it")
standard = place([("KB-100", 2, 49.0), ("MS-200", 1, 25.0)])
run = execution_of(standard)
print(f"   workflow {run['status']}: {run['output']}")
print(f"   states: {' -> '.join(states_of(run['executionArn']))}")

print("2. A high-value order: fraud hold (Wait), a retried reservation, SNS fan-out")
high = place([("GPU-4090", 1, 1599.0), ("KB-100", 1, 49.0)])
run = execution_of(high)
print(f"   workflow {run['status']}")
print(f"   audit queue (SNS -> SQS): {[m['detail']['orderId'] for m in receive('AuditQueue')]}")
alerts = printed("NotifyHighValueFunction", "high_value_alert")
print(f"   notifier function (SNS -> Lambda): {[a['orderId'] for a in alerts]}")

print("3. A declined card: the Parallel state's Catch cancels the order")
declined = place([("MN-300", 1, 329.0)], token="tok_chargeDeclined")
run = execution_of(declined)
cancelled = [(m["orderId"], m["error"]) for m in receive("CancelledOrdersQueue")]
print(f"   workflow {run['status']} ({run['error']}); cancelled orders queue: {cancelled}")

print("4. An address the carrier refuses: retried, then dead-lettered")
unshippable = place([("MS-200", 2, 25.0)], country="AQ")
print(
    f"   workflow {execution_of(unshippable)['status']}; waiting for the DLQ (2 receives x 5 s visibility)..."
)
print(f"   dead-letter queue: {[m['orderId'] for m in receive('FulfillmentDLQ', wait=30)]}")

print("5. Every order reached the analytics stream consumer")
time.sleep(1)
print(f"   {[r['orderId'] for r in printed('OrderAnalyticsFunction', 'order_recorded')]}")
print(f"   shipped: {[r['orderId'] for r in printed('FulfillOrderFunction', 'shipment_booked')]}")
