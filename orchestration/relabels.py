"""Days whose runs a late label correction has made stale, and so must be recomputed.

A night's dbt build recomputes the runs of its window plus `lookback_days` (3): labels arrive up
to 48 h late. A reviewer's correction can land later than that (a second label days after the
first), and a run older than the lookback is not rebuilt by the night that loads it: its outcome,
its day's cost per successful task and everything downstream would keep the first verdict, and a
nightly warehouse would disagree with a backfill of the same files.

This finds those runs after a night's build, from what the night loaded: a label newer than the
one that decided the run's outcome. Their days are recomputed by a follow-up run of the dbt models
and what depends on them (`recompute` job), which the CLI starts at once and the
`relabeled_runs_sensor` requests when the nightly schedule runs under the Dagster daemon. Once a
day is recomputed its runs use their newest label, so asking again finds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from orchestration.marts import DBT_LOOKBACK_DAYS

RUNS_RELATION = "intermediate.int_runs_rolled_up"
LABELS_RELATION = "raw.labels_reviews"


def _relation_exists(conn: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def stale_run_days(
    conn: duckdb.DuckDBPyConnection, first: date, last: date, label_lookback_days: int
) -> list[tuple[date, int]]:
    """(day, runs) of the runs outside the build's window whose newest label they do not use yet.

    Args:
        conn: The warehouse, after the night's dbt build.
        first: First partition day of the night's run.
        last: Last partition day of the night's run.
        label_lookback_days: How many days before `first` the night re-read label files
            (AGENTLEDGER_LABEL_LOOKBACK_DAYS): the labels it loaded.

    Reads only the labels the night loaded and the runs they name, not all history.
    """
    if not (_relation_exists(conn, RUNS_RELATION) and _relation_exists(conn, LABELS_RELATION)):
        return []
    rebuilt_from = first - timedelta(days=DBT_LOOKBACK_DAYS)
    rows = conn.execute(
        f"""
        with loaded as (
            select run_id, max(labeled_at) as labeled_at
            from {LABELS_RELATION}
            where _partition_date between ? and ?
            group by run_id
        )

        select runs.run_date, count(*) as runs
        from {RUNS_RELATION} as runs
        inner join loaded on runs.run_id = loaded.run_id
        where runs.run_date < ?
            and (runs.labeled_at is null or runs.labeled_at < loaded.labeled_at)
        group by runs.run_date
        order by runs.run_date
        """,
        [first - timedelta(days=label_lookback_days), last, rebuilt_from],
    ).fetchall()
    return [(day, count) for day, count in rows]
