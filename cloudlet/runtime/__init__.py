"""The runtime: loads an application, owns the store, starts the services, routes ARNs.

```python
runtime = Runtime(Path("examples/orders"), endpoint_url="http://127.0.0.1:4566")
await runtime.start()            # store in examples/orders/.cloudlet, services resumed
outcome = await runtime.deploy() # template.yaml -> resources, by difference with the last deploy
...
await runtime.stop()
```
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudlet.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from cloudlet.clock import Clock, SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.errors import CloudletError
from cloudlet.router import Router
from cloudlet.runtime.deploy import Deployer, DeployError, DeployResult
from cloudlet.runtime.services import SERVICES, available, service_class
from cloudlet.store import Store, open_store
from cloudlet.templates import ApiRoute, Application, Place, api_routes, load_application

__all__ = ["TEMPLATE_NAMES", "DeployError", "DeployOutcome", "Runtime", "find_template"]

logger = logging.getLogger(__name__)

#: Template file names looked for in an application folder, in order (SAM CLI's defaults).
TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")


def find_template(app_dir: Path) -> Path:
    """The template of the application in ``app_dir`` (or ``app_dir`` itself when it is a file)."""
    if app_dir.is_file():
        return app_dir
    for name in TEMPLATE_NAMES:
        if (app_dir / name).is_file():
            return app_dir / name
    raise CloudletError(
        f"No template found in {app_dir}: expected one of {', '.join(TEMPLATE_NAMES)}",
        code="TemplateNotFound",
    )


@dataclass
class DeployOutcome:
    """The loaded application, what the deploy changed, and the HTTP routes to serve."""

    application: Application
    result: DeployResult
    routes: list[ApiRoute] = field(default_factory=list)


class Runtime:
    """One running application: its store, router and services."""

    def __init__(
        self,
        app_dir: Path,
        *,
        template: Path | None = None,
        parameters: dict[str, Any] | None = None,
        store_url: str | None = None,
        endpoint_url: str = "http://127.0.0.1:4566",
        account: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        stack_name: str | None = None,
        clock: Clock | None = None,
        router: Router | None = None,
        services: tuple[str, ...] | None = None,
    ) -> None:
        self.template_path = template or find_template(app_dir)
        self.app_dir = self.template_path.parent if app_dir.is_file() else app_dir
        self.parameters = dict(parameters or {})
        self.data_dir = self.app_dir / ".cloudlet"
        self.store_url = store_url or f"sqlite:///{self.data_dir / 'state.db'}"
        self.config = ServiceConfig(
            account=account, region=region, endpoint_url=endpoint_url, data_dir=self.data_dir
        )
        self.stack_name = stack_name or self.app_dir.resolve().name or "app"
        self.clock = clock or SystemClock()
        self.router = router or Router()
        #: Which services to start, by package name ("queues", "functions", ...); None = all.
        self.enabled = services
        self.services: dict[str, Any] = {}
        self.store: Store | None = None
        self.deployer: Deployer | None = None

    async def start(self) -> None:
        """Open the store and start every service (each resumes its work from the store)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = open_store(self.store_url)
        for spec in SERVICES:
            if self.enabled is not None and spec.name not in self.enabled:
                continue
            if not available(spec):
                logger.warning("service not installed", extra={"action": "start", "service": spec.module})
                continue
            cls = service_class(spec)
            service = cls(store=self.store, router=self.router, clock=self.clock, config=self.config)
            self.services[spec.name] = service
        for name, service in self.services.items():
            await service.start()
            logger.info("service started", extra={"action": "start", "service": name})
        self.deployer = Deployer(
            self.router, self.store, app_dir=self.app_dir.resolve(), stack_name=self.stack_name
        )

    def load(self) -> Application:
        """Load and resolve the template (raises InvalidTemplate naming file and line)."""
        place = Place(
            self.config.account, self.config.region, self.stack_name, self.config.endpoint_url or ""
        )
        text = self.template_path.read_text()

        def read_file(path: str) -> str:
            return (self.app_dir / path).read_text()

        return load_application(
            text,
            filename=str(self.template_path),
            place=place,
            parameters=self.parameters,
            read_file=read_file,
        )

    async def deploy(self) -> DeployOutcome:
        """Deploy the template by difference with what is running."""
        if self.deployer is None:
            raise CloudletError("start() the runtime before deploying", code="RuntimeNotStarted")
        application = self.load()
        result = await self.deployer.deploy(application)
        routes = [
            route
            for api in application.resources.values()
            if api.type in ("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi")
            for route in api_routes(api)
        ]
        return DeployOutcome(application, result, routes)

    async def stop(self) -> None:
        """Stop every service, then close the store (consistent for the next start)."""
        for name, service in reversed(list(self.services.items())):
            try:
                await service.stop()
            except Exception:  # one service failing to stop must not keep the store open
                logger.exception("service failed to stop", extra={"action": "stop", "service": name})
        self.services.clear()
        if self.store is not None:
            await self.store.close()
            self.store = None
