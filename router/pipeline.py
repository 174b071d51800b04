"""The retraining pipeline on Ray Data: traces -> labelled, deduplicated, featurized rows -> fit -> evaluate
against the published router -> publish only if at least as good.

Stages (each Ray Data stage shows its own progress bar; a tqdm bar tracks the stages):

1. read      ``ray.data.read_parquet`` over the trace files (JSONL files go through the tracer's reader);
   (stages 1-3 stream together: Ray fuses them into one task per block)
2. label     ``map_batches``: feedback from the store joined by trace id (corrections replace the workflow),
             outcome labels (:mod:`router.labels`), unlabelled rows dropped, content key;
3. featurize ``map_batches``: the stateless hashing featurizer, rows as ``indices``/``values`` list columns
             (Ray blocks cannot hold scipy sparse matrices); the sentence-embedding block, when the featurizer
             has one, is appended in the driver after deduplication, through the on-disk embedding cache;
4. collect   blocks -> one Arrow table; duplicates (same question, context and label) dropped by key;
5. fit       CSR matrix re-assembled from the list columns; calibrated linear model (+ bootstrap train split);
6. evaluate  the new and the published model on held-out trace rows (every 10th content key) plus the curated
             bootstrap test split;
7. publish   a new version under ``output`` when its macro-F1 on that whole set is >= the published one's and it
             does not regress on the curated split by more than ``max_curated_drop`` (or with ``force``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from tqdm.auto import tqdm

from mm_orch.exceptions import ModelLoadError
from mm_orch.observability import read_traces_table, trace_files
from mm_orch.observability.feedback import read_feedback
from mm_orch.routing.decision import WORKFLOWS
from mm_orch.routing.features import Featurizer, FeaturizerConfig, RequestContext
from mm_orch.routing.metrics import RouterMetrics, evaluate_predictions
from mm_orch.routing.model import RouterModel, fit_classifier
from mm_orch.routing.persistence import load_published, publish
from mm_orch.routing.training import (
    DEFAULT_BOOTSTRAP_PATH,
    LabelledExample,
    dense_block,
    embedding_featurizer_config,
    evaluate_model,
    load_split,
)
from router.labels import Feedback, LabelRule, apply_feedback, feedback_by_trace, label_table

__all__ = ["TRACE_COLUMNS", "TrainReport", "TrainSettings", "load_feedback", "resolve_featurizer", "run_training"]

logger = logging.getLogger(__name__)

TRACE_COLUMNS = [
    "trace_id", "question", "workflow", "workflow_forced", "success", "quality_signals", "feedback", "mode",
    "metadata",
]  # fmt: skip
_LABELLED = pa.schema(
    [
        ("query", pa.string()),
        ("workflow", pa.string()),
        ("weight", pa.float64()),
        ("mode", pa.string()),
        ("has_collection", pa.bool_()),
        ("has_documents", pa.bool_()),
        ("history_turns", pa.int64()),
        ("key", pa.int64()),
    ]
)


class TrainSettings(BaseModel):
    """What ``python -m router.train`` does."""

    model_config = ConfigDict(extra="forbid")

    traces: str = Field(description="Trace file or directory (JSONL and/or Parquet).")
    output: str = Field(description="Published-router directory (versions + 'current').")
    bootstrap_path: str | None = Field(default=None, description="Labelled JSONL mixed into training/eval.")
    use_bootstrap: bool = Field(default=True, description="Mix the bootstrap dataset into training and eval.")
    feedback: str | None = Field(
        default=None,
        description="Feedback JSONL file or folder (POST /v1/feedback, mm-orch feedback). None: every "
        "'feedback' folder under traces (where both write by default).",
    )
    force: bool = Field(default=False, description="Publish even if the new model is worse.")
    label_rule: LabelRule = Field(default_factory=LabelRule, description="Outcome-labelling thresholds.")
    featurizer: FeaturizerConfig | None = Field(
        default=None,
        description="Features of the new model. None: the published router's (a retrain competes with the model "
        "it would replace on equal terms), else the n-gram + sentence-embedding features first-use training fits.",
    )
    batch_size: int = Field(default=8192, gt=0, description="Rows per map_batches call.")
    eval_every: int = Field(default=10, ge=2, description="Every N-th content key is held out for evaluation.")
    max_curated_drop: float = Field(
        default=0.02, ge=0, le=1, description="Largest macro-F1 drop on the curated bootstrap test split allowed."
    )
    progress: bool = Field(default=True, description="Show progress bars.")


class TrainReport(BaseModel):
    """What a training run did."""

    model_config = ConfigDict(extra="forbid")

    published: bool
    version: str | None = Field(default=None, description="Version published (None if not).")
    reason: str
    rows_read: int
    feedback_records: int = Field(default=0, description="Traces with feedback from the store.")
    rows_labelled: int
    rows_deduplicated: int
    train_rows: int
    eval_rows: int
    new_metrics: RouterMetrics
    current_metrics: RouterMetrics | None = None
    new_curated: RouterMetrics | None = Field(default=None, description="New model on the curated test split.")
    current_curated: RouterMetrics | None = None
    current_version: str | None = None
    seconds: dict[str, float] = Field(default_factory=dict, description="Wall time per stage.")


def _key(query: str, ctx: RequestContext, workflow: str) -> int:
    text = f"{' '.join(query.lower().split())}\x1f{ctx.tokens()}\x1f{workflow}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


def label_batch(batch: pa.Table, rule_json: str, feedback: Feedback | None = None) -> pa.Table:
    """Ray Data stage: trace rows (+ stored feedback) -> labelled rows (unlabelled dropped) with a content ``key``."""
    labelled = label_table(apply_feedback(batch, feedback or {}), LabelRule.model_validate_json(rule_json))
    keys = [
        _key(q, RequestContext(m, c, d, h), w)
        for q, w, m, c, d, h in zip(
            *(labelled[name].to_pylist() for name in ("query", "workflow", "mode", "has_collection",
                                                       "has_documents", "history_turns")),
            strict=True,
        )
    ]  # fmt: skip
    return labelled.append_column("key", pa.array(keys, type=pa.int64()))


def _contexts(table: pa.Table) -> list[RequestContext]:
    cols = [table[c].to_pylist() for c in ("mode", "has_collection", "has_documents", "history_turns")]
    return [RequestContext(m, bool(c), bool(d), int(h)) for m, c, d, h in zip(*cols, strict=True)]


def featurize_batch(batch: pa.Table, featurizer_json: str) -> pa.Table:
    """Ray Data stage: labelled rows -> + ``indices``/``values`` list columns of the hashed features."""
    featurizer = Featurizer(FeaturizerConfig.model_validate_json(featurizer_json))
    m = featurizer.transform_hashed(batch["query"].to_pylist(), _contexts(batch)).astype(np.float32)
    offsets = pa.array(m.indptr.astype(np.int32))
    indices = pa.ListArray.from_arrays(offsets, pa.array(m.indices.astype(np.int32)))
    values = pa.ListArray.from_arrays(offsets, pa.array(m.data))
    return batch.append_column("indices", indices).append_column("values", values)


def _csr(table: pa.Table, n_features: int) -> sp.csr_matrix:
    ind = table["indices"].combine_chunks()
    val = table["values"].combine_chunks()
    offsets = ind.offsets.to_numpy()
    indptr = (offsets - offsets[0]).astype(np.int64)
    cols = ind.flatten().to_numpy().astype(np.int32)
    data = val.flatten().to_numpy().astype(np.float64)
    return sp.csr_matrix((data, cols, indptr), shape=(table.num_rows, n_features))


def _features(featurizer: Featurizer, table: pa.Table) -> sp.csr_matrix:
    """Deduplicated rows -> the full feature matrix: the workers' hashed blocks plus the embedding block."""
    hashed = _csr(table, featurizer.config.hashed_features)
    if not featurizer.uses_embedding:
        return hashed
    return featurizer.with_dense(hashed, dense_block(featurizer.config, table["query"].to_pylist()))


