"""requirements.txt: installed once into a venv cached by its hash, seen only by that function."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.functions.conftest import FIXTURES

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _wheel(folder: Path) -> Path:
    """A tiny pure-Python wheel built by hand (no network, no build backend)."""
    path = folder / "tinydep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("tinydep/__init__.py", "VALUE = 42\n")
        wheel.writestr(
            "tinydep-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n"
        )
        wheel.writestr(
            "tinydep-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: cloudlet-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(
            "tinydep-1.0.dist-info/RECORD",
            "tinydep/__init__.py,,\ntinydep-1.0.dist-info/METADATA,,\n"
            "tinydep-1.0.dist-info/WHEEL,,\ntinydep-1.0.dist-info/RECORD,,\n",
        )
    return path


def test_requirements_are_installed_once(run_service, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    _wheel(code)
    (code / "requirements.txt").write_text("--no-index\n./tinydep-1.0-py3-none-any.whl\n")
    (code / "main.py").write_text(
        "import sys, tinydep\n\n"
        "def handler(e, c):\n    return {'value': tinydep.VALUE, 'exe': sys.executable}\n"
    )

    async def body(f):
        await f.create_function(
            FunctionName="deps",
            Runtime="python3.11",
            Handler="main.handler",
            Code={"S3Bucket": "local", "S3Key": str(code)},
            Timeout=30,
        )
        await f.create_function(
            FunctionName="plain",
            Runtime="python3.11",
            Handler="app.context_info",
            Code={"S3Bucket": "local", "S3Key": str(FIXTURES / "basic")},
        )
        first = json.loads((await f.invoke(FunctionName="deps"))["Payload"])
        assert first["value"] == 42
        venvs = list((f.data_dir / "venvs").iterdir())
        assert len(venvs) == 1 and first["exe"].startswith(str(venvs[0]))
        f.host.retire("deps")  # a cold start again: the cached venv is reused, not rebuilt
        marker = (venvs[0] / ".complete").stat().st_mtime_ns
        second = json.loads((await f.invoke(FunctionName="deps"))["Payload"])
        assert second == first and (venvs[0] / ".complete").stat().st_mtime_ns == marker
        assert json.loads((await f.invoke(FunctionName="plain"))["Payload"])["function_name"] == "plain"

    run_service(body)
