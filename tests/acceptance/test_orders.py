"""The orders example end to end: ``cloudlet up examples/orders`` in a subprocess, driven over HTTP and boto3.

One module-scoped app takes six orders through every path of the pipeline (HTTP API -> event
bus -> workflow with Choice/Wait/Parallel/Map/Retry/Catch -> SQS -> function with partial batch
failures -> DLQ; high-value rule -> SNS fan-out to a function and a queue; Kinesis -> function).
A second app is stopped while a workflow waits and started again: the flow completes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.running_app import ACCOUNT, REGION, RunningApp, cloudlet_command, copy_example, wait_for

pytestmark = [pytest.mark.acceptance, pytest.mark.integration]

MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:OrderWorkflow"
ORDERS = "/_api/ServerlessHttpApi/orders"

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345"}


def order(*lines: tuple[str, int, float], token: str = "tok_visa", country: str = "US") -> dict[str, Any]:
    return {
        "customerId": "cus-42",
        "items": [{"sku": sku, "quantity": q, "unitPrice": p} for sku, q, p in lines],
        "paymentToken": token,
        "shippingAddress": {**ADDRESS, "country": country},
    }


def place(app: RunningApp, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = app.http("POST", ORDERS, body)
    assert status == 201, (status, answer)
    assert answer["status"] == "PLACED" and answer["orderId"].startswith("ord-")
    return answer


def executions_by_order(app: RunningApp) -> dict[str, dict[str, Any]]:
    """orderId -> DescribeExecution of the workflow execution the OrderPlaced event started."""
    sfn = app.client("stepfunctions")
    found = {}
    for summary in sfn.list_executions(stateMachineArn=MACHINE_ARN, maxResults=100)["executions"]:
        described = sfn.describe_execution(executionArn=summary["executionArn"])
        found[json.loads(described["input"])["orderId"]] = described
    return found


def finished(app: RunningApp, order_ids: list[str]) -> dict[str, dict[str, Any]] | None:
    found = executions_by_order(app)
    if all(i in found and found[i]["status"] != "RUNNING" for i in order_ids):
        return found
    return None


def history(app: RunningApp, execution_arn: str) -> list[dict[str, Any]]:
    sfn = app.client("stepfunctions")
    return sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def entered(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(state type, state name) of every state the execution entered, in order."""
    return [
        (e["type"].removesuffix("StateEntered"), e["stateEnteredEventDetails"]["name"])
        for e in events
        if e["type"].endswith("StateEntered")
    ]


