"""ToolRegistry: the tools (search, fetch, document store, ...) steps ask the runtime for."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from mm_orch.exceptions import RegistrationError, ToolNotFoundError, format_options

__all__ = ["ToolRegistry"]


def _capabilities(metadata: Any) -> list[str]:
    if metadata is None:
        return []
    caps = (
        metadata.get("capabilities") if isinstance(metadata, Mapping) else getattr(metadata, "capabilities", None)
    )
    return list(caps or [])


class ToolRegistry:
    """Name -> (tool, metadata). Metadata is a ToolMetadata, a mapping, or None."""

    def __init__(self) -> None:
        self._tools: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, tool: Any, metadata: Any = None, *, replace: bool = False) -> None:
        """Register ``tool`` as ``name``; a taken name raises unless ``replace=True``."""
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"tool names must be non-empty strings, got {name!r}")
        if tool is None:
            raise RegistrationError(f"register({name!r}, None): pass the tool object itself")
        with self._lock:
            if name in self._tools and not replace:
                raise RegistrationError(
                    f"a tool named {name!r} is already registered; pass replace=True to swap it"
                )
            self._tools[name] = (tool, metadata)

    def get(self, name: str) -> Any:
        """The tool registered as ``name``; ToolNotFoundError lists the registered ones."""
        try:
            return self._tools[name][0]
        except KeyError:
            raise ToolNotFoundError(
                f"tool {name!r} is not registered; registered tools: {format_options(self._tools)}"
            ) from None

    def metadata(self, name: str) -> Any:
        self.get(name)
        return self._tools[name][1]

    def find(self, capability: str) -> list[str]:
        """Names of the tools whose metadata lists ``capability``."""
        return sorted(n for n, (_, meta) in self._tools.items() if capability in _capabilities(meta))

    def capabilities(self) -> set[str]:
        """Every capability some registered tool offers."""
        return {c for _, meta in self._tools.values() for c in _capabilities(meta)}

    def list_all(self) -> list[str]:
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)
