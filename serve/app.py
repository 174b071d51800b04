"""The Serve application: the ingress deployment and ``build_app``, the builder serve.yaml's import_path names.

Graph: ``Ingress`` (FastAPI, executor in-process) -> handles to ``Router``, ``LLM`` and ``Embedder``.
``serve run config/serve.local.yaml`` (one CPU machine) and ``serve run config/serve.yaml`` (GPU cluster) both
build it with ``import_path: serve.app:build_app`` and an ``args:`` block (:class:`serve.config.ServeAppArgs`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from deployments import EmbedderDeployment, LLMDeployment, RouterDeployment
from deployments._common import replica_info
from mm_orch.observability import Tracer, TracerConfig
from mm_orch.observability.feedback import FeedbackStore, default_feedback_path
from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
from serve.backend import HandleRouter, OrchestratorBackend
from serve.config import ServeAppArgs, parse_args
from serve.ingress import create_app
from serve.runtime import HandleModelManager, build_handle_runtime

__all__ = ["Ingress", "IngressServer", "build_app", "default_app", "project_config"]

log = logging.getLogger(__name__)


def _tracer(args: ServeAppArgs, replica_id: str) -> Tracer | None:
    if not args.tracing.enabled:
        return None
    from mm_orch.paths import writable_path

    folder = writable_path(args.tracing.parquet_dir) / replica_id
    return Tracer.from_config(
        TracerConfig(
            output_path=folder / "traces.jsonl" if args.tracing.jsonl else None,
            jsonl=args.tracing.jsonl,
            parquet=True,
            parquet_dir=folder,
            sample_rate=args.tracing.sample_rate,
        )
    )


def _feedback_store(args: ServeAppArgs) -> FeedbackStore:
    """POST /v1/feedback's store: args.tracing.feedback_path, else beside the traces (one file, every replica)."""
    from mm_orch.paths import writable_path

    if args.tracing.feedback_path:
        return FeedbackStore(writable_path(args.tracing.feedback_path))
    return FeedbackStore(default_feedback_path(writable_path(args.tracing.parquet_dir)))


def _phase_b_config(args: ServeAppArgs) -> Any:
    from mm_orch.configuration import PhaseBConfig, load_phase_b_config

    config = load_phase_b_config(args.phase_b_config) if args.phase_b_config else None
    config = config or PhaseBConfig()
    # The router is the Router deployment and the tracer is per replica; the orchestrator builds neither.
    return config.model_copy(update={"tracer": config.tracer.model_copy(update={"enabled": False})})


class IngressServer:
    """One ingress replica: the orchestrator over handle-backed models, behind the FastAPI app."""

    def __init__(
        self,
        args: dict[str, Any] | ServeAppArgs,
        llm: DeploymentHandle,
        router: DeploymentHandle,
        embedder: DeploymentHandle | None = None,
    ) -> None:
        self.args = parse_args(args)
        self.replica = replica_info()
        replica_id = str(self.replica.get("replica_id") or f"pid-{self.replica['pid']}")
        manager = HandleModelManager(
            {self.args.llm_model: llm}, embedder, embedder_name="embedder", timeout_s=self.args.handle_timeout_s
        )
        runtime = build_handle_runtime(manager, tools_config=self.args.tools or None)
        self.router = HandleRouter(router, timeout_s=self.args.handle_timeout_s)
        self.orchestrator = PhaseBOrchestrator(
            _phase_b_config(self.args), runtime=runtime, router=self.router, tracer=_tracer(self.args, replica_id)
        )
        handles: dict[str, Any] = {"router": router, "llm": llm}
        if embedder is not None:
            handles["embedder"] = embedder
        self.backend = OrchestratorBackend(
            self.orchestrator,
            self.router,
            info_handles=handles,
            replica=self.replica,
            readiness_timeout_s=self.args.readiness_timeout_s,
        )
        self.feedback = _feedback_store(self.args)
        if self.args.warm_up:
            # Serve builds the replica on its event loop thread, where blocking handle calls are refused
            # (serve.runtime._wait); the tools' warm-up embeds the corpus through the embedder deployment, so it
            # runs on a worker thread and the constructor waits for it (the replica is not ready before).
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-tools") as pool:
                pool.submit(self._warm_tools, runtime).result()

    @staticmethod
    def _warm_tools(runtime: Any) -> None:
        for name in runtime.tools.list_all():
            warm = getattr(runtime.tools.get(name), "warm_up", None)
            if warm is None or name == "document_store":  # the store embeds lazily; nothing to build up front
                continue
            try:
                warm()
            except Exception as exc:  # noqa: BLE001 - a tool that cannot warm up fails its first request instead, loudly
                log.warning("tool %r failed to warm up: %s", name, exc)

    def __serve_build_asgi_app__(self) -> Any:
        auth = self.args.auth
        return create_app(
            self.backend,
            api_keys=auth.keys(),
            api_keys_file=auth.api_keys_file,
            open_paths=auth.open_paths,
            limits=self.args.limits,
            feedback=self.feedback,
        )

    def check_health(self) -> None:
        """Serve's liveness probe of this replica (what GET /healthz reports): the orchestrator is usable.
        Readiness of the model deployments is GET /readyz; each of them has its own check_health."""
        if self.orchestrator.executor is None and self.orchestrator.using_phase_b:
            raise RuntimeError(f"Phase B has no executor: {self.orchestrator.fallback_reason}")

    def shutdown(self) -> None:
        """Flush and close this replica's tracer and feedback file."""
        for part in (getattr(self, "orchestrator", None), getattr(self, "feedback", None)):
            if part is not None:
                part.close()

    def __del__(self) -> None:
        self.shutdown()


Ingress = serve.deployment(name="Ingress", ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=64)(
    serve.ingress()(IngressServer)
)


def build_app(args: dict[str, Any] | None = None) -> Application:
    """The application for ``import_path: serve.app:build_app``; ``args`` is the config's ``args:`` block.

    Deployment options (replicas, autoscaling, CPUs/GPUs, runtime_env) come from the config's
    ``deployments:`` list, which overrides the defaults set here; the Router's ``user_config`` hot-reloads.
    """
    parsed = parse_args(args)
    llm = LLMDeployment.bind(parsed.llm_model, parsed.models_config)
    router = RouterDeployment.options(user_config=parsed.router.model_dump(mode="json", by_alias=True)).bind()
    embedder = (
        EmbedderDeployment.bind(parsed.embedder_model, parsed.models_config)
        if parsed.embedder_model is not None
        else None
    )
    return Ingress.bind(parsed.model_dump(mode="json", by_alias=True), llm, router, embedder)


def project_config(name: str) -> Path:
    """Path of a Serve config shipped in config/ (e.g. ``project_config('serve.local.yaml')``)."""
    from mm_orch.paths import config_path

    return config_path(f"config/{name}")


#: The application with default args, for ``serve build serve.app:default_app`` (which needs an Application).
default_app: Application = build_app()
