"""Commands for pre-scoring: train and list models per criterion, and pre-score a batch's items."""

from __future__ import annotations

import json
import warnings
from typing import Annotated

import typer
from rich.table import Table

from reviewdesk.cli.main import (
    JsonOption,
    QueueFilter,
    app,
    err,
    handle_errors,
    open_review_store,
    open_warehouse,
    out,
    print_listing,
    progress_bar,
    settings,
)
from reviewdesk.cli.tables import new_table

models_app = typer.Typer(help="Pre-scoring models: train one per criterion, list the registry.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _num(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


@models_app.command("train")
@handle_errors
def train_cmd(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="A single queue with collected consensus labels.")],
    min_labels: Annotated[
        int | None,
        typer.Option("--min-labels", min=2, help="Consensus labels a criterion needs to be trained (default 30)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed and labels, same model and folds.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Train a model per criterion on the queue's consensus labels (a no-op for criteria without new labels)."""
    from reviewdesk.prescore.training import MIN_LABELS, train_queue
    from reviewdesk.queues import get_queue

    s = settings(ctx)
    config = get_queue(queue, s.queues_dir)
    with open_warehouse(ctx) as wh:
        results = train_queue(wh, config, s.models_dir, seed=seed, min_labels=min_labels or MIN_LABELS)
    if as_json:
        print(json.dumps({"queue": queue, "criteria": [r.as_dict() for r in results]}, default=str))
        return
    table = new_table("criterion", "status", "v", "labels", "CV acc.", "baseline", "suggested by",
                  title=f"Models of {queue}")  # fmt: skip
    for r in results:
        m = r.model or {}
        cv, base = m.get("metrics", {}).get("cv", {}), m.get("metrics", {}).get("baseline", {})
        by = "heuristic" if r.serving == "heuristic" else f"model v{m['version']}"
        table.add_row(r.criterion, r.status, str(m.get("version", "-")), f"{m['n_train']:,}" if m else "-",
                      _num(cv.get("accuracy")), _num(base.get("accuracy")), by)  # fmt: skip
    out.print(table)
    for r in results:
        if r.reason:
            out.print(f"{r.criterion}: {r.reason}.")
    out.print("A model serves only where it beats the majority baseline. "
              "Next: [bold]reviewdesk prescore BATCH_ID[/bold].")  # fmt: skip


@models_app.command("list")
@handle_errors
def list_cmd(ctx: typer.Context, queue: QueueFilter = None, as_json: JsonOption = False) -> None:
    """List every trained model version with its training size and cross-validated metrics."""
    from reviewdesk.prescore.trained import list_models

    print_listing(ctx, lambda wh: list_models(wh, queue), as_json, _model_table,
                  "No models yet: `reviewdesk models train QUEUE` once a queue has consensus labels.")  # fmt: skip


def _model_table(found: list[dict]) -> Table:
    latest = {(m["queue"], m["criterion"]): m["version"] for m in found}
    table = new_table("queue", "criterion", "v", "labels", "CV acc.", "baseline", "serves",
                  title="Models (--json adds macro-F1, Brier, log loss, labels and training time)")  # fmt: skip
    for m in found:
        cv, base = m["metrics"]["cv"], m["metrics"]["baseline"]
        serves = "yes" if latest[m["queue"], m["criterion"]] == m["version"] and m["beats_baseline"] else ""
        table.add_row(m["queue"], m["criterion"], str(m["version"]), f"{m['n_train']:,}", _num(cv["accuracy"]),
                      _num(base["accuracy"]), serves)  # fmt: skip
    return table


@app.command("prescore")
@handle_errors
def prescore_cmd(
    ctx: typer.Context,
    batch_id: Annotated[str, typer.Argument(help="Batch to pre-score (see `reviewdesk batches list`).")],
    scorer: Annotated[
        str | None,
        typer.Option("--scorer", help="sklearn, heuristic or http_judge (default: the queue's prescore.scorer)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Suggest answers for every item of a batch; a published batch's untouched items get them in the app too."""
    from reviewdesk.prescore.contracts import ModelFallbackWarning
    from reviewdesk.prescore.factory import get_scorer
    from reviewdesk.prescore.run import prescore_batch
    from reviewdesk.queues import get_queue
    from reviewdesk.sample.batches import load_batch

    s = settings(ctx)
    with open_warehouse(ctx) as wh, open_review_store(ctx) as store, progress_bar(as_json) as bar:
        config = get_queue(load_batch(wh, batch_id, items=False).queue, s.queues_dir)
        with warnings.catch_warnings():  # the report lists them; print each once
            warnings.simplefilter("ignore", ModelFallbackWarning)
            chosen = get_scorer(scorer, config, wh, s.models_dir)
        task = bar.add_task(f"Pre-scoring {batch_id}", total=None)
        report = prescore_batch(wh, config, batch_id, chosen, store, tick=lambda n: bar.update(task, completed=n))
    if as_json:
        print(json.dumps(report.as_dict(), default=str))
        return
    for warning in report.warnings:
        err.print(f"[yellow]Warning:[/yellow] {warning}")
    if report.note:
        out.print(f"Batch {batch_id}: nothing scored ({report.note}).")
        return
    versions = ", ".join(f"{k}: {v}" for k, v in report.versions.items()) or "no criterion it can judge"
    out.print(f"Pre-scored batch {batch_id} with {report.scorer}: {report.scored:,} of {report.items:,} items got "
              f"suggestions ({versions}).")  # fmt: skip
    for reason, n in report.unscored.items():
        out.print(f"{n:,} items got none: {reason}.")
    if report.kept or report.pushed:
        out.print(f"Review store: {report.pushed:,} published items updated; {report.kept:,} already taken or reviewed "
                  "kept the suggestions they were shown.")  # fmt: skip
    else:
        out.print(f"Next: [bold]reviewdesk publish {batch_id}[/bold] carries them to reviewers.")
