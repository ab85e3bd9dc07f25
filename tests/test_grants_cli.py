"""`reviewdesk users grant/revoke` write the same grants the Users page does, and `users list` shows them."""

from __future__ import annotations

import json
from pathlib import Path

from review_support import seed_queue
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.review.access import grants
from reviewdesk.stores.reviewstore import ReviewStore

runner = CliRunner()


def test_users_grant_and_revoke_from_the_command_line(tmp_path: Path, monkeypatch):
    base = ["--data-dir", str(tmp_path)]
    monkeypatch.setenv("REVIEWDESK_PASSWORD", "correct-horse")
    assert runner.invoke(app, [*base, "users", "add", "alice"]).exit_code == 0
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        seed_queue(store, n=1, assignees=[])  # a queue file naming nobody: granted to nobody
    granted = runner.invoke(app, [*base, "users", "grant", "alice", "support-quality", "--json"])
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.stdout) == {"user": "alice", "queue": "support-quality", "granted": True,
                                          "published": True}  # fmt: skip
    ahead = runner.invoke(app, [*base, "users", "grant", "alice", "support-ab"])  # before its first batch
    assert ahead.exit_code == 0 and "not published yet" in ahead.output
    listed = json.loads(runner.invoke(app, [*base, "users", "list", "--json"]).stdout)
    assert listed[0]["queues"] == ["support-ab", "support-quality"]
    revoked = runner.invoke(app, [*base, "users", "revoke", "alice", "support-quality", "--json"])
    assert json.loads(revoked.stdout)["revoked"] is True
    with ReviewStore(f"sqlite:///{tmp_path / 'review.sqlite'}") as store:
        assert grants(store) == {"support-ab": ["alice"]}
    for bad in (["users", "grant", "nobody", "support-ab"], ["users", "grant", "alice", "Not A Queue"]):
        refused = runner.invoke(app, [*base, *bad])
        assert refused.exit_code == 2 and "Traceback" not in refused.output
