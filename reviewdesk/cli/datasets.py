"""The promote command and the datasets commands: list, show, diff and export dataset versions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from reviewdesk import datasets
from reviewdesk.cli.main import (
    JsonOption,
    app,
    handle_errors,
    open_review_store,
    open_warehouse,
    out,
    progress_bar,
    settings,
)  # fmt: skip
from reviewdesk.cli.tables import new_table
from reviewdesk.errors import WarehouseLocked

if TYPE_CHECKING:
    from reviewdesk.datasets.promotion import DatasetResult, PromotionResult

datasets_app = typer.Typer(help="Versioned datasets promoted from reviewed items.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")

VersionOption = Annotated[str | None, typer.Option("--version", help="Version number, e.g. 3 or v3 (default: latest).")]
SHOWN = 10  # example ids listed per change before "--json gives them all"


def _passed_over(d: DatasetResult) -> str:
    """Why items were passed over, commonest first; at most SHOWN reasons (one per broken item can be many)."""
    ranked = sorted(d.skipped.items(), key=lambda kv: -kv[1])
    more = f" (+{len(ranked) - SHOWN:,} more reasons; --json lists all)" if len(ranked) > SHOWN else ""
    return ", ".join(f"{n:,} {why}" for why, n in ranked[:SHOWN]) + more


def _runs_of(e: dict) -> str:
    """An example's runs for the lineage table: a run item's ids; a trace or session by its id, run count
    and step (a session of 500 turns would not fit a cell; `--json` lists every run)."""
    if "unit" not in e:
        return ", ".join(e["run_ids"])
    step = f", step {e['step_run_id']}" if e.get("step_run_id") else ""
    return f"{e['unit']} {e['unit_id']} ({len(e['run_ids']):,} runs{step})"


def print_promotions(results: list[PromotionResult]) -> None:
    """Per queue, a table of what each dataset got and why items were passed over; then where things are."""
    colours = {"created": "green", "blocked": "red", "empty": "yellow"}
    for r in results:
        if not r.datasets:
            continue
        table = new_table("dataset", "kind", "status", "version", "rows", "+added -removed ~changed",
                      title=f"Promotion of {r.queue}")  # fmt: skip
        for d in r.datasets:
            colour = colours.get(d.status, "default")
            table.add_row(
                d.dataset,
                d.kind,
                f"[{colour}]{d.status}[/{colour}]",
                f"v{d.version}" if d.version else "-",
                f"{d.rows:,}",
                f"+{d.added:,} -{d.removed:,} ~{d.changed:,}",
            )
        out.print(table)
        for d in r.datasets:
            if d.reason:
                out.print(f"  [bold]{d.dataset}[/bold] {d.status}: {d.reason}")
            elif d.skipped:
                out.print(f"  {d.dataset}: passed over {_passed_over(d)}")
    for r in results:
        if r.flagged:
            out.print(f"Flagged for product owners ({r.queue}): {r.flagged.issues:,} in {r.flagged.markdown}")
    made = [d for r in results for d in r.datasets if d.status == "created"]
    for d in made:
        out.print(f"New: {d.dataset} v{d.version} in {d.path}")
    if made:
        out.print('Load one with [bold]reviewdesk.datasets.load("NAME")[/bold] or `reviewdesk datasets export`.')


@app.command("promote")
@handle_errors
def promote_cmd(
    ctx: typer.Context,
    queue: Annotated[str | None, typer.Argument(help="Queue to promote (default: every queue with rules).")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Only this dataset of the queue.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Promote a queue's trusted consensus into new dataset versions (only if something changed) and write
    its flagged report. Exit 1 if an agreement gate blocked a dataset."""
    from reviewdesk.datasets.promotion import promote
    from reviewdesk.queues import get_queue, load_queues

    s = settings(ctx)
    if dataset and not queue:
        raise typer.BadParameter("--dataset needs a QUEUE: the queue whose rule names it.")
    queues = [get_queue(queue, s.queues_dir)] if queue else [q for q in load_queues(s.queues_dir) if q.promotion]
    results = []
    with open_warehouse(ctx) as wh, open_review_store(ctx) as store, progress_bar(as_json) as bar:
        task = bar.add_task("Promoting", total=len(queues))
        for q in queues:
            results.append(promote(store, wh, q, s.data_dir, dataset))
            bar.advance(task)
    if as_json:
        print(json.dumps([r.as_dict() for r in results], default=str))
    else:
        if not any(r.datasets for r in results):
            out.print("No promotion rules: add a `promotion:` section to the queue's YAML (see README, Datasets).")
        print_promotions(results)
    if any(d.status == "blocked" for r in results for d in r.datasets):
        raise typer.Exit(1)


