"""The nightly job over every asset, and its 02:00 UTC schedule for yesterday's partition."""

import dagster as dg

nightly_job = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    description="Extract the day's traces, labels, provider usage and CRM deals; build and gate the marts.",
    # One process, steps in sequence: no two steps ever hold the DuckDB file at once.
    executor_def=dg.in_process_executor,
)

nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_job,
    name="nightly_schedule",
    hour_of_day=2,
    minute_of_hour=0,
    description="02:00 UTC: materialize yesterday's partition (labels, usage and deals re-read a lookback).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
