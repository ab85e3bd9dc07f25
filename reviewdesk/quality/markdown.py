"""A queue's quality report as Markdown in `data/reports/`: what a lead forwards to product owners.

It renders the dict from `reviewdesk.quality.report.queue_quality` and nothing else, so the file, the
CLI's --json and the app's dashboard always show the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any


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
    out += human_vs_model(report.get("model"))
    consensus = ", ".join(f"{m} {n:,}" for m, n in sorted(report["consensus"].items())) or "none yet"
    out += ["", "## Consensus and adjudication", "", f"- Consensus values by method: {consensus}.",
            f"- Open adjudication cases: {report['backlog']:,}."]  # fmt: skip
    return "\n".join(out) + "\n"


def _ci(ci: list | None, spec: str = ".3f") -> str:
    return f" [{_num(ci[0], spec)}, {_num(ci[1], spec)}]" if ci else ""


def human_vs_model(model: Mapping[str, Any] | None) -> list[str]:
    """The human-vs-model section: suggestions against consensus, calibration, anchoring."""
    if model is None:
        return []
    out = ["", "## Human vs model", ""]
    if not model["criteria"]:
        return [*out, model.get("note") or "No suggestions with a consensus value yet."]
    rows = [[key, f"{m['n_items']:,}", _num(m["accuracy"], ".1%"), _num(m["kappa"]) + _ci(m["kappa_ci"]),
             _num(m["ece"]), _num(m["brier"]), ", ".join(f"{v} ({n:,})" for v, n in m["model_versions"].items())]
            for key, m in model["criteria"].items()]  # fmt: skip
    out += _table(["criterion", "items", "accuracy", "Cohen's kappa [95% CI]", "ECE", "Brier", "model versions"], rows)
    out += ["", "Reliability (share of suggestions equal to the consensus, by confidence):", ""]
    rows = [[key, b["bin"], f"{b['n']:,}", _num(b["mean_confidence"], ".2f"), _num(b["accuracy"], ".2f")]
            for key, m in model["criteria"].items() for b in m["reliability"]]  # fmt: skip
    out += _table(["criterion", "confidence", "suggestions", "mean confidence", "right"], rows)
    anchoring = model.get("anchoring")
    if anchoring:
        out += ["", "### Anchoring (suggestions shown to a random half of the items)", ""]
        for key, a in [*anchoring["criteria"].items(), ("all criteria", anchoring["all"])]:
            if a["effect"] is None:
                out.append(f"- {key}: {a.get('note', 'not measurable')}.")
                continue
            out.append(
                f"- {key}: reviewers agree with the suggestion in {_num(a['shown_agree'], '.1%')} of "
                f"{a['shown_labels']:,} labels when it is shown and {_num(a['hidden_agree'], '.1%')} of "
                f"{a['hidden_labels']:,} when hidden: {a['effect'] * 100:+.1f} points"
                f"{_ci([x * 100 for x in a['effect_ci']] if a['effect_ci'] else None, '+.1f')}; as if they "
                f"copied {_num(a['copy_rate'], '.0%')}{_ci(a['copy_rate_ci'], '.0%')} of the suggestions shown."
            )
    return out


def write(report: Mapping[str, Any], reports_dir: Path) -> Path:
    """Write the report as `<queue>-<UTC timestamp>.md`; returns its path."""
    at = datetime.fromisoformat(report["computed_at"])
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{report['queue']}-{at:%Y%m%dT%H%M%SZ}.md"
    path.write_text(markdown(report))
    return path


__all__ = ["human_vs_model", "markdown", "write"]
