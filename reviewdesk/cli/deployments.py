"""Commands that run the flows on their schedules: write `prefect.yaml` from the queue files, or serve them.

Both read `reviewdesk.schedules`, where every queue's review cycle takes its YAML `schedule:`. The
library never imports Prefect, so `serve-flows` runs `flows/serve.py` as a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from reviewdesk.cli.main import JsonOption, app, fail, handle_errors, out, settings
from reviewdesk.cli.serve import _die_with_parent, supervise

ROOT = Path(__file__).resolve().parents[2]
deployments_app = typer.Typer(help="Deployments of the flows, generated from the queue files.", no_args_is_help=True)
app.add_typer(deployments_app, name="deployments")


@deployments_app.command("write")
@handle_errors
def write(
    ctx: typer.Context,
    path: Annotated[Path, typer.Option("--out", help="The file to write.")] = ROOT / "prefect.yaml",
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if the file is out of date.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write prefect.yaml: a review cycle per queue file on its `schedule:`, plus the fixed flows."""
    from reviewdesk.queues import load_queues
    from reviewdesk.schedules import prefect_yaml, write_prefect_yaml

    queues = load_queues(settings(ctx).queues_dir)
    if check:
        current = path.is_file() and path.read_text(encoding="utf-8") == prefect_yaml(queues)
        if as_json:
            print(json.dumps({"path": str(path), "up_to_date": current}))
        elif current:
            out.print(f"{path} is up to date with {settings(ctx).queues_dir}.")
        if not current:
            raise fail(f"{path} is out of date with the queue files: run `reviewdesk deployments write`.", 1)
        return
    changed = write_prefect_yaml(queues, path)
    if as_json:
        print(json.dumps({"path": str(path), "changed": changed, "queues": [q.name for q in queues]}))
    else:
        out.print(f"{'Wrote' if changed else 'Unchanged:'} {path} ({len(queues)} queues). "
                  "Next: `prefect --no-prompt deploy --all`.")  # fmt: skip


@app.command("serve-flows")
@handle_errors
def serve_flows(ctx: typer.Context) -> None:
    """Serve every flow on its schedule from this process (prefect.serve): no work pool or worker needed."""
    s = settings(ctx)
    env = os.environ | {"REVIEWDESK_DATA_DIR": str(s.data_dir.resolve()),
                        "REVIEWDESK_QUEUES_DIR": str(s.queues_dir.resolve())}  # fmt: skip
    if s.review_store_url:
        env["REVIEWDESK_REVIEW_STORE_URL"] = s.review_store_url
    out.print("Serving every flow on its schedule (Ctrl+C stops it); set PREFECT_API_URL to use your Prefect server.")
    child = subprocess.Popen([sys.executable, "-m", "flows.serve"], cwd=ROOT, env=env, preexec_fn=_die_with_parent())
    raise typer.Exit(supervise(child))
