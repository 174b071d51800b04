"""StepRegistry: the named steps graphs may use."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from mm_orch.exceptions import RegistrationError, StepNotFoundError, format_options
from mm_orch.orchestration.base_step import BaseStep, check_declared_keys

__all__ = ["StepRegistry"]


class StepRegistry:
    """Name -> step instance. ``register(step)``, ``register("name", step)`` or ``register(StepClass)``."""

    def __init__(self) -> None:
        self._steps: dict[str, BaseStep] = {}
        self._lock = threading.Lock()

    def register(
        self,
        name_or_step: str | BaseStep | type[BaseStep],
        step: BaseStep | type[BaseStep] | None = None,
        *,
        replace: bool = False,
    ) -> BaseStep:
        """Register a step under its own ``name`` or an explicit one; return the registered instance.

        Registering a second step under a taken name raises unless ``replace=True``.
        """
        if isinstance(name_or_step, str):
            if step is None:
                raise RegistrationError(
                    f"register({name_or_step!r}) needs the step too: register({name_or_step!r}, MyStep())"
                )
            name, target = name_or_step, step
        else:
            target, name = name_or_step, ""
        instance = target() if isinstance(target, type) else target
        if not isinstance(instance, BaseStep):
            raise RegistrationError(
                f"cannot register {instance!r}: steps must be BaseStep instances (subclass "
                f"mm_orch.orchestration.BaseStep, or wrap a plain function with LegacyWorkflowAdapter)"
            )
        check_declared_keys(instance, repr(instance))
        name = name or instance.step_name
        with self._lock:
            if name in self._steps and not replace and self._steps[name] is not instance:
                raise RegistrationError(
                    f"a step named {name!r} is already registered "
                    f"({self._steps[name]!r}); pass replace=True to swap it"
                )
            self._steps[name] = instance
        return instance

    def get(self, name: str) -> BaseStep:
        """The step registered as ``name``; StepNotFoundError lists the registered names."""
        try:
            return self._steps[name]
        except KeyError:
            raise StepNotFoundError(
                f"step {name!r} is not registered; registered steps: {format_options(self._steps)}"
            ) from None

    def unregister(self, name: str) -> None:
        with self._lock:
            self.get(name)
            del self._steps[name]

    def list_all(self) -> list[str]:
        """Registered step names, sorted."""
        return sorted(self._steps)

    def __contains__(self, name: object) -> bool:
        return name in self._steps

    def __iter__(self) -> Iterator[str]:
        return iter(self.list_all())

    def __len__(self) -> int:
        return len(self._steps)
