"""The two stores, and why there are two: DuckDB lets one process hold a file read-write and refuses
every other process, so the review app and the flows cannot share one.

    from reviewdesk.stores import ReviewStore, Warehouse
    with Warehouse(settings.warehouse_path) as wh:           # runs, batches, labels, consensus, models
        wh.scalar("SELECT count(*) FROM runs")
    with ReviewStore(settings.review_url) as store:          # SQLite (WAL) or a PostgreSQL URL
        ...                                                  # users, items, reservations, submissions

Only the flows and the CLI write the warehouse; the review store is the only store the app
touches, and flows reach the app only through it.

Modules: warehouse (DuckDB and its migrations), reviewstore (the engine), review_schema (the review
store's tables), review_migrations (how they are built, in order), sqlite_writes (SQLite's
single-writer gate and WAL sync), values (answers as typed values), sqlcheck (the check on queue SQL
before it runs against `runs`), sandbox (the DuckDB, cut off from files and the network, that queue
SQL runs in), files (the data directory's files: written whole or not at all, and kept inside their
folder), payloads (how deep and large a run's JSON may be, and reading stored JSON that may break
those limits).
"""

from reviewdesk.lazy import front_door

__all__, __getattr__, __dir__ = front_door(
    __name__,
    {
        "reviewstore": ["JSONText", "ReviewStore"],
        "warehouse": ["Warehouse"],
        "values": ["as_number", "as_text", "typed"],
        "payloads": ["MAX_DEPTH", "MAX_RECORD_BYTES"],
    },
)
