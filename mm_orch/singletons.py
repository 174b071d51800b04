"""The one process-singleton helper: a lazily built, thread-safe, replaceable instance per process.

::

    _manager = ProcessSingleton(ModelManager.from_config, close=ModelManager.close, close_at_exit=True)

    def get_model_manager() -> ModelManager:
        return _manager.get()

``get()`` builds the instance on first call (once, however many threads ask), ``set(value)`` installs another
one and returns the previous, ``reset()`` closes and forgets the current one so the next ``get()`` builds
afresh.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ProcessSingleton"]

T = TypeVar("T")


class ProcessSingleton(Generic[T]):
    """One instance of ``T`` per process, built by ``factory`` on first use."""

    def __init__(
        self,
        factory: Callable[[], T],
        *,
        close: Callable[[T], object] | None = None,
        close_at_exit: bool = False,
    ) -> None:
        self._factory = factory
        self._close = close
        self._value: T | None = None
        self._lock = threading.RLock()
        if close_at_exit:
            atexit.register(self._close_current)

    def get(self, factory: Callable[[], T] | None = None) -> T:
        """The instance, built now by ``factory`` (default: the one given at construction) if there is none."""
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = (factory or self._factory)()
            return self._value

    def peek(self) -> T | None:
        """The instance if one was built or set, else None (builds nothing)."""
        return self._value

    def set(self, value: T | None) -> T | None:
        """Install ``value`` (None: build afresh on the next get) and return the previous instance, unclosed."""
        with self._lock:
            previous, self._value = self._value, value
        return previous

    def set_factory(self, factory: Callable[[], T]) -> None:
        """Build future instances with ``factory`` (the current instance, if any, stays until reset)."""
        with self._lock:
            self._factory = factory

    def reset(self) -> None:
        """Close (when a ``close`` was given) and forget the instance; the next get builds a fresh one."""
        previous = self.set(None)
        if previous is not None and self._close is not None:
            self._close(previous)

    def _close_current(self) -> None:
        if self._value is not None and self._close is not None:
            self._close(self._value)
