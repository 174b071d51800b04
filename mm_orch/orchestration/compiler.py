"""Turn a graph of GraphNodes into a frozen, validated :class:`CompiledGraph`, or refuse it.

Registration calls :func:`compile_graph`; it proves the graph sound or raises
:class:`~mm_orch.exceptions.WorkflowDefinitionError` with a message that names the rule and the fix:

- a ``start`` node exists; every edge, branch target and ``loop_exit`` names a node of the graph (or ``end``);
- every node's step (and fallback step) is registered; every node is reachable from ``start``;
- every cycle contains a node with ``max_iterations``;
- every input key of every step is produced upstream on *every* path, or is an initial input key;
- no two nodes that may run in the same superstep write one key, unless that key has a merge rule;
- a fallback step produces every output of the step it stands in for.

The input and parallel-writer checks walk every path the executor can take (one choice per condition, each
loop entered once), with the executor's own scheduling rules from :mod:`.scheduling`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any, Protocol

from mm_orch.exceptions import WorkflowDefinitionError, format_options
from mm_orch.orchestration.base_step import BaseStep
from mm_orch.orchestration.graph_node import BUILTIN_MERGE_RULES, END, START, GraphNode, MergeRule
from mm_orch.orchestration.scheduling import back_edges, forward_reach, ready_nodes

__all__ = ["CompiledGraph", "NodePolicy", "NodeSpec", "StepLookup", "compile_graph"]

_MAX_PATH_STATES = 20_000


class StepLookup(Protocol):
    """What the compiler needs of a step registry."""

    def get(self, name: str) -> BaseStep: ...

    def __contains__(self, name: object) -> bool: ...

    def list_all(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class NodePolicy:
    """A node's resolved run policy (node overrides win over the step's class attributes)."""

    timeout_s: float | None
    retries: int
    retry_backoff_s: float
    fallback: BaseStep | None


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """Everything the executor needs at one node, resolved once at compile time."""

    step: BaseStep
    policy: NodePolicy
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    writes: frozenset[str]
    is_async: bool
    plain: bool  # one attempt and no fallback: the executor's fast path applies


@dataclass(frozen=True, slots=True)
class CompiledGraph:
    """A validated graph, ready to run. Build with :func:`compile_graph`; never mutate."""

    name: str
    nodes: Mapping[str, GraphNode]
    steps: Mapping[str, BaseStep]
    policies: Mapping[str, NodePolicy]
    order: Mapping[str, int]
    reach: Mapping[str, frozenset[str]]
    input_keys: tuple[str, ...]
    merge_rules: Mapping[str, MergeRule]
    has_async: bool
    specs: Mapping[str, NodeSpec]

    def successors(self, node: str) -> list[str]:
        return self.nodes[node].next_nodes


def _fail(workflow: str, message: str) -> WorkflowDefinitionError:
    return WorkflowDefinitionError(f"workflow {workflow!r}: {message}")


def _check_structure(name: str, graph: Mapping[str, GraphNode], registry: StepLookup) -> None:
    if START not in graph:
        raise _fail(
            name,
            f"the graph has no {START!r} node; name the entry node {START!r} (nodes: {format_options(graph)})",
        )
    targets = set(graph) | {END}
    for node_name, node in graph.items():
        if node_name == END:
            continue
        if node.step_name not in registry:
            raise _fail(
                name,
                f"node {node_name!r} uses step {node.step_name!r}, which is not registered; "
                f"registered steps: {format_options(registry.list_all())}. Register it with "
                f"step_registry.register(...) or fix step_name.",
            )
        fallback = node.fallback_step or registry.get(node.step_name).fallback_step
        if fallback is not None and fallback not in registry:
            raise _fail(
                name,
                f"node {node_name!r} names fallback step {fallback!r}, which is not registered; "
                f"registered steps: {format_options(registry.list_all())}",
            )
        for target in [*node.next_nodes, *(node.branches or {}).values(), *filter(None, [node.loop_exit])]:
            if target not in targets:
                raise _fail(
                    name,
                    f"node {node_name!r} points to {target!r}, which is not a node of this graph; "
                    f"nodes: {format_options(graph)}. Add a node {target!r} or point to {END!r}.",
                )
        if node.branches is not None and node.condition is None:
            raise _fail(
                name,
                f"node {node_name!r} has branches but no condition; set condition to the state "
                f"key whose value selects a branch",
            )
        for target in (node.branches or {}).values():
            if target not in node.next_nodes:
                raise _fail(
                    name,
                    f"node {node_name!r} branches to {target!r}, which is not in its next_nodes "
                    f"{node.next_nodes}; add it to next_nodes",
                )
        if node.condition is not None and not node.next_nodes:
            raise _fail(name, f"node {node_name!r} has a condition but no next_nodes to choose from")
        if node.loop_exit is not None and node.max_iterations is None:
            raise _fail(name, f"node {node_name!r} sets loop_exit but not max_iterations; set max_iterations")


def _check_reachable(name: str, graph: Mapping[str, GraphNode]) -> None:
    seen = {START}
    todo = [START]
    while todo:
        node = graph[todo.pop()]
        for child in [*node.next_nodes, *filter(None, [node.loop_exit])]:
            if child in graph and child not in seen:
                seen.add(child)
                todo.append(child)
    unreachable = [n for n in graph if n not in seen and n != END]
    if unreachable:
        raise _fail(
            name,
            f"node(s) {format_options(unreachable)} cannot be reached from {START!r}; add them to "
            f"some node's next_nodes or remove them",
        )


def _check_cycles_bounded(name: str, graph: Mapping[str, GraphNode]) -> None:
    """Every cycle must contain a node with max_iterations: the unbounded subgraph must be acyclic."""
    free = {n: g for n, g in graph.items() if g.max_iterations is None and n != END}
    color: dict[str, int] = {}
    for root in free:
        if color.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, [c for c in free[root].next_nodes if c in free])]
        path = [root]
        color[root] = 1
        while stack:
            node, children = stack[-1]
            if not children:
                stack.pop()
                path.pop()
                color[node] = 2
                continue
            child = children.pop(0)
            if color.get(child) == 1:
                cycle = [*path[path.index(child) :], child]
                raise _fail(
                    name,
                    f"the cycle {' -> '.join(cycle)} has no bound; set max_iterations on one of "
                    f"its nodes (and loop_exit to leave the loop gracefully when it is used up)",
                )
            if not color.get(child):
                color[child] = 1
                path.append(child)
                stack.append((child, [c for c in free[child].next_nodes if c in free]))


def _choices(node: GraphNode) -> list[list[str]]:
    """The successor sets a node may activate: all next_nodes, or one of them when it has a condition."""
    if node.condition is None:
        return [[n for n in node.next_nodes if n != END]]
    return [[n] if n != END else [] for n in node.next_nodes]


def _check_paths(name: str, compiled: CompiledGraph) -> None:
    """Walk every path with the executor's scheduling, tracking which keys are surely present."""
    nodes, steps = compiled.nodes, compiled.steps
    start = (frozenset({START}), frozenset(compiled.input_keys), frozenset[str]())
    todo = [start]
    seen = {start}
    while todo:
        frontier, avail, visited = todo.pop()
        batch = ready_nodes(sorted(frontier, key=compiled.order.__getitem__), compiled.reach, compiled.order)
        for node in batch:
            _check_inputs_available(name, node, steps[node], avail)
            fallback = compiled.policies[node].fallback
            if fallback is not None:
                _check_inputs_available(name, node, fallback, avail)
        _check_parallel_writers(name, batch, steps, compiled.merge_rules)
        produced = avail.union(*(steps[n].output_keys for n in batch))
        done = visited | set(batch)
        rest = frontier - set(batch)
        for combo in product(*(_choices(nodes[n]) for n in batch)):
            nxt = set(rest)
            for succ in (s for group in combo for s in group):
                if succ in done:  # loop re-entry: later iterations only see more keys; follow its exit
                    exit_node = nodes[succ].loop_exit
                    if exit_node and exit_node != END and exit_node not in done:
                        nxt.add(exit_node)
                else:
                    nxt.add(succ)
            if nxt:
                state = (frozenset(nxt), produced, done)
                if state not in seen:
                    if len(seen) >= _MAX_PATH_STATES:
                        raise _fail(
                            name,
                            f"the graph has more than {_MAX_PATH_STATES} distinct execution paths "
                            "to verify; split it into smaller workflows",
                        )
                    seen.add(state)
                    todo.append(state)


