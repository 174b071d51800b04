"""RouterV2: the trained text classifier with calibrated probabilities and an abstain threshold."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from mm_orch.exceptions import ModelLoadError
from mm_orch.routing.decision import Router, RoutingDecision, as_request
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
    ``default_workflow`` when it is None.
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
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.abstain_threshold = abstain_threshold
        self.abstain_to = abstain_to
        self.default_workflow = default_workflow
        self.bootstrap = bootstrap
        self.bootstrap_path = Path(bootstrap_path) if bootstrap_path else DEFAULT_BOOTSTRAP_PATH
        self.manifest: ModelManifest | None = None
        self._model = model
        self._lock = threading.Lock()

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
                self._model, self.manifest = train_bootstrap(self.model_path, bootstrap_path=self.bootstrap_path)
                return
            self._model, self.manifest = load_published(self.model_path)

    def reload(self) -> None:
        """Drop the loaded model and load what ``model_path`` now publishes (hot reload after retraining)."""
        with self._lock:
            self._model = None
        self.warm_up()

    def probabilities(self, request: UserRequest | str) -> dict[str, float]:
        """Calibrated probability of every workflow the model knows, highest first."""
        self.warm_up()
        assert self._model is not None
        req = as_request(request)
        probs = self._model.predict_proba_one(req.query, context_from_request(req))
        pairs = sorted(zip(self._model.classes, probs.tolist(), strict=True), key=lambda kv: -kv[1])
        return dict(pairs)

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """The most probable workflow, or a deferral when the top probability is under the threshold."""
        req = as_request(request)
        probs = self.probabilities(req)
        best, p = next(iter(probs.items()))
        alternatives = {w: round(v, 6) for w, v in probs.items()}
        if p >= self.abstain_threshold:
            return RoutingDecision(
                workflow=best,
                confidence=round(p, 6),
                alternatives=alternatives,
                router_version=self.version,
                reason=f"model {self.model_version or 'in-memory'}: p({best})={p:.2f}",
            )
        why = f"v2 unsure: p({best})={p:.2f} < abstain_threshold {self.abstain_threshold:.2f}"
        if self.abstain_to is not None:
            inner = self.abstain_to.route(req)
            return inner.model_copy(
                update={
                    "abstained": True,
                    "fallbacks": ["v2", *inner.fallbacks],
                    "reason": f"{why}; {inner.router_version} decided: {inner.reason}",
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
        )
