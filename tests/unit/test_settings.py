"""Settings: invalid values are named, and every path dbt reads is handed to it absolute."""

import os
import re
from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml

from orchestration.settings import Settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AGENTLEDGER_START_DATE", "2025-13-01"),
        ("AGENTLEDGER_LABEL_LOOKBACK_DAYS", "x"),
        ("AGENTLEDGER_TRACE_LOOKBACK_DAYS", "1.5"),
        ("AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "-1"),
        ("AGENTLEDGER_LABEL_LOOKBACK_DAYS", "99999999"),  # before any date: an OverflowError in every step
        ("AGENTLEDGER_FOCUS_EXPORT_UNIT", "run"),
        ("AGENTLEDGER_MAX_QUARANTINE_SHARE", "abc"),
        ("AGENTLEDGER_MAX_QUARANTINE_SHARE", "1.5"),
        ("AGENTLEDGER_MAX_QUARANTINE_SHARE", "-0.1"),
        ("AGENTLEDGER_MAX_QUARANTINE_SHARE", "nan"),
        ("AGENTLEDGER_DUCKDB_MEMORY_LIMIT", "lots"),
        ("AGENTLEDGER_DUCKDB_MEMORY_LIMIT", "80%"),
        ("AGENTLEDGER_REVENUE_KNOWN_UNTIL", "garbage"),
        ("AGENTLEDGER_REVENUE_KNOWN_UNTIL", "2026-02-30"),
        ("AGENTLEDGER_REVENUE_KNOWN_UNTIL", "20261220"),  # Python reads it, dbt's SQL would not
        ("AGENTLEDGER_REVENUE_KNOWN_UNTIL", "2026-12-20 00:00:00+02:00"),  # not UTC
    ],
)
def test_an_invalid_setting_is_named_with_its_value(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(f"invalid setting {name}='{value}': ")) as raised:
        Settings.from_env({name: value})
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("value", "share"), [("", 0.05), ("0", 0.0), ("0.2", 0.2), ("1", 1.0)])
def test_the_max_quarantine_share_is_a_share_from_0_to_1(value: str, share: float) -> None:
    # given a share in [0, 1], or none
    environment = {"AGENTLEDGER_MAX_QUARANTINE_SHARE": value}
    # when the settings are read
    settings = Settings.from_env(environment)
    # then it is parsed, blank taking the default
    assert settings.max_quarantine_share == share


@pytest.mark.parametrize("value", ["2026-12-20", "2026-12-20 00:00:00", "2026-12-20T08:30", "2026-12-20 08:30:00.25"])
def test_a_revenue_horizon_is_read_as_dbt_reads_it(value: str) -> None:
    # given a horizon in a form the settings accept
    horizon = Settings.from_env({"AGENTLEDGER_REVENUE_KNOWN_UNTIL": value}).revenue_known_until
    # then dbt's SQL (`timestamp '…'` in mart_workflow_roi) reads the same time from it
    assert duckdb.sql(f"select timestamp '{value}'").fetchone()[0] == horizon


def test_blank_settings_take_their_defaults() -> None:
    settings = Settings.from_env({"AGENTLEDGER_START_DATE": " ", "AGENTLEDGER_LABEL_LOOKBACK_DAYS": ""})
    assert settings.start_date.isoformat() == "2025-01-01" and settings.label_lookback_days == 3


def test_the_baselines_file_defaults_to_the_home_and_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"AGENTLEDGER_HOME": "h"}).baselines_file == tmp_path / "h" / "baselines.csv"
    given = Settings.from_env({"AGENTLEDGER_HOME": "h", "AGENTLEDGER_BASELINES_FILE": "sheets/hours.csv"})
    assert given.baselines_file == tmp_path / "sheets" / "hours.csv"


def test_dbt_gets_the_baselines_file_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a relative baselines file, relative to the user's working directory (dbt runs in the project root)
    monkeypatch.chdir(tmp_path)
    for name in ("AGENTLEDGER_HOME", "AGENTLEDGER_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTLEDGER_BASELINES_FILE", "sheets/hours.csv")
    # when the settings are exported for dbt
    Settings.from_env().export_for_dbt()
    # then dbt reads the file the user meant
    assert os.environ["AGENTLEDGER_BASELINES_FILE"] == str(tmp_path / "sheets" / "hours.csv")


def test_the_default_baselines_file_is_left_to_dbt_to_derive_from_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the default (a file in the home): dbt derives it from AGENTLEDGER_HOME, exported absolute
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTLEDGER_HOME", "h")
    monkeypatch.setenv("AGENTLEDGER_BASELINES_FILE", "h/baselines.csv")
    monkeypatch.delenv("AGENTLEDGER_DB", raising=False)
    Settings.from_env().export_for_dbt()
    # then no stale copy of it outlives a later change of AGENTLEDGER_HOME in this process
    assert os.environ["AGENTLEDGER_HOME"] == str(tmp_path / "h")
    assert "AGENTLEDGER_BASELINES_FILE" not in os.environ


@pytest.mark.parametrize(("value", "limit"), [("", "2500MB"), ("4GB", "4GB"), ("2.5 GB", "2.5 GB")])
def test_the_duckdb_memory_limit_is_one_duckdb_reads(value: str, limit: str) -> None:
    # given a memory size DuckDB reads, or none; when read; then it is kept as given, blank taking the default
    assert Settings.from_env({"AGENTLEDGER_DUCKDB_MEMORY_LIMIT": value}).duckdb_memory_limit == limit


@pytest.mark.parametrize(
    ("given", "exported"),
    [(" 2026-12-20 ", "2026-12-20 00:00:00"), ("2026-12-20T08:30\n", "2026-12-20 08:30:00"), ("   ", None)],
)
def test_dbt_gets_the_revenue_horizon_as_checked(
    given: str, exported: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a horizon with the spaces or the newline a secret file leaves (dbt pastes it into SQL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTLEDGER_REVENUE_KNOWN_UNTIL", given)
    # when the settings are exported for dbt
    Settings.from_env().export_for_dbt()
    # then dbt gets the time the settings checked, which its SQL reads, or nothing for a blank
    assert os.environ.get("AGENTLEDGER_REVENUE_KNOWN_UNTIL") == exported
    if exported is not None:
        assert duckdb.sql(f"select timestamp '{exported}'").fetchone()[0] is not None


@pytest.mark.parametrize("environment", [{}, {"AGENTLEDGER_HOME": "elsewhere"}])
def test_dbt_falls_back_to_the_files_and_limit_the_settings_use(
    environment: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given no setting but perhaps the home (a hand `dbt` command: agentledger's own runs export the
    # resolved paths), in a working directory
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env(environment)
    jinja = jinja2.Environment(autoescape=False)  # noqa: S701 (YAML and SQL, not HTML)
    jinja.globals["env_var"] = lambda name, default=None: environment.get(name, default)
    project = Path(__file__).resolve().parents[2]

    # when dbt's fallbacks are rendered: the profile, and the baselines model's file
    profile = yaml.safe_load(jinja.from_string((project / "profiles.yml").read_text()).render())
    output = profile["agentledger"]["outputs"]["dev"]
    model = (project / "models/staging/baselines/stg_baselines__engagements.sql").read_text()
    expression = re.search(r"set baselines_file = (.+?) -%\}", model).group(1)
    baselines_file = jinja.from_string("{{ " + expression + " }}").render()

    # then they name the warehouse, memory limit and baselines file the pipeline uses
    assert Path(output["path"]).resolve() == settings.db_path
    assert output["settings"]["memory_limit"] == settings.duckdb_memory_limit
    assert Path(baselines_file).resolve() == settings.baselines_file
