"""The Dagster code location: sources, dbt models, gates, the nightly job and its schedule."""

import dagster as dg

from orchestration.marts import mart_gates
from orchestration.resources import dbt_project, make_resources
from orchestration.schedules import nightly_job, nightly_schedule
from orchestration.settings import get_settings
from orchestration.sources import registry
from orchestration.transform import dbt_models

dbt_project.prepare_if_dev()

defs = dg.Definitions(
    assets=[*registry.assets(), dbt_models],
    asset_checks=[*registry.asset_checks(), *mart_gates],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    resources=make_resources(get_settings()),
    executor=dg.in_process_executor,
)
