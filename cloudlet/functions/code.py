"""Function code: a Zip package extracted once by hash, or a local directory run in place.

``Code={"ZipFile": bytes}`` is Lambda's own form. ``Code={"S3Bucket": "local", "S3Key": DIR}``
(``LOCAL_CODE_BUCKET``) is cloudlet's form for templates and local development: DIR is an
absolute directory that ``$LATEST`` runs from directly.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

from cloudlet.functions.errors import InvalidParameterValue

#: ``Code={"S3Bucket": LOCAL_CODE_BUCKET, "S3Key": "/abs/dir"}`` runs code from a local directory.
LOCAL_CODE_BUCKET = "local"
#: Directories never hashed nor copied into published versions.
SKIP_DIRS = ("__pycache__", ".git", ".cloudlet", ".aws-sam", "node_modules")


def materialize_code(root: Path, name: str, code: dict[str, Any]) -> dict[str, Any]:
    """Turn a Code member into {"dir", "local", "size", "sha256"}."""
    if not isinstance(code, dict):
        raise InvalidParameterValue("Code must be a structure with ZipFile or S3Bucket and S3Key.")
    if code.get("ImageUri"):
        raise InvalidParameterValue(
            "cloudlet runs Zip packages only; container images (ImageUri) are not supported."
        )
    if code.get("ZipFile") is not None:
        raw = code["ZipFile"]
        if isinstance(raw, str):
            raw = base64.b64decode(raw)
        digest = hashlib.sha256(raw).digest()
        target = root / name / digest.hex()[:32]
        if not target.exists():
            staging = target.with_name(target.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            try:
                with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                    archive.extractall(staging)
            except zipfile.BadZipFile:
                raise InvalidParameterValue(
                    "Could not unzip uploaded file. Please check your file, then try to upload again."
                ) from None
            os.replace(staging, target)
        return {
            "dir": str(target),
            "local": False,
            "size": len(raw),
            "sha256": base64.b64encode(digest).decode(),
        }
    bucket, key = code.get("S3Bucket"), code.get("S3Key")
    if bucket == LOCAL_CODE_BUCKET and isinstance(key, str):
        path = Path(key)
        if not path.is_absolute() or not path.is_dir():
            raise InvalidParameterValue(
                f"Code directory {key} does not exist (S3Key must be an absolute directory)."
            )
        size, sha = hash_directory(path)
        return {"dir": str(path), "local": True, "size": size, "sha256": sha}
    if bucket:
        raise InvalidParameterValue(
            f"cloudlet cannot fetch code from S3 bucket {bucket}: pass Code={{'ZipFile': bytes}} or "
            f"Code={{'S3Bucket': '{LOCAL_CODE_BUCKET}', 'S3Key': '/absolute/code/dir'}}."
        )
    raise InvalidParameterValue("Please provide a source for function code.")


def hash_directory(root: Path) -> tuple[int, str]:
    """(total size, base64 sha256) over the relative paths and contents of a code directory."""
    digest = hashlib.sha256()
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            try:
                data = path.read_bytes()
            except OSError:
                continue
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(hashlib.sha256(data).digest())
            size += len(data)
    return size, base64.b64encode(digest.digest()).decode()
