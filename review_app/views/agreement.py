"""Agreement dashboard, for leads: how far reviewers agree, who needs calibration, which model wins an
A/B queue, what production looks like. It shows the latest quality report the flows saved in the
review store (the app never opens the warehouse), says what arrived since, and refreshes: through a
collect run asked of Prefect when a server is configured (PREFECT_API_URL), else as a provisional
report computed here from the review store's current answers (`reviewdesk.quality.provisional`)."""

import os

import altair as alt
import pandas as pd
import streamlit as st

from review_app.clarity import show_rubric_sections
from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.labels.adjudication import backlog
from reviewdesk.quality.bias_flags import MEASURES, bias_table
from reviewdesk.quality.provisional import arrived_since, provisional_report
from reviewdesk.quality.snapshot import latest

COLLECT_DEPLOYMENT = "collect-submissions/collect-submissions"  # prefect.yaml
MIN_BIN = 20  # reliability bins with fewer suggestions are hidden: their accuracy says little
RELIABLE, TENTATIVE = 0.8, 0.667  # Krippendorff (2004): rely on alpha >= .800, draw tentative conclusions >= .667
CALIBRATION_PAGE = "views/reviewer_calibration.py"
GUIDE = f"""
**Krippendorff's alpha** measures how far reviewers agree beyond what chance would give: 1 is perfect
agreement, 0 is no better than chance, below 0 is systematic disagreement. Krippendorff's usual
thresholds: **{RELIABLE}** or more, rely on the labels; **{TENTATIVE}** to {RELIABLE}, draw only tentative
conclusions; below {TENTATIVE}, the labels are not reliable yet. Intervals are 95% bootstrap intervals
over items: a wide one means too few items with two or more reviews.

What each notice asks of you:
- **Stale report**: submissions arrived after it was computed. Press *Refresh*.
- **Alpha below {TENTATIVE}**: make the rubric's wording and examples clearer, then calibrate reviewers.
- **To calibrate**: open the reviewer's page, go through their disagreements and gold misses with them.
- **Open adjudication cases**: decide them on the Adjudication page; until then those items are not promoted.
- **Left answer preferred far from 50%**: reviewers favour a side; keep sides randomized, read the
  position-corrected ranking.
- **Bias controls** (verbosity, fatigue, rubber-stamping, straight-lining, drift): a figure is flagged when
  its 95% interval excludes no bias; each flag says what to do. With many reviewers, expect about one
  figure in twenty flagged by chance: look at its size too.
"""
RATER_COLUMNS = {
    "rater": "reviewer", "n_items": "items reviewed", "n_compared": "items shared with others",
    "agreement": "agreement with the others", "mean_kappa": "kappa with the others (mean)",
    "gold_ratings": "gold items answered", "gold_accuracy": "gold accuracy",
}  # fmt: skip


def verdict(alpha: float) -> str:
    if alpha >= RELIABLE:
        return "reliable"
    return "tentative" if alpha >= TENTATIVE else "not reliable yet"


def refresh(queue: str) -> None:
    """Ask Prefect for a collect run when a server is configured; else compute a provisional report."""
    if os.environ.get("PREFECT_API_URL"):
        try:
            from prefect.deployments import run_deployment

            run = run_deployment(name=COLLECT_DEPLOYMENT, timeout=0)
            st.session_state["refresh_notice"] = (
                f"Asked Prefect for a collect run ({run.name}): the report updates when it finishes. Reload then."
            )
            return
        except Exception as e:  # an unreachable server or a missing deployment: fall back, and say why
            st.session_state["refresh_notice"] = f"Prefect could not start a collect run ({type(e).__name__}: {e}); " \
                "showing a provisional report instead."  # fmt: skip
    st.session_state.setdefault("provisional", {})[queue] = provisional_report(store(), queue)


require_role("lead", "admin")
st.title("Agreement")
reports = {r["queue"]: r for r in latest(store())}
provisional = st.session_state.get("provisional", {})
if not reports and not provisional:
    st.info("No quality report yet: run `reviewdesk collect`, then `reviewdesk agreement QUEUE` (the collect flow "
            "does both on its schedule).")  # fmt: skip
    st.stop()
