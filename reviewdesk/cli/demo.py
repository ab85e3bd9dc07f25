"""The demo commands: the whole loop on generated data, the demo logs alone, and simulated reviewers.

Heavy libraries (DuckDB, pandas, pyarrow) are imported inside the commands, so `reviewdesk --help`
does not wait for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from reviewdesk.cli.datasets import print_promotions
from reviewdesk.cli.ingest import print_overview, print_reports, totals
from reviewdesk.cli.main import JsonOption, app, handle_errors, open_warehouse, out, progress_bar, settings
from reviewdesk.cli.serve import AddressOption, PortOption, start_app
from reviewdesk.cli.tables import new_table

if TYPE_CHECKING:
    from reviewdesk.demo.run import DemoResult


def print_loop(result: DemoResult) -> None:
    """Simulated reviews, collect and consensus: what closed the loop."""
    from reviewdesk.labels.consensus import METHODS

    if result.collected is None:
        return
    table = new_table("queue", "simulated", "true", "judged", "consensus by method", "disputes",
                  title="Simulated reviewers, collected and resolved")  # fmt: skip
    resolved = {r.queue: r for r in result.resolved}
    for sim in result.simulated:
        r = resolved[sim.queue]
        share = f"{sim.answered_truly / sim.answers:.0%}" if sim.answers else "-"
        methods = ", ".join(f"{m} {r.methods[m]:,}" for m in METHODS if r.methods.get(m))
        table.add_row(sim.queue, f"{sim.submitted:,}", share, f"{r.items:,}", methods, f"{r.backlog:,}")
    out.print(table)
    c = result.collected
    out.print(f"Collected {c.read:,} submissions: {c.loaded:,} loaded as {c.labels:,} labels, {c.rejected:,} rejected.")
    for path in result.reports:
        out.print(f"Quality report: [bold]{path}[/bold] (and on the app's Agreement page, for leads)")
    for t in result.trained:
        m = (t.model or {}).get("metrics", {})
        fit = f" (CV accuracy {m['cv']['accuracy']:.2f} vs majority {m['baseline']['accuracy']:.2f})" if m else ""
        out.print(f"Model for {t.queue}/{t.criterion}: {t.status}{fit}; {t.serving} suggests it next time.")


@app.command()
@handle_errors
def demo(
    ctx: typer.Context,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of demo runs.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the demo logs and of the batches.")] = 7,
    simulate: Annotated[
        bool, typer.Option("--simulate/--no-simulate", help="Close the loop: simulated reviews, collect, consensus.")
    ] = True,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the review app at the end.")] = True,
    port: PortOption = 8501,
    address: AddressOption = "127.0.0.1",
    as_json: JsonOption = False,
) -> None:
    """Run the pipeline on the embedded demo (generate logs, ingest, sample and publish each queue),
    then start the review app so the demo accounts can review at once (not with --json)."""
    from reviewdesk.demo.run import DEMO_PASSWORD, run_demo

    with progress_bar(as_json) as progress:
        task = progress.add_task("Generating demo runs", total=runs)
        result = run_demo(settings(ctx), runs, seed, tick=lambda done: progress.update(task, completed=done),
                          simulate=simulate)  # fmt: skip
    ingested = totals(result.ingest)
    published = [p.as_dict() for p in result.published]
    if as_json:
        batches = [{k: v for k, v in b.as_dict().items() if k != "items"} for b in result.batches]
        print(json.dumps({"ingest": ingested, "warehouse": result.overview, "batches": batches,
                          "published": published, "users": result.users,
                          "simulated": [s.as_dict() for s in result.simulated],
                          "collected": result.collected.as_dict() if result.collected else None,
                          "consensus": [r.as_dict() for r in result.resolved],
                          "reports": [str(p) for p in result.reports],
                          "datasets": [p.as_dict() for p in result.promoted],
                          "prescored": [p.as_dict() for p in result.prescored],
                          "models": [t.as_dict() for t in result.trained],
                          "skipped": result.skipped, "capped": result.capped}, default=str))  # fmt: skip
        return
    print_reports(result.ingest, ingested)
    print_overview(result.overview)
    table = new_table("queue", "batch", "strategy", "population", "items", "published", "identical pairs skipped",
                      keys=("queue", "batch"),
                      title="Batches for reviewers")  # fmt: skip
    for b, p in zip(result.batches, result.published, strict=True):
        skipped = f"{b.identical_skipped:,}" if b.kind == "pairwise" else "-"
        table.add_row(b.queue, b.batch_id, b.strategy, f"{b.population:,}", f"{len(b.items):,}", f"{p.published:,}",
                      skipped)  # fmt: skip
    out.print(table)
    for why in result.skipped:
        out.print(f"Skipped {escape(why)}")
    for why in result.capped:
        out.print(f"Capped {escape(why)}")
    print_loop(result)
    if result.promoted:
        print_promotions(result.promoted)
        out.print(f"Every dataset: [bold]reviewdesk datasets list[/bold] (files under {settings(ctx).datasets_dir}).")
    names = ", ".join(f"{name} ({role})" for name, role in result.users.items())
    out.print(f"Demo accounts: {names}; password [bold]{DEMO_PASSWORD}[/bold].")
    if not serve:
        out.print("\nNext: [bold]reviewdesk app[/bold], [bold]reviewdesk batches list[/bold].")
        return
    first = next(name for name, role in result.users.items() if role == "reviewer")
    out.print(f"\nOpen the app below and log in as [bold]{first}[/bold] / [bold]{DEMO_PASSWORD}[/bold] to review.")
    raise typer.Exit(start_app(settings(ctx), port, address))


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
    from reviewdesk.demo.exports import write_runs
    from reviewdesk.demo.logs import counted, generate_runs
    from reviewdesk.ingest.detect import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with progress_bar(as_json) as progress:
        task = progress.add_task("Generating runs", total=runs)
        ticks = counted(generate_runs(runs, seed), lambda done: progress.update(task, completed=done))
        written = write_runs(ticks, out_path, fmt)
    if as_json:
        print(json.dumps({"path": str(out_path), "runs": written, "format": fmt, "seed": seed}))
    else:
        out.print(f"Wrote {written:,} runs ({fmt}) to {out_path}.")


@app.command("simulate-reviews")
@handle_errors
def simulate_cmd(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="A published queue.")],
    reviewers: Annotated[int, typer.Option("--reviewers", min=1, help="How many of the queue's assignees.")] = 3,
    accuracy: Annotated[float, typer.Option("--accuracy", min=0, max=1, help="Chance each answer is true.")] = 0.85,
    seed: Annotated[int, typer.Option("--seed", help="Same seed and items, same answers.")] = 0,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Stop after this many submissions.")] = None,
    length_bias: Annotated[float, typer.Option("--length-bias", min=0, max=1,
                           help="Bias: chance of picking the longer answer (pairwise).")] = 0.0,
    fatigue: Annotated[float, typer.Option("--fatigue", min=0, max=1,
                       help="Bias: accuracy lost per item into a session.")] = 0.0,
    copy_rate: Annotated[float, typer.Option("--copy-rate", min=0, max=1,
                         help="Bias: chance of copying a suggestion shown (every reviewer).")] = 0.0,
    fast_share: Annotated[float, typer.Option("--fast-share", min=0, max=1,
                          help="Bias: share of answers faster than the queue's min_seconds.")] = 0.0,
    straight_lining: Annotated[float, typer.Option("--straight-lining", min=0, max=1,
                               help="Bias: chance of repeating the previous answers.")] = 0.0,
    drift: Annotated[float, typer.Option("--drift", min=-1, max=1, help="Bias: accuracy change per week.")] = 0.0,
    leniency: Annotated[float, typer.Option("--leniency", min=0, max=1,
                        help="Bias: chance per week of rating an ordinal one option higher.")] = 0.0,
    biased: Annotated[int, typer.Option("--biased-reviewers", min=0,
                      help="How many of the simulated reviewers (the first ones) carry the biases.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Submit answers from the demo ground truth as the queue's assignees, right with a known probability,
    optionally with known biases (the bias controls of the quality report should find them)."""
    from reviewdesk.demo.biases import Biases
    from reviewdesk.demo.simulate import simulate_reviews
    from reviewdesk.stores.reviewstore import ReviewStore

    biases = Biases(length=length_bias, fatigue=fatigue, fast=fast_share, repeat=straight_lining, drift=drift,
                    leniency=leniency, reviewers=biased)  # fmt: skip
    injected = biases if biases != Biases(reviewers=biased) else None
    with open_warehouse(ctx) as wh, ReviewStore(settings(ctx).review_url) as store, progress_bar(as_json) as bar:
        task = bar.add_task(f"Simulating reviews of {queue}", total=limit)
        result = simulate_reviews(store, wh, queue, reviewers, accuracy, seed, limit,
                                  tick=lambda n: bar.update(task, completed=n), anchoring=copy_rate,
                                  biases=injected)  # fmt: skip
    if as_json:
        print(json.dumps(result.as_dict() | {"biases": injected.as_dict() if injected else None}))
        return
    share = result.answered_truly / result.answers if result.answers else 0.0
    out.print(
        f"{result.submitted:,} submissions to {queue} by {', '.join(result.reviewers)}; "
        f"{share:.1%} of {result.answers:,} answers match the ground truth."
    )
    if injected:
        carriers = ", ".join(result.reviewers[:biased]) or "nobody"
        out.print(f"Biases carried by {carriers}: the quality report's bias controls should flag them.")
    out.print("Next: [bold]reviewdesk collect[/bold] loads them as labels.")
