"""Trained models: the registry's records, loading a version safely, and the `sklearn` scorer they serve in.

Layout: `data/models/<queue>/<criterion>/v<N>/model.joblib` and `metrics.json`; the warehouse's
`models` table holds one row per version (metrics, the file's SHA-256, the training set's
fingerprint). Versions are written by `reviewdesk.prescore.training`. A model serves only when its
cross-validated accuracy beat the majority-class baseline's; otherwise the heuristic does. A model
file that is missing, or whose bytes differ from the recorded SHA-256, or that does not load, falls
back to the heuristic with a warning that says how to retrain.

Why `FEATURES_VERSION` (`reviewdesk.prescore.features`) must be bumped when a pickled name moves: a
model file is a pickle, which names the module path of every function and class in it, ours included
(`features.numbers`, under the feature pipeline's FunctionTransformer). Move or rename one and every
model saved before no longer loads. The training-set fingerprint includes FEATURES_VERSION, so the
bump is what makes the next `reviewdesk models train` (or the nightly retrain) train a new version
instead of answering "unchanged" for labels it already trained on; until then the old version falls
back to the heuristic with a warning. (Moving the flat modules into `reviewdesk.prescore` made
`reviewdesk.features.numbers` unloadable: hence features-2.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from reviewdesk.prescore.contracts import Scorer, Suggestion, scorable
from reviewdesk.prescore.features import prepared
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

MODEL_COLUMNS = ("queue", "criterion", "version", "model_version", "path", "sha256", "fingerprint", "n_train",
                 "label_distribution", "metrics", "beats_baseline", "train_seconds", "trained_at")  # fmt: skip


@dataclass
class LoadedModel:
    """A trained model ready to predict: its features, classifier and the typed value of each class."""

    criterion: str
    model_version: str
    features: Any
    features_id: str
    classifier: Any
    values: list[Any]


@dataclass
class SklearnScorer:
    """Trained models for some criteria, a fallback (the heuristic) for the rest (see `serving`)."""

    models: dict[str, LoadedModel]
    fallback: Scorer
    name: str = "sklearn"
    warnings: list[str] = field(default_factory=list)

    def score(self, runs: pd.DataFrame) -> list[dict[str, Suggestion]]:
        out = self.fallback.score(runs)
        for row in out:
            for key in self.models:
                row.pop(key, None)
        if not self.models or runs.empty:
            return out
        frame = prepared(runs)
        matrices: dict[str, Any] = {}  # models trained together share their features: transform once
        for key, m in self.models.items():
            if m.features_id not in matrices:
                matrices[m.features_id] = m.features.transform(frame)
            proba = m.classifier.predict_proba(matrices[m.features_id])
            best = proba.argmax(axis=1)
            for row, k, p in zip(out, best, proba[np.arange(len(best)), best], strict=True):
                row[key] = Suggestion(m.values[k], round(float(p), 4), m.model_version)
        return out

    def versions(self) -> dict[str, str]:
        return self.fallback.versions() | {k: m.model_version for k, m in self.models.items()}


def list_models(wh: Warehouse, queue: str | None = None) -> list[dict[str, Any]]:
    """Every registered model version, by queue, criterion and version (newest last)."""
    rows = wh.execute(
        f"SELECT {', '.join(MODEL_COLUMNS)} FROM models WHERE $queue IS NULL OR queue = $queue "
        "ORDER BY queue, criterion, version",
        {"queue": queue},
    )
    out = []
    for row in rows:
        record = dict(zip(MODEL_COLUMNS, row, strict=True))
        record["label_distribution"] = json.loads(record["label_distribution"])
        record["metrics"] = json.loads(record["metrics"])
        out.append(record)
    return out


def latest_models(wh: Warehouse, queue: str) -> dict[str, dict[str, Any]]:
    """The newest registered version of each of the queue's criteria."""
    return {m["criterion"]: m for m in list_models(wh, queue)}


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read a block at a time."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_model(record: dict[str, Any], models_dir: Path) -> LoadedModel:
    """A registered version, loaded once its bytes match the recorded SHA-256; OSError or ValueError if not."""
    path = models_dir / record["path"] / "model.joblib"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    if file_sha256(path) != record["sha256"]:
        raise ValueError(f"{path} differs from the file registered at training (SHA-256 mismatch)")
    bundle = joblib.load(path)
    if not isinstance(bundle, dict) or not {"features", "classifier", "values", "features_id"} <= set(bundle):
        raise ValueError(f"{path} does not hold a reviewdesk model")
    return LoadedModel(record["criterion"], record["model_version"], bundle["features"], bundle["features_id"],
                       bundle["classifier"], list(bundle["values"]))  # fmt: skip


def serving(wh: Warehouse, queue: QueueConfig, models_dir: Path) -> tuple[dict[str, LoadedModel], list[str]]:
    """The models that serve the queue's criteria now, and a warning for each one that could not be loaded."""
    if queue.kind != "single":
        return {}, []
    loaded: dict[str, LoadedModel] = {}
    notes: list[str] = []
    shared: dict[str, Any] = {}  # features_id -> the first loaded features object: share it
    for key, record in latest_models(wh, queue.name).items():
        if key not in {c.key for c in scorable(queue)} or not record["beats_baseline"]:
            continue
        try:
            model = load_model(record, models_dir)
        except Exception as e:  # a corrupt pickle raises almost anything; none may stop pre-scoring
            notes.append(
                f"Model {record['model_version']} cannot be used ({type(e).__name__}: {e}); the heuristic suggests "
                f"{key} instead. Retrain with `reviewdesk models train {queue.name}`."
            )
            continue
        model.features = shared.setdefault(model.features_id, model.features)
        loaded[key] = model
    return loaded, notes


__all__ = [
    "MODEL_COLUMNS",
    "LoadedModel",
    "SklearnScorer",
    "file_sha256",
    "latest_models",
    "list_models",
    "load_model",
    "serving",
]
