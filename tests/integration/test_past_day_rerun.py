"""Re-running a past day brings the later days' anomaly findings up to date too.

The session warehouse holds 2026-11-18..21. One agent's trace export of 11-19 is withdrawn and
11-19 is run again by hand (`agentledger run --date 2026-11-19`). The findings of 11-20 and 11-21
judge trailing windows that hold 11-19, so they must be evaluated again without those calls: a
later nightly of 11-21 must then find nothing left to change.
"""

from dataclasses import dataclass
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


@dataclass
class RerunHome:
    """A copy of the session home, whose 11-19 was run again without one export, then 11-21."""

    db_path: Path
    before: dict[str, set[tuple]]
    after_rerun: dict[str, set[tuple]]
    after_nightly: dict[str, set[tuple]]


@pytest.fixture(scope="module")
def rerun_home(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> RerunHome:
    """pr_backlink_outreach's export of 11-19 withdrawn (say, a test run exported by mistake),
    11-19 run again by hand, then the latest day's nightly."""
    home = home_copy(warehouse, tmp_path_factory.mktemp("rerun") / "home")
    db_path = home / "warehouse.duckdb"
    before = later_findings(db_path)
    (home / "traces" / "2026" / "11" / f"{RERUN_DAY:%d}" / "outreach-agent.jsonl").unlink()
    rerun = run_job(home, RERUN_DAY, RERUN_DAY)
    assert rerun.success, rerun.failures
    after_rerun = later_findings(db_path)
    nightly = run_job(home, LAST_DAY, LAST_DAY)
    assert nightly.success, nightly.failures
    return RerunHome(db_path, before, after_rerun, later_findings(db_path))


def test_a_past_day_run_again_re_evaluates_the_later_days_findings(rerun_home: RerunHome) -> None:
    # given pr_backlink_outreach's findings of 11-20 and 11-21 (its uncached repeated prompt, judged
    # over the 7 days to each), before its export of 11-19 was withdrawn
    before = rerun_home.before["intermediate.int_anomalies__cache_unused"]
    assert {(finding[2], finding[5]) for finding in before} >= {
        ("pr_backlink_outreach", date(2026, 11, 20)), ("pr_backlink_outreach", LAST_DAY)
    }

    # when 11-19 is run again, then the latest day
    # then the re-run already judged the later days without 11-19's calls, leaving the nightly nothing to change
    assert rerun_home.after_rerun["intermediate.int_anomalies__cache_unused"] != before
    assert rerun_home.after_nightly == rerun_home.after_rerun


def test_baseline_engagements_keep_their_ids_when_the_home_moves(warehouse: Warehouse, rerun_home: RerunHome) -> None:
    # given the session's baseline engagements, read from its home's baselines.csv, and the copy's,
    # read from the same file through another path
    def engagements(db_path: Path) -> set[tuple]:
        with duckdb.connect(str(db_path), read_only=True) as conn:
            return set(conn.execute(
                "select engagement_id, attribution_model, account_id, workflow, engagement_date, cost_usd, revenue_usd "
                "from intermediate.int_baselines_attributed"
            ).fetchall())

    session = engagements(warehouse.db_path)
    assert len(session) > 10

    # then the ids and what is attributed to them are the same
    assert engagements(rerun_home.db_path) == session
