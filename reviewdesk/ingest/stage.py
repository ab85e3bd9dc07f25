"""What every format shares: type, check, de-duplicate and insert its records, then commit atomically.

One transaction per source writes the new runs, the quarantine rows (raw text and every reason)
and the ingest log, so `read == inserted + duplicates + rejected` holds even after a crash: a
failed ingest leaves nothing behind and can simply be run again.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import pyarrow as pa

from reviewdesk.ingest.canonical import COLUMNS, INVALID_JSON, staged_select
from reviewdesk.ingest.lines import Reject
from reviewdesk.stores.payloads import MAX_DEPTH, json_depth, too_deep
from reviewdesk.stores.warehouse import Warehouse
from schemas.run_rules import DOMAIN_COLUMNS, PASSES

RUN_COLUMNS = [*COLUMNS, "source_format"]
NESTED_COLUMNS = [c for c, kind in COLUMNS.items() if kind in ("json", "object")]  # the values that can nest
SCAN_ROWS = 4096  # rows of an Arrow batch: DuckDB gives each batch to one thread


@dataclass
class IngestReport:
    """Counts of one ingest of one source; `read == inserted + duplicates + rejected`."""

    source: str
    source_format: str
    ingest_id: str
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _json_error(raw: str) -> str:
    """Python's message for malformed JSON is more precise than DuckDB's verdict."""
    try:
        json.loads(raw)
    except RecursionError:
        return f"{INVALID_JSON}: nested too deeply to read"
    except json.JSONDecodeError as e:
        at_end = e.msg.startswith("Unterminated string") or ("Expecting" in e.msg and e.pos >= len(raw.rstrip()))
        hint = " (truncated?)" if at_end else ""  # the input ended inside a record
        return f"{INVALID_JSON}: {e}{hint}"
    return INVALID_JSON


class Stage:
    """Writes the records of one source, chunk by chunk, inside one transaction: all or nothing.

    One statement per chunk parses and types its records, checks them, and inserts the clean new
    runs straight into `runs` (see `add`). Only a chunk that comes out short, because a record was
    refused, a duplicate or nested enough to need measuring, is read again (`_second_look`).
    Duplicates are found against `runs` itself, which holds the earlier chunks of this transaction too.
    """

    def __init__(
        self, warehouse: Warehouse, source: str, source_format: str, content_sha256: str | None = None
    ) -> None:
        self.wh = warehouse
        self.content_sha256 = content_sha256
        self.report = IngestReport(source, source_format, uuid.uuid4().hex[:12])
        self.table = f"suspects_{self.report.ingest_id}"
        self.started = datetime.now(UTC)

    def __enter__(self) -> Stage:
        self.wh.execute("BEGIN TRANSACTION")
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is not None:
            self.wh.execute("ROLLBACK")
            return
        self.wh.execute(f"DROP TABLE IF EXISTS {self.table}")
        r = self.report
        r.duplicates = r.read - r.rejected - r.inserted
        self.wh.execute(
            """INSERT INTO ingests (ingest_id, source, source_format, started_at, finished_at, read, inserted,
            duplicates, rejected, content_sha256) VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?)""",
            [
                r.ingest_id,
                r.source,
                r.source_format,
                self.started,
                r.read,
                r.inserted,
                r.duplicates,
                r.rejected,
                self.content_sha256,
            ],
        )
        self.wh.execute("COMMIT")

    def add(self, relation: str, **arrow: pa.Table) -> None:
        """Ingest the records of `relation` (SQL over the given Arrow tables, registered meanwhile).

        The common chunk is parsed once: its clean runs, new to `runs` and not nested deep enough to
        need measuring, go straight in, in source order. If fewer went in than were read, or one run
        id went in twice, the chunk gets a second look.
        """
        # No cleanup on failure: DuckDB refuses every statement in an aborted transaction, so a
        # cleanup would mask the real error, and the rollback in __exit__ drops the table and views.
        for name, table in arrow.items():  # in slices, so DuckDB's threads share a chunk
            self.wh.con.register(name, pa.Table.from_batches(table.to_batches(SCAN_ROWS), table.schema))
        typed = staged_select(relation, self.report.source_format)
        read = self.wh.execute(f"SELECT count(*) FROM ({relation})")[0][0]
        run_ids = self._insert(typed, "NOT deep")
        self.report.read += read
        self.report.inserted += len(run_ids)
        if len(run_ids) < read or len(set(run_ids)) < len(run_ids):
            self._second_look(typed, run_ids)
        for name in arrow:
            self.wh.con.unregister(name)

    def reject(self, rejects: list[Reject]) -> None:
        """Quarantine records refused before parsing (bad bytes, over-long lines)."""
        self._quarantine([(j.line_no, j.locator, j.raw, j.reason) for j in rejects])
        self.report.read += len(rejects)
        self.report.rejected += len(rejects)

    def _insert(self, typed: str, allowed: str, first_only: bool = False) -> list[str]:
        """Insert the clean records of `typed` that pass `allowed` and are new to `runs`; return their run ids.

        `first_only` keeps the first of records sharing a run id (a window over the wide rows, so
        only the second look pays for it); without it, the caller checks the ids that come back.
        """
        cols = ", ".join(RUN_COLUMNS)
        first = "QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY seq) = 1" if first_only else ""
        # ANTI JOIN lets DuckDB hash the chunk rather than all of `runs`; ORDER BY then restores source order.
        rows = self.wh.execute(
            f"""INSERT INTO runs ({cols}, ingested_at)
            SELECT {cols}, now() FROM ({typed}) s ANTI JOIN runs r ON r.run_id = s.run_id
            WHERE len(problems) = 0 AND coalesce({PASSES}, FALSE) AND {allowed}
            {first} ORDER BY seq RETURNING run_id"""
        )
        return [run_id for (run_id,) in rows]

    def _second_look(self, typed: str, run_ids: list[str]) -> None:
        """Quarantine the chunk's refused records, and insert what the first statement had to leave out.

        Its suspects (a problem found in SQL, a broken rule, or brackets enough to nest too deep) go
        to a small temp table, where pandera names the rules broken and `json_depth` measures nesting.
        The deep records that pass, and the first of run ids that went in twice, are inserted then.
        """
        nested = ", ".join(f"CASE WHEN deep THEN coalesce({c}::VARCHAR, '') END AS n_{c}" for c in NESTED_COLUMNS)
        self.wh.execute(
            f"""CREATE OR REPLACE TEMP TABLE {self.table} AS
            SELECT seq, line_no, locator, raw, problems, run_id, deep, {", ".join(DOMAIN_COLUMNS)}, {nested}
            FROM ({typed}) WHERE len(problems) > 0 OR deep OR NOT coalesce({PASSES}, FALSE)"""
        )
        failures = self._domain_failures()
        for seq, reason in self._depth_failures().items():
            failures.setdefault(seq, []).append(reason)
        if failures:
            marks = pa.table({"seq": list(failures), "extra": list(failures.values())})
            self.wh.con.register("failures", marks)
            self.wh.execute(f"UPDATE {self.table} s SET problems = f.extra FROM failures f WHERE s.seq = f.seq")
            self.wh.con.unregister("failures")
        measured = {r for (r,) in self.wh.execute(f"SELECT run_id FROM {self.table} WHERE deep AND len(problems) = 0")}
        redo = [run_id for run_id, n in Counter(run_ids).items() if n > 1 or run_id in measured]
        if redo:  # went in twice, or maybe before a measured record of the same id: decide again
            self.report.inserted -= self.wh.execute(
                "DELETE FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [redo]
            )[0][0]
        if measured or redo:
            refused = f"seq NOT IN (SELECT seq FROM {self.table} WHERE len(problems) > 0)"
            self.report.inserted += len(self._insert(typed, refused, first_only=True))
        bad = self.wh.execute(f"SELECT line_no, locator, raw, problems FROM {self.table} WHERE len(problems) > 0")
        self.report.rejected += len(bad)
        self._quarantine(
            [
                (line_no, locator, (raw or "").rstrip("\r\n").encode("utf-8"),
                 "; ".join(_json_error(raw) if p == INVALID_JSON and raw else p for p in problems))
                for line_no, locator, raw, problems in bad
            ]
        )  # fmt: skip

    def _domain_failures(self) -> dict[int, list[str]]:
        """The suspects with no other problem that break the runs contract, mapped to their reasons.

        DuckDB found them with the contract's rules as SQL (`schemas.run_rules`); only those rows
        go through pandera (`schemas.runs.RunSchema`), which names the reasons. A clean chunk never
        imports pandas or pandera.
        """
        cols = ", ".join(DOMAIN_COLUMNS)
        broken = f"FROM {self.table} WHERE len(problems) = 0 AND NOT coalesce({PASSES}, FALSE)"
        if not self.wh.execute(f"SELECT count(*) {broken}")[0][0]:
            return {}
        import pandera.errors

        from schemas.runs import RunSchema

        df = self.wh.con.sql(f"SELECT seq, {cols} {broken}").df()
        try:
            RunSchema.to_schema().select_columns(DOMAIN_COLUMNS).validate(df.drop(columns="seq"), lazy=True)
            return {}
        except pandera.errors.SchemaErrors as e:
            cases = e.failure_cases.dropna(subset=["index"])
        reasons: dict[int, list[str]] = {}
        for case in cases.itertuples():
            if case.schema_context == "Column":
                reason = f"{case.column}: fails {case.check}, got {case.failure_case!r}"
            else:
                reason = str(case.check)
            found = reasons.setdefault(int(df["seq"].iat[int(case.index)]), [])
            if reason not in found:
                found.append(reason)
        return reasons

    def _depth_failures(self) -> dict[int, str]:
        """Suspects with no other problem nested past `MAX_DEPTH` (the run object is level 1), mapped to the reason.

        `staged_select` counts the brackets of each whole record in SQL (`deep`): a record with fewer than
        `MAX_DEPTH` cannot nest that deep, so only the rare others are measured, column by column,
        by an iterative scan (Python's parser would recurse).
        """
        texts = ", ".join(f"n_{c}" for c in NESTED_COLUMNS)
        suspects = self.wh.execute(f"SELECT seq, {texts} FROM {self.table} WHERE len(problems) = 0 AND deep")
        depths = {seq: 1 + max(json_depth(t) for t in values) for seq, *values in suspects}
        return {seq: too_deep(depth) for seq, depth in depths.items() if depth > MAX_DEPTH}

    def _quarantine(self, rows: list[tuple]) -> None:
        if rows:
            r = self.report
            self.wh.con.executemany(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [(r.ingest_id, r.source, r.source_format, *row) for row in rows],
            ).fetchall()
