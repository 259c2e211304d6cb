"""Daily UTC partitions and the partition window of a run.

A range (backfill, demo) runs as one Dagster run over all its partitions (single-run backfill
policy): a run has a fixed cost of tens of seconds here, so one run per day would multiply it.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from orchestration.settings import get_settings

single_run = dg.BackfillPolicy.single_run()
# Backfill policies are "beta" in Dagster 1.13; we depend on single-run backfills on purpose.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
# On a recompute run (late labels or evaluations): the first day whose new findings may be alerted,
# the night's own window (with dbt's lookback); the older days it rebuilds have been alerted on.
ALERTS_FROM_TAG = "agentledger/alerts_from"


def __getattr__(name: str) -> object:
    """`daily_partitions`, built on first use from AGENTLEDGER_START_DATE.

    Not at import: the CLI imports this module, and an invalid setting must reach it as an error
    it reports (exit 2), not as a traceback while importing.
    """
    if name == "daily_partitions":
        partitions = dg.DailyPartitionsDefinition(
            start_date=get_settings().start_date.isoformat(), timezone="UTC", end_offset=0
        )
        globals()[name] = partitions  # built once: every asset shares the same definition
        return partitions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def window_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions an asset step materializes."""
    window = context.partition_time_window
    first = window.start.date()
    last = (window.end - timedelta(days=1)).date()
    return first, last


def run_window_days(tags: dict[str, str]) -> tuple[date, date] | None:
    """First and last day of a run from its tags; None for an unpartitioned run.

    Asset checks read the window this way: their context has the run, not a partition window.
    """
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
    if PARTITION_TAG in tags:
        day = date.fromisoformat(tags[PARTITION_TAG])
        return day, day
    return None


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, inclusive."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def yesterday(now: datetime | None = None) -> date:
    """The last complete UTC day: what the nightly run materializes by default."""
    now = now or datetime.now(tz=UTC)
    return (now - timedelta(days=1)).date()


def check_partition_days(first: date, last: date, start_date: date, now: datetime | None = None) -> None:
    """Refuse days that are not daily partitions, before a run is launched.

    Dagster would start the run and fail every partitioned step with a `CheckError` invariant; a
    day before AGENTLEDGER_START_DATE or not yet complete (today, a future day) is a mistake to
    name instead.

    Raises:
        ValueError: `first` is before `start_date`, or `last` is after the last complete UTC day.
    """
    if first < start_date:
        raise ValueError(f"{first} is before the first daily partition, AGENTLEDGER_START_DATE={start_date}")
    last_complete = yesterday(now)
    if last > last_complete:
        raise ValueError(f"{last} is not a complete UTC day yet: the last daily partition is {last_complete}")
