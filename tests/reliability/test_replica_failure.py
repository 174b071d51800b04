"""A model replica killed mid-request: the call is sent again and served by a live replica, or fails with a
retryable 503 that names the trace id; the deployment recovers.

Fast layer (no Ray): the handle proxies of serve.runtime over a handle whose replica "dies" (raises Ray's
``ActorDiedError`` by name) a given number of times, and the ingress' mapping of the final failure. Integration
layer (real Ray Serve, under the heavy lock): two replicas of a slow model deployment, one SIGKILLed while 16
calls are in flight; every call must come back, the killed replica is replaced, and later calls succeed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mm_orch.exceptions import ModelUnavailableError
from mm_orch.models import GenerationResult
from mm_orch.schemas import UserRequest
from serve import create_app
from serve.runtime import HandleEmbedder, HandleGenerator, replica_gone
from tests.serve.test_ingress import FakeBackend


def _result(text: str) -> GenerationResult:
    return GenerationResult(
        text=text, prompt_tokens=1, completion_tokens=1, finish_reason="stop", model="slow", latency_ms=1.0
    )


class ActorDiedError(RuntimeError):
    """Stands in for ray.exceptions.ActorDiedError (matched by name, as serve.runtime does)."""


class _Response:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        async def get() -> Any:
            if isinstance(self.value, BaseException):
                raise self.value
            return self.value

        return get().__await__()

    def result(self, timeout_s: float | None = None) -> Any:
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value

    def cancel(self) -> None:
        pass


class DyingHandle:
    """``handle.<method>.remote(...)`` whose first ``deaths`` calls die with ActorDiedError."""

    def __init__(self, deaths: int, error: BaseException | None = None) -> None:
        self.deaths = deaths
        self.calls = 0
        self.error = error

    def __getattr__(self, method: str) -> Any:
        handle = self

        class Method:
            @staticmethod
            def remote(*args: Any) -> _Response:
                handle.calls += 1
                if handle.calls <= handle.deaths:
                    return _Response(handle.error or ActorDiedError("The actor died unexpectedly"))
                if method == "embed":
                    return _Response([[0.0, 1.0] for _ in args[0]])
                return _Response(_result(f"ok after {handle.calls} calls"))

        return Method()


def test_a_call_whose_replica_died_is_sent_again() -> None:
    handle = DyingHandle(deaths=2)
    generator = HandleGenerator("llm", handle, retries=2, retry_backoff_s=0.0)
    result = asyncio.run(generator.agenerate("q"))
    assert result.text == "ok after 3 calls"
    assert handle.calls == 3
    sync = DyingHandle(deaths=1)
    assert HandleGenerator("llm", sync, retry_backoff_s=0.0).generate("q").text == "ok after 2 calls"
    embedder = DyingHandle(deaths=1)
    assert asyncio.run(HandleEmbedder("emb", embedder, retry_backoff_s=0.0).aembed(["a"])).shape == (1, 2)


def test_past_the_retries_it_is_model_unavailable() -> None:
    handle = DyingHandle(deaths=10)
    generator = HandleGenerator("llm", handle, retries=2, retry_backoff_s=0.0)
    with pytest.raises(ModelUnavailableError, match=r"died during the call \(ActorDiedError\) and 2 retries"):
        asyncio.run(generator.achat([{"role": "user", "content": "hi"}]))
    assert handle.calls == 3


def test_other_errors_are_not_retried() -> None:
    handle = DyingHandle(deaths=1, error=ValueError("bad prompt"))
    with pytest.raises(ValueError, match="bad prompt"):
        asyncio.run(HandleGenerator("llm", handle, retry_backoff_s=0.0).agenerate("q"))
    assert handle.calls == 1
    assert replica_gone(ActorDiedError())
    assert not replica_gone(ValueError())


class RunFailed(RuntimeError):
    """What a run that failed because its model deployment died looks like to the ingress."""

    def __init__(self, trace_id: str) -> None:
        super().__init__("node 'answer' failed")
        self.trace_id = trace_id


class DeadModelBackend(FakeBackend):
    async def answer(self, request: UserRequest) -> Any:
        try:
            raise ModelUnavailableError("the replica serving model 'llm' (generate) died during the call")
        except ModelUnavailableError as exc:
            raise RunFailed("trace-123") from exc


def test_the_ingress_answers_a_retryable_503_naming_the_trace_id() -> None:
    c = TestClient(create_app(DeadModelBackend()), raise_server_exceptions=False)
    r = c.post("/v1/answer", json={"query": "France?", "request_id": "req-9"})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    body = r.json()
    assert body["error"] == "service_unavailable"
    assert "trace id trace-123" in body["message"]
    assert "request id req-9" in body["message"]
    assert "retry shortly" in body["message"]
    chat = c.post(
        "/v1/chat/completions", json={"model": "mm-orch", "messages": [{"role": "user", "content": "x"}]}
    )
    assert chat.status_code == 503
    assert "trace id trace-123" in chat.json()["error"]["message"]


# --- integration: a real replica SIGKILLed under load --------------------------------------------------------

CALLS = 16
CALL_S = 1.0


@pytest.mark.integration
def test_sigkill_of_a_replica_under_load_loses_no_call(ray_cluster: Any) -> None:
    from ray import serve

    @serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0}, max_ongoing_requests=16)
    class SlowModel:
        """A model replica that takes CALL_S per call and says which process served it."""

        async def generate(self, prompt: str, params: Any = None) -> GenerationResult:
            await asyncio.sleep(CALL_S)
            return _result(f"{os.getpid()}:{prompt}")

        def pid(self) -> int:
            return os.getpid()

    # A real free port (not 0): Serve keeps the HTTP options it was first started with for the whole session,
    # and the session's served_app fixture (tests/serve) reports the port in force.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    handle = serve.run(SlowModel.bind(), name="replica_kill", route_prefix=None)
    try:
        pids = {handle.pid.remote().result(timeout_s=60) for _ in range(20)}
        assert len(pids) == 2, f"expected two replicas, saw {pids}"
        victim = min(pids)
        generator = HandleGenerator("slow", handle, retries=3, retry_backoff_s=0.5)

        async def load() -> tuple[list[Any], float]:
            started = time.monotonic()
            calls = [asyncio.ensure_future(generator.agenerate(f"q{i}")) for i in range(CALLS)]
            await asyncio.sleep(CALL_S / 3)  # every call is in flight, about half of them on the victim
            os.kill(victim, signal.SIGKILL)
            done = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=90)
            return done, time.monotonic() - started

        results, took = asyncio.run(load())
        served = [r for r in results if isinstance(r, GenerationResult)]
        failed = [r for r in results if not isinstance(r, GenerationResult)]
        assert all(isinstance(f, ModelUnavailableError) for f in failed), failed  # clean and retryable, if any
        assert len(served) == CALLS, f"{len(failed)} of {CALLS} calls failed: {failed[:2]}"
        assert sorted(r.text.split(":")[1] for r in served) == sorted(f"q{i}" for i in range(CALLS))
        print(
            f"\nSIGKILL of 1 of 2 replicas under {CALLS} calls: {len(served)} served, {len(failed)} failed, {took:.1f} s"
        )
        # recovery: Serve replaces the killed replica; new calls succeed on two live replicas again
        deadline = time.monotonic() + 60
        new_pids: set[int] = set()
        while time.monotonic() < deadline and not (len(new_pids) == 2 and victim not in new_pids):
            new_pids |= {handle.pid.remote().result(timeout_s=30) for _ in range(10)}
            new_pids.discard(victim)
            time.sleep(0.5)
        assert len(new_pids) == 2, f"the replica was not replaced: {new_pids}"
        assert victim not in new_pids, f"the replica was not replaced: {new_pids}"
        assert asyncio.run(generator.agenerate("after")).text.endswith(":after")
    finally:
        serve.delete("replica_kill")
