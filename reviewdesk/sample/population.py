"""A queue's population as SQL: one row per unit (a run, or a pair of runs) with its seeded hash.

Whatever the design, a batch is drawn from this one relation. Each unit gets the key
`hash(unit_id || ':' || seed)` (DuckDB's 64-bit string hash, the same in every process; the seed
is part of the hashed string, because `hash(id, seed)` only XORs the seed in and would give
strongly dependent samples for different seeds), and the units with the smallest keys are a
simple random sample ("bottom-k"). The few decisions taken in Python use SHA-256 of the seed
(`digest`, `uniform`). What a design draws goes into the population's table of drawn units (`drawn`).

Pairwise queues sample pairs: a unit is a `pairing.key` value whose population runs show at
least two `pairing.compare` values; strata and weights of a pair are those of its run_a.

Trace and session queues sample units of runs (`units`: one row per complete unit, its queue SQL
evaluated per unit); a unit's key hashes its unit id, and exclude_reviewed compares unit ids. A drawn unit
keeps the key its runs share and the window they started in (`drawn.add_unit_keys`: read for the drawn
units only), by which publish reads the unit as it was when drawn.

Identical pairs are not in the population. Two answers are identical when their runs' `outputs`
and `error` are equal once every whitespace character is removed (spaces, tabs, line breaks, also
those escaped inside JSON strings): such a pair gives a reviewer nothing to compare. A
key's pair is its smallest-hash run and the smallest-hash run of another compare value whose answer
differs; a key none of whose other-compare runs differs from its first run has no pair, and is
counted by `identical_pairs`. Inclusion probabilities (and so every estimate) are over the pairs
that remain: the population is "pairs whose two answers differ", which is also what reviewers see.

The queue's SQL (filter, strata, weights, pairing, gold source) is checked again here and
evaluated in the sandbox (`evaluation`); the SQL run on the warehouse is only this module's own.
"""

from __future__ import annotations

import hashlib
import itertools
from contextlib import suppress
from datetime import datetime

import duckdb

from reviewdesk.errors import ConfigError
from reviewdesk.queues import sql_problems
from reviewdesk.sample.drawn import create_drawn
from reviewdesk.sample.evaluation import evaluate
from reviewdesk.sample.units import UnitFrame
from schemas.queue import QueueConfig

