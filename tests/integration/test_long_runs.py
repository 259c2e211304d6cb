"""A run that lasts days: rolled up whole up to `lookback_days`, never two rows of one id beyond.

The session warehouse holds 2026-11-18..21. In a copy, two runs are resumed under their ids in
new traces (an agent waiting on a person, say): `wr_resumed_2d` starts on 11-22 and resumes on
11-24, `wr_resumed_8d` starts on 11-19 and resumes on 11-27. 11-19..24 run as one backfill, then
11-27 as a nightly. Its window (11-24..27 with the lookback) holds the resumed parts but not the
runs' starts: the nightly reads `lookback_days` more (from 11-21), which reaches the first run's
start but not the second's. The second run outlasts what a night can roll up: the night stops
before publishing (its calls then cost more than its run), and says why.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.builders import Call, Run, hex_id, write_traces
from tests.integration.conftest import Warehouse, home_copy, run_job

pytestmark = pytest.mark.integration


@dataclass
class ResumedPart(Run):
    """A later part of a run: its own trace, under the run's id."""

    part: str = "resumed"

    @property
    def trace_id(self) -> str:
        return hex_id(f"trace-{self.run_id}-{self.part}", 32)

    def span_id(self, name: str) -> str:
        return hex_id(f"span-{self.run_id}-{self.part}-{name}", 16)


def call(output: int) -> Call:
    return Call(model="claude-sonnet-4-5", uncached_input=100_000, output=output)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


RUNS = {
    # (first part, resumed part): 2 and 8 days apart
    "wr_resumed_2d": (Run("wr_resumed_2d", "hand_long", at(22, 10), [call(1_000)]),
                      ResumedPart("wr_resumed_2d", "hand_long", at(24, 11), [call(2_000)])),
    "wr_resumed_8d": (Run("wr_resumed_8d", "hand_long", at(19, 10), [call(3_000)]),
                      ResumedPart("wr_resumed_8d", "hand_long", at(27, 11), [call(4_000)])),
}


@dataclass
class LongRuns:
    db_path: Path
    failures: list[str]
    warnings: list[str]


@pytest.fixture(scope="module")
def long_runs(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> LongRuns:
    home = home_copy(warehouse, tmp_path_factory.mktemp("long-runs") / "home")
    for first, resumed in RUNS.values():
        for part in (first, resumed):
            day = part.started_at
            write_traces(home / "traces" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / f"{part.run_id}-{day:%d}.jsonl",
                         [part])
    backfill = run_job(home, date(2026, 11, 19), date(2026, 11, 24))
    assert backfill.success, backfill.failures
    nightly = run_job(home, date(2026, 11, 27), date(2026, 11, 27))
    return LongRuns(home / "warehouse.duckdb", nightly.failures, nightly.warnings)


def runs_and_calls(db_path: Path, run_id: str) -> tuple[list[tuple], list[Decimal]]:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        runs = conn.execute(
            "select run_date, llm_calls, cost_usd from marts.fct_workflow_runs where run_id = ?", [run_id]
        ).fetchall()
        calls = [row[0] for row in conn.execute(
            "select cost_usd from marts.fct_llm_calls where run_id = ? order by started_at", [run_id]
        ).fetchall()]
    return runs, calls


def test_a_run_resumed_within_the_lookback_is_one_run_with_all_its_calls(long_runs: LongRuns) -> None:
    # given wr_resumed_2d's two parts, 11-22 and 11-24, the second rolled up again by the nightly of
    # 11-27 without the first in its window
    runs, calls = runs_and_calls(long_runs.db_path, "wr_resumed_2d")

    # then it is one run, of 11-22, with both calls: 100k in at $3 + 1k / 2k out at $15 per MTok
    assert calls == [Decimal("0.315"), Decimal("0.33")]
    assert runs == [(date(2026, 11, 22), 2, Decimal("0.645"))]


def test_a_run_resumed_after_the_lookback_keeps_one_row_and_stops_the_night_saying_why(long_runs: LongRuns) -> None:
    # given wr_resumed_8d, resumed 8 days after it started: more than the lookback (3 days) and the
    # days read around the nightly's window reach
    runs, calls = runs_and_calls(long_runs.db_path, "wr_resumed_8d")

    # then its calls are both there and its run is one row (its first part's), not two rows of one id
    assert calls == [Decimal("0.345"), Decimal("0.36")]
    assert runs == [(date(2026, 11, 19), 1, Decimal("0.345"))]
    # and the night stops before publishing (the workflow's calls now cost more than its runs) and
    # warns of the run that outlasted the lookback (and of the session's won deal in MXN, which has
    # no USD rate)
    gates = [failure.splitlines()[0] for failure in long_runs.failures if failure.startswith("gate ")]
    assert gates == ["gate marts/mart_model_mix:mart_model_mix_schema failed"]
    assert sorted(long_runs.warnings) == [
        "check intermediate/int_crm_deals:assert_won_deals_convert_to_usd warns: 1 row(s)",
        "check intermediate/int_runs_rolled_up:assert_runs_last_at_most_lookback_days warns: 1 row(s)",
    ]
