"""Settings that every service receives from the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cloudlet.arns import DEFAULT_ACCOUNT, DEFAULT_REGION


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Account, region and where the application's API and data live."""

    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".cloudlet"))
