from __future__ import annotations

import copy
import json
import pickle

import pytest

from mm_orch.exceptions import StateMutationError
from mm_orch.orchestration import ReadOnlyDict, ReadOnlyList, State
from mm_orch.orchestration.state import thaw


def test_values_are_frozen_on_write_and_compare_equal_to_plain_ones() -> None:
    raw = {"docs": {"u": ["a", "b"]}, "n": 1}
    state = State(raw)
    assert state["docs"] == {"u": ["a", "b"]}
    assert isinstance(state["docs"], dict)
    assert isinstance(state["docs"]["u"], list)
    assert type(state["docs"]) is ReadOnlyDict
    assert type(state["docs"]["u"]) is ReadOnlyList
    raw["docs"]["u"].append("c")  # the caller's object is not shared
    assert state["docs"]["u"] == ["a", "b"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__("x", 1),
        lambda d: d.update(x=1),
        lambda d: d.pop("u"),
        lambda d: d.setdefault("x", 1),
        lambda d: d.clear(),
        lambda d: d["u"].append("c"),
        lambda d: d["u"].extend(["c"]),
        lambda d: d["u"].sort(),
        lambda d: d["u"].__setitem__(0, "z"),
    ],
)
def test_mutating_a_state_value_raises_with_the_fix(mutate) -> None:  # type: ignore[no-untyped-def]
    state = State(docs={"u": ["b", "a"]})
    with pytest.raises(StateMutationError, match=r"read-only.*Copy it first"):
        mutate(state["docs"])
    assert state["docs"] == {"u": ["b", "a"]}


def test_copies_are_plain_and_mutable() -> None:
    state = State(docs={"u": [1]})
    mine = state["docs"].copy()
    mine["v"] = 2
    assert type(mine) is dict
    assert "v" not in state["docs"]
    deep = thaw(state["docs"])
    deep["u"].append(2)
    assert state["docs"]["u"] == [1]


def test_other_objects_are_copied_on_write_and_on_read() -> None:
    class Box:
        def __init__(self) -> None:
            self.items: list[int] = []

    box = Box()
    state = State(box=box)
    box.items.append(1)
    first = state["box"]
    first.items.append(2)
    assert state["box"].items == []


def test_merged_returns_a_new_state_and_leaves_the_old_one() -> None:
    old = State(a=1)
    new = old.merged({"b": [1]})
    assert dict(old) == {"a": 1}
    assert dict(new) == {"a": 1, "b": [1]}


def test_frozen_values_serialise_copy_and_pickle_cleanly() -> None:
    state = State(d={"k": [1, {"z": 2}]})
    assert json.loads(json.dumps(state["d"])) == {"k": [1, {"z": 2}]}
    assert copy.deepcopy(state["d"]) is state["d"]
    restored = pickle.loads(pickle.dumps(state["d"]))  # Ray moves state between processes this way
    assert restored == state["d"]
    assert type(restored) is ReadOnlyDict


def test_missing_key_error_lists_available_keys() -> None:
    with pytest.raises(KeyError, match=r"'nope' is not in the state; available keys: a, b"):
        State(a=1, b=2)["nope"]


def test_keys_must_be_strings() -> None:
    with pytest.raises(TypeError, match="state keys must be strings"):
        State({1: "x"})  # type: ignore[dict-item]
