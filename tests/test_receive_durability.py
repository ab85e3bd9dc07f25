"""Durable before acknowledged: kill -9 the receiver while several real exporters send to it, start it again,
and every span it acknowledged is ingested exactly once, while the exporters retry what it did not."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
from otlp_load import read_acks, span_id
from process_support import free_port
from receive_support import start_receiver

from reviewdesk.config import Settings
from reviewdesk.ingest.inbox import ingest_inbox
from reviewdesk.receive.server import tokens_path
from reviewdesk.receive.tokens import add_token
from reviewdesk.stores.warehouse import Warehouse

LOAD = Path(__file__).parent / "otlp_load.py"
WORKERS, BATCHES, SIZE = 3, 20, 50


def acknowledged(acks: list[Path]) -> tuple[list[str], int]:
    """Span ids of acknowledged batches, and the number of batches the exporters gave up on."""
    outcomes = [ack for path in acks for ack in read_acks(path)]
    return [i for ack in outcomes if ack.ok for i in ack.span_ids], sum(not ack.ok for ack in outcomes)


def test_kill_9_mid_load_loses_no_acknowledged_span_and_ingests_each_once(tmp_path: Path):
    data_dir, log = tmp_path / "data", tmp_path / "receive.log"
    token = add_token(tokens_path(Settings(data_dir=data_dir)), "load")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    receiver = start_receiver(data_dir, port, log)
    acks = [tmp_path / f"acks-{w}.txt" for w in range(WORKERS)]
    args = [[url, token, str(w + 1), str(BATCHES), str(SIZE), str(acks[w]), "--gzip"] for w in range(WORKERS)]
    exporters = [subprocess.Popen([sys.executable, str(LOAD), *a]) for a in args]
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged(acks)[0]) < WORKERS * BATCHES * SIZE // 3:
            assert time.monotonic() < deadline, "the exporters made no progress"
            time.sleep(0.02)
        receiver.send_signal(signal.SIGKILL)  # mid-load: requests in flight, a segment left open
        receiver.wait()
        before_restart = len(acknowledged(acks)[0])
        receiver = start_receiver(data_dir, port, log)
        for e in exporters:
            assert e.wait(timeout=120) == 0
    finally:
        for e in exporters:
            e.kill()
        receiver.terminate()
        receiver.wait(timeout=20)
    ids, failed = acknowledged(acks)
    assert failed == 0, "an exporter gave up on a batch instead of retrying it"
    sent = {format(span_id(w + 1, b, i), "016x") for w in range(WORKERS) for b in range(BATCHES) for i in range(SIZE)}
    assert sorted(ids) == sorted(sent)
    assert before_restart < len(ids)  # some were sent after the restart
    with Warehouse(data_dir / "warehouse.duckdb") as wh:
        result = ingest_inbox(wh, data_dir / "inbox")
        assert all(f.outcome == "ingested" for f in result.files) and len(result.files) >= 2  # before and after
        wh.con.register("acked", pa.table({"run_id": ids}))
        stored = wh.execute(
            "SELECT count(*), count(DISTINCT run_id), count(*) FILTER (run_id IN (SELECT run_id FROM acked)) FROM runs"
        )[0]
        rejected = sum(f.report["rejected"] for f in result.files)
    assert stored == (len(ids), len(ids), len(ids)) and rejected == 0  # each acknowledged span once, nothing else
