"""StepRegistry: the named steps graphs may use."""

from __future__ import annotations

from mm_orch.exceptions import RegistrationError, StepNotFoundError
from mm_orch.orchestration.base_step import BaseStep, check_declared_keys
from mm_orch.registries.base import Registry

__all__ = ["StepRegistry"]


class StepRegistry(Registry[BaseStep]):
    """Name -> step instance. ``register(step)``, ``register("name", step)`` or ``register(StepClass)``."""

    kind = "step"
    not_found_error = StepNotFoundError
    register_hint = "Register it with step_registry.register(MyStep()) or fix the step name"

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
        # Registering the very same instance again (a step listed by two sources) is a no-op, not a clash.
        return self._store(name, instance, replace=replace or self._items.get(name) is instance)
