"""Runtime: what the executor hands to every step — models, tools, chat sessions and settings.

Steps ask the runtime for what they need and never know where it runs: in-process the model manager loads
models locally; inside the Ray Serve cluster the same attributes are backed by deployment handles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mm_orch.orchestration.sessions import SessionStore
from mm_orch.registries.tool_registry import ToolRegistry

__all__ = ["ModelProvider", "Runtime"]


class ModelProvider(Protocol):
    """What steps need of a model manager (mm_orch.models.ModelManager satisfies it)."""

    def get_model(self, name: str = "default") -> Any: ...


@dataclass
class Runtime:
    """The services of one process (or one Serve replica), shared by every run.

    - ``model_manager.get_model(name)``: a generator (``"default"``) or an embedder (``"embedder"``);
    - ``tools``: the ToolRegistry (``runtime.tool("web_search")``);
    - ``sessions``: chat history per session id;
    - ``settings``: free-form per-deployment knobs steps may read (e.g. ``{"search_k": 5}``).
    """

    model_manager: ModelProvider | None = None
    tools: ToolRegistry = field(default_factory=ToolRegistry)
    sessions: SessionStore = field(default_factory=SessionStore)
    settings: Mapping[str, Any] = field(default_factory=dict)
    model_capabilities: frozenset[str] = frozenset({"generate", "chat", "summarize", "embed"})

    def tool(self, name: str) -> Any:
        """The registered tool ``name`` (ToolNotFoundError lists the registered ones)."""
        return self.tools.get(name)

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def capabilities(self) -> set[str]:
        """Capabilities offered: every registered tool's, plus the models' when a model manager is set."""
        offered = self.tools.capabilities()
        if self.model_manager is not None:
            offered |= set(self.model_capabilities)
        return offered
