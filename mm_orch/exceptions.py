"""The one exception tree of mm-orch.

Every error the project raises on purpose derives from :class:`MMOrchError`. Messages say what failed, the
bad value, the allowed options where there are any, and how to fix it. Build-time errors (config,
registration) surface before any request runs; run-time errors (:class:`ExecutionError` and below) carry the
workflow, the node and, once the run has ended, its ``trace_id``. Branches defined beside the code that raises
them are listed with their module; ``tests/common/test_exceptions.py`` keeps this drawing complete.

::

    MMOrchError
    ├── ConfigError                     a config file or config value is invalid or missing
    ├── RegistrationError               build time: something could not be registered
    │   ├── StepNotFoundError           a graph names a step that is not registered
    │   ├── ToolNotFoundError           a tool name is not registered
    │   ├── ModelNotFoundError          a model name is not registered / configured
    │   └── WorkflowDefinitionError     a workflow graph or GraphNode is unsound (message names the fix)
    ├── WorkflowNotFoundError           a workflow name is not registered (lists the registered ones)
    ├── ExecutionError                  run time: a workflow run failed
    │   ├── StepExecutionError          a step raised, timed out or broke its contract
    │   │   ├── MissingInputError       a step's input keys are not in the state
    │   │   ├── StepOutputError         a step missed a declared output or wrote an undeclared key
    │   │   └── StepTimeoutError        a step ran past its timeout
    │   ├── StepInputError              (steps/common.py) a built-in step got a state value of the wrong shape
    │   ├── StateConflictError          two parallel branches wrote one key that has no merge rule
    │   ├── MergeError                  a key's merge rule could not combine two writes (names node and key)
    │   ├── StateMutationError          a step tried to mutate a value it read from the state
    │   ├── StateValueError             a value cannot be stored in the state (it cannot be copied)
    │   ├── LoopLimitError              a loop ran past its declared max_iterations
    │   └── RunCancelledError           the run was cancelled (its task was cancelled) before it finished
    ├── ModelError                      the model layer failed
    │   ├── ModelUnavailableError       a backend or its package is missing / unsupported on this machine
    │   ├── ModelLoadError              model files missing or corrupt, or the load ran out of memory
    │   ├── ModelRequestError           (mm_orch/models/errors.py) a malformed model call (bad message, argument)
    │   │   └── ContextLengthError      (mm_orch/models/errors.py) the prompt does not fit the context length
    │   ├── ModelOutputError            (mm_orch/models/errors.py) the output broke the requested contract
    │   └── SyncModelCallError          (serve/runtime.py) a blocking model call on a Serve replica's event loop
    ├── ToolError                       a tool (search, fetch, document store) failed
    │   ├── FetchBlockedError           a fetch target was refused by policy (private address, size, scheme)
    │   ├── FetchError                  (mm_orch/tools/errors.py) a fetch failed (url and status code)
    │   ├── SearchError                 (mm_orch/tools/errors.py) a search provider failed
    │   └── CollectionNotFoundError     (mm_orch/tools/errors.py) no such document collection (lists them)
    ├── RoutingError                    a router could not decide (every router in the chain failed)
    │   └── RouterTrainingError         (mm_orch/routing/model.py) too few rows or workflows to train on
    ├── TracingError                    a trace could not be written or read
    │   └── NoTracesError               (mm_orch/reporting/data.py) the folder holds no Parquet traces
    └── ApiError                        (serve/errors.py) an HTTP error: status, stable code, the fix
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "ExecutionError",
    "FetchBlockedError",
    "LoopLimitError",
    "MMOrchError",
    "MergeError",
    "MissingInputError",
    "ModelError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "RegistrationError",
    "RoutingError",
    "RunCancelledError",
    "StateConflictError",
    "StateMutationError",
    "StateValueError",
    "StepExecutionError",
    "StepNotFoundError",
    "StepOutputError",
    "StepTimeoutError",
    "ToolError",
    "ToolNotFoundError",
    "TracingError",
    "WorkflowDefinitionError",
    "WorkflowNotFoundError",
    "format_options",
]


def format_options(options: Iterable[str]) -> str:
    """Render a list of valid choices for an error message: ``'a', 'b', 'c'`` or ``(none)``."""
    names = sorted(options)
    return ", ".join(repr(n) for n in names) if names else "(none)"


class MMOrchError(Exception):
    """Root of every error mm-orch raises on purpose."""


class ConfigError(MMOrchError):
    """A configuration file or value is invalid or missing."""


class RegistrationError(MMOrchError):
    """Something could not be registered (build-time error)."""


class StepNotFoundError(RegistrationError, KeyError):
    """A step name is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ToolNotFoundError(RegistrationError, KeyError):
    """A tool name is not registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelNotFoundError(RegistrationError, KeyError):
    """A model name is not registered or configured."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class WorkflowDefinitionError(RegistrationError, ValueError):
    """A workflow graph is unsound; the message says which rule failed and how to fix it."""


