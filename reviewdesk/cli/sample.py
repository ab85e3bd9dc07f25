"""Commands for batches: sample a queue, publish a batch to reviewers, list and show batches."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from reviewdesk.cli.main import (
    JsonOption,
    QueueFilter,
    app,
    handle_errors,
    open_review_store,
    open_warehouse,
    out,
    print_listing,
    settings,
)  # fmt: skip
from reviewdesk.cli.tables import new_table

if TYPE_CHECKING:
    from reviewdesk.review.publication import PublishReport
    from reviewdesk.stores.warehouse import Warehouse
    from schemas.queue import QueueConfig

batches_app = typer.Typer(help="Sampled batches of review items.", no_args_is_help=True)
app.add_typer(batches_app, name="batches")
PUBLISH_HELP = "Publish the batch to reviewers in this run too, as `reviewdesk publish` would after it."
BatchArgument = Annotated[str, typer.Argument(help="The batch's id (see `reviewdesk batches list`).")]


@app.command("sample")
@handle_errors
def sample_cmd(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="Queue name (a file in the queues folder).")],
    size: Annotated[int | None, typer.Option("--size", min=1, help="Items (default: the queue's size).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Same seed and data, same batch.")] = None,
    then_publish: Annotated[bool, typer.Option("--publish", help=PUBLISH_HELP)] = False,
    as_json: JsonOption = False,
) -> None:
    """Draw a batch for a queue, recording each item's inclusion probability."""
    from reviewdesk.queues import get_queue
    from reviewdesk.sample.designs import draw_batch

    config = get_queue(queue, settings(ctx).queues_dir)
    with open_warehouse(ctx) as wh:
        batch = draw_batch(wh, config, size=size, seed=seed, items=as_json)
        report = _publish(ctx, wh, config, batch.batch_id) if then_publish else None
    if as_json:
        published = {"publication": report.as_dict()} if report else {}
        print(json.dumps(batch.as_dict() | published, default=str))
        return
    gold = batch.item_count - batch.size
    out.print(
        f"Batch [bold]{batch.batch_id}[/bold] of {config.name}: {batch.size:,} items drawn ({batch.strategy}, "
        f"seed {batch.seed}) from a population of {batch.population:,}, plus {gold} gold items."
    )
    if batch.kind == "pairwise":
        out.print(_skipped(batch.identical_skipped))
    if report:
        _tell_published(report, batch_id=batch.batch_id, queue=config.name)
    else:
        out.print(f"Next: [bold]reviewdesk publish {batch.batch_id}[/bold] sends it to reviewers.")


@app.command("publish")
@handle_errors
def publish_cmd(ctx: typer.Context, batch_id: BatchArgument, as_json: JsonOption = False) -> None:
    """Publish a batch to the review store; publishing it again changes nothing."""
    from reviewdesk.queues import get_queue
    from reviewdesk.sample.batches import load_batch

    with open_warehouse(ctx) as wh:
        batch = load_batch(wh, batch_id, items=False)
        queue = get_queue(batch.queue, settings(ctx).queues_dir)
        report = _publish(ctx, wh, queue, batch_id)
    if as_json:
        print(json.dumps(report.as_dict() | {"identical_pairs_skipped": batch.identical_skipped}, default=str))
        return
    _tell_published(report, batch_id=batch_id, queue=queue.name)
    if batch.kind == "pairwise":
        out.print(_skipped(batch.identical_skipped))


def _publish(ctx: typer.Context, wh: Warehouse, queue: QueueConfig, batch_id: str) -> PublishReport:
    from reviewdesk.review.publication import publish

    with open_review_store(ctx) as store:
        return publish(wh, store, queue, batch_id)


def _tell_published(report: PublishReport, *, batch_id: str, queue: str) -> None:
    if report.already_published:
        out.print(f"Batch {batch_id} was already published ({report.items:,} items); nothing changed.")
    else:
        out.print(f"Published {report.published:,} items of batch {batch_id} to queue {queue}.")


def _skipped(identical: int) -> str:
    """The line that says how many identical pairs sampling left out of a pairwise batch's population."""
    return (f"{identical:,} pairs left out of the population: their two answers are identical "
            "(after whitespace normalisation), so there was nothing to compare.")  # fmt: skip


@batches_app.command("list")
@handle_errors
def list_cmd(ctx: typer.Context, queue: QueueFilter = None, as_json: JsonOption = False) -> None:
    """List batches, newest first."""
    from reviewdesk.sample.batches import list_batches

    print_listing(ctx, lambda wh: list_batches(wh, queue), as_json, _batch_table)


def _batch_table(found: list[dict]) -> Table:
    headers = ("batch", "queue", "strategy", "seed", "population", "items", "created", "published")
    table = new_table(*headers, keys=("batch", "queue"), title="Batches")
    for b in found:
        table.add_row(
            b["batch_id"], b["queue"], b["strategy"], str(b["seed"]), f"{b['population']:,}", f"{b['items']:,}",
            f"{b['created_at']:%Y-%m-%d %H:%M}", f"{b['published_at']:%Y-%m-%d %H:%M}" if b["published_at"] else "-",
        )  # fmt: skip
    return table


@batches_app.command("show")
@handle_errors
def show(ctx: typer.Context, batch_id: BatchArgument, as_json: JsonOption = False) -> None:
    """Show a batch: how it was drawn and its items with their inclusion probabilities and suggestions."""
    from reviewdesk.sample.batches import load_batch

    with open_warehouse(ctx) as wh:
        batch = load_batch(wh, batch_id)
    if as_json:
        print(json.dumps(batch.as_dict(), default=str))
        return
    out.print(
        f"[bold]{batch.batch_id}[/bold] of {batch.queue}: {batch.strategy}, seed {batch.seed}, "
        f"population {batch.population:,}, {batch.size:,} items, drawn {batch.created_at:%Y-%m-%d %H:%M}"
    )
    table = new_table("item", "runs", "inclusion probability", "gold", "suggestions")
    for item in batch.items[:50]:
        runs = item.get("run_id") or f"{item.get('run_a')} vs {item.get('run_b')}"
        p = item.get("inclusion_probability")
        shown = batch.suggestions.get(item["item_id"], {}).items()
        suggested = ", ".join(f"{k}={v['value']} ({v['confidence']:.0%})" for k, v in shown)
        table.add_row(item["item_id"], runs, "-" if p is None else f"{p:.4f}", "yes" if item.get("is_gold") else "",
                      suggested)  # fmt: skip
    out.print(table)
    if len(batch.items) > 50:
        out.print(f"... and {len(batch.items) - 50:,} more; --json gives them all.")
