"""Dagster asset of the labels source: `raw/labels_reviews`."""

from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import PanderaGate
from orchestration.partitions import daily_partitions, single_run, window_days
from orchestration.settings import get_settings
from orchestration.sources.labels.load import LABELS, load_labels
from orchestration.sources.labels.schemas import ReviewLabelRaw

LABELS_KEY = dg.AssetKey(["raw", "labels_reviews"])

labels_gate = PanderaGate(
    asset_key=LABELS_KEY,
    relation=LABELS.qualified,
    model=ReviewLabelRaw,
    date_column="_partition_date",
    lookback_days=get_settings().label_lookback_days,
    quarantine_entity=LABELS.name,
)


@dg.asset(
    key=LABELS_KEY,
    group_name="extract",
    kinds={"duckdb", "csv"},
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=[labels_gate.spec],
    description="One row per reviewer label written on the partition's day (and the lookback days "
    "before it, re-read every night because labels arrive up to 48 h late).",
)
def labels_reviews(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Re-read the label files of the window plus the lookback and replace those days' labels."""
    settings = get_settings()
    first, last = window_days(context)
    first = first - timedelta(days=settings.label_lookback_days)
    with duckdb.get_connection() as conn:
        report = load_labels(
            conn, settings.labels_dir, first, last, progress=context.log.info, warn=context.log.warning
        )
        gate = labels_gate.evaluate(conn, context.run.tags, context.log.error)
    return dg.MaterializeResult(metadata=report.as_metadata(), check_results=[gate])


assets = [labels_reviews]
