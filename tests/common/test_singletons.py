"""mm_orch.singletons.ProcessSingleton: built once, replaceable, resettable."""

from __future__ import annotations

import threading
import time

from mm_orch.singletons import ProcessSingleton


class Thing:
    built = 0

    def __init__(self) -> None:
        time.sleep(0.01)  # widen the race window
        Thing.built += 1
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_many_threads_get_one_instance() -> None:
    Thing.built = 0
    single = ProcessSingleton(Thing)
    got: list[Thing] = []
    threads = [threading.Thread(target=lambda: got.append(single.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Thing.built == 1
    assert all(g is got[0] for g in got)


def test_set_returns_the_previous_and_reset_closes() -> None:
    single = ProcessSingleton(Thing, close=Thing.close)
    assert single.peek() is None
    first = single.get()
    other = Thing()
    assert single.set(other) is first
    assert not first.closed
    assert single.get() is other
    single.reset()
    assert other.closed
    assert single.peek() is None
    assert single.get() is not other


def test_a_factory_given_to_get_or_set_factory_builds_the_next_instance() -> None:
    single: ProcessSingleton[str] = ProcessSingleton(lambda: "default")
    assert single.get(lambda: "custom") == "custom"
    assert single.get(lambda: "ignored: already built") == "custom"
    single.set(None)
    single.set_factory(lambda: "replaced")
    assert single.get() == "replaced"
