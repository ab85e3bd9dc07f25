"""The model registry on demo data with simulated consensus labels: a trained model beats the majority
baseline on the demo truth by a margin; versions, metrics and files; no-op retraining; a missing or
corrupt model file falls back to the heuristic with a warning; and a model saved before the stage packages
(tests/fixtures/model-before-stage-packages.joblib) falls back likewise until a retrain replaces it."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from collections import Counter
from pathlib import Path

import joblib
import pytest
from demo_support import qualify_demo_reviewers

from reviewdesk.config import Settings
from reviewdesk.demo.run import run_demo
from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.errors import ConfigError
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.prescore.contracts import ModelFallbackWarning
from reviewdesk.prescore.factory import get_scorer
from reviewdesk.prescore.heuristic import HEURISTIC_VERSION
from reviewdesk.prescore.run import prescore_batch
from reviewdesk.prescore.trained import list_models, load_model, serving
from reviewdesk.prescore.training import MIN_LABELS, _fingerprints, train_queue, trainable
from reviewdesk.queues import get_queue
from reviewdesk.review.publication import publish
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "support-quality"
OLD_MODEL = ROOT / "tests" / "fixtures" / "model-before-stage-packages.joblib"  # pickles reviewdesk.features.numbers
MARGIN = 0.12  # over the majority-class baseline, in accuracy against the demo truth


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """4,000 demo runs; 800 support items reviewed by simulated reviewers (85% accurate), collected, resolved
    and trained on; then a held-out batch of 300 runs pre-scored by the trained models."""
    settings = Settings.load(tmp_path_factory.mktemp("models") / "data", ROOT / "queues")
    run_demo(settings, runs=4000, seed=5, simulate=False)
    qualify_demo_reviewers(settings.data_dir)
    queue = get_queue(QUEUE, settings.queues_dir)
    with Warehouse(settings.warehouse_path) as wh, ReviewStore(settings.review_url) as store:
        publish(wh, store, queue, draw_batch(wh, queue, size=600, seed=3).batch_id)
        simulate_reviews(store, wh, QUEUE, reviewers=3, accuracy=0.85, seed=1)
        collect(store, wh)
        resolve_queue(store, wh, QUEUE)
        results = train_queue(wh, queue, settings.models_dir)
        held_out = draw_batch(wh, queue, size=300, seed=4).batch_id
        report = prescore_batch(wh, queue, held_out, get_scorer("sklearn", queue, wh, settings.models_dir))
    yield settings, queue, results, held_out, report


def test_trained_models_beat_the_majority_baseline_on_the_demo_truth_by_a_margin(trained):
    settings, _, results, held_out, report = trained
    assert [r.status for r in results] == ["trained", "trained"]
    assert report.scored == report.items and report.versions == {
        "correctness": f"sklearn:{QUEUE}/correctness/v1", "helpfulness": f"sklearn:{QUEUE}/helpfulness/v1"}  # fmt: skip
    with Warehouse(settings.warehouse_path) as wh:
        rows = wh.execute(
            """SELECT s.criterion, s.value->>'$', json_extract_string(r.metadata, '$.demo_truth.' || s.criterion)
               FROM suggestions s JOIN items i USING (item_id) JOIN runs r USING (run_id)
               WHERE s.batch_id = ? AND NOT i.is_gold""",
            [held_out],
        )
        consensus = {key: Counter(v for (v,) in wh.execute("SELECT value FROM consensus WHERE criterion = ?", [key]))
                     for key in ("correctness", "helpfulness")}  # fmt: skip
    for key in ("correctness", "helpfulness"):
        pairs = [(suggested, truth) for k, suggested, truth in rows if k == key]
        majority = consensus[key].most_common(1)[0][0]  # what the majority-class baseline always answers
        model = sum(s == t for s, t in pairs) / len(pairs)
        baseline = sum(majority == t for _, t in pairs) / len(pairs)
        assert len(pairs) == 300 and model >= baseline + MARGIN, (key, model, baseline)


def test_each_version_is_registered_with_its_files_and_metrics(trained):
    settings, _, results, *_ = trained
    with Warehouse(settings.warehouse_path) as wh:
        listed = list_models(wh, QUEUE)
    assert [(m["criterion"], m["version"]) for m in listed] == [("correctness", 1), ("helpfulness", 1)]
    for m, r in zip(listed, results, strict=True):
        folder = settings.models_dir / QUEUE / m["criterion"] / "v1"
        assert m["path"] == f"{QUEUE}/{m['criterion']}/v1" and r.model["sha256"] == m["sha256"]
        assert hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest() == m["sha256"]
        assert json.loads((folder / "metrics.json").read_text())["metrics"] == m["metrics"]
        assert sum(m["label_distribution"].values()) == m["n_train"] >= 600
        cv, baseline = m["metrics"]["cv"], m["metrics"]["baseline"]
        assert set(cv) >= {"accuracy", "macro_f1", "brier", "log_loss"} and cv["rows"] == m["n_train"]
        assert m["beats_baseline"] and cv["accuracy"] > baseline["accuracy"] and m["train_seconds"] > 0
        assert r.serving == m["model_version"]


def test_training_again_without_new_labels_changes_nothing(trained):
    settings, queue, *_ = trained
    with Warehouse(settings.warehouse_path) as wh:
        before = list_models(wh)
        again = train_queue(wh, queue, settings.models_dir)
        assert [(r.status, r.reason) for r in again] == [("unchanged", "no new labels since this version")] * 2
        assert list_models(wh) == before
    assert sorted(p.name for p in (settings.models_dir / QUEUE / "correctness").iterdir()) == ["v1"]


def test_new_labels_make_a_new_version(trained, tmp_path: Path):
    settings, queue, *_ = trained
    shutil.copy(settings.warehouse_path, tmp_path / "w.duckdb")
    models = tmp_path / "models"
    shutil.copytree(settings.models_dir, models)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        item = wh.scalar("SELECT min(item_id) FROM consensus WHERE criterion = 'correctness'")
        wh.execute("UPDATE consensus SET value = 'incorrect' WHERE item_id = ? AND criterion = 'correctness'", [item])
        results = {r.criterion: r for r in train_queue(wh, queue, models)}
        assert (results["correctness"].status, results["helpfulness"].status) == ("trained", "unchanged")
        assert results["correctness"].model["version"] == 2 and (models / QUEUE / "correctness" / "v2").is_dir()


def test_a_missing_model_file_falls_back_to_the_heuristic_with_a_warning(trained, tmp_path: Path):
    settings, queue, *_ = trained
    with Warehouse(settings.warehouse_path) as wh:
        with pytest.warns(ModelFallbackWarning, match=r"model.joblib is missing.*reviewdesk models train"):
            scorer = get_scorer("sklearn", queue, wh, tmp_path / "empty")
        assert scorer.versions() == {"correctness": HEURISTIC_VERSION, "helpfulness": HEURISTIC_VERSION}
        assert len(scorer.warnings) == 2


def test_a_corrupt_model_file_falls_back_to_the_heuristic_with_a_warning(trained, tmp_path: Path):
    settings, queue, *_ = trained
    models = tmp_path / "models"
    shutil.copytree(settings.models_dir, models)
    (models / QUEUE / "correctness" / "v1" / "model.joblib").write_bytes(b"\x80\x04 not a pickle")
    with Warehouse(settings.warehouse_path) as wh:
        with pytest.warns(ModelFallbackWarning, match="correctness/v1 cannot be used .*SHA-256 mismatch"):
            scorer = get_scorer("sklearn", queue, wh, models)
        assert scorer.versions() == {"correctness": HEURISTIC_VERSION, "helpfulness": f"sklearn:{QUEUE}/helpfulness/v1"}
        record = next(m for m in list_models(wh, QUEUE) if m["criterion"] == "correctness")
    # Bytes that match a (forged) registry digest but do not unpickle raise, and `serving` would catch it.
    garbage = models / QUEUE / "correctness" / "v1" / "model.joblib"
    with pytest.raises(Exception):  # noqa: B017  (a corrupt pickle raises almost anything)
        load_model(record | {"sha256": hashlib.sha256(garbage.read_bytes()).hexdigest()}, models)
    joblib.dump({"not": "a model"}, garbage)
    forged = record | {"sha256": hashlib.sha256(garbage.read_bytes()).hexdigest()}
    with pytest.raises(ValueError, match="does not hold a reviewdesk model"):
        load_model(forged, models)


def test_a_model_saved_before_the_stage_packages_falls_back_until_a_retrain_replaces_it(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    settings, queue, _, held_out, _ = trained
    shutil.copy(settings.warehouse_path, tmp_path / "w.duckdb")
    models = tmp_path / "models"
    shutil.copytree(settings.models_dir, models)
    shutil.copy(OLD_MODEL, models / QUEUE / "correctness" / "v1" / "model.joblib")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        # The registry as the pre-move code left it: fingerprints under features-1, the old file's digest.
        with monkeypatch.context() as m:
            m.setattr("reviewdesk.prescore.training.FEATURES_VERSION", "features-1")
            for key, (fingerprint, _) in _fingerprints(wh, queue, trainable(queue)).items():
                wh.execute("UPDATE models SET fingerprint = ? WHERE queue = ? AND criterion = ?",
                           [fingerprint, QUEUE, key])  # fmt: skip
            wh.execute("UPDATE models SET sha256 = ? WHERE queue = ? AND criterion = 'correctness'",
                       [hashlib.sha256(OLD_MODEL.read_bytes()).hexdigest(), QUEUE])  # fmt: skip
            # Without the FEATURES_VERSION bump a retrain would keep the model that no longer loads.
            assert [r.status for r in train_queue(wh, queue, models)] == ["unchanged", "unchanged"]
        note = (r"sklearn:support-quality/correctness/v1 cannot be used \(ModuleNotFoundError: No module named "
                r"'reviewdesk\.features'\); the heuristic suggests correctness instead\. "
                r"Retrain with `reviewdesk models train support-quality`\.")  # fmt: skip
        with pytest.warns(ModelFallbackWarning, match=note):
            scorer = get_scorer("sklearn", queue, wh, models)
        fell_back = prescore_batch(wh, queue, held_out, scorer)
        helpfulness_v1 = f"sklearn:{QUEUE}/helpfulness/v1"  # loads: trained by the fixture, after the move
        assert fell_back.versions == {"correctness": HEURISTIC_VERSION, "helpfulness": helpfulness_v1}
        assert len(fell_back.warnings) == 1 and fell_back.scored == fell_back.items

        results = train_queue(wh, queue, models)  # features-2 now: the labels' fingerprints changed
        new = {"correctness": f"sklearn:{QUEUE}/correctness/v2", "helpfulness": f"sklearn:{QUEUE}/helpfulness/v2"}
        assert {r.criterion: (r.status, r.serving) for r in results} == {k: ("trained", v) for k, v in new.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("error", ModelFallbackWarning)
            report = prescore_batch(wh, queue, held_out, get_scorer("sklearn", queue, wh, models))
        assert report.warnings == [] and report.scored == report.items
        assert report.versions == new


def test_a_model_that_does_not_beat_the_baseline_never_serves(trained, tmp_path: Path):
    settings, queue, *_ = trained
    shutil.copy(settings.warehouse_path, tmp_path / "w.duckdb")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.execute("UPDATE models SET beats_baseline = false WHERE criterion = 'helpfulness'")
        loaded, notes = serving(wh, queue, settings.models_dir)
    assert list(loaded) == ["correctness"] and notes == []


def test_too_few_labels_skip_training_and_pairwise_queues_are_refused(tmp_path: Path):
    settings = Settings.load(tmp_path / "data", ROOT / "queues")
    with Warehouse(settings.warehouse_path) as wh:
        results = train_queue(wh, get_queue(QUEUE, settings.queues_dir), settings.models_dir)
        assert [(r.status, r.reason, r.serving) for r in results] == [
            ("skipped", f"0 consensus labels; {MIN_LABELS} needed", "heuristic")] * 2  # fmt: skip
        with pytest.raises(ConfigError, match="support-ab' is pairwise: models are trained for single queues"):
            train_queue(wh, get_queue("support-ab", settings.queues_dir), settings.models_dir)
