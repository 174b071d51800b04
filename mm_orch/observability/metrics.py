"""Live metrics: the one place metric names, label sets and buckets are defined, and the calls that record them.

Every metric is a :class:`MetricSpec` in :data:`METRICS`; code records through the functions at the bottom of
this module (``record_run``, ``record_step``, ``record_route``, ...), never through a metric object, so names and
labels cannot drift. Names follow Prometheus conventions: the unit in the name (``_seconds``), ``_total`` on
counters, and bounded label sets -- a query, session, request or trace id is never a label, and each metric
keeps at most :data:`MAX_SERIES` label combinations (later ones are counted under ``other``).

Three modes (:func:`enable`, :func:`disable`, ``MM_ORCH_METRICS=off|local|ray|auto``):

``off``
    Every call returns at once (a function call and one test of a module global). The default outside Ray.
``local``
    In-process aggregation (:mod:`.metrics_store`), read back with :func:`snapshot`. Tests, the CLI and
    benchmarks use it; nothing leaves the process.
``ray``
    ``local`` plus a daemon thread (:mod:`.metrics_ray`) that every ``interval_s`` pushes what changed to
    ``ray.util.metrics``. Ray's metrics agent exports it on each node's Prometheus endpoint (beside Serve's own
    metrics) under the name Ray gives it: ``ray_`` + the name here, e.g. ``ray_mm_orch_router_decisions_total``
    (:attr:`MetricSpec.exported_name`). ``auto`` (the default) picks ``ray`` inside a Ray worker process (a Serve
    replica, an actor, a task) and ``off`` everywhere else.

Why aggregate first instead of calling Ray's metric objects directly: one ``ray.util.metrics`` call costs ~4-5 us
here, and a 5-step run records six values, more than the whole executor budget (25 us). Recording into a local
bucket array costs well under 1 us; the flush thread pays Ray's price off the request path. Requests, runs,
steps and model calls are histograms whose ``_count`` counts the events (one record per event answers both
"how many, by outcome" and "how long"). Ray's histogram records the midpoint of a bucket into ``_sum``, so a mean
computed from ``_sum / _count`` is approximate; use ``histogram_quantile`` over ``_bucket`` for latency.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Literal

from mm_orch.exceptions import ConfigError, RunCancelledError, StepTimeoutError
from mm_orch.observability.metrics_ray import RayExporter
from mm_orch.observability.metrics_store import MAX_SERIES, MetricsSnapshot, MetricsStore, MetricTable

__all__ = [
    "MAX_SERIES",
    "METRICS",
    "MetricSpec",
    "MetricsSnapshot",
    "count_feedback",
    "count_trace_drops",
    "count_trace_rows",
    "decision_source",
    "disable",
    "enable",
    "flush",
    "mode",
    "record_decision",
    "record_model_call",
    "record_request",
    "record_route",
    "record_run",
    "record_step",
    "recording",
    "reset",
    "run_outcome",
    "snapshot",
]

logger = logging.getLogger(__name__)

Mode = Literal["off", "local", "ray"]

# Seconds. Steps and runs of the embedded CPU defaults span ~1 ms (rules, caches) to a minute (a lesson pack).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
RATIO_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)

#: Closed vocabularies: a value outside its set is recorded as ``other`` (keeps series bounded and queries exact).
OUTCOMES = frozenset({"success", "error", "timeout", "client_error", "rejected", "cancelled"})
STEP_OUTCOMES = frozenset({"success", "error", "fallback"})
ROUTER_SOURCES = frozenset(
    {"model", "rules", "abstention", "lm_second_opinion", "fallback", "forced", "session", "hint", "default"}
)
TOKEN_DIRECTIONS = frozenset({"input", "output"})
FEEDBACK_SOURCES = frozenset({"http", "cli", "python"})
FEEDBACK_RATINGS = frozenset({"positive", "negative", "neutral"})
TRACE_SINKS = frozenset({"jsonl", "parquet"})
DROP_REASONS = frozenset({"queue_full", "write_error", "invalid_record"})


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: its name (as given to Ray), kind, help text, label names and, for histograms, buckets."""

    name: str
    kind: Literal["counter", "histogram"]
    description: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()
    #: label -> allowed values; labels not named here take any (bounded, cut) value.
    vocab: tuple[tuple[str, frozenset[str]], ...] = ()

    @property
    def exported_name(self) -> str:
        """The name on Ray's Prometheus endpoint (Ray prefixes custom metrics with ``ray_``)."""
        return f"ray_{self.name}"

    def series_names(self) -> tuple[str, ...]:
        """Every Prometheus series name this metric exports (a histogram has _bucket, _sum and _count)."""
        base = self.exported_name
        if self.kind == "histogram":
            return (f"{base}_bucket", f"{base}_sum", f"{base}_count")
        return (base,)