queue = st.selectbox("Queue", sorted(set(reports) | set(provisional)))
saved, fresh = reports.get(queue), provisional.get(queue)
report = fresh if fresh and (saved is None or fresh["computed_at"] > saved["computed_at"]) else saved
with st.expander("How to read this page"):
    st.markdown(GUIDE)

at = report["computed_at"][:16].replace("T", " ")
if report.get("provisional"):
    st.info(f"Provisional report, computed at {at} UTC straight from the review store's {report['labels']:,} current "
            "answers: agreement and reviewers only. Consensus, production estimates and model figures come with "
            "the next collect run.")  # fmt: skip
else:
    st.caption(f"Report of {at} UTC, from {report['labels']:,} collected labels. Intervals: 95% bootstrap over items.")
if "watermark" in report:
    since = arrived_since(store(), queue, report["watermark"])
    if since["submissions"]:
        last = since["latest"][:16].replace("T", " ")
        n, who = since["submissions"], since["reviewers"]
        st.warning(f"Stale report: {n:,} submission{'s' * (n != 1)} from {who} reviewer{'s' * (who != 1)} arrived "
                   f"after it (the latest at {last} UTC). Refresh to include them.")  # fmt: skip
    else:
        st.success("Up to date: no submission arrived after this report.")
else:
    st.caption("This report predates freshness tracking: refresh to see what arrived since.")
if notice := st.session_state.pop("refresh_notice", None):
    st.info(escape(notice))
st.button("Refresh", on_click=refresh, args=(queue,), help="A collect run through Prefect when a server is "
          "configured, otherwise a provisional report from the review store.")  # fmt: skip

open_now = len(backlog(store(), queue))
measured = {k: s for k, s in report["criteria"].items() if "note" not in s}
for key, s in report["criteria"].items():
    if key not in measured:
        st.warning(escape(f"{key}: {s['note']}"))
columns = st.columns(max(1, len(measured)) + 1)
for column, (key, s) in zip(columns, measured.items(), strict=False):
    ci = s["alpha_ci"]
    column.metric(f"{key}: Krippendorff's alpha", f"{s['krippendorff_alpha']:.2f}",
                  help=f"{s['level']}; 95% CI {ci[0]:.2f} to {ci[1]:.2f}; {s['n_pairable_items']:,} items with two "
                  f"or more reviews, {s['n_raters']} reviewers" if ci else None)  # fmt: skip
    column.caption(verdict(s["krippendorff_alpha"]))
columns[-1].metric("Open adjudication cases", f"{open_now:,}", help="Right now, from the review store.")

st.subheader("Agreement over batches")
by_batch = pd.DataFrame(report["by_batch"])
if by_batch.empty:
    st.caption("No batch has two or more reviews on the same items yet (or this report is provisional).")
else:
    by_batch[["low", "high"]] = pd.DataFrame(by_batch["alpha_ci"].tolist(), index=by_batch.index)
    by_batch["batch"] = by_batch["created_at"].str[:16].str.replace("T", " ") + " " + by_batch["batch_id"].str[:10]
    order = by_batch.sort_values("created_at")["batch"].unique().tolist()  # oldest first, one tick per batch
    base = alt.Chart(by_batch).encode(
        x=alt.X("batch:N", sort=order, title="batch (drawn at, UTC)"), color=alt.Color("criterion:N", title="criterion")
    )
    alpha_axis = alt.Y("alpha:Q", title="Krippendorff's alpha")
    chart = base.mark_line(point=True).encode(
        y=alpha_axis, tooltip=["batch_id", "criterion", alt.Tooltip("alpha", title="alpha"),
                               alt.Tooltip("n_items", title="items with two or more reviews")],
    ) + base.mark_errorbar().encode(y=alt.Y("low:Q", title="Krippendorff's alpha"), y2="high:Q")  # fmt: skip
    st.altair_chart(chart, width="stretch")

