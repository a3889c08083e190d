"""The runtime inside every execution environment: Lambda's Python runtime interface, locally.

This file runs as the main program of each function process, on whichever interpreter the
function's ``Runtime`` names, so it uses the standard library only and never imports cloudlet.
Its directory is ``LAMBDA_RUNTIME_DIR`` and sits on ``sys.path`` after the code and the layers,
which makes the ``snapshot_restore_py`` module beside it importable by handlers.

Protocol (one Unix stream connection per process to the parent's socket). Each message is a
``!II`` header (JSON length, body length), a JSON object and a raw body:

    process -> parent  {"op": "hello", "env_id", "pid"}                      first message
    process -> parent  {"op": "ready", "init_ms"} | {"op": "ready", "restore_ms"}
                       {"op": "init_error", "error": {...}, "init_ms"}         then exits
                       {"op": "snapshot_ready", "init_ms"}                    snapshot process
    parent -> env      {"op": "invoke", "request_id", "deadline_ms", "arn", "version",
                        "client_context", "identity", "trace_id"} + payload body
    env -> parent      {"op": "result", "ok": true} + response body
                       {"op": "result", "ok": false, "error": {...}}           function error
    parent -> snapshot {"op": "fork", "env_id", "log_path", "socket", "environ"}
                       {"op": "clone", "env_id", "socket"}   another forker, same snapshot
    snapshot -> parent {"op": "forked", "env_id", "pid"} | {"op": "exited", "pid", "status"}

The parent enforces timeouts and memory limits by killing the process; nothing here is trusted
to do so.
"""

from __future__ import annotations

import decimal
import gc
import importlib
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time
import traceback
import warnings
from typing import Any

HEADER = struct.Struct("!II")
RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))

_before_snapshot: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
_after_restore: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []


# -- framing ----------------------------------------------------------------------------------
def encode_message(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One protocol message: length header, JSON object, raw body."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return HEADER.pack(len(head), len(body)) + head + body


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket) -> tuple[dict[str, Any], bytes] | None:
    """The next message from ``sock``, or None when the peer has gone."""
    raw = _recv_exactly(sock, HEADER.size)
    if raw is None:
        return None
    head_len, body_len = HEADER.unpack(raw)
    head = _recv_exactly(sock, head_len)
    body = _recv_exactly(sock, body_len) if body_len else b""
    if head is None or body is None:
        return None
    return json.loads(head), body


# -- the handler's view -------------------------------------------------------------------------
class LambdaContext:
    """The ``context`` argument of a handler, as Lambda's Python runtime builds it."""

    def __init__(self, invoke: dict[str, Any]) -> None:
        self.aws_request_id: str = invoke["request_id"]
        self.invoked_function_arn: str = invoke["arn"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = invoke.get("identity")
        self.client_context = invoke.get("client_context")
        self._deadline_ms: int = invoke["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the parent kills this invocation."""
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


def _error_object(exc: BaseException, request_id: str, error_type: str | None = None) -> dict[str, Any]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: dict[str, Any]) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in error["stackTrace"])
    sys.stdout.flush()
    print("\n".join(lines), file=sys.stderr, flush=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value) if value % 1 else int(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# -- init ------------------------------------------------------------------------------------------
def _load_handler(spec: str) -> Any:
    """Import ``module.function`` (module may be a dotted or slash path), the Lambda way."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _init(handler_spec: str) -> tuple[Any, dict[str, Any] | None]:
    try:
        return _load_handler(handler_spec), None
    except _InitError as exc:
        error = {"errorMessage": str(exc), "errorType": exc.error_type, "requestId": "", "stackTrace": []}
    except Exception as exc:  # an exception raised by the module's own init code
        error = _error_object(exc, "")
    _log_error(error)
    return None, error


# -- invocations -------------------------------------------------------------------------------------
def _invoke(handler: Any, header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
    request_id = header["request_id"]
    if header.get("trace_id"):
        os.environ["_X_AMZN_TRACE_ID"] = header["trace_id"]
    try:
        event = json.loads(body) if body else {}
        result = handler(event, LambdaContext(header))
    except SystemExit as exc:  # the handler ended the process: Lambda reports Runtime.ExitError
        sys.stdout.flush()
        sys.stderr.flush()
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        os._exit(code)
    except MemoryError:  # the backstop limit hit before the parent's watchdog: out of memory
        return {"op": "result", "ok": False, "oom": True}, b""
    except Exception as exc:
        error = _error_object(exc, request_id)
        _log_error(error)
        return {"op": "result", "ok": False, "error": error}, b""
    try:
        payload = json.dumps(result, default=_json_default).encode()
    except (TypeError, ValueError) as exc:
        error = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        _log_error(error)
        return {"op": "result", "ok": False, "error": error}, b""
    return {"op": "result", "ok": True}, payload


def _serve(sock: socket.socket, handler: Any) -> None:
    while True:
        message = recv_message(sock)
        if message is None:
            os._exit(0)
        header, body = message
        if header.get("op") != "invoke":
            continue
        reply, payload = _invoke(handler, header, body)
        sys.stdout.flush()
        sys.stderr.flush()
        sock.sendall(encode_message(reply, payload))
        if reply.get("oom"):  # the parent reports it as Lambda reports an out-of-memory kill
            os.kill(os.getpid(), signal.SIGKILL)


def _limit_memory(memory_mb: int) -> None:
    """A backstop under the parent's watchdog: heap growth beyond the function's memory fails."""
    try:
        import resource

        with open("/proc/self/status") as status:
            data_kb = next(int(line.split()[1]) for line in status if line.startswith("VmData:"))
        limit = (data_kb * 1024) + (memory_mb + 256) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.RLIM_INFINITY))
    except (OSError, ValueError, StopIteration, ImportError):
        pass


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _connect(path: str, env_id: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(encode_message({"op": "hello", "env_id": env_id, "pid": os.getpid()}))
    return sock


def _reseed() -> None:
    """Restored environments must not share random state with each other (SnapStart uniqueness)."""
    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        try:
            numpy_random.seed()
        except Exception:  # a numpy that refuses reseeding keeps its state; uuid4/os.urandom are per process
            pass


def _run_hooks(hooks: list[tuple[Any, tuple[Any, ...], dict[str, Any]]], reverse: bool) -> None:
    for fn, args, kwargs in reversed(hooks) if reverse else hooks:
        fn(*args, **kwargs)


def _snapshot_loop(sock: socket.socket, handler: Any, memory_mb: int) -> None:
    """Serve fork requests: each child becomes a restored execution environment."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks.*")
    while True:
        ready, _, _ = select.select([sock.fileno(), wake_r], [], [])
        if wake_r in ready:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                sock.sendall(encode_message({"op": "exited", "pid": pid, "status": status}))
        if sock.fileno() in ready:
            message = recv_message(sock)
            if message is None:
                os._exit(0)
            header, _ = message
            if header.get("op") not in ("fork", "clone"):
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    if header["op"] == "clone":
                        _become_forker(sock, (wake_r, wake_w), header, handler, memory_mb)
                    else:
                        _become_restored(sock, (wake_r, wake_w), header, handler, memory_mb)
                finally:
                    os._exit(70)
            sock.sendall(encode_message({"op": "forked", "env_id": header["env_id"], "pid": pid}))


