"""Attacks on queue SQL: make a queue's expressions read files, settings, other tables or the clock.

Two walls, each tested on its own:
- the check (reviewdesk.stores.sqlcheck): `reviewdesk queues validate` refuses every expression
  below with exit 2 and a message naming what is not allowed; most passed the token check of
  a3211fa (one stratify_by read a secret file into the stratum labels of a batch);
- the sandbox: sampling evaluates queue SQL only in a DuckDB that cannot reach files (tested
  directly, as if the check were skipped), and sampling re-checks a queue built without its file.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

from reviewdesk.cli import app
from reviewdesk.errors import ConfigError
from reviewdesk.sample.designs import draw_batch
from reviewdesk.stores.warehouse import Warehouse
from schemas.queue import QueueConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "queues" / "support-quality.yaml").read_text())
SECRET = "TOPSECRET-7f3a"
runner = CliRunner()

# (id, field, expression; {secret} is a file holding SECRET, {parquet} a Parquet file, {out} a path, message)
CASES = [  # the check of a3211fa let all these through
    ("exists-from-read_text", "filter", "EXISTS (FROM read_text('{secret}'))", "contains EXISTS, a subquery"),
    ("from-query", "stratify_by", "(FROM query('SELECT 1'))", "contains FROM, a subquery"),
    ("query-read_csv", "stratify_by", "(FROM query('FROM read_csv(''{secret}'')'))", "contains FROM, a subquery"),
    ("glob", "filter", "EXISTS (FROM glob('/etc/*'))", "contains EXISTS, a subquery"),
    ("table-runs", "filter", "EXISTS (TABLE runs)", "contains EXISTS, a subquery"),
    ("values", "stratify_by", "(VALUES ('x'))", "contains VALUES, a subquery"),
    ("read_csv-into-strata", "stratify_by", "(FROM read_csv('{secret}', header = false))", "contains FROM, a subquery"),
    ("read_json_objects-gold", "gold_source", "(FROM read_json_objects('{secret}'))", "contains FROM, a subquery"),
    ("read_blob", "filter", "EXISTS (FROM read_blob('{secret}'))", "contains EXISTS, a subquery"),
    ("sniff_csv", "filter", "EXISTS (FROM sniff_csv('{secret}'))", "contains EXISTS, a subquery"),
    ("parquet_scan", "filter", "EXISTS (FROM parquet_scan('{parquet}'))", "contains EXISTS, a subquery"),
    ("duckdb_settings", "filter", "EXISTS (FROM duckdb_settings() WHERE name = 'home_directory')", "contains EXISTS"),
    ("json_execute_serialized_sql", "stratify_by",
     "(FROM json_execute_serialized_sql(json_serialize_sql('SELECT content FROM read_text(''{secret}'')')))",
     "contains FROM, a subquery"),
    ("subquery-in-list-comprehension", "stratify_by", "[x for x in [(FROM read_csv('{secret}'))]]", "a subquery"),
    ("subquery-in-lambda-list", "stratify_by", "list_transform([(FROM read_csv('{secret}'))], lambda x: x)",
     "a subquery"),
    ("subquery-in-struct", "stratify_by", "{{'a': (FROM read_csv('{secret}'))}}", "a subquery"),
    ("subquery-in-map", "stratify_by", "MAP {{'k': (FROM read_csv('{secret}'))}}", "a subquery"),
    ("current_setting", "stratify_by", "current_setting('temp_directory')", "calls current_setting()"),
    ("getvariable", "stratify_by", "getvariable('x')", "calls getvariable()"),
    ("json_serialize_plan", "filter", "json_serialize_plan('FROM runs') IS NOT NULL", "calls json_serialize_plan()"),
    ("version", "stratify_by", "version()", "calls version()"),
    ("current_query", "stratify_by", "current_query()", "calls current_query()"),
    ("write_log", "filter", "write_log('x') IS NULL", "calls write_log()"),
    ("sleep", "filter", "sleep_ms(60000) IS NULL", "calls sleep_ms()"),
    ("error", "stratify_by", "error('boom')", "calls error()"),
    ("clock-function", "filter", "now() > TIMESTAMPTZ '2020-01-01'", "calls now(): sampling must be reproducible"),
    ("clock-keyword", "filter", "current_timestamp > TIMESTAMPTZ '2020-01-01'", "reads the clock"),
    ("uuidv7", "filter", "uuidv7() IS NULL", "calls uuidv7(): sampling must be reproducible"),
    ("aggregate", "filter", "count(*) > 0", "an aggregate"),
    ("window", "filter", "row_number() OVER () % 2 = 0", "uses a window"),
    ("rowid", "filter", "rowid % 2 = 0", 'Referenced column "rowid" not found'),
    ("whole-row", "filter", "runs IS NOT NULL", 'Referenced column "runs" not found'),
    ("session-user", "stratify_by", "user", 'Referenced column "user" not found'),
    ("columns-star", "filter", "COLUMNS(*) IS NULL", "uses * or COLUMNS"),
    ("positional", "stratify_by", "#1", "has a parameter"),
    ("cast-to-variant", "filter", "CAST(status AS VARIANT) IS NULL", "casts to VARIANT"),
    ("lone-surrogate", "filter", "status = '\ud800'", "is not valid Unicode text"),
    # a3211fa refused these too (by luck, or DuckDB did): kept refused, now for the right reason
    ("semicolon-copy", "filter", "true; COPY (FROM runs) TO '{out}'", "contains ';'"),
    ("query-copy", "stratify_by", "(FROM query('COPY (FROM runs) TO ''{out}'''))", "contains FROM, a subquery"),
    ("query-attach", "stratify_by", "(FROM query('ATTACH ''{out}'''))", "contains FROM, a subquery"),
    ("other-table", "filter", "EXISTS (FROM items)", "contains EXISTS, a subquery"),
    ("read_text-in-lambda", "stratify_by", "list_transform([1], lambda x: (FROM read_text('{secret}')))",
     "a subquery"),
    ("line-comment", "filter", "status = 'error' --", "contains a comment"),
    ("quoted-table-function", "stratify_by", "\"read_text\"('{secret}')", "calls read_text(), which reads files"),
    ("dot-call-table-function", "stratify_by", "'{secret}'.read_text()", "calls read_text(), which reads files"),
    ("fullwidth-semicolon", "filter", "status = 'x'\uff1b", "is not an expression DuckDB can parse"),
    ("parameter", "filter", "status = $1", "has a parameter"),
    ("cast-to-any", "filter", "status::\"ANY\" IS NULL", "casts to ANY"),
    ("getenv", "stratify_by", "getenv('HOME')", "calls getenv()"),
]  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    parquet = tmp_path / "some.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'x' AS a) TO '{parquet}'")
    return {"secret": str(secret), "parquet": str(parquet), "out": str(tmp_path / "out")}


def queue_data(field: str, expr: str) -> dict:
    """The example queue with `expr` in `field`."""
    data = json.loads(json.dumps(EXAMPLE)) | {"name": "q", "training": None, "monitoring": None}
    if field == "filter":
        data["sampling"]["filter"] = expr
    elif field == "stratify_by":
        data["sampling"]["stratify_by"] = ["model", expr]
    else:
        data[field] = expr
    return data


@pytest.mark.parametrize(("field", "template", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_queues_validate_refuses_it_with_exit_2(tmp_path: Path, files: dict, field: str, template: str, message: str):
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(queue_data(field, template.format(**files))))
    result = runner.invoke(app, ["queues", "validate", str(path)])
    shown = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 2, shown
    assert message in shown and "Traceback" not in shown
    assert SECRET not in shown


def draw_stratified(path: Path, stratum: str) -> None:
    """A queue built without its file (so never checked), stratified by `stratum`, drawn over two runs."""
    data = queue_data("stratify_by", stratum) | {"gold_fraction": 0, "gold_source": None}
    data["sampling"] |= {"strategy": "stratified", "filter": "TRUE", "size": 2}
    with Warehouse(path) as wh:
        wh.execute("INSERT INTO runs (run_id, model, status, source_format, ingested_at) "
                   "SELECT 'r' || i, 'm', 'success', 'native', now() FROM range(2) t(i)")  # fmt: skip
        draw_batch(wh, QueueConfig.model_validate(data), seed=1)


def test_the_secret_never_reaches_the_strata_even_for_a_queue_built_without_its_file(tmp_path: Path, files: dict):
    """The issue's case: stratify_by read a file into the stratum labels stored with the batch."""
    with pytest.raises(ConfigError, match=r"sampling\.stratify_by: .*contains FROM, a subquery"):
        draw_stratified(tmp_path / "w.duckdb", "(FROM read_csv('{secret}', header = false))".format(**files))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert wh.execute("SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM items)") == [(0, 0)]


