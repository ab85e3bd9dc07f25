"""Commands for live intake: the OTLP/HTTP receiver, its per-source tokens, and ingesting the inbox now."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reviewdesk.cli.main import JsonOption, app, handle_errors, open_warehouse, out, settings

tokens_app = typer.Typer(help="Tokens of the sources that send traces to `reviewdesk receive`.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@app.command()
@handle_errors
def receive(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port (OTLP/HTTP's is 4318).")] = 4318,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (each its own segment).")] = 1,
) -> None:
    """Receive OTLP/HTTP traces at /v1/traces into the inbox; stops cleanly on Ctrl-C or SIGTERM."""
    from reviewdesk.receive.server import serve, tokens_path
    from reviewdesk.receive.tokens import load_tokens

    s = settings(ctx)
    if not load_tokens(tokens_path(s)):
        out.print("[yellow]No tokens yet: every request will be refused.[/yellow] Add one with "
                  "[bold]reviewdesk tokens add SOURCE[/bold].", highlight=False)  # fmt: skip
    out.print(f"Receiving OTLP/HTTP on http://{host}:{port}/v1/traces into {s.inbox_dir}", highlight=False)
    serve(s, host, port, workers)


@tokens_app.command("add")
@handle_errors
def tokens_add(ctx: typer.Context, source: str, as_json: JsonOption = False) -> None:
    """Issue a source's token and print it once (only its hash is kept)."""
    from reviewdesk.receive.server import tokens_path
    from reviewdesk.receive.tokens import add_token

    s = settings(ctx)
    s.ensure_dirs()
    token = add_token(tokens_path(s), source)
    if as_json:
        print(json.dumps({"source": source, "token": token}))
        return
    out.print(f"Token for [bold]{source}[/bold] (shown once; store it as a secret):\n{token}", highlight=False)
    out.print(f"Send with: OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer {token}'", highlight=False, soft_wrap=True)


@tokens_app.command("list")
@handle_errors
def tokens_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the sources that have a token (never the tokens)."""
    from reviewdesk.receive.server import tokens_path
    from reviewdesk.receive.tokens import load_tokens

    found = load_tokens(tokens_path(settings(ctx)))
    sources = [{"source": k, "created_at": v.get("created_at")} for k, v in sorted(found.items())]
    if as_json:
        print(json.dumps(sources))
        return
    table = Table("source", "created at", title="Receiver tokens")
    for row in sources:
        table.add_row(row["source"], row["created_at"] or "")
    out.print(table)


@tokens_app.command("revoke")
@handle_errors
def tokens_revoke(ctx: typer.Context, source: str, as_json: JsonOption = False) -> None:
    """Revoke a source's token; a running receiver refuses it within a second."""
    from reviewdesk.receive.server import tokens_path
    from reviewdesk.receive.tokens import revoke_token

    revoke_token(tokens_path(settings(ctx)), source)
    if as_json:
        print(json.dumps({"revoked": source}))
    else:
        out.print(f"Revoked the token of {source}.")


@app.command()
@handle_errors
def inbox(
    ctx: typer.Context,
    settle: Annotated[float, typer.Option("--settle", min=0, help="Seconds a dropped file must be unchanged.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Ingest the inbox now: closed receiver segments and dropped files, each once (the ingest-inbox flow's step)."""
    from reviewdesk.ingest.inbox import ingest_inbox

    with open_warehouse(ctx) as wh:
        result = ingest_inbox(wh, settings(ctx).inbox_dir, settle)
    failed = [f for f in result.files if f.outcome == "failed"]
    rejected = sum(f.report["rejected"] for f in result.files if f.report)
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        table = Table("file", "outcome", "read", "inserted", "duplicates", "rejected", title="Inbox")
        for f in result.files:
            counts = [f"{f.report[k]:,}" for k in ("read", "inserted", "duplicates", "rejected")] if f.report else []
            table.add_row(f.name, f.outcome, *counts)
        out.print(table if result.files else "The inbox holds nothing ready to ingest.")
        for f in failed:
            why = f"{escape(f.reason or '')} (moved to {escape(f.moved_to)})"
            out.print(f"[yellow]{escape(f.name)} failed[/yellow]: {why}", soft_wrap=True, highlight=False)
    raise typer.Exit(1 if failed or rejected else 0)
