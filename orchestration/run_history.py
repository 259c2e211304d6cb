"""Dagster's run history in SQLite without a new connection, and its fsyncs, for every event.

Dagster's `SqliteEventLogStorage` opens a database engine and a connection for each event it stores
(twice for an asset or check event: the run's database and the cross-run index) and closes them
afterwards. Closing the last connection to a WAL database checkpoints it, with fsyncs: ~10 ms per
event on this machine's disk. A run writes an event per asset and partition (planned, then
materialized), per dbt test (planned, then evaluated) and per step: ~7,100 events in a 40-day
backfill, more than half of its time, and ~900 (~9 s) in a one-day nightly run.

This storage keeps the connection to the databases it last used open and commits with
`synchronous=NORMAL`, SQLite's recommended setting for WAL: a commit survives a crash of the
process, and a power cut can lose the last commits but not corrupt the file
(https://www.sqlite.org/pragma.html#pragma_synchronous). ~1.5 ms per event here.

- One connection per database is safe across threads: the base class already serializes every use
  of the storage under its lock (`_connect`), which this class keeps.
- `dagster dev` follows a running run by watching its database file. With the connection kept open,
  commits land in the `-wal` file beside it until a checkpoint, so the watch follows that file too.
- The same files and schema as Dagster's storage: an existing DAGSTER_HOME keeps its history.

Selected by the `dagster.yaml` that agentledger writes into a new DAGSTER_HOME (`DAGSTER_YAML`); a
`dagster.yaml` of the user's own is left as it is.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from watchdog.events import FileSystemEvent, PatternMatchingEventHandler
from watchdog.observers import Observer

# The cross-run index, the running run's database, and room for readers of other runs (the UI).
OPEN_DATABASES = 4

DAGSTER_YAML_HEADER = "# Written by agentledger"
DAGSTER_YAML = f"""\
{DAGSTER_YAML_HEADER}: run history in SQLite under this folder, through a storage that keeps its
# connections open instead of reopening (and fsyncing) the database for every event
# (orchestration/run_history.py). base_dir follows this folder when it moves; other settings may be
# added below. Delete the file for Dagster's default storage.
event_log_storage:
  module: orchestration.run_history
  class: PooledSqliteEventLogStorage
  config:
    base_dir: "{{base_dir}}"
"""


BASE_DIR_LINE = re.compile(r'^    base_dir: ".*"$', re.MULTILINE)


def ensure_dagster_yaml(dagster_home: Path) -> None:
    """Write agentledger's `dagster.yaml` into `dagster_home`, unless one of the user's own is there.

    The run history folder is written out in full, as Dagster's own storage is configured: a storage
    named in `dagster.yaml` is not told where the instance is. So in agentledger's file (and only
    there) a `base_dir` naming another folder (DAGSTER_HOME was moved) is set to this one; whatever
    else the file holds stays.
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    text = config.read_text() if config.exists() else ""
    base_dir = dagster_home.resolve() / "history" / "runs"
    if not text.strip():
        config.write_text(DAGSTER_YAML.format(base_dir=base_dir))
    elif text.startswith(DAGSTER_YAML_HEADER):
        moved = BASE_DIR_LINE.sub(lambda _: f'    base_dir: "{base_dir}"', text, count=1)
        if moved != text:
            config.write_text(moved)


def _commit_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _RunDatabaseWatch(SqliteEventLogStorageWatchdog):
    """Dagster's watch of a run's database, which also fires when its `-wal` file changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        PatternMatchingEventHandler.__init__(self, patterns=[self._log_path, f"{self._log_path}-wal"])

    def on_modified(self, changed: FileSystemEvent) -> None:  # noqa: ARG002 - either file means new rows
        self._process_log()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that keeps a connection open to each of the last databases it used."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        """The storage for the `config:` block of `dagster.yaml` (the base class builds its own class)."""
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> Engine:
        """The open engine of `shard`, created on first use.

        The least recently used beyond OPEN_DATABASES is closed, which checkpoints its database.
        """
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _commit_without_fsync)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_DATABASES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                _, engine = self._engines.popitem(last=False)
                engine.dispose()

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        """Dagster's watch of a run's events, following the `-wal` file as well."""
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watch = _RunDatabaseWatch(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watch, self._obs.schedule(watch, self._base_dir, recursive=True))

    def wipe(self) -> None:
        """Close the connections before the files are deleted."""
        self._close_all()
        super().wipe()

    def dispose(self) -> None:
        """Close the connections (checkpointing the databases) and stop the watches."""
        self._close_all()
        super().dispose()


if __name__ == "__main__":  # `make dev`: python -m orchestration.run_history DAGSTER_HOME
    import sys

    ensure_dagster_yaml(Path(sys.argv[1]))
