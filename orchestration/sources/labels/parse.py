"""Read label files into flat text records, and type them in DuckDB."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import orjson

from orchestration.loading import utc_timestamp_sql

FIELDS = ("run_id", "outcome", "labeled_at", "reviewer", "rework_minutes", "escalated", "retry_of_run_id")


# What a file that cannot be read to its end (a truncated or corrupt gzip) raises while it is read.
UNREADABLE = (OSError, EOFError, zlib.error)
NOT_UTF8 = "line is not valid UTF-8 (export the file as UTF-8, e.g. Excel's \"CSV UTF-8\")"
_DECIMAL_COMMA = re.compile(r"[0-9]+,[0-9]+")


def _open_text(path: Path) -> io.TextIOBase:
    """The file as UTF-8 text, a leading byte-order mark dropped, bytes that are not UTF-8 kept apart.

    Excel's "CSV UTF-8" starts the file with a BOM: read as plain UTF-8 it sticks to the first
    header name (every CSV row then lacks `run_id`) or the first JSON line (not JSON). Excel's
    plain "CSV" on Windows writes cp1252 (`José`): a strict decoder stopped the whole load on it,
    every label of every file; with `surrogateescape` such a line reads on, and `_not_utf8`
    quarantines it alone.
    """
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="surrogateescape", newline="")
    return path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")


def _not_utf8(text: str) -> bool:
    """Whether `text` holds bytes that were not UTF-8 (read as lone surrogates by `_open_text`)."""
    return any("\udc80" <= char <= "\udcff" for char in text)


def _shown(value: object) -> object:
    """`value` with bytes that were not UTF-8 shown as U+FFFD, so it can be stored in a quarantine row."""
    if isinstance(value, str) and _not_utf8(value):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def _unreadable(path: Path, line_number: int, error: Exception) -> dict[str, object]:
    """The record of a file that stops being readable after `line_number` (its earlier lines load)."""
    return {
        "_parse_error": f"file cannot be read after line {line_number} ({type(error).__name__}: {error})",
        "_source_file": str(path),
        "_line_number": line_number + 1,
    }


# What csv.DictReader gives a field a short row does not reach (None would pass for an empty field).
_MISSING = object()


def _remembering_last(lines: Iterator[str], last: list[str]) -> Iterator[str]:
    """`lines`, keeping the latest one read in `last[0]`: the csv reader's row ended on it."""
    for line in lines:
        last[0] = line
        yield line


def _delimiter(header: str) -> str:
    """The delimiter that splits the header into the most label fields: `,`, or Excel's `;` or a tab.

    Excel writes `;` where the decimal separator is a comma: read with `,`, every row of such a
    file lacked `labeled_at` and was quarantined for it, not for its delimiter.
    """
    names = {name.strip().lower() for name in FIELDS}
    return max(",;\t", key=lambda delimiter: len(names & {part.strip().lower() for part in header.split(delimiter)}))


def read_csv_labels(path: Path) -> Iterator[dict[str, object]]:
    """Yield one record per data row, with its file and line number; header names are case-folded.

    A file separated by `;` is Excel's where the decimal separator is a comma: its `7,5` rework
    minutes are 7.5.
    """
    line_number = 0
    try:
        with _open_text(path) as handle:
            header = handle.readline()
            delimiter = _delimiter(header)
            last_line = [header]
            reader = csv.DictReader(
                _remembering_last(itertools.chain([header], handle), last_line), delimiter=delimiter, restval=_MISSING
            )
            if reader.fieldnames is None:
                return
            reader.fieldnames = [_shown(name.strip().lower()) for name in reader.fieldnames]
            for row in reader:
                line_number = reader.line_num
                extra = row.pop(None, None)
                missing = [name for name, value in row.items() if value is _MISSING]
                record: dict[str, object] = {
                    k: (v.strip() if isinstance(v, str) else None) for k, v in row.items()
                }
                minutes = record.get("rework_minutes")
                if delimiter == ";" and isinstance(minutes, str) and _DECIMAL_COMMA.fullmatch(minutes):
                    record["rework_minutes"] = minutes.replace(",", ".")
                if any(isinstance(value, str) and _not_utf8(value) for value in record.values()):
                    record = {key: _shown(value) for key, value in record.items()}
                    record["_parse_error"] = NOT_UTF8
                elif extra:
                    record["_parse_error"] = f"row has {len(extra)} more fields than the header"
                elif missing and not last_line[0].endswith(("\n", "\r")):
                    # a file cut off mid-write ends in such a row, its last field read short (66 → 6); a
                    # short row that ends its line is whole (Excel leaves out empty trailing fields)
                    record["_parse_error"] = (
                        f"the file ends in a row of {len(missing)} fewer fields than the header (no "
                        f"{', '.join(missing)}) and no line end: cut off mid-write"
                    )
                record["_source_file"] = str(path)
                record["_line_number"] = line_number
                yield record
    except UNREADABLE as error:
        yield _unreadable(path, line_number, error)


def read_json_labels(path: Path) -> Iterator[dict[str, object]]:
    """Yield one record per JSON line; a line that is not a JSON object becomes an error record.

    Text values are trimmed, as a CSV's are: `" wr_1 "` names run `wr_1`.
    """
    number = 0
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if _not_utf8(line):
                    yield {"_parse_error": NOT_UTF8, "_line_text": _shown(line.strip()[:10000]),
                           "_source_file": str(path), "_line_number": number}
                    continue
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:
                    value = None
                if isinstance(value, dict):
                    record = {str(k).lower(): (v.strip() if isinstance(v, str) else v) for k, v in value.items()}
                else:
                    record = {"_parse_error": "line is not a JSON object", "_line_text": line.strip()[:10000]}
                record["_source_file"] = str(path)
                record["_line_number"] = number
                yield record
    except UNREADABLE as error:
        yield _unreadable(path, number, error)



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
        -- only a time with an offset or a zone is read as one (orchestration.loading.utc_timestamp_sql)
        {labeled_at} as labeled_at,
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
    labeled_at = utc_timestamp_sql("nullif(labeled_at, '')")
    conn.execute(TYPED_LABELS_SQL.format(fallback_day=fallback_day, labeled_at=labeled_at))
