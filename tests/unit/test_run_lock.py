"""One run at a time per warehouse: a second is refused at once, naming the first."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from orchestration.run_lock import lock_path, run_lock
from orchestration.runner import run_partitions
from orchestration.settings import Settings

HOLD = """
import sys, time
from pathlib import Path
from orchestration.run_lock import run_lock
with run_lock(Path(sys.argv[1]), "the run of 2026-11-20"):
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_second_run_on_a_warehouse_is_refused_naming_the_first(tmp_path: Path) -> None:
    # given another process running the night of 2026-11-20 on this home's warehouse
    settings = Settings.from_env({"AGENTLEDGER_HOME": str(tmp_path)})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(settings.db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "holding\n"

        # when a run of another day starts on it
        with pytest.raises(RuntimeError) as refused:
            run_partitions(settings, date(2026, 11, 21), date(2026, 11, 21))

        # then it is refused before it does anything, naming what holds the warehouse
        assert f"another agentledger run is using the warehouse {settings.db_path}: the run of 2026-11-20, " \
               f"pid {holder.pid}, started " in str(refused.value)
        assert not (tmp_path / "dagster").exists()
    finally:
        holder.communicate("done\n", timeout=30)

    # and once that run ended (however it ended: the lock goes with its process), the lock is free
    with run_lock(settings.db_path, "the next run"):
        assert lock_path(settings.db_path).read_text().startswith(f"the next run, pid {os.getpid()}, started ")


def test_the_lock_is_released_by_a_killed_run(tmp_path: Path) -> None:
    # given a run holding the lock, killed with SIGKILL (nothing of it can clean up)
    db_path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline() == "holding\n"
    holder.kill()
    holder.wait(timeout=30)

    # then the next run takes it
    with run_lock(db_path, "the next run"):
        pass
