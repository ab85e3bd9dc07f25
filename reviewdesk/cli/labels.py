"""The collect and consensus commands: validated labels into the warehouse, then resolved per item."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reviewdesk.cli.main import JsonOption, app, handle_errors, open_review_store, open_warehouse, out, progress_bar
from reviewdesk.cli.tables import new_table


@app.command("collect")
@handle_errors
def collect_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Load new submissions as labels; invalid ones are kept with their reasons. Safe to rerun."""
    from reviewdesk.labels.collection import collect

    with open_warehouse(ctx) as wh, open_review_store(ctx) as store, progress_bar(as_json) as bar:
        task = bar.add_task("Collecting submissions", total=None)
        result = collect(store, wh, tick=lambda n: bar.update(task, completed=n))
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        out.print(
            f"Read {result.read:,} submissions: {result.loaded:,} loaded as {result.labels:,} labels, "
            f"{result.rejected:,} rejected"
            + (f"; {result.flag_only:,} flagged instead of rated (no labels)" if result.flag_only else "")
            + f". Watermark: submission {result.watermark:,}."
        )
    if result.rejected:  # exit 1: some records rejected, as for ingest
        if not as_json:
            out.print("Their reasons are in the warehouse table rejected_submissions.")
        raise typer.Exit(1)


@app.command("consensus")
@handle_errors
def consensus_cmd(
    ctx: typer.Context,
    queue: Annotated[str | None, typer.Argument(help="A published queue (default: every one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve collected labels into consensus; disagreements go to the leads' adjudication list."""
    from reviewdesk.labels.consensus import METHODS
    from reviewdesk.labels.resolve import resolve_queue

    with open_warehouse(ctx) as wh, open_review_store(ctx) as store:
        names = [queue] if queue else list(store.published_counts())
        results = [resolve_queue(store, wh, name) for name in names]
    if as_json:
        print(json.dumps([r.as_dict() for r in results]))
        return
    table = new_table("queue", "items judged", *METHODS, "opened now", "open cases", title="Consensus")
    for r in results:
        table.add_row(r.queue, f"{r.items:,}", *(f"{r.methods.get(m, 0):,}" for m in METHODS), f"{r.opened:,}",
                      f"{r.backlog:,}")  # fmt: skip
    out.print(table)
    if any(r.backlog for r in results):
        out.print("Leads decide open cases on the app's Adjudication page; run this again to take them in.")
