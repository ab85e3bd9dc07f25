"""Adjudication: items whose reviewers disagree wait in the review store for a lead's final answer.

The resolve step opens a case per item and required criterion in dispute (a per-step criterion's case
names its steps in dispute, brought up to date by each resolve until decided), and withdraws an open case
once its reviewers agree after all (a revision): a lead decides only what is still disputed. A lead sees every
reviewer's answer and comment (only leads and admins may, and the store checks it), and decides
with a reason. A decision is final and kept as made; the next resolve uses it as the consensus. A
lead routes a decision to product owners explicitly (`product_issue`): it then appears in the
queue's product-issues report (`reviewdesk.datasets.flagged`); what the reason says never decides that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select

from reviewdesk.errors import ConfigError, NotFound, ReviewConflict
from reviewdesk.review.access import require_lead
from reviewdesk.review.drafts import unanswered
from reviewdesk.review.lookups import LATEST
from reviewdesk.review.units import Step, asked_steps, capped, shortened, step_title, steps_of, unit_of
from reviewdesk.stores.review_schema import adjudications, items, submissions
from reviewdesk.stores.reviewstore import ReviewStore
from schemas.answer_values import value_problems
from schemas.rubric import PREFERENCE, TIE

# A per-step case still open takes the steps a later resolve finds in dispute (more reviews, a revision):
# a step newly in dispute then gets a decision, and one the reviewers now agree on no longer needs one.
_REFRESH_STEPS = (
    adjudications.update()
    .where(adjudications.c.item_id == bindparam("b_item"), adjudications.c.criterion == bindparam("b_criterion"),
           adjudications.c.decided_at.is_(None))
    .values(steps=bindparam("b_steps", type_=adjudications.c.steps.type), why=bindparam("b_why"))
)  # fmt: skip

_WITHDRAW = adjudications.delete().where(
    adjudications.c.item_id == bindparam("b_item"), adjudications.c.criterion == bindparam("b_criterion"),
    adjudications.c.decided_at.is_(None),
)  # fmt: skip


def open_cases(store: ReviewStore, cases: Iterable[Mapping[str, Any]], now: datetime | None = None) -> int:
    """Open a case per (item_id, criterion) with its `queue`, `why` and, for a per-step criterion, `steps`
    (the run ids in dispute). One already decided stays as it is, and so does an open whole-item one; an
    open per-step one takes these `steps` and `why`. Returns how many were opened."""
    now = now or datetime.now(UTC)
    rows = [{**c, "opened_at": now} for c in cases]
    if not rows:
        return 0
    stepped = [{"b_item": r["item_id"], "b_criterion": r["criterion"], "b_steps": r["steps"], "b_why": r["why"]}
               for r in rows if r.get("steps")]  # fmt: skip
    with store.write() as conn:
        # count the rows inserted by what they return: psycopg reports rowcount -1 for these inserts
        stmt = store.insert_ignore_stmt(adjudications).returning(adjudications.c.item_id)
        opened = len(conn.execute(stmt, rows).all())
        if stepped:
            conn.execute(_REFRESH_STEPS, stepped)
        return opened


def withdraw_settled(store: ReviewStore, queue: str, judged: Iterable[str], disputed: Iterable[tuple[str, str]]) -> int:
    """Withdraw the queue's open cases on `judged` items whose (item, criterion) is no longer `disputed`:
    the reviewers' consensus stands, and a lead is not asked to overrule it. Returns how many."""
    judged, disputed = set(judged), set(disputed)
    with store.write() as conn:
        open_now = conn.execute(
            select(adjudications.c.item_id, adjudications.c.criterion)
            .where(adjudications.c.queue == queue, adjudications.c.decided_at.is_(None))
        ).all()  # fmt: skip
        settled = [{"b_item": i, "b_criterion": k} for i, k in open_now if i in judged and (i, k) not in disputed]
        if settled:
            conn.execute(_WITHDRAW, settled)
        return len(settled)


def backlog(store: ReviewStore, queue: str | None = None) -> list[dict]:
    """Open cases, oldest first."""
    query = select(adjudications).where(adjudications.c.decided_at.is_(None))
    if queue is not None:
        query = query.where(adjudications.c.queue == queue)
    with store.read() as conn:
        rows = conn.execute(query.order_by(adjudications.c.opened_at, adjudications.c.item_id)).mappings()
        return [dict(r) for r in rows]


def case(store: ReviewStore, item_id: str, lead: str) -> dict:
    """What a lead needs to decide an item: the item (with its runs), its cases, and every
    reviewer's latest submission with comments, corrections and flags."""
    with store.read() as conn:
        require_lead(conn, lead, "adjudicate")
        item = conn.execute(select(items).where(items.c.item_id == item_id)).mappings().first()
        if item is None:
            raise NotFound(f"No item {item_id!r} in the review store.")
        cases = conn.execute(select(adjudications).where(adjudications.c.item_id == item_id)).mappings().all()
        answers = conn.execute(
            select(submissions).where(submissions.c.item_id == item_id, LATEST).order_by(submissions.c.reviewer)
        ).mappings()
        return {"item": dict(item), "cases": [dict(c) for c in cases], "submissions": [dict(a) for a in answers]}


def decide(
    store: ReviewStore,
    item_id: str,
    criterion: str,
    value: Any,
    reason: str,
    lead: str,
    now: datetime | None = None,
    product_issue: bool = False,
) -> None:
    """Record a lead's final answer to an open case, with the reason for it; `product_issue` routes it
    to product owners (the product-issues report). A per-step criterion's answer is `{step run id: value}`
    for exactly the steps in dispute (`disputed_steps`)."""
    decide_item(store, item_id, {criterion: value}, reason, lead, now, product_issue)