def _check_inputs_available(name: str, node: str, step: BaseStep, avail: frozenset[str]) -> None:
    missing = [k for k in step.input_keys if k not in avail]
    if missing:
        raise _fail(
            name,
            f"node {node!r} (step {step.step_name!r}) needs input key(s) {missing}, which no "
            f"upstream step on some path to it produces and the initial state does not provide "
            f"(sure to be present there: {format_options(avail)}). Produce them upstream, add them "
            f"to the workflow's input_keys, or move them to the step's optional_input_keys.",
        )


def _check_parallel_writers(
    name: str, batch: Sequence[str], steps: Mapping[str, BaseStep], merge_rules: Mapping[str, MergeRule]
) -> None:
    if len(batch) < 2:
        return
    writers: dict[str, str] = {}
    for node in batch:
        for key in steps[node].writes:
            if key in writers and key not in merge_rules:
                raise _fail(
                    name,
                    f"nodes {writers[key]!r} and {node!r} may run in parallel and both write "
                    f"{key!r}; give {key!r} a merge rule (merge_rules={{{key!r}: 'append'}}; "
                    f"rules: {', '.join(BUILTIN_MERGE_RULES)} or a callable) or write "
                    f"different keys",
                )
            writers.setdefault(key, node)


def _policy(node: GraphNode, step: BaseStep, registry: StepLookup) -> NodePolicy:
    fallback_name = node.fallback_step if node.fallback_step is not None else step.fallback_step
    return NodePolicy(
        timeout_s=node.timeout_s if node.timeout_s is not None else step.timeout_s,
        retries=node.retries if node.retries is not None else step.retries,
        retry_backoff_s=node.retry_backoff_s if node.retry_backoff_s is not None else step.retry_backoff_s,
        fallback=registry.get(fallback_name) if fallback_name else None,
    )


