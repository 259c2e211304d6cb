"""The stale-run check's view, scoped to the evaluations loaded since a day, decides as the view over all history.

`int_runs_evaluated` finds the runs that recent evaluations name through `int_trace_runs` and matches
them over those runs' days of spans only (a night's check then costs what two weeks cost, not all
history). Scoping must change which runs it looks at, never what it finds for one: checked on the
session warehouse, and on a small warehouse of hand-made rows holding the cases the demo data has
none of (a run over two traces and two days, two runs in one trace, an evaluation that names a
response id but no trace), through the view's own SQL as dbt built it.
"""

from datetime import date, datetime

import duckdb
import pytest

from orchestration.relabels import (
    EVALUATED_RELATION,
    REBUILT_FROM_VARIABLE,
    REBUILT_UNTIL_VARIABLE,
    SINCE_VARIABLE,
)
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration


def evaluated(
    conn: duckdb.DuckDBPyConnection, since: date | None, rebuilt: tuple[date, date] | None = None
) -> dict[str, tuple]:
    """run_id → (evaluated_at, outcome) of int_runs_evaluated, scoped to `since` and `rebuilt` (None: unset)."""
    values = {SINCE_VARIABLE: since, REBUILT_FROM_VARIABLE: None, REBUILT_UNTIL_VARIABLE: None}
    if rebuilt:
        values.update({REBUILT_FROM_VARIABLE: rebuilt[0], REBUILT_UNTIL_VARIABLE: rebuilt[1]})
    for name, value in values.items():
        conn.execute(f"set variable {name} = date '{value.isoformat()}'" if value else f"reset variable {name}")
    rows = conn.execute(f"select run_id, evaluated_at, outcome from {EVALUATED_RELATION}").fetchall()
    return {run_id: (at, outcome) for run_id, at, outcome in rows}


def test_scoped_rows_are_the_all_history_rows_of_the_runs_recent_evaluations_name(warehouse: Warehouse) -> None:
    with duckdb.connect(str(warehouse.db_path), read_only=True) as conn:
        everything = evaluated(conn, None)
        # every run the build decided by an evaluation is in the all-history view, with what it stored
        stored = {
            run_id: (at, outcome)
            for run_id, at, outcome in conn.execute(
                "select run_id, evaluated_at, outcome from intermediate.int_runs_rolled_up "
                "where outcome_source = 'evaluation'"
            ).fetchall()
        }
        assert stored and all(everything[run_id] == verdict for run_id, verdict in stored.items())

        sizes = []
        for since in (date(2026, 11, 17), date(2026, 11, 20), date(2026, 11, 21)):
            scoped = evaluated(conn, since)
            sizes.append(len(scoped))
            # what it finds for a run is what all history finds
            assert {run_id: everything[run_id] for run_id in scoped} == scoped
            # and no run whose latest decisive evaluation was loaded since then is missing
            recent = {run_id for run_id, (at, _) in everything.items() if at.date() >= since}
            assert recent <= scoped.keys()
    # the scope reads fewer runs the later it starts (the demo evaluates runs on their own day)
    assert sizes[0] > sizes[1] > sizes[2] > 0


