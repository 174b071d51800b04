"""The trained router model: hashed features -> linear classifier -> temperature-calibrated probabilities.

Fitting uses scikit-learn's :class:`~sklearn.linear_model.SGDClassifier` (log loss; cross-validated
calibration for small data, a held-out calibration slice for large data) wrapped in
:class:`~sklearn.calibration.CalibratedClassifierCV` (``method="temperature"``). Routing one request uses
:meth:`RouterModel.predict_proba_one`, which evaluates the same linear model and temperature with numpy on the
request's few hundred non-zero features (sklearn's per-call overhead alone exceeds the latency budget); a test
proves it equals sklearn's ``predict_proba``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import SGDClassifier

from mm_orch.exceptions import ModelLoadError, RoutingError
from mm_orch.routing.exemplars import Exemplars
from mm_orch.routing.features import Analysis, Featurizer, FeaturizerConfig, RequestContext

__all__ = ["LARGE_DATA_ROWS", "RouterModel", "RouterTrainingError", "fit_classifier"]

#: From this many training rows on, fit with SGD and calibrate on a held-out slice instead of cross-validation.
LARGE_DATA_ROWS = 20_000


class RouterTrainingError(RoutingError):
    """A router could not be trained from the data given (too few rows or workflows)."""


def fit_classifier(
    x: sp.csr_matrix,
    y: Sequence[str],
    *,
    sample_weight: np.ndarray | None = None,
    seed: int = 0,
    alpha: float = 1e-4,
) -> CalibratedClassifierCV:
    """Fit a calibrated linear classifier on featurized rows ``x`` with workflow labels ``y``."""
    labels = np.asarray(y)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    found = sorted({str(v) for v in labels.tolist()})
    if len(found) < 2 or x.shape[0] < 10:
        raise RouterTrainingError(
            f"cannot train a router from {x.shape[0]} labelled rows covering workflows {found}: need at least 10 "
            "rows and two workflows. Collect more traces with outcomes, or keep the bootstrap dataset in the mix "
            "(drop --no-bootstrap)."
        )
    if x.shape[0] < LARGE_DATA_ROWS:
        # lbfgs LogisticRegression needs minutes on 2^19 hashed columns; SGD reaches the same held-out scores
        # in ~2 s (measured on the bootstrap split), which keeps first-use training interactive.
        base = SGDClassifier(
            loss="log_loss", alpha=alpha, max_iter=50, tol=None, class_weight="balanced", random_state=seed
        )
        cal = CalibratedClassifierCV(base, method="temperature", cv=5, ensemble=False)
        cal.fit(x, labels, sample_weight=weights)
        return cal
    rng = np.random.default_rng(seed)
    order = rng.permutation(x.shape[0])
    n_cal = min(max(x.shape[0] // 10, 2000), 50_000)
    cal_idx, fit_idx = order[:n_cal], order[n_cal:]
    sgd = SGDClassifier(
        loss="log_loss", alpha=1e-6, max_iter=5, tol=None, class_weight="balanced", random_state=seed, n_jobs=-1
    )
    sgd.fit(x[fit_idx], labels[fit_idx], sample_weight=None if weights is None else weights[fit_idx])
    cal = CalibratedClassifierCV(FrozenEstimator(sgd), method="temperature")
    # Calibration is fitted unweighted: sklearn cannot pass weights through FrozenEstimator and warns otherwise.
    cal.fit(x[cal_idx], labels[cal_idx])
    return cal


class RouterModel:
    """A fitted router: its featurizer config, the calibrated sklearn classifier and a fast numpy view of it."""

    def __init__(self, classifier: CalibratedClassifierCV, featurizer_config: FeaturizerConfig) -> None:
        if not isinstance(classifier, CalibratedClassifierCV):
            raise ModelLoadError(
                f"router model file holds a {type(classifier).__name__}, expected CalibratedClassifierCV; "
                "it was not written by mm-orch. Retrain with `python -m router.train`."
            )
        self.classifier = classifier
        self.featurizer = Featurizer(featurizer_config)
        #: Training requests and embeddings kept for explanations (None for n-gram-only models).
        self.exemplars: Exemplars | None = None
        self.classes: tuple[str, ...] = tuple(str(c) for c in classifier.classes_)
        try:
            calibrated = classifier.calibrated_classifiers_[0]
            est: Any = calibrated.estimator
            est = getattr(est, "estimator", est)  # FrozenEstimator wraps the fitted model
            coef = np.asarray(est.coef_, dtype=np.float64)
            intercept = np.asarray(est.intercept_, dtype=np.float64)
            self._beta = float(calibrated.calibrators[0].beta_)
        except (AttributeError, IndexError) as exc:
            raise ModelLoadError(
                f"router model has an unexpected structure ({type(exc).__name__}: {exc}); expected a "
                "CalibratedClassifierCV(method='temperature') over a linear model. Retrain it with "
                "`python -m router.train`."
            ) from exc
        # With cross-validation sklearn fits the inner model on label-encoded targets (0..k-1).
        inner = [str(c) for c in est.classes_]
        if inner not in (list(self.classes), [str(i) for i in range(len(self.classes))]) or coef.shape[0] != len(
            self.classes
        ):
            raise ModelLoadError("router model classes disagree between calibrator and linear model; retrain it")
        if coef.shape[1] != self.featurizer.n_features:
            raise ModelLoadError(
                f"router model expects {coef.shape[1]} features but its featurizer config gives "
                f"{self.featurizer.n_features}; the manifest and model file do not belong together"
            )
        self._last: tuple[tuple[str, RequestContext], Analysis] | None = None
        # Column-major (features x classes) so one request's rows are contiguous gathers.
        self._coef_t = np.ascontiguousarray(coef.T)
        self._intercept = intercept

    @classmethod
    def fit(
        cls,
        queries: Sequence[str],
        contexts: Sequence[RequestContext],
        labels: Sequence[str],
        featurizer_config: FeaturizerConfig | None = None,
        sample_weight: np.ndarray | None = None,
        *,
        dense: np.ndarray | None = None,
        alpha: float = 1e-4,
    ) -> RouterModel:
        """Featurize and fit in one call (small data; the Ray pipeline featurizes in parallel instead).

        ``dense``: the already computed, scaled embedding block of ``queries`` (saves re-embedding)."""
        featurizer = Featurizer(featurizer_config)
        x = featurizer.transform(queries, contexts, dense)
        return cls(fit_classifier(x, labels, sample_weight=sample_weight, alpha=alpha), featurizer.config)

    @property
    def temperature_beta(self) -> float:
        """The fitted inverse temperature: calibrated probabilities are softmax(beta x logits)."""
        return self._beta

    def predict_proba(
        self, queries: Sequence[str], contexts: Sequence[RequestContext], dense: np.ndarray | None = None
    ) -> np.ndarray:
        """Calibrated probabilities for many requests (columns follow :attr:`classes`), via sklearn."""
        return np.asarray(self.classifier.predict_proba(self.featurizer.transform(queries, contexts, dense)))

    def predict_proba_x(self, x: sp.csr_matrix, *, calibrated: bool = True) -> np.ndarray:
        """Probabilities for already featurized rows; ``calibrated=False`` gives the raw softmax(logits)."""
        if calibrated:
            return np.asarray(self.classifier.predict_proba(x))
        return _softmax(np.asarray(x @ self._coef_t) + self._intercept)

    def _analysis(self, query: str, context: RequestContext) -> Analysis:
        """The featurizer's analysis of one request, kept for the next call (route, then explain, reuse it)."""
        key = (query, context)
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        found = self.featurizer.analyze_one(query, context)
        self._last = (key, found)
        return found

    def logits_one(self, query: str, context: RequestContext) -> np.ndarray:
        """Uncalibrated logits of one request (numpy fast path)."""
        a = self._analysis(query, context)
        idx, val = a.columns, a.values
        logits = val @ self._coef_t[idx] + self._intercept if len(idx) else self._intercept.copy()
        if self.featurizer.uses_embedding:
            logits = (
                logits + self.featurizer.dense_one(query) @ self._coef_t[self.featurizer.config.hashed_features :]
            )
        return np.asarray(logits, dtype=np.float64)

    def probabilities_one(self, query: str, context: RequestContext) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated, uncalibrated) probabilities of one request from a single logits computation."""
        logits = self.logits_one(query, context)[None, :]
        return _softmax(self._beta * logits)[0], _softmax(logits)[0]

    def predict_proba_one(self, query: str, context: RequestContext, *, calibrated: bool = True) -> np.ndarray:
        """Probabilities for one request, computed in numpy (fast path; equals ``predict_proba``)."""
        logits = self.logits_one(query, context)
        return _softmax((self._beta if calibrated else 1.0) * logits[None, :])[0]

    def contributions(
        self, query: str, context: RequestContext, workflow: str, against: str, k: int = 5
    ) -> list[tuple[str, float]]:
        """The ``k`` features that pushed ``workflow`` over ``against`` most: (feature, logit margin added).

        Hashed n-grams are named by their text (``chars:`` marks character n-grams); the whole embedding
        block counts as one feature, ``sentence embedding``."""
        i, j = self.classes.index(workflow), self.classes.index(against)
        a = self._analysis(query, context)
        out: list[tuple[str, float]] = []
        if len(a.columns):
            margin = a.values * (self._coef_t[a.columns, i] - self._coef_t[a.columns, j])
            top = np.argpartition(-margin, min(k, len(margin) - 1))[: k + 1]
            names = a.names(int(a.columns[t]) for t in top)
            out = [(names[int(a.columns[t])], float(margin[t])) for t in top]
        if self.featurizer.uses_embedding:
            block = self._coef_t[self.featurizer.config.hashed_features :]
            out.append(
                ("sentence embedding", float(self.featurizer.dense_one(query) @ (block[:, i] - block[:, j])))
            )
        out.sort(key=lambda kv: -kv[1])
        return [(name, round(v, 4)) for name, v in out[:k] if v > 0]

    def nearest_exemplars(self, query: str, k: int = 3) -> list[tuple[str, str, float]]:
        """The ``k`` training requests most similar to ``query`` (empty for n-gram-only models)."""
        if self.exemplars is None or not self.featurizer.uses_embedding:
            return []
        return self.exemplars.nearest(self.featurizer.embedder.encode_one(query), k)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))
