"""The review app's router: pages by role, every page behind a login checked on the server."""

import streamlit as st

from review_app.session import current_user, end_session

st.set_page_config(page_title="reviewdesk", layout="wide")
user = current_user()
if user is None:
    pages = [st.Page("views/login.py", title="Log in")]
else:
    pages = [st.Page("views/my_queues.py", title="My queues", default=True), st.Page("views/review.py", title="Review")]
    with st.sidebar:
        st.caption(f"Logged in as **{user['name']}** ({user['role']})")
        if st.button("Log out"):
            end_session()
            st.rerun()
st.navigation(pages).run()
