"""Windows a unit's runs started in, at their edges: every run at one instant (lo = hi), times a microsecond
apart at the bounds, times logged with other offsets and a session time zone other than UTC at draw or publish,
and a window edited in the warehouse so that it leaves out the unit's own run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_publish_units import SEES, published
from test_publish_windows import NO_WINDOW, steps, windows
from test_sampling_units import NOW, T0, queue, wh  # noqa: F401 (the hand-made runs fixture)

from reviewdesk.errors import NotFound
from reviewdesk.review.publication import publish
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.reviewstore import ReviewStore
from reviewdesk.stores.warehouse import Warehouse

EDGE = T0 + timedelta(minutes=20)
US = timedelta(microseconds=1)
FOUR = {"strategy": "random", "size": 10, "filter": "count(*) = 4"}  # only the trace TE below has four runs


def add_at(wh: Warehouse, rows: list[tuple]) -> None:  # noqa: F811
    """(run_id, parent_run_id, start_time as SQL text) of trace TE."""
    for run_id, parent, start in rows:
        wh.execute("INSERT INTO runs (run_id, trace_id, parent_run_id, project, run_type, status, start_time, "
                   "source_format, ingested_at) VALUES (?, 'TE', ?, 'support', 'llm', 'success', ?::TIMESTAMPTZ, "
                   "'test', now())", [run_id, parent, start])  # fmt: skip


def test_runs_all_started_at_one_instant_make_a_window_of_one_instant_holding_them_all(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    add_at(wh, [(r, p, "2026-11-01 00:20:00.000001+00") for r, p in [("e0", None), ("e1", "e0"), ("e2", "e1"),
                                                                      ("e3", "e0")]])  # fmt: skip
    q = queue("trace", FOUR, reviewer_sees=SEES)
    batch = draw_batch(wh, q, seed=1, now=NOW)
    assert windows(batch.items) == {"e0": (EDGE + US, EDGE + US)}
    assert steps(published(wh, tmp_path / "r.sqlite", q, batch.batch_id)["e0"]) == ["e0", "e1", "e2", "e3"]


def test_runs_at_the_windows_bounds_and_logged_with_other_offsets_are_in_whatever_the_session_time_zone(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    # 00:20 UTC plus one microsecond, logged in India's offset; the last a microsecond short of 00:21, in California's
    add_at(wh, [("e0", None, "2026-11-01 05:50:00.000001+05:30"), ("e1", "e0", "2026-11-01 00:20:30+00"),
                ("e2", "e1", "2026-11-01 00:20:40"),  # no offset: the warehouse reads it as UTC
                ("e3", "e0", "2026-10-31 17:20:59.999999-07:00")])  # fmt: skip
    q = queue("trace", FOUR, reviewer_sees=SEES)
    wh.execute("SET TimeZone = 'Asia/Kolkata'")  # DuckDB hands the window to Python in this zone
    batch = draw_batch(wh, q, seed=1, now=NOW)
    lo, hi = EDGE + US, EDGE + timedelta(minutes=1) - US
    assert windows(batch.items) == {"e0": (lo, hi)}  # the same instants, whatever zone they are shown in
    assert batch.items[0]["unit_first_start"].utcoffset() == timedelta(hours=5, minutes=30)
    wh.execute("SET TimeZone = 'America/Los_Angeles'")
    windowed = published(wh, tmp_path / "window.sqlite", q, batch.batch_id)
    wh.execute("SET TimeZone = 'UTC'")
    stored = wh.execute("SELECT unit_first_start, unit_last_start FROM items WHERE batch_id = ?", [batch.batch_id])
    assert stored == [(lo, hi)] and stored[0][0].utcoffset() == timedelta(0)
    wh.execute(NO_WINDOW, [batch.batch_id])
    wh.execute("SET TimeZone = 'America/Los_Angeles'")
    assert published(wh, tmp_path / "whole.sqlite", q, batch.batch_id) == windowed
    assert steps(windowed["e0"]) == ["e0", "e1", "e2", "e3"]  # e0's children by start time: e1, then e3


# the window's start a microsecond past the root's start; the window inverted, so that no time is in it
EDITS = ["unit_first_start = unit_first_start + INTERVAL 1 MICROSECOND",
         "unit_first_start = unit_last_start, unit_last_start = unit_first_start"]  # fmt: skip


@pytest.mark.parametrize("edit", EDITS)
def test_a_window_edited_to_leave_out_the_units_own_run_is_refused_before_writing(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
    edit: str,
) -> None:
    q = queue("trace", {"strategy": "random", "size": 10, "filter": "count(*) = 3"}, reviewer_sees=SEES)
    batch = draw_batch(wh, q, seed=1, now=NOW)
    (item,) = batch.items
    wh.execute(f"UPDATE items SET {edit} WHERE batch_id = ?", [batch.batch_id])  # t2 started at the window's start
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        with pytest.raises(NotFound, match=f"Item {item['item_id']} of batch {batch.batch_id} refers to run t2, "
                                           "which is not in the warehouse"):  # fmt: skip
            publish(wh, store, q, batch.batch_id)
        assert store.count_items(q.name, batch.batch_id) == 0
