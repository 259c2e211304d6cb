"""Run history through PooledSqliteEventLogStorage: stored, readable by another process, followed live."""

import sqlite3
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef

from orchestration.run_history import (
    DAGSTER_YAML,
    OPEN_DATABASES,
    PooledSqliteEventLogStorage,
    ensure_dagster_yaml,
)

RUN_ID = "0f3c6a2e-0000-4000-8000-000000000001"


def materialization(run_id: str, partition: str) -> EventLogEntry:
    """The event a run stores when it has materialized one partition of `raw/otel_spans`."""
    event = DagsterEvent(
        "ASSET_MATERIALIZATION",
        "nightly",
        event_specific_data=StepMaterializationData(
            dg.AssetMaterialization(asset_key=["raw", "otel_spans"], partition=partition)
        ),
        step_key="otel_traces",
    )
    return EventLogEntry(
        error_info=None, level=10, user_message="", run_id=run_id, timestamp=time.time(),
        dagster_event=event, job_name="nightly",
    )  # fmt: skip


@pytest.fixture
def storage(tmp_path: Path):
    store = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    yield store
    store.dispose()


def test_a_new_dagster_home_gets_the_pooled_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a new DAGSTER_HOME prepared the way the CLI prepares it
    home = tmp_path / "dagster"
    ensure_dagster_yaml(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    # then Dagster's instance stores run history through it, in Dagster's usual folder
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert Path(instance.event_log_storage._base_dir) == home / "history" / "runs"


def test_an_existing_dagster_yaml_is_left_alone_and_an_empty_one_is_filled(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    ensure_dagster_yaml(own)
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "dagster.yaml").touch()
    ensure_dagster_yaml(empty)
    assert (empty / "dagster.yaml").read_text() == DAGSTER_YAML.format(base_dir=empty / "history" / "runs")


def test_a_moved_dagster_home_keeps_reading_its_own_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a DAGSTER_HOME with a run's events, moved elsewhere, while DAGSTER_HOME names a third folder
    before, after = tmp_path / "before", tmp_path / "after"
    ensure_dagster_yaml(before)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(before))) as instance:
        instance.event_log_storage.store_event(materialization(RUN_ID, "2026-11-21"))
    before.rename(after)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))

    # when agentledger prepares the moved folder, and a reader opens it by its path (as the tests do)
    with (after / "dagster.yaml").open("a") as config:
        config.write("telemetry:\n  enabled: false\n")  # a setting the user added to agentledger's file
    ensure_dagster_yaml(after)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(after))) as instance:
        storage = instance.event_log_storage
        records = storage.get_records_for_run(RUN_ID).records

    # then the storage reads the moved folder's history, not the folder the file was written in
    assert Path(storage._base_dir) == after / "history" / "runs"
    assert (after / "dagster.yaml").read_text().endswith("telemetry:\n  enabled: false\n")
    assert [r.event_log_entry.dagster_event.partition for r in records] == ["2026-11-21"]


def test_stored_events_are_read_by_another_process_while_the_writer_stays_open(
    storage: PooledSqliteEventLogStorage, tmp_path: Path
) -> None:
    # given events stored through a connection that stays open
    for day in ("2026-11-20", "2026-11-21"):
        storage.store_event(materialization(RUN_ID, day))

    # then another reader (as the webserver, in its own process) sees them, in the run's database and the index
    reader = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    try:
        records = reader.get_records_for_run(RUN_ID).records
        assert [r.event_log_entry.dagster_event.partition for r in records] == ["2026-11-20", "2026-11-21"]
        partitions = reader.get_materialized_partitions(dg.AssetKey(["raw", "otel_spans"]))
        assert partitions == {"2026-11-20", "2026-11-21"}
    finally:
        reader.dispose()


def test_commits_do_not_wait_for_the_disk_and_at_most_a_few_databases_stay_open(
    storage: PooledSqliteEventLogStorage,
) -> None:
    for n in range(OPEN_DATABASES + 3):
        storage.store_event(materialization(f"0f3c6a2e-0000-4000-8000-00000000010{n}", "2026-11-21"))
    assert len(storage._engines) == OPEN_DATABASES
    with storage.index_connection() as conn:
        assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"


def test_closing_the_storage_checkpoints_the_run_database(storage: PooledSqliteEventLogStorage) -> None:
    storage.store_event(materialization(RUN_ID, "2026-11-21"))
    storage.dispose()
    path = Path(storage.path_for_shard(RUN_ID))
    wal = path.with_name(f"{path.name}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(path) as conn:  # the rows are in the database file itself
        assert conn.execute("select count(*) from event_logs").fetchone()[0] == 1


def test_a_watch_sees_new_events_of_a_running_run(storage: PooledSqliteEventLogStorage, tmp_path: Path) -> None:
    # given the webserver watching a run (its own storage) and the run writing through an open connection
    storage.store_event(materialization(RUN_ID, "2026-11-19"))
    watcher = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    seen: list[str] = []
    arrived = threading.Event()

    def on_event(entry: EventLogEntry, _cursor: str) -> None:
        seen.append(entry.dagster_event.partition)
        if entry.dagster_event.partition == "2026-11-21":
            arrived.set()

    watcher.watch(RUN_ID, None, on_event)
    try:
        time.sleep(0.2)  # the observer thread starts watching
        # when the run stores more events (its database file is not written until a checkpoint)
        storage.store_event(materialization(RUN_ID, "2026-11-20"))
        storage.store_event(materialization(RUN_ID, "2026-11-21"))

        # then the watch delivers them while the run is still going
        assert arrived.wait(timeout=10), f"the watch saw only {seen}"
        assert seen[-2:] == ["2026-11-20", "2026-11-21"]
    finally:
        watcher.end_watch(RUN_ID, on_event)
        watcher.dispose()
