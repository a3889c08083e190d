"""Invoking functions in real processes: handler contract, warm reuse, every error path, limits, logs."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from cloudlet.errors import CloudletError, TaskFailed
from cloudlet.functions import TooManyRequests
from tests.functions.conftest import FIXTURES, create

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:us-east-1:000000000000:function"


def _payload(response: dict) -> object:
    return json.loads(response["Payload"])


def test_echo_and_warm_reuse(run_service):
    async def body(f):
        await create(f, "echo", "app.echo")
        response = await f.invoke(FunctionName="echo", Payload=b'{"a": [1, 2]}')
        assert response["StatusCode"] == 200
        assert response["ExecutedVersion"] == "$LATEST"
        assert "FunctionError" not in response
        # Lambda's Python runtime serializes results with json.dumps' default separators.
        assert response["Payload"] == b'{"event": {"a": [1, 2]}}'
        assert _payload(await f.invoke(FunctionName="echo"))["event"] == {}  # no payload: {}
        await create(f, "counter", "app.counter")
        results = [_payload(await f.invoke(FunctionName="counter")) for _ in range(3)]
        assert [r["n"] for r in results] == [1, 2, 3]  # module globals persist while warm
        assert len({r["pid"] for r in results}) == 1

    run_service(body)


def test_context_and_environment_variables(run_service):
    async def body(f):
        await create(
            f,
            "ctx",
            "app.context_info",
            MemorySize=256,
            Timeout=7,
            Environment={"Variables": {"MY_VAR": "v"}},
        )
        info = _payload(await f.invoke(FunctionName=f"{ARN}:ctx"))
        assert info["function_name"] == "ctx"
        assert info["function_version"] == "$LATEST"
        assert info["invoked_function_arn"] == f"{ARN}:ctx"
        assert info["memory_limit_in_mb"] == "256"
        assert len(info["aws_request_id"]) == 36
        assert info["log_group_name"] == "/aws/lambda/ctx"
        assert info["log_stream_name"].endswith("]" + info["log_stream_name"].split("]")[1])
        assert "[$LATEST]" in info["log_stream_name"]
        assert 6000 < info["remaining"] <= 7000
        env = info["env"]
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ctx"
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
        assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
        assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/ctx"
        assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == info["log_stream_name"]
        assert env["_HANDLER"] == "app.context_info"
        assert env["LAMBDA_TASK_ROOT"] == str(FIXTURES / "basic") == info["cwd"]
        assert env["LAMBDA_RUNTIME_DIR"].endswith("lambda_runtime")
        assert env["TZ"] == ":UTC"
        assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
        assert env["AWS_DISABLE_HOST_PREFIX_INJECTION"] == "true"
        assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
        assert env["MY_VAR"] == "v"
        assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"

    run_service(body)


def test_handler_exception(run_service):
    async def body(f):
        await create(f, "fail", "app.fail")
        response = await f.invoke(FunctionName="fail", LogType="Tail")
        assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
        error = _payload(response)
        assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
        assert error["errorMessage"] == "something broke" and error["errorType"] == "ValueError"
        assert len(error["requestId"]) == 36
        assert error["stackTrace"][0].startswith('  File "') and "in fail\n" in error["stackTrace"][0]
        assert response["Payload"] == json.dumps(error).encode()
        log = base64.b64decode(response["LogResult"]).decode()
        assert "[ERROR] ValueError: something broke" in log

    run_service(body)


@pytest.mark.parametrize(
    ("fixture", "handler", "error_type", "message"),
    [
        (
            "basic",
            "missing_module.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing_module': No module named 'missing_module'",
        ),
        (
            "basic",
            "app.no_such_handler",
            "Runtime.HandlerNotFound",
            "Handler 'no_such_handler' missing on module 'app'",
        ),
        ("initfail", "app.handler", "RuntimeError", "init exploded"),
        ("syntax", "app.handler", "Runtime.UserCodeSyntaxError", None),
        ("basic", "nodots", "Runtime.MalformedHandlerName", None),
    ],
)
def test_init_errors(run_service, tmp_path, fixture, handler, error_type, message):
    syntax = tmp_path / "syntax"
    syntax.mkdir()
    (syntax / "app.py").write_text("def handler(event, context)\n    return 1\n")  # no colon

    async def body(f):
        where = str(syntax) if fixture == "syntax" else str(FIXTURES / fixture)
        await f.create_function(
            FunctionName="init",
            Runtime="python3.11",
            Handler=handler,
            Code={"S3Bucket": "local", "S3Key": where},
        )
        response = await f.invoke(FunctionName="init", LogType="Tail")
        assert response["FunctionError"] == "Unhandled"
        error = _payload(response)
        assert error["errorType"] == error_type
        if message is not None:
            assert error["errorMessage"] == message
        log = base64.b64decode(response["LogResult"]).decode()
        assert f"[ERROR] {error_type}" in log
        assert "INIT_REPORT" in log and f"Error Type: {error_type}" in log
        # every invocation retries init, as Lambda does after a failed init
        assert _payload(await f.invoke(FunctionName="init"))["errorType"] == error_type

    run_service(body)


def test_init_output_logged(run_service):
    async def body(f):
        await create(f, "initfail", "app.handler", fixture="initfail")
        response = await f.invoke(FunctionName="initfail", LogType="Tail")
        assert "about to fail" in base64.b64decode(response["LogResult"]).decode()

    run_service(body)


def test_timeout(run_service):
    async def body(f):
        await create(f, "slow", "app.sleepy", Timeout=1)
        response = await f.invoke(FunctionName="slow", Payload=b'{"seconds": 30}', LogType="Tail")
        assert response["FunctionError"] == "Unhandled"
        error = _payload(response)
        assert error["errorType"] == "Sandbox.Timedout"
        assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
        log = base64.b64decode(response["LogResult"]).decode()
        assert "Task timed out after 1.00 seconds" in log and "Status: timeout" in log
        # the timed-out environment was killed; the next invocation gets a fresh one
        assert _payload(await f.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')) == "woke"

    run_service(body)


def test_memory_limit(run_service):
    async def body(f):
        await create(f, "hog", "app.hog", MemorySize=128, Timeout=30)
        response = await f.invoke(FunctionName="hog", Payload=b'{"mb": 400}', LogType="Tail")
        error = _payload(response)
        assert response["FunctionError"] == "Unhandled"
        assert error["errorType"] == "Runtime.ExitError"
        assert error["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
        log = base64.b64decode(response["LogResult"]).decode()
        assert "Max Memory Used: 128 MB" in log and "Error Type: Runtime.OutOfMemory" in log
        assert _payload(await f.invoke(FunctionName="hog", Payload=b'{"mb": 1}')) == 1
        # one allocation far past the limit fails at once (the child's own backstop), same report
        await create(f, "gulp", "app.gulp", MemorySize=128)
        response = await f.invoke(FunctionName="gulp", Payload=b'{"mb": 4096}', LogType="Tail")
        assert _payload(response)["errorMessage"].endswith("Runtime exited with error: signal: killed")
        assert "Error Type: Runtime.OutOfMemory" in base64.b64decode(response["LogResult"]).decode()

    run_service(body)


def test_process_exit_and_marshal_errors(run_service):
    async def body(f):
        await create(f, "exit", "app.exits")
        error = _payload(await f.invoke(FunctionName="exit", Payload=b'{"code": 3}'))
        assert error["errorType"] == "Runtime.ExitError"
        assert error["errorMessage"].endswith("Runtime exited with error: exit status 3")
        await create(f, "set", "app.unserializable")
        error = _payload(await f.invoke(FunctionName="set"))
        assert error["errorType"] == "Runtime.MarshalError"
        assert error["errorMessage"].startswith(
            "Unable to marshal response: Object of type set is not JSON serializable"
        )

    run_service(body)


def test_response_too_large(run_service):
    async def body(f):
        await create(f, "big", "app.big")
        response = await f.invoke(
            FunctionName="big", Payload=json.dumps({"size": 6 * 1024 * 1024 + 10}).encode()
        )
        error = _payload(response)
        assert response["FunctionError"] == "Unhandled"
        assert error["errorType"] == "Function.ResponseSizeTooLarge"

    run_service(body)


def test_reserved_concurrency_throttles(run_service):
    async def body(f):
        await create(f, "one", "app.sleepy", Timeout=5)
        await f.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=1)
        first = asyncio.ensure_future(f.invoke(FunctionName="one", Payload=b'{"seconds": 0.5}'))
        await asyncio.sleep(0.05)
        with pytest.raises(TooManyRequests) as caught:
            await f.invoke(FunctionName="one", Payload=b'{"seconds": 0}')
        assert caught.value.code == "TooManyRequestsException" and caught.value.message == "Rate Exceeded."
        assert caught.value.fields["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert _payload(await first) == "woke"
        await f.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=0)
        with pytest.raises(TooManyRequests):
            await f.invoke(FunctionName="one", Payload=b'{"seconds": 0}')

    run_service(body)


def test_account_concurrency_throttles_and_scales_up(run_service):
    async def body(f):
        await create(f, "s", "app.counter")
        await create(f, "slow", "app.sleepy", Timeout=5)
        results = await asyncio.gather(*[f.invoke(FunctionName="s") for _ in range(3)])
        assert len({_payload(r)["pid"] for r in results}) == 3  # scaled to 3 environments
        running = [
            asyncio.ensure_future(f.invoke(FunctionName="slow", Payload=b'{"seconds": 0.5}'))
            for _ in range(3)
        ]
        await asyncio.sleep(0.1)
        with pytest.raises(TooManyRequests) as caught:
            await f.invoke(FunctionName="s")
        assert caught.value.fields["Reason"] == "ConcurrentInvocationLimitExceeded"
        await asyncio.gather(*running)

    run_service(body, concurrency_limit=3, min_unreserved_concurrency=1)


def test_deliver_for_workflows(run_service):
    async def body(f):
        await create(f, "ok", "app.echo")
        await create(f, "bad", "app.fail")
        assert await f.router.deliver(f"{ARN}:ok", {"x": 1}) == {"event": {"x": 1}}
        with pytest.raises(TaskFailed) as caught:
            await f.router.deliver(f"{ARN}:bad:$LATEST", {"x": 1})
        assert caught.value.error == "ValueError"
        cause = json.loads(caught.value.cause)
        assert caught.value.cause == json.dumps(cause)  # Python's default separators
        assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
        with pytest.raises(CloudletError) as missing:
            await f.router.deliver(f"{ARN}:nope", {})
        assert missing.value.code == "ResourceNotFoundException"
        assert await f.router.call("lambda", "Invoke", {"FunctionName": "ok", "Payload": {"y": 2}}) == {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": b'{"event": {"y": 2}}',
        }

    run_service(body)


def test_versions_and_aliases_run_their_code(run_service, tmp_path):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "main.py").write_text("def handler(e, c):\n    return 'one'\n")

    async def body(f):
        await f.create_function(
            FunctionName="v",
            Runtime="python3.11",
            Handler="main.handler",
            Code={"S3Bucket": "local", "S3Key": str(code_dir)},
        )
        await f.publish_version(FunctionName="v")
        (code_dir / "main.py").write_text("def handler(e, c):\n    return 'two'\n")
        await f.update_function_code(FunctionName="v", S3Bucket="local", S3Key=str(code_dir))
        assert (await f.publish_version(FunctionName="v"))["Version"] == "2"
        await f.create_alias(FunctionName="v", Name="live", FunctionVersion="1")
        first = await f.invoke(FunctionName="v", Qualifier="1")
        assert first["Payload"] == b'"one"' and first["ExecutedVersion"] == "1"
        assert (await f.invoke(FunctionName="v:live"))["ExecutedVersion"] == "1"
        assert (await f.invoke(FunctionName="v"))["Payload"] == b'"two"'
        await f.update_alias(FunctionName="v", Name="live", FunctionVersion="2")
        assert (await f.invoke(FunctionName="v:live"))["Payload"] == b'"two"'
        await f.update_alias(
            FunctionName="v",
            Name="live",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 1.0}},
        )
        assert (await f.invoke(FunctionName="v:live"))["ExecutedVersion"] == "2"

    run_service(body)


def test_runtime_fallback(run_service, caplog, monkeypatch, tmp_path):
    """A runtime with no interpreter on this machine runs on the running one, with a warning."""

    async def body(f):
        await f.create_function(
            FunctionName="r",
            Runtime="python3.14",
            Handler="app.echo",
            Code={"S3Bucket": "local", "S3Key": str(FIXTURES / "basic")},
        )
        return await f.invoke(FunctionName="r")

    monkeypatch.setenv("PATH", str(tmp_path))  # no python3.14 anywhere on PATH
    caplog.set_level("WARNING", logger="cloudlet.functions.interpreters")
    assert run_service(body)["Payload"] == b'{"event": {}}'
    assert any("runtime interpreter not found" in r.getMessage() for r in caplog.records)


def test_non_python_runtime_is_reported(run_service):
    async def body(f):
        await f.create_function(
            FunctionName="n",
            Runtime="nodejs20.x",
            Handler="index.handler",
            Code={"S3Bucket": "local", "S3Key": str(FIXTURES / "basic")},
        )
        with pytest.raises(CloudletError) as caught:
            await f.invoke(FunctionName="n")
        assert caught.value.code == "InvalidRuntimeException"
        assert "Python functions only" in caught.value.message

    run_service(body)


def test_layers_are_on_the_path(run_service, tmp_path):
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "layermod.py").write_text("WHERE = 'layer'\n")
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "main.py").write_text("import layermod\n\ndef handler(e, c):\n    return layermod.WHERE\n")

    async def body(f):
        await f.create_function(
            FunctionName="l",
            Runtime="python3.11",
            Handler="main.handler",
            Layers=[str(layer)],
            Code={"S3Bucket": "local", "S3Key": str(code_dir)},
        )
        assert (await f.get_function_configuration(FunctionName="l"))["Layers"] == [
            {"Arn": str(layer), "CodeSize": 0}
        ]
        assert (await f.invoke(FunctionName="l"))["Payload"] == b'"layer"'

    run_service(body)


def test_idle_environments_are_reaped(run_service):
    async def body(f):
        await create(f, "c", "app.counter")
        first = _payload(await f.invoke(FunctionName="c"))
        await asyncio.sleep(0.6)
        second = _payload(await f.invoke(FunctionName="c"))
        assert second["n"] == 1 and second["pid"] != first["pid"]

    run_service(body, idle_timeout=0.2)


def test_event_through_router(run_service, tmp_path):
    out = tmp_path / "out.jsonl"

    async def body(f):
        await create(f, "t", "app.touch")
        await f.publish_version(FunctionName="t")
        await f.create_alias(FunctionName="t", Name="live", FunctionVersion="1")
        assert await f.router.deliver(f"{ARN}:t:live", {"path": str(out)}, invocation_type="Event") is None
        await f.events.drain()
        assert json.loads(out.read_text()) == {"path": str(out)}

    run_service(body)


def test_update_lets_running_invocations_finish(run_service):
    async def body(f):
        await create(f, "u", "app.sleepy", Timeout=5)
        running = asyncio.ensure_future(f.invoke(FunctionName="u", Payload=b'{"seconds": 0.5}'))
        await asyncio.sleep(0.2)
        await f.update_function_configuration(FunctionName="u", Environment={"Variables": {"MY_VAR": "2"}})
        assert _payload(await running) == "woke"  # not killed by the update
        await f.update_function_configuration(FunctionName="u", Handler="app.context_info")
        assert _payload(await f.invoke(FunctionName="u"))["env"]["MY_VAR"] == "2"  # new environment

    run_service(body)


@pytest.mark.parametrize("snapshot", ["None", "PublishedVersions"])
def test_update_during_cold_start(run_service, snapshot):
    async def body(f):
        await create(f, "slow", "app.handler", fixture="slowinit", SnapStart={"ApplyOn": snapshot})
        starting = asyncio.ensure_future(f.invoke(FunctionName="slow"))
        await asyncio.sleep(0.2)  # init is running
        await f.update_function_configuration(FunctionName="slow", Description="changed")
        assert _payload(await starting) == "initialized"  # the update did not kill it
        assert _payload(await f.invoke(FunctionName="slow")) == "initialized"
        retired = list(f.host._retired)
        assert retired and all(not p.draining and p.snapshot is None for p in retired)  # fully drained

    run_service(body)


@pytest.mark.parametrize("snapshot", ["None", "PublishedVersions"])
def test_timeout_kills_what_the_handler_started(run_service, tmp_path, snapshot):
    pidfile = tmp_path / "pid"

    async def body(f):
        await create(f, "spawn", "app.spawner", Timeout=1, SnapStart={"ApplyOn": snapshot})
        response = await f.invoke(
            FunctionName="spawn", Payload=json.dumps({"pidfile": str(pidfile)}).encode()
        )
        assert _payload(response)["errorType"] == "Sandbox.Timedout"
        pid = int(pidfile.read_text())
        for _ in range(50):
            try:
                state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
            except (FileNotFoundError, ProcessLookupError):
                break
            if state == "Z":  # killed, waiting for its (re)parent to reap it
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the handler's child process survived the timeout")

    run_service(body)
