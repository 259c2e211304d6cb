"""Re-running a past day brings the later days' anomaly findings up to date too.

The session warehouse holds 2026-11-18..21. One agent's trace export of 11-19 is withdrawn and
11-19 is run again by hand (`agentledger run --date 2026-11-19`). The findings of 11-20 and 11-21
judge trailing windows that hold 11-19, so they must be evaluated again without those calls: a
later nightly of 11-21 must then find nothing left to change.
"""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import LAST_DAY, Warehouse, home_copy, run_job

pytestmark = pytest.mark.integration

RERUN_DAY = date(2026, 11, 19)


def later_findings(db_path: Path) -> dict[str, set[tuple]]:
    """Every anomaly table's findings detected after the re-run day."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        tables = [
            f"{schema}.{name}"
            for schema, name in conn.execute(
                "select table_schema, table_name from information_schema.tables "
                "where starts_with(table_name, 'int_anomalies__') or table_name = 'mart_cost_anomalies' "
                "order by 2"
            ).fetchall()
        ]
        assert len(tables) >= 10
        return {
            table: set(conn.execute(f"select * from {table} where detected_on > ?", [RERUN_DAY]).fetchall())
            for table in tables
        }


def test_a_past_day_run_again_re_evaluates_the_later_days_findings(warehouse: Warehouse, tmp_path: Path) -> None:
    # given pr_backlink_outreach's findings of 11-20 and 11-21 (its uncached repeated prompt, judged
    # over the 7 days to each), and its export of 11-19 withdrawn (say, a test run exported by mistake)
    home = home_copy(warehouse, tmp_path / "home")
    db_path = home / "warehouse.duckdb"
    before = later_findings(db_path)
    assert {
        (finding[2], finding[5]) for finding in before["intermediate.int_anomalies__cache_unused"]
    } >= {("pr_backlink_outreach", date(2026, 11, 20)), ("pr_backlink_outreach", LAST_DAY)}
    (home / "traces" / "2026" / "11" / f"{RERUN_DAY:%d}" / "outreach-agent.jsonl").unlink()

    # when 11-19 is run again, then the latest day
    rerun = run_job(home, RERUN_DAY, RERUN_DAY)
    assert rerun.success, rerun.failures
    after_rerun = later_findings(db_path)
    nightly = run_job(home, LAST_DAY, LAST_DAY)
    assert nightly.success, nightly.failures

    # then the re-run already judged the later days without 11-19's calls, leaving the nightly nothing to change
    assert after_rerun["intermediate.int_anomalies__cache_unused"] != before["intermediate.int_anomalies__cache_unused"]
    assert later_findings(db_path) == after_rerun
