"""dbt's `lookback_days` var is read from dbt_project.yml: gates, snapshot and alerts follow it."""

from pathlib import Path

import pytest
import yaml

from orchestration.marts import DAY_PARTITIONED_MARTS, DBT_LOOKBACK_DAYS, read_dbt_lookback_days
from orchestration.settings import PROJECT_ROOT


def test_the_constant_is_dbts_var() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    assert project["vars"]["lookback_days"] == DBT_LOOKBACK_DAYS
    assert DAY_PARTITIONED_MARTS["fct_llm_calls"][1] == DBT_LOOKBACK_DAYS


def test_a_changed_var_is_followed(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project.yml"
    project.write_text("name: x\nvars:\n  lookback_days: 5\n")
    assert read_dbt_lookback_days(project) == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nvars:\n  other: 1\n", "sets no `lookback_days` under `vars:`"),
        ("name: x\n", "sets no `lookback_days` under `vars:`"),
        ("vars:\n  lookback_days: three\n", "`lookback_days` is 'three', not a whole number of days"),
        ("vars:\n  lookback_days: true\n", "`lookback_days` is True, not a whole number of days"),
        ("vars:\n  lookback_days: -1\n", "`lookback_days` is -1, not a whole number of days"),
        ("vars: [\n", "cannot read dbt's `lookback_days` var"),
    ],
)
def test_a_missing_or_invalid_var_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    project = tmp_path / "dbt_project.yml"
    project.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_dbt_lookback_days(project)


def test_a_missing_project_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read dbt's `lookback_days` var from"):
        read_dbt_lookback_days(tmp_path / "dbt_project.yml")
