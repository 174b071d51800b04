"""Test seams for the Serve layer: an in-process stand-in for DeploymentHandle, and fake-model configs."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest


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


@pytest.fixture
def local_handle() -> type[LocalHandle]:
    """The LocalHandle class (test modules cannot import conftest directly)."""
    return LocalHandle
