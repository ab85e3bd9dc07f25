"""What the app puts into the browser page itself, the only place that uses `st.html`: the page-wide
number-key listener, the session cookie writer, and the styles that fit the review screen to the
window and mark the highlighted criterion. Each is a constant, or built only from values that cannot
carry markup (a signed cookie value, a CSS class made of `[a-zA-Z0-9_-]`): never run, queue or user
text.

Number keys work whatever has focus, except inside a text field. Streamlit's `shortcut=` handling
(1.67, the frontend's `bf`/`wf` filter) ignores a key without Ctrl/Cmd/Alt whenever the event's path
holds an INPUT, TEXTAREA or SELECT, whatever the input's type. So after a mouse click on a radio
option, a toggle, or a select box (whose search box keeps focus once the choice is made), the digit
keys did nothing, or typed into the box. `install` adds one page-wide listener, ahead of Streamlit's
(capture phase on window), that takes every digit outside a text field (text inputs, text areas, an
open select box's search keep theirs): it takes focus off a non-text input, then selects the option
in the widget the keys answer (`mark`) right in the page, as a click would, so the choice shows in the
next frame instead of after a rerun; where it cannot (no such option, a suggestion shown), it presses
the quick-key button of that digit, which Streamlit keys as `quickkeyN-...` (class
`st-key-quickkeyN-...`) and handles on the server. Ctrl+Enter on a focused button (the queue
pill the mouse just chose) would press that button, as Enter does: it is kept from it, so it submits.
The same script opens each new item with its content pane scrolled to the end, where the answer is.

The session cookie (see `review_app.session` for the why and the risks) is written by a script, as
Streamlit 1.67 can read cookies (`st.context.cookies`) but not set them.
"""

from __future__ import annotations

import json
import re

import streamlit as st

QUICK_KEY = "quickkey"  # the quick-key buttons' key prefix: f"{QUICK_KEY}{digit}-{item}"
_SCRIPT = """<script>
(() => {
  if (window.reviewdeskKeys) return;
  window.reviewdeskKeys = true;
  const notText = new Set(["radio", "checkbox", "button", "range", "submit", "reset", "color", "file"]);
  window.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && t instanceof HTMLElement && t.tagName === "BUTTON") {
      e.preventDefault();  // not a press of the focused button (the queue pill the mouse chose): Submit's shortcut,
      e.stopImmediatePropagation();  // sent again from outside the button, where Streamlit's shortcuts take it
      t.blur();
      const {key, code, ctrlKey, metaKey, shiftKey} = e;
      document.body.dispatchEvent(new KeyboardEvent("keydown", {key, code, ctrlKey, metaKey, shiftKey, bubbles: true}));
      return;
    }
    if (!/^[1-9]$/.test(e.key) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (t instanceof HTMLElement && ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName)) {
      const closedSelect = t.getAttribute("role") === "combobox" && t.getAttribute("aria-expanded") !== "true";
      if (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && !notText.has(t.type) && !closedSelect)) return;
    }
    // The key's button may not be drawn yet (a 4 pressed while a 3-option criterion's buttons show).
    const button = document.querySelector(`[class*="st-key-QUICK${e.key}-"] button`);
    const option = target(Number(e.key) - 1);
    if (!option && !button) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    if (t instanceof HTMLElement) t.blur();
    (option ?? button).click();
  }, true);
  // Where a digit goes without waiting for the server: the marked widget, or the next one still open
  // when digits already answered it since the mark was drawn. Its n-th option is clicked as the mouse
  // would, so the choice shows at once and the form's rerun moves the mark. A widget showing a choice
  // already (a model's suggestion) is left to its quick-key button: the server counts that as accepted.
  let marked = "", answered = new Set();
  const target = (n) => {
    const targets = document.querySelector("[data-keys-answer]")?.dataset.keysAnswer ?? "";
    if (targets !== marked) [marked, answered] = [targets, new Set()];
    const widget = targets.split(" ").find((c) => c && !answered.has(c));
    const group = widget && document.querySelector(`.${widget} [role="radiogroup"]`);
    if (!group) return null;
    const options = group.querySelectorAll('input[type="radio"], button[role="radio"]');
    const chosen = (o) => o.checked || o.getAttribute("aria-checked") === "true";
    if (n >= options.length || [...options].some(chosen)) return null;
    answered.add(widget);
    return options[n];
  };
  // A new item (its id in the address bar) opens with its content pane scrolled to the end, the answer
  // under the latest turns, and kept there while it draws (until nothing in it is still loading and its
  // height has not changed for 1.5 s; 5 to 30 s), unless the reviewer scrolls it first.
  let shown, pane, until = 0;
  new MutationObserver(() => {
    const now = document.querySelector(".st-key-content_pane");
    const item = new URLSearchParams(location.search).get("item");
    if (now && (now !== pane || item !== shown)) {
      [pane, shown, until] = [now, item, Date.now() + 5000];
      let height = 0, cap = Date.now() + 30000;
      const timer = setInterval(() => {
        if (Date.now() > until || pane !== now) return clearInterval(timer);
        const drawing = now.scrollHeight !== height || now.querySelector('[data-testid="stSkeleton"]');
        if (drawing) [height, until] = [now.scrollHeight, Math.min(Math.max(until, Date.now() + 1500), cap)];
        now.scrollTop = now.scrollHeight;
      }, 100);
    }
  }).observe(document.body, {childList: true, subtree: true});
  for (const kind of ["wheel", "touchstart", "mousedown"]) {
    window.addEventListener(kind, (e) => { if (pane && pane.contains(e.target)) until = 0; }, true);
  }
})();
</script>""".replace("QUICK", QUICK_KEY)


