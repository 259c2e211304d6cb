"""Resources: the warehouse (DuckDB) and dbt, both reading the warehouse path from AGENTLEDGER_DB.

The path is resolved when a run starts, not when the code location loads, so the CLI, tests and
`dagster dev` each run against the warehouse their environment names.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from orchestration.partitions import run_window_days
from orchestration.run_lock import run_lock
from orchestration.settings import PROJECT_ROOT, Settings

dbt_project = DbtProject(project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT)


def dbt_executable() -> str:
    """The dbt installed beside this Python, else the project's `.venv`'s, else the one on PATH.

    A venv that is not activated is not on PATH, and `dg` loads the code location with the
    interpreter the venv's python links to, beside which there is no dbt.
    """
    for candidate in (Path(sys.executable).with_name("dbt"), PROJECT_ROOT / ".venv" / "bin" / "dbt"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def put_dbt_on_path() -> None:
    """Put `dbt_executable()`'s folder first on this process's PATH when no dbt is on it.

    dagster-dbt's manifest preparation under `dagster dev` and `dg` (`DbtProject.prepare_if_dev`)
    runs the `dbt` it finds on PATH, and a venv that is not activated is not there: `dg check defs`
    failed with "The dbt executable 'dbt' was not found on PATH".
    """
    executable = Path(dbt_executable())
    if shutil.which("dbt") is None and executable.is_absolute():
        os.environ["PATH"] = os.pathsep.join([str(executable.parent), os.environ.get("PATH", "")])


class WarehouseResource(DuckDBResource):
    """`DuckDBResource` whose connections are closed however the block ends, an exception included.

    dagster-duckdb's `get_connection` closes the connection only when the block ends normally. A
    step that raised (a gate, a load) left its connection open, and Dagster keeps the failed
    step's traceback, so the connection stayed alive for the rest of the run. The autocommit
    transaction of its last query stays active until the result is read to its end (a
    `fetchone()` of a count does not) or the connection closes, and an active transaction makes a
    later step's `checkpoint` after a catalog change fail in the same process: the traces load
    failed with "Cannot CHECKPOINT: there are other write transactions active" after a gate had
    raised in an earlier step. Closing the connection ends what it left open.

    Set up once per run (the jobs run in one process), it holds the warehouse's run lock
    (`orchestration.run_lock`) until the run ends: a run the daemon launches fails at its start,
    naming the holder, while another run uses the warehouse, and a command-line run refuses to start
    while one of the daemon's runs holds it.
    """

    _lock: ExitStack = PrivateAttr(default_factory=ExitStack)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Take the warehouse's run lock for the run (the command line's own run holds it already)."""
        if self.database == ":memory:":
            return
        run = context.dagster_run
        what = f"Dagster run {run.run_id} of job {run.job_name}" if run is not None else "a Dagster run"
        window = run_window_days(run.tags) if run is not None else None
        if window is not None:
            what += f" ({window[0]}..{window[1]})" if window[0] != window[1] else f" ({window[0]})"
        self._lock.enter_context(run_lock(Path(self.database), what))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Let the run lock go."""
        self._lock.close()

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the warehouse, closed when the block ends, however it ends."""
        with ExitStack() as stack:
            try:
                conn = stack.enter_context(super().get_connection())
            except duckdb.Error as error:
                raise held_warehouse_error(error, self.database) from None
            try:
                yield conn
            finally:
                conn.close()  # a second close (by dagster-duckdb, on success) does nothing


def held_warehouse_error(error: duckdb.Error, database: str) -> duckdb.Error:
    """`error` with what to do when another process holds the warehouse's lock; any other error as it is.

    The run's start-up check finds a holder at the start only. A reader that opens the warehouse
    between two steps makes the next step wait out dagster-duckdb's retries (~100 s) and fail with
    DuckDB's hint to open the file read-only, which is no help to the run.
    """
    message = str(error)
    if "Could not set lock on file" not in message:
        return error  # a corrupt file's "… in block at …" is no lock
    holder = message.split(". However")[0]
    return type(error)(
        f"the warehouse {database} is held by another process ({holder}): a process that opens the warehouse "
        "while a run uses it (BI tools read the published snapshot marts.duckdb, never the warehouse), or a "
        "dbt build left running by a run killed with SIGKILL; close it or let it end, then run the same "
        "command again (every load is idempotent)"
    )


def make_resources(settings: Settings) -> dict[str, object]:
    """Resources for `Definitions`; exports AGENTLEDGER_DB (resolved to an absolute path) first."""
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    settings.export_for_dbt()
    return {
        "duckdb": WarehouseResource(
            database=dg.EnvVar("AGENTLEDGER_DB"), connection_config={"memory_limit": settings.duckdb_memory_limit}
        ),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
