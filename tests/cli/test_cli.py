"""The CLI's subcommands, output and exit codes (fast: no model runs here; see tests/workflows)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from mm_orch.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_route_jsonl_echoes_ids_in_order_and_reports_bad_lines(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        '{"id": 1, "query": "Write me a short poem about autumn leaves"}\n'
        "\n"
        '{"id": "b", "query": "Summarize the attached contract", "documents": ["Clause 1 ..."]}\n'
        '{"id": 3, "question": "oops"}\n'
        "not json\n"
        '{"query": "Teach me the basics of photosynthesis with a quiz", "mode": "default"}\n'
    )
    code, out = run("route", "--jsonl", str(batch), "--config", str(tmp_path / "absent.yaml"))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_FAILURE  # two bad lines; every line still answered
    assert [r.get("id") for r in rows] == [1, "b", 3, None, None]
    assert rows[0]["workflow"] == "chat_generate"
    assert rows[1]["workflow"] == "rag_qa"
    assert rows[4]["workflow"] == "lesson_pack"
    assert 0 < rows[4]["confidence"] <= 1
    assert rows[2]["line"] == 4
    assert "missing 'query'" in rows[2]["error"]
    assert rows[3]["line"] == 5
    assert "error" in rows[3]


def test_route_jsonl_all_good_exits_zero(tmp_path: Path) -> None:
    batch = tmp_path / "ok.jsonl"
    batch.write_text('{"id": 7, "query": "What is the capital of France?"}\n')
    code, out = run("route", "--jsonl", str(batch), "--config", str(tmp_path / "absent.yaml"))
    assert code == EXIT_OK
    assert json.loads(out)["id"] == 7


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run()[0] == EXIT_USAGE  # no question
    assert run("route")[0] == EXIT_USAGE  # --jsonl missing
    assert run("route", "--jsonl", str(tmp_path / "missing.jsonl"))[0] == EXIT_USAGE
    bad = tmp_path / "phase_b.yaml"
    bad.write_text("router:\n  version: v7\n")
    assert run("--phase-b", "--config", str(bad), "What is Python?")[0] == EXIT_USAGE


def test_help_exits_zero() -> None:
    assert run("--help")[0] == EXIT_OK


def _project_with_own_workflow(tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """A phase_b.yaml naming its own step source and workflows dir (one workflow over one custom step)."""
    (tmp_path / "my_steps.py").write_text(
        "from mm_orch.orchestration import BaseStep\n"
        "class Shout(BaseStep):\n"
        "    name = 'shout'\n"
        "    input_keys = ['question']\n"
        "    output_keys = ['answer']\n"
        "    def execute(self, state, runtime):\n"
        "        return {'answer': state['question'].upper()}\n"
        "STEPS = [Shout]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "shouting.yaml").write_text(
        "name: shouting\ndescription: Says the question back, loudly.\n"
        "graph:\n  start: {step_name: shout, next_nodes: [end]}\n"
    )
    config = tmp_path / "phase_b.yaml"
    config.write_text(f"registries:\n  step_sources: ['my_steps:STEPS']\n  workflows_dir: {flows}\n")
    return config


def test_workflows_and_graph_read_the_configured_sources(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = _project_with_own_workflow(tmp_path, monkeypatch)
    code, out = run("workflows", "--json", "--config", str(config))
    assert code == EXIT_OK
    assert json.loads(out) == [
        {"name": "shouting", "description": "Says the question back, loudly.", "required_capabilities": []}
    ]
    code, out = run("graph", "shouting", "--config", str(config))
    assert code == EXIT_OK
    assert 'n_start["start: shout"]' in out
    assert "n_start --> n_end" in out
    assert run("graph", "search_qa", "--config", str(config))[0] == EXIT_USAGE  # not in this config


def test_workflows_without_config_lists_the_project_workflows() -> None:
    code, out = run("workflows", "--json")
    names = {row["name"] for row in json.loads(out)}
    expected = {p.stem for p in (Path(__file__).resolve().parents[2] / "config" / "workflows").glob("*.yaml")}
    assert code == EXIT_OK
    assert names == expected


def test_workflows_with_a_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    assert run("workflows", "--config", str(tmp_path / "absent.yaml"))[0] == EXIT_USAGE


def test_an_empty_question_names_the_fix_not_pydantic(capsys) -> None:  # type: ignore[no-untyped-def]
    for question in ("", "   "):
        assert run(question)[0] == EXIT_USAGE
        err = capsys.readouterr().err
        assert "the question is empty; put it in quotes" in err
        assert "pydantic" not in err
        assert "type=" not in err


def test_an_invalid_request_option_names_the_field(capsys) -> None:  # type: ignore[no-untyped-def]
    assert run("--session-id", "bad\x01id", "What is Python?")[0] == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("mm-orch: error: invalid UserRequest:\n  session_id: ")
    assert "errors.pydantic.dev" not in err


def test_a_bad_router_config_names_the_key_and_the_known_keys(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "phase_b.yaml"
    bad.write_text("router:\n  versoin: v2\n")
    assert run("--phase-b", "--config", str(bad), "What is Python?")[0] == EXIT_USAGE
    err = capsys.readouterr().err
    assert "router.versoin: unknown key (value 'v2'); remove it or fix its spelling; known keys: " in err
    assert "version" in err.split("known keys: ")[1]
