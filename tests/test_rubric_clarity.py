"""Rubric clarity: option examples in the rubric and as help on the form, the most confused option pairs,
per-option agreement (checked against Fleiss' published category kappas), and comments on disagreed items."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from review_app.render import escape
from review_app.rubric_form import _help, option_help
from reviewdesk.agreement.coefficients import fleiss_kappa
from reviewdesk.agreement.options import confused_pairs, option_agreement
from reviewdesk.agreement.ratings import Ratings
from reviewdesk.quality.clarity import disagreement_comments
from reviewdesk.quality.markdown import rubric_clarity
from schemas.rubric import Criterion, Rubric

# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each; per patient, how many chose each diagnosis.
DIAGNOSES = ("depression", "personality disorder", "schizophrenia", "neurosis", "other")
FLEISS_1971 = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0], [2, 0, 4, 0, 0],
    [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
    [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1], [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0],
    [0, 2, 0, 4, 0], [1, 0, 2, 0, 3], [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0],
    [1, 0, 0, 4, 1], [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
]  # fmt: skip
# Published category kappas (Fleiss 1971; R irr::kappam.fleiss(diagnoses, detail=TRUE)): overall .430.
PUBLISHED_KAPPAS = [0.245, 0.245, 0.520, 0.471, 0.566]
# Six items, raters a, b (and c on i6): x-x, x-y, y-y, z-y, z-z, and x-z-x.
SMALL = [("i1", "a", "x"), ("i1", "b", "x"), ("i2", "a", "x"), ("i2", "b", "y"), ("i3", "a", "y"), ("i3", "b", "y"),
         ("i4", "a", "z"), ("i4", "b", "y"), ("i5", "a", "z"), ("i5", "b", "z"), ("i6", "a", "x"), ("i6", "b", "z"),
         ("i6", "c", "x")]  # fmt: skip


def small() -> Ratings:
    return Ratings.from_labels(pd.DataFrame(SMALL, columns=["item", "rater", "value"]))


def fleiss_1971() -> Ratings:
    rows = [(f"p{i}", f"r{j}", DIAGNOSES[k]) for i, counts in enumerate(FLEISS_1971) for k, n in enumerate(counts)
            for j in range(sum(counts[:k]), sum(counts[:k]) + n)]  # fmt: skip
    return Ratings.from_labels(pd.DataFrame(rows, columns=["item", "rater", "value"]), options=DIAGNOSES)


def test_per_option_alpha_matches_fleiss_published_category_kappas():
    r = fleiss_1971()
    assert fleiss_kappa(r).value == pytest.approx(0.430, abs=5e-4)
    n = r.n_labels  # with six ratings on every item, alpha_j = 1 - (n - 1) / n (1 - kappa_j)
    kappas = [1 - n / (n - 1) * (1 - o.alpha) for o in option_agreement(r, resamples=0)]
    assert kappas == pytest.approx(PUBLISHED_KAPPAS, abs=5e-4)


def test_per_option_alpha_by_hand_and_by_the_krippendorff_package_on_binarised_ratings():
    # n = 13 paired ratings; x: n_x = 5, o_xx = 2 (i1) + 1 (i6: 2 x 1 / 2): alpha_x = 1 - 12 (5 - 3) / (5 x 8) = .4
    # y: n_y = 4, o_yy = 2 (i3): alpha_y = 1 - 12 (4 - 2) / (4 x 9) = 1/3; z likewise (o_zz = 2 from i5)
    found = option_agreement(small(), resamples=200, seed=1)
    assert [o.option for o in found] == ["x", "y", "z"] and [o.n_ratings for o in found] == [5, 4, 4]
    assert [o.alpha for o in found] == pytest.approx([0.4, 1 / 3, 1 / 3], abs=1e-12)
    frame = pd.DataFrame(SMALL, columns=["item", "rater", "value"])
    for o in found:
        binary = frame.assign(value=(frame["value"] == o.option).astype(float)).pivot(index="rater", columns="item")
        package = krippendorff.alpha(reliability_data=binary.to_numpy(), level_of_measurement="nominal")
        assert o.alpha == pytest.approx(package)
        assert o.ci is not None and o.ci[0] <= o.alpha <= o.ci[1]
    assert option_agreement(small(), resamples=200, seed=1) == found  # seeded


def test_confused_pairs_by_hand():
    # Off the diagonal: x-y (i2), y-z (i4) and x-z (i6: 2 x 1 / 2 each way) each 2 of 6 disagreeing pairs.
    pairs = {(p.a, p.b): p for p in confused_pairs(small())}
    assert set(pairs) == {("x", "y"), ("x", "z"), ("y", "z")}
    assert all(p.coincidences == 2 and p.share_of_disagreements == pytest.approx(1 / 3) for p in pairs.values())
    assert pairs["x", "y"].share_of_pairs == pytest.approx(2 / 13)
    assert pairs["x", "y"].over_chance == pytest.approx(2 / (2 * 5 * 4 / 12))  # expected n_x n_y / (n - 1) each way
    assert pairs["y", "z"].over_chance == pytest.approx(2 / (2 * 4 * 4 / 12))


def test_the_most_confused_pair_comes_first_and_unconfused_options_are_absent():
    rows = [(f"i{i}", r, v) for i, (a, b) in enumerate([("ok", "good")] * 3 + [("bad", "ok")] + [("good", "good")] * 4)
            for r, v in (("a", a), ("b", b))]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["item", "rater", "value"])
    r = Ratings.from_labels(frame, options=["bad", "ok", "good", "ugly"])
    pairs = confused_pairs(r)
    assert [(p.a, p.b, p.share_of_disagreements) for p in pairs] == [("ok", "good", 0.75), ("bad", "ok", 0.25)]
    ugly = option_agreement(r, resamples=0)[3]
    assert (ugly.option, ugly.alpha, ugly.note) == ("ugly", None, "no rating of this option")


def test_comments_on_disagreed_items_only_newest_first():
    at = pd.Timestamp("2025-01-01", tz="UTC")
    rows = pd.DataFrame([
        ("i1", "a", "x", "the rubric does not say what a partial answer is", at),
        ("i1", "b", "y", None, at + pd.Timedelta(minutes=1)),
        ("i2", "a", "x", "agreed, but unsure", at), ("i2", "b", "x", "", at),
        ("i3", "a", "x", "  ", at), ("i3", "b", "z", "missing detail", at + pd.Timedelta(minutes=5)),
    ], columns=["item", "rater", "value", "comment", "submitted_at"])  # fmt: skip
    disagreed, comments = disagreement_comments(rows)
    assert disagreed == 2
    assert [(c["item_id"], c["reviewer"], c["answer"], c["comment"]) for c in comments] == [
        ("i3", "b", "z", "missing detail"), ("i1", "a", "x", "the rubric does not say what a partial answer is")]


def test_option_examples_keep_old_versions_and_make_a_new_one():
    plain = Rubric(instructions="x", criteria=[Criterion(key="a", type="ordinal", options=[1, 2], tolerance=1)])
    assert plain.version == "6c5e77397e2d"  # as before option descriptions and examples existed
    described = [{"value": 1, "description": "d"}, 2]
    before = Rubric(instructions="x", criteria=[Criterion(key="a", type="ordinal", tolerance=1, options=described)])
    assert before.version == "037708782a48"  # a described rubric keeps the version it had before examples
    with_examples = [{"value": 1, "description": "d", "examples": {"good": ["g"], "bad": ["b"]}}, 2]
    after = Rubric(instructions="x", criteria=[Criterion(key="a", type="ordinal", tolerance=1, options=with_examples)])
    assert after.version not in (plain.version, before.version)
    c = after.criteria[0]
    assert c.options == [1, 2] and c.describe(1) == "d"
    assert (c.examples(1).good, c.examples(1).bad, c.examples(2)) == (["g"], ["b"], None)
    assert Criterion(**c.model_dump(mode="json")) == c  # the stored form reads back the same


def test_an_option_may_have_examples_without_a_description():
    c = Criterion(key="a", type="categorical", options=[{"value": "x", "examples": {"bad": ["near miss"]}}, "y"])
    assert c.option_descriptions is None and c.examples("x").bad == ["near miss"]


def test_option_help_shows_the_description_then_the_examples_escaped():
    c = Criterion(key="a", type="ordinal", options=[
        {"value": 1, "description": "useless", "examples": {"good": ["asks again", "![x](http://e.vil/p.png)"],
                                                            "bad": ["<b>curt</b> but right"]}}, 2,
    ]).model_dump(mode="json")  # fmt: skip
    text = option_help(c, 1)
    good, bad = escape("![x](http://e.vil/p.png)"), escape("<b>curt</b> but right")
    assert text == (f"useless\n\nGood examples: “asks again”; “{good}”\n\n"
                    f"Bad examples (near misses, not this option): “{bad}”")  # fmt: skip
    assert "](http://" not in text and "<b>" not in text.replace("\\<b>", "")
    assert option_help(c, 2) == "" and option_help(c, "nine") == ""
    assert _help(c, [1, 2]) == "1: " + text  # the segmented control's help lists helped options only


@given(st.text(max_size=60))
def test_option_help_never_leaves_a_link_image_or_html(example):
    if not example.strip():
        return
    c = Criterion(key="a", type="categorical", options=[{"value": "x", "examples": {"good": [example]}}, "y"])
    text = option_help(c.model_dump(mode="json"), "x")
    assert text == "Good examples: “" + escape(example) + "”"
    assert "](" not in text.replace("\\](", "") and "<" not in text.replace("\\<", "")


def test_demo_queue_options_carry_descriptions_and_examples():
    from publish_support import load_queue
    from test_form_rules import QUEUE

    q = load_queue(QUEUE)
    correctness = next(c for c in q.rubric.criteria if c.key == "correctness")
    assert correctness.options == ["correct", "partially_correct", "incorrect"]
    assert all(correctness.describe(o) for o in correctness.options)
    assert correctness.examples("partially_correct").good and correctness.examples("correct").bad


def test_the_markdown_report_shows_clarity_and_rubric_ab_escaped():
    clarity = {"correctness": {
        "version": "v2", "n_items": 40, "disagreed_items": 7, "comments_given": 1,
        "confused_pairs": [{"a": "correct", "b": "partially_correct", "coincidences": 5.0,
                            "share_of_disagreements": 0.625, "share_of_pairs": 0.06, "over_chance": 0.5}],
        "options": [{"option": "correct", "n_ratings": 50, "share": 0.6, "alpha": 0.51, "ci": [0.4, 0.6], "note": None},
                    {"option": "odd", "n_ratings": 0, "share": 0.0, "alpha": None, "ci": None,
                     "note": "no rating of this option"}],
        "comments": [{"item_id": "i1", "reviewer": "r1", "answer": "correct", "comment": "![x](http://e.vil/a.png)",
                      "at": "2025-01-01T00:00:00+00:00"}],
    }}  # fmt: skip
    ab = [{"sentence": "rubric v2 raised alpha on correctness from .41 to .58 (difference +.17, 95% CI [.05, .29])"}]
    text = "\n".join(rubric_clarity(clarity, ab))
    assert "correct / partially_correct (62% of the disagreements, 0.50x chance)" in text
    assert "| correct | 60% | 0.510 [0.400, 0.600] |" in text and "- (no rating of this option)" in text
    assert "![x](http://" not in text and "r1 on i1 (correct): !\\[x\\]" in text
    assert "rubric v2 raised alpha on correctness from .41 to .58 (difference +.17, 95% CI \\[.05, .29\\])." in text
    assert rubric_clarity(None, None) == []  # reports saved before rubric clarity existed
    assert "No rubric edit yet" in "\n".join(rubric_clarity({}, []))


def test_per_option_intervals_come_from_the_item_bootstrap():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 3, 300)
    rows = [(f"i{i}", r, int(t if rng.random() < 0.8 else rng.integers(0, 3))) for i, t in enumerate(truth)
            for r in ("a", "b")]  # fmt: skip
    found = option_agreement(Ratings.from_labels(pd.DataFrame(rows, columns=["item", "rater", "value"])), 500, 0)
    for o in found:
        assert o.ci[0] < o.alpha < o.ci[1] and o.ci[1] - o.ci[0] < 0.3
