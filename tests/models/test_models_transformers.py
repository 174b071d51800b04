"""The embedded SmolLM2-135M-Instruct on the transformers backend, for real (greedy decoding)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mm_orch.exceptions import ModelLoadError
from mm_orch.models import BaseGenerator, GenerationParams, ModelManager, PathSource, embedded_defaults
from mm_orch.models.prepare import MARKER_FILE, main, prepare_model
from mm_orch.models.sources import prepared_dir

from .conftest import CITY_SCHEMA, CURIE, TOM

pytestmark = pytest.mark.integration

PYTHON_TEXT = (
    "Python is a high-level, general-purpose programming language. Its design philosophy emphasizes code "
    "readability with the use of significant indentation. Python is dynamically typed and garbage-collected. "
    "Guido van Rossum began working on Python in the late 1980s as a successor to the ABC language."
)


@pytest.fixture(scope="module")
def manager(models_cache: Path) -> Iterator[ModelManager]:
    mgr = ModelManager.from_config(embedded_defaults(), cache_dir=models_cache, show_progress=False)
    yield mgr
    mgr.close()


@pytest.fixture(scope="module")
def llm(manager: ModelManager) -> BaseGenerator:
    return manager.get_generator("default")


def test_prepare_cli_reuses_the_converted_folder(models_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = embedded_defaults().get("smollm2-135m")
    assert meta is not None
    folder = prepared_dir(meta, models_cache)
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert main(["--cache-dir", str(models_cache), "--quiet", "--model", "default"]) == 0
    assert f"smollm2-135m: {folder}" in capsys.readouterr().out
    assert weights.stat().st_mtime_ns == before  # not converted again
    assert json.loads((folder / MARKER_FILE).read_text())["size"] > 50_000_000
    assert main(["--cache-dir", str(models_cache), "--model", "gpt-9"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "unknown model 'gpt-9'; configured: " in err
    assert all(m.name in err for m in embedded_defaults().models)  # every configured model is offered


def test_greedy_answers_come_from_the_prompt(llm: BaseGenerator) -> None:
    curie = llm.chat([{"role": "user", "content": CURIE}], GenerationParams(max_tokens=30))
    tom = llm.chat([{"role": "user", "content": TOM}], GenerationParams(max_tokens=30))
    assert "Warsaw" in curie.text
    assert curie.finish_reason == "stop"
    assert "green" in tom.text.lower()
    assert curie.model == "smollm2-135m"
    assert curie.prompt_tokens > 40
    assert 0 < curie.completion_tokens <= 30


def test_greedy_is_deterministic_and_batching_changes_nothing(llm: BaseGenerator) -> None:
    prompts = [llm.format_chat([{"role": "user", "content": q}]) for q in (CURIE, TOM)]
    params = GenerationParams(max_tokens=16)
    singles = [llm.generate(p, params).text for p in prompts]
    assert [r.text for r in llm.generate_batch(prompts, params)] == singles
    assert llm.generate(prompts[0], params).text == singles[0]


def test_max_tokens_and_stop_sequences(llm: BaseGenerator) -> None:
    count = [{"role": "user", "content": "Count from 1 to 10 separated by commas."}]
    short = llm.chat(count, GenerationParams(max_tokens=3))
    assert short.completion_tokens == 3
    assert short.finish_reason == "length"
    stopped = llm.chat(count, GenerationParams(max_tokens=60, stop=["5"]))
    assert "4" in stopped.text
    assert "5" not in stopped.text
    assert stopped.finish_reason == "stop"


def test_json_schema_output_is_constrained(llm: BaseGenerator) -> None:
    r = llm.chat([{"role": "user", "content": CURIE}], GenerationParams(max_tokens=40, json_schema=CITY_SCHEMA))
    assert json.loads(r.text) == {"city": "Warsaw"}


def test_summarize_keeps_the_topic_within_the_word_limit(llm: BaseGenerator) -> None:
    summary = llm.summarize(PYTHON_TEXT, max_words=25)
    assert "Python" in summary
    assert len(summary.split()) <= 25


def test_async_calls_do_not_block_the_event_loop(llm: BaseGenerator) -> None:
    params = GenerationParams(max_tokens=30)

    async def main() -> tuple[list[str], int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        results = await asyncio.gather(
            *(llm.achat([{"role": "user", "content": q}], params) for q in (CURIE, TOM))
        )
        done.set()
        await tick_task
        return [r.text for r in results], ticks

    texts, ticks = asyncio.run(main())
    assert "Warsaw" in texts[0]
    assert "green" in texts[1].lower()
    assert ticks >= 5  # the loop kept running while the model generated in a worker thread
    assert asyncio.run(llm.asummarize(PYTHON_TEXT, max_words=25)) == llm.summarize(PYTHON_TEXT, max_words=25)


def test_manager_loads_once_for_concurrent_callers_and_counts_tokens(models_cache: Path) -> None:
    mgr = ModelManager.from_config(embedded_defaults(), cache_dir=models_cache, show_progress=False)
    try:
        params = GenerationParams(max_tokens=8)
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda _: mgr.get_generator().generate("The sky is", params), range(8)))
        assert [r.name for r in mgr.load_history] == ["smollm2-135m"]
        assert mgr.load_history[0].backend == "transformers"
        assert mgr.load_history[0].seconds > 0
        assert len({r.text for r in results}) == 1  # greedy: every caller got the same text
        assert mgr.token_count == sum(r.completion_tokens for r in results) > 0
        assert mgr.stats()["models"]["smollm2-135m"]["calls"] == 8
    finally:
        mgr.close()


def test_corrupt_prepared_weights_say_how_to_rebuild(models_cache: Path, tmp_path: Path) -> None:
    meta = embedded_defaults().get("smollm2-135m")
    assert meta is not None
    broken = tmp_path / "broken"
    shutil.copytree(prepared_dir(meta, models_cache), broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 128)
    local = meta.model_copy(update={"source": PathSource(path=broken)})
    from mm_orch.models.backends.transformers_backend import TransformersGenerator

    with pytest.raises(ModelLoadError, match=r"cannot load from .*broken.* rebuild a prepared folder"):
        TransformersGenerator(local, broken)


def test_out_of_memory_load_says_what_to_change(models_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    meta = embedded_defaults().get("smollm2-135m")
    assert meta is not None

    def no_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", no_memory)
    from mm_orch.models.backends.transformers_backend import TransformersGenerator

    with pytest.raises(
        ModelLoadError, match=r"ran out of host memory .*ModelManager.unload\) or pick a smaller model"
    ):
        TransformersGenerator(meta, prepare_model(meta, models_cache, show_progress=False))
