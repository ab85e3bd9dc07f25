"""The review page draws any run and leaks nothing into markdown (issue 12, items 3, 4 and 11).

Attacks: content shapes the renderer did not expect (a part whose text is an object or a number,
`tool_calls: 7`, nesting far past the ingest limit), and run or queue strings holding markdown
images, HTML and Streamlit directives. Each item is drawn by the real review view (views/review.py
run by AppTest, logged in against a real SQLite review store): it must raise nothing, keep its
Submit and Skip buttons, pass no unescaped markup to a widget that renders markdown, and pass to
st.html (run text drawn as markdown, issue 13) nothing that could run or load (render_support).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from render_support import bubbles, codes, text_of, unsafe
from review_support import PASSWORD, seed_queue
from streamlit import config
from streamlit.testing.v1 import AppTest

from review_app.render import JOINER, escape
from review_app.session import TOKEN
from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.stores.reviewstore import ReviewStore

VIEWS = Path(__file__).resolve().parents[2] / "review_app" / "views"
IMAGE = "![r](http://host.example/x.png)"
HOSTILE = [
    IMAGE, "<img src=http://host.example/y.png>", "<script>alert(1)</script>", ":red[red] :material/home:",
    ":streamlit: :smile: :help[tip]", "[link](javascript:alert(1))", "$\\href{http://host.example}{x}$",
    "<http://host.example/z>", "www.host.example a@host.example", "&lt;img&gt; &#91;x&#93;", "`code` \\[x\\]",
]  # fmt: skip
# The proto fields Streamlit renders as markdown, except in elements (and fields) it shows as plain text, and
# in st.html, which is HTML (not markdown): its bodies are checked apart, by an HTML parser (render_support).
MARKDOWN_FIELDS = {"body", "label", "help", "options", "content", "text"}
PLAIN_ELEMENTS = {"code", "json", "text", "html"}
CHROME = ("<script", "<style", "<span></span><style")  # review_app/browser.py's page chrome: constants
PLAIN = {("selectbox", "options"), ("multiselect", "options")}
MAGIC = "runner.magicEnabled"


def run_bodies(at: AppTest) -> list[str]:
    """The `st.html` blocks that draw run content: all but the page chrome."""
    return [h.value for h in at.get("html") if not h.value.startswith(CHROME)]


def run_html(at: AppTest) -> BeautifulSoup:
    return BeautifulSoup("".join(run_bodies(at)), "html.parser")


def visible(markdown: str) -> str:
    """What a markdown string that `escape` wrote shows: its backslash escapes resolved, joiners dropped."""
    return re.sub(r"\\([\\`\[\]<&$])", r"\1", markdown).replace(JOINER, "")


def unescaped(markdown: str, chars: str) -> list[str]:
    """The characters of `chars` that stand in `markdown` without a backslash escaping them."""
    found, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\":
            i += 2
            continue
        if markdown[i] in chars:
            found.append(markdown[i])
        i += 1
    return found


def acted_on(markdown: str) -> list[str]:
    """Syntax Streamlit or GitHub markdown would act on: a link, image, HTML, entity, math or code span; a
    directive, :material/icon:, :streamlit: or emoji name (a colon before a digit, as in 29:59, starts
    none of them); an http:// or www. autolink or an e-mail one."""
    wrong = unescaped(markdown, "[]<`$&")
    wrong += re.findall(r":[^\W\d]|:[+\-/]|@\w|(?<![^\W_])www\.", markdown, re.IGNORECASE)
    return wrong


# --- the escaping helper --------------------------------------------------------------------------------------------

markup = st.text(alphabet=st.sampled_from([*"![]()<>:/\\`$&@*_~#-+. \nwWrd1", JOINER, "é", "\u0000"]))
strings = st.one_of(markup, st.text(), st.sampled_from(HOSTILE), st.lists(st.sampled_from(HOSTILE)).map("".join))


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(strings)
def test_escaped_text_reads_the_same_and_holds_nothing_streamlit_acts_on(s: str):
    out = escape(s)
    assert visible(out) == s.replace(JOINER, "")  # lossless: the same text, only escaped
    assert not acted_on(out) and "![" not in out, out
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(out)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
    assert not kinds & {"image", "link_open", "html_inline", "html_block", "code_inline"}, kinds


def test_escape_keeps_instructions_formatting_and_plain_prose_unchanged():
    assert escape("Choose *Tie* only when **unsure**: see (1).") == "Choose *Tie* only when **unsure**: see (1)."
    assert escape(IMAGE) == f"!\\[r\\](http:{JOINER}//host.example/x.png)"
    assert escape(":red[x] :material/home:") == f":{JOINER}red\\[x\\] :{JOINER}material/home:"


