"""The nightly job and its 02:00 UTC schedule; the recompute job for days a late label or evaluation made stale."""

from datetime import date, timedelta

import dagster as dg
import duckdb

from orchestration.marts import DBT_LOOKBACK_DAYS
from orchestration.partitions import ALERTS_FROM_TAG, RANGE_END_TAG, RANGE_START_TAG, run_window_days
from orchestration.relabels import night_stale_run_days
from orchestration.settings import get_settings

nightly_job = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    description="Extract the day's traces, labels, provider usage and CRM deals; build and gate the marts.",
    # One process, steps in sequence: no two steps ever hold the DuckDB file at once.
    executor_def=dg.in_process_executor,
)

# What a late label or evaluation changes: the dbt models and everything built from them (gates, the published
# snapshot, alerts); the extracts of those days are already loaded and are not read again.
RECOMPUTE_SELECTION = dg.AssetSelection.groups("seeds", "transform", "marts").downstream()

recompute_job = dg.define_asset_job(
    name="recompute",
    selection=RECOMPUTE_SELECTION,
    description="Rebuild the dbt models and what depends on them for past days, without extracting again: "
    "the days whose runs a late label or evaluation made stale.",
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


def recompute_tags(stale_days: list[date], night_first: date, night_last: date) -> dict[str, str]:
    """Tags of the one recompute run after a night: from the first stale day through the night's last.

    Through the night's last day, because the findings over trailing history (cost anomalies over
    14–93 days) of every later day change with a corrected day. Alerts go out only for the night's
    own window (`ALERTS_FROM_TAG`).
    """
    return {
        RANGE_START_TAG: min(stale_days).isoformat(),
        RANGE_END_TAG: max(night_last, *stale_days).isoformat(),
        ALERTS_FROM_TAG: (night_first - timedelta(days=DBT_LOOKBACK_DAYS)).isoformat(),
    }


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[nightly_job],
    request_job=recompute_job,
    name="relabeled_runs_sensor",
    description="After a nightly run: recompute the past days whose runs a later label or evaluation corrected "
    "(later than dbt's lookback re-reads).",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def relabeled_runs_sensor(context: dg.RunStatusSensorContext):
    """Request one recompute run over the days `orchestration.relabels` finds stale.

    A warehouse it cannot read (another run holds it) skips this night's check; the check looks
    back a week of nights more than the loads reach (`relabels.recheck_since`), so the next nights
    find the same runs again.
    """
    window = run_window_days(context.dagster_run.tags)
    if window is None:
        return dg.SkipReason("the run had no partition window")
    settings = get_settings()
    try:
        stale = night_stale_run_days(settings, window[0], window[1], DBT_LOOKBACK_DAYS)
    except duckdb.Error as error:
        return dg.SkipReason(f"the warehouse could not be read ({type(error).__name__}); the next night checks again")
    if not stale:
        return dg.SkipReason("no run the check compared is stale")
    return dg.RunRequest(
        run_key=f"relabel-{context.dagster_run.run_id}",
        tags=recompute_tags([day for day, _ in stale], window[0], window[1]),
    )
