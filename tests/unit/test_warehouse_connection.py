"""A step that fails leaves no transaction open on the warehouse for the steps after it."""

from pathlib import Path

import pytest

from orchestration.resources import make_resources
from orchestration.settings import Settings


class GateFailed(Exception):
    """Stands for any exception an asset body raises while it holds the warehouse."""


def test_a_block_that_raises_leaves_no_transaction_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given the run's warehouse resource (make_resources exports these: restored after the test)
    for name in ("AGENTLEDGER_DB", "AGENTLEDGER_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "warehouse.duckdb") if name == "AGENTLEDGER_DB" else str(tmp_path))
    monkeypatch.delenv("AGENTLEDGER_BASELINES_FILE", raising=False)
    resource = make_resources(Settings.from_env())["duckdb"]
    with resource.process_config_and_initialize_cm() as warehouse:  # set up and torn down as in a run
        with warehouse.get_connection() as conn:
            conn.execute("create table quarantine as select 1 as i")
        # when a block counts rows (fetchone: the result is not read to its end) then raises,
        # its connection still referenced, as Dagster keeps a failed step's traceback
        with pytest.raises(GateFailed), warehouse.get_connection() as failed_conn:
            failed_conn.execute("select count(*) from quarantine").fetchone()
            raise GateFailed
        # then a later step can create a table and checkpoint, as the traces load does (it failed:
        # "Cannot CHECKPOINT: there are other write transactions active")
        with warehouse.get_connection() as conn:
            conn.execute("create table spans as select 2 as i")
            conn.execute("checkpoint")
            assert conn.execute("select count(*) from spans").fetchone() == (1,)
        assert failed_conn is not None
