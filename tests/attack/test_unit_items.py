"""Trace and session items that try to break the review screen (issue 18): 500 steps, nesting 500 deep,
names and statuses holding markdown images, HTML, scripts and Streamlit directives, steps that are not
objects, parents that loop or come later, repeated run ids. Each is drawn by the real review view
(views/review.py under AppTest, on a real SQLite store whose queue asks a per-step criterion): nothing
raises, Submit and Skip stay, no run text reaches markdown unescaped (only the screen's own constant
icons and the red "error" mark), st.html gets nothing that can run or load, the tree's steps nest at most
`unit_view.LEVELS` deep, and every step the criterion names gets its own question.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from render_support import unsafe
from review_support import PASSWORD, seed_batch
from streamlit.testing.v1 import AppTest
from test_rendering import CHROME, HOSTILE, acted_on, json_values, markdown_strings, review_view
from unit_support import TOOL_CRITERION, every_row, step, tree_rows, unit_payload, unit_queue, wide_trace

from review_app.unit_view import LEVELS
from reviewdesk.config import Settings
from reviewdesk.review import accounts
from reviewdesk.review.step_html import ERROR_ICON, ICONS, OTHER_ICON
from reviewdesk.stores.reviewstore import ReviewStore

VIEWS = Path(__file__).resolve().parents[2] / "review_app" / "views"
# The screen's constants, never run text: the form's step icons and the red "error" mark.
OURS = [":red[**error**]", *(f":material/{name}:" for name in (ERROR_ICON, OTHER_ICON, *ICONS.values()))]
HOSTILE_STEP = {**TOOL_CRITERION, "description": HOSTILE[0], "options": ["right", HOSTILE[3]]}


class UnitPage:
    """The review view of reviewer1; `show(payload)` draws a unit item and checks the page."""

    def __init__(self, at: AppTest) -> None:
        self.at, self.base, self.ids = at, dict(at.session_state["item"]), itertools.count()

    def show(self, payload: object) -> AppTest:
        item = {**self.base, "item_id": f"unit-{next(self.ids)}", "payload": payload}
        self.at.session_state["item"] = item
        self.at.run()
        assert not self.at.exception, self.at.exception[0].message
        labels = [b.label for b in self.at.button]
        assert "Submit" in labels and "Skip" in labels, labels
        leaks = {s: acted_on(s) for s in map(ours_removed, markdown_strings(self.at)) if acted_on(s)}
        assert not leaks, leaks
        for body in (h.proto.body for h in self.at.get("html")):
            if not body.startswith(CHROME):
                assert not unsafe(body), (body, unsafe(body))
        return self.at


def ours_removed(markdown: str) -> str:
    for constant in OURS:
        markdown = markdown.replace(constant, "")
    return markdown


def rows(at: AppTest) -> list:
    """Every step row of the page's trees, in page order."""
    return [r for h in at.get("html") for r in every_row(tree_rows(h.proto.body))]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnitPage]:
    """views/review.py for reviewer1 on a trace queue whose per-step criterion carries hostile strings too."""
    data = tmp_path_factory.mktemp("units")
    with ReviewStore(Settings.load(data).review_url) as store:
        accounts.add_user(store, "reviewer1", "reviewer", PASSWORD)
        queue = unit_queue("traces", "trace", [HOSTILE_STEP], assignees=["reviewer1"], description=HOSTILE[2])
        seed_batch(store, queue, n=1, reviewers_needed=1, payloads=[unit_payload("trace", "t", wide_trace(4))])
        token = accounts.authenticate(store, "reviewer1", PASSWORD).token
    with review_view(data, token, timeout=120) as at:
        yield UnitPage(at)


def tools(at: AppTest) -> list[str]:
    return [r.label for r in at.radio if "tool" in r.label.lower() and "step" in r.label.lower()]


def test_a_trace_of_500_steps_shows_every_step_and_asks_each_tool_step(page: UnitPage):
    at = page.show(unit_payload("trace", "w", wide_trace(500)))
    assert len(rows(at)) == 500
    assert len(tools(at)) == 249  # steps 2, 4, ..., 498


