"""Commands for production logs: set up, ingest and quarantine.

Heavy libraries (DuckDB, pandas, pyarrow) are imported inside the commands, so `reviewdesk --help`
does not wait for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewdesk.cli.main import JsonOption, app, handle_errors, open_warehouse, out, progress_bar, settings
from reviewdesk.cli.tables import new_table
from reviewdesk.errors import ConfigError

if TYPE_CHECKING:
    from reviewdesk.ingest.stage import IngestReport


@app.command()
@handle_errors
def init(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create the data directory and bring the warehouse schema up to date."""
    with open_warehouse(ctx) as wh:
        applied = wh.migrate()
        migrations = wh.applied()
    s = settings(ctx)
    info = {"data_dir": str(s.data_dir), "warehouse": str(s.warehouse_path), "migrations": migrations,
            "applied_now": applied}  # fmt: skip
    if as_json:
        print(json.dumps(info))
    else:
        out.print(f"Data directory [bold]{s.data_dir}[/bold] ready; warehouse at {s.warehouse_path}.")
        out.print(f"Migrations applied now: {len(applied)}; in total: {len(migrations)}.")


@app.command("ingest")
@handle_errors
def ingest_cmd(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Log files to ingest (with --from phoenix: the server's URL).")],
    fmt: Annotated[str, typer.Option("--format", help="auto, native, langsmith or otel.")] = "auto",
    source: Annotated[str, typer.Option("--from", help="files, or phoenix: pull new spans from a Phoenix server.")] = (
        "files"
    ),
    project: Annotated[str | None, typer.Option("--project", help="With --from phoenix: the project.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest production logs into the warehouse; bad records go to quarantine with their reason.

    With --from phoenix, pull the spans a Phoenix server received since the last pull (PHOENIX_API_KEY if it
    needs one), keeping their trace and span ids.
    """
    if source == "phoenix":
        reports = [pull_from_phoenix(ctx, paths, project)]
    elif source == "files":
        from reviewdesk.ingest import ingest

        with open_warehouse(ctx) as wh, progress_bar(as_json) as progress:
            task = progress.add_task("Ingesting", total=len(paths))
            reports = ingest(wh, [Path(p) for p in paths], fmt, on_file=lambda _: progress.advance(task))
    else:
        raise ConfigError(f"Unknown --from {source!r}: use files or phoenix.")
    counts = totals(reports)
    if as_json:
        print(json.dumps(counts))
    else:
        print_reports(reports, counts)
    raise typer.Exit(1 if counts["rejected"] else 0)


@app.command()
@handle_errors
def quarantine(
    ctx: typer.Context,
    ingest_id: Annotated[str | None, typer.Option("--ingest", help="Only this ingest's records.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many records.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Show quarantined records: where they were, why they were refused, and their raw text."""
    from reviewdesk.ingest.overview import quarantined

    with open_warehouse(ctx) as wh:
        rows = quarantined(wh, ingest_id, limit)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = new_table("ingest", "source", "where", "reason", "raw")
    for r in rows:
        table.add_row(r["ingest_id"], r["source"], r["locator"], r["reason"], r["raw"][:80])
    out.print(table)


def pull_from_phoenix(ctx: typer.Context, urls: list[str], project: str | None) -> IngestReport:
    """`ingest --from phoenix URL --project P`: the spans added since the last pull."""
    import os

    from reviewdesk.ingest.phoenix import pull_phoenix

    if len(urls) != 1 or not project:
        raise ConfigError("Give one Phoenix URL and its project: reviewdesk ingest --from phoenix URL --project P.")
    with open_warehouse(ctx) as wh:
        return pull_phoenix(wh, urls[0], project, api_key=os.environ.get("PHOENIX_API_KEY"))


def totals(reports: list[IngestReport]) -> dict:
    keys = ("read", "inserted", "duplicates", "rejected")
    totals = {k: sum(getattr(r, k) for r in reports) for k in keys}
    totals["quarantine"] = {
        "table": "quarantine",
        "ingest_ids": [r.ingest_id for r in reports if r.rejected],
        "show": "reviewdesk quarantine --ingest ID",
    }
    totals["files"] = [r.as_dict() for r in reports]
    return totals


def print_reports(reports: list[IngestReport], totals: dict) -> None:
    table = new_table("file", "format", "read", "inserted", "duplicates", "rejected", title="Ingest")
    for r in reports:
        table.add_row(
            r.source, r.source_format, *(f"{getattr(r, k):,}" for k in ("read", "inserted", "duplicates", "rejected"))
        )
    out.print(table)
    if totals["rejected"]:
        ids = " ".join(totals["quarantine"]["ingest_ids"])
        out.print(f"[yellow]{totals['rejected']:,} records quarantined[/yellow] (ingest {ids}): "
                  "see them with [bold]reviewdesk quarantine[/bold].")  # fmt: skip


def print_overview(overview: dict) -> None:
    table = new_table(
        "model", "runs", "errors", "thumbs down", "p50 latency ms", "cost usd", title="Warehouse runs by model"
    )
    for m in overview["models"]:
        table.add_row(m["model"] or "(none: tool, chain, retriever)", f"{m['runs']:,}", f"{m['errors']:,}",
                      f"{m['thumbs_down']:,}", f"{m['p50_latency_ms']:,.0f}", f"{m['cost_usd']:.2f}")  # fmt: skip
    out.print(table)
    out.print(f"{overview['runs']:,} runs in total, {overview['pair_inputs']:,} inputs answered by two models "
              f"(pairwise candidates), {overview['quarantined']:,} records in quarantine.")  # fmt: skip