SANDBOX_REFUSES = [
    "SELECT content FROM read_text('{secret}')",
    "SELECT content FROM read_blob('{secret}')",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM read_json_objects('{secret}')",
    "SELECT * FROM sniff_csv('{secret}')",
    "SELECT * FROM parquet_scan('{parquet}')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM query('SELECT content FROM read_text(''{secret}'')')",
    "COPY (SELECT 1) TO '{out}'",
    "ATTACH '{out}' AS other",
    "INSTALL sqlite",
    "SELECT * FROM duckdb_secrets()",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "SET memory_limit = '100GB'",
]


@pytest.mark.parametrize("statement", SANDBOX_REFUSES)
def test_the_sandbox_connection_refuses_files_settings_and_extensions(files: dict, statement: str):
    from reviewdesk.stores.sandbox import sandbox

    box = sandbox()
    with pytest.raises((duckdb.PermissionException, duckdb.InvalidInputException)):
        box.execute(statement.format(**files)).fetchall()
    assert box.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False


@pytest.mark.parametrize("where", ["value", "keep"])
def test_sampling_evaluation_reads_no_file_even_if_the_check_were_skipped(files: dict, where: str):
    """`in_sandbox` is what sampling runs queue SQL in; it is given expressions no check has seen."""
    from reviewdesk.sample.evaluation import in_sandbox

    leak = "(SELECT content FROM read_text('{secret}')) IS NOT NULL".format(**files)
    distinct = pa.table({"status": ["success", "error"]})
    keep, values = (leak, {}) if where == "keep" else ("TRUE", {"x": leak})
    with pytest.raises(duckdb.PermissionException):
        in_sandbox(distinct, ["status"], keep, values)
    with pytest.raises(duckdb.CatalogException):  # nor does it see the warehouse's other tables
        in_sandbox(distinct, ["status"], "TRUE", {"x": "(SELECT count(*) FROM items)"})


