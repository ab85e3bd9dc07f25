"""Commands for leads on reviewers of a queue: list their standing, qualify, pause, send back, read the history.

They call the same library functions as the app's Reviewers page, so a change made here is recorded
with who made it and why exactly as one made there (`reviewdesk.review.qualification`).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reviewdesk.cli.main import JsonOption, app, handle_errors, open_review_store, out
from reviewdesk.cli.tables import new_table

reviewers_app = typer.Typer(help="Reviewers of a queue: standing, lead actions, history.", no_args_is_help=True)
app.add_typer(reviewers_app, name="reviewers")

Queue = Annotated[str, typer.Argument(help="The queue, as published.")]
Reviewer = Annotated[str, typer.Argument(help="The reviewer's account name.")]
By = Annotated[str, typer.Option("--by", help="Your account name: a lead or admin.")]
Reason = Annotated[str, typer.Option("--reason", help="Why: recorded with the change and shown to leads.")]


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share:.0%}"


@reviewers_app.command("list")
@handle_errors
def list_cmd(ctx: typer.Context, queue: Queue, as_json: JsonOption = False) -> None:
    """Everyone who may review the queue or has: state, items done, live gold accuracy and flagged biases."""
    from reviewdesk.quality.reviewer_overview import reviewer_overview

    with open_review_store(ctx) as store:
        rows = reviewer_overview(store, queue)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], default=str))
        return
    if not rows:
        out.print(f"Nobody reviews {queue} yet: grant it with `reviewdesk users grant NAME {queue}`.")
        return
    table = new_table("reviewer", "state", "since", "reason", "items", "gold accuracy", "flags", title=queue)
    for r in rows:
        gold = f"{_percent(r.gold_accuracy)} of {r.gold_answers}" if r.gold_answers else ""
        table.add_row(r.reviewer, r.state, f"{r.since:%Y-%m-%d %H:%M}" if r.since else "", r.reason,
                      f"{r.items_done:,}", gold, ", ".join(f["title"] for f in r.flags))  # fmt: skip
    out.print(table)


def _act(ctx: typer.Context, action: str, queue: str, reviewer: str, by: str, reason: str, as_json: bool) -> None:
    from reviewdesk.review.qualification import lead_action

    with open_review_store(ctx) as store:
        now = lead_action(store, action, queue, reviewer, by, reason)
    if as_json:
        print(json.dumps(now.as_dict(), default=str))
    else:
        out.print(f"{reviewer} is now {now.state} in {queue} (by {by}: {now.reason}).")


@reviewers_app.command("qualify")
@handle_errors
def qualify_cmd(ctx: typer.Context, queue: Queue, reviewer: Reviewer, by: By, reason: Reason,
                as_json: JsonOption = False) -> None:  # fmt: skip
    """Qualify a reviewer by hand: live items from their next one."""
    _act(ctx, "qualify", queue, reviewer, by, reason, as_json)


@reviewers_app.command("pause")
@handle_errors
def pause_cmd(ctx: typer.Context, queue: Queue, reviewer: Reviewer, by: By, reason: Reason,
              as_json: JsonOption = False) -> None:  # fmt: skip
    """Pause a reviewer: no items of the queue, their reservations released, until a lead acts again."""
    _act(ctx, "pause", queue, reviewer, by, reason, as_json)


@reviewers_app.command("send-back")
@handle_errors
def send_back_cmd(ctx: typer.Context, queue: Queue, reviewer: Reviewer, by: By, reason: Reason,
                  as_json: JsonOption = False) -> None:  # fmt: skip
    """Send a reviewer back to training: a new attempt starts with their next item."""
    _act(ctx, "send_back", queue, reviewer, by, reason, as_json)


@reviewers_app.command("history")
@handle_errors
def history_cmd(
    ctx: typer.Context,
    queue: Queue,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Only this reviewer.")] = None,
    notices: Annotated[bool, typer.Option("--notices", help="Only notices no lead has marked seen.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Recorded state changes, newest first: what happened, who did it, why and when."""
    from reviewdesk.review.qualification import reviewer_history

    with open_review_store(ctx) as store:
        events = reviewer_history(store, queue, reviewer, notices=notices)
    if as_json:
        print(json.dumps([e.as_dict() for e in events], default=str))
        return
    table = new_table("at", "reviewer", "event", "state", "by", "reason", keys=("at", "reviewer"), title=queue)
    for e in events:
        table.add_row(f"{e.at:%Y-%m-%d %H:%M}", e.reviewer, e.event, e.state, e.by, e.reason)
    out.print(table if events else f"No recorded changes in {queue}.")
