"""Run text as safe HTML (reviewdesk.review.markup): markdown drawn, nothing in it able to run, load or hide.

Property tests over any text, checked with a real HTML parser (render_support), then known answers for
each construct a reviewer meets in LLM answers: lists, tables, code fences, images, links, raw HTML.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from render_support import text_of, unsafe

from reviewdesk.review.conversation import Document, Documents
from reviewdesk.review.markup import MAX_CHARS, documents_html, to_html

HOSTILE = [
    "![x](http://example.invalid/x.png)", "<img src=http://h.example/y.png onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[a](javascript:alert(1))", "[b](data:text/html,<script>alert(1)</script>)", "[c](JaVaScRiPt:alert(1))",
    "<http://h.example/z>", "<javascript:alert(1)>", "[d](vbscript:x)", '[e](http://a.example "t\\" onmouseover=\\"x")',
    "<style>body{background:url(http://h.example)}</style>", "```html\n<script>alert(1)</script>\n```",
    "| a | <b onclick=x>b</b> |\n|---|---|\n| ![i](http://h.example/i.png) | c |", ":red[x] :material/home:",
    "<iframe src=//h.example>", "&lt;img src=x&gt;", "[f]: http://h.example/ref\n\n![f]", "[g][f]\n\n[f]: javascript:x",
]  # fmt: skip
MARKUP = [*"![]()<>:/\\`$&@*_~#-+.|= \n\t\"'", "é", "\u0000", "on", "src", "javascript", "http", "www", "img", "```",
          "script"]  # fmt: skip
texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from(MARKUP), max_size=60).map("".join),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.sampled_from(MARKUP), st.text(max_size=5)), max_size=12).map(
        "".join
    ),
)
ALNUM = re.compile(r"[^A-Za-z0-9]")


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(texts)
def test_any_text_becomes_html_that_cannot_run_or_load_anything(text: str):
    out = to_html(text)
    assert not unsafe(out), (text, unsafe(out))
    lowered = out.lower()  # text's own `<` is escaped: every `<` left opens one of our tags
    assert "<script" not in lowered and "<img" not in lowered
    assert not re.search(r"<[^>]*\s(src|on\w+)\s*=", lowered), out  # no source, no event handler on any tag
    assert not re.search(r"""<[^>]*href\s*=\s*["']?\s*(javascript|data|vbscript):""", lowered), out


# Without `[`, `]` (link definitions are consumed) and `&` (entities are decoded), every letter and digit stays,
# in order (markup between two words may go: `a*b*` shows "ab").
plain_texts = st.lists(st.sampled_from([c for c in MARKUP if c not in "[]&"] + ["word", "Zed9", "A1"]), max_size=80)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(plain_texts.map("".join))
def test_every_letter_and_digit_of_the_text_is_shown_in_order(text: str):
    assert ALNUM.sub("", text_of(to_html(text))) == ALNUM.sub("", text)


def test_a_list_renders_as_list_items():
    out = to_html("Steps:\n\n- open the app\n- **click** Submit\n\n1. first\n2. second")
    assert re.findall(r"<li>(.*?)</li>", out) == ["open the app", "<strong>click</strong> Submit", "first", "second"]
    assert "<ul>" in out and "<ol>" in out


def test_a_table_renders_with_its_cells_and_alignment():
    out = to_html("| Item | Price |\n|:-----|------:|\n| Mug | 12.50 |\n| Tea | 4 |")
    assert [text_of(c) for c in re.findall(r"<th[^>]*>.*?</th>", out)] == ["Item", "Price"]
    assert [text_of(c) for c in re.findall(r"<td[^>]*>.*?</td>", out)] == ["Mug", "12.50", "Tea", "4"]
    assert re.search(r'<td style="text-align:right;[^"]*">12\.50</td>', out)
    assert "<table" in out and not unsafe(out)


def test_a_code_fence_is_highlighted_by_its_language_with_inline_styles():
    code = 'def total(items):\n    return sum(i["price"] for i in items)  # <b>\n'
    out = to_html(f"```python\n{code}```")
    assert text_of(out).strip() == "python" + code.strip()  # the info string above the code, every character kept
    assert "&lt;b&gt;" in out
    assert re.search(r'<span style="color: #[0-9A-Fa-f]+; font-weight: bold">def</span>', out)  # a keyword, coloured
    assert "class=" not in out.replace('class="highlight"', "") and "<link" not in out  # no stylesheet needed


def test_a_fence_in_an_unknown_language_is_shown_plain():
    out = to_html("```no-such-language\nx = <y>\n```")
    assert "no-such-language" in text_of(out) and "x = &lt;y&gt;" in out


def test_an_image_is_visible_text_and_never_an_img():
    out = to_html("See ![a chart](http://example.invalid/x.png) here")
    assert "<img" not in out and "src=" not in out
    assert text_of(out).strip() == "See [image: a chart](http://example.invalid/x.png) here"


def test_raw_html_is_shown_as_text():
    out = to_html("<script>alert(1)</script>\n\n<b onclick='x()'>bold</b>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "<b" not in out
    assert text_of(out).split() == ["<script>alert(1)</script>", "<b", "onclick='x()'>bold</b>"]


def test_links_open_apart_and_only_for_web_and_mail_addresses():
    out = to_html("[docs](https://example.org/a) [x](javascript:alert(1)) [y](data:text/html,hi) <mailto:a@b.org>")
    assert re.findall(r"<a [^>]*>", out) == [
        '<a href="https://example.org/a" title="https://example.org/a" target="_blank" '
        'rel="noopener noreferrer nofollow">',
        '<a href="mailto:a@b.org" title="mailto:a@b.org" target="_blank" rel="noopener noreferrer nofollow">',
    ]
    assert "[x](javascript:alert(1))" in text_of(out) and "[y](data:text/html,hi)" in text_of(out)


def test_streamlit_directives_stay_text():
    assert text_of(to_html(":red[alert] :material/home: :smile:")).strip() == ":red[alert] :material/home: :smile:"


def test_text_past_the_limit_is_shown_as_written():
    text = "# not a heading\n" + "x" * MAX_CHARS
    out = to_html(text)
    assert "<h1>" not in out and text_of(out) == text


def test_retrieved_documents_are_a_numbered_list_with_their_sources():
    docs = Documents((Document("Refunds take <5 days>.", "policy.md", {"page": 2}), Document("Second", None, None)))
    out = documents_html(docs)
    assert out.startswith("<ol>") and out.count("<li") == 2
    assert "<b>policy.md</b>" in out and "Refunds take &lt;5 days&gt;." in out and "{&quot;page&quot;: 2}" in out
    assert not unsafe(out)
