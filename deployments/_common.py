"""Helpers the deployments share: the model manager a replica owns and the replica's identity."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from mm_orch.models import ModelManager

__all__ = ["build_manager", "replica_info"]

log = logging.getLogger(__name__)


def build_manager(models_config: str | Path | None) -> ModelManager:
    """A model manager private to this replica, from a models YAML (relative paths: the project root) or the
    embedded defaults when ``models_config`` is None."""
    if models_config is None:
        return ModelManager.from_config(None, show_progress=False)
    from mm_orch.paths import config_path

    return ModelManager.from_config(config_path(models_config), show_progress=False)


def replica_info() -> dict[str, Any]:
    """Who is answering: the Serve replica id when running inside Serve, and the process id."""
    replica = None
    try:
        from ray import serve

        replica = serve.get_replica_context().replica_id.unique_id
    except Exception:  # noqa: BLE001 - outside a Serve replica (unit tests, local use)
        replica = None
    return {"replica_id": replica, "pid": os.getpid()}
