"""Text that is not valid Unicode (lone UTF-16 surrogates) and control characters in ids.

Found by the outside probe: ``{"request_id": "x\\udfff"}`` passed validation, the answer was computed, and the
trace serialisation then failed the request with a 500 and no trace was written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from mm_orch.exceptions import TracingError
from mm_orch.observability import Tracer
from mm_orch.observability.records import WorkflowTrace
from mm_orch.schemas import ChatTurn, UserRequest
from mm_orch.text_checks import check_identifier, check_text, check_tree


def _parsed(body: str) -> dict[str, object]:
    """What FastAPI hands to validation: Python's json.loads keeps lone surrogates."""
    data: dict[str, object] = json.loads(body)
    return data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (r'{"query": "What is DNA?", "request_id": "x\udfff"}', "request_id"),
        (r'{"query": "What is DNA?", "session_id": "\ud800"}', "session_id"),
        (r'{"query": "What is DNA?", "context": {"k": "\udc00"}}', r"context\.k"),
        (r'{"query": "What is DNA?", "context": {"k": [1, {"deep": "a\udbff"}]}}', r"context\.k\[1\]\.deep"),
        (r'{"query": "What is DNA?", "context": {"\ud800": 1}}', "a key of context"),
        (r'{"query": "What is DNA?", "documents": ["ok", "\udfff"]}', r"documents\[1\]"),
        (r'{"query": "What is DNA?", "workflow": "rag\udfff"}', "workflow"),
        (r'{"query": "What is DNA?", "history": [{"role": "user", "content": "\udfff"}]}', "content"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(body: str, field: str) -> None:
    with pytest.raises(ValidationError, match=rf"{field} holds a lone UTF-16 surrogate .*send UTF-8 text"):
        UserRequest.model_validate(_parsed(body))


def test_the_error_message_itself_is_valid_utf8() -> None:
    with pytest.raises(ValidationError) as info:
        UserRequest.model_validate(_parsed(r'{"query": "q", "context": {"a\ud800b": 1}}'))
    message = info.value.errors()[0]["msg"]
    message.encode("utf-8")  # would raise if the bad key leaked into the message
    assert "a key of context" in message


@pytest.mark.parametrize("value", ["a\nb", "tab\there", "nul\x00", "del\x7f"])
def test_ids_refuse_control_characters(value: str) -> None:
    with pytest.raises(ValidationError, match="request_id holds the control character U\\+00"):
        UserRequest(query="q", request_id=value)
    with pytest.raises(ValidationError, match="session_id holds the control character"):
        UserRequest(query="q", session_id=value)


def test_valid_text_passes_unchanged() -> None:
    request = UserRequest(
        query="Qu'est-ce que l'ADN ? 🧬",
        request_id="req-1:a/b",
        session_id="s-é",
        context={"nested": [{"emoji": "😀", "n": 1}], "unicode": "日本語"},
        history=[ChatTurn(role="user", content="line one\nline two")],
    )
    assert request.context["nested"][0]["emoji"] == "😀"
    assert check_text("ok", "f") == "ok"
    assert check_identifier("id-1", "f") == "id-1"
    assert check_tree({"a": ["b", {"c": "d"}]}, "f") == {"a": ["b", {"c": "d"}]}


def test_tracer_writes_a_record_holding_surrogates_instead_of_raising(tmp_path: Path) -> None:
    """Defence in depth: a record built by code (not the HTTP layer) can still hold a surrogate; the run's
    trace is kept with the bad characters replaced, and write() never raises for it."""
    trace = WorkflowTrace(
        trace_id="t-1", request_id="x\udfff", timestamp=1.0, workflow="search_qa", metadata={"k\ud800": "v"}
    )
    with Tracer(tmp_path / "traces.jsonl", parquet_dir=tmp_path / "pq") as tracer:
        tracer.write(trace)
        tracer.flush()
        stats = tracer.stats()
    assert stats.written == 1
    assert stats.dropped == 0
    assert stats.errors == 0
    line = json.loads((tmp_path / "traces.jsonl").read_text(encoding="utf-8"))
    assert line["request_id"] == "x\ufffd"
    assert line["metadata"] == {"k\ufffd": "v"}
    table = pq.read_table(next((tmp_path / "pq").glob("*.parquet")))
    assert table.column("request_id").to_pylist() == ["x\ufffd"]


def test_tracer_counts_an_unserialisable_record_as_dropped(tmp_path: Path) -> None:
    class Odd:
        pass

    trace = WorkflowTrace(trace_id="t-2", request_id="r", timestamp=1.0, workflow="w")
    object.__setattr__(trace, "metadata", {"odd": Odd()})  # bypasses validation, as a buggy caller could
    tracer = Tracer(tmp_path / "traces.jsonl", parquet=False)
    tracer.write(trace)  # must not raise: sink problems never fail the user's request
    assert tracer.stats().dropped == 1
    assert tracer.stats().errors == 1
    with pytest.raises(TracingError, match="could not be serialised"):
        tracer.close()