HASH_RULE = "duckdb hash(unit_id || ':' || seed); bottom-k by hash is a simple random sample"
# A run's answer as pairs compare it: outputs and error with every whitespace character (and JSON's escaped
# \n, \t, \r) removed, hashed so that pairing carries 16 bytes per run, not the answer.
ANSWER_SQL = (
    "md5(regexp_replace(coalesce(runs.outputs::VARCHAR, '') || chr(31) || coalesce(runs.error, ''), "
    r"'(\s|\\[nrt])+', '', 'g'))"
)
_relations = itertools.count()  # names of the relations each `units` call registers, unique in the process


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def digest(*parts: object) -> str:
    """SHA-256 (hex) of the parts: the seeded decisions taken in Python."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def uniform(seed: int, purpose: str) -> float:
    """A seeded uniform number in [0, 1), from 53 bits of SHA-256."""
    return (int(digest(seed, purpose)[:14], 16) >> 3) / 2.0**53


class Population:
    """SQL for a queue's population: one row per unit (a run, or a pair), with its seeded hash.

    The queue's own SQL is evaluated in the sandbox (`evaluation`), never on `con`: each `units`
    call registers its values on `con`, and `close` (or leaving a `with` block) removes them and
    the table of drawn units.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, queue: QueueConfig, seed: int, now: datetime | None = None
    ) -> None:
        if problems := sql_problems(queue):
            raise ConfigError(
                f"Queue {queue.name!r} holds SQL that queue files may not:\n  " + "\n  ".join(problems)
                + "\nFix its file; `reviewdesk queues validate` checks it."
            )  # fmt: skip
        self.con, self.queue, self.seed = con, queue, seed
        self.registered: list[str] = []
        self.drawn = create_drawn(con)  # what the design draws (`reviewdesk.sample.drawn`)
        self.exclude = "TRUE"
        # trace and session units (`now`: when their settle time is measured from; the clock by default)
        self.frame = UnitFrame(con, queue, now) if queue.unit != "run" else None
        if queue.sampling.exclude_reviewed:
            self.exclude = (
                "run_id NOT IN (SELECT r FROM (SELECT unnest([run_id, run_a, run_b]) AS r FROM items"
                f" WHERE queue = {_lit(queue.name)}) WHERE r IS NOT NULL)"
            )

    def __enter__(self) -> Population:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        with suppress(duckdb.Error):  # in an aborted transaction, which would hide the error that aborted it
            self.close()

    def close(self) -> None:
        """Drop the relations `units` registered on the connection, and the drawn units."""
        self.con.complete()  # a result read with fetchone() is still open, and would refuse the unregistering
        while self.registered:
            self.con.unregister(self.registered.pop())
        with suppress(duckdb.Error):  # in a failed transaction, whose rollback drops it anyway
            self.con.execute(f"DROP TABLE IF EXISTS {self.drawn}")
        if self.frame is not None:
            self.frame.close()

    @property
    def pairwise(self) -> bool:
        """Whether a unit is a pair of runs."""
        return self.queue.kind == "pairwise"

    def hash(self, uid: str, purpose: str = "") -> str:
        """SQL for the seeded hash of `uid` (a SQL expression); `purpose` gives an order independent of the sample's."""
        return f"hash({uid} || {_lit(f':{purpose}{self.seed}')})"

    def _evaluated(self, extra: dict[str, str]) -> tuple[str, str]:
        """The queue's SQL evaluated over runs (`extra` plus a pair's key and compare values, by name):
        the relation's name and the population FROM clause joined to it."""
        q = f"__queue_sql_{next(_relations)}"
        values = dict(extra)
        if self.pairwise:
            p = self.queue.pairing
            assert p is not None
            values |= {"__k": f"CAST(({p.key}) AS VARCHAR)", "__c": f"CAST(({p.compare}) AS VARCHAR)"}
        on = evaluate(self.con, q, self.queue.sampling.filter, values)
        self.registered.append(q)
        return q, f"runs JOIN {q} ON {on} WHERE {self.exclude}"

    def _pairing(self, q: str, population: str, extra: dict[str, str]) -> str:
        """WITH clauses of pairwise units (see the module docstring): __cand (pairable runs), __first (per
        key, its smallest-hash run), __second (per key, its first run's partner) and __pairs."""
        carried = "".join(f", {q}.{n}" for n in extra)
        return f"""
            WITH __cand AS (
                SELECT run_id AS __r, {q}.__k, {q}.__c, {self.hash("run_id")} AS __rh, {ANSWER_SQL} AS __o{carried}
                FROM {population} AND {q}.__k IS NOT NULL AND {q}.__c IS NOT NULL),
            __first AS (
                SELECT __k, arg_min({{'r': __r, 'c': __c, 'o': __o}}, __rh) AS __f FROM __cand
                GROUP BY __k HAVING count(DISTINCT __c) >= 2),
            __second AS (
                SELECT f.__k, arg_min(c.__r, c.__rh) AS __r2 FROM __cand c JOIN __first f
                ON c.__k = f.__k AND c.__c <> f.__f.c AND c.__o <> f.__f.o GROUP BY f.__k),
            __pairs AS (
                SELECT least(f.__f.r, s.__r2) AS __a, greatest(f.__f.r, s.__r2) AS __b
                FROM __first f JOIN __second s USING (__k))"""

    def units(self, extra: dict[str, str] | None = None) -> str:
        """SELECT __uid, __h (UBIGINT), __run / __a, __b (a unit's also __key), and `extra` expressions (queue SQL
        over runs) by name.

        Every unit passes the queue's filter; a pair's `extra` values are those of its run_a.
        """
        extra = extra or {}
        if self.frame is not None:
            return self.frame.select(self.hash, self._unit_exclude, extra)
        q, population = self._evaluated(extra)
        if not self.pairwise:
            cols = "".join(f", {q}.{name} AS {name}" for name in extra)
            return f"SELECT run_id AS __uid, {self.hash('run_id')} AS __h, run_id AS __run{cols} FROM {population}"
        # Per key: the run with the smallest seeded hash, then the smallest-hash run of another
        # compare value with another answer. Runs with a NULL key or compare value cannot be paired.
        cols = "".join(f", __cand.{n}" for n in extra)
        return f"""{self._pairing(q, population, extra)}
            SELECT __a || ' ' || __b AS __uid, {self.hash("__a || ' ' || __b")} AS __h, __a, __b{cols}
            FROM __pairs JOIN __cand ON __cand.__r = __pairs.__a"""

    def _unit_exclude(self, uid: str) -> str:
        """The condition a unit (SQL `uid`) meets to be sampled: with exclude_reviewed, not in the queue's items."""
        if not self.queue.sampling.exclude_reviewed:
            return "TRUE"
        return f"{uid} NOT IN (SELECT unit_id FROM items WHERE queue = {_lit(self.queue.name)} AND unit_id IS NOT NULL)"

    @property
    def units_held(self) -> int | None:
        """Trace or session units held back as incomplete (None for a run queue)."""
        return None if self.frame is None else self.frame.held

    def identical_pairs(self) -> int:
        """Keys left out of a pairwise population because every run they could pair has the same answer
        (after whitespace normalisation; see the module docstring); 0 for a single queue."""
        if not self.pairwise:
            return 0
        q, population = self._evaluated({})
        sql = f"{self._pairing(q, population, {})} SELECT count(*) FROM __first ANTI JOIN __second USING (__k)"
        return self.con.execute(sql).fetchone()[0]

    def payload(self, **extra: str) -> str:
        """What a drawn unit brings back, as a struct: its id, runs and hash (to order by), plus `extra`."""
        fields = {"u": "__uid", "h": "__h"} | ({"a": "__a", "b": "__b"} if self.pairwise else {"r": "__run"})
        fields |= ({} if self.frame is None else {"k": "__key"}) | extra
        return "{" + ", ".join(f"'{k}': {v}" for k, v in fields.items()) + "}"

    def fields(self, r: str) -> str:
        """The drawn table's columns (`drawn`) of a `payload` struct `r`, by name."""
        runs = f"{r}.a AS run_a, {r}.b AS run_b" if self.pairwise else f"{r}.r AS run_id"
        key = "" if self.frame is None else f", {r}.k AS {'rid' if self.queue.unit == 'trace' else 'key'}"
        return f"{r}.u AS uid, {runs}{key}"

    def empty_message(self, identical: int = 0) -> str:
        """Why there is nothing to sample (`identical`: pairs left out as identical), and what to do about it."""
        s, q = self.queue.sampling, self.queue
        unreviewed = " that are not yet in one of its batches" if s.exclude_reviewed else ""
        what = f"no runs match the filter of queue {q.name!r} ({s.filter}){unreviewed}"
        if self.frame is not None:
            what = (f"no complete {q.unit} units match the filter of queue {q.name!r} ({s.filter}){unreviewed} "
                    f"({self.frame.held:,} held back as incomplete: still within settle_minutes, or a trace "
                    "without exactly one root)")  # fmt: skip
        if self.pairwise and q.pairing is not None:
            what = (
                f"no pairs for queue {q.name!r}: among runs matching its filter ({s.filter}){unreviewed}, "
                f"no {q.pairing.key} value has runs with two different {q.pairing.compare} values"
            )
            if identical:
                what += f" whose answers differ ({identical:,} pairs had identical answers, whitespace aside)"
        return f"Nothing to sample: {what}; ingest runs or loosen sampling.filter."


__all__ = ["ANSWER_SQL", "HASH_RULE", "Population", "digest", "uniform"]
