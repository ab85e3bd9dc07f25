"""The command that writes verdicts back: `reviewdesk push-feedback QUEUE --to langsmith|langfuse|phoenix`.

The SDKs are imported when the command runs, so `reviewdesk --help` does not wait for them.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from reviewdesk.cli.main import JsonOption, app, handle_errors, out, settings


@app.command("push-feedback")
@handle_errors
def push_feedback_cmd(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="The queue whose trusted consensus to write back.")],
    to: Annotated[str, typer.Option("--to", help="langsmith, langfuse or phoenix.")],
    url: Annotated[str | None, typer.Option("--url", help="The tool's address (default: its SDK's env var).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write each trusted consensus label of QUEUE back to the runs' tracing tool, as feedback on the run or span.

    Idempotent: only new and changed verdicts are sent, under fixed ids, so a rerun adds nothing and a
    changed consensus updates the same feedback. Keys come from the tools' env vars (LANGSMITH_API_KEY;
    LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY; PHOENIX_COLLECTOR_ENDPOINT). Exit 1 if some failed.
    """
    from reviewdesk.feedback.steps import push_step
    from reviewdesk.queues import get_queue

    s = settings(ctx)
    get_queue(queue, s.queues_dir)  # an unknown queue fails here, with the known ones
    (result,) = push_step(s, [queue], to, url)
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        counts = ("verdicts", "created", "updated", "unchanged", "failed", "unaddressable", "runs_gone")
        table = Table(*(k.replace("_", " ") for k in counts), title=f"push-feedback {queue} -> {to}")
        table.add_row(*(f"{getattr(result, k):,}" for k in counts))
        out.print(table)
        for f in result.failures[:10]:
            out.print(f"[red]failed[/red] {f['item_id']} {f['criterion']} after {f['attempts']} attempts: {f['error']}",
                      markup=False)  # fmt: skip
        if result.unaddressable:
            out.print(f"{result.unaddressable:,} verdicts are on runs {to} cannot hold feedback on (see "
                      "warehouse.feedback_pushes); they are skipped.")  # fmt: skip
        if result.runs_gone:
            out.print(f"{result.runs_gone:,} trusted labels judge runs (or steps) no longer in the warehouse; "
                      "they are skipped.")  # fmt: skip
    raise typer.Exit(1 if result.failed else 0)
