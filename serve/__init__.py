"""The Ray Serve application of mm-orch.

- :mod:`serve.app`: ``build_app`` (the ``import_path`` of config/serve*.yaml) and the ``Ingress`` deployment;
- :mod:`serve.ingress`: ``create_app(backend, ...)``, the FastAPI app (auth, limits, OpenAPI, error mapping);
- :mod:`serve.runtime`: the handle-backed model manager and runtime the executor uses inside the cluster;
- :mod:`serve.launch`: load and deploy a Serve config from Python (what ``serve run CONFIG`` does);
- :mod:`serve.backend`: the orchestrator-backed implementation of the ingress backend;
- :mod:`serve.config` / :mod:`serve.schemas`: the ``args:`` block and the HTTP wire schemas.

Only the Serve config (import_path) and tests import this package.
"""

from serve.backend import HandleRouter, OrchestratorBackend
from serve.config import AuthConfig, LimitsConfig, ServeAppArgs, TracingArgs, parse_args
from serve.ingress import ApiError, IngressBackend, create_app
from serve.launch import deploy_config, load_serve_config, set_router_user_config
from serve.runtime import (
    HandleEmbedder,
    HandleGenerator,
    HandleModelManager,
    SyncModelCallError,
    build_handle_runtime,
)
from serve.schemas import ErrorResponse, FieldError, HealthResponse, StatsResponse, WorkflowInfo, WorkflowsResponse

__all__ = [
    "ApiError",
    "AuthConfig",
    "ErrorResponse",
    "FieldError",
    "HandleEmbedder",
    "HandleGenerator",
    "HandleModelManager",
    "HandleRouter",
    "HealthResponse",
    "IngressBackend",
    "LimitsConfig",
    "OrchestratorBackend",
    "ServeAppArgs",
    "StatsResponse",
    "SyncModelCallError",
    "TracingArgs",
    "WorkflowInfo",
    "WorkflowsResponse",
    "build_handle_runtime",
    "create_app",
    "deploy_config",
    "load_serve_config",
    "parse_args",
    "set_router_user_config",
]
