"""The embedded all-MiniLM-L6-v2 on sentence-transformers, for real."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mm_orch.models import BaseEmbedder, ModelManager, embedded_defaults

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseEmbedder]:
    cache: Path = tmp_path_factory.mktemp("emb-cache")
    mgr = ModelManager.from_config(embedded_defaults(), cache_dir=cache, show_progress=False)
    yield mgr.get_embedder("embedder")
    mgr.close()


def test_similar_sentences_score_higher_than_unrelated(embedder: BaseEmbedder) -> None:
    vecs = embedder.embed(
        [
            "A man is playing a guitar on stage.",
            "Someone performs music with a guitar in front of an audience.",
            "The stock market fell sharply after the interest rate decision.",
            "Photosynthesis converts sunlight into chemical energy in plants.",
        ]
    )
    assert vecs.shape == (4, 384)
    assert vecs.dtype == np.float32
    assert embedder.dimension == 384
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    sims = vecs @ vecs.T
    assert sims[0, 1] > 0.5
    assert sims[0, 1] > sims[0, 2] + 0.3
    assert sims[0, 1] > sims[0, 3] + 0.3


def test_retrieval_picks_the_passage_that_answers(embedder: BaseEmbedder) -> None:
    passages = [
        "Marie Curie was a physicist and chemist born in Warsaw who researched radioactivity.",
        "The Great Barrier Reef is the world's largest coral reef system, off the coast of Australia.",
        "Python is a programming language created by Guido van Rossum.",
    ]
    query = embedder.embed(["Who created the Python language?"])[0]
    assert int(np.argmax(embedder.embed(passages) @ query)) == 2


def test_async_matches_sync_and_empty_input(embedder: BaseEmbedder) -> None:
    texts = ["hello world", "goodbye moon"]
    assert np.allclose(asyncio.run(embedder.aembed(texts)), embedder.embed(texts), atol=1e-6)
    assert embedder.embed([]).shape == (0, 384)