def _curated_features(featurizer: Featurizer, examples: list[LabelledExample]) -> sp.csr_matrix:
    queries = [e.query for e in examples]
    return featurizer.transform(queries, [e.context for e in examples], dense_block(featurizer.config, queries))


def _published(output: str) -> tuple[RouterModel | None, str | None]:
    try:
        current, manifest = load_published(output)
    except ModelLoadError as exc:
        logger.info("no usable published router to compare against (%s)", exc)
        return None, None
    return current, manifest.version


def resolve_featurizer(settings: TrainSettings, current: RouterModel | None) -> FeaturizerConfig:
    """The new model's features: as configured, else the published model's, else first-use training's."""
    if settings.featurizer is not None:
        return settings.featurizer
    if current is not None:
        return current.featurizer.config
    return embedding_featurizer_config()


def _examples(table: pa.Table) -> list[LabelledExample]:
    ctx = _contexts(table)
    return [
        LabelledExample(query=q, workflow=w, mode=c.mode, has_collection=c.has_collection,
                        has_documents=c.has_documents, history_turns=c.history_turns)
        for q, w, c in zip(table["query"].to_pylist(), table["workflow"].to_pylist(), ctx, strict=True)
    ]  # fmt: skip


def _is_feedback(path: Path, root: Path) -> bool:
    return root.is_dir() and "feedback" in path.relative_to(root).parts[:-1]


