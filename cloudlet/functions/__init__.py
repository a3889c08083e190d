"""Functions: a Lambda-compatible Python function runtime with snapshot cold starts.

``Functions`` (the service) implements Lambda's API operations with boto3's names and member
names (``create_function``, ``invoke``, ``publish_version``, ``create_alias``,
``put_function_concurrency``, ``put_function_event_invoke_config``, ...) and owns every
``arn:aws:lambda:...:function:...`` ARN through the router (``deliver``).

Code. ``create_function`` and ``update_function_code`` accept Lambda's ``Code={"ZipFile":
bytes}`` (extracted once into the data directory, keyed by its hash) and, for templates and
local development, a local directory::

    Code={"S3Bucket": "local", "S3Key": "/absolute/path/to/code"}

``$LATEST`` then runs straight from that directory (edits take effect in new environments);
``publish_version`` copies it, so versions are immutable as on AWS. Any other S3 bucket and
container images are rejected with InvalidParameterValueException naming what is missing.
``Layers`` entries that are local directories are put on ``sys.path`` (their ``python``
subdirectory first, as ``/opt/python``); other layer ARNs are kept but not loaded.

Execution. Each execution environment is an OS process (``lambda_runtime/bootstrap.py``) on
the interpreter the ``Runtime`` names when present, else the running one (``interpreters``).
With ``SnapStart={"ApplyOn": "PublishedVersions"}`` a snapshot process runs init once and forks
each new environment (``environments``); cloudlet restores ``$LATEST`` from a snapshot too
(``snapshot_latest=False`` turns that off), where AWS would only do so for versions.
Timeouts, MemorySize (resident memory, watched by the parent every 50-250 ms, with an
RLIMIT_DATA backstop in the child for sudden huge allocations), payload limits and concurrency
are enforced by the parent. Logs (``logs``) follow Lambda's START/END/REPORT format in log
group ``/aws/lambda/NAME`` and are readable with CloudWatch Logs' operation shapes
(``Functions.logs``). Event invocations are durable (``event_invocations``).

Modules: ``service`` (the class, invocation), ``registry`` (stored functions and lookups),
``configuration``, ``versions``, ``limits``, ``invoke_configs`` (operation groups), ``code``,
``model`` (names, limits, environment variables), ``environments`` (processes, snapshots,
pools), ``interpreters``, ``logs``, ``event_invocations``, ``errors``, ``lambda_runtime``
(what runs inside each environment).
"""

from cloudlet.functions.code import LOCAL_CODE_BUCKET
from cloudlet.functions.errors import TooManyRequests
from cloudlet.functions.logs import FunctionLogs
from cloudlet.functions.service import Functions

__all__ = ["LOCAL_CODE_BUCKET", "FunctionLogs", "Functions", "TooManyRequests"]
