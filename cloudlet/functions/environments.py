"""Execution environments: function processes, the snapshots they fork from, and their pools.

An environment is one OS process running ``lambda_runtime/bootstrap.py``; it serves one
invocation at a time and stays warm (module globals persist) until reaped when idle. Every
process connects back to the host's Unix socket and speaks the small protocol described in
``bootstrap``. With snapshots on, a pool first starts a *snapshot process* that runs init once,
then asks it to ``fork`` each new environment, which costs milliseconds instead of a new
interpreter's import time (Lambda SnapStart). The snapshot process freezes its heap for the
garbage collector (so restored environments keep sharing its pages) and clones itself once per
core, so a burst of cold starts forks in parallel. Limits are the parent's job: an invocation past
its deadline, or a process whose resident memory passes MemorySize, is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cloudlet.functions.errors import ServiceFailure
from cloudlet.functions.interpreters import Interpreters, shared_paths
from cloudlet.functions.lambda_runtime import bootstrap
from cloudlet.functions.model import INIT_TIMEOUT, FunctionSpec, lambda_environment, log_stream_name

logger = logging.getLogger(__name__)

BOOTSTRAP = bootstrap.__file__
RUNTIME_DIR = os.path.dirname(BOOTSTRAP)
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MB = 1024 * 1024
_SIGNAL_WORDS = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGINT: "interrupt",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one invocation produced, as the service reports and logs it."""

    #: "success", "error" (handler or init error), "timeout", "crash" (process exited), "oom"
    status: str
    payload: bytes
    error_type: str | None
    duration_ms: float
    max_memory_mb: int
    init_ms: float | None
    restore_ms: float | None
    #: the environment's stdout/stderr during this invocation
    output: str
    log_stream: str
    #: what init (or restore) wrote, for the invocation that cold-started the environment
    init_output: str = ""
    #: "init" when the environment failed before the handler ran
    phase: str = "invoke"


class EnvironmentGone(Exception):
    """The environment's process ended while the parent waited for it."""


async def _read_message(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes]:
    raw = await reader.readexactly(bootstrap.HEADER.size)
    head_len, body_len = bootstrap.HEADER.unpack(raw)
    head = orjson.loads(await reader.readexactly(head_len))
    body = await reader.readexactly(body_len) if body_len else b""
    return head, body


def exit_description(returncode: int) -> str:
    """Go-style process state, as Lambda words it: ``signal: killed``, ``exit status 1``."""
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:
            return f"signal: {-returncode}"
        return f"signal: {_SIGNAL_WORDS.get(sig, sig.name.lower())}"
    return f"exit status {returncode}"


class Environment:
    """One execution environment process and its connection."""

    def __init__(self, pool: Pool, env_id: str, log_path: Path, stream: str) -> None:
        self.pool = pool
        self.env_id = env_id
        self.log_path = log_path
        self.log_stream = stream
        self.pid: int | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.state = "starting"
        self.last_used = time.monotonic()
        self.init_ms: float | None = None
        self.restore_ms: float | None = None
        self.oom = False
        self.init_output = ""
        self._log_fd = os.open(log_path, os.O_RDONLY | os.O_CREAT, 0o600)
        self._log_offset = 0

    @property
    def alive(self) -> bool:
        return self.state in ("starting", "idle", "busy")

    def read_output(self) -> str:
        """Everything the process wrote to stdout/stderr since the last call."""
        try:
            size = os.fstat(self._log_fd).st_size
            if size <= self._log_offset:
                return ""
            data = os.pread(self._log_fd, size - self._log_offset, self._log_offset)
        except OSError:
            return ""
        self._log_offset += len(data)
        return data.decode("utf-8", "replace")

    def rss_bytes(self) -> int:
        """Resident memory now (0 when the process is gone)."""
        if self.pid is None:
            return 0
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            return 0

    def max_memory_mb(self) -> int:
        """Peak resident memory of the process (VmHWM), in MB."""
        if self.pid is None:
            return 0
        try:
            with open(f"/proc/{self.pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmHWM:"):
                        return max(1, round(int(line.split()[1]) / 1024))
        except (OSError, ValueError):
            pass
        return 0

    def kill(self) -> None:
        """SIGKILL the process; the environment is never used again."""
        if self.state != "dead":
            self.state = "dead"
            self.pool.forget(self)
            self.pool.host.abandon(self.env_id)
        if self.pid is not None:
            _kill_group(self.pid)
        if self.writer is not None:
            self.writer.close()
        if self.process is not None:
            self.pool.host.collect(self.process)

    def close_files(self) -> None:
        if self._log_fd < 0:
            return
        with contextlib.suppress(OSError):
            os.close(self._log_fd)
        self._log_fd = -1
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)

    async def exit_status(self, wait: float = 2.0) -> int | None:
        """The process's return code (negative for a signal), once it has ended."""
        if self.process is not None:
            try:
                return await asyncio.wait_for(self.process.wait(), wait)
            except TimeoutError:
                return None
        try:
            return await asyncio.wait_for(asyncio.shield(self.exited), wait)
        except TimeoutError:
            return None

    async def send(self, header: dict[str, Any], body: bytes = b"") -> None:
        assert self.writer is not None
        self.writer.write(bootstrap.encode_message(header, body))
        await self.writer.drain()

    async def receive(self) -> tuple[dict[str, Any], bytes]:
        assert self.reader is not None
        try:
            return await _read_message(self.reader)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise EnvironmentGone() from exc


