"""Raw windows whose quarantine share failed their gate: checked again by every later run until they pass.

A raw gate stops its night, but what the load wrote stays in the raw table (the valid rows of a day
whose export lines were cut in half). The next nights' gates check their own days, while their dbt
builds recompute `lookback_days` before them from the raw tables: two nights later a day that
failed its gate was rebuilt from its partial load and published. So a failed window is recorded
here, and every later run of the same gate checks it again, on its own (a backfill's wider window
would dilute it), and fails while it still loses too much: repair its input and run its days again,
or run them with AGENTLEDGER_MAX_QUARANTINE_SHARE raised to accept the loss.

A window is cleared when it passes at the limit it failed at or a lower one (it was repaired), or
at a raised limit by a run whose own window covers it (the operator accepted those days, and no
other day). Accepted days are remembered (`ACCEPTED`): later runs leave their quarantine out of
the share of the days they only look back at, so the night after an accepted day does not fail on
it again; a run of an accepted day itself judges it anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from orchestration.loading import EXTRACTED_AT_SQL

# Not a loss: the quarantine rows of a record's later copies, whose first copy loaded
# (`otel.parse.mark_duplicate_spans`).
NOT_A_SECOND_COPY = "reason not like 'duplicate export of span %'"

RELATION = "raw.quarantine_share_failures"
ACCEPTED = "raw.quarantine_share_accepted"

DDL = f"""
create table if not exists {RELATION} (
    entity varchar not null,
    first_day date not null,
    last_day date not null,
    share double not null,
    failed_at timestamp not null
);
alter table {RELATION} add column if not exists share_limit double;
create table if not exists {ACCEPTED} (
    entity varchar not null,
    day date not null,
    accepted_at timestamp not null
)
"""


@dataclass(frozen=True)
class FailedWindow:
    """A window of days of one raw table (the days a run checked, its lookback included)."""

    first_day: date
    last_day: date

    def predicate(self, date_column: str) -> str:
        """SQL selecting the window's rows."""
        return f"{date_column} between date '{self.first_day}' and date '{self.last_day}'"

    def covers(self, other: FailedWindow) -> bool:
        """Every day of `other` is a day of this window."""
        return self.first_day <= other.first_day and other.last_day <= self.last_day


@dataclass(frozen=True)
class Recorded:
    """A window that failed on an earlier run, and the limit it failed at."""

    window: FailedWindow
    limit: float


def ensure(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the two tables (and the failures' `share_limit`, added after them) where missing."""
    conn.execute(DDL)


def recorded(conn: duckdb.DuckDBPyConnection, entity: str) -> list[Recorded]:
    """The failed windows of `entity` no run has cleared, oldest first."""
    rows = conn.execute(
        f"select first_day, last_day, min(coalesce(share_limit, 0)) from {RELATION} where entity = ? "
        "group by 1, 2 order by 1, 2",
        [entity],
    ).fetchall()
    return [Recorded(FailedWindow(first, last), limit) for first, last, limit in rows]


def record(conn: duckdb.DuckDBPyConnection, entity: str, window: FailedWindow, share: float, limit: float) -> None:
    """Remember a window that failed, once, with the limit it failed at."""
    clear(conn, entity, window)
    conn.execute(
        f"insert into {RELATION} (entity, first_day, last_day, share, failed_at, share_limit) "
        f"values (?, ?, ?, ?, {EXTRACTED_AT_SQL}, ?)",
        [entity, window.first_day, window.last_day, share, limit],
    )


def clear(conn: duckdb.DuckDBPyConnection, entity: str, window: FailedWindow) -> None:
    """Forget a window that passes now."""
    conn.execute(
        f"delete from {RELATION} where entity = ? and first_day = ? and last_day = ?",
        [entity, window.first_day, window.last_day],
    )


def accept(conn: duckdb.DuckDBPyConnection, entity: str, window: FailedWindow) -> None:
    """Remember the days of a window whose loss a run at a raised limit accepted."""
    conn.execute(
        f"delete from {ACCEPTED} where entity = ? and day between ? and ?",
        [entity, window.first_day, window.last_day],
    )
    conn.execute(
        f"insert into {ACCEPTED} select ?, unnest(generate_series(?::date, ?::date, interval 1 day))::date, "
        f"{EXTRACTED_AT_SQL}",
        [entity, window.first_day, window.last_day],
    )


def accepted_days(conn: duckdb.DuckDBPyConnection, entity: str) -> list[date]:
    """The days of `entity` whose loss was accepted."""
    rows = conn.execute(f"select distinct day from {ACCEPTED} where entity = ? order by 1", [entity]).fetchall()
    return [row[0] for row in rows]


def without_days(where: str, date_column: str, days: list[date]) -> str:
    """`where`, leaving out `days` (accepted losses a run only looks back at)."""
    if not days:
        return where
    listed = ", ".join(f"date '{day}'" for day in days)
    return f"({where}) and {date_column} not in ({listed})"


def where_lost(conn: duckdb.DuckDBPyConnection, entity: str, where: str, limit: int = 3) -> str:
    """The day and file that lost most in a window, for the failure message: where to start repairing."""
    rows = conn.execute(
        "select _partition_date, _source_file, count(*) filter (where record_key = 'line'), "
        "count(*) filter (where record_key is distinct from 'line') "
        f"from raw.quarantine where entity = ? and {where} and {NOT_A_SECOND_COPY} "
        f"group by 1, 2 order by 3 desc, 4 desc, 1, 2 limit {limit}",
        [entity],
    ).fetchall()
    parts = [
        f"{day} {source_file or '(no file)'} ({lines:,} line(s), {quarantined:,} row(s))"
        for day, source_file, lines, quarantined in rows
    ]
    return "most lost in: " + "; ".join(parts) if parts else ""
