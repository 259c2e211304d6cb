"""Gates block: a failed Pandera gate stops everything downstream and fails the run loudly."""

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.checks import validate_relation
from orchestration.schemas import FctWorkflowRuns
from tests.integration import hand_calc

pytestmark = pytest.mark.integration


def test_a_failed_raw_gate_stops_dbt_and_agentledger_run_exits_nonzero(tmp_path: Path) -> None:
    # given the hand-computed traces (one truncated line among 26 spans) and a zero quarantine tolerance
    hand_calc.write(tmp_path)
    env = {
        **os.environ,
        "AGENTLEDGER_HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "AGENTLEDGER_MAX_QUARANTINE_SHARE": "0",
    }
    env.pop("AGENTLEDGER_DB", None)
    (tmp_path / "dagster").mkdir()

    # when the nightly run for the day is launched from the command line
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("agentledger")), "run", "--date", "2026-11-20"],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )

    # then it fails, names the gate and why, and dbt never ran
    assert completed.returncode == 1, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "nightly run" in completed.stderr and "FAILED" in completed.stderr
    assert "gate raw/otel_spans:otel_spans_schema failed" in completed.stderr
    # the truncated line counts as many spans as a loaded line holds, not as one
    assert re.search(
        r"[0-9,]+ of [0-9,]+ input rows quarantined \(0 rows, and 1 unreadable line\(s\) counted as [0-9.]+ rows each",
        completed.stderr,
    ), completed.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        built = conn.execute(
            "select count(*) from information_schema.tables where table_schema in ('staging', 'marts')"
        ).fetchone()[0]
    assert built == 0


def test_a_gate_names_the_failing_rows(tmp_path: Path) -> None:
    # given a runs table where one row breaks the published contract
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute(
            """
            create table runs as select * from (values
                ('r1', 'seo_audit', date '2026-11-20', 'success', 1.5::decimal(38, 10), 2, 0, 0, 0::decimal(18, 4),
                 true),
                ('r2', 'seo_audit', date '2026-11-20', 'maybe', -1::decimal(38, 10), 2, 1, 0, 0::decimal(18, 4), true)
            ) as t(run_id, workflow, run_date, outcome, cost_usd, llm_calls, unpriced_calls, quarantined_spans,
                   rework_minutes, fully_priced)
            """
        )
        # when
        result = validate_relation(conn, "runs", FctWorkflowRuns)

    # then
    assert (result.rows_checked, result.failing_rows) == (2, 1)
    summary = result.summary()
    assert "outcome: isin" in summary
    assert "cost_usd: greater_than_or_equal_to(0)" in summary
    assert "row check fully_priced_means_no_unpriced_calls failed" in summary
    assert "'run_id': 'r2'" in summary
