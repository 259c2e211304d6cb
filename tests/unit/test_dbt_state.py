"""A warehouse's dbt folder carries the parse state from one invocation to the next and keeps only the last few."""

import os
from pathlib import Path

import pytest

from orchestration.dbt_state import (
    KEPT_INVOCATIONS,
    PARSE_STATE_FILE,
    PARSE_STATE_PROJECT_FILE,
    dbt_invocation_folder,
    prune_invocations,
    warehouse_dbt_folder,
)
from orchestration.settings import PROJECT_ROOT


def test_each_warehouse_has_its_own_folder_beside_it(tmp_path: Path) -> None:
    assert warehouse_dbt_folder(tmp_path / "warehouse.duckdb") == tmp_path / "dbt-target" / "warehouse"
    assert warehouse_dbt_folder(tmp_path / "copy.duckdb") != warehouse_dbt_folder(tmp_path / "warehouse.duckdb")


def test_an_invocation_starts_from_the_last_parse_state_and_leaves_its_own(tmp_path: Path) -> None:
    # given a warehouse whose last invocation left a parse state
    db_path = tmp_path / "warehouse.duckdb"
    folder = warehouse_dbt_folder(db_path)
    folder.mkdir(parents=True)
    (folder / PARSE_STATE_FILE).write_bytes(b"state of night 1")
    (folder / PARSE_STATE_PROJECT_FILE).write_text(str(PROJECT_ROOT.resolve()))

    # when the next invocation runs and dbt writes a new state into its folder
    with dbt_invocation_folder(db_path, "dbt_models-night2") as invocation:
        seeded = (invocation / PARSE_STATE_FILE).read_bytes()
        (invocation / PARSE_STATE_FILE).write_bytes(b"state of night 2")

    # then it was given the old state, and the warehouse keeps the new one
    assert seeded == b"state of night 1"
    assert (folder / PARSE_STATE_FILE).read_bytes() == b"state of night 2"
    assert not (folder / f"{PARSE_STATE_FILE}.tmp").exists()


def test_a_parse_state_another_checkout_wrote_is_not_used_and_is_replaced(tmp_path: Path) -> None:
    # given a warehouse whose parse state a checkout elsewhere wrote (its seeds' absolute paths in it)
    db_path = tmp_path / "warehouse.duckdb"
    folder = warehouse_dbt_folder(db_path)
    folder.mkdir(parents=True)
    (folder / PARSE_STATE_FILE).write_bytes(b"parsed in /work/old-checkout")
    (folder / PARSE_STATE_PROJECT_FILE).write_text("/work/old-checkout")

    # when this checkout runs dbt on it
    with dbt_invocation_folder(db_path, "dbt_models-moved") as invocation:
        seeded = (invocation / PARSE_STATE_FILE).exists()
        (invocation / PARSE_STATE_FILE).write_bytes(b"parsed here")

    # then dbt parsed in full, and the next invocation of this checkout starts from its own state
    assert not seeded
    assert (folder / PARSE_STATE_PROJECT_FILE).read_text() == str(PROJECT_ROOT.resolve())
    with dbt_invocation_folder(db_path, "dbt_models-next") as invocation:
        assert (invocation / PARSE_STATE_FILE).read_bytes() == b"parsed here"


def test_the_first_invocation_starts_without_state(tmp_path: Path) -> None:
    with dbt_invocation_folder(tmp_path / "warehouse.duckdb", "dbt_models-first") as invocation:
        assert not (invocation / PARSE_STATE_FILE).exists()
    assert not (warehouse_dbt_folder(tmp_path / "warehouse.duckdb") / PARSE_STATE_FILE).exists()


def test_a_failed_build_still_leaves_its_parse_state(tmp_path: Path) -> None:
    db_path = tmp_path / "warehouse.duckdb"
    with pytest.raises(RuntimeError), dbt_invocation_folder(db_path, "dbt_models-failed") as invocation:
        (invocation / PARSE_STATE_FILE).write_bytes(b"parsed, then a test failed")
        raise RuntimeError("dbt build failed")
    assert (warehouse_dbt_folder(db_path) / PARSE_STATE_FILE).read_bytes() == b"parsed, then a test failed"


def test_only_the_newest_invocation_folders_are_kept(tmp_path: Path) -> None:
    # given more invocation folders than are kept, oldest first
    folder = tmp_path / "dbt-target" / "warehouse"
    names = [f"dbt_models-run{i}" for i in range(KEPT_INVOCATIONS + 3)]
    for age, name in enumerate(reversed(names)):
        (folder / name).mkdir(parents=True)
        os.utime(folder / name, ns=(1_000_000_000 * (100 - age),) * 2)
    (folder / PARSE_STATE_FILE).write_bytes(b"state")

    # when they are pruned
    deleted = prune_invocations(folder)

    # then the oldest went, the newest KEPT_INVOCATIONS and the parse state stayed
    assert sorted(p.name for p in deleted) == sorted(names[:3])
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(names[3:])
    assert (folder / PARSE_STATE_FILE).exists()


def test_a_night_prunes_the_folders_of_older_nights(tmp_path: Path) -> None:
    db_path = tmp_path / "warehouse.duckdb"
    for night in range(KEPT_INVOCATIONS + 2):
        with dbt_invocation_folder(db_path, f"dbt_models-night{night}") as invocation:
            (invocation / "run_results.json").write_text("{}")
            os.utime(invocation, ns=(1_000_000_000 * (night + 1),) * 2)
    kept = sorted(p.name for p in warehouse_dbt_folder(db_path).iterdir() if p.is_dir())
    assert kept == sorted(f"dbt_models-night{n}" for n in range(2, KEPT_INVOCATIONS + 2))
