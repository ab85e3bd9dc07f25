"""Run text as safe HTML: markdown drawn for reading, with nothing in it able to run, load or hide.

LLM answers are markdown (lists, tables, code fences), and reviewers read them faster drawn than as
raw text. But the text comes from production and may hold anything, so the HTML is built here, by
markdown-it (CommonMark with GFM tables and strikethrough), under these rules:
- HTML in the text is not parsed (`html` off): `<script>` and `<img>` come out as visible text.
- An image is never an `<img>`: it becomes the visible text "[image: alt](url)", which loads nothing.
- A link is drawn only for http, https and mailto (anything else stays literal text), opens in a new
  tab with rel="noopener noreferrer nofollow" and shows its address on hover.
- Code fences are highlighted by Pygments with inline styles (no stylesheet to fetch), and their
  info string is shown above the code, so no word of the text is lost.
- Our own styles are fixed strings; no text ever reaches a `style`, `src` or event attribute.

The review app shows the result with `st.html`. In Streamlit 1.67 (read in its frontend, Html.js, and
tried in Chromium by tests/test_e2e_render.py) that is not markdown, so `:red[...]` and
`:material/...:` directives stay text; it is not iframed, so the app's fonts apply; and it passes its
input through DOMPurify (HTML profile: inline styles kept, scripts dropped unless
`unsafe_allow_javascript`, never set here): a second, independent layer should this module ever let
something through. Its hook sets the rel of `target="_blank"` links to "noopener noreferrer".
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pygments
import pygments.formatters
import pygments.lexers
import pygments.util
from markdown_it import MarkdownIt
from markdown_it.token import Token

from reviewdesk.review.conversation import Documents, as_json

MAX_CHARS = 20_000  # longer text is shown as written: crafted markdown that long takes ~1 s to parse
SAFE_SCHEMES = ("http:", "https:", "mailto:")
REL = "noopener noreferrer nofollow"
WRAP = 'style="overflow-wrap:anywhere;line-height:1.5"'
CODE = "white-space:pre-wrap;overflow-wrap:anywhere;margin:0;padding:0.5em 0.75em;border-radius:0.4em;font-size:0.85em"
LABEL = "font-size:0.75em;color:#6b7280;font-family:monospace"
# Fixed inline styles per token, so tables and quotes read as such without a stylesheet.
STYLES = {
    "table_open": "border-collapse:collapse;margin:0.5em 0",
    "th_open": "border:1px solid #d0d4da;padding:0.25em 0.6em;background:#f3f4f6",
    "td_open": "border:1px solid #d0d4da;padding:0.25em 0.6em",
    "blockquote_open": "border-left:3px solid #d0d4da;margin:0.5em 0;padding-left:0.75em;color:#4b5563",
    "code_inline": "background:#f3f4f6;padding:0 0.25em;border-radius:0.25em;font-size:0.9em",
}
FORMATTER = pygments.formatters.HtmlFormatter(noclasses=True, prestyles=CODE, style="friendly")


@lru_cache(maxsize=1024)
def code_html(code: str, language: str = "") -> str:
    """`code` as a highlighted `<pre>` (by `language` when Pygments knows it, else plain), inline styles only.
    Pure, so cached: a rerun draws a trace's steps again."""
    try:
        lexer = pygments.lexers.get_lexer_by_name(language, stripnl=False) if language else None
    except pygments.util.ClassNotFound:
        lexer = None
    lexer = lexer or pygments.lexers.TextLexer(stripnl=False)
    return pygments.highlight(code, lexer, FORMATTER)


def _safe_link(url: str) -> bool:
    """Whether a link may point at `url`: only the schemes in SAFE_SCHEMES (and never javascript: or data:)."""
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """An image as the visible text "[image: alt](url)": shown, never fetched."""
    token = tokens[idx]
    alt, src = self.renderInlineAsText(token.children, options, env), token.attrGet("src") or ""
    return f'<span style="{LABEL}">{html.escape(f"[image: {alt}]({src})")}</span>'


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A link that opens in a new tab, tells the target nothing, and shows its address on hover."""
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    token.attrs = {"href": href, "title": href, "target": "_blank", "rel": REL}
    return self.renderToken(tokens, idx, options, env)


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A code fence: its info string as a small label, then the code highlighted by its language."""
    token = tokens[idx]
    info = token.info.strip()
    label = f'<div style="{LABEL}">{html.escape(info)}</div>' if info else ""
    return label + code_html(token.content, info.split(maxsplit=1)[0] if info else "")


def _code_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """An indented code block, plain."""
    return code_html(tokens[idx].content)


def _styled(state: Any) -> None:
    """Core rule: give tables, quotes and inline code their fixed inline styles."""
    for token in state.tokens:
        for t in [token, *(token.children or [])]:
            if style := STYLES.get(t.type):
                align = t.attrGet("style")  # a table cell's alignment, "text-align:right"
                t.attrSet("style", f"{align};{style}" if align else style)


def _parser() -> MarkdownIt:
    """CommonMark without HTML, with GFM tables and strikethrough, and the renderers above."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.core.ruler.push("reviewdesk_styles", _styled)
    for name, rule in {"image": _image, "link_open": _link_open, "fence": _fence, "code_block": _code_block}.items():
        md.add_render_rule(name, rule)
    return md


MARKDOWN = _parser()


@lru_cache(maxsize=512)
def to_html(text: str) -> str:
    """Markdown `text` as an HTML fragment that shows all its words and cannot run, load or hide anything.

    Pure, so cached: a page rerun draws the same answer again. Text longer than MAX_CHARS (where crafted
    markdown can take a second to parse) is shown exactly as written instead."""
    if len(text) > MAX_CHARS:
        return _plain_html(text)
    return f"<div {WRAP}>{MARKDOWN.render(text)}</div>"


def _plain_html(text: str) -> str:
    """`text` exactly as written, as HTML: escaped, whitespace kept, wrapped to the width."""
    return f'<div style="white-space:pre-wrap;overflow-wrap:anywhere">{html.escape(text)}</div>'


def documents_html(documents: Documents) -> str:
    """Retrieved documents as a numbered list: each one's source, its text as written, its metadata as JSON."""
    items = []
    for d in documents.items:
        source = f"<div><b>{html.escape(d.source)}</b></div>" if d.source else ""
        meta = f'<div style="{LABEL}">{html.escape(as_json(d.metadata))}</div>' if d.metadata is not None else ""
        items.append(f'<li style="margin-bottom:0.5em">{source}{_plain_html(d.text)}{meta}</li>')
    return f"<ol>{''.join(items)}</ol>"
