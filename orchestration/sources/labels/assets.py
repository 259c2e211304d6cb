"""Dagster asset of the labels source: `raw/labels_reviews`."""

from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import pandera_gate
from orchestration.loading import RawTable, stage_text_records, write_partitions
from orchestration.partitions import daily_partitions, days_between, single_run, window_days
from orchestration.settings import get_settings
from orchestration.sources.labels.client import discover_label_files
from orchestration.sources.labels.parse import FIELDS, read_csv_labels, read_json_labels, type_labels
from orchestration.sources.labels.schemas import LABEL_COLUMNS, ReviewLabelRaw

LABELS = RawTable(source="labels", name="labels_reviews", columns=LABEL_COLUMNS, model=ReviewLabelRaw)
LABELS_KEY = dg.AssetKey(["raw", "labels_reviews"])


@dg.asset(
    key=LABELS_KEY,
    group_name="extract",
    kinds={"duckdb", "csv"},
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    description="One row per reviewer label written on the partition's day (and the lookback days "
    "before it, re-read every night because labels arrive up to 48 h late).",
)
def labels_reviews(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Re-read the label files of the window plus the lookback and replace those days' labels."""
    settings = get_settings()
    first, last = window_days(context)
    first = first - timedelta(days=settings.label_lookback_days)
    csv_files, json_files = discover_label_files(settings.labels_dir, first, last)
    records = [r for path in csv_files for r in read_csv_labels(path)]
    records += [r for path in json_files for r in read_json_labels(path)]
    context.log.info(f"{len(records)} label rows from {len(csv_files) + len(json_files)} files for {first}..{last}")
    with duckdb.get_connection() as conn:
        stage_text_records(conn, "_label_records", records, [*FIELDS, "_parse_error"])
        type_labels(conn, fallback_day=last.isoformat())
        report = write_partitions(
            conn, table=LABELS, candidates="_label_candidates", partitions=days_between(first, last)
        )
    report.extra["files"] = len(csv_files) + len(json_files)
    report.extra["labels_outside_window"] = len(records) - report.received
    return dg.MaterializeResult(metadata=report.as_metadata())


labels_gate = pandera_gate(
    asset_key=LABELS_KEY,
    relation=LABELS.qualified,
    model=ReviewLabelRaw,
    date_column="_partition_date",
    lookback_days=get_settings().label_lookback_days,
    quarantine_entity=LABELS.name,
)

assets = [labels_reviews]
asset_checks = [labels_gate]
