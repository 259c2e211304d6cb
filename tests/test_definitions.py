"""The Dagster definitions load and validate; the asset graph is snapshotted so renames show up as diffs."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"


def asset_graph_lines() -> list[str]:
    """One line per asset (key, group, upstream keys) and per Pandera gate.

    dbt tests also become asset checks; they change with every YAML edit and are left out.
    """
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        parents = ", ".join(sorted(p.to_user_string() for p in node.parent_keys))
        lines.append(f"asset {key.to_user_string()} [{node.group_name}] <- {parents}")
    gates = [key for key in graph.asset_check_keys if key.name.endswith("_schema")]
    for check_key in sorted(gates, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        lines.append(f"check {check_key.asset_key.to_user_string()}:{check_key.name}")
    return lines


def test_asset_graph_matches_the_snapshot() -> None:
    # Set UPDATE_SNAPSHOTS=1 to accept an intended change of the graph. A missing snapshot fails:
    # writing it here would compare the graph with itself and pass whatever it holds.
    lines = asset_graph_lines()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("\n".join(lines) + "\n")
    elif not SNAPSHOT.exists():
        pytest.fail(f"{SNAPSHOT} is missing: run this test with UPDATE_SNAPSHOTS=1 to write it, then review it")
    assert lines == SNAPSHOT.read_text().splitlines()


def test_every_asset_is_materializable_by_the_nightly_job() -> None:
    # A dependency on a misspelled key silently becomes an external stub and loses the ordering.
    graph = defs.resolve_asset_graph()
    stubs = [key.to_user_string() for key in graph.get_all_asset_keys() if not graph.get(key).is_materializable]
    assert stubs == []
    job = defs.resolve_job_def("nightly")
    assert set(job.asset_layer.selected_asset_keys) == {
        key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable
    }


def test_the_nightly_schedule_runs_yesterday_at_two_utc() -> None:
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone in (None, "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_dagster_definitions_validate_passes(tmp_path: Path) -> None:
    # the CLI insists on an existing DAGSTER_HOME; a fresh clone has none
    environment = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=Path(__file__).parent.parent,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_dg_check_defs_passes_with_the_venv_not_activated(tmp_path: Path) -> None:
    # given a shell whose PATH does not hold the venv (README: "`dg check defs` and `dg launch` work too")
    environment = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PATH": os.pathsep.join(["/usr/bin", "/bin"])}
    # when dg loads the code location (its dbt manifest preparation runs the `dbt` on PATH)
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("dg")), "check", "defs"],
        cwd=Path(__file__).parent.parent, env=environment, capture_output=True, text=True, check=False, timeout=600,
    )
    # then it finds the venv's dbt and every definition loads
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "All definitions loaded successfully" in completed.stdout + completed.stderr
