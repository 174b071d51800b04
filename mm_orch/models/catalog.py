"""What the manager asks about models: anything with ``get(name)`` and ``list_all()`` (the model registry
qualifies), and a simple in-memory default built from a models config."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from mm_orch.exceptions import ModelNotFoundError, format_options
from mm_orch.models.metadata import ModelMetadata

__all__ = ["InMemoryModelCatalog", "ModelCatalog"]


@runtime_checkable
class ModelCatalog(Protocol):
    """Read access to model metadata. ``get`` may return None or raise ModelNotFoundError for unknown names."""

    def get(self, name: str) -> ModelMetadata | None:
        """The metadata of ``name``."""
        ...

    def list_all(self) -> list[ModelMetadata]:
        """Every known model."""
        ...


class InMemoryModelCatalog:
    """A dict of :class:`ModelMetadata` by name; ``register`` replaces nothing silently."""

    def __init__(self, models: Iterable[ModelMetadata] = ()) -> None:
        self._models: dict[str, ModelMetadata] = {}
        for meta in models:
            self.register(meta)

    def register(self, metadata: ModelMetadata) -> None:
        """Add a model; a second model with the same name is refused."""
        if metadata.name in self._models:
            raise ValueError(f"model {metadata.name!r} is already registered; pick another name")
        self._models[metadata.name] = metadata

    def get(self, name: str) -> ModelMetadata:
        """The metadata of ``name``; ModelNotFoundError listing the known names otherwise."""
        try:
            return self._models[name]
        except KeyError:
            raise ModelNotFoundError(
                f"model {name!r} is not configured; options: {format_options(self._models)}"
            ) from None

    def list_all(self) -> list[ModelMetadata]:
        """Every model, in registration order."""
        return list(self._models.values())