def load_feedback(settings: TrainSettings) -> Feedback:
    """The stored feedback for the traces: ``settings.feedback``, else every ``feedback`` folder under traces."""
    if settings.feedback:
        return feedback_by_trace(read_feedback(settings.feedback), WORKFLOWS)
    root = Path(settings.traces)
    if not root.is_dir():
        return {}
    folders = sorted(p for p in root.rglob("feedback") if p.is_dir())
    return feedback_by_trace([r for f in folders for r in read_feedback(f)], WORKFLOWS)


def _read(ray_data: Any, traces: Path) -> tuple[Any, int]:
    """The trace rows as one Ray Dataset, and how many rows that is (from file metadata, no extra pass)."""
    files = [f for f in trace_files(traces) if not _is_feedback(f, traces)]
    parquet = [str(f.resolve()) for f in files if f.suffix == ".parquet"]
    parts = []
    rows = 0
    if parquet:
        parts.append(ray_data.read_parquet(parquet).select_columns(list(TRACE_COLUMNS)))
        rows += sum(pq.ParquetFile(f).metadata.num_rows for f in parquet)
    if any(f.suffix == ".jsonl" for f in files):
        jsonl = [f for f in files if f.suffix == ".jsonl"]
        table = pa.concat_tables([read_traces_table(f, columns=TRACE_COLUMNS) for f in jsonl])
        parts.append(ray_data.from_arrow(table))
        rows += table.num_rows
    if not parts:
        raise ModelLoadError(f"no .jsonl or .parquet trace files under {traces}; nothing to train on")
    ds = parts[0]
    for extra in parts[1:]:
        ds = ds.union(extra)
    return ds, rows


