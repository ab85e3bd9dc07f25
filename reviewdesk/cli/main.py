"""The root command and what every command shares: options, error handling, stores, progress."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reviewdesk.errors import ReviewdeskError

if TYPE_CHECKING:  # the commands import the library when they run, so `--help` starts fast
    from rich.table import Table

    from reviewdesk.config import Settings
    from reviewdesk.stores.reviewstore import ReviewStore
    from reviewdesk.stores.warehouse import Warehouse

app = typer.Typer(help="Human review of LLM outputs: ingest, sample, review, agree, promote.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
QueueFilter = Annotated[str | None, typer.Option("--queue", help="Only those of this queue.")]


def fail(message: str, exit_code: int = 2) -> typer.Exit:
    """Print `message` as one red error line; return the Exit to raise with its code."""
    err.print(f"[red]Error:[/red] {escape(message)}")
    return typer.Exit(exit_code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors, and files that cannot be read or written, into one red line and their exit code
    (2 for faults): never a traceback. Store faults arrive as domain errors (see reviewdesk.stores)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ReviewdeskError as e:
            raise fail(str(e), e.exit_code) from None
        except OSError as e:  # e.g. a full disk under a file the command writes
            where = f" {e.filename}" if e.filename else ""
            raise fail(f"Cannot read or write{where}: {e.strerror or e}. Check that the disk has space and "
                       "the path is writable, then try again.") from None  # fmt: skip

    return wrapper


def settings(ctx: typer.Context) -> Settings:
    return ctx.obj


def open_warehouse(ctx: typer.Context) -> Warehouse:
    from reviewdesk.stores.warehouse import Warehouse

    s = settings(ctx)
    s.ensure_dirs()
    return Warehouse(s.warehouse_path, memory_limit=s.memory_limit)


def open_review_store(ctx: typer.Context) -> ReviewStore:
    from reviewdesk.stores.reviewstore import ReviewStore

    s = settings(ctx)
    s.ensure_dirs()
    return ReviewStore(s.review_url)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default: $REVIEWDESK_DATA_DIR or ./data).")
    ] = None,
    queues_dir: Annotated[
        Path | None, typer.Option("--queues-dir", help="Queue files (default: $REVIEWDESK_QUEUES_DIR or ./queues).")
    ] = None,
) -> None:
    from pydantic import ValidationError

    from reviewdesk.config import Settings

    try:
        ctx.obj = Settings.load(data_dir, queues_dir)
    except ValidationError as e:  # a REVIEWDESK_* variable that does not parse
        wrong = "; ".join(f"REVIEWDESK_{'_'.join(map(str, p['loc'])).upper()}: {p['msg']}" for p in e.errors())
        raise fail(f"A setting is wrong ({wrong}). Fix that environment variable and try again.") from None


def progress_bar(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, disable=quiet, transient=True,
    )  # fmt: skip


def print_listing(
    ctx: typer.Context, read: Callable[[Warehouse], list[dict]], as_json: bool, table: Callable[[list[dict]], Table],
    empty: str = "",
) -> None:
    """The rows `read` from the warehouse: one JSON array under --json, else `empty` if there are none, else `table`."""
    with open_warehouse(ctx) as wh:
        rows = read(wh)
    if as_json:
        print(json.dumps(rows, default=str))
    elif empty and not rows:
        out.print(empty)
    else:
        out.print(table(rows))
