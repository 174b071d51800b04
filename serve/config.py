"""The application's arguments: the ``args:`` block of config/serve*.yaml, validated before anything starts."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deployments.router import RouterUserConfig
from mm_orch.exceptions import ConfigError
from mm_orch.yaml_config import explain_validation_error

__all__ = ["DEFAULT_API_KEYS_ENV", "AuthConfig", "LimitsConfig", "ServeAppArgs", "TracingArgs", "parse_args"]

DEFAULT_API_KEYS_ENV = "MM_ORCH_API_KEYS"


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthConfig(_Args):
    """Bearer API keys. With no key configured (here or in the env var) auth is off, and the ingress logs so."""

    api_keys: list[str] = Field(default_factory=list, description="Accepted keys (prefer api_keys_env in prod).")
    api_keys_env: str = Field(
        default=DEFAULT_API_KEYS_ENV, description="Env var holding comma-separated accepted keys."
    )
    api_keys_file: str | None = Field(
        default=None,
        description="File of accepted keys, one per line ('#' comments), re-read when it changes: rotate keys "
        "without a restart. Set, it turns auth on even while empty (every request refused).",
    )
    open_paths: list[str] = Field(
        default_factory=lambda: ["/healthz"],
        description="Paths served without a key (liveness). Add '/readyz' for a load balancer that cannot send one.",
    )

    def keys(self) -> list[str]:
        """Every accepted key: the configured ones plus those in ``$api_keys_env``."""
        from_env = [k.strip() for k in os.environ.get(self.api_keys_env, "").split(",") if k.strip()]
        return [*self.api_keys, *from_env]


class LimitsConfig(_Args):
    """Request limits enforced by the ingress before any work starts."""

    max_body_bytes: int = Field(
        default=64 * 1024, ge=256, description="Largest request body accepted (413 above)."
    )
    max_query_chars: int = Field(default=4000, ge=1, description="Longest UserRequest.query accepted (422 above).")
    request_timeout_s: float = Field(
        default=120.0, gt=0, description="Per-request time limit of /v1/answer and /v1/chat/completions (504)."
    )
    requests_per_minute: float | None = Field(
        default=None,
        gt=0,
        description="Per-client (API key, else address) request rate per ingress replica; 429 above. None: no limit.",
    )
    burst: int | None = Field(
        default=None,
        ge=1,
        description="Requests a client may send at once before the rate applies (default rate/6).",
    )
    max_concurrent_per_client: int | None = Field(
        default=None,
        ge=1,
        description="Requests one client (API key, else address) may have in flight per ingress replica; 429 "
        "above. None: no limit.",
    )


class TracingArgs(_Args):
    """Per-replica trace output: each ingress replica writes its own Parquet file stream."""

    enabled: bool = Field(default=True, description="False: no traces are written.")
    parquet_dir: str = Field(
        default="data/traces/serve",
        description="Root folder; each replica writes under <parquet_dir>/<replica id>/ (relative: project root).",
    )
    jsonl: bool = Field(default=False, description="Also write <parquet_dir>/<replica id>/traces.jsonl.")
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0, description="Fraction of requests traced.")
    feedback_path: str | None = Field(
        default=None,
        description="POST /v1/feedback's JSONL file; None: <parquet_dir>/feedback/feedback.jsonl, beside the traces "
        "(shared by every replica; the router retraining reads it).",
    )


class ServeAppArgs(_Args):
    """Everything ``serve.app:build_app`` needs; every field has a default suited to one CPU machine."""

    models_config: str | None = Field(
        default=None, description="Models YAML (e.g. config/models.gpu.yaml); None: the embedded offline defaults."
    )
    llm_model: str = Field(default="default", description="Model name (or alias) the LLM deployment serves.")
    embedder_model: str | None = Field(
        default="embedder", description="Model the Embedder deployment serves; None: no embedder deployment."
    )
    phase_b_config: str | None = Field(
        default="config/phase_b.yaml", description="Phase B settings (registries, fallback); None: built-ins."
    )
    router: RouterUserConfig = Field(
        default_factory=RouterUserConfig,
        description="Initial user_config of the Router deployment (a deployments: entry for Router overrides it).",
    )
    tools: dict[str, Any] = Field(default_factory=dict, description="ToolsConfig overrides (search, fetch, ...).")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="API-key authentication.")
    limits: LimitsConfig = Field(default_factory=LimitsConfig, description="Request size and time limits.")
    tracing: TracingArgs = Field(default_factory=TracingArgs, description="Per-replica Parquet traces.")
    warm_up: bool = Field(default=True, description="Build search indexes at replica start, not on first request.")
    handle_timeout_s: float = Field(default=300.0, gt=0, description="Wait limit of blocking model calls.")
    readiness_timeout_s: float = Field(
        default=5.0, gt=0, description="How long GET /readyz waits for each deployment's health check."
    )


def parse_args(raw: dict[str, Any] | ServeAppArgs | None) -> ServeAppArgs:
    """Validate the ``args:`` block; ConfigError lists each bad field with its value."""
    if isinstance(raw, ServeAppArgs):
        return raw
    try:
        return ServeAppArgs.model_validate(dict(raw or {}))
    except ValidationError as exc:
        problems = "; ".join(line.strip() for line in explain_validation_error(exc).splitlines())
        raise ConfigError(
            f"invalid Serve application args: {problems}. Fields: {sorted(ServeAppArgs.model_fields)}; "
            "see config/serve.local.yaml for a complete example"
        ) from exc
