"""Router model selection on the validation split: n-gram vs embedding features, linear head vs centroid/exemplars.

    python benchmarks/bench_router_models.py [--data data/router/requests]

Trains every candidate on the train split of the curated training files and scores it on the validation
split carved out of the same files (stratified, whole near-duplicate groups; mm_orch.routing.dataset). The
held-out file is never read here: this is where settings are chosen. Prints family macro-F1 (the target
metric), workflow macro-F1, the worst family recall, ECE and the fit time of each candidate.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from mm_orch.routing.dataset import DATA_DIR, load_examples, load_requests, split_train_validation
from mm_orch.routing.decision import WORKFLOWS
from mm_orch.routing.features import FeaturizerConfig
from mm_orch.routing.metrics import RouterMetrics, evaluate_predictions
from mm_orch.routing.model import RouterModel
from mm_orch.routing.training import LabelledExample, embedding_featurizer_config

Predict = Callable[[], tuple[list[str], np.ndarray]]


def _metrics(val: Sequence[LabelledExample], pred: list[str], conf: np.ndarray) -> RouterMetrics:
    labels = sorted(set(WORKFLOWS) | {e.workflow for e in val})
    return evaluate_predictions([e.workflow for e in val], pred, conf, labels)


def _linear(
    train: Sequence[LabelledExample],
    val: Sequence[LabelledExample],
    cfg: FeaturizerConfig,
    dense: tuple[np.ndarray, np.ndarray] | None,
    alpha: float = 1e-4,
) -> tuple[list[str], np.ndarray]:
    w = cfg.embedding_weight
    model = RouterModel.fit(
        [e.query for e in train], [e.context for e in train], [e.workflow for e in train], cfg,
        dense=None if dense is None else dense[0] * w, alpha=alpha,
    )  # fmt: skip
    probs = model.predict_proba(
        [e.query for e in val], [e.context for e in val], None if dense is None else dense[1] * w
    )
    return [model.classes[i] for i in probs.argmax(1)], probs.max(1)


def _centroid(
    train: Sequence[LabelledExample], e_train: np.ndarray, e_val: np.ndarray, temperature: float = 20.0
) -> tuple[list[str], np.ndarray]:
    classes = sorted({e.workflow for e in train})
    y = np.array([e.workflow for e in train])
    cents = np.stack([e_train[y == c].mean(0) for c in classes])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    z = temperature * (e_val @ cents.T)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return [classes[i] for i in p.argmax(1)], p.max(1)


def _knn(
    train: Sequence[LabelledExample],
    e_train: np.ndarray,
    e_val: np.ndarray,
    k: int = 10,
    temperature: float = 20.0,
) -> tuple[list[str], np.ndarray]:
    classes = sorted({e.workflow for e in train})
    y = np.array([classes.index(e.workflow) for e in train])
    sims = e_val @ e_train.T
    top = np.argsort(-sims, axis=1)[:, :k]
    votes = np.zeros((len(e_val), len(classes)))
    for r in range(len(e_val)):
        for c in top[r]:
            votes[r, y[c]] += np.exp(temperature * (sims[r, c] - 1.0))
    p = votes / votes.sum(1, keepdims=True)
    return [classes[i] for i in p.argmax(1)], p.max(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA_DIR), help="folder of train_*.jsonl files")
    p.add_argument("--with-templates", action="store_true", help="also try adding data/router/bootstrap.jsonl")
    args = p.parse_args()
    examples = load_requests(args.data)
    train, val = split_train_validation(examples)
    print(f"{len(examples)} curated requests: train {len(train)}, validation {len(val)} (held-out file not read)")
    t = time.perf_counter()
    emb_cfg = embedding_featurizer_config(int8=False)
    int8_cfg = embedding_featurizer_config(int8=True)
    from mm_orch.routing.embeddings import get_router_embedder

    embedder = get_router_embedder(emb_cfg.embedding or "minilm-l6")
    e_train = embedder.encode_cached([e.query for e in train])
    e_val = embedder.encode_cached([e.query for e in val])
    int8 = get_router_embedder(emb_cfg.embedding or "minilm-l6", quantized=True)
    dense8 = (int8.encode_cached([e.query for e in train]), int8.encode_cached([e.query for e in val]))
    print(f"embedded {len(train) + len(val)} requests (fp32 and int8) in {time.perf_counter() - t:.1f}s")
    dense = (e_train, e_val)
    candidates: list[tuple[str, Predict]] = [
        ("n-gram linear (v2 today)", lambda: _linear(train, val, FeaturizerConfig(), None)),
        ("embedding centroid", lambda: _centroid(train, e_train, e_val)),
        ("embedding kNN k=10", lambda: _knn(train, e_train, e_val)),
        ("embedding kNN k=3", lambda: _knn(train, e_train, e_val, k=3)),
    ]
    for w in (0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        cfg = emb_cfg.model_copy(update={"embedding_weight": w})
        candidates.append((f"n-gram + embedding linear w={w:g}", lambda cfg=cfg: _linear(train, val, cfg, dense)))
    for w in (0.75, 1.0):
        cfg = int8_cfg.model_copy(update={"embedding_weight": w})
        candidates.append(
            (f"n-gram + int8 embedding linear w={w:g}", lambda cfg=cfg: _linear(train, val, cfg, dense8))
        )
    for alpha in (3e-5, 3e-4):
        cfg = emb_cfg.model_copy(update={"embedding_weight": 1.0})
        candidates.append(
            (
                f"n-gram + embedding linear w=1 a={alpha:g}",
                lambda cfg=cfg, a=alpha: _linear(train, val, cfg, dense, a),
            )
        )
    if args.with_templates:
        boot = [e for e in load_examples(DATA_DIR.parent / "bootstrap.jsonl")]
        mixed = list(train) + boot
        e_mixed = np.concatenate([e_train, embedder.encode_cached([e.query for e in boot])])
        cfg = emb_cfg.model_copy(update={"embedding_weight": 1.0})
        candidates.append(
            ("+ 879 template requests, w=1", lambda cfg=cfg: _linear(mixed, val, cfg, (e_mixed, e_val)))
        )
    print(f"\n{'candidate':<40} {'famF1':>6} {'wfF1':>6} {'worst family recall':>26} {'ECE':>6} {'fit s':>6}")
    for name, predict in candidates:
        t = time.perf_counter()
        pred, conf = predict()
        seconds = time.perf_counter() - t
        m = _metrics(val, pred, conf)
        worst = min(m.family_recall.items(), key=lambda kv: kv[1])
        print(
            f"{name:<40} {m.family_macro_f1:>6.3f} {m.macro_f1:>6.3f} {worst[0]:>18} {worst[1]:>7.3f} "
            f"{m.ece:>6.3f} {seconds:>6.1f}"
        )


if __name__ == "__main__":
    main()
