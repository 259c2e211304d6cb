"""Read label files into flat text records, and type them in DuckDB."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import duckdb
import orjson

FIELDS = ("run_id", "outcome", "labeled_at", "reviewer", "rework_minutes", "escalated", "retry_of_run_id")


def _open_text(path: Path) -> io.TextIOBase:
    """The file as UTF-8 text, a leading byte-order mark dropped.

    Excel's "CSV UTF-8" starts the file with a BOM: read as plain UTF-8 it sticks to the first
    header name (every CSV row then lacks `run_id`) or the first JSON line (not JSON).
    """
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


def _delimiter(header: str) -> str:
    """The delimiter that splits the header into the most label fields: `,`, or Excel's `;` or a tab.

    Excel writes `;` where the decimal separator is a comma: read with `,`, every row of such a
    file lacked `labeled_at` and was quarantined for it, not for its delimiter.
    """
    names = {name.strip().lower() for name in FIELDS}
    return max(",;\t", key=lambda delimiter: len(names & {part.strip().lower() for part in header.split(delimiter)}))


def read_csv_labels(path: Path) -> Iterator[dict[str, object]]:
    """Yield one record per data row, with its file and line number; header names are case-folded."""
    with _open_text(path) as handle:
        header = handle.readline()
        reader = csv.DictReader(itertools.chain([header], handle), delimiter=_delimiter(header))
        if reader.fieldnames is None:
            return
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
        for row in reader:
            extra = row.pop(None, None)
            record: dict[str, object] = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
            record["_source_file"] = str(path)
            record["_line_number"] = reader.line_num
            if extra:
                record["_parse_error"] = f"row has {len(extra)} more fields than the header"
            yield record


def read_json_labels(path: Path) -> Iterator[dict[str, object]]:
    """Yield one record per JSON line; a line that is not a JSON object becomes an error record."""
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                record = {str(k).lower(): v for k, v in value.items()}
            else:
                record = {"_parse_error": "line is not a JSON object", "_line_text": line.strip()[:10000]}
            record["_source_file"] = str(path)
            record["_line_number"] = number
            yield record


TYPED_LABELS_SQL = """
create or replace temp table _label_candidates as
with typed as (
    select
        _row_id,
        _source_file,
        _line_number,
        _raw_record,
        _parse_error,
        nullif(run_id, '') as run_id,
        lower(nullif(outcome, '')) as outcome,
        nullif(labeled_at, '') as labeled_at_text,
        try_cast(nullif(labeled_at, '') as timestamptz) at time zone 'UTC' as labeled_at,
        nullif(reviewer, '') as reviewer,
        nullif(rework_minutes, '') as rework_minutes_text,
        try_cast(nullif(rework_minutes, '') as decimal(18, 4)) as rework_minutes,
        lower(nullif(escalated, '')) as escalated_text,
        case
            when lower(nullif(escalated, '')) in ('true', 't', '1', 'yes', 'y') then true
            when lower(nullif(escalated, '')) in ('false', 'f', '0', 'no', 'n') then false
        end as escalated,
        nullif(retry_of_run_id, '') as retry_of_run_id
    from _label_records
)

select
    * exclude (labeled_at_text, rework_minutes_text, escalated_text, _parse_error),
    coalesce(cast(labeled_at as date), date '{fallback_day}') as _partition_date,
    coalesce(
        _parse_error,
        case when labeled_at_text is not null and labeled_at is null
            then 'labeled_at: ' || labeled_at_text || ' is not a timestamp' end,
        case when rework_minutes_text is not null and rework_minutes is null
            then 'rework_minutes: ' || rework_minutes_text || ' is not a number' end,
        case when escalated_text is not null and escalated is null
            then 'escalated: ' || escalated_text || ' is not a boolean' end
    ) as _reject_reason
from typed
"""


def type_labels(conn: duckdb.DuckDBPyConnection, fallback_day: str) -> None:
    """Turn the staged text records (`_label_records`) into typed `_label_candidates`."""
    conn.execute("set TimeZone = 'UTC'")
    conn.execute(TYPED_LABELS_SQL.format(fallback_day=fallback_day))
