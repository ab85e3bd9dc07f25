"""A Phoenix pull meeting answers it cannot use: nothing half-ingested, the watermark left where it was,
a malformed span quarantined with its reason while the rest go in. The server here is a stand-in
(httpx's MockTransport) answering what a broken or impostor server might; the real one is in
tests/test_feedback_phoenix.py."""

from __future__ import annotations

import httpx
import pytest

from reviewdesk.errors import ConfigError, InputFileError
from reviewdesk.ingest.phoenix import pull_phoenix, source_name, watermark

URL = "http://phoenix.test"


def span(n: int, **changes) -> dict:
    return {"id": f"Span:{n}", "name": "chat", "context": {"trace_id": f"{n:032x}", "span_id": f"{n:016x}"},
            "start_time": "2026-12-03T13:00:00+00:00", "end_time": "2026-12-03T13:00:01+00:00",
            "status_code": "OK", "attributes": {"gen_ai.request.model": "m"}, **changes}  # fmt: skip


def client(*answers: httpx.Response) -> httpx.Client:
    """A client whose server answers `answers` in turn."""
    queue = list(answers)
    return httpx.Client(base_url=URL, transport=httpx.MockTransport(lambda request: queue.pop(0)))


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(200, text="<html>login</html>"), httpx.Response(200, json=[1, 2]),
     httpx.Response(200, json={"data": [{"name": "no id"}], "next_cursor": None}),
     httpx.Response(200, json={"data": "spans", "next_cursor": None}), httpx.Response(502, text="bad gateway")],
)  # fmt: skip
def test_an_answer_that_is_no_page_of_spans_ingests_nothing(warehouse, answer: httpx.Response):
    with pytest.raises(InputFileError, match=r"Nothing was ingested|Cannot read spans"):
        pull_phoenix(warehouse, URL, "p", client=client(answer))
    assert warehouse.scalar("SELECT count(*) FROM runs") == 0
    assert watermark(warehouse, source_name(URL, "p")) is None


def test_a_page_fails_midway_and_the_pages_before_it_are_not_half_ingested(warehouse):
    first = httpx.Response(200, json={"data": [span(1), span(2)], "next_cursor": "Span:3"})
    with pytest.raises(InputFileError):
        pull_phoenix(warehouse, URL, "p", client=client(first, httpx.Response(500, text="oops")))
    assert warehouse.scalar("SELECT count(*) FROM runs") == 0  # all or nothing, and the watermark did not move
    assert watermark(warehouse, source_name(URL, "p")) is None


def test_a_malformed_span_is_quarantined_and_the_others_go_in(warehouse):
    page = {"data": [span(1), span(2, context={}), span(3, start_time="yesterday")], "next_cursor": None}
    report = pull_phoenix(warehouse, URL, "p", client=client(httpx.Response(200, json=page)))
    assert (report.read, report.inserted, report.rejected) == (3, 1, 2)
    reasons = " ".join(r for (r,) in warehouse.execute("SELECT reason FROM quarantine ORDER BY locator"))
    assert "run_id" in reasons and "yesterday" in reasons
    assert watermark(warehouse, source_name(URL, "p")) == "Span:3"


def test_a_missing_project_and_a_bad_url_say_what_to_fix(warehouse):
    with pytest.raises(ConfigError, match="no project 'gone'"):
        pull_phoenix(warehouse, URL, "gone", client=client(httpx.Response(404, json={"detail": "not found"})))
    with pytest.raises(ConfigError, match="Not a Phoenix URL"):
        pull_phoenix(warehouse, "phoenix.local:6006", "p")
