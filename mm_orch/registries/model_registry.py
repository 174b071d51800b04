"""ModelRegistry: the models a model manager may load (role, backend, source, memory, device), by name.

This is the one model registry: :class:`~mm_orch.models.ModelManager` reads its models from one, built from the
models config (``ModelManager.from_config``) or handed in by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable

from mm_orch.exceptions import ModelNotFoundError, RegistrationError
from mm_orch.models.metadata import ModelMetadata
from mm_orch.registries.base import Registry

__all__ = ["ModelRegistry"]


class ModelRegistry(Registry[ModelMetadata]):
    """Name -> :class:`~mm_orch.models.ModelMetadata`."""

    kind = "model"
    not_found_error = ModelNotFoundError
    register_hint = "Add it to the models config (config/models.yaml) or model_registry.register(metadata)"

    def __init__(self, models: Iterable[ModelMetadata] = ()) -> None:
        super().__init__()
        for metadata in models:
            self.register(metadata)

    def register(self, metadata: ModelMetadata, *, replace: bool = False) -> ModelMetadata:
        """Register ``metadata`` under ``metadata.name``; a taken name raises unless ``replace=True``."""
        if not isinstance(metadata, ModelMetadata):
            raise RegistrationError(
                f"register() takes a ModelMetadata (e.g. get_model_manager().metadata('default')), got "
                f"{type(metadata).__name__}"
            )
        return self._store(metadata.name, metadata, replace=replace)

    def models(self) -> list[ModelMetadata]:
        """Every registered model's metadata, sorted by name."""
        return [self._items[n] for n in self.list_all()]

    def find(self, capability: str) -> list[str]:
        """Names of the models that list ``capability``."""
        return sorted(n for n, m in self._items.items() if capability in m.capabilities)

    def capabilities(self) -> set[str]:
        """Every capability some registered model offers."""
        return {c for m in self._items.values() for c in m.capabilities}
