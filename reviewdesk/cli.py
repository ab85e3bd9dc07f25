"""The `reviewdesk` command line: a thin layer that parses options, calls the library and prints.

Exit codes: 0 ok, 1 partial (some records rejected), 2 usage or configuration error.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reviewdesk import summary
from reviewdesk.config import Settings
from reviewdesk.demo import generate_runs, write_runs
from reviewdesk.errors import ReviewdeskError
from reviewdesk.ingest import FORMATS, IngestReport, ingest
from reviewdesk.warehouse import Warehouse

app = typer.Typer(help="Human review of LLM outputs: ingest, sample, review, agree, promote.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one red line and their exit code: never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ReviewdeskError as e:
            err.print(f"[red]Error:[/red] {e}")
            raise typer.Exit(e.exit_code) from None

    return wrapper


def settings(ctx: typer.Context) -> Settings:
    return ctx.obj


def open_warehouse(ctx: typer.Context) -> Warehouse:
    s = settings(ctx)
    s.ensure_dirs()
    return Warehouse(s.warehouse_path, memory_limit=s.memory_limit)


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default: $REVIEWDESK_DATA_DIR or ./data).")
    ] = None,
) -> None:
    ctx.obj = Settings.load(data_dir)


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


@app.command("demo-data")
@handle_errors
def demo_data(
    out_path: Annotated[Path, typer.Option("--out", help="File to write (.jsonl, .parquet or .csv).")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of runs.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same file.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="native, langsmith or otel.")] = "native",
    as_json: JsonOption = False,
) -> None:
    """Write realistic synthetic production logs of a customer-support assistant."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with _progress(as_json) as progress:
        task = progress.add_task("Generating runs", total=runs)
        written = write_runs(_counted(generate_runs(runs, seed), progress, task), out_path, fmt)
    if as_json:
        print(json.dumps({"path": str(out_path), "runs": written, "format": fmt, "seed": seed}))
    else:
        out.print(f"Wrote {written:,} runs ({fmt}) to {out_path}.")


@app.command("ingest")
@handle_errors
def ingest_cmd(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Log files to ingest.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, native, langsmith or otel.")] = "auto",
    as_json: JsonOption = False,
) -> None:
    """Ingest production logs into the warehouse; bad records go to quarantine with their reason."""
    with open_warehouse(ctx) as wh, _progress(as_json) as progress:
        task = progress.add_task("Ingesting", total=len(paths))
        reports = ingest(wh, paths, fmt, on_file=lambda _: progress.advance(task))
    totals = _totals(reports)
    if as_json:
        print(json.dumps(totals))
    else:
        _print_reports(reports, totals)
    raise typer.Exit(1 if totals["rejected"] else 0)


@app.command()
@handle_errors
def quarantine(
    ctx: typer.Context,
    ingest_id: Annotated[str | None, typer.Option("--ingest", help="Only this ingest's records.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many records.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Show quarantined records: where they were, why they were refused, and their raw text."""
    with open_warehouse(ctx) as wh:
        rows = summary.quarantined(wh, ingest_id, limit)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("ingest", "source", "where", "reason", "raw")
    for r in rows:
        table.add_row(r["ingest_id"], r["source"], r["locator"], r["reason"], r["raw"][:80])
    out.print(table)


@app.command()
@handle_errors
def demo(
    ctx: typer.Context,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of demo runs.")] = 5000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Run the pipeline on the embedded demo: generate logs, ingest them, summarise the warehouse."""
    s = settings(ctx)
    s.ensure_dirs()
    path = s.data_dir / "demo" / "runs.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _progress(as_json) as progress:
        task = progress.add_task("Generating demo runs", total=runs)
        write_runs(_counted(generate_runs(runs, seed), progress, task), path)
    with open_warehouse(ctx) as wh:
        reports = ingest(wh, [path])
        overview = summary.overview(wh)
    result = {"ingest": _totals(reports), "warehouse": overview}
    if as_json:
        print(json.dumps(result, default=str))
        return
    _print_reports(reports, result["ingest"])
    _print_overview(overview)
    out.print("\nNext: [bold]reviewdesk quarantine[/bold] shows refused records; see README for the rest.")


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, disable=quiet, transient=True,
    )  # fmt: skip


def _counted(items, progress: Progress, task, every: int = 1000):
    for i, item in enumerate(items, 1):
        if i % every == 0:
            progress.update(task, completed=i)
        yield item


def _totals(reports: list[IngestReport]) -> dict:
    keys = ("read", "inserted", "duplicates", "rejected")
    totals = {k: sum(getattr(r, k) for r in reports) for k in keys}
    totals["quarantine"] = {
        "table": "quarantine",
        "ingest_ids": [r.ingest_id for r in reports if r.rejected],
        "show": "reviewdesk quarantine --ingest ID",
    }
    totals["files"] = [r.as_dict() for r in reports]
    return totals


def _print_reports(reports: list[IngestReport], totals: dict) -> None:
    table = Table("file", "format", "read", "inserted", "duplicates", "rejected", title="Ingest")
    for r in reports:
        table.add_row(
            r.source, r.source_format, *(f"{getattr(r, k):,}" for k in ("read", "inserted", "duplicates", "rejected"))
        )
    out.print(table)
    if totals["rejected"]:
        ids = " ".join(totals["quarantine"]["ingest_ids"])
        out.print(f"[yellow]{totals['rejected']:,} records quarantined[/yellow] (ingest {ids}): "
                  "see them with [bold]reviewdesk quarantine[/bold].")  # fmt: skip


def _print_overview(overview: dict) -> None:
    table = Table(
        "model", "runs", "errors", "thumbs down", "p50 latency ms", "cost usd", title="Warehouse runs by model"
    )
    for m in overview["models"]:
        table.add_row(m["model"] or "(none: tool runs)", f"{m['runs']:,}", f"{m['errors']:,}", f"{m['thumbs_down']:,}",
                      f"{m['p50_latency_ms']:,.0f}", f"{m['cost_usd']:.2f}")  # fmt: skip
    out.print(table)
    out.print(f"{overview['runs']:,} runs in total, {overview['pair_inputs']:,} inputs answered by two models "
              f"(pairwise candidates), {overview['quarantined']:,} records in quarantine.")  # fmt: skip
