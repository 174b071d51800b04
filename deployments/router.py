"""The router deployment: the routing chain of ``mm_orch.routing``, hot-reloadable through ``user_config``.

Serve calls :meth:`RouterServer.reconfigure` with the deployment's ``user_config`` at start and again, on the
running replicas, whenever only ``user_config`` changes (``serve deploy``/``serve run`` of an edited config,
or a KubeRay RayService update). The new chain is built and warmed up beside the old one, which keeps
answering until the swap, so a reload drops no request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ray import serve

from deployments._common import replica_info
from mm_orch.exceptions import ConfigError
from mm_orch.routing import RouterChain, RouterConfig, RoutingDecision, build_router
from mm_orch.schemas import UserRequest
from mm_orch.yaml_config import explain_validation_error

__all__ = ["RouterDeployment", "RouterServer", "RouterUserConfig"]

log = logging.getLogger(__name__)


class RouterUserConfig(BaseModel):
    """The router deployment's ``user_config``: edit it to reload the router with no downtime."""

    model_config = ConfigDict(extra="forbid")

    router: RouterConfig = Field(
        default_factory=RouterConfig, description="The routing chain to build (the router block of phase_b.yaml)."
    )
    revision: str = Field(
        default="",
        description="Free-form tag; change it to reload a re-published model under an unchanged model_path.",
    )


def parse_user_config(raw: Mapping[str, Any] | RouterUserConfig | None) -> RouterUserConfig:
    """Validate a user_config mapping; ConfigError names the bad field and value."""
    if isinstance(raw, RouterUserConfig):
        return raw
    try:
        return RouterUserConfig.model_validate(dict(raw or {}))
    except ValidationError as exc:
        problems = "; ".join(line.strip() for line in explain_validation_error(exc).splitlines())
        raise ConfigError(
            f"router deployment user_config {dict(raw or {})!r} is invalid: {problems}. Allowed keys: 'router' "
            f"(RouterConfig fields: {sorted(RouterConfig.model_fields)}) and 'revision'"
        ) from exc


def _build_chain(cfg: RouterUserConfig) -> RouterChain:
    from pathlib import Path

    from mm_orch.paths import writable_path

    router_cfg = cfg.router
    if not Path(router_cfg.model_path).is_absolute():
        router_cfg = router_cfg.model_copy(update={"model_path": str(writable_path(router_cfg.model_path))})
    chain = build_router(router_cfg)
    chain.warm_up()
    return chain


class RouterServer:
    """Routes requests with a chain built from a :class:`RouterUserConfig` (cheap constructor; the chain is
    built by :meth:`reconfigure`, which Serve calls right after construction)."""

    def __init__(self, user_config: Mapping[str, Any] | None = None) -> None:
        self._chain: RouterChain | None = None
        self._config: RouterUserConfig | None = None
        self._swap = threading.Lock()
        self.reloads = 0
        self.loaded_at: float | None = None
        if user_config is not None:
            self._install(parse_user_config(user_config))

    def _install(self, cfg: RouterUserConfig) -> None:
        chain = _build_chain(cfg)  # built and warmed beside the running chain
        with self._swap:
            replaced = self._chain is not None
            self._chain, self._config = chain, cfg
            self.loaded_at = time.time()
            if replaced:
                self.reloads += 1
        log.info(
            "router %s: version %s, model %s, revision %r",
            "reloaded" if replaced else "loaded",
            chain.version,
            self._model_version(chain),
            cfg.revision,
        )

    async def reconfigure(self, user_config: Mapping[str, Any] | None) -> None:
        """Serve's user_config hook: build the new chain off the event loop, then swap it in."""
        cfg = parse_user_config(user_config)
        await asyncio.to_thread(self._install, cfg)

    def chain(self) -> RouterChain:
        if self._chain is None:
            self._install(RouterUserConfig())
        assert self._chain is not None
        return self._chain

    async def route(self, request: UserRequest) -> RoutingDecision:
        """The routing decision for ``request``."""
        return self.chain().route(request)

    def info(self) -> dict[str, Any]:
        """Router version, loaded model version, config, reload count and the replica answering."""
        chain = self.chain()
        assert self._config is not None
        return {
            "router_version": chain.version,
            "model_version": self._model_version(chain),
            "config": self._config.model_dump(mode="json", by_alias=True),
            "reloads": self.reloads,
            "loaded_at": self.loaded_at,
            **replica_info(),
        }

    @staticmethod
    def _model_version(chain: RouterChain) -> str | None:
        for router in chain.routers:
            version = getattr(router, "model_version", None)
            if version is None:
                version = getattr(getattr(router, "v2", None), "model_version", None)
            if version:
                return str(version)
        return None


RouterDeployment = serve.deployment(
    name="Router",
    ray_actor_options={"num_cpus": 0.1},
    max_ongoing_requests=256,
)(RouterServer)
