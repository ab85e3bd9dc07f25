"""The collect command: validated labels from the review store into the warehouse."""

from __future__ import annotations

import json

import typer

from reviewdesk.cli.app import JsonOption, app, handle_errors, open_warehouse, out, progress_bar, settings
from reviewdesk.collect import collect
from reviewdesk.reviewstore import ReviewStore


@app.command("collect")
@handle_errors
def collect_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Load new submissions as labels; invalid ones are kept with their reasons. Safe to rerun."""
    with open_warehouse(ctx) as wh, ReviewStore(settings(ctx).review_url) as store, progress_bar(as_json) as bar:
        task = bar.add_task("Collecting submissions", total=None)
        result = collect(store, wh, tick=lambda n: bar.update(task, completed=n))
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        out.print(
            f"Read {result.read:,} submissions: {result.loaded:,} loaded as {result.labels:,} labels, "
            f"{result.rejected:,} rejected. Watermark: submission {result.watermark:,}."
        )
    if result.rejected:  # exit 1: some records rejected, as for ingest
        if not as_json:
            out.print("Their reasons are in the warehouse table rejected_submissions.")
        raise typer.Exit(1)
