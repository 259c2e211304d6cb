"""The Dagster code location: sources, dbt models, gates, the jobs, the schedule and the sensor.

The recompute job rebuilds past days a late label or evaluation made stale; the sensor starts it.
"""

import dagster as dg

from orchestration.alerts import cost_anomaly_alerts
from orchestration.marts import mart_gates
from orchestration.publish import build_publish_assets
from orchestration.resources import dbt_project, make_resources, put_dbt_on_path
from orchestration.schedules import nightly_job, nightly_schedule, recompute_job, relabeled_runs_sensor
from orchestration.settings import get_settings
from orchestration.sources import registry
from orchestration.transform import dbt_models

put_dbt_on_path()  # for the preparation under `dagster dev` and `dg`, which runs the `dbt` on PATH
dbt_project.prepare_if_dev()

# Every asset up to the marts; the publish assets depend on each of them keyed `marts/…`.
ASSETS = [*registry.assets(), dbt_models]

defs = dg.Definitions(
    assets=[*ASSETS, *build_publish_assets(ASSETS), cost_anomaly_alerts],
    asset_checks=mart_gates,
    jobs=[nightly_job, recompute_job],
    schedules=[nightly_schedule],
    sensors=[relabeled_runs_sensor],
    resources=make_resources(get_settings()),
    executor=dg.in_process_executor,
)
