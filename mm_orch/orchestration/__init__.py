"""The graph engine: State, BaseStep, GraphNode, the compiler that proves graphs sound, and GraphExecutor."""

from mm_orch.orchestration.base_step import BaseStep
from mm_orch.orchestration.cancellation import CancelToken, current_token, raise_if_cancelled
from mm_orch.orchestration.compiler import CompiledGraph, compile_graph
from mm_orch.orchestration.executor import GraphExecutor, RunResult
from mm_orch.orchestration.graph_node import END, START, GraphNode, MergeRule
from mm_orch.orchestration.hooks import LifecycleHook
from mm_orch.orchestration.runtime import ModelProvider, Runtime
from mm_orch.orchestration.sessions import SessionStore
from mm_orch.orchestration.state import ReadOnlyDict, ReadOnlyList, State

__all__ = [
    "END",
    "START",
    "BaseStep",
    "CancelToken",
    "CompiledGraph",
    "GraphExecutor",
    "GraphNode",
    "LifecycleHook",
    "MergeRule",
    "ModelProvider",
    "ReadOnlyDict",
    "ReadOnlyList",
    "RunResult",
    "Runtime",
    "SessionStore",
    "State",
    "compile_graph",
    "current_token",
    "raise_if_cancelled",
]
