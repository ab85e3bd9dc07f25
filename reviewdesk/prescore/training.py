"""Training: a classifier per criterion on a queue's consensus labels, each fit registered as a new model
version (files under `data/models/`, a row in the warehouse's `models` table; see
`reviewdesk.prescore.trained`, which loads and serves them).

- A criterion is trained once it has `MIN_LABELS` consensus labels; answers given fewer than
  `MIN_CLASS_LABELS` times are left out of training (the model never suggests them).
- Training again on the same labels (same fingerprint: labels, criterion, classifier and
  `FEATURES_VERSION`) is a no-op.
- Cross-validation (3 folds, at most `CV_MAX_ROWS` labels) gives accuracy, macro-F1, Brier score and
  log loss, beside the majority-class baseline's on the same folds; a model serves only when it beats
  the baseline's accuracy.

The model: hashed TF-IDF and run features (`reviewdesk.prescore.features`, fitted once per training run and
shared by its criteria) into a logistic-loss linear classifier (SGD), calibrated with Platt scaling
over 3 folds (`CalibratedClassifierCV`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from reviewdesk.errors import ConfigError
from reviewdesk.prescore.contracts import scorable
from reviewdesk.prescore.features import FEATURES_VERSION, RUN_SELECT, feature_pipeline, prepared, runs_frame
from reviewdesk.prescore.trained import MODEL_COLUMNS, file_sha256, latest_models
from reviewdesk.stores.values import typed
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig
from schemas.rubric import Criterion

MIN_LABELS = 30
MIN_CLASS_LABELS = 6
CV_FOLDS = 3
CV_MAX_ROWS = 10_000
CLASSIFIER = (
    "CalibratedClassifierCV(SGDClassifier(loss='log_loss', alpha=1e-4), method='sigmoid', cv=3, ensemble=False)"
)


@dataclass(frozen=True)
class TrainResult:
    """What training did for one criterion: `trained` a new version, `unchanged` (no new labels) or `skipped`."""

    queue: str
    criterion: str
    status: str
    reason: str = ""
    model: dict[str, Any] | None = None  # the registry row of the version now latest
    serving: str = "heuristic"  # what suggests this criterion's answers now: a model version, or the heuristic

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Criterion:
    criterion: Criterion
    fingerprint: str
    labels: int
    latest: dict[str, Any] | None = None
    values: dict[str, str] = field(default_factory=dict)  # item_id -> label text


def classifier(seed: int = 0) -> CalibratedClassifierCV:
    """The unfitted classifier every criterion gets."""
    return CalibratedClassifierCV(
        SGDClassifier(loss="log_loss", alpha=1e-4, random_state=seed), method="sigmoid", cv=3, ensemble=False
    )


def model_version(queue: str, criterion: str, version: int) -> str:
    """The name a registered version goes by in suggestions and reports."""
    return f"sklearn:{queue}/{criterion}/v{version}"


def _fingerprints(wh: Warehouse, queue: QueueConfig, criteria: list[Criterion]) -> dict[str, tuple[str, int]]:
    """Per criterion, a digest of its consensus labels (item and value) and their count."""
    rows = dict(
        (key, (digest, n))
        for key, digest, n in wh.execute(
            """SELECT criterion, md5(string_agg(item_id || chr(31) || value, chr(30) ORDER BY item_id)), count(*)
               FROM consensus c WHERE queue = ? AND value IS NOT NULL AND step_run_id = ''
                 AND item_id IN (SELECT item_id FROM items WHERE queue = c.queue AND run_id IS NOT NULL)
               GROUP BY criterion""",
            [queue.name],
        )
    )
    out = {}
    for c in criteria:
        digest, n = rows.get(c.key, ("", 0))
        spec = json.dumps([FEATURES_VERSION, CLASSIFIER, c.model_dump(mode="json"), digest], sort_keys=True)
        out[c.key] = (hashlib.sha256(spec.encode()).hexdigest()[:16], n)
    return out


def wants_models(queue: QueueConfig) -> bool:
    """Whether the queue is pre-scored by trained models: a single queue, scorer sklearn, a criterion to learn."""
    return queue.kind == "single" and queue.prescore.scorer == "sklearn" and bool(scorable(queue))


def trainable(queue: QueueConfig) -> list[Criterion]:
    """The queue's criteria a model is trained for; a clear error when there are none."""
    if queue.kind != "single":
        raise ConfigError(
            f"Queue {queue.name!r} is {queue.kind}: models are trained for single queues, whose items are one run."
        )
    criteria = scorable(queue)
    if not criteria:
        raise ConfigError(
            f"Queue {queue.name!r} has no categorical, ordinal or boolean criterion: there is nothing to train."
        )
    return criteria


