"""A drawn trace or session unit records the window its runs started in, and publish reads the unit's runs within
it (plus those without a start time): the same payload as reading the unit whole, except for runs logged after
the draw outside the window. Items drawn before windows were recorded (m021) publish as before."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from test_publish_units import SEES, UNKEYED, published
from test_sampling_units import NOW, T0, add, queue, wh  # noqa: F401 (the hand-made runs fixture)

from reviewdesk.sample.batches import load_batch
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.warehouse import Warehouse

# Runs without a start time: a fourth step of trace T2, a fourth run of session S1, and a session with no time.
UNDATED = [("t2c", "T2", "t2b", None, "support", "success", 1, None),
           ("s1d", None, "s1c", "S1", "support", "success", 1, None),
           ("s3a", None, None, "S3", "support", "success", 1, None)]  # fmt: skip
UNITS = {"trace": {"strategy": "random", "size": 10, "filter": "count(*) >= 3"},
         "session": {"strategy": "random", "size": 10}}  # fmt: skip
NO_WINDOW = "UPDATE items SET unit_first_start = NULL, unit_last_start = NULL WHERE batch_id = ?"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def steps(payload: dict) -> list[str]:
    return [s["run_id"] for s in payload["unit"]["steps"]]


def windows(items: list[dict]) -> dict[str, tuple]:
    return {i["unit_id"]: (i["unit_first_start"], i["unit_last_start"]) for i in items}


def test_a_drawn_unit_records_the_earliest_and_latest_start_of_its_runs(wh: Warehouse) -> None:  # noqa: F811
    add(wh, [*UNKEYED, *UNDATED])
    trace = draw_batch(wh, queue("trace", UNITS["trace"]), seed=1, now=NOW)
    # T2: t2 at 2, t2a at 3, t2b at 4 (t2c: no time); n0's trace by its run id (n0 at 6, n1 7, n2 8); P's: p0..P
    expected = {"t2": (at(2), at(4)), "n0": (at(6), at(8)), "p0": (at(6), at(8))}
    assert windows(trace.items) == windows(load_batch(wh, trace.batch_id).items) == expected
    session = draw_batch(wh, queue("session", UNITS["session"]), seed=1, now=NOW)
    # S1: s1a at 1, s1b 3, s1c 4 (s1d: no time); S2: one run, lo = hi; S3: no run has a time, so no window
    expected = {"S1": (at(1), at(4)), "S2": (at(2), at(2)), "S3": (None, None)}
    assert windows(session.items) == windows(load_batch(wh, session.batch_id).items) == expected


def test_the_window_leaves_the_payload_as_reading_the_unit_whole(wh: Warehouse, tmp_path: Path) -> None:  # noqa: F811
    add(wh, [*UNKEYED, *UNDATED])
    for unit, sampling in UNITS.items():
        q = queue(unit, sampling, reviewer_sees=SEES)
        batch = draw_batch(wh, q, seed=1, now=NOW)
        windowed = published(wh, tmp_path / f"{unit}-window.sqlite", q, batch.batch_id)
        wh.execute(NO_WINDOW, [batch.batch_id])
        assert published(wh, tmp_path / f"{unit}-whole.sqlite", q, batch.batch_id) == windowed
        found = {u: steps(p) for u, p in windowed.items()}
        if unit == "trace":
            assert found == {"t2": ["t2", "t2a", "t2b", "t2c"], "n0": ["n0", "n1", "n2"], "p0": ["p0", "p1", "P"]}
        else:
            assert found == {"S1": ["s1a", "s1b", "s1c", "s1d"], "S2": ["s2a"], "S3": ["s3a"]}


def test_an_item_drawn_before_windows_were_recorded_publishes_as_before(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    add(wh, [*UNKEYED, *UNDATED])
    q = queue("trace", UNITS["trace"], reviewer_sees=SEES)
    batch = draw_batch(wh, q, seed=1, now=NOW)
    windowed = published(wh, tmp_path / "window.sqlite", q, batch.batch_id)
    # the warehouse as it was before m021, with this batch in it; opening it again applies m021
    for column in ("unit_first_start", "unit_last_start"):
        wh.execute(f"ALTER TABLE items DROP COLUMN {column}")
    wh.execute("DELETE FROM _migrations WHERE name = 'm021_item_unit_windows'")
    assert wh.migrate() == ["m021_item_unit_windows"]
    assert set(windows(load_batch(wh, batch.batch_id).items).values()) == {(None, None)}
    assert published(wh, tmp_path / "before.sqlite", q, batch.batch_id) == windowed


def test_a_run_logged_after_the_draw_is_published_only_within_the_drawn_window(
    wh: Warehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    q = queue("trace", {"strategy": "random", "size": 10, "filter": "count(*) = 3"}, reviewer_sees=SEES)
    batch = draw_batch(wh, q, seed=1, now=NOW)
    assert windows(batch.items) == {"t2": (at(2), at(4))}
    add(wh, [("late-in", "T2", "t2a", None, "support", "success", 1, 3),
             ("late-out", "T2", "t2a", None, "support", "success", 1, 50),
             ("late-undated", "T2", "t2a", None, "support", "success", 1, None)])  # fmt: skip
    # t2a's children by start time (none first), then run id
    assert steps(published(wh, tmp_path / "window.sqlite", q, batch.batch_id)["t2"]) == [
        "t2", "t2a", "late-undated", "late-in", "t2b"]  # fmt: skip
    wh.execute(NO_WINDOW, [batch.batch_id])  # as drawn before m021: the unit read whole, late runs and all
    assert steps(published(wh, tmp_path / "whole.sqlite", q, batch.batch_id)["t2"]) == [
        "t2", "t2a", "late-undated", "late-in", "t2b", "late-out"]  # fmt: skip
