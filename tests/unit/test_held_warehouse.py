"""A step that finds the warehouse held by another process says who and what to do."""

import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.resources import held_warehouse_error


def test_a_lock_held_by_a_reader_names_it_and_the_way_on(tmp_path: Path) -> None:
    # given a warehouse a reader in another process holds open (read-only: it still locks writers out)
    db_path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db_path)).close()
    code = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); " \
           "time.sleep(60)"
    reader = subprocess.Popen([sys.executable, "-c", code, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"

        # when a step connects to write
        try:
            duckdb.connect(str(db_path))
        except duckdb.Error as error:
            explained = held_warehouse_error(error, str(db_path))
        else:
            raise AssertionError("the reader did not lock the warehouse")
    finally:
        reader.kill()
        reader.wait()

    # then the message names the holder and says to close it and run again, not to read the file read-only
    message = str(explained)
    assert isinstance(explained, duckdb.IOException)
    assert message.startswith(f"the warehouse {db_path} is held by another process (")
    assert f"PID {reader.pid}" in message
    assert "run the same command again" in message
    assert "read-only mode" not in message


def test_an_error_that_is_no_lock_is_passed_on_as_it_is() -> None:
    for error in (
        duckdb.IOException("IO Error: Cannot open file: permission denied"),
        duckdb.IOException(
            "IO Error: Corrupt database file: computed checksum does not match in block at location 12288"
        ),
    ):
        assert held_warehouse_error(error, "w.duckdb") is error