def _counter(name: str, description: str, labels: tuple[str, ...], **vocab: frozenset[str]) -> MetricSpec:
    assert name.endswith("_total"), name
    return MetricSpec(name, "counter", description, labels, vocab=tuple(vocab.items()))


def _histogram(
    name: str, description: str, labels: tuple[str, ...], buckets: tuple[float, ...], **vocab: frozenset[str]
) -> MetricSpec:
    assert not name.endswith("_total"), name
    return MetricSpec(name, "histogram", description, labels, buckets, tuple(vocab.items()))


# Requests, runs, steps and model calls are histograms whose ``_count`` is the number of events: one record per
# event (the cheap path) still answers "how many, by outcome" (rate of ``_count``) and "how long" (``_bucket``).
REQUEST_DURATION = _histogram(
    "mm_orch_request_duration_seconds",
    "Ingress requests by endpoint, workflow that ran ('none' when none did) and outcome: wall time from arrival "
    "to response, seconds (_count: requests).",
    ("endpoint", "workflow", "outcome"),
    LATENCY_BUCKETS,
    outcome=OUTCOMES,
)
WORKFLOW_DURATION = _histogram(
    "mm_orch_workflow_duration_seconds",
    "Workflow graph runs by workflow and outcome: wall time, seconds (_count: runs).",
    ("workflow", "outcome"),
    LATENCY_BUCKETS,
    outcome=OUTCOMES,
)
STEP_DURATION = _histogram(
    "mm_orch_step_duration_seconds",
    "Node executions by workflow, step and outcome ('fallback' when the node's fallback step answered): wall "
    "time including retries, seconds (_count: executions).",
    ("workflow", "step", "outcome"),
    LATENCY_BUCKETS,
    outcome=STEP_OUTCOMES,
)
ROUTER_DECISIONS = _counter(
    "mm_orch_router_decisions_total",
    "Routing decisions by router version, decision source (model, rules, abstention, lm_second_opinion, "
    "fallback, forced, session, hint, default) and chosen workflow.",
    ("router", "source", "workflow"),
    source=ROUTER_SOURCES,
)
ROUTER_CONFIDENCE = _histogram(
    "mm_orch_router_confidence_ratio",
    "Confidence of routing decisions (0..1), by router version and source.",
    ("router", "source"),
    RATIO_BUCKETS,
    source=ROUTER_SOURCES,
)
MODEL_DURATION = _histogram(
    "mm_orch_model_request_duration_seconds",
    "Generation calls by model and outcome: wall time, seconds (_count: calls).",
    ("model", "outcome"),
    LATENCY_BUCKETS,
    outcome=OUTCOMES,
)
MODEL_TOKENS = _counter(
    "mm_orch_model_tokens_total",
    "Tokens through generation calls, by model and direction (input: prompt, output: generated).",
    ("model", "direction"),
    direction=TOKEN_DIRECTIONS,
)
MODEL_TTFT = _histogram(
    "mm_orch_model_time_to_first_token_seconds",
    "Time from a generation call to its first token, seconds.",
    ("model",),
    TTFT_BUCKETS,
)
TRACE_ROWS_WRITTEN = _counter(
    "mm_orch_trace_rows_written_total",
    "Trace records written, by sink (jsonl: appended lines; parquet: rows in published files).",
    ("sink",),
    sink=TRACE_SINKS,
)
TRACE_ROWS_DROPPED = _counter(
    "mm_orch_trace_rows_dropped_total",
    "Trace records lost, by sink and reason (queue_full, write_error, invalid_record).",
    ("sink", "reason"),
    sink=TRACE_SINKS,
    reason=DROP_REASONS,
)
FEEDBACK_RECEIVED = _counter(
    "mm_orch_feedback_received_total",
    "Feedback records stored, by source (http, cli, python) and rating (positive, negative, neutral).",
    ("source", "rating"),
    source=FEEDBACK_SOURCES,
    rating=FEEDBACK_RATINGS,
)

#: Every metric mm-orch exports, by name.
METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        REQUEST_DURATION,
        WORKFLOW_DURATION,
        STEP_DURATION,
        ROUTER_DECISIONS,
        ROUTER_CONFIDENCE,
        MODEL_DURATION,
        MODEL_TOKENS,
        MODEL_TTFT,
        TRACE_ROWS_WRITTEN,
        TRACE_ROWS_DROPPED,
        FEEDBACK_RECEIVED,
    )
}

