"""Labelled examples, the bundled bootstrap dataset, and fit/evaluate/publish for small data.

This is what a fresh install runs on first use (seconds): train on the bootstrap ``train`` split, evaluate on
its held-out ``test`` split, publish under the configured model path. The distributed pipeline for traces
lives in the top-level ``router`` package and reuses :func:`evaluate_model` and :func:`evaluate_router`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mm_orch.exceptions import ConfigError
from mm_orch.paths import resource_path
from mm_orch.routing.decision import WORKFLOWS, Router
from mm_orch.routing.features import FeaturizerConfig, RequestContext
from mm_orch.routing.metrics import RouterMetrics, evaluate_predictions
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest, publish
from mm_orch.schemas import ChatTurn, UserRequest

__all__ = [
    "DEFAULT_BOOTSTRAP_PATH",
    "LabelledExample",
    "evaluate_model",
    "evaluate_router",
    "load_examples",
    "train_bootstrap",
]

logger = logging.getLogger(__name__)

#: The bundled labelled dataset (the project's copy, or the one inside the installed wheel).
DEFAULT_BOOTSTRAP_PATH = resource_path("data/router/bootstrap.jsonl")


class LabelledExample(BaseModel):
    """One request with the workflow that should serve it."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="The question text.")
    workflow: str = Field(description="The workflow that should serve it (the label).")
    mode: str = Field(default="default", description="Request mode.")
    has_collection: bool = Field(default=False, description="A named document collection was given.")
    has_documents: bool = Field(default=False, description="Documents were attached.")
    history_turns: int = Field(default=0, ge=0, description="Prior chat turns.")
    group: str = Field(default="", description="Template / source id (splits keep groups whole).")
    split: str = Field(default="train", description="'train' or 'test'.")
    weight: float = Field(default=1.0, gt=0, description="Training weight.")

    @property
    def context(self) -> RequestContext:
        """The router context of this example."""
        return RequestContext(self.mode, self.has_collection, self.has_documents, self.history_turns)

    def to_request(self) -> UserRequest:
        """This example as a live request (for routers that take UserRequest)."""
        mode: Literal["default", "chat"] = "chat" if self.mode == "chat" else "default"
        return UserRequest(
            query=self.query,
            mode=mode,
            collection="collection" if self.has_collection else None,
            documents=["document"] if self.has_documents else [],
            history=[
                ChatTurn(role="user" if i % 2 == 0 else "assistant", content="...")
                for i in range(self.history_turns)
            ],
        )


def load_examples(path: str | Path = DEFAULT_BOOTSTRAP_PATH) -> list[LabelledExample]:
    """Read a JSONL file of :class:`LabelledExample` rows, validating each."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"router bootstrap dataset not found at {p}; set router.bootstrap_path to a JSONL file of labelled "
            "requests (see data/router/bootstrap.jsonl in the repository)"
        )
    out: list[LabelledExample] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(LabelledExample.model_validate_json(line))
        except ValidationError as exc:
            raise ConfigError(f"{p}:{n}: not a labelled example: {exc}") from exc
    return out


def evaluate_model(model: RouterModel, examples: Sequence[LabelledExample]) -> RouterMetrics:
    """Held-out metrics of a trained model (batch path)."""
    probs = model.predict_proba([e.query for e in examples], [e.context for e in examples])
    pred = [model.classes[i] for i in probs.argmax(axis=1)]
    labels = sorted(set(WORKFLOWS) | set(model.classes) | {e.workflow for e in examples})
    return evaluate_predictions([e.workflow for e in examples], pred, probs.max(axis=1), labels)


def evaluate_router(router: Router, examples: Iterable[LabelledExample]) -> RouterMetrics:
    """Held-out metrics of any router, one ``route`` call per example."""
    ex = list(examples)
    decisions = [router.route(e.to_request()) for e in ex]
    labels = sorted(set(WORKFLOWS) | {e.workflow for e in ex})
    return evaluate_predictions(
        [e.workflow for e in ex], [d.workflow for d in decisions], [d.confidence for d in decisions], labels
    )


def train_bootstrap(
    output: str | Path,
    *,
    bootstrap_path: str | Path = DEFAULT_BOOTSTRAP_PATH,
    featurizer_config: FeaturizerConfig | None = None,
) -> tuple[RouterModel, ModelManifest]:
    """Train on the bootstrap ``train`` split, evaluate on ``test``, publish under ``output``."""
    start = time.perf_counter()
    examples = load_examples(bootstrap_path)
    train = [e for e in examples if e.split != "test"]
    test = [e for e in examples if e.split == "test"]
    model = RouterModel.fit(
        [e.query for e in train], [e.context for e in train], [e.workflow for e in train], featurizer_config
    )
    metrics = evaluate_model(model, test) if test else None
    seconds = time.perf_counter() - start
    manifest = publish(
        model,
        output,
        metrics={"heldout": metrics.model_dump()} if metrics else {},
        training={
            "source": str(bootstrap_path),
            "train_rows": len(train),
            "test_rows": len(test),
            "seconds": round(seconds, 3),
            "kind": "bootstrap",
        },
    )
    logger.info(
        "trained router v2 from the bootstrap dataset (%d rows) in %.1fs: held-out accuracy %s; published %s",
        len(train),
        seconds,
        f"{metrics.accuracy:.3f}" if metrics else "n/a",
        Path(output) / manifest.version,
    )
    return model, manifest