# --- the real review view, one item at a time ----------------------------------------------------------------------


class ReviewPage:
    """The review view of reviewer1, logged in; `show(item changes)` draws one item and checks the page."""

    def __init__(self, at: AppTest) -> None:
        self.at, self.base, self.ids = at, dict(at.session_state["item"]), itertools.count()

    def show(self, **changes: object) -> AppTest:
        item = {**self.base, "item_id": f"fuzz-{next(self.ids)}", **changes}  # fresh widgets for each item
        self.at.session_state["item"] = item
        self.at.run()
        assert not self.at.exception, self.at.exception[0].message
        labels = [b.label for b in self.at.button]
        assert "Submit" in labels and "Skip" in labels, labels
        leaks = {s: acted_on(s) for s in markdown_strings(self.at) if acted_on(s)}
        assert not leaks, leaks
        for body in (h.proto.body for h in self.at.get("html")):
            if body.startswith(CHROME):  # scripts and styles are allowed there only, and carry no run text
                assert "host.example" not in body and "alert(" not in body, body
            else:
                assert not unsafe(body), (body, unsafe(body))
        return self.at

    def single(self, run: object) -> AppTest:
        return self.show(kind="single", payload={"runs": {self.base["run_id"]: run}})


def markdown_strings(at: AppTest) -> Iterator[str]:
    """Every string on the page that Streamlit renders as markdown: bodies, labels, help, options, texts."""
    todo = [at._tree]
    while todo:
        node = todo.pop()
        todo.extend(getattr(node, "children", {}).values())
        kind, proto = getattr(node, "type", None), getattr(node, "proto", None)
        messages = [] if proto is None or kind in PLAIN_ELEMENTS else [proto]
        while messages:
            for field, value in messages.pop().ListFields():
                for v in value if field.is_repeated else [value]:
                    if isinstance(v, Message):
                        messages.append(v)
                    elif isinstance(v, str) and field.name in MARKDOWN_FIELDS and (kind, field.name) not in PLAIN:
                        yield v


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewPage]:
    """views/review.py for reviewer1, on a store whose queue and rubric carry hostile strings too."""
    data = tmp_path_factory.mktemp("render")
    with ReviewStore(Settings.load(data).review_url) as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        seed_queue(store, n=2, assignees=["reviewer1"], description=IMAGE, rubric=HOSTILE_RUBRIC, promotion=None)
        token = accounts.authenticate(store, "reviewer1", PASSWORD).token
    with review_view(data, token) as at:
        yield ReviewPage(at)


@contextlib.contextmanager
def review_view(data: Path, token: str, timeout: float = 60) -> Iterator[AppTest]:
    """views/review.py under AppTest on the data dir `data`, logged in with `token`, first run done."""
    # Streamlit rewrites the script's AST for "magic" on every AppTest run, two thirds of a run's
    # time; the views use no magic, so the fuzzed items run three times faster without it.
    magic, main = config.get_option(MAGIC), sys.modules["__main__"]
    config.set_option(MAGIC, False)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("REVIEWDESK_DATA_DIR", str(data))
            at = AppTest.from_file(str(VIEWS / "review.py"), default_timeout=timeout)
            at.session_state[TOKEN] = token
            at.run()
            # AppTest leaves its script as __main__, and this runs before conftest's _keep_main_module
            # (a module fixture sets up first): put the real one back, or later spawned processes hang.
            sys.modules["__main__"] = main
            assert not at.exception and at.session_state["item"] is not None
            yield at
    finally:
        config.set_option(MAGIC, magic)
        sys.modules["__main__"] = main


