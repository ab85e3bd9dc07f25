"""Run- and reviewer-derived text made safe for the files in `data/reports/`, which product owners open.

A question, an answer, a comment or a reviewer's name is data, never markup:

- **Markdown** (`md_text`): the text becomes one line (whitespace runs collapse to a space; control and
  bidirectional-override characters are dropped), then every character that can start a Markdown
  construct is backslash-escaped, which CommonMark allows for any ASCII punctuation and renders as the
  character itself. Escaped anywhere: `\\ ` * [ ] < > & | ~ $ @` (code, emphasis, links and images,
  raw HTML, autolinks and entities, tables, strikethrough, math, mentions and e-mail autolinks), `_`
  unless it sits inside a word (`snake_case` cannot emphasize), `:` before `/` (URL autolinks) and the
  `.` after `www` (GFM's www autolinks). Escaped at the start only,
  where they mean a block: `- + # =` and a number's `.` or `)` (lists, headings). So no link, image,
  autolink or HTML survives, and the rendered text reads exactly as the original, on one line.
- **CSV** (`csv_cell`): a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
  leading `'`, so a spreadsheet shows it as text instead of running it as a formula (OWASP, CSV injection).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

_BIDI = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_ANYWHERE = re.compile(r"[\\`*\[\]<>&|~$@]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|:(?=/)|(?<=www)\.", re.IGNORECASE)
_AT_START = re.compile(r"^([-+#=]|[0-9]+(?=[.)]))")
_URL_SAFE = ":/?#[]@!$&'*+,;=%-._~"  # RFC 3986 characters a Markdown link destination takes as they are
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def one_line(value: Any) -> str:
    """The value as text on one line: whitespace collapsed, control and bidi-override characters dropped."""
    text = "".join(c for c in str(value).translate(_BIDI) if c.isspace() or unicodedata.category(c) != "Cc")
    return " ".join(text.split())


def md_text(value: Any) -> str:
    """Text for a Markdown document: one line, with no construct left in it (see the module docstring)."""
    text = _ANYWHERE.sub(lambda m: "\\" + m.group(), one_line(value))
    return _AT_START.sub(lambda m: m.group() + "\\" if m.group()[0].isdigit() else "\\" + m.group(), text)


def md_link(text: Any, url: str) -> str:
    """A Markdown link to `url` (a trusted template's result) with `text` escaped; characters that would end
    the destination are percent-encoded."""
    return f"[{md_text(text)}]({quote(url, safe=_URL_SAFE)})"


def url_part(value: Any) -> str:
    """A run-derived value as it may stand in a URL: every reserved character percent-encoded."""
    return quote(str(value), safe="")


def csv_cell(text: str) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading formula character is preceded by `'`."""
    return "'" + text if text.startswith(FORMULA_START) else text


__all__ = ["FORMULA_START", "csv_cell", "md_link", "md_text", "one_line", "url_part"]
