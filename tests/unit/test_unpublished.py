"""The record of builds no publish has shown: kept until cleared, spanning every build, read where none exists."""

from datetime import date

import duckdb

from orchestration.unpublished import clear_builds, covering, record_build, refreshed_from, unpublished_window


def test_builds_are_remembered_as_one_span_until_a_publish_clears_them() -> None:
    conn = duckdb.connect()
    # a warehouse no build has touched (the publish tests' hand-made marts) has nothing unpublished
    assert unpublished_window(conn) is None
    clear_builds(conn)

    # a recompute of 11-03..11-05 that never published, then the night of 11-21
    record_build(conn, date(2026, 11, 3), date(2026, 11, 5), "recompute")
    record_build(conn, date(2026, 11, 21), date(2026, 11, 21), "night")
    unpublished = unpublished_window(conn)

    assert unpublished == (date(2026, 11, 3), date(2026, 11, 21))
    assert covering((date(2026, 11, 21), date(2026, 11, 21)), unpublished) == unpublished
    assert covering((date(2026, 11, 1), date(2026, 11, 2)), None) == (date(2026, 11, 1), date(2026, 11, 2))
    windowed = {"fct_llm_calls": ("started_date", 3), "fct_workflow_runs": ("run_date", 7)}
    assert refreshed_from(unpublished, windowed) == {
        "fct_llm_calls": date(2026, 10, 31), "fct_workflow_runs": date(2026, 10, 27)
    }
    assert refreshed_from(None, windowed) == {}

    clear_builds(conn)
    assert unpublished_window(conn) is None
