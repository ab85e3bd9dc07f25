"""Commands for queue definitions: list, show and validate the YAML files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewdesk.cli.main import JsonOption, app, err, handle_errors, out, settings
from reviewdesk.cli.tables import new_table

if TYPE_CHECKING:
    from schemas.queue import QueueConfig

queues_app = typer.Typer(help="Review queues defined as YAML files.", no_args_is_help=True)
app.add_typer(queues_app, name="queues")


def _summary(q: QueueConfig) -> dict:
    return {
        "name": q.name, "kind": q.kind, "description": q.description, "rubric_version": q.rubric_version,
        "criteria": [c.key for c in q.rubric.criteria], "strategy": q.sampling.strategy, "size": q.sampling.size,
        "reviewers_per_item": q.reviewers_per_item, "schedule": q.schedule,
    }  # fmt: skip


@queues_app.command("list")
@handle_errors
def list_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the queues with their rubric version, sampling and schedule."""
    from reviewdesk.queues import load_queues

    found = [_summary(q) for q in load_queues(settings(ctx).queues_dir)]
    if as_json:
        print(json.dumps(found))
        return
    table = new_table("name", "kind", "rubric", "criteria", "sampling", "reviewers", "schedule", title="Queues")
    for q in found:
        table.add_row(
            q["name"], q["kind"], q["rubric_version"], ", ".join(q["criteria"]),
            f"{q['strategy']}, {q['size']}", str(q["reviewers_per_item"]), q["schedule"] or "-",
        )  # fmt: skip
    out.print(table)


@queues_app.command("show")
@handle_errors
def show(ctx: typer.Context, name: str, as_json: JsonOption = False) -> None:
    """Show one queue in full: its rubric, sampling rule and plan."""
    from rich.markdown import Markdown  # markdown-it: the one command that renders markdown

    from reviewdesk.queues import get_queue

    q = get_queue(name, settings(ctx).queues_dir)
    if as_json:
        print(json.dumps({**q.model_dump(mode="json"), "rubric_version": q.rubric_version}))
        return
    out.print(f"[bold]{q.name}[/bold] ({q.kind}) rubric {q.rubric_version}: {q.description}")
    out.print(Markdown(q.rubric.instructions))
    table = new_table("criterion", "type", "options", "required", title="Rubric")
    for c in q.rubric.criteria:
        options = ", ".join(map(str, c.options or [])) or (f"{c.min}..{c.max}" if c.type == "numeric" else "-")
        table.add_row(c.key, c.type, options, "yes" if c.required else "no")
    out.print(table)
    out.print(f"Sampling: {q.sampling.model_dump(exclude_defaults=True)}")


@queues_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Queue YAML files.")], as_json: JsonOption = False
) -> None:
    """Check queue files; every problem is printed with its field and the fix (exit 2 if any)."""
    from reviewdesk.queues import QueueFileError, load_queue_file

    results = []
    for f in files:
        try:
            q = load_queue_file(f)
            results.append({"file": str(f), "valid": True, "name": q.name, "rubric_version": q.rubric_version})
        except QueueFileError as e:
            results.append({"file": str(f), "valid": False, "error": str(e)})
    if as_json:
        print(json.dumps(results))
    for r in [] if as_json else results:
        if r["valid"]:
            out.print(f"[green]ok[/green] {r['file']}: queue {r['name']}, rubric {r['rubric_version']}")
        else:
            err.print(f"[red]invalid[/red] {r['error']}")
    if not all(r["valid"] for r in results):
        raise typer.Exit(2)
