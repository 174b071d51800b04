"""Pushes what a :class:`~mm_orch.observability.metrics_store.MetricsStore` recorded to ``ray.util.metrics``.

Ray's metrics agent on each node serves every process's metrics on the node's Prometheus export port (the one
Serve's own metrics are on), under ``ray_`` + the metric's name. One ``ray.util.metrics`` call costs ~4-5 us here,
so the request path never makes one: a daemon thread wakes every ``interval_s``, takes the change of each series
since its last push, and records it -- a counter as one ``inc(delta)``, a histogram by replaying, per bucket
that grew, the new observations' mean (it falls inside that bucket, so the exported bucket counts are exact).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from mm_orch.observability.metrics_store import MetricsStore, MetricTable

__all__ = ["RayExporter"]

logger = logging.getLogger(__name__)

_Delta = tuple[MetricTable, dict[str, str], list[tuple[int, float]]]


class RayExporter:
    """Every ``interval_s``, records what changed in ``store`` through Ray's metrics API (daemon thread)."""

    def __init__(self, store: MetricsStore, interval_s: float) -> None:
        self.store = store
        self.interval_s = interval_s
        self._pushed: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        self._objects: dict[str, Any] = {}
        self._push_lock = threading.Lock()  # one push at a time: the thread, flush(), stop()
        self._stop = threading.Event()
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="mm-orch-metrics", daemon=True)
        self._thread.start()

    def deltas(self) -> list[_Delta]:
        """What changed since the last call, per series: ``(table, tags, [(count, value), ...])``."""
        out: list[_Delta] = []
        for table in self.store.tables():
            spec, w = table.spec, table.width
            for key, total in table.totals().items():
                before = self._pushed.get((spec.name, key))
                if before is None:
                    before = self._pushed[(spec.name, key)] = [0.0] * len(total)
                tags = dict(zip(spec.labels, key, strict=True))
                if spec.kind == "counter":
                    if total[0] > before[0]:
                        out.append((table, tags, [(1, total[0] - before[0])]))
                else:
                    grew = []
                    for i in range(w):
                        n = int(total[i] - before[i])
                        if n > 0:
                            grew.append((n, (total[w + i] - before[w + i]) / n))
                    if grew:
                        out.append((table, tags, grew))
                before[:] = total
        return out

    def push(self) -> int:
        """Record everything new through Ray now; returns how many series changed."""
        with self._push_lock:
            changed = self.deltas()
            for table, tags, points in changed:
                try:
                    metric = self._metric(table)
                    for count, value in points:
                        if table.spec.kind == "counter":
                            metric.inc(value, tags=tags)
                        else:
                            for _ in range(count):
                                metric.observe(value, tags=tags)
                except Exception as exc:  # noqa: BLE001 - Ray gone or refusing: keep serving, say so once
                    if not self._failed:
                        self._failed = True
                        logger.warning(
                            "pushing metric %s to Ray failed (%s: %s); metrics stay in-process",
                            table.spec.name,
                            type(exc).__name__,
                            exc,
                        )
            return len(changed)

    def stop(self) -> None:
        """Stop the thread and push what is left."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.push()

    def _metric(self, table: MetricTable) -> Any:
        spec = table.spec
        found = self._objects.get(spec.name)
        if found is None:
            from ray.util.metrics import Counter, Histogram

            if spec.kind == "counter":
                found = Counter(spec.name, spec.description, tag_keys=spec.labels)
            else:
                found = Histogram(spec.name, spec.description, boundaries=list(spec.buckets), tag_keys=spec.labels)
            self._objects[spec.name] = found
        return found

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.push()
