"""Rubric criteria as widgets: the type of each criterion picks its input, keyed by item."""

from __future__ import annotations

from typing import Any

import streamlit as st


def criterion(c: dict, key: str) -> Any:
    """One criterion's widget; returns its value, None when a choice was not made."""
    label = c["key"].replace("_", " ").capitalize() + (" *" if c.get("required") else "")
    help_ = c.get("description") or None
    kind, options = c["type"], c.get("options")
    if kind == "categorical":
        return st.radio(label, options, index=None, key=key, help=help_, horizontal=True)
    if kind == "ordinal":
        return st.segmented_control(label, options, key=key, help=help_)
    if kind == "numeric":
        if options:
            return st.segmented_control(label, options, key=key, help=help_)
        return st.slider(label, float(c["min"]), float(c["max"]), key=key, help=help_)
    if kind == "boolean":
        return st.toggle(label, key=key, help=help_)
    return st.text_area(label, key=key, help=help_) or None
