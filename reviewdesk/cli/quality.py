"""The agreement command: every agreement figure for a label file, or a queue's quality report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewdesk.cli.main import JsonOption, app, handle_errors, open_review_store, open_warehouse, out, settings
from reviewdesk.cli.tables import new_table
from reviewdesk.errors import ConfigError

if TYPE_CHECKING:
    from reviewdesk.agreement import AgreementSummary

SHOWN = 20  # rows of the per-rater and per-pair tables before "--json gives them all"


@app.command("agreement")
@handle_errors
def agreement_cmd(
    ctx: typer.Context,
    queue: Annotated[
        str | None, typer.Argument(help="Queue whose collected labels to measure (needs `reviewdesk collect`).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="CSV with columns item,rater,value; an empty value is missing.")
    ] = None,
    level: Annotated[str, typer.Option("--level", help="nominal, ordinal, interval or ratio.")] = "nominal",
    options: Annotated[
        str | None, typer.Option("--options", help="The scale in order, comma-separated (ordinal text values).")
    ] = None,
    kappa_weights: Annotated[
        str | None,
        typer.Option("--kappa-weights", help="unweighted, linear or quadratic (default: by level)."),
    ] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples for the CIs (0: none).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed and labels, same CIs.")] = 0,
    min_shared_items: Annotated[
        int | None,
        typer.Option("--min-shared-items", help="Measure rater pairs sharing at least this many items (default 10)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Percent agreement, Krippendorff's alpha, Fleiss' and Cohen's kappa with bootstrap CIs, per rater and pair."""
    if queue is not None and labels is not None:
        raise ConfigError("Give a queue or --labels FILE.csv, not both.")
    if queue is not None:
        queue_report(ctx, queue, resamples, seed, as_json)
        return
    if labels is None:
        raise ConfigError("Give --labels FILE.csv (columns item,rater,value), or a queue name.")
    from reviewdesk.agreement import read_labels, summarize

    scale = [o.strip() for o in options.split(",")] if options else None
    summary = summarize(
        read_labels(labels), level, scale, resamples=resamples, seed=seed,
        kappa_weights=kappa_weights,  # type: ignore[arg-type]  (checked by summarize)
        **({} if min_shared_items is None else {"min_shared_items": min_shared_items}),
    )  # fmt: skip
    if as_json:
        print(json.dumps(summary.as_dict()))
    else:
        show(summary, str(labels))


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def show(s: AgreementSummary, source: str) -> None:
    """Print the summary as tables: the figures, then per rater and per pair."""
    out.print(
        f"[bold]{source}[/bold]: {s.n_labels:,} labels, {s.n_items:,} items ({s.n_pairable_items:,} with two or "
        f"more ratings), {s.n_raters} raters; level {s.level}"
    )
    ci_head = f"{s.confidence:.0%} CI" if s.resamples else "CI"
    figures = new_table("figure", "value", ci_head, "items", "raters", "note", title="Agreement")
    names = {
        "percent_agreement": "percent agreement",
        "krippendorff_alpha": f"Krippendorff's alpha ({s.level})",
        "fleiss_kappa": "Fleiss' kappa",
        "cohen_kappa": f"Cohen's kappa ({s.kappa_weights})",
        "mean_pairwise_cohen_kappa": f"mean pairwise Cohen's kappa ({s.kappa_weights})",
    }
    for c in (s.percent_agreement, s.krippendorff_alpha, s.fleiss_kappa, s.kappa):
        ci = f"{c.ci[0]:.3f} - {c.ci[1]:.3f}" if c.ci else "-"
        figures.add_row(names[c.name], _num(c.value), ci, f"{c.n_items:,}", str(c.n_raters), c.note or "")
    out.print(figures)
    raters = new_table("rater", "items", "compared", "agreement with others", "mean kappa", title="Per rater")
    for r in s.raters[:SHOWN]:
        raters.add_row(str(r.rater), f"{r.n_items:,}", f"{r.n_compared:,}", _num(r.agreement), _num(r.mean_kappa))
    out.print(raters)
    pairs = new_table("rater a", "rater b", "items", "agreement", "kappa", ci_head, keys=("rater a", "rater b"),
                      title="Per rater pair")  # fmt: skip
    for p in s.pairs[:SHOWN]:
        ci = f"{p.kappa_ci[0]:.3f} - {p.kappa_ci[1]:.3f}" if p.kappa_ci else "-"
        pairs.add_row(str(p.rater_a), str(p.rater_b), f"{p.n_items:,}", _num(p.agreement), _num(p.kappa), ci)
    out.print(pairs)
    if s.pairs_note:
        out.print(f"{s.pairs_note[0].upper()}{s.pairs_note[1:]} (--min-shared-items sets the minimum).")
    if len(s.raters) > SHOWN or len(s.pairs) > SHOWN:
        out.print(f"Showing the first {SHOWN} raters and pairs; --json gives them all, with confusion matrices.")