st.subheader("Reviewer pairs")
key = st.selectbox("Criterion", list(measured), key="pairs_criterion") if measured else None
if key:
    pairs = pd.DataFrame(measured[key]["pairs"])
    if not pairs.empty:
        both = pd.concat([pairs, pairs.rename(columns={"rater_a": "rater_b", "rater_b": "rater_a"})])
        heat = alt.Chart(both).mark_rect().encode(
            x=alt.X("rater_a:N", title="reviewer"), y=alt.Y("rater_b:N", title="other reviewer"),
            color=alt.Color("kappa:Q", scale=alt.Scale(domain=[-0.2, 1], scheme="redyellowgreen"),
                            title="Cohen's kappa"),
            tooltip=[alt.Tooltip("rater_a", title="reviewer"), alt.Tooltip("rater_b", title="other reviewer"),
                     alt.Tooltip("kappa", title="Cohen's kappa", format=".2f"),
                     alt.Tooltip("agreement", title="agreement", format=".0%"),
                     alt.Tooltip("n_items", title="items both reviewed")],
        )  # fmt: skip
        labels = heat.mark_text().encode(text=alt.Text("kappa:Q", format=".2f"), color=alt.value("black"))
        st.altair_chart(heat + labels, width="stretch")
    st.subheader("Reviewers")
    raters = pd.DataFrame(measured[key]["raters"])[list(RATER_COLUMNS)].rename(columns=RATER_COLUMNS)
    st.dataframe(raters, hide_index=True, column_config={
        "agreement with the others": st.column_config.NumberColumn(format="percent"),
        "kappa with the others (mean)": st.column_config.NumberColumn(format="%.2f"),
        "gold accuracy": st.column_config.NumberColumn(format="percent"),
    })  # fmt: skip
if report["calibration"]:
    st.warning("To calibrate: go through each reviewer's disagreements and gold misses with them.")
    for c in report["calibration"]:  # reviewer names are free text
        st.page_link(CALIBRATION_PAGE, label=escape(f"{c['reviewer']} on {c['criterion']}: {'; '.join(c['reasons'])}"),
                     query_params={"queue": queue, "reviewer": c["reviewer"], "criterion": c["criterion"]})  # fmt: skip

show_rubric_sections(report)  # rubric A/B and clarity: what to rewrite, and whether the last edit helped

results = report.get("pairwise") or {}
if results.get("pairs"):
    st.subheader(escape(f"Which {results['compare']} wins"))
    rates = ("win rate (a tie is half)", "95% CI low", "95% CI high")
    st.dataframe(pd.DataFrame([{
        "value": p["value"], "against": p["other"], "wins": p["wins"], "ties": p["ties"], "losses": p["losses"],
        **dict(zip(rates, (p["win_rate"], *p["win_rate_ci"]), strict=True)),
    } for p in results["pairs"]]), hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="percent") for c in rates})  # fmt: skip
    strengths = pd.DataFrame([
        {"value": v["value"], "fit": fit, "strength": v["strength"], "low": v["strength_ci"][0],
         "high": v["strength_ci"][1], "beats an average value": v["win_probability_vs_average"]}
        for fit, name in (("as judged", "ranking"), ("corrected for position", "ranking_position_corrected"))
        for v in results[name].get("values", [])
    ])  # fmt: skip
    order = [v["value"] for v in results["ranking"]["values"]]
    base = alt.Chart(strengths).encode(
        y=alt.Y("value:N", sort=order, title=None), yOffset="fit:N", color=alt.Color("fit:N", title="ranking")
    )
    st.altair_chart(base.mark_point(filled=True).encode(
        x=alt.X("strength:Q", title="Bradley-Terry strength (log-odds; 0 is average)"),
        tooltip=["value", "fit", alt.Tooltip("strength", format="+.2f"),
                 alt.Tooltip("beats an average value", format=".0%")],
    ) + base.mark_errorbar().encode(x=alt.X("low:Q", title="Bradley-Terry strength (log-odds; 0 is average)"),
                                    x2="high:Q"), width="stretch")  # fmt: skip
    left = results["ranking_position_corrected"].get("left_win_probability")
    st.caption(f"From {results['judgments']:,} preferences on {results['items']:,} items (each item weighs one); bars "
               "are 95% intervals." + (f" Between equals the left side wins {left:.0%}." if left is not None else ""))