def decide_item(
    store: ReviewStore,
    item_id: str,
    values: Mapping[str, Any],
    reason: str,
    lead: str,
    now: datetime | None = None,
    product_issue: bool = False,
) -> None:
    """Decide open cases of one item at once, `{criterion: value}`, as the Adjudication page does: every
    value is checked before any is stored, so a refusal stores none of them."""
    if not reason or not reason.strip():
        raise ConfigError("Give a reason for the decision: other leads and the dataset lineage read it.")
    now = now or datetime.now(UTC)
    with store.write() as conn:
        require_lead(conn, lead, "adjudicate")
        query = select(adjudications).where(adjudications.c.item_id == item_id,
                                            adjudications.c.criterion.in_(list(values)))  # fmt: skip
        cases = {c["criterion"]: c for c in conn.execute(query).mappings()}
        item = conn.execute(select(items).where(items.c.item_id == item_id)).mappings().first()
        rubric = store.rubric(item["queue"], item["rubric_version"], conn) if item else None
        criteria = {c["key"]: c for c in (rubric or {}).get("criteria", [])}
        for criterion, value in values.items():
            found = cases.get(criterion)
            if found is None:
                raise NotFound(f"No adjudication case for item {item_id!r} and criterion {criterion!r}.")
            _check_value(criteria.get(criterion), found, item, value)
            if found["decided_at"] is not None:
                raise ReviewConflict(
                    f"{criterion!r} of item {item_id} was already decided by {found['decided_by']}: "
                    "the first decision stands."
                )
        for criterion, value in values.items():
            conn.execute(
                adjudications.update()
                .where(adjudications.c.item_id == item_id, adjudications.c.criterion == criterion)
                .values(value=value, reason=reason.strip(), decided_by=lead, decided_at=now,
                        product_issue=product_issue)
            )  # fmt: skip


def disputed_steps(case: Mapping[str, Any], criterion: Mapping[str, Any], payload: Any) -> list[Step]:
    """The steps a per-step criterion's case is about, in the unit's order ([] for a whole-item criterion):
    those it names. A case opened before m015 names them only in its `why` ("step <run id>: ..."); one
    whose steps cannot be told is about every step the criterion asks."""
    if not criterion.get("per_step"):
        return []
    asked = asked_steps(criterion, steps_of(unit_of(payload)))
    named = case.get("steps")
    if named is None:
        said = str(case.get("why") or "").split("; ")
        return [s for s in asked if any(w.startswith(f"step {s.run_id}: ") for w in said)] or asked
    return [s for s in asked if s.run_id in set(named)]


def _check_value(c: Mapping[str, Any] | None, case: Mapping[str, Any], item: Mapping[str, Any], value: Any) -> None:
    """Refuse a decision the criterion cannot take: a value outside its options, type or range, a pairwise
    preference that is not one of the item's runs or a tie, a per-step one not `{step run id: value}` for
    exactly the steps in dispute."""
    key = case["criterion"]
    if c is not None and c.get("per_step"):
        _check_step_decision(c, case, item["payload"], value)
        return
    if value is None:
        raise ConfigError(f"Give a value for {key!r}: a decision cannot be empty.")
    if c is None:
        allowed = [item["run_a"], item["run_b"], TIE] if key == PREFERENCE else None
        problems = [f"must be one of {', '.join(map(str, allowed))}"] if allowed and value not in allowed else []
    else:
        problems = value_problems(c, value)
    if problems:
        raise ConfigError(f"{key!r}: {shortened(value)} {'; '.join(problems)}. Decide it with one of its answers.")


def _check_step_decision(c: Mapping[str, Any], case: Mapping[str, Any], payload: Any, value: Any) -> None:
    """A per-step criterion's case is decided per step: `{step run id: value}` for each step in dispute."""
    key = c["key"]
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{key!r} is answered per step: decide it as {{step run id: value}} for the steps in dispute "
            "(the case says which)."
        )
    session = (unit_of(payload) or {}).get("kind") == "session"
    disputed = disputed_steps(case, c, payload)
    named = {s.run_id for s in disputed}
    problems = [f"{shortened(k)} is not a step in dispute" for k in value if k not in named]
    for s in disputed:
        given = value.get(s.run_id)
        if unanswered(given):
            problems.append(f"no value for {step_title(s, session)}")
        problems += [f"{step_title(s, session)}: {shortened(given)} {why}" for why in value_problems(c, given)]
    if problems:
        steps = ", ".join(f"{s.run_id} ({step_title(s, session)})" for s in disputed)
        raise ConfigError(
            f"{key!r} is decided per step, with a value for every step in dispute and no other: {steps}. "
            f"Not stored: {'; '.join(capped(problems))}."
        )


def decisions(store: ReviewStore, queue: str) -> dict[str, dict[str, Any]]:
    """Decided values of a queue: item_id -> {criterion: value}."""
    query = select(adjudications.c.item_id, adjudications.c.criterion, adjudications.c.value).where(
        adjudications.c.queue == queue, adjudications.c.decided_at.is_not(None)
    )
    out: dict[str, dict[str, Any]] = {}
    with store.read() as conn:
        for item_id, criterion, value in conn.execute(query):
            out.setdefault(item_id, {})[criterion] = value
    return out


__all__ = ["backlog", "case", "decide", "decide_item", "decisions", "disputed_steps", "open_cases"]