class WorkflowNotFoundError(MMOrchError, KeyError):
    """A workflow name is not registered; the message lists the registered workflows."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ExecutionError(MMOrchError):
    """A workflow run failed (run-time error).

    Carries ``workflow`` (may be ``None`` for ad-hoc graphs), ``node`` where known, and the ``trace_id`` of
    the failed run once the executor has finished with it.
    """

    trace_id: str | None = None

    def __init__(self, message: str, *, workflow: str | None = None, node: str | None = None) -> None:
        super().__init__(message)
        self.workflow = workflow
        self.node = node


class StepExecutionError(ExecutionError, RuntimeError):
    """A step failed. ``str(err)`` starts with ``Step '<name>' failed`` as the migration guide documents.

    Attributes: ``workflow``, ``node``, ``step`` and ``cause`` (the original exception, also ``__cause__``).
    """

    def __init__(
        self,
        message: str,
        *,
        step: str,
        workflow: str | None = None,
        node: str | None = None,
        cause: BaseException | None = None,
    ) -> None:
        where = f" (workflow {workflow!r}, node {node!r})" if workflow else f" (node {node!r})" if node else ""
        super().__init__(f"Step {step!r} failed{where}: {message}", workflow=workflow, node=node)
        self.step = step
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause


class MissingInputError(StepExecutionError):
    """A step's declared input keys are absent from the state. ``missing`` lists them."""

    def __init__(self, message: str, *, missing: list[str], **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.missing = missing


class StepOutputError(StepExecutionError):
    """A step did not produce a declared output key or wrote a key it did not declare."""


class StepTimeoutError(StepExecutionError, TimeoutError):
    """A step ran past its per-step timeout (after all retries)."""


class StateConflictError(ExecutionError):
    """Two branches running in parallel wrote the same key and that key has no merge rule."""


class MergeError(ExecutionError):
    """A key's merge rule failed to combine two writes (e.g. 'merge' of a list); names the node and the key."""


class StateMutationError(ExecutionError, TypeError):
    """A step tried to modify a value it read from the state; state values are read-only."""


class StateValueError(ExecutionError, TypeError):
    """A value cannot be stored in the state: it is neither plain data nor copyable (a lock, a generator)."""


class LoopLimitError(ExecutionError):
    """A node was entered more often than its declared ``max_iterations`` and has no ``loop_exit``."""


class RunCancelledError(ExecutionError):
    """The run stopped early because it was cancelled: the task awaiting ``GraphExecutor.arun`` was cancelled,
    or (inside a step) the call's cancel token was set because its timeout passed or its run was cancelled."""


class ModelError(MMOrchError):
    """The model layer failed."""


class ModelUnavailableError(ModelError):
    """A model backend cannot run here: a package is missing or the hardware is unsupported."""


class ModelLoadError(ModelError):
    """Model files are missing or corrupt, or loading ran out of memory."""


class ToolError(MMOrchError):
    """A tool (search, fetch, document store) failed."""


class FetchBlockedError(ToolError):
    """A fetch target was refused by policy (private address, scheme, size or redirect limits)."""


class RoutingError(MMOrchError):
    """No router in the configured chain could decide."""


class TracingError(MMOrchError):
    """A trace record could not be written or read."""
