"""Cooperative cancellation for steps, and the threads that run blocking steps.

Python cannot stop a thread from outside. So when the executor gives up on a synchronous step running in a
worker thread — its ``timeout_s`` passed, or the task running the whole run was cancelled — it *cancels that
call's token*, and a long-running step (or a model backend) that checks its token stops early::

    from mm_orch.orchestration.cancellation import raise_if_cancelled

    for chunk in chunks:
        raise_if_cancelled()          # RunCancelledError once the executor has given up on this call
        ...

Each such call runs on a thread of its own (a daemon, outside any pool), never on a fixed-size pool: a step that
ignores its token delays nobody else, cannot fill a pool, and does not block interpreter exit.
:func:`abandoned_threads` counts the threads still running after the executor gave up on them.

Steps called inline (no timeout, not ``run_in_thread``) have no token: ``current_token()`` is None there.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from mm_orch.exceptions import RunCancelledError

__all__ = ["CancelToken", "ThreadCall", "abandoned_threads", "current_token", "raise_if_cancelled"]

T = TypeVar("T")
log = logging.getLogger(__name__)

_current: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar("mm_orch_cancel_token", default=None)
_abandoned = 0
_abandoned_lock = threading.Lock()
_thread_ids = itertools.count(1)


class CancelToken:
    """Set once, by whoever gave up on a call; read by the call itself."""

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str) -> None:
        """Ask the call to stop; ``reason`` says why (it becomes the RunCancelledError message)."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` seconds pass; True when cancelled (an interruptible sleep)."""
        return self._event.wait(timeout)


def current_token() -> CancelToken | None:
    """The token of the step call running in this thread, or None outside a threaded step call."""
    return _current.get()


def raise_if_cancelled() -> None:
    """Raise :class:`~mm_orch.exceptions.RunCancelledError` when the current call's token is cancelled."""
    token = _current.get()
    if token is not None and token.cancelled:
        raise RunCancelledError(f"the executor gave up on this call: {token.reason}; stop and return")


def abandoned_threads() -> int:
    """Step threads still running after the executor stopped waiting for them (they end when their step does)."""
    return _abandoned


class ThreadCall:
    """One call of ``fn(*args)`` on a fresh daemon thread, with its own :class:`CancelToken`.

    ``future`` completes with the call's result or exception. The caller's context variables are copied into
    the thread, with the token set, so ``current_token()`` inside ``fn`` is this call's token.
    """

    __slots__ = ("_done", "_given_up", "future", "token")

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "step") -> None:
        self.token = CancelToken()
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._given_up = False
        self._done = threading.Event()
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(self._target, fn, args),
            name=f"mm-orch-{name}-{next(_thread_ids)}",
            daemon=True,
        )
        thread.start()

    def _target(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        _current.set(self.token)
        try:
            if not self.future.set_running_or_notify_cancel():  # the waiter left before the thread started
                return
            result = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - carried to the waiting thread, which re-raises it
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)
        finally:
            global _abandoned
            with _abandoned_lock:
                self._done.set()
                if self._given_up:
                    _abandoned -= 1

    def result(self, timeout: float | None) -> Any:
        """Wait up to ``timeout`` seconds (None: forever); TimeoutError when the call is still running."""
        return self.future.result(timeout)

    def give_up(self, reason: str) -> None:
        """Stop waiting: cancel the token; a thread still running is counted in :func:`abandoned_threads`."""
        global _abandoned
        self.token.cancel(reason)
        with _abandoned_lock:
            if self._given_up or self._done.is_set():
                return
            self._given_up = True
            _abandoned += 1
        log.warning("a step thread is still running after the executor gave up on it (%s)", reason)
