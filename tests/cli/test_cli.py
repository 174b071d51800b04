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
    assert rows[0]["workflow"] == "chat_generate" and rows[1]["workflow"] == "rag_qa"
    assert rows[4]["workflow"] == "lesson_pack" and 0 < rows[4]["confidence"] <= 1
    assert rows[2]["line"] == 4 and "missing 'query'" in rows[2]["error"]
    assert rows[3]["line"] == 5 and "error" in rows[3]


def test_route_jsonl_all_good_exits_zero(tmp_path: Path) -> None:
    batch = tmp_path / "ok.jsonl"
    batch.write_text('{"id": 7, "query": "What is the capital of France?"}\n')
    code, out = run("route", "--jsonl", str(batch), "--config", str(tmp_path / "absent.yaml"))
    assert code == EXIT_OK and json.loads(out)["id"] == 7


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run()[0] == EXIT_USAGE  # no question
    assert run("route")[0] == EXIT_USAGE  # --jsonl missing
    assert run("route", "--jsonl", str(tmp_path / "missing.jsonl"))[0] == EXIT_USAGE
    bad = tmp_path / "phase_b.yaml"
    bad.write_text("router:\n  version: v7\n")
    assert run("--phase-b", "--config", str(bad), "What is Python?")[0] == EXIT_USAGE


def test_help_exits_zero() -> None:
    assert run("--help")[0] == EXIT_OK
