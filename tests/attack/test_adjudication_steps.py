"""A per-step case whose steps try to break the Adjudication page (issue 18): tool steps whose names, run ids,
errors and outputs hold markdown images, HTML, scripts and Streamlit directives, and a criterion option that
is a directive. The real page (app.py, logged in as a lead, on a real SQLite store) raises nothing, lets no
run text reach markdown unescaped (only its own constant icons), gives st.html nothing that can run or load,
and still records the decision under the steps' run ids exactly as logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from render_support import unsafe
from review_support import PASSWORD
from test_app_adjudication import as_user, record
from test_rendering import CHROME, HOSTILE, acted_on, markdown_strings
from test_unit_items import HOSTILE_STEP, ours_removed
from unit_support import TRACE_ITEM, TRACE_QUEUE, step, trace_stores

from reviewdesk.labels.adjudication import decisions
from reviewdesk.labels.collection import collect
from reviewdesk.labels.resolve import resolve_queue
from reviewdesk.review.drafts import Draft
from reviewdesk.review.submissions import submit

# A root, then one failing tool step per hostile string: its name, run id, error and output are that string.
STEPS = [step("root", None, 0, "chain", name=HOSTILE[2], inputs=HOSTILE[0], outputs=HOSTILE[1])] + [
    step(f"{i}{h}", "root", 1, "tool", name=h, status="error", error=h, inputs={"q": h}, outputs={"output": h})
    for i, h in enumerate(HOSTILE)
]
RUN_IDS = [s["run_id"] for s in STEPS[1:]]


@pytest.fixture
def hostile_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """reviewer1 says right of every tool step, reviewer2 the directive option: every step is in dispute."""
    with trace_stores(tmp_path, STEPS, [HOSTILE_STEP]) as (store, wh):
        for reviewer, said in (("reviewer1", "right"), ("reviewer2", HOSTILE_STEP["options"][1])):
            answers = {"correctness": "correct", "helpfulness": 4, "tool_call": dict.fromkeys(RUN_IDS, said)}
            submit(store, TRACE_ITEM, reviewer, Draft(answers))
        collect(store, wh)
        resolve_queue(store, wh, TRACE_QUEUE)
        monkeypatch.setenv("REVIEWDESK_DATA_DIR", str(tmp_path))
        yield store


def test_hostile_steps_in_dispute_are_shown_as_text_and_decided_by_their_run_ids(hostile_case):
    at = as_user("lead", PASSWORD)
    for position in range(2, len(STEPS) + 1):  # open every step's input and output beside its widget
        at.session_state[f"adjudicate-{TRACE_ITEM}-tool_call.{position}-content"] = True
    at = at.run()
    assert not at.exception, at.exception[0].message
    radios = [r for r in at.radio if "Step" in r.label]
    assert len(radios) == len(HOSTILE)
    leaks = {s: acted_on(s) for s in map(ours_removed, markdown_strings(at)) if acted_on(s)}
    assert not leaks, leaks
    for body in (h.proto.body for h in at.get("html")):
        if not body.startswith(CHROME):
            assert not unsafe(body), (body, unsafe(body))
    assert any(HOSTILE[0] in c for c in at.dataframe[0].value.columns)  # a dataframe header is plain text
    for radio in radios:
        radio.set_value("right")
    at = record(at, "Every call was the right one.")
    assert "Nothing to adjudicate" in at.success[-1].value
    assert decisions(hostile_case, TRACE_QUEUE) == {TRACE_ITEM: {"tool_call": dict.fromkeys(RUN_IDS, "right")}}
