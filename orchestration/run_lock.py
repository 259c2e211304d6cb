"""One agentledger run at a time per warehouse, from start to finish.

The start-up check (`runner.check_inputs_and_warehouse`) opens the warehouse and lets it go, so two
runs started together both passed it, did all their extract work side by side, and one then failed
at dbt on DuckDB's lock. An advisory lock on `<warehouse>.run.lock`, held from before that check to
the end of the run and its recompute, refuses the second at once and names the first. The lock goes
with the process (the kernel drops it however the process ends), so a killed run never leaves one.

The command line takes it around its in-process Dagster run; every Dagster run takes it too, when its
warehouse resource is set up (`resources.WarehouseResource`), so a run the daemon launches (the
schedule, the relabel sensor) and a command-line run refuse each other. Within one process the lock is
re-entrant: the command line's run finds it already held by its own process.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

# The lock files this process holds (real paths): a nested `run_lock` on one of them holds it already.
_HELD: set[str] = set()


def lock_path(db_path: Path) -> Path:
    """The lock file beside the warehouse: one per warehouse, whatever home or checkout runs it."""
    return db_path.with_name(db_path.name + ".run.lock")


@contextmanager
def run_lock(db_path: Path, what: str) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; `what` says what holds it (shown to a second run).

    Raises:
        RuntimeError: another process holds it; the message names it, as it wrote itself down.
    """
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    held = os.path.realpath(path)
    if held in _HELD:
        yield  # this process holds it: the command line around its own in-process Dagster run
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 1000, 0).decode("utf-8", "replace").strip() or "a process"
            raise RuntimeError(
                f"another agentledger run is using the warehouse {db_path}: {holder}. Wait for it to finish "
                f"(or stop it), then run again"
            ) from None
        started = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{what}, pid {os.getpid()}, started {started}\n".encode(), 0)
        _HELD.add(held)
        try:
            yield
        finally:
            _HELD.discard(held)
    finally:
        os.close(descriptor)  # closing the file releases the lock
