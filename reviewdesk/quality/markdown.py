"""A queue's quality report as Markdown in `data/reports/`: what a lead forwards to product owners.

It renders the dict from `reviewdesk.quality.report.queue_quality` and nothing else, so the file, the
CLI's --json and the app's dashboard always show the same figures. Every name and note in it (criteria,
reviewers, outcomes, model versions) is escaped with `reviewdesk.quality.report_text.md_text`, so the
file shows them as text and never as markup; figures are formatted here and need none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from reviewdesk.quality.bias_flags import MEASURES, bias_table
from reviewdesk.quality.report_text import md_text
from reviewdesk.stores.files import write_text

TOP_PAIRS = 3  # confused option pairs shown per criterion (the JSON has them all)


def _num(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _figure(summary: Mapping[str, Any], name: str) -> str:
    figure = summary.get("figures", {}).get(name)
    if figure is None:
        return "-"
    if figure.get("value") is None:
        return f"- ({md_text(figure.get('note') or 'not defined')})"
    ci = figure.get("ci")
    return _num(figure["value"]) + (f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GFM table; its cells are figures formatted here or text already escaped with md_text."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(report: Mapping[str, Any]) -> str:
    """The report as a Markdown document."""
    out = [f"# Quality report: {md_text(report['queue'])}", "",
           f"Computed {report['computed_at']} from {report['labels']:,} labels. Intervals: 95% bootstrap over items.",
           ""]  # fmt: skip
    out += ["## Agreement per criterion", ""]
    rows = []
    for key, s in report["criteria"].items():
        name = md_text(key)
        if "note" in s:
            rows.append([name, "-", "-", "-", "-", md_text(s["note"])])
            continue
        kappa = "cohen_kappa" if "cohen_kappa" in s.get("figures", {}) else "mean_pairwise_cohen_kappa"
        rows.append([name, f"{s['n_pairable_items']:,} items, {s['n_raters']} raters", _figure(s, "percent_agreement"),
                     _figure(s, "krippendorff_alpha"), _figure(s, kappa), _figure(s, "fleiss_kappa")])  # fmt: skip
    out += _table(["criterion", "behind it", "agreement", "Krippendorff's alpha", "Cohen's kappa", "Fleiss' kappa"],
                  rows)  # fmt: skip
    out += ["", "## Reviewers", ""]
    rows = []
    for key, s in report["criteria"].items():
        for r in s.get("raters", []):
            rows.append([md_text(key), md_text(r["rater"]), f"{r['n_items']:,}", _num(r["agreement"], ".0%"),
                         _num(r["mean_kappa"]),
                         _num(r["gold_accuracy"], ".0%") + f" of {r['gold_ratings']}"])  # fmt: skip
    out += _table(["criterion", "reviewer", "items", "agreement with others", "mean kappa", "gold accuracy"], rows)
    out += ["", "### To calibrate", ""]
    out += [f"- {md_text(c['reviewer'])} on {md_text(c['criterion'])}: {md_text('; '.join(c['reasons']))}"
            for c in report["calibration"]] or [
        "Nobody: every reviewer with enough items agrees with the others and with gold."
    ]
    out += rubric_clarity(report.get("clarity"), report.get("rubric_ab"))  # reports saved before have neither
    bias = [(k, s["preference"]) for k, s in report["criteria"].items() if s.get("preference")]
    if bias:
        out += ["", "## Position bias (pairwise)", ""]
        for key, p in bias:
            ci = p["left_rate_ci"] or [None, None]
            out.append(
                f"- {md_text(key)}: the left answer wins {_num(p['left_rate'], '.1%')} of {p['n_decisions']:,} decided "
                f"comparisons [{_num(ci[0], '.1%')}, {_num(ci[1], '.1%')}]; ties {_num(p['tie_share'], '.1%')}."
            )
    out += pairwise(report.get("pairwise"))
    out += ["", "## Production estimates", ""]
    out += [f"- {md_text(e['criterion'])} = {md_text(e['sentence'])}" for e in report["estimates"]] or [
        "No resolved sampled items yet."
    ]
    out += human_vs_model(report.get("model"))
    out += bias_controls(report.get("biases"))
    consensus = _counts(dict(sorted(report["consensus"].items()))) or "none yet"
    out += ["", "## Consensus and adjudication", "", f"- Consensus values by method: {consensus}."]
    for key, counts in report.get("consensus_by_criterion", {}).items():
        out.append(f"- {md_text(key)}: {_counts(counts)} items.")
    out += _policy(report.get("consensus_policy"))  # reports saved before policies have none
    out += [f"- Open adjudication cases: {report['backlog']:,}."]  # fmt: skip
    return "\n".join(out) + "\n"


def pairwise(results: Mapping[str, Any] | None) -> list[str]:
    """The A/B answer: win rates per pair and the Bradley-Terry ranking, raw and position-corrected."""
    if results is None:
        return []
    out = ["", f"## Pairwise results (by {md_text(results['compare'])})", ""]
    if "pairs" not in results:
        return [*out, md_text(results.get("note", "No results yet")) + "."]
    rows = [[md_text(p["value"]), md_text(p["other"]), f"{p['wins']:,} / {p['ties']:,} / {p['losses']:,}",
             _num(p["win_rate"], ".1%") + _ci(p["win_rate_ci"], ".1%")] for p in results["pairs"]]  # fmt: skip
    out += _table(["value", "against", "wins / ties / losses", "win rate (a tie is half) [95% CI]"], rows)
    corrected = {v["value"]: v for v in results["ranking_position_corrected"].get("values", [])}
    out += ["", "Bradley-Terry ranking (strength in log-odds, centred on 0; 95% CI):", ""]
    rows = []
    for v in results["ranking"]["values"]:
        c = corrected.get(v["value"])
        rows.append([str(v["rank"]), md_text(v["value"]), _num(v["strength"], "+.2f") + _ci(v["strength_ci"], "+.2f"),
                     _num(v["win_probability_vs_average"], ".0%"),
                     _num(c["strength"], "+.2f") + _ci(c["strength_ci"], "+.2f") if c else "-"])  # fmt: skip
    out += _table(["rank", "value", "strength", "beats an average value", "corrected for position"], rows)
    side = results["ranking_position_corrected"]
    if side.get("left_win_probability") is not None:
        odds = _num(side["left_advantage"], "+.2f") + _ci(side["left_advantage_ci"], "+.2f")
        out += ["", f"Between equals the left side wins {_num(side['left_win_probability'], '.1%')} (log-odds {odds})."]
    notes = [n for n in (results["ranking"].get("note"), side.get("note")) if n]
    out += [f"Note: {md_text(n)}." for n in dict.fromkeys(notes)]
    out.append(f"From {results['judgments']:,} preferences on {results['items']:,} items; each item weighs one.")
    return out


def _policy(rule: Mapping[str, Any] | None) -> list[str]:
    if rule is None:
        return []
    when = "any disagreement" if rule["adjudicate"] == "any_disagreement" else "no majority"
    tolerance = ", ".join(f"{md_text(k)} {v:g}" for k, v in rule["tolerance"].items())
    return [f"- Policy: a lead decides on {when} beyond the tolerance" + (f" ({tolerance})." if tolerance else ".")]


def _ci(ci: list | None, spec: str = ".3f") -> str:
    return f" [{_num(ci[0], spec)}, {_num(ci[1], spec)}]" if ci else ""


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{md_text(name)} ({n:,})" for name, n in counts.items())


def human_vs_model(model: Mapping[str, Any] | None) -> list[str]:
    """The human-vs-model section: suggestions against consensus, calibration, anchoring, outcomes."""
    if model is None:
        return []
    out = ["", "## Human vs model", ""]
    if not model["criteria"]:
        return [*out, md_text(model.get("note") or "No suggestions with a consensus value yet."),
                *_outcomes(model.get("outcomes"))]  # fmt: skip
    rows = [[md_text(key), f"{m['n_items']:,}", _num(m["accuracy"], ".1%"), _num(m["kappa"]) + _ci(m["kappa_ci"]),
             _num(m["ece"]), _num(m["brier"]), _counts(m["model_versions"])]
            for key, m in model["criteria"].items()]  # fmt: skip
    out += _table(["criterion", "items", "accuracy", "Cohen's kappa [95% CI]", "ECE", "Brier", "model versions"], rows)
    out += ["", "Reliability (share of suggestions equal to the consensus, by confidence):", ""]
    rows = [[md_text(key), b["bin"], f"{b['n']:,}", _num(b["mean_confidence"], ".2f"), _num(b["accuracy"], ".2f")]
            for key, m in model["criteria"].items() for b in m["reliability"]]  # fmt: skip
    out += _table(["criterion", "confidence", "suggestions", "mean confidence", "right"], rows)
    anchoring = model.get("anchoring")
    if anchoring:
        out += ["", "### Anchoring (suggestions shown to a random half of the items)", ""]
        for key, a in [*anchoring["criteria"].items(), ("all criteria", anchoring["all"])]:
            if a["effect"] is None:
                out.append(f"- {md_text(key)}: {md_text(a.get('note', 'not measurable'))}.")
                continue
            out.append(
                f"- {md_text(key)}: reviewers agree with the suggestion in {_num(a['shown_agree'], '.1%')} of "
                f"{a['shown_labels']:,} labels when it is shown and {_num(a['hidden_agree'], '.1%')} of "
                f"{a['hidden_labels']:,} when hidden: {a['effect'] * 100:+.1f} points"
                f"{_ci([x * 100 for x in a['effect_ci']] if a['effect_ci'] else None, '+.1f')}; as if they "
                f"copied {_num(a['copy_rate'], '.0%')}{_ci(a['copy_rate_ci'], '.0%')} of the suggestions shown."
            )
    return out + _outcomes(model.get("outcomes"))


def bias_controls(biases: Mapping[str, Any] | None) -> list[str]:
    """The bias controls: each figure over the queue and per reviewer, flagged where its interval excludes no bias."""
    rows = bias_table(biases)
    if not rows:
        return []
    out = ["", "## Bias controls", "",
           "Each figure is an estimate with its 95% interval; **flagged** where the interval excludes no bias "
           "(README, \"Making feedback trustworthy\").", ""]  # fmt: skip
    table = [[md_text(r["title"]), md_text(r["reviewer"]), r["shown"], r["ci_shown"], f"{r['n']:,}",
              "**flagged**" if r["flagged"] else md_text(r["note"] or "")] for r in rows]  # fmt: skip
    out += _table(["figure", "who", "estimate", "95% CI", "n", ""], table)
    flagged = [r for r in rows if r["flagged"]]
    if flagged:
        out += ["", "What to do:", ""]
        out += [f"- {md_text(r['reviewer'])}, {md_text(r['title'])}: {md_text(MEASURES[r['measure']].advice)}."
                for r in flagged]  # fmt: skip
    return out


def _outcomes(outcomes: Mapping[str, Any] | None) -> list[str]:
    """What reviewers did with the suggestions pre-selected for them, beside agreement when not shown."""
    if not outcomes or not outcomes["all"]["shown_labels"] + outcomes["all"]["hidden_labels"]:
        return []
    out = ["", "### What reviewers did with pre-selected suggestions", ""]
    rows = [[md_text(key), f"{o['recorded']:,}", f"{o['accepted']:,}", f"{o['changed']:,}", f"{o['left']:,}",
             _num(o["acceptance_rate"], ".1%"), _num(o["rubber_stamp_share"], ".1%"), f"{o['hidden_labels']:,}",
             _num(o["hidden_agree"], ".1%"), _num(o["excess_acceptance"], "+.1%")]
            for key, o in [*outcomes["criteria"].items(), ("all criteria", outcomes["all"])]]  # fmt: skip
    out += _table(["criterion", "shown", "accepted", "changed", "left", "kept", "left untouched", "not shown",
                   "agree when not shown", "kept minus agree"], rows)  # fmt: skip
    return [*out, "", "Kept = accepted + left; left = submitted as pre-selected without touching the criterion."]


def rubric_clarity(clarity: Mapping[str, Any] | None, ab: list[Mapping[str, Any]] | None) -> list[str]:
    """Rubric clarity per criterion (confused option pairs, per-option alpha, comments where reviewers
    disagreed), then rubric A/B: agreement before and after each rubric edit."""
    if clarity is None and ab is None:
        return []
    out = ["", "## Rubric clarity", ""]
    if not clarity:
        out.append("No choice criterion has items with two or more reviews yet.")
    for key, c in (clarity or {}).items():
        out += ["", f"### {md_text(key)} (rubric {md_text(c['version'])}, {c['n_items']:,} items)", ""]
        pairs = [f"{md_text(p['a'])} / {md_text(p['b'])} ({_num(p['share_of_disagreements'], '.0%')} of the "
                 f"disagreements, {_num(p['over_chance'], '.2f')}x chance)"
                 for p in c["confused_pairs"][:TOP_PAIRS]]  # fmt: skip
        out.append("Most confused options: " + ("; ".join(pairs) if pairs else "none, every item was agreed on") + ".")
        out.append("")
        rows = [[md_text(o["option"]), _num(o["share"], ".0%"),
                 _num(o["alpha"]) + _ci(o["ci"]) if o["alpha"] is not None else f"- ({md_text(o['note'])})"]
                for o in c["options"]]  # fmt: skip
        out += _table(["option", "share of answers", "alpha of the option against the rest [95% CI]"], rows)
        out += ["", f"Comments on the {c['disagreed_items']:,} items where reviewers disagreed "
                f"({len(c['comments'])} of {c['comments_given']:,} shown, newest first):", ""]  # fmt: skip
        out += [f"- {md_text(m['reviewer'])} on {md_text(m['item_id'])} ({md_text(m['answer'])}): "
                f"{md_text(m['comment'])}" for m in c["comments"]] or ["- none"]  # fmt: skip
    out += ["", "## Rubric A/B (agreement before and after each rubric edit)", ""]
    return out + ([f"- {md_text(a['sentence'])}." for a in ab or ()] or
                  ["No rubric edit yet with items reviewed twice under both versions."])  # fmt: skip


def write(report: Mapping[str, Any], reports_dir: Path) -> Path:
    """Write the report as `<queue>-<UTC timestamp>.md`, whole or not at all; returns its path."""
    at = datetime.fromisoformat(report["computed_at"])
    return write_text(reports_dir / f"{report['queue']}-{at:%Y%m%dT%H%M%SZ}.md", markdown(report))


__all__ = ["bias_controls", "human_vs_model", "markdown", "pairwise", "rubric_clarity", "write"]
