"""The roles of the review app's accounts, apart from the account code so the CLI can name them at
start-up without loading the store."""

ROLES = ("reviewer", "lead", "admin")
PRIVILEGED = ("lead", "admin")  # may review any queue, adjudicate and see every reviewer's answers

__all__ = ["PRIVILEGED", "ROLES"]
