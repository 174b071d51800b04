"""The curated router dataset (data/router/requests/): loading, near-duplicate groups, the validation split.

Records follow data/router/requests/LABELS.md (``query``, ``workflow``, optional ``history``,
``has_collection``, ``tags``). Training files are ``train_*.jsonl``; the held-out file ``heldout.jsonl`` is
written by a different author and is read only by :func:`load_heldout`, which only the final benchmark and
the CI regression guard call - never model selection.

Every model choice and threshold is made on a validation split carved out of the training files by
:func:`split_train_validation`: stratified by workflow, and whole near-duplicate groups (requests whose
character n-grams are almost the same, e.g. one question with and without a typo) go to one side, so the
validation score is not inflated by near-copies of training rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mm_orch.exceptions import ConfigError
from mm_orch.paths import resource_path
from mm_orch.routing.decision import WORKFLOWS
from mm_orch.routing.features import RequestContext
from mm_orch.schemas import ChatTurn, UserRequest

__all__ = [
    "DATA_DIR",
    "HELDOUT_PATH",
    "LabelledExample",
    "RequestRecord",
    "load_examples",
    "load_heldout",
    "load_requests",
    "near_duplicate_groups",
    "split_train_validation",
    "training_files",
]

#: The curated training files: the project's copy, or the one bundled in the wheel (train_*.jsonl only).
DATA_DIR = resource_path("data/router/requests")
#: The independent held-out file (project checkouts only; never bundled): final figures and the CI floor only.
HELDOUT_PATH = Path(__file__).resolve().parents[2] / "data" / "router" / "requests" / "heldout.jsonl"


class LabelledExample(BaseModel):
    """One request with the workflow that should serve it (curated data, traces, feedback)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="The question text.")
    workflow: str = Field(description="The workflow that should serve it (the label).")
    mode: str = Field(default="default", description="Request mode.")
    has_collection: bool = Field(default=False, description="The user has an ingested document collection.")
    has_documents: bool = Field(default=False, description="Documents were attached.")
    history_turns: int = Field(default=0, ge=0, description="Prior chat turns.")
    history: list[ChatTurn] = Field(default_factory=list, description="The prior turns themselves, when known.")
    tags: list[str] = Field(default_factory=list, description="Style tags of curated requests.")
    group: str = Field(default="", description="Source id (file:line, template or trace id).")
    split: str = Field(default="train", description="'train', 'validation' or 'test'.")
    weight: float = Field(default=1.0, gt=0, description="Training weight.")

    @model_validator(mode="after")
    def _turns_from_history(self) -> LabelledExample:
        if len(self.history) > self.history_turns:
            self.history_turns = len(self.history)
        return self

    @property
    def context(self) -> RequestContext:
        """The router context of this example."""
        return RequestContext(self.mode, self.has_collection, self.has_documents, self.history_turns)

    def to_request(self) -> UserRequest:
        """This example as a live request (for routers that take UserRequest)."""
        mode: Literal["default", "chat"] = "chat" if self.mode == "chat" else "default"
        context: dict[str, Any] = {"has_collection": True} if self.has_collection else {}
        return UserRequest(
            query=self.query,
            mode=mode,
            documents=["document"] if self.has_documents else [],
            history=list(self.history)
            or [
                ChatTurn(role="user" if i % 2 == 0 else "assistant", content="...")
                for i in range(self.history_turns)
            ],
            context=context,
        )


