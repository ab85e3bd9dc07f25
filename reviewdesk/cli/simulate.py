"""The simulate-reviews command: known-accuracy reviewers for the demo and for load tests."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reviewdesk.cli.app import JsonOption, app, handle_errors, open_warehouse, out, progress_bar, settings
from reviewdesk.demo.simulate import simulate_reviews
from reviewdesk.stores.reviewstore import ReviewStore


@app.command("simulate-reviews")
@handle_errors
def simulate_cmd(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="A published queue.")],
    reviewers: Annotated[int, typer.Option("--reviewers", min=1, help="How many of the queue's assignees.")] = 3,
    accuracy: Annotated[float, typer.Option("--accuracy", min=0, max=1, help="Chance each answer is true.")] = 0.85,
    seed: Annotated[int, typer.Option("--seed", help="Same seed and items, same answers.")] = 0,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Stop after this many submissions.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Submit answers from the demo ground truth as the queue's assignees, right with a known probability."""
    with open_warehouse(ctx) as wh, ReviewStore(settings(ctx).review_url) as store, progress_bar(as_json) as bar:
        task = bar.add_task(f"Simulating reviews of {queue}", total=limit)
        result = simulate_reviews(store, wh, queue, reviewers, accuracy, seed, limit,
                                  tick=lambda n: bar.update(task, completed=n))  # fmt: skip
    if as_json:
        print(json.dumps(result.as_dict()))
        return
    share = result.answered_truly / result.answers if result.answers else 0.0
    out.print(
        f"{result.submitted:,} submissions to {queue} by {', '.join(result.reviewers)}; "
        f"{share:.1%} of {result.answers:,} answers match the ground truth."
    )
    out.print("Next: [bold]reviewdesk collect[/bold] loads them as labels.")