def train_queue(
    wh: Warehouse,
    queue: QueueConfig,
    models_dir: Path,
    seed: int = 0,
    min_labels: int = MIN_LABELS,
    now: datetime | None = None,
) -> list[TrainResult]:
    """Train a new model version for each criterion whose consensus labels changed since the last one."""
    criteria = trainable(queue)
    latest = latest_models(wh, queue.name)
    plans, results = [], {}
    fingerprints = _fingerprints(wh, queue, criteria)
    for c in criteria:
        fingerprint, n = fingerprints[c.key]
        plan = _Criterion(c, fingerprint, n, latest.get(c.key))
        if n < min_labels:
            results[c.key] = TrainResult(queue.name, c.key, "skipped", f"{n} consensus labels; {min_labels} needed",
                                         plan.latest, _serving(plan.latest))  # fmt: skip
        elif plan.latest is not None and plan.latest["fingerprint"] == fingerprint:
            results[c.key] = TrainResult(queue.name, c.key, "unchanged", "no new labels since this version",
                                         plan.latest, _serving(plan.latest))  # fmt: skip
        else:
            plans.append(plan)
    if plans:
        for result in _train(wh, queue, plans, models_dir, seed, now or datetime.now(UTC)):
            results[result.criterion] = result
    return [results[c.key] for c in criteria]


def _serving(record: dict[str, Any] | None) -> str:
    return record["model_version"] if record is not None and record["beats_baseline"] else "heuristic"


def _train(
    wh: Warehouse, queue: QueueConfig, plans: list[_Criterion], models_dir: Path, seed: int, now: datetime
) -> list[TrainResult]:
    """Fit the features once on every labelled run, then a classifier per criterion; register each."""
    started = time.perf_counter()
    keys = [p.criterion.key for p in plans]
    for key, item_id, value in wh.execute(
        "SELECT criterion, item_id, value FROM consensus WHERE queue = ? AND criterion IN (SELECT unnest(?)) "
        "AND value IS NOT NULL AND step_run_id = ''",
        [queue.name, keys],
    ):
        next(p for p in plans if p.criterion.key == key).values[item_id] = value
    rows = wh.execute(
        f"""SELECT i.item_id, {RUN_SELECT} FROM items i JOIN runs r ON r.run_id = i.run_id
            WHERE i.queue = ? AND i.item_id IN (SELECT item_id FROM consensus WHERE queue = ? AND criterion IN
            (SELECT unnest(?))) ORDER BY i.item_id""",
        [queue.name, queue.name, keys],
    )
    item_ids = [r[0] for r in rows]
    frame = prepared(runs_frame([r[1:] for r in rows]))
    features = feature_pipeline()
    matrix = features.fit_transform(frame)
    features_id = hashlib.sha256("|".join(sorted(p.fingerprint for p in plans)).encode()).hexdigest()[:16]
    shared_seconds = time.perf_counter() - started
    position = {item_id: i for i, item_id in enumerate(item_ids)}
    results = []
    for plan in plans:
        t0 = time.perf_counter()
        pairs = [(position[i], v) for i, v in sorted(plan.values.items()) if i in position]
        counts = pd.Series([v for _, v in pairs]).value_counts()
        kept = set(counts[counts >= MIN_CLASS_LABELS].index)
        if len(kept) < 2:
            results.append(TrainResult(queue.name, plan.criterion.key, "skipped",
                                       f"fewer than two answers given {MIN_CLASS_LABELS}+ times ({counts.to_dict()})",
                                       plan.latest, _serving(plan.latest)))  # fmt: skip
            continue
        idx = np.array([i for i, v in pairs if v in kept])
        y = np.array([v for _, v in pairs if v in kept], dtype=object)
        metrics = _cross_validate(matrix[idx], y, seed)
        clf = classifier(seed).fit(matrix[idx], y)
        metrics |= {
            "features": FEATURES_VERSION, "classifier": CLASSIFIER, "features_id": features_id,
            "classes": [str(v) for v in clf.classes_],
            "dropped_answers": {str(k): int(n) for k, n in counts.items() if k not in kept},
        }  # fmt: skip
        seconds = shared_seconds + time.perf_counter() - t0
        record = _register(wh, queue, plan, models_dir, features, clf, features_id, y, metrics, seconds, now)
        results.append(TrainResult(queue.name, plan.criterion.key, "trained", "", record, _serving(record)))
    return results


