"""RouterV2: the trained text classifier with calibrated probabilities and an abstain threshold."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Literal

import numpy as np

from mm_orch.exceptions import ModelLoadError
from mm_orch.routing.decision import ChainStep, Router, RoutingDecision, RoutingExplanation, as_request
from mm_orch.routing.features import context_from_request
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest, current_version, load_published
from mm_orch.routing.training import DEFAULT_BOOTSTRAP_PATH, train_bootstrap
from mm_orch.schemas import UserRequest

__all__ = ["RouterV2"]

logger = logging.getLogger(__name__)


class RouterV2:
    """Routes with a trained model from ``model_path``; below ``abstain_threshold`` it defers.

    The constructor is cheap; :meth:`warm_up` (called on first use) loads the published model, or, when
    ``bootstrap`` is on and none is published, trains one from the bundled dataset and publishes it first.
    When unsure, ``abstain_to`` (e.g. a :class:`~mm_orch.routing.router_v1.RouterV1`) decides, or
    ``default_workflow`` when it is None. ``features`` says what a first-use model is trained on: n-grams plus
    the sentence embedding (default) or n-grams only (the sub-millisecond router).

    Every ``reload_check_s`` seconds a route looks at ``model_path/current``; when retraining published a new
    version there, the router loads it before answering (no restart, no explicit :meth:`reload`).
    """

    version = "v2"

    def __init__(
        self,
        model_path: str | Path | None = "models/router_v2",
        *,
        model: RouterModel | None = None,
        abstain_threshold: float = 0.3,
        abstain_to: Router | None = None,
        default_workflow: str = "search_qa",
        bootstrap: bool = True,
        bootstrap_path: str | Path | None = None,
        features: Literal["embedding", "ngram"] = "embedding",
        reload_check_s: float | None = 2.0,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.abstain_threshold = abstain_threshold
        self.abstain_to = abstain_to
        self.default_workflow = default_workflow
        self.bootstrap = bootstrap
        self.bootstrap_path = Path(bootstrap_path) if bootstrap_path else DEFAULT_BOOTSTRAP_PATH
        self.features = features
        self.reload_check_s = reload_check_s
        self.manifest: ModelManifest | None = None
        self._model = model
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()

    @property
    def model_version(self) -> str | None:
        """Version id of the loaded model (None before warm-up or for an in-memory model)."""
        return self.manifest.version if self.manifest else None

    def warm_up(self) -> None:
        """Load the published model, bootstrapping one first if allowed and none exists."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            if self.model_path is None:
                raise ModelLoadError("RouterV2 has neither a model nor a model_path; pass one of them")
            has_model = (
                current_version(self.model_path) is not None or (self.model_path / "manifest.json").is_file()
            )
            if not has_model and self.bootstrap:
                logger.info(
                    "no published router under %s: training one from %s", self.model_path, self.bootstrap_path
                )
                self._model, self.manifest = train_bootstrap(
                    self.model_path, bootstrap_path=self.bootstrap_path, embedding=self.features == "embedding"
                )
                return
            self._model, self.manifest = load_published(self.model_path)

    def _check_for_new_version(self) -> None:
        if self.reload_check_s is None or self.model_path is None or self.manifest is None:
            return
        now = time.monotonic()
        if now - self._checked_at < self.reload_check_s:
            return
        self._checked_at = now
        published = current_version(self.model_path)
        if published is not None and published != self.manifest.version:
            logger.info("router model %s published under %s; loading it", published, self.model_path)
            try:
                model, manifest = load_published(self.model_path)
            except ModelLoadError as exc:  # keep answering with the loaded model
                logger.warning(
                    "new router version %s is unusable (%s); keeping %s", published, exc, self.model_version
                )
                return
            with self._lock:
                self._model, self.manifest = model, manifest

    def reload(self) -> None:
        """Drop the loaded model and load what ``model_path`` now publishes (hot reload after retraining)."""
        with self._lock:
            self._model = None
        self.warm_up()

    @property
    def model(self) -> RouterModel:
        """The loaded model (warming up first; picks up a newly published version)."""
        self.warm_up()
        self._check_for_new_version()
        if self._model is None:  # warm_up either sets it or raises
            raise ModelLoadError(f"RouterV2 at {self.model_path} has no model after warm-up")
        return self._model

    def probabilities(self, request: UserRequest | str) -> dict[str, float]:
        """Calibrated probability of every workflow the model knows, highest first."""
        return self.scored(request)[0]

    def scored(self, request: UserRequest | str) -> tuple[dict[str, float], dict[str, float]]:
        """(calibrated, uncalibrated) probability of every workflow, each highest first."""
        model = self.model
        req = as_request(request)
        cal, raw = model.probabilities_one(req.query, context_from_request(req))
        order = np.argsort(-cal)
        return (
            {model.classes[i]: float(cal[i]) for i in order},
            {model.classes[i]: float(raw[i]) for i in order},
        )

    def explain(
        self, request: UserRequest, probs: dict[str, float], uncalibrated: dict[str, float], top: int = 7
    ) -> RoutingExplanation:
        """Top probabilities, the deciding n-gram/embedding features and the nearest training exemplars."""
        model = self.model
        ranked = list(probs)
        best, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else ranked[0]
        features = (
            model.contributions(request.query, context_from_request(request), best, runner_up)
            if best != runner_up
            else []
        )
        step = ChainStep(router=self.version, outcome="answered", detail=f"p({best})={probs[best]:.2f}")
        return RoutingExplanation(
            chain=[step],
            probabilities={w: round(probs[w], 4) for w in ranked[:top]},
            uncalibrated={w: round(uncalibrated[w], 4) for w in ranked[:top]},
            features=features,
            exemplars=model.nearest_exemplars(request.query),
            model_version=self.model_version,
            model_choice=best,
        )

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """The most probable workflow, or a deferral when the top probability is under the threshold."""
        req = as_request(request)
        probs, raw = self.scored(req)
        best, p = next(iter(probs.items()))
        alternatives = {w: round(v, 6) for w, v in probs.items()}
        explanation = self.explain(req, probs, raw)
        if p >= self.abstain_threshold:
            return RoutingDecision(
                workflow=best,
                confidence=round(p, 6),
                alternatives=alternatives,
                router_version=self.version,
                reason=f"model {self.model_version or 'in-memory'}: p({best})={p:.2f}",
                explanation=explanation,
            )
        why = f"v2 unsure: p({best})={p:.2f} < abstain_threshold {self.abstain_threshold:.2f}"
        abstained = explanation.model_copy(
            update={"chain": [ChainStep(router=self.version, outcome="abstained", detail=why)],
                    "threshold": self.abstain_threshold}
        )  # fmt: skip
        if self.abstain_to is not None:
            inner = self.abstain_to.route(req)
            inner_steps = inner.explanation.chain if inner.explanation else []
            return inner.model_copy(
                update={
                    "abstained": True,
                    "fallbacks": ["v2", *inner.fallbacks],
                    "reason": f"{why}; {inner.router_version} decided: {inner.reason}",
                    "explanation": abstained.model_copy(update={"chain": [*abstained.chain, *inner_steps]}),
                }
            )
        return RoutingDecision(
            workflow=self.default_workflow,
            confidence=round(probs.get(self.default_workflow, 0.0), 6),
            alternatives=alternatives,
            router_version="default",
            reason=f"{why}; using default_workflow {self.default_workflow!r}",
            abstained=True,
            fallbacks=["v2"],
            source="default",
            explanation=abstained,
        )