def run_training(settings: TrainSettings) -> TrainReport:
    """Run the whole pipeline on the connected Ray cluster (call ``ray.init`` first, or it starts one)."""
    import ray
    import ray.data

    if not ray.is_initialized():
        ray.init()
    ray.data.DataContext.get_current().enable_progress_bars = settings.progress
    seconds: dict[str, float] = {}
    stages = tqdm(total=4, desc="router training", disable=not settings.progress, unit="stage")

    def mark(name: str, start: float) -> float:
        seconds[name] = round(time.perf_counter() - start, 3)
        stages.set_postfix_str(f"{name} {seconds[name]:.1f}s")
        stages.update(1)
        return time.perf_counter()

    t = t0 = time.perf_counter()
    current, current_version = _published(settings.output)
    featurizer = Featurizer(resolve_featurizer(settings, current))
    featurizer_json = featurizer.config.model_dump_json()
    ds, rows_read = _read(ray.data, Path(settings.traces).resolve())
    feedback = load_feedback(settings)
    labelled = ds.map_batches(
        label_batch, batch_format="pyarrow", batch_size=settings.batch_size,
        fn_kwargs={"rule_json": settings.label_rule.model_dump_json(), "feedback": feedback},
    ).map_batches(
        featurize_batch, batch_format="pyarrow", batch_size=settings.batch_size,
        fn_kwargs={"featurizer_json": featurizer_json},
    )  # fmt: skip
    blocks = [b for b in ray.get(labelled.to_arrow_refs()) if b.num_rows]
    table = pa.concat_tables(blocks) if blocks else featurize_batch(_LABELLED.empty_table(), featurizer_json)
    rows_labelled = table.num_rows
    keys = table["key"].to_numpy()
    _, first = np.unique(keys, return_index=True)
    table = table.take(pa.array(np.sort(first)))
    t = mark("read+label+featurize", t)

    held = (table["key"].to_numpy() % settings.eval_every) == 0
    train_t, eval_t = table.filter(pa.array(~held)), table.filter(pa.array(held))
    x_parts, y, w = (
        [_features(featurizer, train_t)],
        train_t["workflow"].to_pylist(),
        train_t["weight"].to_numpy(),
    )
    eval_examples = _examples(eval_t)
    x_eval_parts = [_features(featurizer, eval_t)]
    # The curated validation split is always evaluated: the fixed yardstick across versions.
    b_train, curated = load_split(settings.bootstrap_path or DEFAULT_BOOTSTRAP_PATH)
    if settings.use_bootstrap:
        x_parts.append(_curated_features(featurizer, b_train))
        y = y + [e.workflow for e in b_train]
        w = np.concatenate([w, np.array([e.weight for e in b_train])])
    x_eval_parts.append(_curated_features(featurizer, curated))
    eval_examples += curated
    x = sp.vstack(x_parts, format="csr")
    model = RouterModel(fit_classifier(x, y, sample_weight=w), featurizer.config)
    t = mark("fit", t)

    x_eval = sp.vstack(x_eval_parts, format="csr")
    probs = model.predict_proba_x(x_eval)
    labels = sorted(set(model.classes) | {e.workflow for e in eval_examples})
    new_metrics = evaluate_predictions(
        [e.workflow for e in eval_examples],
        [model.classes[i] for i in probs.argmax(axis=1)],
        probs.max(axis=1),
        labels,
    )
    new_curated = evaluate_model(model, curated) if curated else None
    current_metrics, current_curated = None, None
    if current is not None:
        current_metrics = evaluate_model(current, eval_examples)
        current_curated = evaluate_model(current, curated) if curated else None
    t = mark("evaluate", t)

    better = current_metrics is None or new_metrics.macro_f1 >= current_metrics.macro_f1
    regressed = (
        new_curated is not None
        and current_curated is not None
        and new_curated.macro_f1 < current_curated.macro_f1 - settings.max_curated_drop
    )
    better = better and not regressed
    version = None
    if better or settings.force:
        manifest = publish(
            model, settings.output,
            metrics={"heldout": new_metrics.model_dump(),
                     "previous": current_metrics.model_dump() if current_metrics else None},
            training={"source": str(settings.traces), "rows_read": rows_read, "train_rows": x.shape[0],
                      "eval_rows": len(eval_examples), "kind": "traces", "previous_version": current_version},
        )  # fmt: skip
        version = manifest.version
    mark("publish", t)
    stages.close()
    seconds["total"] = round(time.perf_counter() - t0, 3)
    if current_metrics is None:
        reason = "no published router yet"
    else:
        cmp = ">=" if new_metrics.macro_f1 >= current_metrics.macro_f1 else "<"
        reason = f"macro-F1 {new_metrics.macro_f1:.4f} {cmp} published {current_metrics.macro_f1:.4f}"
        if regressed and new_curated is not None and current_curated is not None:
            reason += (
                f"; curated split regressed {current_curated.macro_f1:.4f} -> {new_curated.macro_f1:.4f} "
                f"(allowed drop {settings.max_curated_drop})"
            )
        if not better and settings.force:
            reason += " (published anyway: force)"
    return TrainReport(
        published=version is not None, version=version, reason=reason, rows_read=rows_read,
        feedback_records=len(feedback),
        rows_labelled=rows_labelled, rows_deduplicated=table.num_rows, train_rows=x.shape[0],
        eval_rows=len(eval_examples), new_metrics=new_metrics, current_metrics=current_metrics,
        new_curated=new_curated, current_curated=current_curated,
        current_version=current_version, seconds=seconds,
    )  # fmt: skip
