"""Feedback round trip: POST /v1/feedback corrections -> the Ray Data retrain -> a published router that
routes differently (and RouterV2 hot-reloads it). Real HTTP app, real feedback store, real Ray, real router."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.feedback import FeedbackStore, default_feedback_path
from mm_orch.observability.records import WorkflowTrace
from mm_orch.routing.decision import WORKFLOWS, RoutingDecision
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.routing.training import train_bootstrap
from mm_orch.schemas import UserRequest
from router.labels import apply_feedback, feedback_by_trace, label_table
from router.pipeline import TrainSettings, run_training
from serve import create_app
from serve.schemas import WorkflowInfo
from tests.serve.test_ingress import FakeBackend

TOPICS = [
    "volcanoes", "fractions", "the french revolution", "photosynthesis", "black holes", "supply and demand",
    "the roman empire", "plate tectonics", "chess openings", "the water cycle", "electric circuits", "genetics",
    "the cold war", "poetry meter", "tides", "the immune system", "probability", "ancient egypt", "magnetism",
    "climate change", "the solar system", "algebra", "world war one", "cells", "sound waves", "the renaissance",
    "earthquakes", "vaccines", "the stock market", "dinosaurs", "weather fronts", "the human heart",
]  # fmt: skip
UNSEEN = ["glaciers", "the printing press", "rainforests"]


class RoutingBackend(FakeBackend):
    """The HTTP app's backend, routing with the real trained router (answers are not part of this test)."""

    def __init__(self, router: RouterV2) -> None:
        super().__init__()
        self.router = router

    async def route(self, request: UserRequest) -> RoutingDecision:
        return await asyncio.to_thread(self.router.route, request)

    def workflows(self) -> list[WorkflowInfo]:
        return [WorkflowInfo(name=n, description=n, required_capabilities=[], steps=[]) for n in WORKFLOWS]


def test_corrections_stored_with_the_trace_become_labels() -> None:
    rows = [WorkflowTrace(trace_id=f"t{i}", request_id=f"r{i}", timestamp=1.0, question="q", workflow="search_qa",
                          success=i != 2).to_row() for i in range(4)]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=trace_arrow_schema())
    from mm_orch.observability.feedback import FeedbackRecord

    feedback = feedback_by_trace([
        FeedbackRecord(trace_id="t0", rating=-1, workflow="lesson_pack", created_at=1.0),
        FeedbackRecord(trace_id="t1", rating=-1, created_at=1.0),
        FeedbackRecord(trace_id="t2", rating=-1, workflow="rag_qa", created_at=1.0),  # the run failed: still a label
        FeedbackRecord(trace_id="t3", rating=1, workflow="lesson_pack", created_at=1.0),
        FeedbackRecord(trace_id="t3", rating=1, created_at=2.0),  # the latest record of a trace wins
    ])  # fmt: skip
    labelled = label_table(apply_feedback(table, feedback))
    assert list(zip(labelled["workflow"].to_pylist(), labelled["weight"].to_pylist(), strict=True)) == [
        ("lesson_pack", 2.0), ("rag_qa", 2.0), ("search_qa", 1.5),
    ]  # fmt: skip


@pytest.mark.integration
def test_http_feedback_retrain_changes_the_decision(ray_cluster: Any, tmp_path: Path) -> None:
    models = tmp_path / "router_v2"
    train_bootstrap(models, embedding=False)  # the published router (n-grams: fast to retrain)
    router = RouterV2(models, abstain_threshold=0.0, bootstrap=False, reload_check_s=0.0)
    traces_dir = tmp_path / "traces"
    store = FeedbackStore(default_feedback_path(traces_dir / "traces.jsonl"))
    client = TestClient(create_app(RoutingBackend(router), feedback=store))

    def routed(query: str) -> str:
        response = client.post("/v1/route", json={"query": query})
        assert response.status_code == 200, response.text
        return str(response.json()["workflow"])

    # Users write "<topic> for dummies" and mean a beginner's lesson; the published router does not know it.
    queries = [f"{t} for dummies" for t in TOPICS]
    before = {q: routed(q) for q in queries}
    unseen_before = {t: routed(f"{t} for dummies") for t in UNSEEN}
    assert sum(w != "lesson_pack" for w in [*before.values(), *unseen_before.values()]) >= len(TOPICS) // 2
    traces = [WorkflowTrace(trace_id=f"trace-{i}", request_id=f"r{i}", timestamp=1.7e9 + i, question=q,
                            workflow=w, success=True) for i, (q, w) in enumerate(before.items())]  # fmt: skip
    traces_dir.mkdir()
    table = pa.Table.from_pylist([t.to_row() for t in traces], schema=trace_arrow_schema())
    pq.write_table(table, traces_dir / "part-0.parquet")
    for t in traces:
        if t.workflow != "lesson_pack":
            body = {
                "trace_id": t.trace_id,
                "rating": -1,
                "workflow": "lesson_pack",
                "comment": "I wanted a lesson",
            }
        else:
            body = {"trace_id": t.trace_id, "rating": 1}
        assert client.post("/v1/feedback", json=body).status_code == 201
    store.close()

    report = run_training(TrainSettings(traces=str(traces_dir), output=str(models), progress=False))
    assert report.feedback_records == len(traces)
    assert report.published, report.reason
    after = {t: routed(f"{t} for dummies") for t in UNSEEN}  # the router hot-reloads the new version
    assert router.model_version == report.version
    assert all(w == "lesson_pack" for w in after.values()), after
    assert after != unseen_before
    assert routed("who painted the mona lisa?").startswith("search_qa")  # the rest still routes as before
