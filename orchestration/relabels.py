"""Days whose runs a late label correction or a late evaluation has made stale, and so must be recomputed.

A night's dbt build recomputes the runs of its window plus `lookback_days` (3): labels arrive up
to 48 h late. A reviewer's correction can land later than that (a second label days after the
first, a label file exported again with a row fixed in place), and a run older than the lookback is
not rebuilt by the night that loads it: its outcome, its day's cost per successful task and
everything downstream would keep the first verdict, and a nightly warehouse would disagree with a
backfill of the same files.

After a night's build, a run is stale when what its deciding label says (`label_fingerprint` in
int_runs_rolled_up: the label's fields, not the file it came from, so a moved labels folder changes
nothing) differs from the newest label the warehouse holds for it, chosen the way the model
chooses.

Outcome evaluations can come late too (an evaluator run over last week's traces): a run no label
decides is stale when its latest decisive evaluation, matched by the same SQL the model uses
(int_runs_evaluated, macros/evaluation_outcomes.sql), is not the one it stored (`evaluated_at`,
and the outcome).

A night compares the runs that what was loaded since `recheck_since` could have changed, not
every run: those a label or an outcome evaluation of those partitions names, and those whose
stored deciding label or evaluation is that recent (it may have been withdrawn), less the runs its
own build rebuilt (they were rolled up from every label and evaluation there is). The view finds
the evaluations' runs in int_trace_runs (one row per trace and day) and matches them over the
spans of their traces' days only, so the check costs what those days cost, whatever the history.
On a copy of the 10M-span warehouse, warm: the view 1.2-1.3 s for two weeks of evaluations where
the all-history view took 3.6 s, the whole check 1.9 s and 1.5 GB; after a backfill 3.8 s (the
all-history check there: 28 s and 13.6 GB). The partitions reach back over both loaders' reach (a
label file is read for labels up to twice its lookback before the window) and `MISSED_NIGHTS`
more: a recompute that did not happen (the warehouse locked, a failed run) is found again by the
nights of that week. A correction older than that is not: `agentledger run` over its days, or a
backfill, rebuilds them.

The stale days, through the night's last day, are rebuilt by one run of the dbt models and what
depends on them (`recompute` job): through the last day because trailing-history findings (cost
anomalies over 14–93 days) after a corrected day change with it. The CLI starts it at once; the
`relabeled_runs_sensor` requests it when the nightly schedule runs under the Dagster daemon.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from orchestration.settings import Settings

RUNS_RELATION = "intermediate.int_runs_rolled_up"
LABELS_RELATION = "raw.labels_reviews"
EVALUATED_RELATION = "intermediate.int_runs_evaluated"
# what scopes int_runs_evaluated to the evaluations loaded since a day, and to the runs started
# before the ones the night's build rebuilt (its docstring)
SINCE_VARIABLE = "agentledger_recheck_since"
REBUILT_FROM_VARIABLE = "agentledger_rebuilt_from"
REBUILT_UNTIL_VARIABLE = "agentledger_rebuilt_until"

# The fingerprint int_runs_rolled_up gives its deciding label, over the raw columns it is staged
# from (stg_labels__reviews: `is_escalated` is `coalesce(escalated, false)`).
LABEL_FINGERPRINT_SQL = (
    "hash(run_id, outcome, labeled_at, reviewer, rework_minutes, coalesce(escalated, false), retry_of_run_id)"
)


# nights after the one that loaded a correction that still find its run stale, if its recompute did not run
MISSED_NIGHTS = 7


def recheck_since(first: date, label_lookback_days: int, trace_lookback_days: int) -> date:
    """The first partition day whose labels and evaluations a night over `first..` compares its runs with.

    A night's label load reads files dated from `first - lookback` on, each for labels up to a day
    and its lookback before it; the trace load reads evaluations from `first - lookback` on. Then
    `MISSED_NIGHTS` more.
    """
    reach = max(2 * label_lookback_days + 1, trace_lookback_days)
    return first - timedelta(days=reach + MISSED_NIGHTS)


def night_stale_run_days(
    settings: Settings, first: date, last: date, dbt_lookback_days: int
) -> list[tuple[date, int]]:
    """`stale_run_days` as a night over `first..last` runs it after its build.

    Scoped to what the night's loads could have changed (`recheck_since`), the runs its build
    rebuilt (started from `first` less dbt's lookback through `last`) left out, on a read-only
    connection under the warehouse's memory limit.

    Raises:
        duckdb.Error: The warehouse cannot be read (another process holds it).
    """
    since = recheck_since(first, settings.label_lookback_days, settings.trace_lookback_days)
    rebuilt = (first - timedelta(days=dbt_lookback_days), last + timedelta(days=1))
    config = {"memory_limit": settings.duckdb_memory_limit}
    with duckdb.connect(str(settings.db_path), read_only=True, config=config) as conn:
        return stale_run_days(conn, since, rebuilt)


def _relation_exists(conn: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def _has_column(conn: duckdb.DuckDBPyConnection, relation: str, column: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        conn.execute(
            "select count(*) from information_schema.columns where table_schema = ? and table_name = ? "
            "and column_name = ?",
            [schema, name, column],
        ).fetchone()[0]
    )


def stale_run_days(
    conn: duckdb.DuckDBPyConnection, since: date | None = None, rebuilt: tuple[date, date] | None = None
) -> list[tuple[date, int]]:
    """(day, runs) of the runs a later label or a later outcome evaluation has made stale.

    A run is stale when its newest label is not the one that decided it, or, when no label
    decides it, when its latest decisive evaluation (int_runs_evaluated) is not the one it
    stored. A label stamped more than a day before its run's day is not one an incremental build
    reads with the run in every window: it is left out here as in the model, or the run would be
    found stale every night.

    Args:
        conn: A connection to the warehouse (read-only is enough).
        since: compare only the runs that labels and evaluations of partitions from this day on
            name, and those whose stored deciding label or evaluation is that recent
            (`recheck_since`); None compares every run over all history.
        rebuilt: the first day whose runs the build just run rebuilt (its window's start less
            dbt's lookback) and the day after its last: runs started in between were rolled up
            from every label and evaluation the warehouse holds, so they are not compared. None
            compares them too. After a backfill this leaves nearly nothing to compare; over its
            whole range the check read every staged span (13.6 GB, 28 s on the 10M-span warehouse).
    """
    if not (_relation_exists(conn, RUNS_RELATION) and _relation_exists(conn, LABELS_RELATION)):
        return []
    # a warehouse built before runs stored `evaluated_at` gains it with its next build
    by_evaluation = _relation_exists(conn, EVALUATED_RELATION) and _has_column(conn, RUNS_RELATION, "evaluated_at")
    evaluations = (
        """
        stale_by_evaluation as (
            select runs.run_id, runs.run_date
            from runs
            left join evaluated on runs.run_id = evaluated.run_id
            where runs.outcome_source is distinct from 'label'
                and (
                    runs.evaluated_at is distinct from evaluated.evaluated_at
                    or runs.outcome is distinct from coalesce(evaluated.outcome, 'unlabeled')
                )
        ),
        """
        if by_evaluation
        else "stale_by_evaluation as (select null::varchar as run_id, null::date as run_date where false),"
    )
    if since is None:
        candidates = f"select run_id from {RUNS_RELATION}"
    else:
        day = f"date '{since.isoformat()}'"
        candidates = " union ".join([
            f"select run_id from {LABELS_RELATION} where _partition_date >= {day}",
            f"select run_id from {RUNS_RELATION} where labeled_at >= {day}",
            *(
                ["select run_id from evaluated",
                 f"select run_id from {RUNS_RELATION} where evaluated_at >= {day}"]
                if by_evaluation else []
            ),
        ])
    not_rebuilt = (
        f"where not (run_date >= date '{rebuilt[0].isoformat()}' and run_date < date '{rebuilt[1].isoformat()}')"
        if rebuilt
        else ""
    )
    # int_runs_evaluated reads the variables: all history and every run when they are not set
    values = {SINCE_VARIABLE: since, REBUILT_FROM_VARIABLE: None, REBUILT_UNTIL_VARIABLE: None}
    if rebuilt:
        values.update({REBUILT_FROM_VARIABLE: rebuilt[0], REBUILT_UNTIL_VARIABLE: rebuilt[1]})
    for name, value in values.items():
        conn.execute(f"set variable {name} = date '{value.isoformat()}'" if value else f"reset variable {name}")
    try:
        rows = conn.execute(
            f"""
            with {f"evaluated as materialized (select * from {EVALUATED_RELATION})," if by_evaluation else ""}

            candidates as (
                {candidates}
            ),

            runs as (
                select * from {RUNS_RELATION}
                semi join candidates on {RUNS_RELATION.split(".")[1]}.run_id = candidates.run_id
                {not_rebuilt}
            ),

            labels as (
                select run_id, labeled_at, _source_file, _line_number, {LABEL_FINGERPRINT_SQL} as label_fingerprint
                from {LABELS_RELATION}
                semi join candidates on {LABELS_RELATION.split(".")[1]}.run_id = candidates.run_id
            ),

            newest as (
                select labels.run_id, labels.label_fingerprint
                from labels
                inner join runs on labels.run_id = runs.run_id
                where labels.labeled_at >= runs.run_date - interval 1 day
                qualify row_number() over (
                    partition by labels.run_id
                    order by labels.labeled_at desc, labels._source_file desc, labels._line_number desc
                ) = 1
            ),

            stale_by_label as (
                select runs.run_id, runs.run_date
                from runs
                left join newest on runs.run_id = newest.run_id
                where runs.label_fingerprint is distinct from newest.label_fingerprint
            ),

            {evaluations}

            stale as (
                select * from stale_by_label
                union
                select * from stale_by_evaluation
            )

            select run_date, count(*) as runs
            from stale
            group by run_date
            order by run_date
            """
        ).fetchall()
    finally:
        for name in values:
            conn.execute(f"reset variable {name}")
    return [(day, count) for day, count in rows]
