"""Realistic synthetic traces, built column by column (no per-row Python): for benchmarks, tests and demos.

``write_synthetic_traces(folder, rows)`` writes Parquet files with the real trace schema (as the Tracer's Parquet
sink would) and a feedback JSONL beside them (as :class:`~mm_orch.observability.feedback.FeedbackStore` would).
The numbers follow the embedded CPU defaults' shape: per-workflow step chains and log-normal step latencies,
~3% failures, grounded answers more likely for the careful workflows, and a ``search_qa_fast`` that is as good as
``search_qa`` on factoid questions (who/when/where) but not on explanations (how/why) -- the case the report's
cost suggestions should find.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pydantic_core

from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.feedback import FeedbackRecord

__all__ = ["SYNTHETIC_WORKFLOWS", "write_synthetic_traces"]

#: workflow -> (share of traffic, steps with their median latency in ms, tokens per generating step)
SYNTHETIC_WORKFLOWS: dict[str, tuple[float, tuple[tuple[str, float], ...], int]] = {
    "search_qa": (0.30, (("search", 40.0), ("fetch", 300.0), ("summarize", 1800.0), ("answer", 2500.0)), 220),
    "search_qa_fast": (0.20, (("search", 40.0), ("answer", 1200.0)), 120),
    "search_qa_strict_citations": (
        0.06,
        (("search", 40.0), ("fetch", 320.0), ("summarize", 1900.0), ("answer", 2700.0), ("verify", 900.0)),
        260,
    ),
    "self_ask_search_qa": (0.05, (("decompose", 900.0), ("search", 80.0), ("answer", 4200.0)), 400),
    "rag_qa": (0.17, (("retrieve", 60.0), ("answer", 2200.0)), 300),
    "lesson_pack": (0.07, (("search", 40.0), ("outline", 2500.0), ("lesson", 7000.0)), 900),
    "chat_generate": (0.15, (("chat", 1500.0),), 180),
}
_KINDS = ("what", "who", "when", "where", "how", "why")
_TOPICS = ("the Eiffel Tower", "photosynthesis", "Ada Lovelace", "the Nile", "jazz", "the Roman Empire",
           "volcanoes", "Marie Curie", "the printing press", "black holes", "the Silk Road", "penicillin")  # fmt: skip
_TEMPLATES = {
    "what": "What is {}?",
    "who": "Who discovered {}?",
    "when": "When was {} first described?",
    "where": "Where is {} found?",
    "how": "How does {} work?",
    "why": "Why is {} important?",
}
# P(grounded | workflow family member, question kind): fast matches search_qa on factoids only.
_GROUNDED = {"search_qa": 0.86, "search_qa_fast": 0.84, "search_qa_strict_citations": 0.9}
_FAST_ON_EXPLANATIONS = 0.62


def _questions() -> tuple[list[str], np.ndarray]:
    texts, kinds = [], []
    for k, kind in enumerate(_KINDS):
        for topic in _TOPICS:
            texts.append(_TEMPLATES[kind].format(topic))
            kinds.append(k)
    return texts, np.asarray(kinds)


def synthetic_table(
    rows: int, *, seed: int = 0, start: float = 1_760_000_000.0, span_s: float = 14 * 86400.0
) -> pa.Table:
    """``rows`` trace rows with the trace schema."""
    rng = np.random.default_rng(seed)
    names = list(SYNTHETIC_WORKFLOWS)
    shares = np.array([SYNTHETIC_WORKFLOWS[w][0] for w in names])
    wf = rng.choice(len(names), size=rows, p=shares / shares.sum())
    texts, kinds_of = _questions()
    q = rng.integers(0, len(texts), size=rows)
    kind = kinds_of[q]
    n_steps = np.array([len(SYNTHETIC_WORKFLOWS[w][1]) for w in names])[wf]
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(n_steps, out=offsets[1:])
    total = int(offsets[-1])
    parent = np.repeat(np.arange(rows), n_steps)
    pos = np.arange(total) - offsets[:-1][parent]
    step_names = sorted({s for w in names for s, _ in SYNTHETIC_WORKFLOWS[w][1]})
    step_code = np.zeros((len(names), 8), dtype=np.int64)
    step_median = np.zeros((len(names), 8))
    for i, w in enumerate(names):
        for j, (s, med) in enumerate(SYNTHETIC_WORKFLOWS[w][1]):
            step_code[i, j], step_median[i, j] = step_names.index(s), med
    codes = step_code[wf[parent], pos]
    step_lat = step_median[wf[parent], pos] * rng.lognormal(0.0, 0.45, size=total)
    failed = rng.random(rows) < 0.03
    last = offsets[1:] - 1
    step_ok = np.ones(total, dtype=bool)
    step_ok[last[failed]] = False
    timestamp = start + np.sort(rng.random(rows)) * span_s
    started = (
        timestamp[parent]
        + (
            np.cumsum(step_lat)
            - np.repeat(np.cumsum(step_lat)[offsets[:-1]] - step_lat[offsets[:-1]], n_steps)
            - step_lat
        )
        / 1000.0
    )
    gen_tokens = np.array([SYNTHETIC_WORKFLOWS[w][2] for w in names])[wf[parent]]
    step_tokens = np.where(
        step_median[wf[parent], pos] > 500, gen_tokens * rng.uniform(0.5, 1.5, total), 0
    ).astype(np.int64)
    latency = np.add.reduceat(step_lat, offsets[:-1]) + rng.uniform(1.0, 5.0, rows)
    tokens = np.add.reduceat(step_tokens, offsets[:-1])
    loads = (rng.random(rows) < 0.02).astype(np.int64)
    err_types = np.array(["StepTimeoutError", "ModelUnavailableError", "StepExecutionError"], dtype=object)
    err = err_types[rng.integers(0, 3, size=rows)]
    step_err = np.full(total, None, dtype=object)
    step_err[last[failed]] = err[failed]
    step_msg = np.full(total, None, dtype=object)
    step_msg[last[failed]] = [f"step failed: {e}" for e in err[failed]]

    p_ground = np.array([_GROUNDED.get(w, 0.8) for w in names])[wf]
    fast = np.array(names)[wf] == "search_qa_fast"
    explanation = np.isin(kind, [_KINDS.index("how"), _KINDS.index("why")])
    p_ground = np.where(fast & explanation, _FAST_ON_EXPLANATIONS, p_ground)
    grounded = (rng.random(rows) < p_ground).astype(np.float64)
    refused = (rng.random(rows) < 0.02).astype(np.float64)
    forced = rng.random(rows) < 0.05
    router_version = np.where(forced, "forced", np.where(rng.random(rows) < 0.95, "v3", "v1"))
    confidence = np.where(forced, 1.0, np.clip(rng.beta(2 + 6 * grounded, 2, size=rows), 0.05, 1.0))

    step_type = trace_arrow_schema().field("steps").type.value_type
    steps = pa.ListArray.from_arrays(
        pa.array(offsets),
        pa.StructArray.from_arrays(
            [
                pa.array([f"n{i}" for i in range(8)]).take(pa.array(pos)),
                pa.array(step_names).take(pa.array(codes)),
                pa.array(started),
                pa.array(started + step_lat / 1000.0),
                pa.array(step_lat),
                pa.array(step_ok),
                pa.array(np.ones(total, dtype=np.int64)),
                pa.array(step_err, type=pa.string()),
                pa.array(step_msg, type=pa.string()),
                pa.array(np.zeros(total, dtype=bool)),
                pa.ListArray.from_arrays(pa.array(np.zeros(total + 1, dtype=np.int32)), pa.array([], pa.string())),
                pa.array(step_tokens),
            ],
            fields=list(step_type),
        ),
    )
    sig_offsets = pa.array(np.arange(0, 3 * rows + 1, 3, dtype=np.int32))
    signals = pa.MapArray.from_arrays(
        sig_offsets,
        pa.array(np.tile(np.array(["grounded", "refused", "citations"], dtype=object), rows)),
        pa.array(np.column_stack([grounded, refused, grounded * rng.integers(1, 4, rows)]).ravel()),
    )
    empty_map = pa.MapArray.from_arrays(
        pa.array(np.zeros(rows + 1, np.int32)), pa.array([], pa.string()), pa.array([], pa.float64())
    )
    schema = trace_arrow_schema()
    trace_ids = pa.array([f"{seed:04x}{i:012x}" for i in range(rows)])
    columns = {
        "schema_version": pa.array(np.ones(rows, dtype=np.int64)),
        "trace_id": trace_ids,
        "request_id": trace_ids,
        "timestamp": pa.array(timestamp),
        "question": pa.array(texts).take(pa.array(q)),
        "workflow": pa.array(names).take(pa.array(wf)),
        "workflow_forced": pa.array(forced),
        "router_version": pa.array(router_version),
        "router_confidence": pa.array(confidence),
        "router_alternatives": empty_map.cast(schema.field("router_alternatives").type),
        "mode": pa.array(np.where(np.array(names)[wf] == "chat_generate", "chat", "default")),
        "phase": pa.array(np.full(rows, "b", dtype=object)),
        "success": pa.array(~failed),
        "error_type": pa.array(err, type=pa.string(), mask=~failed),
        "error_message": pc.binary_join_element_wise(
            "step failed: ", pa.array(err, pa.string(), mask=~failed), ""
        ),
        "steps": steps.cast(schema.field("steps").type),
        "final_answer": pa.array(np.full(rows, "An answer.", dtype=object), type=pa.string(), mask=failed),
        "citations": pa.ListArray.from_arrays(
            pa.array(np.zeros(rows + 1, np.int32)), pa.array([], schema.field("citations").type.value_type)
        ),
        "quality_signals": signals.cast(schema.field("quality_signals").type),
        "feedback": pa.nulls(rows, pa.float64()),
        "cost": pa.StructArray.from_arrays(
            [pa.array(latency), pa.array(tokens), pa.array(loads), pa.array(n_steps.astype(np.int64))],
            fields=list(schema.field("cost").type),
        ),
        "metadata": pa.MapArray.from_arrays(
            pa.array(np.zeros(rows + 1, np.int32)), pa.array([], pa.string()), pa.array([], pa.string())
        ),
    }
    return pa.table([columns[f.name] for f in schema], schema=schema)


def write_synthetic_traces(
    folder: str | Path, rows: int, *, seed: int = 0, rows_per_file: int = 100_000, feedback_share: float = 0.03
) -> tuple[list[Path], Path]:
    """Write ``rows`` synthetic runs as ``<folder>/parquet/*.parquet`` and feedback for ``feedback_share`` of them
    as ``<folder>/feedback/feedback.jsonl``; returns the Parquet files and the feedback file."""
    root = Path(folder)
    (root / "parquet").mkdir(parents=True, exist_ok=True)
    (root / "feedback").mkdir(parents=True, exist_ok=True)
    table = synthetic_table(rows, seed=seed)
    files = []
    for n, start in enumerate(range(0, rows, rows_per_file)):
        path = root / "parquet" / f"traces-synthetic-{seed:04d}-{n:06d}.parquet"
        pq.write_table(table.slice(start, rows_per_file), path, compression="zstd", row_group_size=10_000)
        files.append(path)
    rng = np.random.default_rng(seed + 1)
    picked = np.flatnonzero(rng.random(rows) < feedback_share)
    grounded = table.column("quality_signals").combine_chunks()
    ok = table.column("success").to_numpy(zero_copy_only=False)
    ids = table.column("trace_id").take(pa.array(picked)).to_pylist()
    wfs = table.column("workflow").take(pa.array(picked)).to_pylist()
    good = [bool(ok[i]) and grounded[int(i)].as_py()[0][1] > 0 for i in picked]
    lines = []
    for trace_id, workflow, fine in zip(ids, wfs, good, strict=True):
        better = "search_qa" if workflow == "search_qa_fast" and not fine else None
        record = FeedbackRecord(trace_id=trace_id, rating=1.0 if fine else -1.0, workflow=better, source="http")
        lines.append(pydantic_core.to_json(record))
    feedback = root / "feedback" / "feedback.jsonl"
    feedback.write_bytes(b"\n".join(lines) + (b"\n" if lines else b""))
    return files, feedback
