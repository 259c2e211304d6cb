"""One warehouse per test session, built by the real nightly job (a Dagster run costs ~20-30 s here).

Tests read it through read-only connections; a test that must run the job again works on a copy.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.demo.billing import write_focus_exports
from orchestration.demo.generate import generate_demo
from orchestration.demo.run import serve_demo_apis
from orchestration.runner import RunOutcome, run_partitions
from orchestration.settings import Settings
from tests.integration import hand_calc, hand_reconciliation, hand_routing

FIRST_DAY = date(2026, 11, 18)
LAST_DAY = date(2026, 11, 21)
# 30 days after the session's 11-20 00:00: runs of 11-18 and 11-19 have whole attribution windows
REVENUE_KNOWN_UNTIL = "2026-12-20 00:00:00"


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for a block and restore the whole environment afterwards."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Warehouse:
    """The session's warehouse and the run that built it."""

    home: Path
    db_path: Path
    outcome: RunOutcome

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        """Rows of `sql`, over a read-only connection (as a BI tool would open it)."""
        with duckdb.connect(str(self.db_path), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

    def query_dicts(self, sql: str, params: list | None = None) -> list[dict]:
        """Rows of `sql` as dicts."""
        with duckdb.connect(str(self.db_path), read_only=True) as conn:
            cursor = conn.execute(sql, params or [])
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# what the nightly writes again, and the labels the test adds to; everything else the run only reads
WRITTEN = {"warehouse.duckdb", "marts.duckdb", "marts", "report.html", "dagster", "labels", "traces"}


def home_copy(warehouse: Warehouse, home: Path) -> Path:
    """A home of its own: the session's inputs linked, its warehouse, snapshot and labels copied.

    The labels are read from a new path: the same labels from a moved folder must change no run.
    """
    home.mkdir()
    for entry in warehouse.home.iterdir():
        if entry.name not in WRITTEN:
            (home / entry.name).symlink_to(entry)
    shutil.copytree(warehouse.home / "labels", home / "labels")
    # the traces linked file by file, so that the test can add one without touching the session's
    for source in (warehouse.home / "traces").rglob("*"):
        if source.is_file():
            target = home / "traces" / source.relative_to(warehouse.home / "traces")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
    shutil.copy(warehouse.db_path, home / "warehouse.duckdb")
    if (warehouse.home / "marts.duckdb").exists():
        shutil.copy(warehouse.home / "marts.duckdb", home / "marts.duckdb")
    # the Parquet snapshot too: a run of the copy rewrites it, which must not reach the session's
    if (warehouse.home / "marts").exists():
        shutil.copytree(warehouse.home / "marts", home / "marts")
    return home


def run_job(home: Path, first: date, last: date, db_path: Path | None = None) -> RunOutcome:
    """Run the real nightly job over `first..last` with `home` as AGENTLEDGER_HOME.

    The session's 11-20 holds two planted unreadable trace lines (the demo's truncated export and
    hand_calc's) among ~38 lines of a small day: 5.3% of its spans by the raw gate's count, which
    stops a one-day run of it at the default 5%, as it would real data of that shape. These runs
    allow 10%; test_gates holds the gate itself to its limit. The CRM counts as read on
    REVENUE_KNOWN_UNTIL, not on the day the tests run: the windows of the session's first two days'
    runs have ended then, the last two days' have not, whatever the date.
    """
    values = {
        "AGENTLEDGER_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "AGENTLEDGER_MAX_QUARANTINE_SHARE": "0.1",
        "AGENTLEDGER_REVENUE_KNOWN_UNTIL": REVENUE_KNOWN_UNTIL,
    }
    if db_path is not None:
        values["AGENTLEDGER_DB"] = str(db_path)
    with environment(**values):
        os.environ.pop("AGENTLEDGER_DB", None) if db_path is None else None
        (home / "dagster").mkdir(parents=True, exist_ok=True)
        return run_partitions(Settings.from_env(), first, last)


DEMO_DAYS = 4
DEMO_SCALE = 0.2


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """One run over 2026-11-18..21: a small demo data set (all sources, served by the fake APIs)
    plus the hand-computed trace sets, whose workflows (`hand_calc`, `hand_unpriced`, `hand_routing`)
    and account (`acct_test`) no demo data touches, and the hand-computed reconciliation
    (`hand_reconciliation`: Mistral and Cohere, billed through a FOCUS file)."""
    home = tmp_path_factory.mktemp("agentledger-home")
    generate_demo(home, end_date=LAST_DAY, days=DEMO_DAYS, seed=7, scale=DEMO_SCALE, workers=1)
    write_focus_exports(home)
    hand_calc.write(home)
    hand_routing.write(home)
    hand_reconciliation.write(home)
    with ExitStack() as stack:
        serve_demo_apis(stack, home)
        outcome = run_job(home, FIRST_DAY, LAST_DAY)
    assert outcome.success, "\n".join(outcome.failures)
    return Warehouse(home=home, db_path=home / "warehouse.duckdb", outcome=outcome)