def test_nesting_500_deep_nests_steps_at_most_levels_deep_with_the_depth_shown(page: UnitPage):
    deep = [step("d0", None, 0, "chain")] + [step(f"d{i}", f"d{i - 1}", i, "tool") for i in range(1, 500)]
    at = page.show(unit_payload("trace", "d", deep))
    assert max(r.depth for r in rows(at)) == LEVELS
    labels = [r.label for r in rows(at)]
    assert len(labels) == 500 and labels[-1] == "500 · tool · depth 499"
    assert len(tools(at)) == 499


def test_names_statuses_and_content_with_markup_are_shown_as_text(page: UnitPage):
    steps = [step("r", None, 0, "chain", name=HOSTILE[0], status=HOSTILE[3], inputs=HOSTILE[2], outputs=HOSTILE[1])]
    steps += [step(f"h{i}", "r", 1, "tool", name=h, status="error", error=h, outputs={"output": h})
              for i, h in enumerate(HOSTILE)]  # fmt: skip
    steps += [step("x", "r", 1, HOSTILE[4], name="<script>alert(1)</script>" * 100)]
    at = page.show(unit_payload("trace", HOSTILE[0], steps))
    assert len(tools(at)) == len(HOSTILE)
    labels = [r.label for r in rows(at)]
    assert labels[1] == f"2 · tool · {HOSTILE[0]} · error"  # as text: the HTML is escaped, never markdown
    assert labels[-1].endswith("…") and len(labels[-1]) < 200  # a long name is cut short


@pytest.mark.parametrize(
    "payload",
    [
        {"runs": {}, "unit": {"kind": "trace", "steps": "not a list"}},
        {"runs": {}, "unit": {"kind": "session", "steps": [1, None, "x", [2]]}},
        {"runs": {}, "unit": {"kind": "trace", "steps": [step("a", "b", 0, "tool"), step("b", "a", 1, "tool")]}},
        {"runs": {}, "unit": {"kind": "trace", "steps": [step("a", None, 0, "tool"), step("a", "a", 1, "tool")]}},
        {"runs": {}, "unit": {"kind": "session", "steps": [step("a", None, "0", {"x": 1}, turn=None),
                                                           {"run_id": {"k": 1}, "run_type": "tool", "depth": -3}]}},
        {"runs": {}, "unit": {"kind": "trace", "steps": [step("a", None, 0, "tool")], "unreachable": 10**12}},
        {"runs": {}, "unit": {"kind": "trace", "steps": [step("a", None, 0, "tool")], "unreachable": HOSTILE[0]}},
    ],
    ids=["steps-not-a-list", "steps-not-objects", "parents-loop", "repeated-run-id", "odd-fields",
         "unreachable-past-the-steps", "unreachable-not-a-number"],
)  # fmt: skip
def test_malformed_steps_are_shown_and_the_form_stays(page: UnitPage, payload: dict):
    at = page.show(payload)
    slots = [r.key for r in at.radio]
    assert len(slots) == len(set(slots))  # every question its own widget, even for a repeated run id


step_fields = st.fixed_dictionaries(
    {"run_id": st.one_of(st.sampled_from(["a", "b", "c"]), json_values),
     "run_type": st.one_of(st.sampled_from(["tool", "llm", "chain"]), json_values)},
    optional={"parent_run_id": st.one_of(st.sampled_from(["a", "b", "c"]), json_values),
              "depth": json_values, "turn": json_values, "name": st.one_of(st.sampled_from(HOSTILE), json_values),
              "status": st.one_of(st.just("error"), json_values), "error": json_values, "latency_ms": json_values,
              "total_tokens": json_values, "prompt_tokens": json_values, "inputs": json_values, "outputs": json_values},
)  # fmt: skip


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(kind=st.sampled_from(["trace", "session"]), steps=st.lists(st.one_of(step_fields, json_values), max_size=6))
def test_any_steps_render_with_the_form(page: UnitPage, kind: str, steps: list):
    page.show({"runs": {}, "unit": {"kind": kind, "id": "u", "steps": steps}})
