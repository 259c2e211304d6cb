"""Resources: the warehouse (DuckDB) and dbt, both pointed at the path the settings resolve."""

from __future__ import annotations

from dagster_dbt import DbtCliResource, DbtProject
from dagster_duckdb import DuckDBResource

from orchestration.settings import PROJECT_ROOT, Settings

dbt_project = DbtProject(project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT)


def make_resources(settings: Settings) -> dict[str, object]:
    """Resources for `Definitions`; dbt sees the same warehouse through AGENTLEDGER_DB."""
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    settings.export_for_dbt()
    return {
        "duckdb": DuckDBResource(database=str(settings.db_path)),
        "dbt": DbtCliResource(project_dir=dbt_project),
    }