for s in measured.values():
    if p := s.get("preference"):
        st.subheader("Position bias")
        ci = p["left_rate_ci"]
        st.metric("Left answer preferred", f"{p['left_rate']:.1%}" if p["left_rate"] is not None else "-",
                  help=f"of {p['n_decisions']:,} decided comparisons" + (f"; 95% CI {ci[0]:.1%} to {ci[1]:.1%}"
                  if ci else "") + f"; 50% is no bias. Ties: {p['tie_share']:.1%}.")  # fmt: skip

model = report.get("model")  # reports saved before pre-scoring existed have none
if model:
    st.subheader("Human vs model")
    if not model["criteria"]:
        st.caption(model.get("note") or "No suggestion has a consensus value to compare with yet.")
    else:
        for column, (key, m) in zip(st.columns(len(model["criteria"])), model["criteria"].items(), strict=True):
            ci = m["kappa_ci"]
            column.metric(f"{key}: model vs consensus kappa", "-" if m["kappa"] is None else f"{m['kappa']:.2f}",
                          help=f"{m['accuracy']:.0%} of {m['n_items']:,} suggestions equal the consensus"
                          + (f"; 95% CI {ci[0]:.2f} to {ci[1]:.2f}" if ci else "") + f"; calibration error (ECE) "
                          f"{m['ece']:.3f}; "
                          + escape(", ".join(f"{v} ({n:,})" for v, n in m["model_versions"].items())))  # fmt: skip
        bins = pd.DataFrame([{**b, "criterion": key} for key, m in model["criteria"].items() for b in m["reliability"]])
        hidden = int((bins["n"] < MIN_BIN).sum()) if not bins.empty else 0
        bins = bins[bins["n"] >= MIN_BIN] if not bins.empty else bins
        diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 4])
        curve = alt.Chart(bins).mark_line(point=True).encode(
            x=alt.X("mean_confidence:Q", scale=alt.Scale(domain=[0, 1]), title="model confidence"),
            y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="share equal to the consensus"),
            color="criterion:N", tooltip=["criterion", alt.Tooltip("bin", title="confidence"),
                                          alt.Tooltip("n", title="suggestions"), "mean_confidence", "accuracy"],
        )  # fmt: skip
        few = f" {hidden} confidence bin(s) with fewer than {MIN_BIN} suggestions are hidden." if hidden else ""
        st.caption("Reliability: a calibrated model's points lie on the dashed diagonal." + few)
        st.altair_chart(diagonal.encode(x=alt.X("x:Q", title="model confidence"),
                                        y=alt.Y("x:Q", title="share equal to the consensus")) + curve, width="stretch")
    anchoring = (model.get("anchoring") or {}).get("all")
    if anchoring and anchoring["effect"] is not None:
        ci, copy = anchoring["effect_ci"], anchoring["copy_rate_ci"]
        copied = "-" if anchoring["copy_rate"] is None else f"{anchoring['copy_rate']:.0%}"
        why = (f"{anchoring['shown_agree']:.1%} of {anchoring['shown_labels']:,} labels agree when shown, "
               f"{anchoring['hidden_agree']:.1%} of {anchoring['hidden_labels']:,} when hidden"
               + (f" (95% CI {ci[0]:+.1%} to {ci[1]:+.1%})" if ci else "") + f". As if reviewers copied {copied} of "
               "the suggestions shown" + (f" (95% CI {copy[0]:.0%} to {copy[1]:.0%})." if copy else "."))  # fmt: skip
        st.metric(
            "Anchoring: agreement with the suggestion, shown minus hidden", f"{anchoring['effect']:+.1%}", help=why
        )
    elif anchoring:
        st.caption(f"Anchoring: {escape(anchoring['note'])}.")

