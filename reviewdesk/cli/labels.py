"""The collect, consensus and adjudication commands: validated labels into the warehouse, resolved per item,
and a lead's decisions on the disputes (per step for a per-step criterion, as the Adjudication page takes them)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from reviewdesk.cli.main import JsonOption, app, handle_errors, open_review_store, open_warehouse, out, progress_bar
from reviewdesk.cli.tables import new_table
from reviewdesk.errors import ConfigError

PublishedQueueArg = Annotated[str | None, typer.Argument(help="A published queue (default: every one).")]


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
    queue: PublishedQueueArg = None,
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
    table = new_table("queue", "items judged", *METHODS, "opened now", "settled now", "open cases",
                      title="Consensus")  # fmt: skip
    for r in results:
        table.add_row(r.queue, f"{r.items:,}", *(f"{r.methods.get(m, 0):,}" for m in METHODS), f"{r.opened:,}",
                      f"{r.settled:,}", f"{r.backlog:,}")  # fmt: skip
    out.print(table)
    if any(r.backlog for r in results):
        out.print("Leads decide open cases on the app's Adjudication page (or `reviewdesk adjudication decide`); "
                  "run this again to take them in.")  # fmt: skip


adjudication_app = typer.Typer(help="Open adjudication cases, and a lead's decisions on them.", no_args_is_help=True)
app.add_typer(adjudication_app, name="adjudication")

VALUE_HELP = (
    "The final answer, read as JSON when it parses (4, true, '\"4\"'), else as text (incorrect). A per-step "
    "criterion takes a JSON object {step run id: value} with a value for every step in dispute, and no other "
    '(`adjudication list` names them): \'{"t1-tool1": "wrong", "t1-tool2": "right"}\'.'
)


@adjudication_app.command("list")
@handle_errors
def adjudication_list_cmd(
    ctx: typer.Context,
    queue: PublishedQueueArg = None,
    as_json: JsonOption = False,
) -> None:
    """Open cases, oldest first: item, criterion, the steps in dispute of a per-step one (run ids), and why."""
    from reviewdesk.labels.adjudication import backlog

    with open_review_store(ctx) as store:
        rows = [{k: c[k] for k in ("item_id", "queue", "criterion", "steps", "why", "opened_at")}
                for c in backlog(store, queue)]  # fmt: skip
    if as_json:
        print(json.dumps(rows, default=str))
        return
    if not rows:
        out.print("Nothing to adjudicate: no open disagreements.")
        return
    table = new_table("item", "criterion", "steps in dispute", "why", title="Open adjudication cases")
    for r in rows:
        table.add_row(*(escape(t) for t in (r["item_id"], r["criterion"], ", ".join(r["steps"] or ()), r["why"])))
    out.print(table)


@adjudication_app.command("decide")
@handle_errors
def adjudication_decide_cmd(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="The item, as `adjudication list` shows it.")],
    criterion: Annotated[str, typer.Argument(help="The criterion in dispute.")],
    value: Annotated[str, typer.Argument(help=VALUE_HELP)],
    by: Annotated[str, typer.Option("--by", help="Your account name: a lead or admin.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the decision and in the dataset lineage.")],
    product_issue: Annotated[
        bool, typer.Option("--product-issue", help="Route the decision to product owners (product-issues report).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Decide an open case for good, as the app's Adjudication page does; `reviewdesk consensus` takes it in."""
    from reviewdesk.labels.adjudication import decide

    answer = _decision(value)
    with open_review_store(ctx) as store:
        decide(store, item, criterion, answer, reason, by, product_issue=product_issue)
    if as_json:
        print(json.dumps({"item_id": item, "criterion": criterion, "value": answer, "decided_by": by,
                          "reason": reason.strip(), "product_issue": product_issue}))  # fmt: skip
        return
    out.print(f"Decided {escape(criterion)} of {escape(item)}: {escape(json.dumps(answer))} (by {escape(by)}). "
              "Run `reviewdesk consensus` to take it in.")  # fmt: skip


def _decision(text: str) -> Any:
    """The VALUE argument: JSON when it parses, else the text; text that starts like an object or a list
    but is not JSON is refused (a quote forgotten in '{"step": wrong}'), not stored as text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if text.lstrip().startswith(("{", "[")):
            raise ConfigError(
                f"VALUE is not valid JSON ({e.msg} at character {e.pos + 1}): write a per-step decision as "
                '\'{"step run id": "value", ...}\', each key and text value in double quotes.'
            ) from None
        return text