class SnapshotProcess:
    """The process that ran init once and forks restored environments on request."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.children: dict[int, Environment] = {}
        self.reply_waiters: dict[str, asyncio.Future[int]] = {}
        self.error: dict[str, Any] | None = None
        self.init_ms: float = 0.0
        self._reader_task: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                header, _ = await self.env.receive()
                if header["op"] == "forked":
                    waiter = self.reply_waiters.pop(header["env_id"], None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(header["pid"])
                elif header["op"] == "exited":
                    child = self.children.pop(header["pid"], None)
                    if child is not None and not child.exited.done():
                        child.exited.set_result(os.waitstatus_to_exitcode(header["status"]))
        except EnvironmentGone:
            self.env.state = "dead"
            for child in self.children.values():
                if not child.exited.done():
                    child.exited.set_result(-signal.SIGKILL)
            for waiter in self.reply_waiters.values():
                if not waiter.done():
                    waiter.set_exception(EnvironmentGone())

    async def fork(self, env: Environment, socket_path: str, environ: dict[str, str]) -> int:
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.reply_waiters[env.env_id] = waiter
        await self.env.send(
            {
                "op": "fork",
                "env_id": env.env_id,
                "log_path": str(env.log_path),
                "socket": socket_path,
                "environ": environ,
            }
        )
        pid = await waiter
        self.children[pid] = env
        return pid

    async def clone(self, forker: Environment, socket_path: str) -> int:
        """Fork a copy of this snapshot process that serves fork requests too; returns its pid."""
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.reply_waiters[forker.env_id] = waiter
        await self.env.send({"op": "clone", "env_id": forker.env_id, "socket": socket_path})
        return await waiter

    @property
    def outstanding(self) -> int:
        """Fork requests not answered yet (the load on this forker)."""
        return len(self.reply_waiters)

    def kill(self) -> None:
        self.env.kill()
        if self._reader_task is not None:
            self._reader_task.cancel()


class InitFailed(Exception):
    """Init (or restore) failed: the error object Lambda reports, and the output so far."""

    def __init__(self, error: dict[str, Any], env: Environment, status: str = "error") -> None:
        super().__init__(error.get("errorMessage", ""))
        self.error = error
        self.env = env
        self.status = status


class Pool:
    """The environments of one function version (one revision of it)."""

    def __init__(self, host: EnvironmentHost, spec: FunctionSpec, interpreter: str) -> None:
        self.host = host
        self.spec = spec
        self.interpreter = interpreter
        self.idle: list[Environment] = []
        self.envs: set[Environment] = set()
        self.snapshot: SnapshotProcess | None = None
        #: processes that fork environments from the snapshot: the snapshot process and its copies
        self.forkers: list[SnapshotProcess] = []
        self._snapshot_lock = asyncio.Lock()
        self.closed = False

    def forget(self, env: Environment) -> None:
        """``env`` is gone: drop it (and the snapshot too, once a closed pool has drained)."""
        self.envs.discard(env)
        if env in self.idle:
            self.idle.remove(env)
        self.host.active.discard(env)
        if env.pool is self and self.closed and env not in (f.env for f in self.forkers):
            self._finish_closing()

    def take_idle(self) -> Environment | None:
        """The most recently used warm environment (so surplus ones go idle and get reaped)."""
        while self.idle:
            env = self.idle.pop()
            if env.state == "idle":
                env.state = "busy"
                return env
        return None

    async def acquire(self) -> tuple[Environment, bool]:
        """A busy environment for one invocation and whether it was a cold start."""
        env = self.take_idle()
        if env is not None:
            return env, False
        return await self.cold_start(), True

    def release(self, env: Environment) -> None:
        """An environment finished an invocation: keep it warm for the next one."""
        self.host.active.discard(env)
        if env.state != "busy" or self.closed:
            env.kill()
            env.close_files()
            return
        env.state = "idle"
        env.last_used = time.monotonic()
        self.idle.append(env)

    def _new_environment(self) -> Environment:
        env_id = uuid.uuid4().hex
        stream = log_stream_name(self.spec.version, env_id, time.time())
        env = Environment(self, env_id, self.host.work_dir / f"{env_id}.log", stream)
        self.host.expect(env_id)
        self.envs.add(env)
        self.host.active.add(env)
        return env

    async def cold_start(self) -> Environment:
        """A new environment, restored from the snapshot or initialized in a fresh process."""
        if self.spec.snapshot:
            snapshot = await self._ensure_snapshot()
            env = self._new_environment()
            try:
                env.pid = await snapshot.fork(env, self.host.socket_path, self._per_env_variables(env))
                header = await self.host.await_hello(env, INIT_TIMEOUT)
            except (EnvironmentGone, TimeoutError) as exc:
                env.kill()
                env.close_files()
                raise ServiceFailure(
                    f"the snapshot of {self.spec.name} could not restore an environment"
                ) from exc
            if header["op"] == "init_error":
                raise InitFailed(header["error"], env)
            env.restore_ms = float(header.get("restore_ms", 0.0))
            env.init_output = env.read_output()
            env.state = "busy"
            return env
        env = self._new_environment()
        await self._spawn(env, mode="fresh")
        header = await self._await_ready(env)
        if header["op"] == "init_error":
            env.init_ms = float(header.get("init_ms", 0.0))
            raise InitFailed(header["error"], env)
        env.init_ms = float(header.get("init_ms", 0.0))
        env.init_output = env.read_output()
        env.state = "busy"
        return env

    def _per_env_variables(self, env: Environment) -> dict[str, str]:
        return {"AWS_LAMBDA_LOG_STREAM_NAME": env.log_stream}

    async def _spawn(self, env: Environment, mode: str) -> None:
        spec = self.spec
        environ = lambda_environment(spec, env.log_stream, RUNTIME_DIR)
        # The function's interpreter first on PATH, as Lambda puts /var/lang/bin first.
        environ["PATH"] = f"{os.path.dirname(self.interpreter)}:{environ['PATH']}"
        environ["CLOUDLET_WORKER"] = orjson.dumps(
            {
                "socket": self.host.socket_path,
                "env_id": env.env_id,
                "handler": spec.handler,
                "task_root": spec.code_dir,
                "layers": list(_layer_paths(spec.layers)),
                "shared_paths": shared_paths(self.interpreter),
                "mode": mode,
                "memory_mb": spec.memory_mb,
            }
        ).decode()
        log_fd = os.open(env.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            env.process = await asyncio.create_subprocess_exec(
                self.interpreter,
                BOOTSTRAP,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                env=environ,
                cwd=spec.code_dir,
                start_new_session=True,
            )
        except OSError as exc:
            env.kill()
            raise ServiceFailure(f"could not start an execution environment for {spec.name}: {exc}") from exc
        finally:
            os.close(log_fd)
        env.pid = env.process.pid

    async def _await_ready(self, env: Environment) -> dict[str, Any]:
        """Wait for hello then ready/init_error; a process that dies or hangs in init fails init."""
        timeout = max(INIT_TIMEOUT, self.spec.timeout)
        deadline = time.monotonic() + timeout
        try:
            return await self.host.await_hello(env, timeout, deadline=deadline)
        except (TimeoutError, EnvironmentGone) as exc:
            timed_out = isinstance(exc, TimeoutError)
            env.kill()
            code = await env.exit_status()
            if env.oom:
                raise InitFailed(_exit_error("signal: killed"), env, status="oom") from None
            if timed_out:
                raise InitFailed(
                    {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Init phase timed out after {timeout:.2f} seconds",
                    },
                    env,
                    status="timeout",
                ) from None
            raise InitFailed(
                _exit_error(exit_description(code if code is not None else -9)), env, "crash"
            ) from None

    async def _ensure_snapshot(self) -> SnapshotProcess:
        """The least busy live forker of this pool's snapshot, taking the snapshot first if needed."""
        if self.snapshot is not None and self.snapshot.env.alive:
            live = [f for f in self.forkers if f.env.alive]
            return min(live, key=lambda f: f.outstanding) if live else self.snapshot
        async with self._snapshot_lock:
            if self.snapshot is not None and self.snapshot.env.alive:
                return self.snapshot
            for forker in self.forkers:
                forker.kill()
            self.forkers = []
            env = self._new_environment()
            self.envs.discard(env)  # not an execution environment: never invoked, never reaped
            await self._spawn(env, mode="snapshot")
            try:
                header = await self._await_ready(env)
            except InitFailed:
                self.host.active.discard(env)
                raise
            self.host.active.discard(env)
            if header["op"] == "init_error":
                env.kill()
                raise InitFailed(header["error"], env)
            snapshot = SnapshotProcess(env)
            snapshot.init_ms = float(header.get("init_ms", 0.0))
            env.state = "idle"
            snapshot.start_reading()
            self.snapshot = snapshot
            self.forkers = [snapshot]
            self.host.note_snapshot_output(self, env)
            for _ in range(self.host.forkers - 1):
                if self.closed:
                    break
                with contextlib.suppress(EnvironmentGone, TimeoutError):
                    self.forkers.append(await self._clone_forker(snapshot))
            return snapshot

    async def _clone_forker(self, snapshot: SnapshotProcess) -> SnapshotProcess:
        env = self._new_environment()
        self.envs.discard(env)
        self.host.active.discard(env)
        try:
            env.pid = await snapshot.clone(env, self.host.socket_path)
            header = await self.host.await_hello(env, INIT_TIMEOUT)
        except (EnvironmentGone, TimeoutError):
            env.kill()
            env.close_files()
            raise
        if header["op"] != "snapshot_ready":
            env.kill()
            env.close_files()
            raise EnvironmentGone()
        env.state = "idle"
        forker = SnapshotProcess(env)
        forker.start_reading()
        return forker

    async def prepare_snapshot(self) -> None:
        """Take the snapshot now (as publishing a SnapStart version does) instead of at first use."""
        if self.spec.snapshot:
            with contextlib.suppress(InitFailed):
                await self._ensure_snapshot()

    async def invoke(self, env: Environment, header: dict[str, Any], body: bytes, timeout: float) -> Outcome:
        """Run one invocation on ``env`` (already marked busy) and release or kill it afterwards."""
        started = time.perf_counter()
        self.host.active.add(env)
        init_ms, restore_ms, init_output = env.init_ms, env.restore_ms, env.init_output
        env.init_ms = env.restore_ms = None
        env.init_output = ""
        status, payload, error_type = "success", b"", None
        try:
            await env.send(header, body)
            reply, payload = await asyncio.wait_for(env.receive(), timeout)
            if reply.get("oom"):
                env.oom = True
                raise EnvironmentGone()
            if not reply.get("ok"):
                status = "error"
                payload = _dumps_error(reply["error"])
                error_type = reply["error"]["errorType"]
        except TimeoutError:
            status = "timeout"
            env.kill()
        except (EnvironmentGone, ConnectionError):
            env.kill()
            code = await env.exit_status()
            status = "oom" if env.oom else "crash"
            description = "signal: killed" if env.oom else exit_description(code if code is not None else -9)
            error = _exit_error(description, header["request_id"], code == 0)
            payload = _dumps_error(error)
            error_type = error["errorType"]
        duration_ms = (time.perf_counter() - started) * 1000
        max_memory = self.spec.memory_mb if status == "oom" else env.max_memory_mb()
        output = env.read_output()
        if status == "timeout":
            error_type = "Sandbox.Timedout"
            payload = _dumps_error(
                {
                    "errorType": error_type,
                    "errorMessage": f"RequestId: {header['request_id']} Error: Task timed out after "
                    f"{self.spec.timeout:.2f} seconds",
                }
            )
        if status != "success" and status != "error":
            env.close_files()
        else:
            self.release(env)
        return Outcome(
            status=status,
            payload=payload,
            error_type=error_type,
            duration_ms=duration_ms,
            max_memory_mb=max_memory,
            init_ms=init_ms,
            restore_ms=restore_ms,
            output=output,
            log_stream=env.log_stream,
            init_output=init_output,
        )

    def init_failure_outcome(self, failure: InitFailed) -> Outcome:
        """The Outcome of an invocation whose environment failed to initialize."""
        env = failure.env
        output = env.read_output()
        env.kill()
        env.close_files()
        return Outcome(
            status=failure.status,
            payload=_dumps_error(failure.error),
            error_type=failure.error.get("errorType"),
            duration_ms=0.0,
            max_memory_mb=self.spec.memory_mb if failure.status == "oom" else 0,
            init_ms=env.init_ms,
            restore_ms=None,
            output="",
            log_stream=env.log_stream,
            init_output=output,
            phase="init",
        )

    def reap(self, idle_for: float) -> int:
        """Kill environments idle longer than ``idle_for`` seconds; returns how many."""
        cutoff = time.monotonic() - idle_for
        stale = [env for env in self.idle if env.last_used < cutoff]
        for env in stale:
            env.kill()
            env.close_files()
        return len(stale)

    def close(self, *, force: bool = True) -> None:
        """Kill the environments and the snapshot; without ``force``, starting and busy ones finish first."""
        self.closed = True
        for env in list(self.envs):
            if not force and env.state in ("starting", "busy"):
                continue  # killed by release() when its invocation ends
            env.kill()
            if env.state == "dead":
                env.close_files()
        if force or not self.draining:
            self._kill_snapshot()

    @property
    def draining(self) -> bool:
        """A closed pool still finishing invocations (or a snapshot) that began before it closed."""
        return self._snapshot_lock.locked() or any(env.state in ("starting", "busy") for env in self.envs)

    def _kill_snapshot(self) -> None:
        forkers, self.forkers = self.forkers, []
        for forker in forkers[1:]:
            forker.kill()
            forker.env.close_files()
        if self.snapshot is not None:
            snapshot, self.snapshot = self.snapshot, None
            snapshot.kill()
            snapshot.env.close_files()

    def _finish_closing(self) -> None:
        if self.closed and not self.draining:
            self._kill_snapshot()