class RequestRecord(BaseModel):
    """One line of a curated request file (format of data/router/requests/LABELS.md)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="The request exactly as the user typed it.")
    workflow: str = Field(description="The workflow that best serves it (one of the seven).")
    history: list[ChatTurn] = Field(default_factory=list, description="Earlier turns of an open chat session.")
    has_collection: bool = Field(default=False, description="The user has an ingested document collection.")
    tags: list[str] = Field(default_factory=list, description="Style tags (lowercase, typo, follow_up, ...).")
    persona: str = Field(default="", description="The held-out set's invented author (HELDOUT.md); not a feature.")

    def to_example(self, group: str) -> LabelledExample:
        """This record as a training/evaluation example."""
        return LabelledExample(
            query=self.query,
            workflow=self.workflow,
            has_collection=self.has_collection,
            history=self.history,
            tags=self.tags,
            group=group,
        )


def training_files(directory: str | Path = DATA_DIR) -> list[Path]:
    """The ``train_*.jsonl`` files of ``directory`` (never the held-out file)."""
    files = sorted(Path(directory).glob("train_*.jsonl"))
    if not files:
        raise ConfigError(
            f"no router training files (train_*.jsonl) under {directory}; point router.dataset_dir at the "
            "curated request files (data/router/requests in the repository)"
        )
    return files


def _read(path: Path) -> list[LabelledExample]:
    out: list[LabelledExample] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = RequestRecord.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(
                f"{path}:{number}: not a router request record ({str(exc).splitlines()[0]}); each line is "
                '{"query": "...", "workflow": "search_qa", "history": [], "has_collection": false} '
                "(see data/router/requests/LABELS.md)"
            ) from exc
        if record.workflow not in WORKFLOWS:
            raise ConfigError(
                f"{path}:{number}: workflow {record.workflow!r} is not one of {', '.join(WORKFLOWS)}; fix the label"
            )
        out.append(record.to_example(group=f"{path.stem}:{number}"))
    return out


def load_requests(paths: str | Path | Iterable[str | Path] = DATA_DIR) -> list[LabelledExample]:
    """Every record of the training files (a directory: its ``train_*.jsonl``; or explicit files)."""
    if isinstance(paths, (str, Path)):
        p = Path(paths)
        files = training_files(p) if p.is_dir() else [p]
    else:
        files = [Path(f) for f in paths]
    examples: list[LabelledExample] = []
    for f in files:
        if not f.is_file():
            raise ConfigError(f"router request file {f} not found; check router.dataset_dir")
        examples.extend(_read(f))
    return examples


def load_examples(path: str | Path = DATA_DIR) -> list[LabelledExample]:
    """Labelled examples from a folder of curated ``train_*.jsonl`` files or one JSONL file of examples."""
    p = Path(path)
    if p.is_dir():
        return load_requests(p)
    if not p.is_file():
        raise ConfigError(
            f"router training data not found at {p}; set router.bootstrap_path to a folder of train_*.jsonl "
            "files (data/router/requests in the repository) or a JSONL file of labelled requests"
        )
    out: list[LabelledExample] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(LabelledExample.model_validate_json(line))
        except ValidationError as exc:
            raise ConfigError(
                f"{p}:{n}: not a labelled request ({str(exc).splitlines()[0]}); each line needs at least "
                '{"query": "...", "workflow": "search_qa"}'
            ) from exc
    return out


def load_heldout(path: str | Path = HELDOUT_PATH) -> list[LabelledExample]:
    """The independent held-out set. For the final benchmark and the CI floor only - never for tuning."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"held-out router file {p} not found")
    return _read(p)


def near_duplicate_groups(texts: Sequence[str], threshold: float = 0.8) -> np.ndarray:
    """Group id per text: texts whose character 3-5-gram vectors have cosine >= ``threshold`` share a group
    (connected components, so near-copies of near-copies join too)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import HashingVectorizer

    if not texts:
        return np.zeros(0, dtype=np.int64)
    vec = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=2**18, alternate_sign=False)
    x = vec.transform([" ".join(t.lower().split()) for t in texts])
    sims = (x @ x.T).tocoo()
    keep = sims.data >= threshold
    from scipy.sparse import coo_matrix

    graph = coo_matrix((np.ones(int(keep.sum())), (sims.row[keep], sims.col[keep])), shape=sims.shape)
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def split_train_validation(
    examples: Sequence[LabelledExample], *, validation_share: float = 0.2, seed: int = 0
) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(train, validation): stratified by workflow, whole near-duplicate groups on one side, deterministic."""
    from sklearn.model_selection import StratifiedGroupKFold

    if not 0.0 < validation_share < 1.0:
        raise ConfigError(f"validation_share must be in (0, 1), got {validation_share}")
    if len(examples) < 10:
        raise ConfigError(f"cannot carve a validation split out of {len(examples)} examples; need at least 10")
    n_splits = max(2, round(1.0 / validation_share))
    groups = near_duplicate_groups([e.query for e in examples])
    labels = [e.workflow for e in examples]
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train_idx, val_idx = next(folds.split(np.zeros(len(examples)), labels, groups))
    train = [examples[i].model_copy(update={"split": "train"}) for i in train_idx]
    val = [examples[i].model_copy(update={"split": "validation"}) for i in val_idx]
    return train, val
