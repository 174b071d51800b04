"""Test seams for the Serve layer: an in-process stand-in for DeploymentHandle, and fake-model configs."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_KEY = "integration-test-key"


class LocalResponse:
    """Awaitable like DeploymentResponse; ``result()`` blocks like it (from a thread with no running loop)."""

    def __init__(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.cancelled = False

    async def _call(self) -> Any:
        # A fresh context, as in another process: the caller's context variables do not reach the deployment.
        return await asyncio.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> Any:
        value = self._fn(*self._args, **self._kwargs)
        return await value if inspect.isawaitable(value) else value

    def __await__(self) -> Any:
        return self._call().__await__()

    def result(self, timeout_s: float | None = None) -> Any:
        return asyncio.run(asyncio.wait_for(self._call(), timeout_s))

    def cancel(self) -> None:
        self.cancelled = True


class LocalStream:
    """Async-iterable like DeploymentResponseGenerator; ``cancel()`` closes the target's generator."""

    def __init__(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._gen = fn(*args, **kwargs)
        self._context = contextvars.Context()  # as in another process (see LocalResponse._call)
        self.cancelled = False

    def __aiter__(self) -> LocalStream:
        return self

    async def __anext__(self) -> Any:
        return await asyncio.create_task(self._gen.__anext__(), context=self._context)

    def cancel(self) -> None:
        self.cancelled = True
        asyncio.get_running_loop().create_task(self._gen.aclose(), context=self._context)


class LocalMethod:
    def __init__(self, fn: Any, stream: bool = False) -> None:
        self._fn = fn
        self._stream = stream

    def remote(self, *args: Any, **kwargs: Any) -> LocalResponse | LocalStream:
        if self._stream:
            return LocalStream(self._fn, args, kwargs)
        return LocalResponse(self._fn, args, kwargs)


class LocalHandle:
    """``handle.method.remote(...)`` calling ``target.method`` in-process (the DeploymentHandle call shape);
    ``handle.options(stream=True).method.remote(...)`` iterates an async-generator method."""

    def __init__(self, target: Any, stream: bool = False) -> None:
        self.target = target
        self._stream = stream

    def options(self, *, stream: bool = False) -> LocalHandle:
        return LocalHandle(self.target, stream)

    def __getattr__(self, name: str) -> LocalMethod:
        return LocalMethod(getattr(self.target, name), self._stream)


@pytest.fixture
def local_handle() -> type[LocalHandle]:
    """The LocalHandle class (test modules cannot import conftest directly)."""
    return LocalHandle


@dataclass
class ServedApp:
    """The real application deployed from config/serve.local.yaml for the integration tests."""

    base: str
    config: Any
    traces: Path
    key: str = INTEGRATION_KEY

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def served_app(ray_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """config/serve.local.yaml deployed ONCE for every integration test of tests/serve (own port, API key,
    router dir and trace dir): real router, vLLM (CPU) LLM and MiniLM embedder deployments, real HTTP."""
    from ray import serve

    from serve import deploy_config, load_serve_config, set_router_user_config

    tmp = tmp_path_factory.mktemp("serve-app")
    config = load_serve_config(ROOT / "config" / "serve.local.yaml")
    config.http_options.port = _free_port()
    (application,) = config.applications
    application.args = {
        **application.args,
        "auth": {"api_keys": [INTEGRATION_KEY], "api_keys_env": "MM_ORCH_TEST_NO_SUCH_ENV"},
        "tracing": {"enabled": True, "parquet_dir": str(tmp / "traces")},
    }
    router_cfg = {"router": {"version": "v3", "model_path": str(tmp / "router")}, "revision": "initial"}
    set_router_user_config(config, router_cfg)
    base = deploy_config(config, timeout_s=300)
    yield ServedApp(base=base, config=config, traces=tmp / "traces")
    serve.shutdown()
