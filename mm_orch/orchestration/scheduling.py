"""Scheduling rules shared by the run-time executor and the registration-time soundness check.

Both walk a graph the same way, so what registration proves is what the executor does:

- the *frontier* is the set of nodes waiting to run;
- a frontier node is *ready* when no other frontier node can still reach it along forward edges (so a fan-in
  node waits for every branch that may still arrive, and runs once);
- ready nodes run together as one *superstep*; their writes merge in graph declaration order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mm_orch.orchestration.graph_node import END, START, GraphNode

__all__ = ["back_edges", "forward_reach", "ready_nodes"]


def back_edges(graph: Mapping[str, GraphNode]) -> frozenset[tuple[str, str]]:
    """Edges that close a cycle, found by depth-first search from ``start`` in declaration order."""
    found: set[tuple[str, str]] = set()
    on_path: set[str] = set()
    done: set[str] = set()
    # Iterative DFS: graphs are small, but recursion depth should not depend on user input.
    stack: list[tuple[str, Iterable[str]]] = []
    if START in graph:
        stack.append((START, iter(graph[START].next_nodes)))
        on_path.add(START)
    while stack:
        node, children = stack[-1]
        child = next(iter(children), None)
        if child is None:
            stack.pop()
            on_path.discard(node)
            done.add(node)
            continue
        if child == END or child not in graph:
            continue
        if child in on_path:
            found.add((node, child))
        elif child not in done:
            on_path.add(child)
            stack.append((child, iter(graph[child].next_nodes)))
    return frozenset(found)


def forward_reach(graph: Mapping[str, GraphNode], back: frozenset[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """For every node, the nodes it can reach along forward (non-back) edges, excluding itself."""
    reach: dict[str, frozenset[str]] = {}

    def visit(node: str) -> frozenset[str]:
        if node in reach:
            return reach[node]
        reach[node] = frozenset()  # guards against revisits; forward edges are acyclic by construction
        acc: set[str] = set()
        for child in graph[node].next_nodes:
            if child == END or child not in graph or (node, child) in back:
                continue
            acc.add(child)
            acc |= visit(child)
        reach[node] = frozenset(acc)
        return reach[node]

    for name in graph:
        visit(name)
    return reach


def ready_nodes(
    frontier: Sequence[str], reach: Mapping[str, frozenset[str]], order: Mapping[str, int]
) -> list[str]:
    """The frontier nodes that may run now, in declaration order."""
    if len(frontier) == 1:
        return list(frontier)
    ready = [n for n in frontier if not any(m != n and n in reach[m] for m in frontier)]
    ready.sort(key=order.__getitem__)
    return ready
