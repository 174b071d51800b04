"""A bounded many-producer / one-consumer hand-off that the consumer drains in batches.

Why not :class:`queue.Queue`: the consumer wants everything waiting in one call (one Arrow conversion per batch)
and producers should pay one uncontended lock per item, with the consumer woken only once a batch has built up.
``queue.Queue`` wakes the consumer on every put and hands items over one at a time.
"""

from __future__ import annotations

import threading
from typing import Generic, Literal, TypeVar

from mm_orch.exceptions import TracingError

__all__ = ["BoundedBuffer"]

T = TypeVar("T")


class BoundedBuffer(Generic[T]):
    """Holds at most ``capacity`` items. When full, :meth:`put` waits (``"block"``) or drops (``"drop"``)."""

    def __init__(self, capacity: int, *, on_full: Literal["block", "drop"] = "block", batch_hint: int = 1) -> None:
        if capacity < 1:
            raise TracingError(f"BoundedBuffer capacity must be >= 1, got {capacity}.")
        self.capacity = capacity
        self.on_full = on_full
        self.batch_hint = max(1, min(batch_hint, capacity))
        self.dropped = 0
        self.high_water = 0
        self._items: list[T] = []
        self._closed = False
        self._wake = False
        lock = threading.Lock()
        self._not_empty = threading.Condition(lock)
        self._not_full = threading.Condition(lock)

    def put(self, item: T) -> bool:
        """Add ``item``; returns False when it was dropped because the buffer was full (``"drop"`` mode).

        Raises :class:`TracingError` once the buffer is closed (also when closed while waiting for room).
        """
        with self._not_full:
            while len(self._items) >= self.capacity:
                if self._closed:
                    break
                if self.on_full == "drop":
                    self.dropped += 1
                    return False
                self._not_full.wait()
            if self._closed:
                raise TracingError("The trace buffer is closed; the tracer was closed. Create a new Tracer.")
            self._items.append(item)
            n = len(self._items)
            if n > self.high_water:
                self.high_water = n
            if n == self.batch_hint:
                self._not_empty.notify()
            return True

    def take(self, timeout: float | None = None) -> list[T]:
        """Wait until a batch has built up, :meth:`wake` or :meth:`close` was called, or ``timeout`` passed;
        then return everything waiting (possibly nothing) and make room for producers."""
        with self._not_empty:
            if len(self._items) < self.batch_hint and not self._closed and not self._wake:
                self._not_empty.wait(timeout)
            self._wake = False
            items, self._items = self._items, []
            if items:
                self._not_full.notify_all()
            return items

    def wake(self) -> None:
        """Make the current or next :meth:`take` return at once."""
        with self._not_empty:
            self._wake = True
            self._not_empty.notify()

    def close(self) -> None:
        """Refuse further puts (waiting producers raise) and wake the consumer; items already in stay takeable."""
        with self._not_empty:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __len__(self) -> int:
        return len(self._items)
