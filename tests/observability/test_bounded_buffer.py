"""The bounded hand-off between request threads and the Parquet writer: bound, drop, block, close."""

from __future__ import annotations

import threading

import pytest

from mm_orch.exceptions import TracingError
from mm_orch.observability.bounded_buffer import BoundedBuffer


def test_drop_mode_keeps_capacity_and_counts_drops() -> None:
    buf: BoundedBuffer[int] = BoundedBuffer(5, on_full="drop")
    accepted = [buf.put(i) for i in range(12)]
    assert accepted == [True] * 5 + [False] * 7
    assert buf.dropped == 7
    assert len(buf) == 5
    assert buf.high_water == 5
    assert buf.take(timeout=0) == [0, 1, 2, 3, 4]
    assert buf.put(99) is True


def test_block_mode_waits_for_room_then_proceeds() -> None:
    buf: BoundedBuffer[int] = BoundedBuffer(3, on_full="block")
    for i in range(3):
        buf.put(i)
    done = threading.Event()

    def producer() -> None:
        buf.put(3)
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    assert not done.wait(0.2)  # still blocked: the buffer is full
    assert buf.take(timeout=0) == [0, 1, 2]
    assert done.wait(5)
    thread.join()
    assert buf.take(timeout=0) == [3]
    assert buf.dropped == 0


def test_close_wakes_blocked_producers_with_an_error() -> None:
    buf: BoundedBuffer[int] = BoundedBuffer(1, on_full="block")
    buf.put(0)
    errors: list[BaseException] = []

    def producer() -> None:
        try:
            buf.put(1)
        except TracingError as err:
            errors.append(err)

    thread = threading.Thread(target=producer)
    thread.start()
    thread.join(0.1)
    buf.close()
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert "closed" in str(errors[0])
    assert buf.take(timeout=0) == [0]  # what was accepted stays takeable
    with pytest.raises(TracingError, match="buffer is closed"):
        buf.put(2)


def test_take_waits_for_a_batch_or_returns_on_timeout() -> None:
    buf: BoundedBuffer[int] = BoundedBuffer(100, batch_hint=10)
    buf.put(1)
    assert buf.take(timeout=0.01) == [1]  # timeout: returns what is there
    assert buf.take(timeout=0.01) == []
    buf.wake()
    assert buf.take(timeout=None) == []  # a wake makes take return at once


def test_bound_holds_under_concurrent_producers() -> None:
    buf: BoundedBuffer[int] = BoundedBuffer(64, on_full="block", batch_hint=16)
    n_producers, per_producer = 8, 2000
    taken: list[int] = []
    stop = threading.Event()

    def consumer() -> None:
        while not stop.is_set() or len(buf):
            taken.extend(buf.take(timeout=0.01))

    def producer(k: int) -> None:
        for i in range(per_producer):
            buf.put(k * per_producer + i)

    c = threading.Thread(target=consumer)
    c.start()
    producers = [threading.Thread(target=producer, args=(k,)) for k in range(n_producers)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    stop.set()
    c.join()
    assert sorted(taken) == list(range(n_producers * per_producer))
    assert buf.high_water <= 64


def test_capacity_must_be_positive() -> None:
    with pytest.raises(TracingError, match="capacity must be >= 1, got 0"):
        BoundedBuffer(0)