@datasets_app.command("list")
@handle_errors
def list_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every dataset with its latest version, rows per split, and source queues."""
    found = datasets.list_datasets(settings(ctx).data_dir)
    if as_json:
        print(json.dumps(found))
        return
    if not found:
        out.print("No datasets yet: `reviewdesk promote QUEUE` writes them from a queue's promotion rules.")
        return
    table = new_table("name", "kind", "latest", "rows (train/test)", "created", "queues",
                  title="Datasets")  # fmt: skip
    for d in found:
        rows = f"{d['rows']:,} ({d['splits']['train']:,}/{d['splits']['test']:,})"
        latest = f"v{d['version']}" + (f" of {d['versions']}" if d["versions"] > 1 else "")
        table.add_row(d["name"], d["kind"], latest, rows, d["created_at"][:10], ", ".join(d["queues"]))
    out.print(table)


def _index_row(ctx: typer.Context, name: str, version: int) -> tuple[dict | None, str | None]:
    """The version's warehouse row, or why it could not be read (the warehouse is busy, say)."""
    from reviewdesk.datasets.versioning import indexed
    from reviewdesk.stores.warehouse import Warehouse

    s = settings(ctx)
    if not s.warehouse_path.exists():
        return None, "no warehouse in this data directory"
    try:
        with Warehouse(s.warehouse_path, memory_limit=s.memory_limit) as wh:
            row = indexed(wh, name).get(version)
    except WarehouseLocked:
        return None, "the warehouse is open in another process, so the index was not checked"
    return row, None if row else "not indexed in warehouse.dataset_versions (the next promotion adopts it)"


@datasets_app.command("show")
@handle_errors
def show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name (see `reviewdesk datasets list`).")],
    version: VersionOption = None,
    lineage: Annotated[bool, typer.Option("--lineage", help="Also list every example's lineage.")] = False,
    as_json: JsonOption = False,
) -> None:
    """A version's manifest (sources, rules, hashes, parent) checked against its files and the warehouse
    index. Exit 1 if a check fails."""
    data_dir = settings(ctx).data_dir
    meta = datasets.manifest(name, version, data_dir)
    row, note = _index_row(ctx, name, meta["version"])
    problems = datasets.verify(name, meta["version"], data_dir, row)
    if as_json:
        shown = meta if lineage else datasets.summary(meta)
        print(
            json.dumps(
                {
                    **shown,
                    "path": str(datasets.path(name, meta["version"], data_dir)),
                    "problems": problems,
                    "index_note": note,
                }
            )
        )
    else:
        _print_manifest(meta, datasets.path(name, meta["version"], data_dir), problems, note, lineage)
    if problems:
        raise typer.Exit(1)


