"""Where two answers differ, word by word: what a reviewer of a pair needs to see first.

Two answers often differ in a few words; reading both in full to find them is slow and error-prone.
`differences` compares the words and punctuation marks (spacing never counts as a change)
with difflib and marks, in each answer, the words the other one lacks. `marked_html` draws one side
with its changed words highlighted, all text escaped. Past MAX_WORDS words a side, difflib's
quadratic worst case would stall the page, so the answers are compared line by line instead.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

# A word or a punctuation mark with the spacing around it; all-space text as one piece.
WORD = re.compile(r"\s*(?:\w+|[^\w\s])\s*|\s+")
SPACED = re.compile(r"(\s*)(.*?)(\s*)", re.DOTALL)
LINE = re.compile(r"[^\n]*\n|[^\n]+")
MAX_WORDS = 5_000
MARKS = {"a": "background:#fde2e1;text-decoration:line-through;text-decoration-color:#b42318",
         "b": "background:#d7f5dd;text-decoration:underline;text-decoration-color:#067647"}  # fmt: skip


@dataclass(frozen=True)
class Span:
    """A piece of one answer's text, `changed` when the other answer does not have it there."""

    text: str
    changed: bool = False


def differences(a: str, b: str) -> tuple[list[Span], list[Span]]:
    """Each answer as spans, the words only it has marked changed (A: left out of B; B: added or replaced)."""
    left, right = WORD.findall(a), WORD.findall(b)
    if max(len(left), len(right)) > MAX_WORDS:  # too long to compare by words: by lines, or else whole
        left, right = LINE.findall(a), LINE.findall(b)
        if max(len(left), len(right)) > MAX_WORDS:
            left, right = [a], [b]
    matcher = difflib.SequenceMatcher(None, [p.strip() for p in left], [p.strip() for p in right], autojunk=False)
    spans_a: list[Span] = []
    spans_b: list[Span] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        spans_a += _merged(left[i1:i2], op != "equal")
        spans_b += _merged(right[j1:j2], op != "equal")
    return spans_a, spans_b


def _merged(pieces: list[str], changed: bool) -> list[Span]:
    """One span for a run of pieces (none when there are none); spacing alone is never a change."""
    text = "".join(pieces)
    return [Span(text, changed and not text.isspace())] if pieces else []


def same_words(a: str, b: str) -> bool:
    """Whether the two texts hold the same words and marks in the same order (spacing aside)."""
    return [w.strip() for w in WORD.findall(a) if not w.isspace()] == [
        w.strip() for w in WORD.findall(b) if not w.isspace()
    ]


def marked_html(spans: list[Span], side: str) -> str:
    """One side ("a" or "b") as escaped HTML, its changed words highlighted, its spacing and lines kept."""
    body = "".join(_marked(s, MARKS[side]) if s.changed else html.escape(s.text) for s in spans)
    return f'<div style="white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.6">{body}</div>'


def _marked(span: Span, style: str) -> str:
    """A changed span: its words highlighted, the spacing around them not."""
    lead, core, trail = SPACED.fullmatch(span.text).groups()  # type: ignore[union-attr]
    return f'{lead}<span style="{style}">{html.escape(core)}</span>{trail}' if core else lead + trail