@pytest.fixture
def hand_warehouse(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse of hand-made rows under the view dbt built (the columns the view reads)."""
    with duckdb.connect(str(warehouse.db_path), read_only=True) as built:
        (view_sql,) = built.execute(
            "select sql from duckdb_views() where schema_name = 'intermediate' and view_name = 'int_runs_evaluated'"
        ).fetchone()
    conn = duckdb.connect()
    conn.execute("attach ':memory:' as warehouse; use warehouse")
    conn.execute(
        """
        create schema staging;
        create schema intermediate;
        create table staging.stg_otel__spans (
            trace_id varchar, span_id varchar, run_id varchar, response_id varchar, is_llm_call boolean,
            started_at timestamp
        );
        create table staging.stg_otel__eval_events (
            trace_id varchar, span_id varchar, response_id varchar, evaluation_name varchar, score_label varchar,
            score_value double, evaluated_at timestamp, _partition_date date, error_type varchar
        );
        create table intermediate.int_runs_rolled_up (run_id varchar, started_at timestamp);
        """
    )
    spans = [
        # r_two_traces ran over t1 (11-10) and t2 (11-11)
        ("t1", "s1", "r_two_traces", "resp-1", True, "2026-11-10 23:50"),
        ("t2", "s2", "r_two_traces", "resp-2", True, "2026-11-11 00:10"),
        # t3 holds two runs
        ("t3", "s3a", "r_shared_a", "resp-3a", True, "2026-11-05 09:00"),
        ("t3", "s3b", "r_shared_b", "resp-3b", True, "2026-11-05 09:05"),
        # r_by_response's call, long before the evaluation that names only its response id
        ("t4", "s4", "r_by_response", "resp-4", True, "2026-10-01 12:00"),
        # r_old: evaluated on its own day only
        ("t5", "s5", "r_old", "resp-5", True, "2026-11-02 12:00"),
        # r_split ran over t6 and t7 on 11-20; r_neighbour is in t7 too, on 11-21 only
        ("t6", "s6", "r_split", "resp-6", True, "2026-11-20 10:00"),
        ("t7", "s7a", "r_split", "resp-7a", True, "2026-11-20 23:50"),
        ("t7", "s7b", "r_neighbour", "resp-7b", True, "2026-11-21 00:10"),
    ]
    conn.executemany("insert into staging.stg_otel__spans values (?, ?, ?, ?, ?, ?::timestamp)", spans)
    conn.execute(
        """
        insert into intermediate.int_runs_rolled_up
        select run_id, min(started_at) from staging.stg_otel__spans group by run_id
        """
    )
    conn.execute(
        """
        create table intermediate.int_trace_runs as
        select trace_id, run_id, cast(started_at as date) as started_date, count(*) as spans
        from staging.stg_otel__spans group by all
        """
    )
    evaluations = [
        # t1's pass on 11-12, then a recent evaluation of t2 with no verdict (no label, no score)
        ("t1", "s1", None, "task_completion", "pass", None, "2026-11-12 08:00"),
        ("t2", "s2", None, "task_completion", None, None, "2026-11-19 08:00"),
        # a recent fail of r_shared_b's span: not of r_shared_a, which shares its trace
        ("t3", "s3b", None, "task_completion", "fail", None, "2026-11-19 09:00"),
        # a recent fail that names r_by_response's response id and no trace
        (None, None, "resp-4", "task_completion", "fail", None, "2026-11-18 10:00"),
        # r_old's pass, and an evaluation made before its run's day less one, which never counts
        ("t5", "s5", None, "task_completion", "pass", None, "2026-11-02 18:00"),
        ("t5", "s5", None, "task_completion", "fail", None, "2026-10-20 18:00"),
        # r_neighbour's pass; then an outcome evaluation of t6 with no verdict, and a fail of t6 by
        # an evaluation that is not an outcome evaluation
        ("t7", "s7b", None, "task_completion", "pass", None, "2026-11-21 09:00"),
        ("t6", "s6", None, "task_completion", None, None, "2026-11-27 08:00"),
        ("t6", "s6", None, "relevance", "fail", None, "2026-11-28 08:00"),
    ]
    conn.executemany(
        "insert into staging.stg_otel__eval_events "
        "values (?, ?, ?, ?, ?, ?, ?::timestamp, cast(?::timestamp as date), null)",
        [(*row, row[-1]) for row in evaluations],
    )
    conn.execute(view_sql)
    yield conn
    conn.close()


def test_hand_made_runs_are_decided_alike_scoped_and_over_all_history(hand_warehouse) -> None:
    conn = hand_warehouse
    t = datetime.fromisoformat
    expected_recent = {
        # named by t2's recent evaluation, decided by t1's older pass: every trace of a named run counts
        "r_two_traces": (t("2026-11-12 08:00"), "success"),
        "r_shared_b": (t("2026-11-19 09:00"), "failure"),
        "r_by_response": (t("2026-11-18 10:00"), "failure"),
    }
    # since 11-15: the runs the evaluations of 11-15 on name, nothing else
    assert evaluated(conn, date(2026, 11, 15)) == expected_recent | {"r_neighbour": (t("2026-11-21 09:00"), "success")}
    # over all history, r_old too (its pass of 11-02; the fail of 10-20 is before its day less one)
    assert evaluated(conn, None) == expected_recent | {
        "r_neighbour": (t("2026-11-21 09:00"), "success"),
        "r_old": (t("2026-11-02 18:00"), "success"),
    }
    # since 11-25, t6's evaluation names r_split: r_neighbour's pass of t7 (11-21, a day r_split has
    # no span on) is still r_neighbour's, and r_split, with no decisive evaluation, is not there
    assert evaluated(conn, date(2026, 11, 25)) == {}
    # since 11-19: the evaluations of 11-19 on name r_two_traces, r_shared_b and t7's runs, not r_by_response
    assert evaluated(conn, date(2026, 11, 19)).keys() == {"r_two_traces", "r_shared_b", "r_neighbour"}
    # a build that rebuilt the runs of 11-10..11-21 leaves them out; the others are compared
    before_rebuilt = evaluated(conn, date(2026, 11, 15), rebuilt=(date(2026, 11, 10), date(2026, 11, 22)))
    assert before_rebuilt == {run: expected_recent[run] for run in ("r_shared_b", "r_by_response")}
    # and those after it: r_neighbour (11-21) is compared when the build stopped at 11-20
    assert evaluated(conn, date(2026, 11, 15), rebuilt=(date(2026, 11, 10), date(2026, 11, 21))).keys() == {
        "r_shared_b", "r_by_response", "r_neighbour"
    }
