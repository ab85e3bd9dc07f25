"""A queue's quality report as Markdown in `data/reports/`: what a lead forwards to product owners.

It renders the dict from `reviewdesk.quality.queue_quality` and nothing else, so the file, the
CLI's --json and the app's dashboard always show the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

HEADLINE = ("percent_agreement", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "mean_pairwise_cohen_kappa")


def _num(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _figure(summary: Mapping[str, Any], name: str) -> str:
    figure = summary.get("figures", {}).get(name)
    if figure is None:
        return "-"
    if figure.get("value") is None:
        return f"- ({figure.get('note') or 'not defined'})"
    ci = figure.get("ci")
    return _num(figure["value"]) + (f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]


def markdown(report: Mapping[str, Any]) -> str:
    """The report as a Markdown document."""
    out = [f"# Quality report: {report['queue']}", "",
           f"Computed {report['computed_at']} from {report['labels']:,} labels. Intervals: 95% bootstrap over items.",
           ""]  # fmt: skip
    out += ["## Agreement per criterion", ""]
    rows = []
    for key, s in report["criteria"].items():
        if "note" in s:
            rows.append([key, "-", "-", "-", "-", s["note"]])
            continue
        kappa = "cohen_kappa" if "cohen_kappa" in s.get("figures", {}) else "mean_pairwise_cohen_kappa"
        rows.append([key, f"{s['n_pairable_items']:,} items, {s['n_raters']} raters", _figure(s, "percent_agreement"),
                     _figure(s, "krippendorff_alpha"), _figure(s, kappa), _figure(s, "fleiss_kappa")])  # fmt: skip
    out += _table(["criterion", "behind it", "agreement", "Krippendorff's alpha", "Cohen's kappa", "Fleiss' kappa"],
                  rows)  # fmt: skip
    out += ["", "## Reviewers", ""]
    rows = []
    for key, s in report["criteria"].items():
        for r in s.get("raters", []):
            rows.append([key, r["rater"], f"{r['n_items']:,}", _num(r["agreement"], ".0%"), _num(r["mean_kappa"]),
                         _num(r["gold_accuracy"], ".0%") + f" of {r['gold_ratings']}"])  # fmt: skip
    out += _table(["criterion", "reviewer", "items", "agreement with others", "mean kappa", "gold accuracy"], rows)
    out += ["", "### To calibrate", ""]
    out += [f"- {c['reviewer']} on {c['criterion']}: {'; '.join(c['reasons'])}" for c in report["calibration"]] or [
        "Nobody: every reviewer with enough items agrees with the others and with gold."
    ]
    bias = [(k, s["preference"]) for k, s in report["criteria"].items() if s.get("preference")]
    if bias:
        out += ["", "## Position bias (pairwise)", ""]
        for key, p in bias:
            ci = p["left_rate_ci"] or [None, None]
            out.append(
                f"- {key}: the left answer wins {_num(p['left_rate'], '.1%')} of {p['n_decisions']:,} decided "
                f"comparisons [{_num(ci[0], '.1%')}, {_num(ci[1], '.1%')}]; ties {_num(p['tie_share'], '.1%')}."
            )
    out += ["", "## Production estimates", ""]
    out += [f"- {e['criterion']} = {e['sentence']}" for e in report["estimates"]] or ["No resolved sampled items yet."]
    consensus = ", ".join(f"{m} {n:,}" for m, n in sorted(report["consensus"].items())) or "none yet"
    out += ["", "## Consensus and adjudication", "", f"- Consensus values by method: {consensus}.",
            f"- Open adjudication cases: {report['backlog']:,}."]  # fmt: skip
    return "\n".join(out) + "\n"


def write(report: Mapping[str, Any], reports_dir: Path) -> Path:
    """Write the report as `<queue>-<UTC timestamp>.md`; returns its path."""
    at = datetime.fromisoformat(report["computed_at"])
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{report['queue']}-{at:%Y%m%dT%H%M%SZ}.md"
    path.write_text(markdown(report))
    return path


__all__ = ["markdown", "write"]
