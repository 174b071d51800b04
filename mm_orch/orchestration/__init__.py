"""The graph engine: State, BaseStep, GraphNode, the compiler that proves graphs sound, and GraphExecutor."""

from mm_orch.orchestration.base_step import BaseStep
from mm_orch.orchestration.compiler import CompiledGraph, compile_graph
from mm_orch.orchestration.executor import GraphExecutor, RunResult
from mm_orch.orchestration.graph_node import END, START, GraphNode, MergeRule
from mm_orch.orchestration.state import ReadOnlyDict, ReadOnlyList, State

__all__ = [
    "END",
    "START",
    "BaseStep",
    "CompiledGraph",
    "GraphExecutor",
    "GraphNode",
    "MergeRule",
    "ReadOnlyDict",
    "ReadOnlyList",
    "RunResult",
    "State",
    "compile_graph",
]
