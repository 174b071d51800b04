"""The default Phase B wiring: built-in steps by import path, workflows from YAML, the offline runtime.

This is a composition root: it names the built-in steps only as import-path strings (``"module:attr"``, the
way Serve's import_path works), so a user's own steps plug in the same way and the engine packages never
import the top-level ``steps`` package.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mm_orch.exceptions import ConfigError
from mm_orch.orchestration.base_step import BaseStep
from mm_orch.orchestration.runtime import Runtime
from mm_orch.orchestration.sessions import SessionStore
from mm_orch.paths import config_path, writable_path
from mm_orch.registries.step_registry import StepRegistry
from mm_orch.registries.tool_registry import ToolRegistry
from mm_orch.registries.workflow_registry import WorkflowRegistry

__all__ = [
    "DEFAULT_STEP_SOURCES",
    "build_configured_workflow_registry",
    "build_default_runtime",
    "build_default_workflow_registry",
    "build_step_registry",
    "import_object",
]

DEFAULT_STEP_SOURCES: tuple[str, ...] = ("steps:BUILTIN_STEPS",)


def import_object(path: str) -> Any:
    """Import ``"package.module:attribute"`` (or ``"package.module.attribute"``)."""
    module_name, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import {module_name!r} (from {path!r}): {exc}. Check the import path and "
            f"that the package is installed."
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"module {module_name!r} has no attribute {attr!r} (from {path!r})") from None


def build_step_registry(sources: Iterable[str] = DEFAULT_STEP_SOURCES) -> StepRegistry:
    """A StepRegistry holding every step the sources name (each a step, a step class, or a list of them)."""
    registry = StepRegistry()
    for source in sources:
        try:
            found = import_object(source)
        except ConfigError as exc:
            raise ConfigError(f"registries.step_sources (phase_b.yaml): {exc}") from exc
        items: Sequence[Any] = found if isinstance(found, list | tuple) else [found]
        for item in items:
            if not (isinstance(item, BaseStep) or (isinstance(item, type) and issubclass(item, BaseStep))):
                raise ConfigError(f"{source!r} yielded {item!r}, which is not a BaseStep or BaseStep subclass")
            registry.register(item)
    return registry


def build_default_workflow_registry(
    step_registry: StepRegistry | None = None, workflows_dir: str | Path = "config/workflows"
) -> WorkflowRegistry:
    """The built-in workflows (config/workflows/*.yaml) over the built-in steps."""
    registry = WorkflowRegistry(step_registry or build_step_registry())
    directory = config_path(workflows_dir)
    if not directory.is_dir():
        raise ConfigError(
            f"workflow directory {directory} does not exist; set MM_ORCH_ROOT to the project "
            f"root or point registries.workflows_dir (phase_b.yaml) at the folder of workflow YAML files"
        )
    registry.load_dir(directory)
    return registry


def build_configured_workflow_registry(config: Any = None) -> WorkflowRegistry:
    """The workflows Phase B runs: ``config``'s (a PhaseBConfig) step sources and workflows dir, else those of
    config/phase_b.yaml, else the defaults. ``mm-orch workflows`` / ``graph`` show exactly this registry."""
    if config is None:
        from mm_orch.configuration import load_phase_b_config

        config = load_phase_b_config()
    if config is None:
        return build_default_workflow_registry()
    regs = config.registries
    return build_default_workflow_registry(build_step_registry(regs.step_sources), regs.workflows_dir)


def build_default_runtime(
    *,
    tools_config: Any = None,
    models_config: Any = None,
    settings: dict[str, Any] | None = None,
    sessions_path: str | Path | None = None,
) -> Runtime:
    """The offline runtime: the shared model manager and the default tools (nothing loads until used).

    ``sessions_path`` persists chat history as JSONL (relative paths are under the project root), so a chat
    continues across processes; without it history lives in memory.
    """
    from mm_orch.models import ModelManager, get_model_manager
    from mm_orch.tools import default_tools

    manager = get_model_manager() if models_config is None else ModelManager.from_config(models_config)
    embedder = _LazyEmbedder(manager)
    tools = ToolRegistry()
    for name, (tool, metadata) in default_tools(tools_config, embedder=embedder).items():
        tools.register(name, tool, metadata)
    sessions = SessionStore(path=writable_path(sessions_path)) if sessions_path else SessionStore()
    return Runtime(model_manager=manager, tools=tools, sessions=sessions, settings=dict(settings or {}))


class _LazyEmbedder:
    """Defers the embedding model load to the first ``embed`` call (tools are built before models load)."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        # keys cached corpus vectors (mm_orch.tools.local_wiki.embedder_id): the configured embedder's name
        self.model_id = f"models:{manager.resolve('embedder')}"

    def embed(self, texts: list[str]) -> Any:
        return self._manager.get_model("embedder").embed(texts)

    async def aembed(self, texts: list[str]) -> Any:
        return await self._manager.get_model("embedder").aembed(texts)
