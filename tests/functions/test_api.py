"""Lambda API operations: configuration, versions, aliases, tags, concurrency, event configs, errors."""

from __future__ import annotations

import io
import zipfile

import pytest

from cloudlet.errors import CloudletError
from tests.functions.conftest import code, create

ARN = "arn:aws:lambda:us-east-1:000000000000:function"


def _raises(code_name: str, message: str | None = None):
    """``await _raises(code, message)(awaitable)``: the awaitable fails with that code (and message)."""

    async def run(awaitable):
        try:
            await awaitable
        except CloudletError as exc:
            assert exc.code == code_name, (exc.code, exc.message)
            if message is not None:
                assert exc.message == message
            return exc
        raise AssertionError(f"expected {code_name}")

    return run


def test_create_get_list_delete(run_service):
    async def body(f):
        created = await create(f, "one", "app.echo", MemorySize=256, Timeout=5, Description="d")
        assert created["FunctionArn"] == f"{ARN}:one"
        assert created["Version"] == "$LATEST"
        assert created["MemorySize"] == 256 and created["Timeout"] == 5
        assert created["State"] == "Active" and created["PackageType"] == "Zip"
        assert created["LastModified"].endswith("+0000")
        assert created["LoggingConfig"]["LogGroup"] == "/aws/lambda/one"
        got = await f.get_function(FunctionName=f"{ARN}:one")
        assert got["Configuration"] == created
        assert got["Code"]["Location"].startswith("file://")
        assert (await f.get_function_configuration(FunctionName="one"))["Handler"] == "app.echo"
        await create(f, "two", "app.echo")
        names = [c["FunctionName"] for c in (await f.list_functions())["Functions"]]
        assert names == ["one", "two"]
        page = await f.list_functions(MaxItems=1)
        assert len(page["Functions"]) == 1 and page["NextMarker"]
        assert (await f.list_functions(Marker=page["NextMarker"]))["Functions"][0]["FunctionName"] == "two"
        await f.delete_function(FunctionName="one")
        await _raises("ResourceNotFoundException", f"Function not found: {ARN}:one")(
            f.get_function(FunctionName="one")
        )

    run_service(body)


def test_create_errors(run_service):
    async def body(f):
        await create(f, "dup", "app.echo")
        await _raises("ResourceConflictException", "Function already exist: dup")(
            create(f, "dup", "app.echo")
        )
        await _raises("ValidationException")(create(f, "bad", "app.echo", MemorySize=64))
        await _raises("ValidationException")(create(f, "bad", "app.echo", Timeout=901))
        await _raises("ValidationException")(create(f, "bad name!", "app.echo"))
        err = await _raises("InvalidParameterValueException")(
            create(f, "bad", "app.echo", Environment={"Variables": {"AWS_REGION": "x"}})
        )
        assert "Reserved keys used in this request: AWS_REGION" in err.message
        await _raises("InvalidParameterValueException")(
            f.create_function(FunctionName="bad", Runtime="cobol", Handler="a.b", Code=code())
        )
        await _raises("InvalidParameterValueException")(
            f.create_function(
                FunctionName="bad", Runtime="python3.12", Handler="a.b", Code={"S3Bucket": "b", "S3Key": "k"}
            )
        )
        await _raises("InvalidParameterValueException")(
            f.create_function(
                FunctionName="bad", Runtime="python3.12", Handler="a.b", Code={"ZipFile": b"not a zip"}
            )
        )
        await _raises("InvalidParameterValueException")(
            f.create_function(FunctionName="bad", Runtime="python3.12", Code=code())
        )

    run_service(body)


def test_zip_code_and_update(run_service):
    def zipped(source: str) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("main.py", source)
        return buf.getvalue()

    async def body(f):
        first = zipped("def handler(e, c):\n    return 'v1'\n")
        created = await f.create_function(
            FunctionName="z", Runtime="python3.11", Handler="main.handler", Code={"ZipFile": first}
        )
        assert created["CodeSize"] == len(first)
        assert (await f.invoke(FunctionName="z"))["Payload"] == b'"v1"'
        updated = await f.update_function_code(
            FunctionName="z", ZipFile=zipped("def handler(e, c):\n    return 'v2'\n")
        )
        assert updated["CodeSha256"] != created["CodeSha256"]
        assert updated["RevisionId"] != created["RevisionId"]
        assert (await f.invoke(FunctionName="z"))["Payload"] == b'"v2"'
        await _raises("PreconditionFailedException")(
            f.update_function_code(FunctionName="z", ZipFile=first, RevisionId="stale")
        )

    run_service(body)


