"""Small steps for engine tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from mm_orch.orchestration import BaseStep, State
from mm_orch.registries import StepRegistry


class KeyStep(BaseStep):
    """Reads ``reads``; writes each of ``writes`` as "<name>(<values read>)"; appends its name to ``log``."""

    def __init__(
        self,
        name: str,
        reads: Sequence[str] = (),
        writes: Sequence[str] = (),
        log: list[str] | None = None,
        optional_writes: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.input_keys = tuple(reads)
        self.output_keys = tuple(writes)
        self.optional_output_keys = tuple(optional_writes)
        self.log = log if log is not None else []

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        self.log.append(self.name)
        value = f"{self.name}({','.join(str(state[r]) for r in self.input_keys)})"
        return {k: value for k in self.output_keys}


class AsyncKeyStep(KeyStep):
    async def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        await asyncio.sleep(0)
        return super().execute(state, runtime)


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def registry() -> StepRegistry:
    return StepRegistry()


@pytest.fixture
def step_types() -> tuple[type[KeyStep], type[AsyncKeyStep]]:
    """(KeyStep, AsyncKeyStep) for tests that build their own steps."""
    return KeyStep, AsyncKeyStep
