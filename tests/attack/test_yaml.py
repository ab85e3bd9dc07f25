"""Malformed queue YAML is a message with exit 2, never a traceback, a hang or a memory blow-up."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.queues import QueueFileError, load_queue_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "queues" / "support-quality.yaml").read_text()


def laughs(levels: int = 9) -> str:
    """The "billion laughs": each anchor aliases the previous one 9 times, 9**9 strings if expanded."""
    lines, previous = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'], "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    return "\n".join(lines) + f"\nname: bomb\nassignees: *{previous}\n"


MALFORMED = {
    "nested-20000-deep": "[" * 20_000 + "]" * 20_000,
    "nested-maps-20000-deep": "a: {" * 20_000 + "}" * 20_000,
    "binary-junk": bytes(range(256)) * 8,
    "nul-in-text": b"name: \x00q\n",
    "billion-laughs": laughs(),
    "alias-chain-past-the-depth-limit": "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200)),
    "alias-inside-its-anchor": "&a [*a]\n",
    "undefined-alias": "name: *nowhere\n",
    "python-object-tag": "!!python/object/apply:os.system ['true']\n",
    "impossible-date": "name: q\ncreated: 2001-13-45\n",
    "bad-base64": "name: !!binary '@@@'\n",
    "unhashable-key": "? [a, b]\n: 1\n",
    "a-list-not-a-mapping": "- a\n- b\n",
    "too-large": "# " + "x" * 2_000_000 + "\n",
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_queue_files_are_a_message_with_exit_2(tmp_path: Path, content: str | bytes):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["queues", "validate", str(path)])
    assert time.monotonic() - started < 10  # refused, not expanded
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "invalid" in result.output and "Traceback" not in result.output
    listed = CliRunner().invoke(app, ["--queues-dir", str(tmp_path), "queues", "list"])  # every command loading it
    assert listed.exit_code == 2 and "bad.yaml" in listed.output.replace("\n", ""), listed.output  # long paths wrap


def test_the_limits_leave_room_for_real_queues(tmp_path: Path):
    from reviewdesk.queues import MAX_DEPTH
    path = tmp_path / "deep.yaml"
    path.write_text("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    with pytest.raises(QueueFileError, match="expected a mapping"):  # parsed; only the shape is wrong
        load_queue_file(path)
    shared = tmp_path / "support-quality.yaml"  # anchors and aliases within the limits still load
    shared.write_text(EXAMPLE.replace("stratify_by: [model]", "stratify_by: &by [model]").replace(
        "assignees: [reviewer1, reviewer2, reviewer3]", "assignees: *by"))
    assert load_queue_file(shared).assignees == ["model"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.tuples(st.integers(0, len(EXAMPLE)), st.text(max_size=30)).map(
        lambda cut: (EXAMPLE[: cut[0]] + cut[1] + EXAMPLE[cut[0]:]).encode()),
))  # fmt: skip
def test_any_bytes_are_a_queue_or_a_queue_file_error(tmp_path: Path, content: bytes):
    path = tmp_path / "support-quality.yaml"
    path.write_bytes(content)
    with contextlib.suppress(QueueFileError):  # anything else fails the test
        load_queue_file(path)