def _kill_group(pid: int) -> None:
    """SIGKILL an environment with whatever its handler left running (its own process group)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _exit_error(description: str, request_id: str = "", clean: bool = False) -> dict[str, Any]:
    if clean:
        message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    else:
        message = f"RequestId: {request_id} Error: Runtime exited with error: {description}"
    return {"errorType": "Runtime.ExitError", "errorMessage": message}


def _dumps_error(error: dict[str, Any]) -> bytes:
    # Lambda's Python runtime writes its error JSON with json.dumps' default separators.
    return json.dumps(error).encode()


def _layer_paths(layers: tuple[str, ...]) -> list[str]:
    """A layer is a directory; like /opt, its ``python`` subdirectory (if any) goes first."""
    out: list[str] = []
    for layer in layers:
        if os.path.isdir(layer):
            sub = os.path.join(layer, "python")
            if os.path.isdir(sub):
                out.append(sub)
            out.append(layer)
    return out


class EnvironmentHost:
    """Owns the Unix socket every environment connects to, the memory watchdog and all pools."""

    def __init__(
        self, interpreters: Interpreters, *, idle_timeout: float = 300.0, forkers: int | None = None
    ) -> None:
        self.interpreters = interpreters
        self.idle_timeout = idle_timeout
        #: processes per snapshot that fork environments (one per core: forking is CPU-bound)
        self.forkers = forkers if forkers is not None else max(1, os.cpu_count() or 1)
        self.pools: dict[tuple[str, str, str], Pool] = {}
        self.active: set[Environment] = set()
        self._hello: dict[
            str, asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]]]
        ] = {}
        self._server: asyncio.AbstractServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._collecting: set[asyncio.Task[int]] = set()
        self._retired: set[Pool] = set()
        self._pool_locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self.work_dir = Path(".")
        self.socket_path = ""
        #: called with (pool, env, output) when a snapshot's init wrote output worth logging
        self.on_snapshot_output: Callable[[Pool, Environment, str], None] | None = None

    def collect(self, process: asyncio.subprocess.Process) -> None:
        """Reap a killed child in the background (no zombies, no open transports)."""
        if process.returncode is not None:
            return
        task = asyncio.get_running_loop().create_task(process.wait())
        self._collecting.add(task)
        task.add_done_callback(self._collecting.discard)

    async def start(self) -> None:
        self.work_dir = Path(tempfile.mkdtemp(prefix="cloudlet-fn-"))
        self.socket_path = str(self.work_dir / "env.sock")
        self._server = await asyncio.start_unix_server(self._on_connect, path=self.socket_path, backlog=1024)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._watch_memory()), loop.create_task(self._reap_idle())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pool in [*self.pools.values(), *self._retired]:
            pool.close()
        self.pools.clear()
        self._retired.clear()
        if self._collecting:
            await asyncio.wait(list(self._collecting), timeout=5.0)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    async def pool(self, spec: FunctionSpec) -> Pool:
        """The pool for ``spec``; a newer revision of the same version retires the older pools."""
        pool = self.pools.get(spec.key)
        if pool is not None:
            return pool
        lock = self._pool_locks.setdefault(spec.key, asyncio.Lock())
        async with lock:
            pool = self.pools.get(spec.key)
            if pool is None:
                interpreter = await self.interpreters.for_code(spec.runtime, spec.code_dir)
                self.retire(spec.name, spec.version)
                pool = Pool(self, spec, interpreter)
                self.pools[spec.key] = pool
        return pool

    def retire(self, name: str, version: str | None = None) -> None:
        """Close the pools of function ``name`` (one version, or all); running invocations finish."""
        for key in [k for k in self.pools if k[0] == name and (version is None or k[1] == version)]:
            pool = self.pools.pop(key)
            pool.close(force=False)
            self._retired = {p for p in self._retired if p.draining or p.snapshot is not None}
            self._retired.add(pool)

    def note_snapshot_output(self, pool: Pool, env: Environment) -> None:
        output = env.read_output()
        if output and self.on_snapshot_output is not None:
            self.on_snapshot_output(pool, env, output)

    def expect(self, env_id: str) -> asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter, Any]]:
        """Register a process about to start, so its connection is accepted when it arrives."""
        fut = self._hello.get(env_id)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._hello[env_id] = fut
        return fut

    def abandon(self, env_id: str) -> None:
        """Forget a process we no longer wait for (closing its connection if it arrived)."""
        fut = self._hello.pop(env_id, None)
        if fut is not None and fut.done() and not fut.cancelled():
            fut.result()[1].close()

    async def await_hello(
        self, env: Environment, timeout: float, *, deadline: float | None = None
    ) -> dict[str, Any]:
        """Wait until ``env`` connects, then return its first status message (ready or init_error)."""
        fut = self.expect(env.env_id)
        deadline = deadline if deadline is not None else time.monotonic() + timeout
        ended: asyncio.Future[Any] = (
            asyncio.ensure_future(env.process.wait())
            if env.process is not None
            else asyncio.shield(env.exited)
        )
        try:
            done, _ = await asyncio.wait(
                [fut, ended],
                timeout=max(0.0, deadline - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if done and fut not in done:
                # The process ended; its connection (carrying an init error) may still be in flight.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(fut), 1.0)
        finally:
            ended.cancel()
        if not fut.done():
            self.abandon(env.env_id)
            if not done:
                raise TimeoutError()
            raise EnvironmentGone()
        self._hello.pop(env.env_id, None)
        env.reader, env.writer, _hello = fut.result()
        try:
            header, _ = await asyncio.wait_for(env.receive(), max(0.0, deadline - time.monotonic()))
        except EnvironmentGone:
            env.writer.close()
            raise
        return header

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            header, _ = await asyncio.wait_for(_read_message(reader), 30)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, orjson.JSONDecodeError):
            writer.close()
            return
        fut = self._hello.get(header.get("env_id", ""))
        if fut is None or fut.done():  # unknown, or a process we gave up on
            writer.close()
            return
        fut.set_result((reader, writer, header))

    async def _watch_memory(self) -> None:
        """Kill any starting or busy environment whose resident memory passes its MemorySize."""
        while True:
            await asyncio.sleep(0.05 if 0 < len(self.active) <= 64 else 0.25)
            for env in list(self.active):
                if env.alive and env.rss_bytes() > env.pool.spec.memory_mb * _MB:
                    logger.info(
                        "environment exceeded its memory",
                        extra={"action": "kill_environment", "function": env.pool.spec.name, "pid": env.pid},
                    )
                    env.oom = True
                    if env.pid is not None:
                        with contextlib.suppress(ProcessLookupError):
                            _kill_group(env.pid)

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, max(0.05, self.idle_timeout / 4)))
            for pool in list(self.pools.values()):
                pool.reap(self.idle_timeout)
