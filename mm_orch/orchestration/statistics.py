"""Running statistics of an orchestrator: requests, success rate and latency per workflow."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from statistics import median
from typing import Any

__all__ = ["RunStatistics"]


class RunStatistics:
    """Thread-safe counters; latency percentiles over the last ``window`` runs of each workflow."""

    def __init__(self, window: int = 1000) -> None:
        self._lock = threading.Lock()
        self._window = window
        self.requests = 0
        self.fallbacks = 0
        self._runs: dict[str, int] = defaultdict(int)
        self._ok: dict[str, int] = defaultdict(int)
        self._latency: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=self._window))
        self._by_phase: dict[str, int] = defaultdict(int)

    def record(
        self, workflow: str, *, success: bool, latency_ms: float, phase: str, fallback: bool = False
    ) -> None:
        with self._lock:
            self.requests += 1
            self.fallbacks += int(fallback)
            self._runs[workflow] += 1
            self._ok[workflow] += int(success)
            self._latency[workflow].append(latency_ms)
            self._by_phase[phase] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{requests, fallbacks, success_rate, by_phase, workflows: {name: {runs, ..., p50_ms, p95_ms}}}``."""
        with self._lock:
            workflows = {}
            for name, runs in sorted(self._runs.items()):
                lat = sorted(self._latency[name])
                workflows[name] = {
                    "runs": runs,
                    "successes": self._ok[name],
                    "failures": runs - self._ok[name],
                    "success_rate": self._ok[name] / runs,
                    "latency_p50_ms": median(lat) if lat else None,
                    "latency_p95_ms": lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else None,
                }
            total_ok = sum(self._ok.values())
            return {
                "requests": self.requests,
                "fallbacks": self.fallbacks,
                "success_rate": total_ok / self.requests if self.requests else None,
                "by_phase": dict(self._by_phase),
                "workflows": workflows,
            }