def receive_all(app: RunningApp, queue: str, expect: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Receive (and delete) messages from ``queue`` until ``expect`` have arrived."""
    sqs = app.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    got: list[dict[str, Any]] = []

    def probe() -> bool:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= expect

    wait_for(f"{expect} message(s) on {queue}", probe, timeout=timeout, interval=0)
    return got


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app_dir = copy_example("orders", tmp_path_factory.mktemp("acceptance"))
    with RunningApp(app_dir, "--parameter", "FraudHoldSeconds=1") as running:
        yield running
        code = running.stop(signal.SIGTERM)
        assert code == 0, running.output
        assert "stopping" in running.output


@pytest.fixture(scope="module")
def placed(app: RunningApp) -> dict[str, dict[str, Any]]:
    """Six orders, one for each path through the pipeline, placed over HTTP."""
    bodies = {
        "standard": order(("KB-100", 2, 49.0), ("MS-200", 1, 25.0)),  # 123.00
        "high_value": order(("GPU-4090", 1, 1599.0), ("KB-100", 1, 49.0)),  # hot item: retried
        "declined": order(("MN-300", 1, 329.0), token="tok_chargeDeclined"),
        "out_of_stock": order(("CAM-050", 1, 59.0)),
        "mispriced": order(("LP-900", 1, 129.0)),  # passes the API, rejected by ValidateOrder
        "unshippable": order(("MS-200", 2, 25.0), country="AQ"),  # carrier refuses: DLQ
    }
    return {name: place(app, body) for name, body in bodies.items()}


def test_the_ready_line_and_resource_table(app: RunningApp) -> None:
    assert app.ready_seconds < 20, app.output
    table = app.output
    for row in ("OrderWorkflow", "FulfillmentQueue", "HighValueTopic", "OrdersStream", "POST /orders"):
        assert row in table
    assert f"{app.endpoint}/_api/ServerlessHttpApi/orders" in table
    assert (app.app_dir / ".cloudlet" / "endpoint").read_text() == app.endpoint


def test_the_api_rejects_invalid_orders(app: RunningApp) -> None:
    status, answer = app.http("POST", ORDERS, {"customerId": "cus-1", "items": []})
    assert status == 400
    assert answer == {"message": "items must be a list of 1 to 50 order lines"}
    status, answer = app.http("POST", ORDERS, order(("KB-100", 0, 49.0)))
    assert status == 400 and "quantity" in answer["message"]


def test_workflow_outcomes(app: RunningApp, placed: dict[str, dict[str, Any]]) -> None:
    ids = {name: p["orderId"] for name, p in placed.items()}
    runs = wait_for("every order's workflow to finish", lambda: finished(app, list(ids.values())), 40)

    standard = runs[ids["standard"]]
    assert standard["status"] == "SUCCEEDED"
    output = json.loads(standard["output"])
    assert output == {
        "orderId": ids["standard"],
        "status": "CONFIRMED",
        "total": 123.0,
        "currency": "USD",
        "chargeId": output["chargeId"],
        "reservations": [f"rsv-{ids['standard']}-0", f"rsv-{ids['standard']}-1"],
        "fulfillmentMessageId": output["fulfillmentMessageId"],
    }
    assert output["chargeId"].startswith("ch_")
    states = entered(history(app, standard["executionArn"]))
    assert states[:2] == [("Task", "ValidateOrder"), ("Choice", "IsOrderValid")]
    assert ("Parallel", "ProcessOrder") in states and ("Map", "ReserveInventory") in states
    assert states.count(("Task", "ReserveItem")) == 2 and ("Task", "ChargePayment") in states
    assert ("Wait", "FraudReviewHold") not in states  # below the high-value threshold
    assert states[-2:] == [("Task", "RequestFulfillment"), ("Pass", "OrderConfirmed")]

    high = runs[ids["high_value"]]
    assert high["status"] == "SUCCEEDED"
    assert json.loads(high["output"])["total"] == 1648.0
    events = history(app, high["executionArn"])
    assert ("Wait", "FraudReviewHold") in entered(events)
    failures = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == ["InventoryBusy"]  # then retried, and it succeeded
    assert "locked by another reservation" in failures[0]["cause"]

    for name, error in (("declined", "OrderCancelled"), ("out_of_stock", "OrderCancelled")):
        run = runs[ids[name]]
        assert (run["status"], run.get("error")) == ("FAILED", error), name
        assert ("Task", "CancelOrder") in entered(history(app, run["executionArn"]))

    rejected = runs[ids["mispriced"]]
    assert (rejected["status"], rejected["error"]) == ("FAILED", "OrderRejected")
    assert rejected["cause"] == "line 0: LP-900 costs 1299.0, not 129.0"
    rejected_states = entered(history(app, rejected["executionArn"]))
    assert rejected_states[-1] == ("Fail", "RejectOrder")
    assert ("Parallel", "ProcessOrder") not in rejected_states

    assert runs[ids["unshippable"]]["status"] == "SUCCEEDED"  # it fails later, in fulfillment


def test_catch_path_cancels_through_the_queue(app: RunningApp, placed: dict[str, dict[str, Any]]) -> None:
    messages = receive_all(app, "CancelledOrdersQueue", expect=2, timeout=40)
    bodies = {json.loads(m["Body"])["orderId"]: json.loads(m["Body"]) for m in messages}
    declined = bodies[placed["declined"]["orderId"]]
    assert declined["error"] == "PaymentDeclined"
    assert "tok_chargeDeclined" in json.loads(declined["cause"])["errorMessage"]
    assert bodies[placed["out_of_stock"]["orderId"]]["error"] == "OutOfStock"


def test_fulfillment_ships_good_orders_and_dead_letters_the_rest(
    app: RunningApp, placed: dict[str, dict[str, Any]]
) -> None:
    shipped = {placed[n]["orderId"] for n in ("standard", "high_value")}

    def booked() -> set[str]:
        records = app.log_records("FulfillOrderFunction")
        return {r["orderId"] for r in records if r["event"] == "shipment_booked"}

    assert wait_for("shipments of the confirmed orders", lambda: shipped <= booked(), 40)
    unshippable = placed["unshippable"]["orderId"]
    assert unshippable not in booked()
    # maxReceiveCount 2, visibility timeout 5 s: the second failed receive sends it to the DLQ.
    (dead,) = receive_all(app, "FulfillmentDLQ", expect=1, timeout=40)
    assert json.loads(dead["Body"])["orderId"] == unshippable
    attempts = [
        r
        for r in app.log_records("FulfillOrderFunction")
        if r["event"] == "shipment_failed" and r["orderId"] == unshippable
    ]
    assert len(attempts) == 2 and attempts[0]["reason"] == "the carrier does not deliver to AQ"


def test_high_value_rule_fans_out_to_function_and_queue(
    app: RunningApp, placed: dict[str, dict[str, Any]]
) -> None:
    high = placed["high_value"]["orderId"]
    alerts = wait_for(
        "the high-value alert",
        lambda: [r for r in app.log_records("NotifyHighValueFunction") if r["event"] == "high_value_alert"],
    )
    assert [a["orderId"] for a in alerts] == [high]  # only the order at or above 500
    assert alerts[0]["topic"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:HighValueTopic"
    (audit,) = receive_all(app, "AuditQueue", expect=1)
    event = json.loads(audit["Body"])  # raw message delivery: the EventBridge event itself
    assert event["detail-type"] == "OrderPlaced" and event["detail"]["orderId"] == high
    # Nothing else reached the audit queue: the numeric >= 500 filter held the other orders back.
    sqs = app.client("sqs")
    url = sqs.get_queue_url(QueueName="AuditQueue")["QueueUrl"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)


def test_stream_consumer_records_every_order(app: RunningApp, placed: dict[str, dict[str, Any]]) -> None:
    expected = {p["orderId"]: p["total"] for p in placed.values()}

    def recorded() -> dict[str, float]:
        return {
            r["orderId"]: r["total"]
            for r in app.log_records("OrderAnalyticsFunction")
            if r["event"] == "order_recorded"
        }

    got = wait_for("every order on the analytics stream", lambda: expected.items() <= recorded().items())
    assert got
    # The same records are readable from the stream with boto3.
    kinesis = app.client("kinesis")
    shard = kinesis.list_shards(StreamName="OrdersStream")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="OrdersStream", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=100)["Records"]
    assert {json.loads(r["Data"])["orderId"] for r in records} >= set(expected)


def test_cloudlet_cli_against_the_running_app(app: RunningApp, placed: dict[str, dict[str, Any]]) -> None:
    def cloudlet(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cloudlet_command(), *args, "--dir", str(app.app_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    valid = cloudlet(
        "invoke",
        "ValidateOrderFunction",
        "--event",
        json.dumps({**order(("KB-100", 1, 49.0)), "orderId": "o-1", "total": 49.0}),
    )
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout) == {"valid": True, "reason": None, "fraudHoldSeconds": 0}
    listed = cloudlet("executions", "OrderWorkflow")
    assert listed.returncode == 0 and "SUCCEEDED" in listed.stdout and "FAILED" in listed.stdout
    sample = app.app_dir / "events" / "order.json"
    watched = cloudlet("start-execution", "OrderWorkflow", "--input", f"@{sample}", "--watch")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "▶ ReserveInventory  (Map)" in watched.stdout and "status: SUCCEEDED" in watched.stdout
    assert "✓ OrderConfirmed" in watched.stdout  # every state is rendered, up to the last
    logs = cloudlet("logs", "PlaceOrderFunction")
    assert logs.returncode == 0 and '"event": "order_placed"' in logs.stdout


def test_aws_cli_smoke(app: RunningApp, placed: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )

    def run(*args: str) -> Any:
        done = subprocess.run(
            [aws, "--endpoint-url", app.endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    machines = run("stepfunctions", "list-state-machines")["stateMachines"]
    assert [m["name"] for m in machines] == ["OrderWorkflow"]
    rules = run("events", "list-rules", "--event-bus-name", "orders")["Rules"]
    assert {r["Name"] for r in rules} == {"HighValueOrderRule", "OrderWorkflowOrderPlaced"}
    url = run("sqs", "get-queue-url", "--queue-name", "FulfillmentQueue")["QueueUrl"]
    attributes = run("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "RedrivePolicy")
    assert json.loads(attributes["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 2
    payload = {
        "orderId": "o-9",
        "customerId": "c",
        "amount": 10,
        "currency": "USD",
        "paymentToken": "tok_visa",
    }
    result = tmp_path / "charge.json"
    answer = run(
        "lambda",
        "invoke",
        "--function-name",
        "ChargePaymentFunction",
        "--payload",
        json.dumps(payload),
        str(result),
    )
    assert answer["StatusCode"] == 200
    assert json.loads(result.read_text())["status"] == "captured"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_restart_mid_flow_completes_the_order(tmp_path: Path, sig: signal.Signals) -> None:
    """Stop the app while a workflow waits in its fraud hold; the next start finishes it."""
    app_dir = copy_example("orders", tmp_path)
    args = ("--parameter", "FraudHoldSeconds=6", "--no-reload")
    first = RunningApp(app_dir, *args)
    try:
        order_id = place(first, order(("LP-900", 1, 1299.0)))["orderId"]

        def waiting() -> bool:
            runs = executions_by_order(first)
            if order_id not in runs:
                return False
            return ("Wait", "FraudReviewHold") in entered(history(first, runs[order_id]["executionArn"]))

        wait_for("the workflow to enter its fraud hold", waiting, 20)
        assert executions_by_order(first)[order_id]["status"] == "RUNNING"
    finally:
        code = first.stop(sig)
    killed_at = time.time()
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 0), first.output

    with RunningApp(app_dir, *args) as second:
        # Nothing is created or deleted again (with --port 0 the queue URLs in the workflow's
        # definition name a new port, so it is updated in place; executions keep their version).
        assert "deployed in" in second.output and "0 created" in second.output
        assert "0 deleted" in second.output
        runs = wait_for("the interrupted workflow to finish", lambda: finished(second, [order_id]), 30)
        run = runs[order_id]
        assert run["status"] == "SUCCEEDED", run
        assert json.loads(run["output"])["status"] == "CONFIRMED"
        events = history(second, run["executionArn"])
        states = entered(events)
        assert states.count(("Wait", "FraudReviewHold")) == 1
        (waited,) = [e for e in events if e["type"] == "WaitStateExited"]
        assert waited["timestamp"].timestamp() > killed_at  # the hold was cut by the kill, then resumed
        assert ("Pass", "OrderConfirmed") in states

        def shipped() -> bool:
            return any(
                r["event"] == "shipment_booked" and r["orderId"] == order_id
                for r in second.log_records("FulfillOrderFunction")
            )

        wait_for("the shipment of the interrupted order", shipped, 20)
        assert second.stop(signal.SIGTERM) == 0


@pytest.mark.slow
def test_the_readme_walkthrough_script_runs(app: RunningApp, placed: dict[str, dict[str, Any]]) -> None:
    """examples/orders/walkthrough.py, as the README runs it, against the running app."""
    done = subprocess.run(
        [sys.executable, str(app.app_dir / "walkthrough.py"), app.endpoint],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("POST /orders -> 201") == 4
    assert "workflow FAILED (OrderCancelled)" in out and "'PaymentDeclined')]" in out
    assert "states: ValidateOrder -> IsOrderValid -> ProcessOrder" in out
    dead = [line for line in out.splitlines() if line.startswith("   dead-letter queue: ")]
    assert len(dead) == 1 and "ord-" in dead[0]
