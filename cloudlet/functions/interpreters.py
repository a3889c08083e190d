"""Which Python runs a function: the one its Runtime names, and its requirements' environment.

A function runs on the interpreter its ``Runtime`` names (``python3.13`` -> ``python3.13`` on
PATH) when that command exists and really is that version; otherwise on the running
interpreter, with a warning, never a refusal. A ``requirements.txt`` in the code directory is
installed once into a virtual environment cached under the hash of its content and of the
interpreter, the way ``sam build`` bundles dependencies; without one the function sees the
running environment's packages.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from cloudlet.functions.errors import InvalidRuntime, ServiceFailure

logger = logging.getLogger(__name__)


class Interpreters:
    """Resolves and caches the interpreter of each runtime and each requirements environment."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._probed: dict[str, str] = {}
        self._venv_locks: dict[str, asyncio.Lock] = {}

    def base(self, runtime: str) -> str:
        """The interpreter for ``runtime`` (probed once), falling back to the running one."""
        found = self._probed.get(runtime)
        if found is not None:
            return found
        if not runtime.startswith("python"):
            raise InvalidRuntime(
                f"The runtime parameter of {runtime} is not supported by cloudlet: "
                "it runs Python functions only."
            )
        wanted = runtime[len("python") :]
        exe = shutil.which(runtime)
        chosen = sys.executable
        probed = _probe(exe) if exe is not None else None
        if probed is not None and probed[0] == wanted:
            # The interpreter's own path, not a launcher shim (pyenv's need variables functions do not get).
            chosen = probed[1]
        elif f"{sys.version_info[0]}.{sys.version_info[1]}" != wanted:
            logger.warning(
                "runtime interpreter not found; using the running interpreter",
                extra={"action": "resolve_runtime", "runtime": runtime, "interpreter": sys.executable},
            )
        self._probed[runtime] = chosen
        return chosen

    async def for_code(self, runtime: str, code_dir: str) -> str:
        """The interpreter that runs code in ``code_dir``: a cached venv when it has requirements.txt."""
        base = await asyncio.to_thread(self.base, runtime)
        requirements = Path(code_dir) / "requirements.txt"
        if not requirements.is_file():
            return base
        content = requirements.read_bytes()
        digest = hashlib.sha256(content + b"\0" + base.encode()).hexdigest()[:24]
        venv = self.cache_dir / digest
        python = venv / "bin" / "python"
        if (venv / ".complete").exists():
            return str(python)
        lock = self._venv_locks.setdefault(digest, asyncio.Lock())
        async with lock:
            if not (venv / ".complete").exists():
                await asyncio.to_thread(_build_venv, base, venv, requirements)
        return str(python)


def shared_paths(interpreter: str) -> list[str]:
    """Where a function on ``interpreter`` finds the running environment's packages.

    A function without requirements.txt sees the running environment (DESIGN.md), as Lambda's
    runtimes come with the AWS SDK: on another interpreter that means appending this
    environment's pure-Python site-packages to its path (boto3 and friends import there; a
    compiled package built for this interpreter is not found by the other one).
    """
    if os.path.dirname(os.path.abspath(interpreter)) == os.path.dirname(os.path.abspath(sys.executable)):
        return []  # the same environment (a venv's python and python3.X sit side by side)
    paths = sysconfig.get_paths()
    return [p for p in dict.fromkeys((paths["purelib"], paths["platlib"])) if os.path.isdir(p)]


def _probe(exe: str) -> tuple[str, str] | None:
    """(major.minor, sys.executable) of ``exe``, or None when it does not run."""
    try:
        out = subprocess.run(
            [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.split("\n")
    if out.returncode != 0 or len(lines) < 2 or not lines[1].strip():
        return None
    return lines[0].strip(), lines[1].strip()


def _build_venv(base: str, venv: Path, requirements: Path) -> None:
    """Create ``venv`` with ``base`` and pip-install ``requirements`` into it (atomically renamed)."""
    staging = venv.with_name(venv.name + f".building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    logger.info(
        "installing function requirements", extra={"action": "build_venv", "requirements": str(requirements)}
    )
    steps = [
        [base, "-m", "venv", str(staging)],
        [
            str(staging / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-q",
            "-r",
            str(requirements),
        ],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, cwd=requirements.parent, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            tail = (done.stderr or done.stdout).strip()[-2000:]
            raise ServiceFailure(f"cloudlet could not install {requirements}: {tail}")
    # The venv's scripts carry its path; a venv moved by rename keeps working for `python -m`.
    (staging / ".complete").write_text(str(requirements))
    shutil.rmtree(venv, ignore_errors=True)
    os.rename(staging, venv)
