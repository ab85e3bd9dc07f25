"""CLI start-up benchmark: whole `reviewdesk` processes, beside `python -c pass` in the same run.

Targets (issue 11: stage packages): `reviewdesk --help` within 0.6 s of a bare interpreter's
start-up, and `reviewdesk queues list` within 1.5 s of it. Each command runs `--runs` times,
alternating with the baseline so that load on this shared machine hits both alike; the figure is
the median difference. Before the redesign, `--help` took about 4.1 s and every command 2.3-4.1 s,
almost all of it imports (pandas, DuckDB, scikit-learn, Prefect) that most commands never use.

Run with `.venv/bin/python bench/cli_bench.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "reviewdesk")
COMMANDS = {  # label -> (arguments, target: seconds over the bare interpreter)
    "reviewdesk --help": (["--help"], 0.6),
    "reviewdesk queues list": (["queues", "list"], 1.5),
    "reviewdesk queues list --json": (["queues", "list", "--json"], 1.5),
}


def seconds(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one whole process, which must succeed."""
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="processes per command (default 9)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"REVIEWDESK_DATA_DIR": f"{tmp}/data", "REVIEWDESK_QUEUES_DIR": str(ROOT / "queues")}
        bare = [sys.executable, "-c", "pass"]
        seconds(bare, env)  # warm the file cache: the first start of anything is slower
        print(f"{'command':32} {'median s':>9} {'bare s':>7} {'over bare':>10} {'target':>8}")
        for label, (arguments, target) in COMMANDS.items():
            seconds([CLI, *arguments], env)
            pairs = [(seconds([CLI, *arguments], env), seconds(bare, env)) for _ in range(args.runs)]
            over = statistics.median(cli - base for cli, base in pairs)
            cli, base = (statistics.median(p[i] for p in pairs) for i in (0, 1))
            verdict = "ok" if over <= target else "MISSED"
            print(f"{label:32} {cli:9.2f} {base:7.3f} {over:+10.2f} {'<= ' + str(target):>8} {verdict}")


if __name__ == "__main__":
    main()