def _check_fallbacks(name: str, compiled: CompiledGraph) -> None:
    for node, policy in compiled.policies.items():
        if policy.fallback is None:
            continue
        missing = set(compiled.steps[node].output_keys) - set(policy.fallback.output_keys)
        if missing:
            raise _fail(
                name,
                f"node {node!r}: fallback step {policy.fallback.step_name!r} does not produce "
                f"{sorted(missing)}, which step {compiled.steps[node].step_name!r} declares; a "
                f"fallback must produce every output of the step it replaces",
            )


def compile_graph(
    graph: Mapping[str, GraphNode | Mapping[str, Any]],
    registry: StepLookup,
    *,
    name: str = "<graph>",
    input_keys: Sequence[str] = ("question",),
    merge_rules: Mapping[str, MergeRule] | None = None,
) -> CompiledGraph:
    """Validate ``graph`` against ``registry`` and freeze it; raise WorkflowDefinitionError if unsound."""
    nodes = {k: v if isinstance(v, GraphNode) else GraphNode.model_validate(v) for k, v in graph.items()}
    rules = dict(merge_rules or {})
    for key, rule in rules.items():
        if not callable(rule) and rule not in BUILTIN_MERGE_RULES:
            raise _fail(
                name,
                f"merge rule {rule!r} for key {key!r} is unknown; use one of "
                f"{', '.join(BUILTIN_MERGE_RULES)} or a callable(old, new)",
            )
    _check_structure(name, nodes, registry)
    _check_reachable(name, nodes)
    _check_cycles_bounded(name, nodes)
    live = {k: v for k, v in nodes.items() if k != END}
    steps = {k: registry.get(v.step_name) for k, v in live.items()}
    policies = {k: _policy(v, steps[k], registry) for k, v in live.items()}
    compiled = CompiledGraph(
        name=name,
        nodes=live,
        steps=steps,
        policies=policies,
        order={k: i for i, k in enumerate(live)},
        reach=forward_reach(live, back_edges(live)),
        input_keys=tuple(input_keys),
        merge_rules=rules,
        has_async=any(s.is_async for s in steps.values())
        or any(p.fallback is not None and p.fallback.is_async for p in policies.values()),
        specs={
            k: NodeSpec(
                step=steps[k],
                policy=policies[k],
                inputs=tuple(steps[k].input_keys),
                outputs=tuple(steps[k].output_keys),
                writes=steps[k].writes,
                is_async=steps[k].is_async,
                plain=policies[k].retries == 0 and policies[k].fallback is None,
            )
            for k in live
        },
    )
    _check_fallbacks(name, compiled)
    _check_paths(name, compiled)
    return compiled
