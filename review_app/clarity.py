"""The Agreement page's rubric sections: rubric A/B (did the last rubric edit change agreement?) and rubric
clarity (which options reviewers confuse, which they agree on, what they said where they disagreed).

Drawn from the saved quality report (`reviewdesk.quality.rubric_ab`, `reviewdesk.quality.clarity`);
reports saved before these existed, and provisional ones, have neither and show nothing here. Sentences
and captions hold option values and criterion names, so they are escaped; tables show plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from review_app.render import escape

AB_HELP = ("Each rubric version's labels are measured on their own items; the interval is a 95% bootstrap over "
           "items of the difference. If it excludes 0 the edit changed agreement; if it covers 0, review more items "
           "under the new version before judging the edit.")  # fmt: skip
CLARITY_HELP = ("Confused pairs: the option pairs reviewers split on, as a share of all disagreements, and against "
                "chance (below 1: less often than chance). Per-option alpha: agreement on whether an answer is that "
                "option; the lowest one is the option whose description and examples to rewrite first.")  # fmt: skip


def show_rubric_ab(ab: list[Mapping[str, Any]]) -> None:
    """Each rubric edit's comparison as a sentence: green if it raised agreement, orange if it lowered it."""
    st.subheader("Rubric A/B", help=AB_HELP)
    if not ab:
        st.caption("No rubric edit yet with items reviewed twice under both versions.")
        return
    for a in ab:
        say = st.info if not a["distinguishable"] else st.success if a["difference"] > 0 else st.warning
        say(escape(a["sentence"][0].upper() + a["sentence"][1:] + "."))


def show_clarity(clarity: Mapping[str, Mapping[str, Any]]) -> None:
    """One criterion's confused option pairs, per-option agreement and comments on disagreed items."""
    st.subheader("Rubric clarity", help=CLARITY_HELP)
    if not clarity:
        st.caption("No choice criterion has items with two or more reviews yet.")
        return
    key = st.selectbox("Criterion", list(clarity), key="clarity_criterion")
    c = clarity[key]
    st.caption(escape(f"Rubric {c['version']}, {c['n_items']:,} items with two or more reviews."))
    pairs = pd.DataFrame([{"option": str(p["a"]), "confused with": str(p["b"]),
                           "share of disagreements": p["share_of_disagreements"], "against chance": p["over_chance"]}
                          for p in c["confused_pairs"]])  # fmt: skip
    if not pairs.empty:
        st.dataframe(pairs, hide_index=True, column_config={
            "share of disagreements": st.column_config.NumberColumn(format="percent"),
            "against chance": st.column_config.NumberColumn(format="%.2fx"),
        })  # fmt: skip
    options = pd.DataFrame([{"option": str(o["option"]), "share of answers": o["share"],
                             "alpha against the rest": o["alpha"], "95% CI low": (o["ci"] or [None])[0],
                             "95% CI high": (o["ci"] or [None, None])[1], "note": o["note"] or ""}
                            for o in c["options"]])  # fmt: skip
    st.dataframe(options, hide_index=True, column_config={
        "share of answers": st.column_config.NumberColumn(format="percent"),
        **{k: st.column_config.NumberColumn(format="%.2f") for k in ("alpha against the rest", "95% CI low",
                                                                     "95% CI high")},
    })  # fmt: skip
    st.caption(f"Comments on the {c['disagreed_items']:,} items where reviewers disagreed: {len(c['comments'])} of "
               f"{c['comments_given']:,}, newest first.")  # fmt: skip
    if c["comments"]:
        st.dataframe(pd.DataFrame([{"reviewer": m["reviewer"], "item": m["item_id"], "answer": m["answer"],
                                    "comment": m["comment"]} for m in c["comments"]]), hide_index=True)  # fmt: skip


def show_rubric_sections(report: Mapping[str, Any]) -> None:
    """Both sections, when the report has them."""
    if "rubric_ab" in report:
        show_rubric_ab(report["rubric_ab"])
    if "clarity" in report:
        show_clarity(report["clarity"])


__all__ = ["show_clarity", "show_rubric_ab", "show_rubric_sections"]