def _pct(x: float | None, ci: list | None = None) -> str:
    return "-" if x is None else f"{x:.1%}" + (f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else "")


def show_pairwise(results: dict) -> None:
    """The A/B answer: win rates per pair, then the Bradley-Terry ranking, raw and corrected for position."""
    if "pairs" not in results:
        out.print(f"Pairwise results: {results.get('note', 'none yet')}.", markup=False)
        return
    pairs = new_table("value", "against", "wins", "ties", "losses", "win rate [95% CI]", keys=("value", "against"),
                      title=f"Pairwise results by {results['compare']}")  # fmt: skip
    for p in results["pairs"]:
        pairs.add_row(p["value"], p["other"], str(p["wins"]), str(p["ties"]), str(p["losses"]),
                      _pct(p["win_rate"], p["win_rate_ci"]))  # fmt: skip
    out.print(pairs)
    corrected = {v["value"]: v for v in results["ranking_position_corrected"].get("values", [])}
    ranking = new_table("rank", "value", "strength [95% CI]", "beats an average value", "corrected for position",
                        keys=("value",), title="Bradley-Terry ranking (log-odds, a tie is half a win)")  # fmt: skip
    for v in results["ranking"]["values"]:
        c = corrected.get(v["value"])
        fixed = f"{c['strength']:+.2f} [{c['strength_ci'][0]:+.2f}, {c['strength_ci'][1]:+.2f}]" if c else "-"
        ranking.add_row(str(v["rank"]), v["value"],
                        f"{v['strength']:+.2f} [{v['strength_ci'][0]:+.2f}, {v['strength_ci'][1]:+.2f}]",
                        _pct(v["win_probability_vs_average"]), fixed)  # fmt: skip
    out.print(ranking)
    left = results["ranking_position_corrected"].get("left_win_probability")
    if left is not None:
        out.print(f"Between equals the left side wins {left:.1%}.")


def queue_report(ctx: typer.Context, queue: str, resamples: int, seed: int, as_json: bool) -> None:
    """A queue's quality report from its collected labels: saved for the dashboard and written as Markdown."""
    from reviewdesk.quality.report import refresh

    s = settings(ctx)
    with open_warehouse(ctx) as wh, open_review_store(ctx) as store:
        report, path = refresh(store, wh, queue, s.reports_dir, resamples, seed)
    if as_json:
        print(json.dumps({**report, "report_path": str(path)}, default=str))
        return
    title = f"Agreement in {queue}"
    table = new_table("criterion", "items", "raters", "agreement", "alpha [95% CI]", "kappa", title=title)
    for key, c in report["criteria"].items():
        if "note" in c:
            table.add_row(key, "-", "-", "-", "-", c["note"])
            continue
        ci = c["alpha_ci"]
        alpha = _num(c["krippendorff_alpha"]) + (f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else "")
        kappa = c.get("cohen_kappa", c.get("mean_pairwise_cohen_kappa"))
        table.add_row(key, f"{c['n_pairable_items']:,}", str(c["n_raters"]), _num(c["percent_agreement"]), alpha,
                      _num(kappa))  # fmt: skip
    out.print(table)
    if report.get("pairwise"):
        show_pairwise(report["pairwise"])
    for c in report["calibration"]:
        out.print(f"To calibrate: {c['reviewer']} on {c['criterion']}: {'; '.join(c['reasons'])}")
    for key, c in report["clarity"].items():  # rubric clarity: the most confused options, per criterion
        if c["confused_pairs"]:
            p = c["confused_pairs"][0]
            out.print(f"Most confused on {key}: {p['a']} / {p['b']} ({p['share_of_disagreements']:.0%} of the "
                      f"disagreements, rubric {c['version']})", markup=False)  # fmt: skip
    for a in report["rubric_ab"]:
        out.print(f"Rubric A/B: {a['sentence']}.", markup=False)
    for e in report["estimates"]:
        out.print(f"Production: {e['criterion']} = {e['sentence']}")
    out.print(f"Open adjudication cases: {report['backlog']:,}. Report: [bold]{path}[/bold]")
