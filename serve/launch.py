"""Deploy a Serve config from Python the way ``serve run CONFIG`` does (used by tests and benchmarks).

``load_serve_config`` reads and validates a config file (``ray.serve.schema.ServeDeploySchema``, plus our
``args:`` block); ``deploy_config`` starts Serve on the connected Ray cluster, applies the config (re-applying
an edited one is how the Router's ``user_config`` hot-reloads) and waits until the application runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from ray.serve.schema import ServeDeploySchema

from mm_orch.exceptions import ConfigError
from mm_orch.yaml_config import explain_validation_error
from serve.config import parse_args

__all__ = ["deploy_config", "load_serve_config", "set_router_user_config"]


def load_serve_config(path: str | Path) -> ServeDeploySchema:
    """Read and validate a Serve config; the ``args:`` of every mm-orch application are checked too."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Serve config {str(file)!r} cannot be read: {exc}") from exc
    try:
        config = ServeDeploySchema.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"Serve config {str(file)!r} is invalid:\n{explain_validation_error(exc)}\n(schema: "
            "ray.serve.schema.ServeDeploySchema; config/serve.local.yaml is a complete example)"
        ) from exc
    for app in config.applications:
        if app.route_prefix is not None and not str(app.route_prefix).startswith("/"):
            raise ConfigError(
                f"Serve config {str(file)!r}: application {app.name!r} has route_prefix {app.route_prefix!r}; "
                f"it must start with '/' (e.g. '/{app.route_prefix}', or '/' for the root)"
            )
        if app.import_path.startswith("serve.app:"):
            try:
                parse_args(app.args)
            except ConfigError as exc:
                raise ConfigError(f"Serve config {str(file)!r}, application {app.name!r}: {exc}") from exc
    return config


def set_router_user_config(config: ServeDeploySchema, user_config: dict[str, Any], app: str = "mm_orch") -> None:
    """Replace the Router deployment's ``user_config`` in ``config`` (in place)."""
    for application in config.applications:
        if application.name != app:
            continue
        for deployment in application.deployments:
            if deployment.name == "Router":
                deployment.user_config = user_config
                return
    raise ConfigError(f"no Router deployment in application {app!r} of this config; add one under deployments:")


def deploy_config(config: ServeDeploySchema, *, timeout_s: float = 300.0, poll_s: float = 1.0) -> str:
    """Apply ``config`` to Serve on the connected cluster; returns the HTTP base URL once every app runs.

    Raises ConfigError with the application's status message if it fails to deploy or is not running in
    ``timeout_s``.
    """
    from ray import serve
    from ray.serve._private.api import serve_start

    client = serve_start(
        http_options=config.http_options.model_dump(),
        proxy_location=config.proxy_location,
    )
    client.deploy_apps(config)
    names = [a.name for a in config.applications]
    deadline = time.monotonic() + timeout_s
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        apps = serve.status().applications
        status = {n: apps[n] for n in names if n in apps}
        failed = {n: s.message for n, s in status.items() if str(s.status).endswith("DEPLOY_FAILED")}
        if failed:
            raise ConfigError(f"Serve application(s) failed to deploy: {failed}")
        if len(status) == len(names) and all(str(s.status).endswith("RUNNING") for s in status.values()):
            # Serve keeps the HTTP options it was first started with; report the ones in force.
            http = client.http_config or config.http_options
            host, port = http.host, http.port
            return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        time.sleep(poll_s)
    summary = {n: (str(s.status), s.message) for n, s in status.items()}
    raise ConfigError(f"Serve application(s) {names} not running after {timeout_s} s: {summary}")
