"""Dagster gets an absolute DAGSTER_HOME from the CLI and from make, whatever form it was given in."""

import os
import re
from datetime import date
from pathlib import Path

import pytest

from orchestration import runner
from orchestration.settings import PROJECT_ROOT, Settings


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything of a run but the run itself: no dbt parse, no Dagster job."""
    monkeypatch.setattr(runner, "ensure_manifest", lambda: None)
    monkeypatch.setattr(runner, "_execute", lambda *_: runner.RunOutcome(success=False, run_id="stub"))
    for name in ("AGENTLEDGER_DB", "AGENTLEDGER_BASELINES_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_run")
@pytest.mark.parametrize("given", ["runs", None])
def test_a_relative_dagster_home_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    # given a relative DAGSTER_HOME, or none and a relative AGENTLEDGER_HOME
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTLEDGER_HOME", "home")
    for folder in ("traces", "labels"):
        (tmp_path / "home" / folder).mkdir(parents=True)
    if given is None:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
    else:
        monkeypatch.setenv("DAGSTER_HOME", given)
    # when a run starts
    runner.run_partitions(Settings.from_env(), date(2026, 11, 20), date(2026, 11, 20))
    # then Dagster sees an absolute folder, made and configured
    expected = tmp_path / (given or "home/dagster")
    assert os.environ["DAGSTER_HOME"] == str(expected)
    assert (expected / "dagster.yaml").exists()


def test_make_exports_an_absolute_dagster_home() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^override export DAGSTER_HOME := \$\(abspath \$\(DAGSTER_HOME\)\)$", makefile, re.M)
