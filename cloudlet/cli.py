"""The ``cloudlet`` command line.

``cloudlet up [DIR]`` runs an application in the foreground; the other commands talk to a
running application through its AWS-compatible endpoint, like the AWS CLI would (the
endpoint is read from ``DIR/.cloudlet/endpoint``, or given with ``--endpoint-url``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from cloudlet import __version__
from cloudlet.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from cloudlet.errors import CloudletError

ENDPOINT_FILE = "endpoint"
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


# -- output helpers -----------------------------------------------------------------------------
def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _json_argument(value: str | None, what: str) -> Any:
    """Parse a JSON argument, or the contents of a file given as @path."""
    if value is None:
        return {}
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CloudletError(f"{what} is not valid JSON: {exc}", code="InvalidArgument") from None


# -- cloudlet up --------------------------------------------------------------------------------------
def _parameters(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise CloudletError(f"--parameter takes KEY=VALUE, got {item!r}", code="InvalidArgument")
        out[key] = value
    return out


async def _up(args: argparse.Namespace) -> int:
    from cloudlet.api import ApiConfig, Gateway, HttpRoute, serve
    from cloudlet.router import Router
    from cloudlet.runtime import Runtime, find_template

    app_dir = Path(args.dir).absolute()
    template = find_template(app_dir)
    parameters = _parameters(args.parameter)  # before the server starts: a bad one leaves nothing open
    router = Router()
    gateway = Gateway(router, account=args.account, region=args.region)
    server = await serve(
        router,
        args.host,
        args.port,
        config=ApiConfig(host=args.host, port=args.port, account=args.account, region=args.region),
        gateway=gateway,
    )
    endpoint = f"http://{args.host}:{server.port}"
    runtime = Runtime(
        app_dir,
        template=template,
        parameters=parameters,
        endpoint_url=endpoint,
        account=args.account,
        region=args.region,
        router=router,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
        functions = runtime.services.get("functions")
        if functions is not None:
            router.register_api("logs", functions.logs)

        async def deploy() -> None:
            started = time.perf_counter()
            outcome = await runtime.deploy()
            for api_id in {r.api_id for r in outcome.routes}:
                gateway.remove_api(api_id)
            for route in outcome.routes:
                gateway.add_route(
                    HttpRoute(
                        route.api_id, route.method, route.path, route.function_arn, route.payload_format
                    )
                )
            for warning in outcome.application.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            rows = []
            for resource in outcome.application.resources.values():
                rows.append(
                    [resource.logical_id, resource.type.split("::", 1)[1], resource.arn or resource.names.ref]
                )
            for route in outcome.routes:
                rows.append(
                    [
                        f"{route.method} {route.path}",
                        "HTTP route",
                        f"{endpoint}/_api/{route.api_id}{route.path}",
                    ]
                )
            print(_table(rows, ["resource", "type", "arn / address"]))
            r = outcome.result
            print(
                f"deployed in {time.perf_counter() - started:.2f}s: {len(r.created)} created, "
                f"{len(r.updated)} updated, {len(r.deleted)} deleted, {len(r.unchanged)} unchanged",
                flush=True,
            )

        await deploy()
        (runtime.data_dir / ENDPOINT_FILE).write_text(endpoint)
        print(f"endpoint: {endpoint}", flush=True)
        watcher = asyncio.create_task(_watch(app_dir, runtime, deploy, stop)) if args.reload else None
        await stop.wait()
        if watcher is not None:
            watcher.cancel()
        print("stopping", flush=True)
    finally:
        await runtime.stop()
        await server.close()
        try:
            (runtime.data_dir / ENDPOINT_FILE).unlink()
        except FileNotFoundError:
            pass
    return 0


async def _watch(app_dir: Path, runtime: Any, deploy: Any, stop: asyncio.Event) -> None:
    """Re-deploy when the template changes; restart the environments of functions whose code changed."""
    from watchfiles import awatch

    from cloudlet.templates import local_code_path

    data_dir = str(runtime.data_dir)

    def relevant(_change: Any, path: str) -> bool:
        # Bytecode that functions write next to their code is not a code change (it would
        # restart every environment, killing in-flight invocations, after each cold start).
        return not path.startswith(data_dir) and "__pycache__" not in path and not path.endswith(".pyc")

    async for changes in awatch(app_dir, stop_event=stop, watch_filter=relevant):
        paths = {Path(p) for _, p in changes}
        try:
            if runtime.template_path in paths or any(
                p.suffix in (".json", ".yaml", ".yml", ".asl") for p in paths
            ):
                print("template changed: re-deploying", flush=True)
                await deploy()
            application = runtime.load()
            for fn in application.of_type("AWS::Lambda::Function"):
                code = local_code_path(fn.properties.get("Code"))
                if code is None:
                    continue
                root = (runtime.app_dir / code).resolve()
                if any(root in p.resolve().parents for p in paths):
                    print(f"code of {fn.name} changed: new environments load it", flush=True)
                    await runtime.router.call(
                        "lambda",
                        "UpdateFunctionCode",
                        {"FunctionName": fn.name, "S3Bucket": "local", "S3Key": str(root)},
                    )
        except CloudletError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)


# -- commands that talk to a running application -------------------------------------------------------
def _endpoint(args: argparse.Namespace) -> str:
    if args.endpoint_url:
        return str(args.endpoint_url)
    saved = Path(args.dir) / ".cloudlet" / ENDPOINT_FILE
    if saved.is_file():
        return saved.read_text().strip()
    return os.environ.get("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT)


def _client(args: argparse.Namespace, service: str) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    return session.create_client(
        service,
        endpoint_url=_endpoint(args),
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        config=Config(retries={"max_attempts": 1}, read_timeout=900),
    )


def _machine_arn(args: argparse.Namespace, name: str) -> str:
    return (
        name
        if name.startswith("arn:")
        else f"arn:aws:states:{args.region}:{args.account}:stateMachine:{name}"
    )


def _invoke(args: argparse.Namespace) -> int:
    client = _client(args, "lambda")
    event = _json_argument(args.event, "--event")
    response = client.invoke(FunctionName=args.function, Payload=json.dumps(event).encode(), LogType="Tail")
    if response.get("LogResult"):
        tail = base64.b64decode(response["LogResult"]).decode(errors="replace")
        sys.stderr.write(tail if tail.endswith("\n") else tail + "\n")
    payload = response["Payload"].read().decode()
    print(payload)
    return 1 if response.get("FunctionError") else 0


_ENTERED = ("StateEntered",)
_EXITED = ("StateExited",)


def _start_execution(args: argparse.Namespace) -> int:
    client = _client(args, "stepfunctions")
    params = {
        "stateMachineArn": _machine_arn(args, args.machine),
        "input": json.dumps(_json_argument(args.input, "--input")),
    }
    if args.name:
        params["name"] = args.name
    execution_arn = client.start_execution(**params)["executionArn"]
    print(f"execution: {execution_arn}", flush=True)
    if not args.watch:
        return 0
    seen = 0
    entered: dict[str, float] = {}
    while True:
        # Status first: a history read after it is complete when the status is final.
        status = client.describe_execution(executionArn=execution_arn)
        events = client.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        for event in events[seen:]:
            kind = event["type"]
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            stamp = event["timestamp"].timestamp()
            if kind.endswith(_ENTERED):
                entered[details.get("name", "")] = stamp
                print(f"  ▶ {details.get('name')}  ({kind.removesuffix('StateEntered')})", flush=True)
            elif kind.endswith(_EXITED):
                name = details.get("name", "")
                took = (stamp - entered.get(name, stamp)) * 1000
                print(f"  ✓ {name}  {took:.0f} ms", flush=True)
            elif kind.endswith(("Failed", "TimedOut")) and "error" in details:
                print(f"  ✗ {kind}: {details.get('error')}: {details.get('cause', '')}", flush=True)
        seen = len(events)
        if status["status"] != "RUNNING":
            print(f"status: {status['status']}")
            if "output" in status:
                print(status["output"])
            if status.get("error"):
                print(f"error: {status['error']}: {status.get('cause', '')}")
            return 0 if status["status"] == "SUCCEEDED" else 1
        time.sleep(0.2)


def _executions(args: argparse.Namespace) -> int:
    client = _client(args, "stepfunctions")
    machines = (
        [_machine_arn(args, args.machine)]
        if args.machine
        else [m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]]
    )
    rows = []
    for arn in machines:
        for execution in client.list_executions(stateMachineArn=arn, maxResults=args.limit)["executions"]:
            rows.append(
                [
                    arn.rsplit(":", 1)[-1],
                    execution["name"],
                    execution["status"],
                    execution["startDate"].strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )
    print(_table(rows, ["state machine", "execution", "status", "started"]) if rows else "no executions")
    return 0


def _put_events(args: argparse.Namespace) -> int:
    client = _client(args, "events")
    entry = {
        "Source": args.source,
        "DetailType": args.detail_type,
        "Detail": json.dumps(_json_argument(args.detail, "--detail")),
        "EventBusName": args.bus,
    }
    response = client.put_events(Entries=[entry])
    for result in response["Entries"]:
        print(result.get("EventId") or f"failed: {result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return 1 if response.get("FailedEntryCount") else 0


def _logs(args: argparse.Namespace) -> int:
    client = _client(args, "logs")
    group = args.function if args.function.startswith("/") else f"/aws/lambda/{args.function}"
    start = int((time.time() - args.since) * 1000)
    seen: set[str] = set()
    while True:
        token = None
        while True:
            params: dict[str, Any] = {"logGroupName": group, "startTime": start}
            if token:
                params["nextToken"] = token
            try:
                page = client.filter_log_events(**params)
            except client.exceptions.ResourceNotFoundException:
                # Lambda creates a function's log group on its first invocation.
                if args.follow:
                    break
                if not group.startswith("/aws/lambda/"):
                    raise
                # A function that does not exist answers with Lambda's own error.
                _client(args, "lambda").get_function(FunctionName=args.function)
                print(f"no logs yet: {args.function} has not run", file=sys.stderr)
                return 0
            for event in page["events"]:
                if event["eventId"] not in seen:
                    seen.add(event["eventId"])
                    sys.stdout.write(
                        event["message"] if event["message"].endswith("\n") else event["message"] + "\n"
                    )
                    start = max(start, event["timestamp"])
            token = page.get("nextToken")
            if not token:
                break
        sys.stdout.flush()
        if not args.follow:
            return 0
        time.sleep(0.5)


def _validate(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    from cloudlet.arns import DEFAULT_ACCOUNT as account
    from cloudlet.asl import StateMachine
    from cloudlet.patterns import EventPattern
    from cloudlet.runtime import find_template
    from cloudlet.templates import Place, load_application, state_machine_definition

    template = find_template(Path(args.dir))
    place = Place(account, args.region, template.parent.name, DEFAULT_ENDPOINT)
    application = load_application(
        template.read_text(),
        filename=str(template),
        place=place,
        read_file=lambda p: (template.parent / p).read_text(),
    )
    problems = 0
    for resource in application.resources.values():
        where = f"{template}:{resource.line}" if resource.line else str(template)
        try:
            if resource.type == "AWS::StepFunctions::StateMachine":
                StateMachine.from_definition(state_machine_definition(resource))
            elif resource.type == "AWS::Events::Rule" and "EventPattern" in resource.properties:
                EventPattern(resource.properties["EventPattern"])
        except CloudletError as exc:
            problems += 1
            print(f"{where}: {resource.logical_id}: {exc.code}: {exc.message}")
    for warning in application.warnings:
        print(f"warning: {warning}")
    if shutil.which("cfn-lint"):
        lint = subprocess.run(["cfn-lint", str(template)], capture_output=True, text=True)
        if lint.stdout.strip():
            print(lint.stdout.rstrip())
        problems += 1 if lint.returncode not in (0, 4) else 0  # 4: warnings only
    else:
        print("cfn-lint is not installed: skipped (pip install cfn-lint)")
    print(f"{len(application.resources)} resources checked, {problems} problem(s)")
    return 1 if problems else 0


# -- the parser ------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudlet", description="Run serverless applications anywhere.")
    parser.add_argument("--version", action="version", version=f"cloudlet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the services do")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--region", default=DEFAULT_REGION)
        sub.add_argument("--account", default=DEFAULT_ACCOUNT)
        return sub

    def remote(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = command(name, help_text)
        sub.add_argument("--dir", default=".", help="the application folder (to find its endpoint)")
        sub.add_argument("--endpoint-url", help="the running application's endpoint")
        return sub

    up = command("up", "Run the application in DIR (template.yaml) in the foreground.")
    up.add_argument("dir", nargs="?", default=".")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=4566, help="API port (0 picks a free one)")
    up.add_argument(
        "--parameter", action="append", default=[], metavar="KEY=VALUE", help="template parameter"
    )
    up.add_argument(
        "--no-reload", dest="reload", action="store_false", help="do not re-deploy on file changes"
    )

    invoke = remote("invoke", "Invoke a function and print its result (logs go to stderr).")
    invoke.add_argument("function")
    invoke.add_argument("--event", help="the event as JSON, or @file.json")

    start = remote("start-execution", "Start a workflow execution.")
    start.add_argument("machine", help="state machine name or ARN")
    start.add_argument("--input", help="the input as JSON, or @file.json")
    start.add_argument("--name", help="execution name")
    start.add_argument("--watch", action="store_true", help="render states as they run, then the result")

    executions = remote("executions", "List workflow executions.")
    executions.add_argument("machine", nargs="?")
    executions.add_argument("--limit", type=int, default=50)

    put = remote("put-events", "Put one event on a bus.")
    put.add_argument("--source", required=True)
    put.add_argument("--detail-type", required=True)
    put.add_argument("--detail", default="{}", help="the detail as JSON, or @file.json")
    put.add_argument("--bus", default="default")

    logs = remote("logs", "Print a function's logs.")
    logs.add_argument("function")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("--since", type=float, default=3600.0, help="seconds of history to show")

    validate = command("validate", "Check the template, its workflow definitions and event patterns.")
    validate.add_argument("dir", nargs="?", default=".")
    return parser


_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _FieldsFormatter(logging.Formatter):
    """Log lines with the fields services pass in ``extra`` (which function, which runtime, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
        return text + "".join(f" {k}={v}" for k, v in fields.items())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stream = logging.StreamHandler()
    stream.setFormatter(_FieldsFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[stream])
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "up":
            return asyncio.run(_up(args))
        handler = {
            "invoke": _invoke,
            "start-execution": _start_execution,
            "executions": _executions,
            "put-events": _put_events,
            "logs": _logs,
            "validate": _validate,
        }[args.command]
        return handler(args)
    except CloudletError as exc:
        return _fail(f"{exc.code}: {exc.message}" if exc.code not in exc.message else exc.message)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        return _fail(str(exc))
    except Exception as exc:  # botocore's client errors: print AWS's message, not a traceback
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        if isinstance(exc, EndpointConnectionError):
            return _fail(
                f"no application is answering at {_endpoint(args)}: start one with `cloudlet up DIR`, "
                "then run this command with --dir DIR (or --endpoint-url URL)"
            )
        if isinstance(exc, (ClientError, BotoCoreError)):
            return _fail(str(exc))
        raise


if __name__ == "__main__":
    sys.exit(main())
