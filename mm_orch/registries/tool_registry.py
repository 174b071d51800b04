"""ToolRegistry: the tools (search, fetch, document store, ...) steps ask the runtime for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mm_orch.exceptions import RegistrationError, ToolNotFoundError
from mm_orch.registries.base import Registry

__all__ = ["ToolRegistry"]


def _capabilities(metadata: Any) -> list[str]:
    if metadata is None:
        return []
    caps = (
        metadata.get("capabilities") if isinstance(metadata, Mapping) else getattr(metadata, "capabilities", None)
    )
    return list(caps or [])


class ToolRegistry(Registry[Any]):
    """Name -> tool, each with its metadata (a ToolMetadata, a mapping, or None)."""

    kind = "tool"
    not_found_error = ToolNotFoundError
    register_hint = "Register it with tool_registry.register(name, tool, metadata)"

    def __init__(self) -> None:
        super().__init__()
        self._metadata: dict[str, Any] = {}

    def register(self, name: str, tool: Any, metadata: Any = None, *, replace: bool = False) -> None:
        """Register ``tool`` as ``name``; a taken name raises unless ``replace=True``."""
        if tool is None:
            raise RegistrationError(f"register({name!r}, None): pass the tool object itself")
        self._store(name, tool, replace=replace)
        self._metadata[name] = metadata

    def unregister(self, name: str) -> None:
        super().unregister(name)
        self._metadata.pop(name, None)

    def metadata(self, name: str) -> Any:
        """The metadata ``name`` was registered with (ToolNotFoundError when it is not registered)."""
        self.get(name)
        return self._metadata.get(name)

    def find(self, capability: str) -> list[str]:
        """Names of the tools whose metadata lists ``capability``."""
        return sorted(n for n in self._items if capability in _capabilities(self._metadata.get(n)))

    def capabilities(self) -> set[str]:
        """Every capability some registered tool offers."""
        return {c for n in self._items for c in _capabilities(self._metadata.get(n))}
