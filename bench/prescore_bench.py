"""Pre-scoring benchmark: train on 50,000 labelled runs, then pre-score a batch of 100,000 runs.

Target (issue: pre-scoring): training and pre-scoring together under 60 s on a 2-core machine, and
pre-scoring must not load the warehouse into memory (it reads 10,000 runs at a time: the peak
resident memory it adds is printed beside the size of the runs it scores).

Set-up, not timed: demo runs (`reviewdesk.demo.logs`, cached in bench/out/), ingested into a temporary
warehouse; a training batch whose consensus labels are the demo truth with 10% of them replaced at
random (as reviewers' mistakes would); a second batch of other runs to pre-score.
Run with `.venv/bin/python bench/prescore_bench.py [--train N] [--score N]`.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

from reviewdesk.demo.exports import write_runs
from reviewdesk.demo.logs import generate_runs
from reviewdesk.ingest import ingest
from reviewdesk.prescore.factory import get_scorer
from reviewdesk.prescore.run import prescore_batch
from reviewdesk.prescore.training import train_queue
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TARGET_S = 60.0
NOISE = 0.10
SUCCESS_SHARE = 0.86  # of demo runs: successful LLM calls (the rest are errors and tool runs)

BATCH_SQL = """
INSERT INTO items (item_id, batch_id, queue, position, run_id, run_a, run_b, left_run_id,
    stratum, inclusion_probability, is_gold, gold_answer, reviewers_needed)
SELECT ? || '-' || row_number() OVER (ORDER BY run_id), ?, ?, (row_number() OVER (ORDER BY run_id))::INTEGER,
       run_id, NULL, NULL, NULL, model, 0.5, false, NULL, 1
FROM (SELECT run_id, model FROM runs WHERE run_type = 'llm' AND status = 'success'
      AND run_id NOT IN (SELECT run_id FROM items WHERE run_id IS NOT NULL) ORDER BY hash(run_id) LIMIT ?)
"""
# Consensus from the demo truth, a tenth replaced by a random option (reviewers' mistakes).
CONSENSUS_SQL = """
INSERT INTO consensus (item_id, queue, criterion, value, value_num, method, confidence, reviewers, agreeing,
                       resolved_at)
SELECT i.item_id, i.queue, c.key,
       CASE WHEN hash(i.item_id || c.key) % 100 < ?
            THEN c.options[(1 + hash(i.item_id || c.key || 'x') % len(c.options))::BIGINT]
            ELSE json_extract_string(r.metadata, '$.demo_truth.' || c.key) END,
       NULL, 'single', 1.0, 1, 1, now()
FROM items i JOIN runs r USING (run_id),
     (VALUES ('correctness', ['correct', 'partially_correct', 'incorrect']), ('helpfulness', ['1', '2', '3', '4', '5']))
     c(key, options)
WHERE i.batch_id = ? AND json_extract_string(r.metadata, '$.demo_truth.' || c.key) IS NOT NULL
"""


def runs_file(n: int) -> Path:
    path = OUT / f"prescore_runs_{n}.jsonl"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        write_runs(generate_runs(n, seed=17), path)
    return path


def batch(wh: Warehouse, queue: QueueConfig, batch_id: str, n: int) -> None:
    wh.execute("INSERT INTO batches VALUES (?, ?, 'single', 'random', 1, '{}', ?, ?, ?, now(), NULL)",
               [batch_id, queue.name, queue.rubric_version, n, n])  # fmt: skip
    wh.execute(BATCH_SQL, [batch_id, batch_id, queue.name, n])


class PeakRss:
    """The process's peak resident memory while the block runs, sampled every 20 ms."""

    def __enter__(self) -> PeakRss:
        self.proc, self.peak, self.running = psutil.Process(), 0, True
        self.start = self.proc.memory_info().rss
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--score", type=int, default=100_000)
    args = parser.parse_args()
    queue = QueueConfig.model_validate(yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text()))
    total = int((args.train + args.score) / SUCCESS_SHARE * 1.02)
    with tempfile.TemporaryDirectory() as tmp, Warehouse(Path(tmp) / "warehouse.duckdb", memory_limit="2GB") as wh:
        t = time.perf_counter()
        ingest(wh, [runs_file(total)])
        batch(wh, queue, "bench-train", args.train)
        wh.execute(CONSENSUS_SQL, [round(NOISE * 100), "bench-train"])
        batch(wh, queue, "bench-score", args.score)
        runs_mb = wh.scalar(
            "SELECT sum(length(inputs::VARCHAR) + length(outputs::VARCHAR) + length(metadata::VARCHAR)) / 1e6 "
            "FROM runs JOIN items USING (run_id) WHERE batch_id = 'bench-score'"
        )
        print(f"set-up (not timed): {time.perf_counter() - t:.1f} s; "
              f"{wh.scalar('SELECT count(*) FROM runs'):,} runs in the warehouse")  # fmt: skip
        models = Path(tmp) / "models"

        t = time.perf_counter()
        results = train_queue(wh, queue, models)
        train_s = time.perf_counter() - t
        for r in results:
            m = r.model["metrics"]
            print(f"  {r.criterion}: {r.model['n_train']:,} labels, CV accuracy {m['cv']['accuracy']:.3f} vs "
                  f"majority {m['baseline']['accuracy']:.3f}, macro-F1 {m['cv']['macro_f1']:.3f}, "
                  f"log loss {m['cv']['log_loss']:.3f}; serving {r.serving}")  # fmt: skip

        with PeakRss() as rss:
            t = time.perf_counter()
            report = prescore_batch(wh, queue, "bench-score", get_scorer("sklearn", queue, wh, models))
            score_s = time.perf_counter() - t
        agree = wh.execute(
            """SELECT s.criterion,
                      avg((s.value->>'$' = json_extract_string(r.metadata, '$.demo_truth.' || s.criterion))::INT)
               FROM suggestions s JOIN items i USING (item_id) JOIN runs r USING (run_id)
               WHERE s.batch_id = 'bench-score' GROUP BY ALL ORDER BY 1"""
        )  # fmt: skip
    print(f"train {args.train:,} labels:   {train_s:6.1f} s")
    print(f"pre-score {report.items:,} runs: {score_s:6.1f} s ({report.suggestions:,} suggestions)")
    print(f"total:                {train_s + score_s:6.1f} s   (target < {TARGET_S:.0f} s)")
    print(f"pre-scoring added {(rss.peak - rss.start) / 1e6:,.0f} MB resident at its peak; the runs it scored hold "
          f"{runs_mb:,.0f} MB of JSON")  # fmt: skip
    print("suggestions equal to the demo truth: " + ", ".join(f"{k} {v:.1%}" for k, v in agree))


if __name__ == "__main__":
    main()
