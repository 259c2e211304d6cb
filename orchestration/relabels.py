"""Days whose runs a late label correction has made stale, and so must be recomputed.

A night's dbt build recomputes the runs of its window plus `lookback_days` (3): labels arrive up
to 48 h late. A reviewer's correction can land later than that (a second label days after the
first, a label file exported again with a row fixed in place), and a run older than the lookback is
not rebuilt by the night that loads it: its outcome, its day's cost per successful task and
everything downstream would keep the first verdict, and a nightly warehouse would disagree with a
backfill of the same files.

After a night's build, a run is stale when what its deciding label says (`label_fingerprint` in
int_runs_rolled_up: the label's fields, not the file it came from, so a moved labels folder changes
nothing) differs from the newest label the warehouse holds for it, chosen the way the model
chooses. Every run is compared, not only those a label of the night names: a recompute that did not
happen (the warehouse locked, a failed run) is found again the next night instead of being lost.

The stale days, through the night's last day, are rebuilt by one run of the dbt models and what
depends on them (`recompute` job): through the last day because trailing-history findings (cost
anomalies over 14–93 days) after a corrected day change with it. The CLI starts it at once; the
`relabeled_runs_sensor` requests it when the nightly schedule runs under the Dagster daemon.
"""

from __future__ import annotations

from datetime import date

import duckdb

from orchestration.marts import DBT_LOOKBACK_DAYS

RUNS_RELATION = "intermediate.int_runs_rolled_up"
LABELS_RELATION = "raw.labels_reviews"

# The fingerprint int_runs_rolled_up gives its deciding label, over the raw columns it is staged
# from (stg_labels__reviews: `is_escalated` is `coalesce(escalated, false)`).
LABEL_FINGERPRINT_SQL = (
    "hash(run_id, outcome, labeled_at, reviewer, rework_minutes, coalesce(escalated, false), retry_of_run_id)"
)


def _relation_exists(conn: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def stale_run_days(conn: duckdb.DuckDBPyConnection) -> list[tuple[date, int]]:
    """(day, runs) of the runs whose newest label is not the one that decided their outcome.

    A label timestamped more than the lookback and a day before its run is not one an incremental
    build reads with the run (int_runs_rolled_up reads labels from its window's start, less the
    lookback and a day): it is left out here too, or the run would be found stale every night.
    """
    if not (_relation_exists(conn, RUNS_RELATION) and _relation_exists(conn, LABELS_RELATION)):
        return []
    rows = conn.execute(
        f"""
        with labels as (
            select run_id, labeled_at, _source_file, _line_number, {LABEL_FINGERPRINT_SQL} as label_fingerprint
            from {LABELS_RELATION}
        ),

        newest as (
            select labels.run_id, labels.label_fingerprint
            from labels
            inner join {RUNS_RELATION} as runs on labels.run_id = runs.run_id
            where labels.labeled_at >= runs.run_date - interval {DBT_LOOKBACK_DAYS + 1} day
            qualify row_number() over (
                partition by labels.run_id
                order by labels.labeled_at desc, labels._source_file desc, labels._line_number desc
            ) = 1
        )

        select runs.run_date, count(*) as runs
        from {RUNS_RELATION} as runs
        left join newest on runs.run_id = newest.run_id
        where runs.label_fingerprint is distinct from newest.label_fingerprint
        group by runs.run_date
        order by runs.run_date
        """
    ).fetchall()
    return [(day, count) for day, count in rows]
