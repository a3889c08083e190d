"""The Runtime's life cycle: where it finds the template, which services it starts, what it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudlet.errors import CloudletError
from cloudlet.runtime import Runtime, find_template

QUEUE_ONLY = "Resources:\n  Jobs:\n    Type: AWS::SQS::Queue\n"


def test_find_template_prefers_sam_cli_order(tmp_path: Path) -> None:
    (tmp_path / "template.json").write_text("{}")
    assert find_template(tmp_path) == tmp_path / "template.json"
    (tmp_path / "template.yml").write_text("")
    assert find_template(tmp_path) == tmp_path / "template.yml"
    (tmp_path / "template.yaml").write_text("")
    assert find_template(tmp_path) == tmp_path / "template.yaml"
    assert find_template(tmp_path / "template.json") == tmp_path / "template.json"


def test_a_folder_without_template_is_refused_with_the_names_looked_for(tmp_path: Path) -> None:
    with pytest.raises(CloudletError) as missing:
        Runtime(tmp_path)
    assert missing.value.code == "TemplateNotFound"
    assert "template.yaml, template.yml, template.json" in missing.value.message


async def test_deploy_before_start_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(QUEUE_ONLY)
    with pytest.raises(CloudletError) as early:
        await Runtime(tmp_path).deploy()
    assert early.value.code == "RuntimeNotStarted"


async def test_a_subset_of_services_runs_a_template_that_needs_only_them(tmp_path: Path) -> None:
    app = tmp_path / "jobs"
    app.mkdir()
    (app / "template.yaml").write_text(QUEUE_ONLY)
    runtime = Runtime(app, services=("queues",), parameters={})
    await runtime.start()
    try:
        assert list(runtime.services) == ["queues"]
        assert runtime.stack_name == "jobs"
        outcome = await runtime.deploy()
        assert outcome.result.created == ["Jobs"]
        url = (await runtime.router.call("sqs", "GetQueueUrl", {"QueueName": "Jobs"}))["QueueUrl"]
        assert url == "http://127.0.0.1:4566/000000000000/Jobs"
    finally:
        await runtime.stop()
    assert runtime.store is None and runtime.services == {}
    assert (app / ".cloudlet" / "state.db").is_file()


async def test_template_parameters_reach_the_resources(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Parameters:\n  Stage: {Type: String, Default: dev}\n"
        "Resources:\n  Jobs:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: !Sub 'jobs-${Stage}'}\n"
    )
    runtime = Runtime(tmp_path, services=("queues",), parameters={"Stage": "prod"})
    await runtime.start()
    try:
        outcome = await runtime.deploy()
        assert outcome.application.resources["Jobs"].name == "jobs-prod"
        assert await runtime.router.call("sqs", "GetQueueUrl", {"QueueName": "jobs-prod"})
    finally:
        await runtime.stop()