st.subheader("Production estimates")
estimates = pd.DataFrame(report["estimates"])
if estimates.empty:
    st.caption("Nothing to estimate yet: no categorical criterion of this queue has resolved sampled items.")
else:
    share = alt.X("share:Q", axis=alt.Axis(format="%"), title="share of production runs (95% CI)")
    bars = alt.Chart(estimates).encode(y=alt.Y("outcome:N", title=None), color=alt.Color("criterion:N"))
    st.altair_chart(
        bars.mark_bar().encode(x=share, tooltip=["criterion", "outcome", alt.Tooltip("sentence", title="estimate")])
        + bars.mark_errorbar().encode(x=alt.X("low:Q", title="share of production runs (95% CI)"), x2="high:Q"),
        width="stretch",
    )  # fmt: skip
    for sentence in estimates["criterion"] + " = " + estimates["sentence"]:
        st.text(sentence)
if resolved := report.get("consensus_by_criterion"):
    st.subheader("How items were resolved")
    st.dataframe(pd.DataFrame(resolved).T.fillna(0).astype(int).rename_axis("criterion").reset_index(), hide_index=True)
    st.caption("Items per consensus method; all but `single` are trusted and promoted. Open cases wait for a lead.")

biases = report.get("biases")  # reports saved before bias controls, and provisional ones, have none
if biases:
    st.subheader("Bias controls")
    table = pd.DataFrame(bias_table(biases))
    flagged = table[table["flagged"]] if not table.empty else table
    for r in flagged.itertuples():  # reviewer names are free text
        st.warning(escape(f"{r.reviewer}: {r.title} {r.shown} (95% CI {r.ci_shown}). {MEASURES[r.measure].advice}."))
    if flagged.empty:
        st.caption("No bias flagged: every interval includes no bias.")
    if not table.empty:
        st.dataframe(table[["title", "reviewer", "shown", "ci_shown", "n", "flagged", "note"]].rename(columns={
            "title": "figure", "reviewer": "who", "shown": "estimate", "ci_shown": "95% CI", "note": "why no figure",
        }), hide_index=True)  # fmt: skip
    curve = pd.DataFrame(biases.get("fatigue_curve") or [])
    if not curve.empty:
        curve["positions"] = curve["from"].astype(str) + "-" + curve["to"].astype(str)
        long = pd.concat([
            curve.assign(share=curve["gold_accuracy"], n=curve["gold_n"], of="gold accuracy"),
            curve.assign(share=curve["agreement"], n=curve["agreement_n"], of="agreement with the others"),
        ]).dropna(subset=["share"])  # fmt: skip
        st.caption("Fatigue: answers by position in a session (sessions split at 30-minute gaps).")
        st.altair_chart(alt.Chart(long).mark_line(point=True).encode(
            x=alt.X("positions:N", sort=curve["positions"].tolist(), title="items into the session"),
            y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share"), color=alt.Color("of:N", title=None),
            tooltip=["positions", "of", alt.Tooltip("share", format=".1%"), alt.Tooltip("n", title="answers")],
        ), width="stretch")  # fmt: skip
    weekly = pd.DataFrame(biases.get("weekly") or [])
    if not weekly.empty and weekly["week"].nunique() > 1:
        st.caption("Drift: each reviewer's gold accuracy and mean ordinal score (0 lowest option, 1 highest) per week.")
        long = pd.concat([weekly.assign(value=weekly["gold_accuracy"], n=weekly["gold_n"], of="gold accuracy"),
                          weekly.assign(value=weekly["score"], n=weekly["score_n"], of="mean ordinal score")])
        st.altair_chart(alt.Chart(long.dropna(subset=["value"])).mark_line(point=True).encode(
            x=alt.X("week:O", title="week since the first label"), y=alt.Y("value:Q", title=None),
            color=alt.Color("reviewer:N", title="reviewer"), row=alt.Row("of:N", title=None),
            tooltip=["reviewer", "week", "of", alt.Tooltip("value", format=".2f"), alt.Tooltip("n", title="answers")],
        ), width="stretch")  # fmt: skip