def _scores(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    predicted = classes[proba.argmax(axis=1)]
    onehot = (y[:, None] == classes[None, :]).astype(float)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "brier": float(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
        "log_loss": float(log_loss(y, np.clip(proba, 1e-15, 1), labels=classes)),
    }


def _cross_validate(x: Any, y: np.ndarray, seed: int) -> dict[str, Any]:
    """CV metrics of the model and of the majority-class baseline, on the same folds (and subsample)."""
    rng = np.random.default_rng(seed)
    if len(y) > CV_MAX_ROWS:  # a stratified subsample: the metrics' standard error is already small
        take = np.sort(np.concatenate([
            rng.choice(np.flatnonzero(y == v), max(CV_FOLDS, round(CV_MAX_ROWS * np.mean(y == v))), replace=False)
            for v in np.unique(y)
        ]))  # fmt: skip
        x, y = x[take], y[take]
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    classes = np.unique(y)
    model = cross_val_predict(classifier(seed), x, y, cv=folds, method="predict_proba")
    prior = cross_val_predict(DummyClassifier(strategy="prior"), x, y, cv=folds, method="predict_proba")
    cv, baseline = _scores(y, model, classes), _scores(y, prior, classes)
    return {
        "cv": {"folds": CV_FOLDS, "rows": len(y), **cv},
        "baseline": {"strategy": "majority class", **baseline},
        "beats_baseline": cv["accuracy"] > baseline["accuracy"],
    }


def _register(
    wh: Warehouse,
    queue: QueueConfig,
    plan: _Criterion,
    models_dir: Path,
    features: Any,
    clf: Any,
    features_id: str,
    y: np.ndarray,
    metrics: dict[str, Any],
    seconds: float,
    now: datetime,
) -> dict[str, Any]:
    """Write the version's files (atomically), then its registry row; return the row."""
    key = plan.criterion.key
    version = (
        wh.scalar("SELECT max(version) FROM models WHERE queue = ? AND criterion = ?", [queue.name, key]) or 0
    ) + 1
    relative = Path(queue.name) / key / f"v{version}"
    folder = models_dir / relative
    folder.mkdir(parents=True, exist_ok=True)
    name = model_version(queue.name, key, version)
    values = [typed(str(v), plan.criterion) for v in clf.classes_]
    bundle = {"criterion": key, "model_version": name, "features": features, "features_id": features_id,
              "classifier": clf, "values": values}  # fmt: skip
    tmp = folder / "model.joblib.tmp"
    joblib.dump(bundle, tmp, compress=3)
    os.replace(tmp, folder / "model.joblib")
    digest = file_sha256(folder / "model.joblib")
    distribution = {str(k): int(n) for k, n in pd.Series(y).value_counts().sort_index().items()}
    record = {
        "queue": queue.name, "criterion": key, "version": version, "model_version": name, "path": str(relative),
        "sha256": digest, "fingerprint": plan.fingerprint, "n_train": len(y), "label_distribution": distribution,
        "metrics": metrics, "beats_baseline": bool(metrics["beats_baseline"]), "train_seconds": round(seconds, 3),
        "trained_at": now,
    }  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps({**record, "trained_at": now.isoformat()}, indent=2) + "\n")
    wh.execute(
        f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}) VALUES ({', '.join('?' * len(MODEL_COLUMNS))})",
        [json.dumps(record[c]) if c in ("label_distribution", "metrics") else record[c] for c in MODEL_COLUMNS],
    )
    return record


__all__ = [
    "MIN_CLASS_LABELS",
    "MIN_LABELS",
    "TrainResult",
    "train_queue",
    "trainable",
    "wants_models",
]
