"""Fit, evaluate and publish a router on small data: what a fresh install runs on first use.

:func:`train_bootstrap` trains on the curated request dataset (data/router/requests, see
:mod:`mm_orch.routing.dataset`): fit on the train split, score on the validation split carved out of the same
files, publish under the configured model path together with the training exemplars. The distributed
pipeline for traces lives in the top-level ``router`` package and reuses these functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from mm_orch.routing.dataset import DATA_DIR, LabelledExample, load_examples, split_train_validation
from mm_orch.routing.decision import WORKFLOWS, Router
from mm_orch.routing.exemplars import Exemplars
from mm_orch.routing.features import FeaturizerConfig
from mm_orch.routing.metrics import RouterMetrics, evaluate_predictions
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest, publish

__all__ = [
    "DEFAULT_BOOTSTRAP_PATH",
    "DEFAULT_EMBEDDING_INT8",
    "DEFAULT_EMBEDDING_WEIGHT",
    "LabelledExample",
    "dense_block",
    "embedding_featurizer_config",
    "evaluate_model",
    "evaluate_router",
    "load_examples",
    "load_split",
    "split_for_training",
    "train_bootstrap",
]

logger = logging.getLogger(__name__)

#: First-use training data: the curated request files (data/router/requests).
DEFAULT_BOOTSTRAP_PATH = DATA_DIR
#: Scale of the embedding block against the two l2-normalised n-gram blocks (chosen on the validation split
#: with benchmarks/bench_router_models.py).
DEFAULT_EMBEDDING_WEIGHT = 0.75
#: Route with the int8 copy of the embedder (same validation quality, half the latency; bench_router_models).
DEFAULT_EMBEDDING_INT8 = True


def embedding_featurizer_config(
    model: str = "minilm-l6",
    *,
    weight: float = DEFAULT_EMBEDDING_WEIGHT,
    base: FeaturizerConfig | None = None,
    int8: bool = DEFAULT_EMBEDDING_INT8,
) -> FeaturizerConfig:
    """A featurizer config with the sentence-embedding block of ``model`` (loads it to read dim and probe)."""
    from mm_orch.routing.embeddings import get_router_embedder

    embedder = get_router_embedder(model, quantized=int8)
    return (base or FeaturizerConfig()).model_copy(
        update={
            "embedding": model,
            "embedding_dim": embedder.dimension,
            "embedding_int8": int8,
            "embedding_weight": weight,
            "embedding_probe": embedder.probe(),
        }
    )


def dense_block(config: FeaturizerConfig, queries: Sequence[str]) -> np.ndarray | None:
    """The scaled embedding block of ``queries`` through the on-disk embedding cache (None without one)."""
    if config.embedding is None or config.embedding_dim == 0:
        return None
    from mm_orch.routing.embeddings import get_router_embedder

    embedder = get_router_embedder(config.embedding, quantized=config.embedding_int8)
    return embedder.encode_cached(list(queries)) * np.float32(config.embedding_weight)


def evaluate_model(model: RouterModel, examples: Sequence[LabelledExample]) -> RouterMetrics:
    """Held-out metrics of a trained model (batch path)."""
    queries = [e.query for e in examples]
    probs = model.predict_proba(
        queries, [e.context for e in examples], dense_block(model.featurizer.config, queries)
    )
    pred = [model.classes[i] for i in probs.argmax(axis=1)]
    labels = sorted(set(WORKFLOWS) | set(model.classes) | {e.workflow for e in examples})
    return evaluate_predictions([e.workflow for e in examples], pred, probs.max(axis=1), labels)


def evaluate_router(router: Router, examples: Iterable[LabelledExample]) -> RouterMetrics:
    """Held-out metrics of any router, one ``route`` call per example."""
    ex = list(examples)
    decisions = [router.route(e.to_request()) for e in ex]
    labels = sorted(set(WORKFLOWS) | {e.workflow for e in ex})
    return evaluate_predictions(
        [e.workflow for e in ex], [d.workflow for d in decisions], [d.confidence for d in decisions], labels
    )


def split_for_training(examples: Sequence[LabelledExample]) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(train, validation): a dataset's own ``test`` rows when it marks them, else the carved validation split."""
    marked = [e for e in examples if e.split in ("test", "validation")]
    if marked:
        return [e for e in examples if e.split not in ("test", "validation")], marked
    return split_train_validation(examples)


def load_split(
    path: str | Path = DEFAULT_BOOTSTRAP_PATH,
) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(train, validation) of the training data at ``path``, split as first-use training splits it."""
    return split_for_training(load_examples(path))


def fit_examples(
    train: Sequence[LabelledExample], featurizer_config: FeaturizerConfig, *, alpha: float = 1e-4
) -> RouterModel:
    """Fit a model on labelled examples (embedding block through the cache) and attach exemplars."""
    queries = [e.query for e in train]
    dense = dense_block(featurizer_config, queries)
    model = RouterModel.fit(
        queries, [e.context for e in train], [e.workflow for e in train], featurizer_config,
        np.asarray([e.weight for e in train]), dense=dense, alpha=alpha,
    )  # fmt: skip
    if dense is not None:
        model.exemplars = Exemplars.build(queries, [e.workflow for e in train], dense)
    return model


def train_bootstrap(
    output: str | Path,
    *,
    bootstrap_path: str | Path = DEFAULT_BOOTSTRAP_PATH,
    featurizer_config: FeaturizerConfig | None = None,
    embedding: bool = True,
    refit: bool = False,
) -> tuple[RouterModel, ModelManifest]:
    """Train on the curated data's train split, score its validation split, publish under ``output``.

    The published model is the split model: the validation split stays unseen, so it remains a fair
    yardstick when retraining (router.pipeline compares the new and the published model on it) and for
    benchmarks. ``refit=True`` fits again on train + validation after scoring (the manifest keeps the split
    model's validation figures); nothing ships that way, because a refit model would win every later
    comparison on data it was trained on. ``embedding=False`` (or a ``featurizer_config`` without an
    embedding) trains the pure n-gram router."""
    start = time.perf_counter()
    examples = load_examples(bootstrap_path)
    train, validation = split_for_training(examples)
    cfg = featurizer_config or (embedding_featurizer_config() if embedding else FeaturizerConfig())
    model = fit_examples(train, cfg)
    metrics = evaluate_model(model, validation) if validation else None
    if refit and validation:
        train = [*train, *validation]
        model = fit_examples(train, cfg)
    seconds = time.perf_counter() - start
    manifest = publish(
        model,
        output,
        metrics={"validation": metrics.model_dump()} if metrics else {},
        training={
            "source": str(bootstrap_path),
            "train_rows": len(train),
            "validation_rows": len(validation),
            "refit_on_validation": bool(refit and validation),
            "seconds": round(seconds, 3),
            "kind": "bootstrap",
            "features": "ngram+embedding" if cfg.embedding else "ngram",
        },
    )
    logger.info(
        "trained router v2 from %s (%d rows, %s) in %.1fs: validation family macro-F1 %s; published %s",
        bootstrap_path,
        len(train),
        "n-grams + embedding" if cfg.embedding else "n-grams",
        seconds,
        f"{metrics.family_macro_f1:.3f}" if metrics else "n/a",
        Path(output) / manifest.version,
    )
    return model, manifest
