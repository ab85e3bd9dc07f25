"""The runs examples are built from, read from the warehouse: each resolved item's own runs, and every
run of a trace or session item, in the order the unit is reviewed in.

A trace's runs are those sharing its root run's trace (`coalesce(trace_id, run_id)`); a session's share
its `session_id`. A unit's order is the contract's: turns (root runs) by start time, each root, then its
children depth first, siblings by start time then run id. A session ends at the turn its item reviewed
(turns logged later were not seen by its reviewers). A unit that cannot be ordered gives its item no
example, with the reason: its runs gone from the warehouse, a trace without exactly one root, a
parent_run_id cycle, or a run whose payload nests too deeply to read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reviewdesk.datasets.examples import Run, Unit
from reviewdesk.stores.payloads import MAX_DEPTH, UnreadablePayload, openers_sql, read_json
from reviewdesk.stores.warehouse import Warehouse

PROMPT_VERSION = "json_extract_string(r.metadata, '$.prompt_version')"  # where runs keep their prompt version
_TEXTS = ("coalesce(r.inputs::VARCHAR, '')", "coalesce(r.outputs::VARCHAR, '')")
# A run's fields as `Run` takes them, then whether its payload holds enough brackets to nest past MAX_DEPTH.
RUN_FIELDS = (
    f"r.run_id, r.trace_id, r.model, {PROMPT_VERSION}, r.inputs::VARCHAR, "
    f"r.outputs::VARCHAR, r.tags, r.parent_run_id, r.run_type, r.name, "
    f"{' OR '.join(f'{openers_sql(t)} >= {MAX_DEPTH}' for t in _TEXTS)}"
)
RESOLVED = "queue = ? AND item_id IN (SELECT item_id FROM consensus WHERE queue = ?)"


def _unreadable(run: Run) -> str | None:
    """Why a suspect run's payload cannot be read (only those are parsed here; the rest once, by the builders)."""
    for text in (run.inputs, run.outputs):
        try:
            read_json(text)
        except UnreadablePayload as e:
            return f"payload cannot be read: {e}"
    return None


def _built(rows: Iterable[Sequence]) -> tuple[list[Run], dict[str, str]]:
    runs, unreadable = [], {}
    for *fields, suspect in rows:
        run = Run(*fields)
        runs.append(run)
        if suspect and (why := _unreadable(run)):
            unreadable[run.run_id] = why
    return runs, unreadable


def item_runs(wh: Warehouse, queue: str) -> tuple[dict[str, Run], dict[str, str]]:
    """The runs named by the queue's resolved items (run_id, run_a, run_b), and why a run's payload cannot be
    read, by run id."""
    rows = wh.execute(
        f"""WITH wanted AS (SELECT DISTINCT unnest([run_id, run_a, run_b]) AS run_id FROM items WHERE {RESOLVED})
            SELECT {RUN_FIELDS} FROM runs r JOIN wanted USING (run_id)""",
        [queue, queue],
    )
    runs, unreadable = _built(rows)
    return {r.run_id: r for r in runs}, unreadable


def unit_runs(wh: Warehouse, queue: str) -> tuple[dict[str, Unit], dict[str, str]]:
    """The unit of each resolved trace or session item of the queue, by item id; and why an item's unit
    cannot be built (see the module docstring), by item id."""
    rows = wh.execute(
        f"""WITH wanted AS (
                SELECT item_id, unit, unit_id, run_id AS item_run FROM items
                WHERE {RESOLVED} AND unit IN ('trace', 'session')),
            traces AS (
                SELECT w.item_id, coalesce(r.trace_id, r.run_id) AS trace_key
                FROM wanted w JOIN runs r ON r.run_id = w.unit_id WHERE w.unit = 'trace'),
            members AS (
                SELECT t.item_id, r.* FROM traces t JOIN runs r ON r.trace_id = t.trace_key
                UNION ALL  -- two joins DuckDB filters inside the scans, not a coalesce over every run
                SELECT t.item_id, r.* FROM traces t JOIN runs r ON r.run_id = t.trace_key WHERE r.trace_id IS NULL
                UNION ALL
                SELECT w.item_id, r.* FROM wanted w JOIN runs r ON r.session_id = w.unit_id WHERE w.unit = 'session')
            SELECT w.item_id, w.unit, w.unit_id, w.item_run, r.run_id IS NOT NULL, {RUN_FIELDS}
            FROM wanted w LEFT JOIN members r USING (item_id)
            ORDER BY w.item_id, r.start_time NULLS LAST, r.run_id""",
        [queue, queue],
    )
    grouped: dict[str, tuple[str, str, str, list]] = {}
    for item_id, kind, unit_id, item_run, found, *run in rows:
        entry = grouped.setdefault(item_id, (kind, unit_id, item_run, []))
        if found:
            entry[3].append(run)
    units, problems = {}, {}
    for item_id, (kind, unit_id, item_run, found) in grouped.items():
        runs, unreadable = _built(found)
        built = order_unit(kind, unit_id, item_run, runs)
        if isinstance(built, str):
            problems[item_id] = built
        elif bad := [r.run_id for r in built.runs if r.run_id in unreadable]:
            problems[item_id] = f"run {bad[0]}: {unreadable[bad[0]]}"
        else:
            units[item_id] = built
    return units, problems


def order_unit(kind: str, unit_id: str, item_run: str | None, runs: Sequence[Run]) -> Unit | str:
    """The unit of `runs` (sorted by start time, then run id) in the contract's order, or why it cannot be
    ordered. Iterative and cycle-safe: a run is visited once, and runs no root reaches are a parent cycle."""
    if not runs:
        return f"{kind} {unit_id}: its runs are not in the warehouse"
    ids = {r.run_id for r in runs}
    roots, children = [], {}
    for run in runs:
        if run.parent_run_id is None or run.parent_run_id not in ids:
            roots.append(run)
        else:
            children.setdefault(run.parent_run_id, []).append(run)
    turns: list[list[Run]] = []
    seen: set[str] = set()
    for root in roots:
        turn, stack = [], [root]
        while stack:
            run = stack.pop()
            if run.run_id not in seen:
                seen.add(run.run_id)
                turn.append(run)
                stack.extend(reversed(children.get(run.run_id, ())))
        turns.append(turn)
    if len(seen) < len(ids):
        cycle = sorted(ids - seen)
        named = ", ".join(cycle[:3]) + (f" and {len(cycle) - 3} more" if len(cycle) > 3 else "")
        return f"{kind} {unit_id}: runs {named} are in a parent_run_id cycle, so no root reaches them"
    if kind == "trace" and len(roots) != 1:
        return f"{kind} {unit_id} has {len(roots)} root runs, not one: some of its runs are missing"
    if kind == "session":
        last = next((i for i, r in enumerate(roots) if r.run_id == item_run), None)
        if last is None:
            return f"{kind} {unit_id}: the turn its item reviewed (run {item_run}) is not in the warehouse"
        roots, turns = roots[: last + 1], turns[: last + 1]
    return Unit(kind, unit_id, [r for turn in turns for r in turn], roots)


__all__ = ["PROMPT_VERSION", "RUN_FIELDS", "item_runs", "order_unit", "unit_runs"]