# ---- modes -------------------------------------------------------------------------------------------------

_store: MetricsStore | None = None
_exporter: RayExporter | None = None
# One bound table per metric while recording, None while off: the record functions test and use these directly.
_requests: MetricTable | None = None
_runs: MetricTable | None = None
_steps: MetricTable | None = None
_decisions: MetricTable | None = None
_confidence: MetricTable | None = None
_model_calls: MetricTable | None = None
_tokens: MetricTable | None = None
_ttft: MetricTable | None = None
_trace_rows: MetricTable | None = None
_trace_drops: MetricTable | None = None
_feedback: MetricTable | None = None
DEFAULT_INTERVAL_S = 2.0


def _bind(store: MetricsStore | None) -> None:
    global _store, _requests, _runs, _steps, _decisions, _confidence, _model_calls, _tokens, _ttft
    global _trace_rows, _trace_drops, _feedback
    _store = store

    def t(spec: MetricSpec) -> MetricTable | None:
        return store.table(spec) if store is not None else None

    _requests, _runs, _steps = t(REQUEST_DURATION), t(WORKFLOW_DURATION), t(STEP_DURATION)
    _decisions, _confidence = t(ROUTER_DECISIONS), t(ROUTER_CONFIDENCE)
    _model_calls, _tokens, _ttft = t(MODEL_DURATION), t(MODEL_TOKENS), t(MODEL_TTFT)
    _trace_rows, _trace_drops, _feedback = t(TRACE_ROWS_WRITTEN), t(TRACE_ROWS_DROPPED), t(FEEDBACK_RECEIVED)


