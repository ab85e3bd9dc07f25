"""Agreement dashboard, for leads: how far reviewers agree, who needs calibration, what production
looks like. It shows the latest quality report the flows saved in the review store (the app never
opens the warehouse); `reviewdesk agreement QUEUE` or the collect flow refreshes it."""

import altair as alt
import pandas as pd
import streamlit as st

from review_app.render import escape
from review_app.session import require_role, store
from reviewdesk.labels.adjudication import backlog
from reviewdesk.quality.snapshot import latest

require_role("lead", "admin")
st.title("Agreement")
reports = {r["queue"]: r for r in latest(store())}
if not reports:
    st.info("No quality report yet: run `reviewdesk collect`, then `reviewdesk agreement QUEUE` (the collect flow "
            "does both on its schedule).")  # fmt: skip
    st.stop()
report = reports[st.selectbox("Queue", list(reports))]
open_now = len(backlog(store(), report["queue"]))
st.caption(f"Report of {report['computed_at'][:16].replace('T', ' ')} UTC, from {report['labels']:,} labels. "
           "Intervals: 95% bootstrap over items.")  # fmt: skip

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
columns[-1].metric("Open adjudication cases", f"{open_now:,}", help="Right now, from the review store.")

st.subheader("Agreement over batches")
by_batch = pd.DataFrame(report["by_batch"])
if by_batch.empty:
    st.caption("No batch has two or more reviews on the same items yet.")
else:
    by_batch[["low", "high"]] = pd.DataFrame(by_batch["alpha_ci"].tolist(), index=by_batch.index)
    by_batch["batch"] = by_batch["created_at"].str[:16].str.replace("T", " ") + " " + by_batch["batch_id"].str[:10]
    order = by_batch.sort_values("created_at")["batch"].unique().tolist()  # oldest first, one tick per batch
    base = alt.Chart(by_batch).encode(
        x=alt.X("batch:N", sort=order, title="batch (drawn at, UTC)"), color="criterion:N"
    )
    chart = base.mark_line(point=True).encode(
        y=alt.Y("alpha:Q", title="Krippendorff's alpha"), tooltip=["batch_id", "criterion", "alpha", "n_items"]
    ) + base.mark_errorbar().encode(y=alt.Y("low:Q", title="Krippendorff's alpha"), y2="high:Q")
    st.altair_chart(chart, width="stretch")

st.subheader("Reviewer pairs")
key = st.selectbox("Criterion", list(measured), key="pairs_criterion") if measured else None
if key:
    pairs = pd.DataFrame(measured[key]["pairs"])
    if not pairs.empty:
        both = pd.concat([pairs, pairs.rename(columns={"rater_a": "rater_b", "rater_b": "rater_a"})])
        heat = alt.Chart(both).mark_rect().encode(
            x=alt.X("rater_a:N", title=None), y=alt.Y("rater_b:N", title=None),
            color=alt.Color("kappa:Q", scale=alt.Scale(domain=[-0.2, 1], scheme="redyellowgreen"), title="kappa"),
            tooltip=["rater_a", "rater_b", "kappa", "agreement", "n_items"],
        )  # fmt: skip
        labels = heat.mark_text().encode(text=alt.Text("kappa:Q", format=".2f"), color=alt.value("black"))
        st.altair_chart(heat + labels, width="stretch")
    st.subheader("Reviewers")
    st.dataframe(pd.DataFrame(measured[key]["raters"]), hide_index=True)
if report["calibration"]:
    st.warning("To calibrate:\n\n" + "\n\n".join(  # reviewer names are free text
        escape(f"{c['reviewer']} on {c['criterion']}: {'; '.join(c['reasons'])}") for c in report["calibration"]
    ))  # fmt: skip

for s in measured.values():
    if p := s.get("preference"):
        st.subheader("Position bias")
        ci = p["left_rate_ci"] or [None, None]
        st.metric("Left answer preferred", f"{p['left_rate']:.1%}" if p["left_rate"] is not None else "-",
                  help=f"of {p['n_decisions']:,} decided comparisons; 95% CI {ci[0]} to {ci[1]}; 50% is no bias. "
                  f"Ties: {p['tie_share']:.1%}.")  # fmt: skip

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
                          + (f"; 95% CI {ci[0]:.2f} to {ci[1]:.2f}" if ci else "") + f"; ECE {m['ece']:.3f}; "
                          + escape(", ".join(f"{v} ({n:,})" for v, n in m["model_versions"].items())))  # fmt: skip
        bins = pd.DataFrame([{**b, "criterion": key} for key, m in model["criteria"].items() for b in m["reliability"]])
        diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 4])
        curve = alt.Chart(bins).mark_line(point=True).encode(
            x=alt.X("mean_confidence:Q", scale=alt.Scale(domain=[0, 1]), title="model confidence"),
            y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="share equal to the consensus"),
            color="criterion:N", tooltip=["criterion", "bin", "n", "mean_confidence", "accuracy"],
        )  # fmt: skip
        st.caption("Reliability: a calibrated model's points lie on the dashed diagonal.")
        st.altair_chart(diagonal.encode(x="x:Q", y="x:Q") + curve, width="stretch")
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
    bars = alt.Chart(estimates).encode(y=alt.Y("outcome:N", title=None), color="criterion:N")
    st.altair_chart(
        bars.mark_bar().encode(x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of production runs"),
                               tooltip=["criterion", "outcome", "sentence"])
        + bars.mark_errorbar().encode(x="low:Q", x2="high:Q"),
        width="stretch",
    )  # fmt: skip
    for sentence in estimates["criterion"] + " = " + estimates["sentence"]:
        st.text(sentence)
