"""A catalogue of broken configs and workflow definitions, each refused at load time with a message that names
the fix; the message of every one is pinned.

The YAML catalogue lives in ``broken_configs/<kind>/*.yaml``; the first line of each file says what its error
must contain (``# expect: <regex> ;; <regex> ...``). Each file is loaded the way the project loads that kind:

- ``workflows/``: a workflow folder registered over the built-in steps (what Phase B does at start);
- ``phase_b/``: ``load_phase_b_config`` and then the registries and router it names;
- ``models/``: ``load_models_config`` and the model manager over it;
- ``serve/``: ``load_serve_config`` (Ray Serve's schema and mm-orch's ``args:``);
- ``system/``: ``load_system_config``.

Python-API mistakes (a GraphNode or WorkflowDefinition built in code) are a second, smaller catalogue below.
Every message is one of mm-orch's own errors (never a raw pydantic dump), and the CLI prints it on one line.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest

from mm_orch.exceptions import MMOrchError, WorkflowDefinitionError

CATALOGUE = Path(__file__).parent / "broken_configs"
FILES = sorted(CATALOGUE.glob("*/*.yaml"))
RAW_PYDANTIC = ("errors.pydantic.dev", "[type=", "Traceback", "validation error for ")
#: Words that tell the reader what to do (each message must hold one, besides what is wrong).
FIX_WORDS = re.compile(
    r"\b(add|remove|set|write|use|fix|give|point|check|name|register|quote|must|produce|move|allowed|list)\b", re.I
)


def expectations(path: Path) -> list[str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path} must start with '# expect: <regex> ;; ...'"
    return [part.strip() for part in first.removeprefix("# expect: ").split(";;")]


def load(path: Path, tmp_path: Path) -> None:
    kind = path.parent.name
    if kind == "workflows":
        from mm_orch.orchestration.wiring import build_default_workflow_registry, build_step_registry

        folder = tmp_path / "workflows"
        folder.mkdir()
        shutil.copy(path, folder / path.name)
        build_default_workflow_registry(build_step_registry(), folder)
    elif kind == "phase_b":
        from mm_orch.configuration import load_phase_b_config
        from mm_orch.orchestration.phase_b_orchestrator import _build_router
        from mm_orch.orchestration.wiring import build_default_workflow_registry, build_step_registry

        config = load_phase_b_config(path)
        assert config is not None
        steps = build_step_registry(config.registries.step_sources)
        build_default_workflow_registry(steps, config.registries.workflows_dir)
        _build_router(config)
    elif kind == "models":
        from mm_orch.models import ModelManager
        from mm_orch.models.config import load_models_config

        ModelManager.from_config(load_models_config(path))
    elif kind == "serve":
        from serve import load_serve_config

        load_serve_config(path)
    elif kind == "system":
        from mm_orch.configuration import load_system_config

        load_system_config(path)
    else:  # pragma: no cover
        raise AssertionError(f"unknown catalogue folder {kind!r}")


def check_message(message: str, needles: list[str]) -> None:
    for raw in RAW_PYDANTIC:
        assert raw not in message, f"raw pydantic/traceback text {raw!r} in: {message}"
    for needle in needles:
        assert re.search(needle, message), f"{needle!r} not in: {message}"
    assert FIX_WORDS.search(message), f"no fix named in: {message}"


def test_the_catalogue_covers_every_kind() -> None:
    kinds = {p.parent.name for p in FILES}
    assert len(FILES) >= 20
    assert kinds == {"workflows", "phase_b", "models", "serve", "system"}


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_broken_config_is_refused_naming_the_fix(path: Path, tmp_path: Path) -> None:
    with pytest.raises(MMOrchError) as info:
        load(path, tmp_path)
    message = str(info.value)
    check_message(message, expectations(path))
    if path.parent.name in ("workflows", "serve", "system", "models") or "is invalid" in message:
        assert path.name in message, f"the file is not named in: {message}"


def _node(**kw: Any) -> Callable[[], Any]:
    def build() -> Any:
        from mm_orch.orchestration import GraphNode

        return GraphNode(**kw)

    return build


def _definition(**kw: Any) -> Callable[[], Any]:
    def build() -> Any:
        from mm_orch.registries import WorkflowDefinition

        return WorkflowDefinition(**kw)

    return build


def _registered(graph: dict[str, dict[str, Any]], **kw: Any) -> Callable[[], Any]:
    def build() -> Any:
        from mm_orch.orchestration import GraphNode
        from mm_orch.orchestration.wiring import build_step_registry
        from mm_orch.registries import WorkflowDefinition, WorkflowRegistry

        nodes = {name: GraphNode(**node) for name, node in graph.items()}
        return WorkflowRegistry(build_step_registry()).register(WorkflowDefinition(name="py", graph=nodes, **kw))

    return build


PYTHON_CASES = [
    ("next_nodes_string", _node(step_name="search", next_nodes="end"), r"next_nodes: .*write a list"),
    ("step_name_int", _node(step_name=123), r"step_name: .*write text"),
    ("max_iterations_zero", _node(step_name="search", max_iterations=0), r"max_iterations: .*use a larger"),
    ("unknown_field", _node(step_name="search", nxt_nodes=["end"]), r"nxt_nodes: unknown key.*remove it"),
    ("duplicate_edge", _node(step_name="search", next_nodes=["end", "end"]), r"more than once; list each"),
    ("empty_graph", _definition(name="w", graph={}), r"graph is empty; give at least a 'start' node"),
    (
        "unknown_merge_rule",
        _definition(name="w", graph={"start": {"step_name": "search"}}, merge_rules={"x": "concat"}),
        r"merge_rules\.x: Input should be 'append'.*'last'",
    ),
    (
        "cycle",
        _registered(
            {
                "start": {"step_name": "search", "next_nodes": ["fetch"]},
                "fetch": {"step_name": "fetch", "next_nodes": ["start"]},
            }
        ),
        r"has no bound; set max_iterations",
    ),
    ("dangling", _registered({"start": {"step_name": "search", "next_nodes": ["x"]}}), r"Add a node 'x'"),
    ("unknown_step", _registered({"start": {"step_name": "serach"}}), r"'serach', which is not registered"),
]


@pytest.mark.parametrize(("build", "needle"), [c[1:] for c in PYTHON_CASES], ids=[c[0] for c in PYTHON_CASES])
def test_python_api_mistakes_are_refused_naming_the_fix(build: Callable[[], Any], needle: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as info:
        build()
    check_message(str(info.value), [needle])


#: phase_b files refused by the loader itself (the others name registries that load when Phase B starts, and
#: Phase B then falls back to Phase A with the reason in the result's metadata).
CLI_FILES = [
    p
    for p in FILES
    if p.parent.name == "phase_b" and p.stem not in ("step_source_not_importable", "workflows_dir_missing")
]


@pytest.mark.parametrize("path", CLI_FILES, ids=lambda p: p.stem)
def test_the_cli_shows_one_clean_line(path: Path, tmp_path: Path) -> None:
    """``mm-orch route --config broken.yaml`` exits 2 with one line, never a pydantic dump or a traceback."""
    from mm_orch.main import main

    empty = tmp_path / "requests.jsonl"
    empty.write_text("")
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["route", "--config", str(path), "--jsonl", str(empty)], out=io.StringIO())
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code == 2, err.getvalue()
    assert len(lines) == 1, err.getvalue()
    assert lines[0].startswith("mm-orch: error: "), err.getvalue()
    check_message(lines[0], expectations(path))