def enable(mode: Mode = "local", *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
    """Start recording: ``"local"`` (in-process only) or ``"ray"`` (also pushed to Ray's metrics every
    ``interval_s``). ``"off"`` is :func:`disable`. Switching between local and ray keeps what was recorded."""
    global _exporter
    if mode not in ("off", "local", "ray"):
        raise ConfigError(f"metrics mode must be 'off', 'local' or 'ray', got {mode!r}")
    if interval_s <= 0:
        raise ConfigError(f"metrics interval_s must be > 0 seconds, got {interval_s}")
    if mode == "off":
        disable()
        return
    if _store is None:
        _bind(MetricsStore(METRICS.values()))
    assert _store is not None
    if mode == "ray" and _exporter is None:
        _exporter = RayExporter(_store, interval_s)
    elif mode == "local" and _exporter is not None:
        _exporter.stop()
        _exporter = None


def disable() -> None:
    """Stop recording (pushing what is pending to Ray first) and forget everything recorded."""
    global _exporter
    if _exporter is not None:
        _exporter.stop()
        _exporter = None
    _bind(None)


def reset() -> None:
    """Forget everything recorded and keep the current mode (tests start from zero with it)."""
    current = mode()
    disable()
    if current != "off":
        enable(current)


def recording() -> bool:
    """True while metrics are recorded (local or ray mode); the executor reads it once per run."""
    return _store is not None


def mode() -> Mode:
    """The current mode."""
    if _store is None:
        return "off"
    return "ray" if _exporter is not None else "local"


def snapshot() -> MetricsSnapshot:
    """Everything recorded in this process so far (empty when off)."""
    return _store.snapshot() if _store is not None else MetricsSnapshot()


def flush() -> int:
    """Push pending values to Ray now (``ray`` mode; returns the series pushed, 0 otherwise)."""
    return _exporter.push() if _exporter is not None else 0


def _in_ray_worker() -> bool:
    ray = sys.modules.get("ray")
    if ray is None:
        return False
    try:
        from ray._private.worker import WORKER_MODE, global_worker

        return bool(ray.is_initialized() and global_worker.mode == WORKER_MODE)
    except Exception:  # noqa: BLE001 - a Ray without these internals: treat as outside Ray
        return False


def _configure_from_env() -> None:
    wanted = os.environ.get("MM_ORCH_METRICS", "auto").strip().lower() or "auto"
    if wanted == "auto":
        wanted = "ray" if _in_ray_worker() else "off"
    if wanted not in ("off", "local", "ray"):
        logger.warning("MM_ORCH_METRICS=%r is not one of off, local, ray, auto; metrics stay off", wanted)
        return
    enable(wanted)  # type: ignore[arg-type]


@atexit.register
def _push_at_exit() -> None:
    if _exporter is not None:
        _exporter.stop()


# ---- what code records (one call per event; label values are names, never ids or text) --------------------


def record_request(endpoint: str, workflow: str | None, outcome: str, seconds: float) -> None:
    """An ingress request finished: ``endpoint`` is the route's short name (``answer``, ``route``,
    ``chat_completions``, ``feedback``, ...), ``workflow`` the one that ran (None: none did), ``outcome`` one of
    :data:`OUTCOMES`."""
    if _requests is not None:
        _requests.observe((endpoint, workflow, outcome), seconds)


def record_run(workflow: str | None, outcome: str, seconds: float) -> None:
    """A workflow graph run finished (``outcome``: ``success`` or ``error``)."""
    if _runs is not None:
        _runs.observe((workflow, outcome), seconds)


def run_outcome(error: BaseException | None) -> str:
    """The ``outcome`` label of a finished run: success, cancelled, timeout (a step timed out) or error."""
    if error is None:
        return "success"
    if isinstance(error, RunCancelledError):
        return "cancelled"
    if isinstance(error, StepTimeoutError) or isinstance(getattr(error, "cause", None), StepTimeoutError):
        return "timeout"
    return "error"


def record_step(workflow: str | None, step: str, outcome: str, seconds: float) -> None:
    """A node finished: ``step`` is the step it ran, ``outcome`` ``success``, ``error`` or ``fallback``."""
    if _steps is not None:
        _steps.observe((workflow, step, outcome), seconds)


def record_route(router: str, source: str, workflow: str, confidence: float | None) -> None:
    """A routing decision: ``router`` is its router version (``v1``, ``v2``, ``v3``, ``forced``), ``source``
    one of :data:`ROUTER_SOURCES`."""
    if _decisions is None or _confidence is None:
        return
    _decisions.inc((router, source, workflow))
    if confidence is not None:
        _confidence.observe((router, source), confidence)


def decision_source(decision: Any) -> str:
    """The ``source`` label of a :class:`~mm_orch.routing.decision.RoutingDecision`: ``forced`` (the caller chose),
    ``lm_second_opinion`` (the router abstained and the language model chose), ``abstention`` (it abstained and
    rules or the default decided), ``fallback`` (a router failed and a later one answered), the decision's own
    ``source`` when it is ``session``, ``hint`` or ``default``, ``rules`` (RouterV1), else ``model``."""
    own = getattr(decision, "source", None)
    if decision.router_version == "forced" or own == "forced":
        return "forced"
    if decision.abstained:
        return "lm_second_opinion" if own == "lm" else "abstention"
    if decision.fallbacks:
        return "fallback"
    if own in ("session", "hint", "default", "rules"):
        return str(own)
    return "rules" if decision.router_version == "v1" else "model"


def record_decision(decision: Any) -> None:
    """A routing decision (a :class:`~mm_orch.routing.decision.RoutingDecision`) that chose a workflow to run."""
    if _decisions is not None:
        record_route(decision.router_version, decision_source(decision), decision.workflow, decision.confidence)


def record_model_call(
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    seconds: float,
    first_token_s: float | None = None,
    outcome: str = "success",
) -> None:
    """A generation call finished: tokens in and out, its wall time and (streaming) time to first token."""
    if _model_calls is None or _tokens is None or _ttft is None:
        return
    _model_calls.observe((model, outcome), seconds)
    if input_tokens > 0:
        _tokens.inc((model, "input"), input_tokens)
    if output_tokens > 0:
        _tokens.inc((model, "output"), output_tokens)
    if first_token_s is not None:
        _ttft.observe((model,), first_token_s)


def count_trace_rows(sink: str, rows: int = 1) -> None:
    """``rows`` trace records reached ``sink`` (``jsonl`` or ``parquet``)."""
    if _trace_rows is not None and rows > 0:
        _trace_rows.inc((sink,), rows)


def count_trace_drops(sink: str, reason: str, rows: int = 1) -> None:
    """``rows`` trace records were lost by ``sink`` for ``reason`` (one of :data:`DROP_REASONS`)."""
    if _trace_drops is not None and rows > 0:
        _trace_drops.inc((sink, reason), rows)


def count_feedback(source: str, rating: float) -> None:
    """A feedback record was stored (``rating`` in [-1, 1]: > 0 positive, < 0 negative, 0 neutral)."""
    if _feedback is not None:
        _feedback.inc((source, "positive" if rating > 0 else "negative" if rating < 0 else "neutral"))


_configure_from_env()
