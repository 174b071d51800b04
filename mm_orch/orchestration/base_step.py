"""BaseStep: the unit of work a graph node runs.

A step declares what it reads (``input_keys``, plus ``optional_input_keys`` it reads when present) and what
it writes (``output_keys``, plus ``optional_output_keys`` it may write). ``execute(state, runtime)`` returns a
dict of updates; it may be a plain function or ``async def``. The executor checks the declaration on every
call: inputs present before, every declared output produced after, nothing undeclared written.

Constructors stay cheap; heavy preparation (loading a model, building an index) belongs in ``warm_up``,
which a Serve replica calls once and the executor never calls on the hot path.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from mm_orch.orchestration.state import State

__all__ = ["BaseStep", "check_declared_keys"]

_KEY_ATTRS = ("input_keys", "output_keys", "optional_input_keys", "optional_output_keys")


def check_declared_keys(step: Any, label: str) -> None:
    """Refuse key declarations that are not sequences of strings (a bare string is the usual slip)."""
    for attr in _KEY_ATTRS:
        value = getattr(step, attr, ())
        if isinstance(value, property):  # declared per instance; checked again when registered
            continue
        if isinstance(value, str):
            raise TypeError(
                f"{label}.{attr} must be a list of state key names, not a string; write {attr} = [{value!r}]"
            )
        if not isinstance(value, list | tuple | frozenset | set) or not all(isinstance(k, str) for k in value):
            raise TypeError(f"{label}.{attr} must be a list of strings, got {value!r}")


class BaseStep:
    """Subclass, set the class attributes, implement :meth:`execute`.

    Class attributes (all optional except ``name`` for a step you register):

    - ``name``: registry name, unique in a StepRegistry.
    - ``input_keys`` / ``output_keys``: required reads / guaranteed writes.
    - ``optional_input_keys`` / ``optional_output_keys``: reads-if-present / may-write.
    - ``model_name``: the model this step asks the runtime's model manager for (``"default"`` = the
      configured default generator).
    - ``timeout_s``, ``retries``, ``retry_backoff_s``, ``fallback_step``: run policy; a GraphNode may override.
    - ``required_capabilities``: capabilities the runtime must offer (e.g. ``"search"``, ``"generate"``).
    - ``run_in_thread``: run a blocking synchronous ``execute`` in a worker thread under the async executor.
    """

    name: str = ""
    description: str = ""
    input_keys: Sequence[str] = ()
    output_keys: Sequence[str] = ()
    optional_input_keys: Sequence[str] = ()
    optional_output_keys: Sequence[str] = ()
    required_capabilities: Sequence[str] = ()
    model_name: str = "default"
    timeout_s: float | None = None
    retries: int = 0
    retry_backoff_s: float = 0.05
    fallback_step: str | None = None
    run_in_thread: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_declared_keys(cls, cls.__name__)

    @property
    def is_async(self) -> bool:
        """True when :meth:`execute` is a coroutine function."""
        return inspect.iscoroutinefunction(self.execute)

    @property
    def step_name(self) -> str:
        """The step's name (``name``, or the class name when ``name`` is unset)."""
        return self.name or type(self).__name__

    @property
    def reads(self) -> frozenset[str]:
        """Every key the step may read."""
        return frozenset(self.input_keys) | frozenset(self.optional_input_keys)

    @property
    def writes(self) -> frozenset[str]:
        """Every key the step may write."""
        return frozenset(self.output_keys) | frozenset(self.optional_output_keys)

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any] | Awaitable[Mapping[str, Any]]:
        """Do the work: read from ``state``, return ``{output_key: value, ...}``. May be ``async def``."""
        raise NotImplementedError(f"step {self.step_name!r} ({type(self).__name__}) must implement execute()")

    def warm_up(self, runtime: Any) -> None:
        """Load whatever is heavy (models, indexes) ahead of the first request. Default: nothing."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.step_name!r}, inputs={list(self.input_keys)}, "
            f"outputs={list(self.output_keys)})"
        )
