"""Days that are not daily partitions stop run, backfill and demo with one line and exit 2, before anything runs."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from orchestration.partitions import check_partition_days, yesterday

FUTURE = "2999-01-01"
BEFORE_START = "is before the first daily partition, AGENTLEDGER_START_DATE=2025-01-01"
NOT_COMPLETE = "is not a complete UTC day yet: the last daily partition is "


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--date", "2024-01-01"], f"2024-01-01 {BEFORE_START}"),
        (["backfill", "--start", "2024-12-30", "--end", "2025-01-02"], f"2024-12-30 {BEFORE_START}"),
        (["run", "--date", FUTURE], f"{FUTURE} {NOT_COMPLETE}"),
        (["demo", "--end-date", FUTURE, "--days", "1", "--scale", "0.01"], f"{FUTURE} {NOT_COMPLETE}"),
    ],
)
def test_a_day_that_is_not_a_partition_is_named_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    # given an empty home and the default start date
    environment = {**os.environ, "AGENTLEDGER_HOME": str(tmp_path)}
    for name in ("AGENTLEDGER_DB", "AGENTLEDGER_START_DATE", "DAGSTER_HOME"):
        environment.pop(name, None)
    # when the command is given a day outside the partitions
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True, env=environment, check=False
    )
    # then one line names the day and the bound, exit 2, and nothing ran: the home is still empty
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith(f"agentledger: {message}")
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_first_and_the_last_partition_are_accepted() -> None:
    # given the start date and yesterday, the bounds of the daily partitions
    start = date(2025, 1, 1)
    # when / then both ends of the range pass
    check_partition_days(start, yesterday(), start)
