"""dbt models as Dagster assets, run as one `dbt build` over the partition window.

The window reaches dbt as `--event-time-start/--event-time-end` (read by macros/window.sql), not as
`--vars`: a change of vars makes dbt drop partial parsing and re-parse everything (~6 s here),
while these flags leave the parse untouched.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from orchestration.dbt_state import dbt_invocation_folder
from orchestration.partitions import daily_partitions, single_run, window_days
from orchestration.resources import dbt_project
from orchestration.settings import get_settings
from orchestration.unpublished import record_build

LAYER_GROUPS = {"staging": "transform", "intermediate": "transform", "marts": "marts", "seeds": "seeds"}


class AgentledgerTranslator(DagsterDbtTranslator):
    """Asset keys are `[schema, name]` (e.g. `marts/fct_llm_calls`); groups follow the layer."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Group by layer so the graph reads extract → transform → marts → publish."""
        schema = dbt_resource_props.get("schema") or dbt_resource_props.get("config", {}).get("schema")
        return LAYER_GROUPS.get(schema, "transform")


def dbt_build_args(first: date, last: date) -> list[str]:
    """`dbt build` arguments for the partitions `first..last` (inclusive).

    dbt unit tests check the SQL on hand-written fixtures, not the night's data: they run in CI
    (tests/integration/test_dbt_unit_tests.py), not in every nightly build, where they were a fixed
    8-15 s of a one-day run (bench/RESULTS.md).
    """
    start = datetime.combine(first, time())
    end = datetime.combine(last + timedelta(days=1), time())
    return [
        "build", "--event-time-start", start.isoformat(), "--event-time-end", end.isoformat(),
        "--exclude-resource-type", "unit_test",
    ]  # fmt: skip


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=AgentledgerTranslator(
        settings=DagsterDbtTranslatorSettings(enable_code_references=False)
    ),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource):
    """Build seeds, staging, intermediate models and marts for the run's window, with dbt tests.

    The window is recorded as unpublished first (orchestration/unpublished.py): if this run's
    publish does not happen, the next one's covers these days. dbt writes to the warehouse's own
    folder (orchestration/dbt_state.py), which keeps its partial parse working from one night to
    the next.
    """
    first, last = window_days(context)
    with duckdb.get_connection() as conn:  # closed before dbt opens the warehouse
        record_build(conn, first, last, context.run.run_id)
    name = f"dbt_models-{context.run.run_id[:8]}-{uuid4().hex[:7]}"
    with dbt_invocation_folder(get_settings().db_path, name) as target_path:
        yield from dbt.cli(dbt_build_args(first, last), context=context, target_path=target_path).stream()
