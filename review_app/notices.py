"""Notices for leads: reviewers whom monitoring paused and sent back to training, shown on the lead's pages
until a lead marks them seen (`reviewdesk.review.qualification.lead_notices`)."""

from __future__ import annotations

import streamlit as st

from review_app.render import escape
from review_app.session import store
from reviewdesk.review.qualification import lead_notices, mark_seen


def _seen(event_id: int, lead: str) -> None:
    mark_seen(store(), event_id, lead)


def reviewer_notices(lead: str, queue: str | None = None) -> None:
    """Each unseen notice (every queue, or one), newest first, with a button to mark it seen."""
    for n in lead_notices(store(), queue):
        text, button = st.columns([6, 1], vertical_alignment="center")
        text.warning(escape(f"{n.reviewer} in {n.queue} ({n.at:%Y-%m-%d %H:%M} UTC): {n.reason}."),
                     icon=":material/person_alert:")  # fmt: skip
        button.button("Mark seen", key=f"notice-seen-{n.event_id}", on_click=_seen, args=(n.event_id, lead))


__all__ = ["reviewer_notices"]
