"""The ``cloudlet`` command line: --version, validate (errors name file and line), helpful errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cloudlet import __version__
from cloudlet.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "orders"


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "template.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"cloudlet {__version__}"


def test_no_command_prints_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 0
    for command in ("up", "invoke", "start-execution", "executions", "put-events", "logs", "validate"):
        assert command in out


def test_validate_accepts_the_example_app(capsys: pytest.CaptureFixture[str]) -> None:
    """The example is valid for cloudlet and, when cfn-lint is installed, cfn-lint clean (no warnings)."""
    code, out, err = run(capsys, "validate", str(EXAMPLE))
    assert code == 0, out + err
    expected = ["22 resources checked, 0 problem(s)"]
    if shutil.which("cfn-lint") is None:
        expected.insert(0, "cfn-lint is not installed: skipped (pip install cfn-lint)")
    assert out.splitlines() == expected


def test_validate_yaml_syntax_error_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(
        tmp_path,
        """
        Resources:
          Queue:
            Type: AWS::SQS::Queue
            Properties: {VisibilityTimeout: 3
        """,
    )
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert err.startswith(f"error: ValidationError: {template}:")
    line = int(err.split(f"{template}:")[1].split(":")[0])
    assert line in (4, 5)  # the unclosed mapping (PyYAML reports where it ran out of input)


def test_validate_unresolved_reference_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(
        tmp_path,
        """
        Resources:
          Queue:
            Type: AWS::SQS::Queue
            Properties:
              RedrivePolicy:
                deadLetterTargetArn: !GetAtt DeadLetters.Arn
                maxReceiveCount: 3
        """,
    )
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert f"{template}:6: " in err and "Unresolved resource dependencies [DeadLetters]" in err


def test_validate_checks_workflow_definitions_and_event_patterns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # cloudlet's own checks only
    template = write(
        tmp_path,
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition:
                StartAt: First
                States:
                  First: {Type: Pass, Next: Second}
          BigOrders:
            Type: AWS::Events::Rule
            Properties:
              EventPattern:
                detail:
                  total: [{numeric: [">=", "500"]}]
        """,
    )
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert f"{template}:4: Flow: " in out and "Second" in out and "/States/First/Next" in out
    assert f"{template}:11: BigOrders: InvalidEventPatternException: " in out
    assert "cfn-lint is not installed: skipped (pip install cfn-lint)" in out
    assert out.splitlines()[-1] == "2 resources checked, 2 problem(s)"


@pytest.mark.skipif(shutil.which("cfn-lint") is None, reason="cfn-lint is not installed")
def test_validate_reports_cfn_lint_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path,
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Queue:
            Type: AWS::SQS::Queue
            Properties:
              VisibilityTimout: 3
        """,
    )
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert "VisibilityTimout" in out and "template.yaml:6:" in out


def test_validate_without_a_template_says_what_it_looked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert err.strip() == (
        f"error: TemplateNotFound: No template found in {tmp_path}: "
        "expected one of template.yaml, template.yml, template.json"
    )


def test_commands_without_a_running_app_say_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "executions", "--endpoint-url", "http://127.0.0.1:9")
    assert code == 1
    assert err.strip() == (
        "error: no application is answering at http://127.0.0.1:9: start one with `cloudlet up DIR`, "
        "then run this command with --dir DIR (or --endpoint-url URL)"
    )


def test_bad_json_arguments_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "invoke", "Fn", "--event", "{not json", "--endpoint-url", "http://127.0.0.1:9")
    assert code == 1
    assert err.startswith("error: InvalidArgument: --event is not valid JSON: ")


@pytest.mark.integration
def test_up_refuses_a_broken_template_naming_file_and_line(tmp_path: Path) -> None:
    template = write(
        tmp_path / "app",
        """
        Resources:
          Queue:
            Type: AWS::SQS::Queue
            Properties:
              VisibilityTimeout: 999999
        """,
    )
    done = subprocess.run(
        [sys.executable, "-m", "cloudlet.cli", "up", str(template.parent), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: DeployFailed: Could not create Queue (line 2): "
        "InvalidAttributeValue: Invalid value for the parameter VisibilityTimeout."
    )
    assert "endpoint:" not in done.stdout
    assert not (template.parent / ".cloudlet" / "endpoint").exists()


@pytest.mark.integration
def test_up_rejects_parameters_the_template_does_not_declare(tmp_path: Path) -> None:
    write(tmp_path / "app", "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudlet.cli",
            "up",
            str(tmp_path / "app"),
            "--port",
            "0",
            "--parameter",
            "Stage=dev",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Parameters: ['Stage'] do not exist in the template" in done.stderr
