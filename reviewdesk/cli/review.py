"""Commands for review-app accounts: add, list, disable, set a password, grant and revoke queues."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from reviewdesk.cli.main import JsonOption, app, handle_errors, open_review_store, out
from reviewdesk.cli.tables import new_table
from reviewdesk.review.roles import ROLES

users_app = typer.Typer(help="Accounts of the review app (reviewer, lead, admin).", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _password(name: str) -> str:
    """From REVIEWDESK_PASSWORD (scripts, CI), or asked twice without echo."""
    return os.environ.get("REVIEWDESK_PASSWORD") or typer.prompt(
        f"Password for {name}", hide_input=True, confirmation_prompt=True
    )


@users_app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    name: str,
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")] = "reviewer",
    queues: Annotated[str | None, typer.Option("--queues", help="Comma-separated queues to grant a reviewer.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add an account; the password comes from $REVIEWDESK_PASSWORD or a prompt."""
    from reviewdesk.review.accounts import add_user, queue_access

    chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    with open_review_store(ctx) as store:
        user = add_user(store, name, role, _password(name), chosen)
    if as_json:
        print(json.dumps(user, default=str))
    else:
        out.print(f"Added {user['name']} ({user['role']}), queues: {queue_access(user)}.")


@users_app.command("list")
@handle_errors
def list_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List accounts with their role, granted queues and state (never their password hash)."""
    from reviewdesk.review.accounts import list_users, queue_access

    with open_review_store(ctx) as store:
        found = list_users(store)
    if as_json:
        print(json.dumps(found, default=str))
        return
    table = new_table("name", "role", "queues", "state", title="Users")
    for u in found:
        state = "disabled" if u["disabled"] else f"locked until {u['locked_until']:%H:%M}" if u["locked_until"] else ""
        table.add_row(u["name"], u["role"], queue_access(u), state or "active")
    out.print(table)


@users_app.command("disable")
@handle_errors
def disable(ctx: typer.Context, name: str) -> None:
    """Disable an account and end its sessions."""
    from reviewdesk.review.accounts import disable_user

    with open_review_store(ctx) as store:
        disable_user(store, name)
    out.print(f"Disabled {name}; their sessions are ended.")


@users_app.command("set-password")
@handle_errors
def set_password_cmd(ctx: typer.Context, name: str) -> None:
    """Give an account a new password (from $REVIEWDESK_PASSWORD or a prompt); unlocks it."""
    from reviewdesk.review.accounts import set_password

    with open_review_store(ctx) as store:
        set_password(store, name, _password(name))
    out.print(f"New password set for {name}; the account is unlocked and old sessions are ended.")


ReviewerArg = Annotated[str, typer.Argument(help="The reviewer.")]
QueueArg = Annotated[str, typer.Argument(help="The queue, published or not yet.")]


def _said(as_json: bool, outcome: dict, *lines: str) -> None:
    """One JSON object under --json, else the lines."""
    if as_json:
        print(json.dumps(outcome))
    for line in () if as_json else lines:
        out.print(line)


@users_app.command("grant")
@handle_errors
def grant_cmd(ctx: typer.Context, name: ReviewerArg, queue: QueueArg, as_json: JsonOption = False) -> None:
    """Let a reviewer review a queue (what the Users page's grants do); a queue not yet published waits for it."""
    from reviewdesk.review.access import grant

    with open_review_store(ctx) as store:
        new = grant(store, queue, name, by="cli")
        published = store.queue(queue) is not None
    later = [] if published else [f"{queue} is not published yet: the grant applies once its first batch is."]
    _said(as_json, {"user": name, "queue": queue, "granted": new, "published": published},
          f"{name} may review {queue}{'' if new else ' (granted already)'}.", *later)  # fmt: skip


@users_app.command("revoke")
@handle_errors
def revoke_cmd(ctx: typer.Context, name: ReviewerArg, queue: QueueArg, as_json: JsonOption = False) -> None:
    """Take a queue away from a reviewer: it applies at their next action, and their held items are released."""
    from reviewdesk.review.access import revoke

    with open_review_store(ctx) as store:
        had = revoke(store, queue, name)
    _said(as_json, {"user": name, "queue": queue, "revoked": had},
          f"{name} may no longer review {queue}." if had else f"{name} had no grant of {queue}: nothing to do.")
