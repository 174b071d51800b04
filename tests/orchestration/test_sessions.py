from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch.exceptions import ConfigError
from mm_orch.orchestration import SessionStore


def test_history_is_bounded_and_persists_across_stores(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    store = SessionStore(max_turns=3, path=path)
    for i in range(4):
        store.append("s1", "user", f"q{i}")
    store.append("s2", "assistant", "hello")
    assert [t.content for t in store.history("s1")] == ["q1", "q2", "q3"]
    reloaded = SessionStore(max_turns=3, path=path)  # a new process reading the same file
    assert [t.content for t in reloaded.history("s1")] == ["q1", "q2", "q3"]
    assert reloaded.history("s2")[0].role == "assistant"
    assert reloaded.history("unknown") == []


def test_least_recently_used_sessions_are_dropped() -> None:
    store = SessionStore(max_sessions=2)
    store.append("a", "user", "1")
    store.append("b", "user", "2")
    store.append("a", "user", "3")  # a is now the most recent
    store.append("c", "user", "4")
    assert store.history("b") == []
    assert len(store) == 2
    assert len(store.history("a")) == 2


def test_a_corrupt_session_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text('{"session_id": "s", "role": "user", "content": "hi"}\nnot json\n')
    with pytest.raises(ConfigError, match=r"chat.jsonl:2 is not a valid session line"):
        SessionStore(path=path)
    with pytest.raises(ConfigError, match="must be >= 1"):
        SessionStore(max_turns=0)
