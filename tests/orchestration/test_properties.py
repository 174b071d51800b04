"""Property tests over random DAGs: order respected, every declared write lands, sync == async."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mm_orch.orchestration import BaseStep, GraphExecutor, GraphNode, State
from mm_orch.registries import StepRegistry, WorkflowDefinition


class Node(BaseStep):
    """Writes its own key; reads its predecessors' keys; records the order it ran in."""

    def __init__(self, name: str, preds: list[str], log: list[str]) -> None:
        self.name = name
        self.input_keys = tuple(f"k_{p}" for p in preds)
        self.output_keys = (f"k_{name}",)
        self.log = log

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        self.log.append(self.name)
        return {f"k_{self.name}": sorted(str(state[k]) for k in self.input_keys)}


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """Random DAGs over nodes n0..nk where n0 is 'start' and every node is reachable from it."""
    size = draw(st.integers(min_value=1, max_value=9))
    names = ["start", *(f"n{i}" for i in range(1, size))]
    edges: dict[str, list[str]] = {n: [] for n in names}
    for i in range(1, size):
        parents = draw(st.sets(st.integers(min_value=0, max_value=i - 1), min_size=1, max_size=min(i, 3)))
        for p in sorted(parents):
            edges[names[p]].append(names[i])
    return edges


@settings(max_examples=150, deadline=None)
@given(dags())
def test_random_dags_respect_order_and_every_write_lands(edges: dict[str, list[str]]) -> None:
    preds = {n: [p for p, cs in edges.items() if n in cs] for n in edges}
    for mode in ("sync", "async"):
        log: list[str] = []
        registry = StepRegistry()
        graph = {}
        for name in edges:
            registry.register(Node(name, preds[name], log))
            graph[name] = GraphNode(step_name=name, next_nodes=edges[name])
        wf = WorkflowDefinition(name="dag", graph=graph, input_keys=[])
        ex = GraphExecutor(registry)
        state = ex.execute(wf, {}) if mode == "sync" else asyncio.run(ex.aexecute(wf, {}))
        assert sorted(log) == sorted(edges), "every node runs exactly once"
        position = {n: i for i, n in enumerate(log)}
        for node, ps in preds.items():
            assert all(position[p] < position[node] for p in ps), f"{node} ran before a predecessor"
        assert set(state) == {f"k_{n}" for n in edges}, "every declared write landed"
