"""One item, read-only: its runs as the Review page shows them, with no form; for any page that links to an item.

`show(item_id, viewer)` checks that the viewer may see the item (`reviewdesk.review.access.view_item`:
leads and admins any, a reviewer one of their queues or one they submitted) and draws it through
`render.item`, so run content stays text. A refusal or an unknown item is a plain notice.
"""

from __future__ import annotations

import streamlit as st

from review_app import render
from review_app.render import escape
from review_app.session import store
from reviewdesk.errors import ReviewdeskError, StoreFault
from reviewdesk.review.access import view_item

PARAM = "item"  # ?item=ID


def show(item_id: str, viewer: str) -> dict | None:
    """Draw the item read-only and return it (JSON parsed), or show why not and return None."""
    try:
        item = view_item(store(), item_id, viewer)
    except StoreFault:
        raise  # not a refusal: app.py shows a plain notice
    except ReviewdeskError as e:
        st.error(escape(e))
        return None
    batch = f"item {item['position']} of batch {item['batch_id']}"
    st.caption(escape(f"{item['queue']} · {batch} · {item['kind']} · read-only"))
    render.item(item)
    return item


__all__ = ["PARAM", "show"]
