"""The AWS-recorded PutEvents-with-rule cases, run through PutEvents and a rule's target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import ACCOUNT, REGION, Env

CASES_FILE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases" / "patterns.json"
TARGET = f"arn:aws:sqs:{REGION}:{ACCOUNT}:conformance"


def _cases() -> list[dict[str, Any]]:
    if not CASES_FILE.exists():
        return []
    return [c for c in json.loads(CASES_FILE.read_text()) if c["category"] == "put_events_rule"]


CASES = _cases()


@pytest.mark.skipif(not CASES, reason=f"conformance cases not found at {CASES_FILE}")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_put_events_rule_case(run: Any, case: dict[str, Any]) -> None:
    event = json.loads(case["event_text"])

    async def scenario(env: Env) -> None:
        got = env.target(TARGET)
        await env.events.put_rule(Name="case", EventPattern=case["pattern_text"])
        await env.events.put_targets(Rule="case", Targets=[{"Id": "t", "Arn": TARGET}])
        result = await env.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event.get("resources") or [],
                }
            ]
        )
        assert result["FailedEntryCount"] == 0
        await env.events.dispatcher.drained()
        await env.settle()
        assert len(got) == (1 if case["expect"] == "match" else 0)

    run(scenario)
