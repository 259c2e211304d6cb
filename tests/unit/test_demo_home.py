"""The demo stays inside its home: it never rewrites or reads data that another setting points at."""

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from orchestration.demo.run import DEMO_LOCATIONS, MARKER, check_demo_locations, prepare_home
from orchestration.run_history import ensure_dagster_yaml
from orchestration.settings import Settings


def check(home: Path, environ: Mapping[str, str]) -> None:
    """The demo's check of the settings `environ` would give it, with `home` as AGENTLEDGER_HOME."""
    check_demo_locations(Settings.from_env({**environ, "AGENTLEDGER_HOME": str(home)}))


@pytest.mark.parametrize("name", sorted(DEMO_LOCATIONS))
def test_a_setting_pointing_outside_the_demo_home_is_refused_by_name(tmp_path: Path, name: str) -> None:
    # given a demo home and one setting that points at real data elsewhere
    home = tmp_path / "demo"
    elsewhere = tmp_path / "real" / "warehouse.duckdb"
    # when / then the demo refuses before touching anything, naming the variable
    with pytest.raises(RuntimeError, match=f"{name}={elsewhere}"):
        check(home, {name: str(elsewhere)})
    assert not home.exists()


def test_every_offending_setting_is_named_at_once(tmp_path: Path) -> None:
    # given two settings pointing outside the home
    environ = {"AGENTLEDGER_DB": str(tmp_path / "prod.duckdb"), "AGENTLEDGER_TRACES_DIR": str(tmp_path / "otel")}
    # when / then
    with pytest.raises(RuntimeError) as refused:
        check(tmp_path / "demo", environ)
    assert "AGENTLEDGER_DB=" in str(refused.value) and "AGENTLEDGER_TRACES_DIR=" in str(refused.value)


def test_settings_unset_empty_or_pointing_inside_the_home_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given each setting unset, empty, or naming the demo's own location (relative to the cwd too)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "demo"
    inside = {name: f"demo/{location}" for name, location in DEMO_LOCATIONS.items()}
    # when / then nothing is refused
    check(home, {})
    check(home, dict.fromkeys(DEMO_LOCATIONS, ""))
    check(home, inside)


@pytest.mark.parametrize("name", ["billing", "baselines.csv", "dagster", "marts.duckdb", "report.html"])
def test_a_home_holding_data_the_demo_did_not_write_is_refused(tmp_path: Path, name: str) -> None:
    # given a folder holding something the demo would delete, without the demo's marker
    (tmp_path / name).write_text("real data")
    # when / then it is refused and left as it was
    with pytest.raises(RuntimeError, match="did not create"):
        prepare_home(tmp_path)
    assert (tmp_path / name).read_text() == "real data"


def test_a_dagster_home_without_run_history_is_not_data(tmp_path: Path) -> None:
    # given a fresh clone's home after `make test` (an empty dagster folder) or `make dev` (agentledger's
    # dagster.yaml and nothing else), and a dagster.yaml the user wrote
    (tmp_path / "empty" / "dagster").mkdir(parents=True)
    ensure_dagster_yaml(tmp_path / "configured" / "dagster")
    (tmp_path / "own" / "dagster").mkdir(parents=True)
    (tmp_path / "own" / "dagster" / "dagster.yaml").write_text("run_storage: {}\n")
    # when / then the first two become demo homes, the third is refused
    prepare_home(tmp_path / "empty")
    prepare_home(tmp_path / "configured")
    assert (tmp_path / "empty" / MARKER).exists() and (tmp_path / "configured" / MARKER).exists()
    with pytest.raises(RuntimeError, match="did not create"):
        prepare_home(tmp_path / "own")


def test_a_dagster_home_with_run_history_is_data(tmp_path: Path) -> None:
    # given agentledger's dagster.yaml beside the run history a UI run wrote
    ensure_dagster_yaml(tmp_path / "dagster")
    (tmp_path / "dagster" / "history").mkdir()
    # when / then it is refused
    with pytest.raises(RuntimeError, match="did not create"):
        prepare_home(tmp_path)
    assert (tmp_path / "dagster" / "history").exists()


def test_a_demo_home_is_cleared_and_marked(tmp_path: Path) -> None:
    # given a folder an earlier demo wrote
    (tmp_path / MARKER).write_text("")
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "bill.csv").write_text("old")
    # when
    prepare_home(tmp_path)
    # then its demo data is gone and the marker stays
    assert not (tmp_path / "billing").exists()
    assert (tmp_path / MARKER).exists()


def test_the_check_reads_the_paths_the_run_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given the run's settings, with a relative baselines file resolved against the working directory
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"AGENTLEDGER_HOME": "demo", "AGENTLEDGER_BASELINES_FILE": "hours.csv"})
    # when / then the demo refuses it, naming the file the pipeline would read
    with pytest.raises(RuntimeError, match=f"AGENTLEDGER_BASELINES_FILE={tmp_path / 'hours.csv'} "):
        check_demo_locations(settings)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--scale", "0"), ("--scale", "nan"), ("--days", "0"), ("--days", "-3"), ("--days", "1000000")],
)
def test_a_bad_demo_argument_stops_before_the_previous_demo_is_deleted(tmp_path: Path, flag: str, value: str) -> None:
    # given a folder an earlier demo wrote
    (tmp_path / MARKER).write_text("")
    (tmp_path / "warehouse.duckdb").write_text("the previous demo's warehouse")
    environment = {**os.environ, "AGENTLEDGER_HOME": str(tmp_path)}
    for name in ("AGENTLEDGER_DB", "DAGSTER_HOME"):
        environment.pop(name, None)

    # when the demo is given a volume or a length it cannot generate
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "demo", flag, value],
        capture_output=True, text=True, env=environment, check=False, timeout=120,
    )

    # then the argument is named, exit 2, and the previous demo is still there
    assert completed.returncode == 2, completed.stderr
    assert f"argument {flag}: '{value}' is not" in completed.stderr and "Traceback" not in completed.stderr
    assert (tmp_path / "warehouse.duckdb").read_text() == "the previous demo's warehouse"