def test_update_configuration_and_revision(run_service):
    async def body(f):
        created = await create(f, "cfg", "app.echo")
        updated = await f.update_function_configuration(
            FunctionName="cfg", MemorySize=512, Environment={"Variables": {"MY_VAR": "x"}}
        )
        assert updated["MemorySize"] == 512
        assert updated["Environment"] == {"Variables": {"MY_VAR": "x"}}
        assert updated["RevisionId"] != created["RevisionId"]
        await _raises("PreconditionFailedException")(
            f.update_function_configuration(FunctionName="cfg", Timeout=9, RevisionId=created["RevisionId"])
        )
        await _raises("ResourceNotFoundException", f"Function not found: {ARN}:nope")(
            f.update_function_configuration(FunctionName="nope", Timeout=9)
        )

    run_service(body)


def test_versions_and_aliases(run_service):
    async def body(f):
        await create(f, "v", "app.echo")
        v1 = await f.publish_version(FunctionName="v", Description="first")
        assert v1["Version"] == "1" and v1["FunctionArn"] == f"{ARN}:v:1"
        assert (await f.publish_version(FunctionName="v"))["Version"] == "1"  # nothing changed
        await f.update_function_configuration(FunctionName="v", Timeout=10)
        v2 = await f.publish_version(FunctionName="v")
        assert v2["Version"] == "2" and v2["Timeout"] == 10
        versions = [c["Version"] for c in (await f.list_versions_by_function(FunctionName="v"))["Versions"]]
        assert versions == ["$LATEST", "1", "2"]
        assert (await f.get_function_configuration(FunctionName="v", Qualifier="1"))["Timeout"] == 3
        alias = await f.create_alias(FunctionName="v", Name="live", FunctionVersion="1")
        assert alias["AliasArn"] == f"{ARN}:v:live" and alias["FunctionVersion"] == "1"
        await _raises("ResourceConflictException", f"Alias already exists: {ARN}:v:live")(
            f.create_alias(FunctionName="v", Name="live", FunctionVersion="1")
        )
        await _raises("ResourceNotFoundException", f"Function not found: {ARN}:v:9")(
            f.create_alias(FunctionName="v", Name="other", FunctionVersion="9")
        )
        assert (await f.get_function_configuration(FunctionName=f"{ARN}:v:live"))["Version"] == "1"
        moved = await f.update_alias(FunctionName="v", Name="live", FunctionVersion="2")
        assert moved["FunctionVersion"] == "2" and moved["RevisionId"] != alias["RevisionId"]
        assert [a["Name"] for a in (await f.list_aliases(FunctionName="v"))["Aliases"]] == ["live"]
        assert (await f.list_aliases(FunctionName="v", FunctionVersion="1"))["Aliases"] == []
        await _raises("ResourceConflictException")(f.delete_function(FunctionName="v", Qualifier="2"))
        await f.delete_alias(FunctionName="v", Name="live")
        await _raises("ResourceNotFoundException")(f.get_alias(FunctionName="v", Name="live"))
        await f.delete_function(FunctionName="v", Qualifier="1")
        await _raises("ResourceNotFoundException", f"Function not found: {ARN}:v:1")(
            f.get_function(FunctionName="v", Qualifier="1")
        )
        all_versions = (await f.list_functions(FunctionVersion="ALL"))["Functions"]
        assert [c["Version"] for c in all_versions] == ["$LATEST", "2"]

    run_service(body)


def test_qualifier_parsing(run_service):
    async def body(f):
        await create(f, "q", "app.echo")
        await f.publish_version(FunctionName="q")
        assert (await f.get_function_configuration(FunctionName="q:1"))["Version"] == "1"
        assert (await f.get_function_configuration(FunctionName="000000000000:function:q"))[
            "Version"
        ] == "$LATEST"
        await _raises("InvalidParameterValueException")(
            f.get_function_configuration(FunctionName="q:1", Qualifier="2")
        )

    run_service(body)


def test_tags(run_service):
    async def body(f):
        await create(f, "t", "app.echo", Tags={"a": "1"})
        await f.tag_resource(Resource=f"{ARN}:t", Tags={"b": "2"})
        assert (await f.list_tags(Resource=f"{ARN}:t"))["Tags"] == {"a": "1", "b": "2"}
        await f.untag_resource(Resource=f"{ARN}:t", TagKeys=["a"])
        assert (await f.get_function(FunctionName="t"))["Tags"] == {"b": "2"}

    run_service(body)


