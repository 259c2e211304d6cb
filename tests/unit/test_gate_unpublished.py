"""A fact's gate checks the days an earlier run rebuilt and did not publish, and says so when they fail."""

from datetime import date

import dagster as dg
import duckdb

from orchestration.checks import PanderaGate
from orchestration.partitions import PARTITION_TAG
from orchestration.schemas import FctWorkflowRuns
from orchestration.unpublished import clear_builds, record_build

COLUMNS = (
    "run_id, workflow, run_date, outcome, cost_usd, llm_calls, unpriced_calls, quarantined_spans, rework_minutes, "
    "fully_priced"
)
GATE = PanderaGate(
    asset_key=dg.AssetKey(["marts", "fct_workflow_runs"]),
    relation="marts.fct_workflow_runs",
    model=FctWorkflowRuns,
    date_column="run_date",
    lookback_days=7,
    covers_unpublished=True,
)


def test_an_unpublished_bad_day_fails_every_night_naming_why_until_it_is_published() -> None:
    # given runs of 12-20 and a bad run of 11-02, a day a run rebuilt whose publish did not happen
    conn = duckdb.connect()
    conn.execute("create schema marts")
    conn.execute(
        f"create table marts.fct_workflow_runs as select * from (values "
        "('r1', 'seo_audit', date '2026-12-20', 'success', 1.5::decimal(38, 10), 2, 0, 0, 0::decimal(18, 4), true), "
        "('r2', 'seo_audit', date '2026-11-02', 'maybe', 1.5::decimal(38, 10), 2, 0, 0, 0::decimal(18, 4), true)"
        f") as t({COLUMNS})"
    )
    record_build(conn, date(2026, 11, 2), date(2026, 11, 2), "an old day's run")
    errors: list[str] = []

    # when the night of 12-20 runs its gate
    result = GATE.evaluate(conn, {PARTITION_TAG: "2026-12-20"}, errors.append)

    # then it checked back to the unpublished day, failed on it, and says why it looked there
    assert not result.passed
    assert result.metadata["window"].value == "run_date between date '2026-10-26' and date '2026-12-20'"
    assert result.metadata["unpublished_builds"].value == "2026-11-02..2026-12-20"
    assert result.description.startswith("checked 2026-11-02..2026-12-20: days an earlier run rebuilt and did not ")
    assert "run those days again" in result.description and "maybe" in result.description

    # and once a publish has shown every build, the night checks its own window only
    clear_builds(conn)
    result = GATE.evaluate(conn, {PARTITION_TAG: "2026-12-20"}, errors.append)
    assert result.passed
    assert result.metadata["window"].value == "run_date between date '2026-12-13' and date '2026-12-20'"
    assert "unpublished_builds" not in result.metadata
