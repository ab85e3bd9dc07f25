"""The review app's router: pages by role, every page behind a login checked on the server.

The navigation shows each user only the pages of their role; each page checks the role again
(`session.require_role`), so a hidden page stays closed when opened some other way. A store fault
anywhere in a run ends it with a plain notice (`session.store_fault_notice`); other uncaught errors
show no details either, as `reviewdesk app` starts the server (`client.showErrorDetails = none`).
"""

import streamlit as st

from review_app.render import escape
from review_app.session import current_user, end_session, store_fault_notice, write_cookie
from reviewdesk.errors import StoreFault

ANY = ("reviewer", "lead", "admin")
# section -> (script, title, roles allowed)
PAGES = {
    "Review": [
        ("views/my_queues.py", "My queues", ANY),
        ("views/review.py", "Review", ANY),
        ("views/my_submissions.py", "My submissions", ANY),
    ],
    "Lead": [
        ("views/queue_progress.py", "Queue progress", ("lead", "admin")),
        ("views/agreement.py", "Agreement", ("lead", "admin")),
        ("views/reviewers.py", "Reviewers", ("lead", "admin")),
        ("views/reviewer_calibration.py", "Reviewer calibration", ("lead", "admin")),  # from Agreement's links
        ("views/flagged.py", "Flagged items", ("lead", "admin")),
        ("views/adjudication.py", "Adjudication", ("lead", "admin")),
    ],
    "Admin": [
        ("views/users.py", "Users", ("lead", "admin")),  # leads grant queues; only admins manage accounts
    ],
}
HIDDEN = {"views/reviewer_calibration.py"}  # opened from links on other pages, not listed in the sidebar

st.set_page_config(page_title="reviewdesk", layout="wide")
notice = st.empty()  # a store fault's notice goes at the top, above whatever the page drew before it
try:
    user = current_user()
    if user is None:
        write_cookie(logged_in=False)
        pages = [st.Page("views/login.py", title="Log in")]
    else:
        pages = {
            section: [st.Page(script, title=title, visibility="hidden" if script in HIDDEN else "visible")
                      for script, title, roles in entries if user["role"] in roles]
            for section, entries in PAGES.items()
        }
        pages = {section: entries for section, entries in pages.items() if entries}
        with st.sidebar:
            st.caption(f"Logged in as **{escape(user['name'])}** ({user['role']})")
            if st.button("Log out"):
                end_session()
                st.rerun()
            write_cookie(logged_in=True)
    st.navigation(pages).run()
except StoreFault as e:  # a full disk, a damaged store or a lost database server: a plain notice, not a traceback
    store_fault_notice(notice, e)
