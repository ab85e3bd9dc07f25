"""What safe run HTML may hold, checked by a real HTML parser: the tags and attributes our markup writes, and
nothing that can run, load or restyle from outside (scripts, images, frames, event handlers, url() styles)."""

from __future__ import annotations

from html.parser import HTMLParser

from bs4 import BeautifulSoup, Tag
from streamlit.testing.v1 import AppTest

TAGS = {"div", "p", "span", "pre", "code", "a", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "em",
        "strong", "s", "b", "blockquote", "hr", "br", "h1", "h2", "h3", "h4", "h5", "h6",
        "details", "summary"}  # fmt: skip
# (details and summary: a step's folds, opened by the browser; nothing runs or loads in them)
ATTRIBUTES = {"style", "href", "title", "target", "rel", "class", "start", "open", "aria-hidden"}
LINK_SCHEMES = ("http:", "https:", "mailto:")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name not in ATTRIBUTES or name.startswith("on"):
                self.problems.append(f"attribute {name}= on <{tag}>")
            if name == "href" and not value.startswith(LINK_SCHEMES):
                self.problems.append(f"href {value!r}")
            if name == "style" and ("url(" in value or "expression" in value or "@import" in value):
                self.problems.append(f"style {value!r}")
            if name == "rel" and not {"noopener", "noreferrer"} <= set(value.split()):
                self.problems.append(f"rel {value!r}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def unsafe(body: str) -> list[str]:
    """Everything in an HTML fragment that could run, load or come from outside our markup; [] when inert."""
    reader = _Reader()
    reader.feed(body)
    reader.close()
    lowered = body.lower()
    return reader.problems + [f"raw {s}" for s in ("<script", "<img", "<iframe", "<style") if s in lowered]


def text_of(body: str) -> str:
    """The text an HTML fragment shows (entities decoded, tags dropped)."""
    reader = _Reader()
    reader.feed(body)
    reader.close()
    return "".join(reader.text)


def page_html(at: AppTest) -> BeautifulSoup:
    """Every `st.html` block an AppTest drew, as one document, in page order."""
    return BeautifulSoup("".join(h.value for h in at.get("html")), "html.parser")


def bubbles(root: Tag) -> list[Tag]:
    """The turn bubbles under `root`, in order (each classed `turn-<role>`)."""
    return root.select("div[class^='turn-']")


def said(bubble: Tag) -> str:
    """What a bubble says: its text less its label (the role as the log named it)."""
    _label, *rest = bubble.find_all(recursive=False)
    return "".join(part.get_text() for part in rest).strip()


def codes(root: Tag) -> list[str]:
    """The code blocks under `root`, each as its exact text (Pygments ends every block with a newline)."""
    return [pre.get_text().removesuffix("\n") for pre in root.select("pre")]