def test_concurrency_settings(run_service):
    async def body(f):
        await create(f, "c", "app.echo")
        assert await f.get_function_concurrency(FunctionName="c") == {}
        assert await f.put_function_concurrency(FunctionName="c", ReservedConcurrentExecutions=5) == {
            "ReservedConcurrentExecutions": 5
        }
        assert (await f.get_function(FunctionName="c"))["Concurrency"] == {"ReservedConcurrentExecutions": 5}
        settings = await f.get_account_settings()
        assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 15
        err = await _raises("InvalidParameterValueException")(
            f.put_function_concurrency(FunctionName="c", ReservedConcurrentExecutions=11)
        )
        assert "below its minimum value of [10]" in err.message
        await f.delete_function_concurrency(FunctionName="c")
        assert await f.get_function_concurrency(FunctionName="c") == {}

    run_service(body, concurrency_limit=20, min_unreserved_concurrency=10)


def test_event_invoke_config(run_service):
    async def body(f):
        await create(f, "e", "app.echo")
        await _raises(
            "ResourceNotFoundException", f"The function {ARN}:e:$LATEST doesn't have an EventInvokeConfig"
        )(f.get_function_event_invoke_config(FunctionName="e"))
        put = await f.put_function_event_invoke_config(
            FunctionName="e",
            MaximumRetryAttempts=1,
            DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}},
        )
        assert put["FunctionArn"] == f"{ARN}:e:$LATEST" and put["MaximumRetryAttempts"] == 1
        updated = await f.update_function_event_invoke_config(FunctionName="e", MaximumEventAgeInSeconds=100)
        assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 100
        assert updated["DestinationConfig"]["OnFailure"]["Destination"].endswith(":dlq")
        replaced = await f.put_function_event_invoke_config(FunctionName="e", MaximumRetryAttempts=0)
        assert "MaximumEventAgeInSeconds" not in replaced
        assert (
            len((await f.list_function_event_invoke_configs(FunctionName="e"))["FunctionEventInvokeConfigs"])
            == 1
        )
        await _raises("ValidationException")(
            f.put_function_event_invoke_config(FunctionName="e", MaximumRetryAttempts=3)
        )
        await _raises("ValidationException")(
            f.put_function_event_invoke_config(FunctionName="e", MaximumEventAgeInSeconds=59)
        )
        await f.delete_function_event_invoke_config(FunctionName="e")
        await _raises("ResourceNotFoundException")(f.delete_function_event_invoke_config(FunctionName="e"))

    run_service(body)


@pytest.mark.parametrize(
    ("invocation_type", "size", "limit"),
    [("RequestResponse", 6 * 1024 * 1024 + 1, 6291456), ("Event", 256 * 1024 + 1, 262144)],
)
def test_payload_limits(run_service, invocation_type, size, limit):
    async def body(f):
        await create(f, "p", "app.echo")
        payload = b'"' + b"x" * (size - 2) + b'"'
        await _raises(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        )(f.invoke(FunctionName="p", InvocationType=invocation_type, Payload=payload))

    run_service(body)


def test_invoke_request_errors(run_service):
    async def body(f):
        await create(f, "r", "app.echo")
        await _raises("InvalidRequestContentException")(f.invoke(FunctionName="r", Payload=b"{not json"))
        await _raises("ResourceNotFoundException", f"Function not found: {ARN}:missing")(
            f.invoke(FunctionName="missing")
        )
        await _raises("ResourceNotFoundException", f"Function not found: {ARN}:r:7")(
            f.invoke(FunctionName="r", Qualifier="7")
        )
        dry = await f.invoke(FunctionName="r", InvocationType="DryRun")
        assert dry == {"StatusCode": 204, "Payload": b""}
        await _raises("ValidationException")(f.invoke(FunctionName="r", InvocationType="Later"))

    run_service(body)


def test_state_survives_restart(run_service, tmp_path):
    from cloudlet.store import SQLiteStore

    async def first(f):
        await create(f, "keep", "app.echo", Tags={"k": "v"})
        await f.publish_version(FunctionName="keep")
        await f.create_alias(FunctionName="keep", Name="prod", FunctionVersion="1")

    async def second(f):
        assert (await f.get_alias(FunctionName="keep", Name="prod"))["FunctionVersion"] == "1"
        assert (await f.list_tags(Resource=f"{ARN}:keep"))["Tags"] == {"k": "v"}
        assert (await f.invoke(FunctionName="keep:prod", Payload=b"1"))["Payload"] == b'{"event": 1}'

    db = tmp_path / "state.db"
    store = SQLiteStore(db)
    run_service(first, store=store)
    run_service(second, store=SQLiteStore(db))