def test_the_allow_list_names_only_scalar_functions_of_this_duckdb():
    from reviewdesk.stores.sqlcheck import FUNCTIONS

    query = "SELECT function_name, list(DISTINCT function_type) FROM duckdb_functions() GROUP BY ALL"
    kinds = dict(duckdb.connect().execute(query).fetchall())
    assert {name for name in FUNCTIONS if name not in kinds} == set()  # a typo, or gone in a DuckDB upgrade
    assert {name for name in FUNCTIONS if not set(kinds[name]) <= {"scalar", "macro"}} == set()


EVERYDAY = [
    "status = 'error'", "model", "md5(inputs::VARCHAR)", "metadata->>'$.demo_truth.correctness'",
    "json_extract(metadata, '$.demo_truth')", "list_contains(tags, 'billing')", "[t for t in tags if t > 'b']",
    "list_transform(tags, lambda t: upper(t))", "date_trunc('day', start_time)", "strftime(start_time, '%Y-%m %H')",
    "CASE WHEN latency_ms > 1000 THEN 'slow' ELSE 'fast' END", "coalesce(user_feedback, 0) < 0",
    "TRY_CAST(outputs->>'$.score' AS INTEGER)", "{'m': model, 'n': total_tokens}", "status.lower() ILIKE 'ERR%'",
    "runs.project IN ('support', 'billing-bot')", "cost_usd::DECIMAL(10, 4)", "hash(run_id) % 7",
]  # fmt: skip


def test_everyday_expressions_pass_and_the_sandbox_gives_the_values_the_warehouse_would(tmp_path: Path):
    """Evaluating over distinct values in the sandbox equals evaluating run by run, for every column type."""
    from reviewdesk.demo.exports import write_runs
    from reviewdesk.demo.logs import generate_runs
    from reviewdesk.ingest import ingest_file
    from reviewdesk.sample.evaluation import evaluate
    from reviewdesk.stores.sqlcheck import check_expression

    write_runs(generate_runs(400, seed=5), tmp_path / "runs.jsonl")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ingest_file(wh, tmp_path / "runs.jsonl")
        assert all(check_expression(e) for e in EVERYDAY)
        values = {f"e{i}": f"CAST(({e}) AS VARCHAR)" for i, e in enumerate(EVERYDAY)}
        on = evaluate(wh.con, "evaluated", "status <> 'error'", values)
        cols = ", ".join(f"evaluated.{n}" for n in values)
        via_sandbox = wh.execute(f"SELECT run_id, {cols} FROM runs JOIN evaluated ON {on} ORDER BY run_id")
        direct = wh.execute(f"SELECT run_id, {', '.join(values.values())} FROM runs WHERE status <> 'error' ORDER BY 1")
    assert len(direct) > 300 and via_sandbox == direct


@pytest.mark.parametrize("expr", ["NOT " * 500 + "true", "lower(" * 500 + "status" + ")" * 500 + " = 'x'"])
def test_a_deeply_nested_expression_gets_a_message_not_a_recursion_error(tmp_path: Path, expr: str):
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(queue_data("filter", expr)))
    result = runner.invoke(app, ["queues", "validate", str(path)])
    assert result.exit_code == 2 and "nests too deeply" in " ".join(result.output.split())


@pytest.mark.parametrize("expr", ["lpad(model, 2000000000, 'x')", "CAST(model AS INTEGER)"])
def test_queue_sql_that_fails_on_the_runs_is_a_message(tmp_path: Path, expr: str):
    """Memory, conversions: what only fails on data (past the check) fails the draw with a ConfigError."""
    with pytest.raises(ConfigError, match="The queue's SQL failed on the runs"):
        draw_stratified(tmp_path / "w.duckdb", expr)
