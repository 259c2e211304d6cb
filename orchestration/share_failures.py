"""Raw windows whose quarantine share failed their gate: checked again by every later run until they pass.

A raw gate stops its night, but what the load wrote stays in the raw table (the valid rows of a day
whose export lines were cut in half). The next nights' gates check their own days, while their dbt
builds recompute `lookback_days` before them from the raw tables: two nights later a day that
failed its gate was rebuilt from its partial load and published. So a failed window is recorded
here, and every later run of the same gate checks it again, on its own (a backfill's wider window
would dilute it), and fails while it still loses too much: repair its input and run its days again,
or run them with AGENTLEDGER_MAX_QUARANTINE_SHARE raised to accept the loss, which clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from orchestration.loading import EXTRACTED_AT_SQL

RELATION = "raw.quarantine_share_failures"

DDL = f"""
create table if not exists {RELATION} (
    entity varchar not null,
    first_day date not null,
    last_day date not null,
    share double not null,
    failed_at timestamp not null
)
"""


@dataclass(frozen=True)
class FailedWindow:
    """An earlier run's window of one raw table that failed the quarantine share."""

    first_day: date
    last_day: date

    def predicate(self, date_column: str) -> str:
        """SQL selecting the window's rows."""
        return f"{date_column} between date '{self.first_day}' and date '{self.last_day}'"


def recorded(conn: duckdb.DuckDBPyConnection, entity: str) -> list[FailedWindow]:
    """The failed windows of `entity` no run has cleared, oldest first."""
    conn.execute(DDL)
    rows = conn.execute(
        f"select distinct first_day, last_day from {RELATION} where entity = ? order by 1, 2", [entity]
    ).fetchall()
    return [FailedWindow(first, last) for first, last in rows]


def record(conn: duckdb.DuckDBPyConnection, entity: str, window: FailedWindow, share: float) -> None:
    """Remember a window that failed, once."""
    conn.execute(DDL)
    conn.execute(
        f"delete from {RELATION} where entity = ? and first_day = ? and last_day = ?",
        [entity, window.first_day, window.last_day],
    )
    conn.execute(
        f"insert into {RELATION} values (?, ?, ?, ?, {EXTRACTED_AT_SQL})",
        [entity, window.first_day, window.last_day, share],
    )


def clear(conn: duckdb.DuckDBPyConnection, entity: str, window: FailedWindow) -> None:
    """Forget a window that passes now."""
    conn.execute(
        f"delete from {RELATION} where entity = ? and first_day = ? and last_day = ?",
        [entity, window.first_day, window.last_day],
    )


def where_lost(conn: duckdb.DuckDBPyConnection, entity: str, where: str, limit: int = 3) -> str:
    """The day and file that lost most in a window, for the failure message: where to start repairing."""
    rows = conn.execute(
        "select _partition_date, _source_file, count(*) filter (where record_key = 'line'), "
        "count(*) filter (where record_key is distinct from 'line') "
        f"from raw.quarantine where entity = ? and {where} group by 1, 2 order by 3 desc, 4 desc, 1, 2 limit {limit}",
        [entity],
    ).fetchall()
    parts = [
        f"{day} {source_file or '(no file)'} ({lines:,} line(s), {quarantined:,} row(s))"
        for day, source_file, lines, quarantined in rows
    ]
    return "most lost in: " + "; ".join(parts) if parts else ""