def _print_manifest(meta: dict, folder, problems: list[str], note: str | None, lineage: bool) -> None:
    src = meta["sources"]
    parent = f"v{meta['parent']['version']}" if meta["parent"] else "none"
    out.print(
        f"[bold]{meta['name']} v{meta['version']}[/bold] ({meta['kind']}): {meta['rows']:,} examples, "
        f"{meta['splits']['train']:,} train / {meta['splits']['test']:,} test; created {meta['created_at'][:19]}"
    )
    if meta["description"]:
        out.print(f"  {meta['description']}")
    ch = meta["changes"]
    out.print(f"  parent: {parent} (+{ch['added']:,} added, -{ch['removed']:,} removed, ~{ch['changed']:,} changed)")
    out.print(
        f"  queues: {', '.join(src['queues'])}; batches: {len(src['batch_ids'])}; "
        f"rubric versions: {', '.join(src['rubric_versions'])}"
    )
    out.print(f"  models: {', '.join(src['models'])}; prompt versions: {', '.join(src['prompt_versions']) or '-'}")
    for queue, applied in meta["rules"].items():
        when = (
            " and ".join(f"{w['criterion']} {_test(w)}" for w in applied["rule"].get("when", []))
            or "every trusted label"
        )
        out.print(f"  rule ({queue}): {when}; methods {', '.join(applied['rule']['methods'])}")
        for key, fig in (applied.get("agreement") or {}).items():
            value = "-" if fig["value"] is None else f"{fig['value']:.2f}"
            out.print(f"    gate: {fig['coefficient']} of {key} {value} (min {fig['min']:g})")
    out.print(f"  content hash: {meta['content_hash']}")
    out.print(f"  path: {folder}")
    if problems:
        out.print("[red]Checks failed:[/red] " + "; ".join(problems))
    else:
        out.print("[green]Files match their hashes.[/green]" + (f" ({note})" if note else " The index agrees."))
    if lineage:
        table = new_table("id", "split", "queue", "item", "runs", "reviewers", "methods", keys=("id", "queue", "item"),
                          title="Lineage")  # fmt: skip
        for e in meta["lineage"]:
            table.add_row(
                e["id"],
                e["split"],
                e["queue"],
                e["item_id"],
                _runs_of(e),
                ", ".join(e["reviewers"]),
                ", ".join(f"{k}: {v}" for k, v in e["methods"].items()),
            )
        out.print(table)


def _test(w: dict) -> str:
    if "equals" in w:
        return f"= {w['equals']}"
    if "in" in w:
        return f"in {w['in']}"
    return " and ".join(f"{op} {w[k]}" for k, op in (("min", ">="), ("max", "<=")) if k in w)


@datasets_app.command("diff")
@handle_errors
def diff_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    old: Annotated[str, typer.Argument(help="The earlier version, e.g. 1.")],
    new: Annotated[str, typer.Argument(help="The later version, e.g. 2.")],
    as_json: JsonOption = False,
) -> None:
    """Examples added, removed and changed between two versions (by example id)."""
    d = datasets.diff(name, old, new, settings(ctx).data_dir)
    if as_json:
        print(json.dumps(d.as_dict()))
        return
    out.print(
        f"[bold]{name}[/bold] v{d.old} -> v{d.new}: {len(d.added):,} added, {len(d.removed):,} removed, "
        f"{len(d.changed):,} changed"
    )
    for label, ids in (("added", d.added), ("removed", d.removed), ("changed", d.changed)):
        if ids:
            more = f" (+{len(ids) - SHOWN:,} more; --json lists all)" if len(ids) > SHOWN else ""
            out.print(f"  {label}: {', '.join(ids[:SHOWN])}{more}")


@datasets_app.command("export")
@handle_errors
def export_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet (every column) or jsonl (the format's columns).")],
    out_path: Annotated[str, typer.Option("--out", help="File to write (not inside the datasets folder).")],
    version: VersionOption = None,
    split: Annotated[str | None, typer.Option("--split", help="train or test (default: both).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a version (or one split) to a file outside the datasets folder, checked against its manifest first.
    The file is written whole or not at all."""
    result = datasets.export(name, fmt, out_path, version, split, settings(ctx).data_dir, force)
    if as_json:
        print(json.dumps(result))
    else:
        part = f" ({split})" if split else ""
        out.print(f"Wrote {result['rows']:,} examples{part} of {name} v{result['version']} to {result['path']}.")
