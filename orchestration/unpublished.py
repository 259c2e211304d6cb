"""Days the dbt step has rebuilt that no publish has shown yet: the next run gates and publishes them too.

The snapshot is updated, not copied whole: a run refreshes its window's days (less each fact's
lookback) and keeps the older rows while their count and money totals still match the warehouse.
A run over past days (the recompute after a late label, `agentledger run --date` of an old day)
whose publish did not happen (a mart gate failed, the snapshot could not be put in place, the
process was killed) leaves the warehouse ahead of the snapshot on days no later night's window
reaches. A flipped verdict changes neither count nor money, and the next night's stale-run check
reads the warehouse, already rewritten, and finds nothing to redo: the snapshot would keep the old
verdict for good.

So the dbt step records its window here before it writes anything, and only a publish that
succeeded clears it. Runs hold the warehouse's run lock (`orchestration.run_lock`), so a publish
clears every record: none can belong to a run still building.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

SCHEMA = "publish"
TABLE = "unpublished_builds"
RELATION = f"{SCHEMA}.{TABLE}"


def _exists(conn: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        conn.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [SCHEMA, TABLE],
        ).fetchone()[0]
    )


def record_build(conn: duckdb.DuckDBPyConnection, first: date, last: date, run_id: str) -> None:
    """Note that `run_id` is about to rebuild the marts of `first..last` (its partition window)."""
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute(
        f"create table if not exists {RELATION} "
        "(run_id varchar not null, first_day date not null, last_day date not null, recorded_at timestamp not null)"
    )
    conn.execute(
        f"insert into {RELATION} values (?, ?, ?, ?)",
        [run_id, first, last, datetime.now(tz=UTC).replace(tzinfo=None)],
    )


def unpublished_window(conn: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """First and last day of every build not yet published (this run's own included); None when none."""
    if not _exists(conn):
        return None
    first, last = conn.execute(f"select min(first_day), max(last_day) from {RELATION}").fetchone()
    return None if first is None else (first, last)


def clear_builds(conn: duckdb.DuckDBPyConnection) -> None:
    """Forget every recorded build: a publish of the whole warehouse's marts just succeeded."""
    if _exists(conn):
        conn.execute(f"delete from {RELATION}")


def covering(window: tuple[date, date], unpublished: tuple[date, date] | None) -> tuple[date, date]:
    """The days of `window` and of the unpublished builds, as one span."""
    if unpublished is None:
        return window
    return min(window[0], unpublished[0]), max(window[1], unpublished[1])


def refreshed_from(
    unpublished: tuple[date, date] | None, windowed: dict[str, tuple[str, int]]
) -> dict[str, date]:
    """For each day-partitioned mart (name → (date column, lookback)), the first day unpublished builds rewrote."""
    if unpublished is None:
        return {}
    return {table: unpublished[0] - timedelta(days=lookback) for table, (_, lookback) in windowed.items()}
