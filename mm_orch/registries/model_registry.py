"""ModelRegistry: metadata of the models the model manager may load (role, backend, memory, device)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from mm_orch.exceptions import ModelNotFoundError, RegistrationError, format_options

__all__ = ["ModelRegistry"]


def _field(metadata: Any, key: str) -> Any:
    return metadata.get(key) if isinstance(metadata, Mapping) else getattr(metadata, key, None)


class ModelRegistry:
    """Name -> model metadata (a ``ModelMetadata`` from mm_orch.models, or any object with ``name``)."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def register(self, metadata: Any, *, replace: bool = False) -> None:
        """Register ``metadata`` under ``metadata.name``; a taken name raises unless ``replace=True``."""
        name = _field(metadata, "name")
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"model metadata needs a non-empty 'name', got {metadata!r}")
        with self._lock:
            if name in self._models and not replace:
                raise RegistrationError(f"a model named {name!r} is already registered; pass replace=True")
            self._models[name] = metadata

    def get(self, name: str) -> Any:
        try:
            return self._models[name]
        except KeyError:
            raise ModelNotFoundError(
                f"model {name!r} is not registered; registered models: {format_options(self._models)}"
            ) from None

    def find(self, capability: str) -> list[str]:
        """Names of the models whose metadata lists ``capability``."""
        return sorted(n for n, m in self._models.items() if capability in (_field(m, "capabilities") or []))

    def capabilities(self) -> set[str]:
        return {c for m in self._models.values() for c in (_field(m, "capabilities") or [])}

    def list_all(self) -> list[str]:
        return sorted(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __len__(self) -> int:
        return len(self._models)
