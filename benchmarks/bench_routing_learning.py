"""Learning curve: macro-F1 as outcome-labelled traces accumulate (0, 500, 2,000, 10,000 feedback rows).

    python benchmarks/bench_routing_learning.py                    # scored on the validation split
    python benchmarks/bench_routing_learning.py --split heldout    # scored on the held-out set (aggregates)

A router is deployed after training on a small seed (``--seed-rows`` curated train requests, spread over the
five families). Users then send the *other* curated train requests, lightly varied the way people retype a
request (casing, punctuation, a polite word, a typo), and the deployed router routes them. The simulated
outcome of each run follows what users do: a wrong route gets a correction naming the right workflow (50%), a
bare thumbs down (30%) or nothing (20%); a right route gets a thumbs up (35%) or nothing; 5% of corrections
name a wrong workflow (noise). Traces go to Parquet and feedback to the real feedback store beside them, and
``router.pipeline.run_training`` retrains exactly as production does - publish-if-better included (held-out
trace rows plus the seed's own validation rows; a model that is not at least as good is not published). Each
row of the table is a fresh run from the seed with the first N feedback rows (nested sets). Nothing from the
validation split or the held-out set is ever a trace.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import pyarrow as pa
import pyarrow.parquet as pq

from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.feedback import FeedbackRecord, FeedbackStore, default_feedback_path
from mm_orch.observability.records import WorkflowTrace
from mm_orch.routing.dataset import LabelledExample, load_heldout, load_requests, split_train_validation
from mm_orch.routing.decision import FAMILIES, WORKFLOWS
from mm_orch.routing.evaluate import FAMILY_ORDER
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import load_published, publish
from mm_orch.routing.training import dense_block, embedding_featurizer_config, evaluate_model, fit_examples
from router.pipeline import TrainSettings, run_training

STEPS = (0, 500, 2000, 10_000)
_POLITE = ["", "", "", " please", " pls", " thanks", " thx", "!", " :)"]


def vary(text: str, rng: random.Random) -> str:
    """The same request retyped: casing, trailing punctuation, a polite word, sometimes one swapped letter."""
    t = text.lower() if rng.random() < 0.4 else text
    t = t.rstrip("?.! ") + rng.choice(["", "", "?", "."]) if rng.random() < 0.5 else t
    t = t + rng.choice(_POLITE)
    words = t.split(" ")
    if rng.random() < 0.3 and len(words) > 2:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def seed_split(train: list[LabelledExample], per_family: int, rng: random.Random) -> tuple[list, list]:
    """(seed, pool): ``per_family`` requests of each family for the seed router, the rest for users."""
    by_family: dict[str, list[LabelledExample]] = {}
    for e in train:
        by_family.setdefault(FAMILIES[e.workflow], []).append(e)
    seed, pool = [], []
    for family in FAMILY_ORDER:
        rows = by_family[family][:]
        rng.shuffle(rows)
        seed += rows[:per_family]
        pool += rows[per_family:]
    rng.shuffle(pool)
    return seed, pool


def simulate(
    model: RouterModel, pool: list[LabelledExample], n: int, rng: random.Random
) -> tuple[list[WorkflowTrace], list[FeedbackRecord]]:
    """``n`` traced runs of pool requests routed by ``model``, and the feedback their users sent."""
    picks = [pool[i % len(pool)] for i in range(n)]
    asked = [e.model_copy(update={"query": vary(e.query, rng) if i >= len(pool) else e.query})
             for i, e in enumerate(picks)]  # fmt: skip
    queries = [e.query for e in asked]
    probs = model.predict_proba(queries, [e.context for e in asked], dense_block(model.featurizer.config, queries))
    routed = [model.classes[i] for i in probs.argmax(1)]
    traces, feedback = [], []
    for i, (e, ran) in enumerate(zip(asked, routed, strict=True)):
        tid = f"learn-{i}"
        meta = {"has_collection": str(e.has_collection).lower(), "history_turns": str(e.history_turns)}
        traces.append(WorkflowTrace(trace_id=tid, request_id=tid, timestamp=1.7e9 + i, question=e.query,
                                    workflow=ran, success=True, mode=e.mode, metadata=meta))  # fmt: skip
        r = rng.random()
        if ran == e.workflow:
            if r < 0.35:
                feedback.append(FeedbackRecord(trace_id=tid, rating=1.0, created_at=1.7e9 + i))
        elif r < 0.5:
            fix = e.workflow if rng.random() >= 0.05 else rng.choice([w for w in WORKFLOWS if w != e.workflow])
            feedback.append(FeedbackRecord(trace_id=tid, rating=-1.0, workflow=fix, created_at=1.7e9 + i))
        elif r < 0.8:
            feedback.append(FeedbackRecord(trace_id=tid, rating=-1.0, created_at=1.7e9 + i))
    return traces, feedback


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=["validation", "heldout"], default="validation")
    p.add_argument("--seed-rows", type=int, default=60, help="seed requests per family")
    p.add_argument("--steps", default=",".join(map(str, STEPS)))
    args = p.parse_args()
    import ray

    rng = random.Random(0)
    train, val = split_train_validation(load_requests())
    seed, pool = seed_split(train, args.seed_rows, rng)
    target = load_heldout() if args.split == "heldout" else val
    cfg = embedding_featurizer_config()
    t0 = time.perf_counter()
    seed_model = fit_examples(seed, cfg)
    print(f"seed router: {len(seed)} curated requests ({args.seed_rows} per family); user pool {len(pool)} other "
          f"train requests; scored on the {args.split} set ({len(target)} requests, aggregates only)")  # fmt: skip
    steps = [int(s) for s in args.steps.split(",")]
    traces, feedback = simulate(seed_model, pool, max(steps), rng)
    labels = sum(1 for f in feedback if f.workflow) + sum(1 for f in feedback if f.rating > 0)
    print(f"simulated {len(traces)} runs and {len(feedback)} feedback records ({labels} usable as labels) in "
          f"{time.perf_counter() - t0:.1f}s")  # fmt: skip
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"\n{'feedback rows':>13} {'labels':>7} {'published':>9} {'wfF1':>6} {'famF1':>6} {'worst family':>20} "
          f"{'retrain s':>9}  gate")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        seed_file = Path(tmp) / "seed.jsonl"
        seed_file.write_text("".join(e.model_dump_json() + "\n" for e in seed))
        for n in steps:
            out = Path(tmp) / f"router-{n}"
            publish(seed_model, out, training={"kind": "seed", "rows": len(seed)})
            if n == 0:
                m, published, reason, secs, used = seed_model, "seed", "-", 0.0, 0
            else:
                folder = Path(tmp) / f"traces-{n}"
                folder.mkdir()
                rows = [t.to_row() for t in traces[:n]]
                pq.write_table(pa.Table.from_pylist(rows, schema=trace_arrow_schema()), folder / "part-0.parquet")
                ids = {t.trace_id for t in traces[:n]}
                with FeedbackStore(default_feedback_path(folder / "traces.jsonl")) as store:
                    for f in feedback:
                        if f.trace_id in ids:
                            store.append(f)
                t = time.perf_counter()
                report = run_training(TrainSettings(traces=str(folder), output=str(out), bootstrap_path=str(seed_file),
                                                    progress=False))  # fmt: skip
                secs, used = time.perf_counter() - t, report.rows_labelled
                published, reason = ("yes" if report.published else "no"), report.reason
                m = load_published(out)[0]
            s = evaluate_model(m, target)
            worst = min(s.family_recall.items(), key=lambda kv: kv[1])
            print(f"{n:>13} {used:>7} {published:>9} {s.macro_f1:>6.3f} {s.family_macro_f1:>6.3f} "
                  f"{worst[0] + f' {worst[1]:.3f}':>20} {secs:>9.1f}  {reason}")  # fmt: skip
    print(f"\nfor reference, the router trained on all {len(train)} curated train requests: ", end="")
    full = evaluate_model(fit_examples(train, cfg), target)
    print(f"wfF1 {full.macro_f1:.3f}, famF1 {full.family_macro_f1:.3f}")


if __name__ == "__main__":
    main()
