"""Word-level differences between two answers (reviewdesk.review.wording): hand-worked cases, losslessness and
safety for any pair of texts, and long answers compared without stalling."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from render_support import text_of, unsafe

from reviewdesk.review.wording import MAX_WORDS, Span, differences, marked_html, same_words


def test_a_replaced_word_is_marked_on_both_sides():
    a, b = differences("Your order ships today.", "Your order ships tomorrow.")
    assert a == [Span("Your order ships "), Span("today", True), Span(".")]
    assert b == [Span("Your order ships "), Span("tomorrow", True), Span(".")]


def test_an_added_sentence_is_marked_only_in_b():
    a, b = differences("Thanks for waiting.", "Thanks for waiting. It arrives Monday.")
    assert a == [Span("Thanks for waiting.")]
    assert b == [Span("Thanks for waiting. "), Span("It arrives Monday.", True)]


def test_spacing_is_never_a_difference():
    a, b = differences("one  two\nthree", "one two three ")
    assert not any(s.changed for s in a + b)
    assert same_words("one  two\nthree", "one two three ") and not same_words("one two", "two one")


def test_marked_html_escapes_the_text_and_keeps_spacing_outside_the_mark():
    a, _ = differences("keep <script>x</script> end", "keep end")
    out = marked_html(a, "a")
    assert "&lt;script&gt;" in out and "<script" not in out and not unsafe(out)
    assert 'keep <span style="' in out  # the space before the changed words is not highlighted
    assert text_of(out) == "keep <script>x</script> end"


def test_long_answers_are_compared_by_lines_quickly():
    a = "\n".join(f"line {i} says the same thing" for i in range(3000))
    b = a.replace("line 1500 says", "line 1500 now says")
    started = time.perf_counter()
    left, right = differences(a, b)
    assert time.perf_counter() - started < 5
    assert [s.text for s in left if s.changed] == ["line 1500 says the same thing\n"]
    assert [s.text for s in right if s.changed] == ["line 1500 now says the same thing\n"]
    assert len(a.split()) > MAX_WORDS


texts = st.lists(st.sampled_from([*"ab c.\n<&>\"'", "word", "é"]), max_size=40).map("".join)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(texts, texts)
def test_any_pair_splits_losslessly_and_the_unchanged_words_are_common(a: str, b: str):
    left, right = differences(a, b)
    assert "".join(s.text for s in left) == a and "".join(s.text for s in right) == b
    kept_a = " ".join(s.text for s in left if not s.changed).split()
    kept_b = " ".join(s.text for s in right if not s.changed).split()
    assert "".join(kept_a) == "".join(kept_b)
    if same_words(a, b):
        assert not any(s.changed for s in left + right)
    for spans, side, text in ((left, "a", a), (right, "b", b)):
        out = marked_html(spans, side)
        assert not unsafe(out) and text_of(out) == text
