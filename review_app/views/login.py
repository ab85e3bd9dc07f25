"""Log in: one generic message for every failure, so the form tells nothing about accounts."""

import streamlit as st

from review_app.session import remember, store
from reviewdesk.review.accounts import authenticate

st.title("reviewdesk")
with st.form("login"):
    name = st.text_input("Username")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Log in")
if submitted:
    session = authenticate(store(), name.strip(), password)
    if session is None:
        st.error("Wrong username or password, or the account is locked. Check them, or wait five minutes.")
    else:
        remember(session.token)
        st.rerun()
