"""Production estimates from consensus: each sampled item weighted by 1/pi, unresolved ones left out."""

from __future__ import annotations

import pytest

from reviewdesk.sample.estimates import outcome_estimates
from reviewdesk.stores.warehouse import Warehouse


def seed(wh: Warehouse) -> None:
    wh.execute("""INSERT INTO batches VALUES ('b1', 'q', 'single', 'weighted', 1, '{}', 'v1', 100, 4, now(), now())""")
    items = [("i1", 0.1, False), ("i2", 0.1, False), ("i3", 0.2, False), ("i4", 0.2, False), ("g1", None, True)]
    for pos, (item_id, pi, gold) in enumerate(items, 1):
        wh.execute("INSERT INTO items (item_id, batch_id, queue, position, run_id, inclusion_probability, is_gold) "
                   "VALUES (?, 'b1', 'q', ?, ?, ?, ?)", [item_id, pos, f"r{pos}", pi, gold])  # fmt: skip
    consensus = [("i1", "incorrect"), ("i2", "correct"), ("i3", "correct"), ("g1", "incorrect")]  # i4: none yet
    for item_id, value in consensus:
        wh.execute("INSERT INTO consensus VALUES (?, 'q', 'correctness', ?, NULL, 'unanimous', 0.75, 2, 2, now(), '')",
                   [item_id, value])  # fmt: skip
    wh.execute("INSERT INTO consensus VALUES ('i1', 'q', 'helpfulness', '2', 2.0, 'unanimous', 0.75, 2, 2, now(), '')")


def test_shares_weight_each_resolved_sampled_item_by_its_inverse_probability(warehouse: Warehouse):
    seed(warehouse)
    got = {e.outcome: e for e in outcome_estimates(warehouse, "q")}
    assert set(got) == {"correct", "incorrect"}  # categorical only; the gold item is outside the sample
    # weights 1/pi: i1 10, i2 10, i3 5 -> incorrect 10/25, correct 15/25
    assert got["incorrect"].estimate.proportion == pytest.approx(0.4)
    assert got["correct"].estimate.proportion == pytest.approx(0.6)
    assert (got["correct"].resolved, got["correct"].sampled, got["correct"].population) == (3, 4, 100)
    assert got["incorrect"].sentence().startswith("incorrect: 40.0% ± ")
    assert "of 100 runs (batch b1, 3 of 4 items resolved)" in got["incorrect"].sentence()
