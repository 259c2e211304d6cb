"""One run at a time per warehouse: a second is refused at once, naming the first."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.run_lock import lock_path, run_lock
from orchestration.runner import describe_failures, partition_tags, run_partitions
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


def test_a_dagster_run_started_outside_the_command_line_is_refused_at_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a command-line run holding this warehouse
    from orchestration.definitions import defs

    db_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AGENTLEDGER_DB", str(db_path))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline() == "holding\n"

        # when a run starts the way the daemon's run worker starts one: the job executed in its process
        # (the relabel sensor's recompute of a day), not through `agentledger`
        with dg.instance_for_test() as instance:
            result = defs.resolve_job_def("recompute").execute_in_process(
                instance=instance, tags=partition_tags(date(2026, 11, 20), date(2026, 11, 20)), raise_on_error=False
            )

        # then it fails before any step, naming what holds the warehouse, and leaves the warehouse alone
        assert not result.success
        assert [event.step_key for event in result.all_events if event.step_key] == []
        [failure] = describe_failures(result)
        assert failure.startswith(
            f"the run could not start: RuntimeError: another agentledger run is using the warehouse {db_path}: the "
            f"run of 2026-11-20, pid {holder.pid}, started "
        )
        assert not db_path.exists()
    finally:
        holder.communicate("done\n", timeout=30)


def test_the_command_line_run_holds_the_lock_its_own_dagster_run_takes_again(tmp_path: Path) -> None:
    # given this process holding the lock (as `agentledger run` does around its in-process Dagster run)
    db_path = tmp_path / "warehouse.duckdb"
    with run_lock(db_path, "the run of 2026-11-21"):
        # when its Dagster run's warehouse resource takes it in the same process, it holds it already
        with run_lock(db_path, "Dagster run abc of job nightly (2026-11-21)"):
            written = lock_path(db_path).read_text()
        # and the nested release lets nothing go: another process is still refused
        refused = subprocess.run([sys.executable, "-c", HOLD, str(db_path)], input="", capture_output=True,
                                 text=True, timeout=60)

    assert written.startswith(f"the run of 2026-11-21, pid {os.getpid()}, started ")
    assert refused.returncode == 1
    assert "another agentledger run is using the warehouse" in refused.stderr


def test_a_demo_on_a_warehouse_a_run_holds_is_refused_before_it_empties_the_folder(tmp_path: Path) -> None:
    # given a demo home whose warehouse a run is using (its files, and the run holding the lock)
    from orchestration.demo.run import MARKER, run_demo

    settings = Settings.from_env({"AGENTLEDGER_HOME": str(tmp_path)})
    (tmp_path / MARKER).write_text("written by the demo\n")
    settings.db_path.write_bytes(b"the run's warehouse")
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "runs.db").write_bytes(b"the run's history")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(settings.db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"

        # when a demo starts on the same home
        with pytest.raises(RuntimeError) as refused:
            run_demo(settings, end_date=date(2026, 11, 21), days=2)

        # then it is refused, naming the run, and the run's files are where they were
        assert f"the run of 2026-11-20, pid {holder.pid}" in str(refused.value)
        assert settings.db_path.read_bytes() == b"the run's warehouse"
        assert (tmp_path / "dagster" / "runs.db").read_bytes() == b"the run's history"
    finally:
        holder.communicate("done\n", timeout=30)
