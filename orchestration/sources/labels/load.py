"""Load a window of review labels into `raw.labels_reviews`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from orchestration.loading import LoadReport, RawTable, stage_text_records, write_partitions
from orchestration.partitions import days_between
from orchestration.sources.labels.client import discover_label_files
from orchestration.sources.labels.parse import FIELDS, read_csv_labels, read_json_labels, type_labels
from orchestration.sources.labels.schemas import LABEL_COLUMNS, ReviewLabelRaw

LABELS = RawTable(source="labels", name="labels_reviews", columns=LABEL_COLUMNS, model=ReviewLabelRaw)


def load_labels(
    conn: duckdb.DuckDBPyConnection,
    labels_dir: Path,
    first: date,
    last: date,
    progress: Callable[[str], None] = lambda message: None,
) -> LoadReport:
    """Read the label files that can hold labels written on `first..last`; replace those days."""
    csv_files, json_files = discover_label_files(labels_dir, first, last)
    records = [r for path in csv_files for r in read_csv_labels(path)]
    records += [r for path in json_files for r in read_json_labels(path)]
    progress(f"{len(records)} label rows from {len(csv_files) + len(json_files)} files for {first}..{last}")
    stage_text_records(conn, "_label_records", records, [*FIELDS, "_parse_error"])
    type_labels(conn, fallback_day=last.isoformat())
    report = write_partitions(conn, table=LABELS, candidates="_label_candidates", partitions=days_between(first, last))
    report.extra["files"] = len(csv_files) + len(json_files)
    report.extra["labels_of_other_days"] = len(records) - report.received
    return report
