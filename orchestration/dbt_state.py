"""Each warehouse's dbt folder: the parse state carried from one run to the next, and the last runs' logs.

dagster-dbt gives every `dbt` invocation a new folder under the checkout's `target/` and seeds it
with `target/partial_parse.msgpack`. For a pipeline that runs every night that went wrong twice:

- dbt keeps a parse only for the profile it was made with, and the warehouse path and DuckDB
  settings are part of the profile ("Unable to do partial parsing because profile has changed").
  `target/`'s state was written by `make manifest` or by the last warehouse to run, and nothing
  wrote an invocation's state back, so runs parsed the whole project every time: ~4 s here alone,
  6-8 s with two runs sharing the cores.
- The invocation folders (manifest, compiled SQL, log: ~18 MB each) stayed in the checkout, one per
  run, for ever.

So every warehouse has a folder beside it, `dbt-target/<warehouse name>/`. A run's invocation starts
from that folder's parse state and leaves its own there, and only the newest `KEPT_INVOCATIONS`
invocation folders are kept.

A parse state holds the absolute paths of the checkout that wrote it, and dbt reuses them: run from
another checkout (a moved or fresh clone on the same home), every seed failed with "No files found
that match the pattern <the old checkout>/seeds/…". So the state is used only by the checkout that
wrote it (`PARSE_STATE_PROJECT_FILE`); another one parses the project in full, once.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.settings import PROJECT_ROOT

PARSE_STATE_FILE = "partial_parse.msgpack"
PARSE_STATE_PROJECT_FILE = "partial_parse.project"  # the dbt project folder that wrote the state
KEPT_INVOCATIONS = 5


def warehouse_dbt_folder(db_path: Path) -> Path:
    """`dbt-target/<warehouse name>/` beside the warehouse: one per warehouse, so one per profile."""
    return db_path.parent / "dbt-target" / db_path.stem


def seed_invocation(folder: Path, name: str, project_root: Path = PROJECT_ROOT) -> Path:
    """A new invocation folder `folder/name`, with a copy of the warehouse's parse state if this checkout wrote it."""
    invocation = folder / name
    invocation.mkdir(parents=True, exist_ok=False)
    state, writer = folder / PARSE_STATE_FILE, folder / PARSE_STATE_PROJECT_FILE
    if state.exists() and writer.exists() and writer.read_text() == str(project_root.resolve()):
        shutil.copyfile(state, invocation / PARSE_STATE_FILE)
    return invocation


def _replace(source: Path, target: Path) -> None:
    """Copy `source` over `target` atomically (a reader sees old or new)."""
    partial = target.with_name(f"{target.name}.tmp")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def keep_parse_state(folder: Path, invocation: Path, project_root: Path = PROJECT_ROOT) -> None:
    """Make the invocation's parse state the warehouse's, naming the checkout that wrote it.

    Two runs on one warehouse never overlap (DuckDB's lock), so the two files are written in turn.
    """
    written = invocation / PARSE_STATE_FILE
    if not written.exists():
        return
    _replace(written, folder / PARSE_STATE_FILE)
    named = invocation / PARSE_STATE_PROJECT_FILE
    named.write_text(str(project_root.resolve()))
    _replace(named, folder / PARSE_STATE_PROJECT_FILE)


def prune_invocations(folder: Path, keep: int = KEPT_INVOCATIONS) -> list[Path]:
    """Delete all but the `keep` newest invocation folders; return the deleted ones."""
    invocations = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
    stale = invocations[: max(len(invocations) - keep, 0)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


@contextmanager
def dbt_invocation_folder(db_path: Path, name: str) -> Iterator[Path]:
    """The target folder for one dbt invocation on the warehouse at `db_path`.

    The parse state is kept however the invocation ends: a failed build has still parsed the project.
    """
    folder = warehouse_dbt_folder(db_path)
    invocation = seed_invocation(folder, name)
    try:
        yield invocation
    finally:
        keep_parse_state(folder, invocation)
        prune_invocations(folder)