HOSTILE_RUBRIC = {
    "instructions": " ".join(HOSTILE),
    "criteria": [
        {"key": "correctness", "type": "categorical", "description": HOSTILE[1],
         "options": ["correct", "incorrect", IMAGE, ":red[wrong]"], "required": True},
        {"key": "tone", "type": "ordinal", "options": [1, "<b>2</b>", IMAGE], "description": ":material/home:"},
        {"key": "notes", "type": "text", "description": IMAGE},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("run", "shown"),
    [
        ({"inputs": {"messages": [{"role": "user", "content": [{"text": {"nested": ["object"]}}]}]}},
         '{\n  "nested": [\n    "object"\n  ]\n}'),
        ({"outputs": {"messages": [{"role": "assistant", "content": [{"type": "text", "text": 42}]}]}}, "42"),
        ({"outputs": {"messages": [{"role": "assistant", "content": "calling", "tool_calls": 7}]}}, "7"),
    ],
    ids=["text-is-an-object", "text-is-an-int", "tool-calls-is-an-int"],
)  # fmt: skip
def test_unexpected_content_shapes_are_shown_as_text_and_the_form_stays(review: ReviewPage, run: dict, shown: str):
    at = review.single(run)
    assert shown in codes(run_html(at))


def test_hostile_markdown_in_an_answer_is_drawn_inert_with_its_image_as_text(review: ReviewPage):
    at = review.single({"outputs": {"messages": [{"role": "assistant", "content": "\n\n".join(HOSTILE)}]}})
    (body,) = run_bodies(at)  # show() checked it
    shown = text_of(body)
    assert "[image: r](http://host.example/x.png)" in shown and "<script>alert(1)</script>" in shown
    assert ":red[red] :material/home:" in shown and "[link](javascript:alert(1))" in shown


def test_a_markdown_image_as_role_is_shown_as_text_not_fetched(review: ReviewPage):
    at = review.single({"outputs": {"messages": [{"role": IMAGE, "content": "hi"}]}})
    (bubble,) = bubbles(run_html(at))
    assert bubble.find().get_text() == IMAGE  # its label: the role as logged, as text


def test_an_item_that_cannot_be_drawn_shows_a_plain_notice_and_keeps_the_form(review: ReviewPage):
    deep: object = "bottom"
    for _ in range(10_000):  # far past the ingest limit: defence in depth, should such an item reach the store
        deep = [{"text": deep}]
    at = review.single({"inputs": {"messages": [{"role": "user", "content": deep}]}, "outputs": "fine"})
    notice = " ".join(w.value for w in at.warning)
    assert "could not be shown" in notice and "Traceback" not in notice and "/" not in notice


def test_a_pairwise_item_whose_runs_are_missing_or_not_objects_still_shows_its_form(review: ReviewPage):
    review.show(kind="pairwise", run_a="a", run_b="b", left_run_id="b", payload={"runs": {"a": 7}})
    review.show(kind="pairwise", run_a="a", run_b="b", left_run_id="a", payload="not a payload")


def test_my_queues_escapes_the_queue_description_and_instructions(review: ReviewPage):
    at = AppTest.from_file(str(VIEWS / "my_queues.py"), default_timeout=60)
    at.session_state[TOKEN] = review.at.session_state[TOKEN]
    at.run()
    assert not at.exception
    assert [visible(c.value) for c in at.caption] == [IMAGE]
    leaks = {s: acted_on(s) for s in markdown_strings(at) if acted_on(s)}
    assert not leaks, leaks


# --- fuzzing: random JSON in every place a run holds content ------------------------------------------------------

leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40),
    st.sampled_from(HOSTILE),
)  # fmt: skip
huge = st.just("x" * 200_000 + IMAGE)  # one message or answer of 200 kB, now and then
json_values = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def nested(depth: int, value: object) -> object:
    """`value` inside `depth` levels of alternating lists and part objects: deep, within the ingest limit."""
    for level in range(depth):
        value = [value] if level % 2 else {"text": value}
    return value


deep = st.builds(nested, st.integers(1, 58), leaf)  # with the 6 levels around content: at most 64
parts = st.lists(st.one_of(json_values, st.fixed_dictionaries({"type": st.just("text"), "text": json_values}),
                           st.fixed_dictionaries({"content": json_values})), max_size=3)  # fmt: skip
message = st.one_of(
    st.fixed_dictionaries(
        {"role": st.one_of(st.sampled_from(["user", "assistant", "tool", "system"]), st.sampled_from(HOSTILE),
                           json_values)},
        optional={"content": st.one_of(json_values, parts, deep, huge), "parts": parts, "tool_calls": json_values},
    ),
    json_values,
)  # fmt: skip
side = st.one_of(st.fixed_dictionaries({"messages": st.lists(message, max_size=4)}), json_values, deep, huge)
run = st.one_of(
    st.fixed_dictionaries({}, optional={"inputs": side, "outputs": side, "status": st.just("error"),
                                        "error": json_values, "name": json_values, "metadata": json_values}),
    json_values,
)  # fmt: skip


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(kind=st.sampled_from(["single", "pairwise"]), a=run, b=run)
def test_any_run_content_renders_with_its_submit_and_skip_buttons(review: ReviewPage, kind: str, a, b):
    if kind == "single":
        review.single(a)
    else:
        review.show(kind="pairwise", run_a="ra", run_b="rb", left_run_id="rb", payload={"runs": {"ra": a, "rb": b}})
