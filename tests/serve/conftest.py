"""Test seams for the Serve layer: an in-process stand-in for DeploymentHandle, and fake-model configs."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from mm_orch.models import DefaultsConfig, ModelMetadata, ModelsConfig, PathSource


class LocalResponse:
    """Awaitable like DeploymentResponse; ``result()`` blocks like it (from a thread with no running loop)."""

    def __init__(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.cancelled = False

    async def _call(self) -> Any:
        value = self._fn(*self._args, **self._kwargs)
        return await value if inspect.isawaitable(value) else value

    def __await__(self) -> Any:
        return self._call().__await__()

    def result(self, timeout_s: float | None = None) -> Any:
        return asyncio.run(asyncio.wait_for(self._call(), timeout_s))

    def cancel(self) -> None:
        self.cancelled = True


class LocalMethod:
    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def remote(self, *args: Any, **kwargs: Any) -> LocalResponse:
        return LocalResponse(self._fn, args, kwargs)


class LocalHandle:
    """``handle.method.remote(...)`` calling ``target.method`` in-process (the DeploymentHandle call shape)."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __getattr__(self, name: str) -> LocalMethod:
        return LocalMethod(getattr(self.target, name))


def _fake(name: str, *, embed: bool = False, **engine_args: Any) -> ModelMetadata:
    return ModelMetadata(
        name=name,
        capabilities=["embed"] if embed else ["generate", "chat", "summarize"],
        backend="fake",
        source=PathSource(path=Path("/nonexistent")),
        memory_gb=0.01,
        engine_args=dict(engine_args),
    )


@pytest.fixture
def fake_models_yaml(tmp_path: Path) -> Path:
    """A models YAML with a scripted fake generator ('gen') and a fake embedder ('emb')."""
    config = ModelsConfig(
        defaults=DefaultsConfig(generator="gen", embedder="emb"),
        models=[
            _fake("gen", script={"France": "Paris is the capital of France [1]."}),
            _fake("emb", embed=True, dimension=32),
        ],
    )
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return path


@pytest.fixture
def local_handle() -> type[LocalHandle]:
    """The LocalHandle class (test modules cannot import conftest directly)."""
    return LocalHandle
