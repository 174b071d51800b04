"""Every router side by side: quality (validation split or the held-out set, aggregates only) and route latency.

    python benchmarks/bench_routing.py                       # quality on the validation split + latency
    python benchmarks/bench_routing.py --split heldout       # quality on the held-out set (aggregates only)
    python benchmarks/bench_routing.py --curve               # + v3's quality/cost curve (validation)

Routers: RouterV1 (rules), RouterV2 on n-grams only, RouterV2 on n-grams + the int8 MiniLM embedding, RouterV3
(lambda 0.3) and the default chain exactly as config/phase_b.yaml builds it (v3 -> v2 -> v1 with the context
policy and the LM second opinion below the calibrated threshold), plus that chain with the LM switched off.

Both splits train what first use ships: the routers fitted on the curated train split. ``--split validation``
scores the validation split carved out of the same files (where every setting is chosen); ``--split heldout``
scores data/router/requests/heldout.jsonl, printing only aggregate and per-family figures, once for all of it
and once without the requests whose word-token set equals a training request's.

Latency is always measured on the validation requests, in-process, one ``route`` call at a time, with the
embedding cache cleared before each call (so every call embeds), the garbage collector paused while timing,
and ratios against RouterV1 measured in the same run. Thread CPU time is printed beside wall time: on this
shared 2-core machine wall-clock tails are mostly time the OS gave to other processes.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from mm_orch.routing.chain import build_router
from mm_orch.routing.dataset import load_heldout, load_requests, split_train_validation
from mm_orch.routing.decision import Router
from mm_orch.routing.evaluate import format_score, header, score, seen_in_training
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.routing.router_v3 import RouterV3, credit
from mm_orch.routing.training import LabelledExample, train_bootstrap
from mm_orch.schemas import UserRequest

LAMBDAS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
CONFIG = Path(__file__).resolve().parents[1] / "config" / "phase_b.yaml"


def latency(
    router: Router, requests: list[UserRequest], repeats: int, before: Callable[[], None]
) -> tuple[float, float, float, float]:
    """(wall p50, wall p99, thread-CPU p50, thread-CPU p99) in ms; ``before`` runs untimed before each call."""
    for r in requests[:50]:
        router.route(r)
    samples, cpu = [], []
    gc.collect()
    gc.disable()  # a collection landing inside one call is the process's cost, not the router's
    try:
        for _ in range(repeats):
            for r in requests:
                before()
                c, t = time.thread_time_ns(), time.perf_counter_ns()
                router.route(r)
                samples.append(time.perf_counter_ns() - t)
                cpu.append(time.thread_time_ns() - c)
    finally:
        gc.enable()
    arr, carr = np.asarray(samples) / 1e6, np.asarray(cpu) / 1e6
    return (float(np.percentile(arr, 50)), float(np.percentile(arr, 99)),
            float(np.percentile(carr, 50)), float(np.percentile(carr, 99)))  # fmt: skip


def curve(v3: RouterV3, test: list[LabelledExample]) -> None:
    print("\nv3 quality/cost curve on the validation split (quality = credit(chosen, label) x workflow quality;")
    print("cost = expected seconds + k-tokens + 0.5 x model loads, from the cost table):")
    print(f"{'lambda':>7} {'quality':>8} {'cost':>7} {'exact':>6}  most chosen")
    requests = [e.to_request() for e in test]
    probs = [v3.v2.probabilities(r) for r in requests]
    for lam in LAMBDAS:
        chosen = [
            next(iter(v3.scores(r, cost_lambda=lam, probs=p)[0])) for r, p in zip(requests, probs, strict=True)
        ]
        q = np.mean([credit(c, e.workflow) * v3.costs.get(c).quality for c, e in zip(chosen, test, strict=True)])
        cost = np.mean([v3.costs.get(c).units() for c in chosen])
        exact = np.mean([c == e.workflow for c, e in zip(chosen, test, strict=True)])
        top = max(set(chosen), key=chosen.count)
        print(f"{lam:>7.2f} {q:>8.3f} {cost:>7.2f} {exact:>6.3f}  {top} ({chosen.count(top)}/{len(chosen)})")


def abstention_table(chain: Any, examples: list[LabelledExample]) -> None:
    """Validation only: below each candidate threshold, how often the router and the LM were right."""
    rows = []
    for e in examples:
        d = chain.route(e.to_request())
        exp = d.explanation
        if exp is None or not exp.probabilities:
            continue
        p_top = next(iter(exp.probabilities.values()))
        lm = exp.second_opinion.choice if exp.second_opinion else None
        rows.append((p_top, exp.model_choice == e.workflow, lm == e.workflow if lm else None))
    threshold = chain.policy.abstain_threshold
    print(f"\nabstention on the validation split (LM asked below p={threshold:.2f}; both opinions recorded):")
    print(f"{'below p':>8} {'requests':>9} {'router right':>13} {'LM right':>9}")
    for t in (0.3, 0.4, 0.5, threshold):
        under = [r for r in rows if r[0] < t]
        asked = [r for r in under if r[2] is not None]
        router_acc = np.mean([r[1] for r in under]) if under else float("nan")
        lm_acc = np.mean([r[2] for r in asked]) if asked else float("nan")
        print(f"{t:>8.2f} {len(under):>9} {router_acc:>13.3f} {lm_acc:>9.3f}")


def _config_block() -> dict[str, Any]:
    """The ``router:`` block of config/phase_b.yaml, exactly as the orchestrator reads it."""
    from mm_orch.configuration import load_phase_b_config

    config = load_phase_b_config(CONFIG)
    if config is None:
        return {}
    return config.router.model_dump(by_alias=True, exclude_unset=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=["validation", "heldout"], default="validation")
    p.add_argument("--repeats", type=int, default=2, help="latency passes over the validation requests")
    p.add_argument("--no-latency", action="store_true")
    p.add_argument("--curve", action="store_true", help="also print v3's quality/cost curve (validation)")
    args = p.parse_args()
    train, val = split_train_validation(load_requests())
    heldout = args.split == "heldout"
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        # What first use ships: trained on the curated train split (the validation split stays unseen).
        train_bootstrap(Path(tmp) / "router_v2")
        train_bootstrap(Path(tmp) / "ngram", embedding=False)
        print(f"trained the embedding and n-gram routers in {time.perf_counter() - t:.1f}s")
        v2 = RouterV2(Path(tmp) / "router_v2", abstain_threshold=0.0, bootstrap=False)
        ngram = RouterV2(Path(tmp) / "ngram", abstain_threshold=0.0, bootstrap=False)
        v3 = RouterV3(v2, cost_lambda=0.3)
        block = {**_config_block(), "model_path": str(Path(tmp) / "router_v3"), "bootstrap": False}
        chain = build_router(block)
        no_lm = build_router({**block, "abstain_to": "v1", "abstain_threshold": 0.0})
        for r in (v2, ngram, chain, no_lm):
            r.warm_up()
        routers: list[tuple[str, Router]] = [
            ("v1 (rules)", RouterV1()), ("v2 n-gram", ngram), ("v2 n-gram+embedding", v2), ("v3 (lambda 0.3)", v3),
            ("default chain", chain), ("default chain, no LM", no_lm),
        ]  # fmt: skip
        threshold = chain.policy.abstain_threshold
        examples = load_heldout() if heldout else val
        what = "held-out set (data/router/requests/heldout.jsonl)" if heldout else "validation split"
        print(f"\nquality on the {what}: {len(examples)} requests never trained on; aggregates only")
        print(
            f"default chain: {block.get('version', 'v3')} -> v2 -> v1, LM second opinion below p={threshold:.2f}"
        )
        print(header())
        scores = {}
        for name, r in routers:
            scores[name] = s = score(r, examples)
            print(format_score(name, s))
        seen = seen_in_training(examples, [*train, *val])
        if heldout and any(seen):
            keep = [not x for x in seen]
            print(f"\nthe same without the {sum(seen)} requests whose word-token set equals a training request's:")
            print(header())
            for name, r in routers:
                print(format_score(name, score(r, examples, keep)))
        print("\nfamily precision:", {n: s.family_precision for n, s in scores.items()})
        print("decided by:", {n: s.sources for n, s in scores.items()})
        if not heldout:
            abstention_table(chain, val)
        print("\ncalibration (ECE of the top probability, 15 bins): before temperature -> after")
        for name in ("v2 n-gram", "v2 n-gram+embedding"):
            s = scores[name]
            print(f"  {name:<22} {s.ece_uncalibrated or 0.0:.3f} -> {s.metrics.ece:.3f}")
        if not args.no_latency:
            requests = [e.to_request() for e in val]
            clear = v2.model.featurizer.embedder.clear_cache

            def nothing() -> None:
                return None

            print(
                f"\nroute() latency, {len(requests)} validation requests x {args.repeats}, embeddings uncached (ms):"
            )
            print(f"{'router':<24} {'wall p50':>9} {'wall p99':>9} {'cpu p50':>9} {'cpu p99':>9}   p50 vs v1")
            base = None
            for name, r in routers:
                p50, p99, c50, c99 = latency(
                    r, requests, args.repeats, nothing if name.startswith("v1") else clear
                )
                base = base or p50
                print(f"{name:<24} {p50:>9.3f} {p99:>9.3f} {c50:>9.3f} {c99:>9.3f}   {p50 / base:.1f}x")
        if args.curve:
            curve(v3, val)


if __name__ == "__main__":
    main()
