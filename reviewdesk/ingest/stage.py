"""The staging area shared by every format: type, validate, de-duplicate, then commit atomically.

One transaction per source writes the new runs, the quarantine rows (raw text and every reason)
and the ingest log, so `read == inserted + duplicates + rejected` holds even after a crash: a
failed ingest leaves nothing behind and can simply be run again.
"""

from __future__ import annotations

import json
import uuid
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
WRITE_ROWS = 4 * 122_880  # four DuckDB row groups


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

    Each chunk is typed into a temp table and checked with pandera and against the nesting limit;
    every ~500k records, the clean new runs go to `runs` and the bad records to `quarantine`.
    Duplicates are found against `runs` itself, which holds the earlier writes of this transaction too.
    """

    def __init__(
        self, warehouse: Warehouse, source: str, source_format: str, content_sha256: str | None = None
    ) -> None:
        self.wh = warehouse
        self.content_sha256 = content_sha256
        self.report = IngestReport(source, source_format, uuid.uuid4().hex[:12])
        self.table = f"staged_{self.report.ingest_id}"
        self.started = datetime.now(UTC)
        self.batch = self.pending = 0

    def __enter__(self) -> Stage:
        self.wh.execute("BEGIN TRANSACTION")
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is not None:
            self.wh.execute("ROLLBACK")
            return
        if self.pending:
            self._write()
        self.wh.execute(f"DROP TABLE IF EXISTS {self.table}")  # staged by chunks that held no record
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

    def add(self, relation: str, keep_raw: bool = False, **arrow: pa.Table) -> None:
        """Stage the records of `relation` (SQL over the given Arrow tables, registered meanwhile).

        Raw text is kept for records with problems found in SQL; records that fail the pandera
        checks get theirs from the relation while it is still registered. Staged records are
        written once enough have gathered: DuckDB compresses bigger inserts in parallel.
        """
        # No cleanup on failure: DuckDB refuses every statement in an aborted transaction, so a
        # cleanup would mask the real error, and the rollback in __exit__ drops the table and views.
        for name, table in arrow.items():
            self.wh.con.register(name, table)
        self.batch += 1
        typed = staged_select(relation, self.report.source_format, keep_raw)
        select = f"SELECT *, {self.batch} AS batch FROM ({typed})"
        verb = f"INSERT INTO {self.table}" if self.pending else f"CREATE OR REPLACE TEMP TABLE {self.table} AS"
        self.pending += self.wh.execute(f"{verb} {select}")[0][0]
        failures = self._domain_failures()
        for seq, reason in self._depth_failures().items():
            failures.setdefault(seq, []).append(reason)
        if failures:
            self._mark(failures, relation)
        for name in arrow:
            self.wh.con.unregister(name)
        if self.pending >= WRITE_ROWS:
            self._write()

    def reject(self, rejects: list[Reject]) -> None:
        """Quarantine records refused before parsing (bad bytes, over-long lines)."""
        self._quarantine([(j.line_no, j.locator, j.raw, j.reason) for j in rejects])
        self.report.read += len(rejects)
        self.report.rejected += len(rejects)

    def _domain_failures(self) -> dict[int, list[str]]:
        """The clean staged rows that break the runs contract, mapped to their reasons.

        DuckDB finds them with the contract's rules as SQL (`schemas.run_rules`); only those rows
        go through pandera (`schemas.runs.RunSchema`), which names the reasons. A clean batch never
        imports pandas or pandera.
        """
        cols = ", ".join(DOMAIN_COLUMNS)
        clean = f"FROM {self.table} WHERE batch = {self.batch} AND len(problems) = 0"
        if not self.wh.execute(f"SELECT count(*) {clean} AND NOT coalesce({PASSES}, FALSE)")[0][0]:
            return {}
        import pandera.errors

        from schemas.runs import RunSchema

        df = self.wh.con.sql(f"SELECT seq, {cols} {clean} AND NOT coalesce({PASSES}, FALSE)").df()
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
        """Clean staged rows nested past `MAX_DEPTH` (the run object is level 1), mapped to the reason.

        Staging counts the brackets of each whole record in SQL (`deep`): a record with fewer than
        `MAX_DEPTH` cannot nest that deep, so only the rare others are measured, column by column,
        by an iterative scan (Python's parser would recurse).
        """
        texts = [f"coalesce({c}::VARCHAR, '')" for c in NESTED_COLUMNS]
        suspects = self.wh.execute(
            f"SELECT seq, {', '.join(texts)} FROM {self.table} "
            f"WHERE batch = {self.batch} AND len(problems) = 0 AND deep"
        )
        depths = {seq: 1 + max(json_depth(t) for t in values) for seq, *values in suspects}
        return {seq: too_deep(depth) for seq, depth in depths.items() if depth > MAX_DEPTH}

    def _mark(self, failures: dict[int, list[str]], relation: str) -> None:
        """Record pandera's reasons on the staged rows, with their raw text."""
        marks = pa.table({"seq": list(failures), "extra": list(failures.values())})
        self.wh.con.register("failures", marks)
        self.wh.execute(
            f"""UPDATE {self.table} s SET problems = f.extra, raw = src.raw
            FROM failures f, (SELECT seq, raw FROM ({relation})) src
            WHERE s.batch = {self.batch} AND s.seq = f.seq AND src.seq = f.seq"""
        )
        self.wh.con.unregister("failures")

    def _write(self) -> None:
        r = self.report
        counts = self.wh.execute(f"SELECT count(*), count(*) FILTER (len(problems) > 0) FROM {self.table}")[0]
        r.read += counts[0]
        r.rejected += counts[1]
        cols = ", ".join(RUN_COLUMNS)
        r.inserted += self.wh.execute(
            f"""INSERT INTO runs ({cols}, ingested_at)
            SELECT {cols}, now() FROM {self.table}
            WHERE (batch, seq) IN (  -- decide on the narrow keys; the wide rows stream straight into runs
                SELECT (batch, seq) FROM {self.table} s
                WHERE len(problems) = 0 AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = s.run_id)
                QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY batch, seq) = 1)"""
        )[0][0]
        if counts[1]:
            bad = self.wh.execute(f"SELECT line_no, locator, raw, problems FROM {self.table} WHERE len(problems) > 0")
            self._quarantine(
                [
                    (line_no, locator, (raw or "").rstrip("\r\n").encode("utf-8"),
                     "; ".join(_json_error(raw) if p == INVALID_JSON and raw else p for p in problems))
                    for line_no, locator, raw, problems in bad
                ]
            )  # fmt: skip
        self.wh.execute(f"DROP TABLE {self.table}")
        self.pending = 0

    def _quarantine(self, rows: list[tuple]) -> None:
        if rows:
            r = self.report
            self.wh.con.executemany(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [(r.ingest_id, r.source, r.source_format, *row) for row in rows],
            ).fetchall()