SAFE_COOKIE = re.compile(r"[A-Za-z0-9_.-]*")
# The review screen made compact, and both panes sized to the window: what stays above and below them
# (the app's header and the page's header row; under the form, the Submit row) is about 150-215 px. A pane's
# height is set on it and on the wrapper Streamlit puts around it.
FIT_SCREEN = """<style>
[data-testid="stMainBlockContainer"] {padding-top: 3rem; padding-bottom: 0.5rem;}
[data-testid="stLayoutWrapper"]:has(> .st-key-content_pane), .st-key-content_pane
  {height: max(360px, calc(100vh - 150px)) !important;}
[data-testid="stLayoutWrapper"]:has(> .st-key-form_pane), .st-key-form_pane
  {height: max(300px, calc(100vh - 215px)) !important;}
</style>"""


def install_keys() -> None:
    """Add the page-wide number-key listener (once per page; drawing it again does nothing)."""
    st.html(_SCRIPT, unsafe_allow_javascript=True)


def fit_screen() -> None:
    """Fit the review screen to the window (styles only: they take no room on the page)."""
    st.html(FIT_SCREEN)


def set_cookie(name: str, value: str, max_age: int) -> None:
    """Write (or with `max_age` 0, delete) a cookie for the whole app: SameSite=Strict, Secure over HTTPS."""
    if not (SAFE_COOKIE.fullmatch(name) and SAFE_COOKIE.fullmatch(value)):
        raise ValueError("cookie names and values here are made of [A-Za-z0-9_.-] only")
    attributes = json.dumps(f"{name}={value}; Path=/; Max-Age={int(max_age)}; SameSite=Strict")
    st.html(
        f'<script>document.cookie = {attributes} + (location.protocol === "https:" ? "; Secure" : "");</script>',
        unsafe_allow_javascript=True,
    )


def css_class(key: str) -> str:
    """The class Streamlit gives the element container of a widget keyed `key` (as its frontend makes it)."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def mark(key: str, then: list[str] | None = None) -> None:
    """Mark the widget keyed `key` as the one the number keys answer: a coloured bar and tint beside it.

    With `then` (the keys of the choice widgets still open after it, in order), the mark also tells the
    page's key listener where digits go: it selects the option in the browser at once, and a second
    digit pressed before the form has redrawn goes to the next widget. Drawn as an (empty) element, not
    as styles alone, which Streamlit keeps in a container of their own that a fragment's rerun does not
    clear: the mark goes when the element is not drawn again."""
    targets = "" if then is None else f'<span data-keys-answer="{" ".join(css_class(k) for k in (key, *then))}"></span>'
    st.html(
        f"<span></span><style>.{css_class(key)} {{border-left: 4px solid #ff4b4b;"
        " background: rgba(255, 75, 75, 0.07); padding: 0.25rem 0 0.25rem 0.6rem; border-radius: 0.25rem;}</style>"
        + targets,
        width="content",
    )