def _become_forker(
    snapshot_sock: socket.socket,
    wake: tuple[int, int],
    header: dict[str, Any],
    handler: Any,
    memory_mb: int,
) -> None:
    """A copy of the snapshot process that forks environments too (forks run on every core)."""
    signal.set_wakeup_fd(-1)
    snapshot_sock.close()
    for fd in wake:
        os.close(fd)
    _die_with_parent()
    sock = _connect(header["socket"], header["env_id"])
    sock.sendall(encode_message({"op": "snapshot_ready", "init_ms": 0.0}))
    _snapshot_loop(sock, handler, memory_mb)


def _become_restored(
    snapshot_sock: socket.socket,
    wake: tuple[int, int],
    header: dict[str, Any],
    handler: Any,
    memory_mb: int,
) -> None:
    started = time.perf_counter()
    os.setsid()  # its own process group: the parent kills the environment with all it started
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    snapshot_sock.close()
    for fd in wake:
        os.close(fd)
    log_fd = os.open(header["log_path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    os.environ.update(header.get("environ") or {})
    _die_with_parent()
    _reseed()
    sock = _connect(header["socket"], header["env_id"])
    try:
        _run_hooks(_after_restore, reverse=False)
    except Exception as exc:
        error = _error_object(exc, "")
        _log_error(error)
        sock.sendall(encode_message({"op": "init_error", "error": error, "init_ms": 0.0}))
        os._exit(1)
    _limit_memory(memory_mb)
    restore_ms = (time.perf_counter() - started) * 1000
    sock.sendall(encode_message({"op": "ready", "restore_ms": restore_ms}))
    _serve(sock, handler)


def main() -> None:
    """Entry point: read the settings the parent left in ``CLOUDLET_WORKER`` and run."""
    settings = json.loads(os.environ.pop("CLOUDLET_WORKER"))
    _die_with_parent()
    # The code, then layers, then this runtime's directory, as Lambda orders /var/task, /opt, /var/runtime.
    here = [p for p in sys.path if os.path.abspath(p or ".") != RUNTIME_DIR]
    sys.path[:] = [
        settings["task_root"],
        *settings.get("layers", []),
        RUNTIME_DIR,
        *here,
        *settings.get("shared_paths", []),
    ]
    sys.modules.setdefault("cloudlet_lambda_bootstrap", sys.modules[__name__])
    os.chdir(settings["task_root"])
    sock = _connect(settings["socket"], settings["env_id"])
    started = time.perf_counter()
    handler, error = _init(settings["handler"])
    init_ms = (time.perf_counter() - started) * 1000
    sys.stdout.flush()
    sys.stderr.flush()
    if error is not None:
        sock.sendall(encode_message({"op": "init_error", "error": error, "init_ms": init_ms}))
        os._exit(1)
    if settings.get("mode") == "snapshot":
        try:
            _run_hooks(_before_snapshot, reverse=True)
        except Exception as exc:
            error = _error_object(exc, "")
            _log_error(error)
            sock.sendall(encode_message({"op": "init_error", "error": error, "init_ms": init_ms}))
            os._exit(1)
        sys.stdout.flush()
        sys.stderr.flush()
        # Objects that exist now are shared by every restored environment: keep the collector from
        # touching them in the children, so their pages stay shared (copy-on-write) after fork.
        gc.collect()
        gc.freeze()
        sock.sendall(encode_message({"op": "snapshot_ready", "init_ms": init_ms}))
        _snapshot_loop(sock, handler, int(settings["memory_mb"]))
        return
    _limit_memory(int(settings["memory_mb"]))
    sock.sendall(encode_message({"op": "ready", "init_ms": init_ms}))
    _serve(sock, handler)


if __name__ == "__main__":
    main()
