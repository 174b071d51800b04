"""ModelManager and the shared generator/embedder interface, on the fake backend (fast)."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from mm_orch.exceptions import ModelLoadError, ModelNotFoundError
from mm_orch.models import (
    BaseEmbedder,
    BaseGenerator,
    GenerationParams,
    ModelManager,
    ModelOutputError,
    ModelRequestError,
    ModelsConfig,
    get_model_manager,
    set_model_manager,
)
from mm_orch.models.backends import fake

from .conftest import fake_meta


class SlowFake(fake.FakeGenerator):
    """Counts constructions and takes a while to 'load', to widen the race window."""

    built = 0
    lock = threading.Lock()

    def __init__(self, *args: object, **kwargs: object) -> None:
        with SlowFake.lock:
            SlowFake.built += 1
        threading.Event().wait(0.2)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def manager(fake_config: ModelsConfig) -> ModelManager:
    return ModelManager.from_config(fake_config)


def test_lazy_single_load_and_aliases(manager: ModelManager) -> None:
    assert manager.loaded() == []
    assert manager.load_history == []
    gen = manager.get_model("default")
    assert isinstance(gen, BaseGenerator)
    assert gen.name == "gen"
    assert manager.get_model("gen") is gen
    emb = manager.get_model("embedder")
    assert isinstance(emb, BaseEmbedder)
    assert emb.name == "emb"
    assert [r.name for r in manager.load_history] == ["gen", "emb"]
    assert all(r.backend == "fake" and r.seconds >= 0 for r in manager.load_history)
    assert manager.stats()["models"]["gen"] == {"loads": 1, "load_seconds": pytest.approx(
        manager.load_history[0].seconds), "backend": "fake", "calls": 2}  # fmt: skip


def test_concurrent_first_use_loads_once(manager: ModelManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "FakeGenerator", SlowFake)
    SlowFake.built = 0
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda _: manager.get_model("default"), range(32)))
    assert SlowFake.built == 1
    assert all(g is got[0] for g in got)
    assert len(manager.load_history) == 1


def test_async_concurrent_first_use_loads_once(manager: ModelManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "FakeGenerator", SlowFake)
    SlowFake.built = 0

    async def main() -> list[object]:
        return list(await asyncio.gather(*(manager.aget_model("gen") for _ in range(10))))

    got = asyncio.run(main())
    assert SlowFake.built == 1
    assert all(g is got[0] for g in got)


def test_unknown_model_lists_the_options(manager: ModelManager) -> None:
    with pytest.raises(ModelNotFoundError, match=r"model 'gpt-9' is not configured; options: 'default', "):
        manager.get_model("gpt-9")
    with pytest.raises(ModelRequestError, match="is an embedder"):
        manager.get_generator("embedder")
    with pytest.raises(ModelRequestError, match="generates text"):
        manager.get_embedder("default")


def test_token_count_unload_and_reload(manager: ModelManager) -> None:
    gen = manager.get_generator()
    r1 = gen.generate("What is the capital of France?")
    r2 = gen.generate_batch(["one two", "three"])
    assert r1.text == "Paris is the capital."
    assert r1.model == "gen"
    assert r1.finish_reason == "stop"
    assert manager.token_count == r1.completion_tokens + sum(r.completion_tokens for r in r2) == 4 + 3 + 2
    assert manager.unload("default") is True
    assert manager.unload("default") is False
    assert manager.loaded() == []
    assert manager.get_model("default") is not gen
    assert len(manager.load_history) == 2
    assert manager.stats()["models"]["gen"]["loads"] == 2


def test_memory_check_refuses_a_model_that_cannot_fit(fake_config: ModelsConfig) -> None:
    huge = fake_meta("huge").model_copy(update={"memory_gb": 1e6})
    cfg = fake_config.model_copy(update={"models": [*fake_config.models, huge]})
    manager = ModelManager.from_config(cfg)
    with pytest.raises(ModelLoadError, match=r"needs about 1000000.0 GiB but only .* GiB of RAM is free; unload"):
        manager.get_model("huge")
    assert manager.load_history == []


def test_process_wide_manager_is_replaceable(manager: ModelManager) -> None:
    previous = set_model_manager(manager)
    try:
        assert get_model_manager() is manager
    finally:
        set_model_manager(previous)


def test_stop_sequences_and_max_tokens(manager: ModelManager) -> None:
    gen = manager.get_generator()
    r = gen.generate("What is the capital?", GenerationParams(stop=[" the"]))
    assert r.text == "Paris is"
    assert r.finish_reason == "stop"
    r = gen.generate("What is the capital?", GenerationParams(max_tokens=2))
    assert r.text == "Paris is"
    assert r.finish_reason == "length"
    assert r.completion_tokens == 2


def test_json_schema_output_is_extracted_and_validated(manager: ModelManager) -> None:
    gen = manager.get_generator()
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    r = gen.generate("give json", GenerationParams(json_schema=schema))
    assert json.loads(r.text) == {"city": "Paris"}
    wrong = {"type": "object", "required": ["country"]}
    with pytest.raises(ModelOutputError, match="does not match the schema: 'country' is a required property"):
        gen.generate("give json", GenerationParams(json_schema=wrong))
    with pytest.raises(ModelOutputError, match="was asked for JSON but produced 'echo: plain words'"):
        gen.generate("plain words", GenerationParams(json_schema=schema))


def test_chat_validates_messages_and_uses_the_template(manager: ModelManager) -> None:
    gen = manager.get_generator()
    r = gen.chat([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}])
    assert r.text == "echo: user: hello there"
    with pytest.raises(ModelRequestError, match=r"chat message 0 .* is invalid"):
        gen.chat([{"role": "robot", "content": "hi"}])
    with pytest.raises(ModelRequestError, match="at least one message"):
        gen.chat([])


def test_summarize_trims_to_max_words(fake_config: ModelsConfig) -> None:
    cfg = fake_config.model_copy(
        update={"models": [fake_meta("gen", script={"Summarize": "a b c d e f g h"}), *fake_config.models[1:]]}
    )
    gen = ModelManager.from_config(cfg).get_generator()
    assert gen.summarize("some long text", max_words=3) == "a b c"
    with pytest.raises(ModelRequestError, match=r"max_words=0"):
        gen.summarize("x", max_words=0)


def test_summarize_cuts_text_that_would_overflow_the_context(fake_config: ModelsConfig) -> None:
    small = fake_meta("gen", script={"Summarize": "ok"}).model_copy(update={"context_length": 200})
    cfg = fake_config.model_copy(update={"models": [small, *fake_config.models[1:]]})
    gen = ModelManager.from_config(cfg).get_generator()
    assert isinstance(gen, fake.FakeGenerator)
    gen.summarize("word " * 5000, max_words=10)
    assert gen.count_tokens(gen.calls[-1]) <= 200


def test_async_twins_match_sync(manager: ModelManager) -> None:
    gen = manager.get_generator()

    async def main() -> tuple[object, ...]:
        return await asyncio.gather(
            gen.agenerate("capital?"),
            gen.agenerate_batch(["a", "capital"]),
            gen.achat([{"role": "user", "content": "hi"}]),
            gen.asummarize("capital city", max_words=2),
        )

    one, batch, chat, summary = asyncio.run(main())
    assert one.text == gen.generate("capital?").text  # type: ignore[attr-defined]
    assert [r.text for r in batch] == ["echo: a", "Paris is the capital."]  # type: ignore[attr-defined]
    assert chat.text == "echo: user: hi"  # type: ignore[attr-defined]
    assert summary == "Paris is"


def test_fake_embedder_rows_are_normalised_and_similarity_tracks_words(manager: ModelManager) -> None:
    emb = manager.get_embedder()
    vecs = emb.embed(["the cat sat on the mat", "a cat sat on a mat", "quantum chromodynamics"])
    assert vecs.shape == (3, 128)
    assert vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-6)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
    assert emb.embed([]).shape == (0, 128)
    assert np.allclose(asyncio.run(emb.aembed(["the cat"])), emb.embed(["the cat"]))
