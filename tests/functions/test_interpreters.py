"""Functions run on the interpreter their Runtime names, and still see the AWS SDK."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import orjson
import pytest

from cloudlet.functions.interpreters import Interpreters, shared_paths

from .conftest import code

RUNNING = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture
def other_python(monkeypatch: pytest.MonkeyPatch) -> str:
    """A Python runtime name other than the running one that this machine can run, else skip."""
    if shutil.which("pyenv") and "PYENV_VERSION" not in os.environ:
        # pyenv's shims run only the versions they are told to: let every installed one answer.
        bare = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
        monkeypatch.setenv("PYENV_VERSION", ":".join(v for v in bare if v.startswith("3.")))
    for minor in (13, 12, 11, 10):
        name = f"python3.{minor}"
        if f"3.{minor}" != RUNNING and shutil.which(name):
            if subprocess.run([name, "-c", "pass"], capture_output=True).returncode == 0:
                return name
    pytest.skip("no second Python version on PATH")


def test_the_running_interpreter_needs_no_shared_paths(tmp_path):
    assert shared_paths(sys.executable) == []
    same = Interpreters(tmp_path).base(f"python{RUNNING}")
    assert os.path.realpath(same) == os.path.realpath(sys.executable)


def test_another_interpreter_runs_with_the_sdk(run_service, tmp_path, other_python):
    """Lambda's Python runtimes ship boto3; a function on another interpreter imports cloudlet's."""
    real = Interpreters(tmp_path).base(other_python)
    assert "shims" not in real  # the interpreter itself, which runs without pyenv's variables

    async def body(service):
        await service.create_function(
            FunctionName="sdk", Runtime=other_python, Handler="app.sdk", Code=code()
        )
        response = await service.invoke(FunctionName="sdk", Payload=b"{}")
        return orjson.loads(response["Payload"])

    result = run_service(body)
    assert result["python"] == other_python.removeprefix("python"), result
    assert result["boto3"]
