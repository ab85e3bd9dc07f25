"""The live-intake commands: `receive`, `tokens add|list|revoke`, `inbox`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.receive.tokens import load_tokens, match_source

runner = CliRunner()


def run(data_dir: Path, *args: str):
    return runner.invoke(app, ["--data-dir", str(data_dir), *args])


def test_the_intake_commands_have_help(tmp_path: Path):
    for cmd in (["receive"], ["tokens"], ["tokens", "add"], ["tokens", "list"], ["tokens", "revoke"], ["inbox"]):
        result = run(tmp_path, *cmd, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, cmd
    assert "--port" in run(tmp_path, "receive", "--help").output


def test_a_token_is_printed_once_kept_hashed_listed_and_revoked(tmp_path: Path):
    added = run(tmp_path, "tokens", "add", "support-bot", "--json")
    assert added.exit_code == 0
    token = json.loads(added.stdout)["token"]
    assert match_source(load_tokens(tmp_path / "receive-tokens.json"), token) == "support-bot"
    again = run(tmp_path, "tokens", "add", "support-bot")
    assert again.exit_code == 2 and "revoke it first" in again.output
    bad = run(tmp_path, "tokens", "add", "Support Bot")
    assert bad.exit_code == 2 and "lowercase" in bad.output
    listed = json.loads(run(tmp_path, "tokens", "list", "--json").stdout)
    assert [row["source"] for row in listed] == ["support-bot"] and token not in json.dumps(listed)
    assert run(tmp_path, "tokens", "revoke", "support-bot").exit_code == 0
    missing = run(tmp_path, "tokens", "revoke", "support-bot")
    assert missing.exit_code == 2 and "tokens list" in missing.output


def test_inbox_ingests_now_and_exits_1_when_a_file_failed(tmp_path: Path):
    empty = run(tmp_path, "inbox", "--json")
    assert empty.exit_code == 0 and json.loads(empty.stdout)["files"] == []
    (tmp_path / "inbox" / "notes.jsonl").write_text('{"hello": 1}\n')
    failed = run(tmp_path, "inbox", "--settle", "0")
    assert failed.exit_code == 1 and "Cannot tell the format" in failed.output
