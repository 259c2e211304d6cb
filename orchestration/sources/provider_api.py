"""What every provider usage/cost API source shares: the re-pulled window, typing, skipping when unset.

Providers restate recent buckets (late usage, corrections), so each nightly run re-pulls the
partition window plus `AGENTLEDGER_PROVIDER_LOOKBACK_DAYS` (default 7) and replaces those days'
rows whole: a restated bucket replaces the old one, a bucket that vanished is deleted, nothing is
counted twice. A source whose key is unset is skipped with one log line; its raw tables are still
created (empty) so the staging models over them build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import duckdb
import orjson
import requests

from orchestration.http import ApiConfig, ApiError, ApiSource, get_json
from orchestration.loading import LoadReport, RawTable, ensure_table, stage_text_records, write_partitions
from orchestration.partitions import days_between, window_days
from orchestration.settings import get_settings

# Columns the loader fills itself rather than the source's records.
LOADER_COLUMNS = ("_extracted_at", "_source_file", "_line_number")


def fetch_window(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The days a run re-pulls: its partitions plus the provider lookback before them."""
    first, last = window_days(context)
    return first - timedelta(days=get_settings().provider_lookback_days), last


def iter_pages(
    session: requests.Session,
    config: ApiConfig,
    path: str,
    params: Sequence[tuple[str, Any]],
    headers: Mapping[str, str],
) -> Iterator[dict[str, Any]]:
    """Yield every page of a report, following `next_page` (sent back as `page`) until `has_more` is false.

    Anthropic's and OpenAI's usage and cost reports page this way (reference §A.1, §B.1).

    Raises:
        ApiError: A page without a `data` list, or one that says `has_more` without a new
            `next_page` (following it would loop forever).
    """
    seen: set[str] = set()
    page: str | None = None
    while True:
        query = [*params, ("page", page)] if page else list(params)
        body = get_json(session, config, path, params=query, headers=headers)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ApiError(f"{config.source.name}: {path} answered without a `data` list; is this the right API?")
        yield body
        if not body.get("has_more"):
            return
        page = body.get("next_page")
        if not page or page in seen:
            raise ApiError(f"{config.source.name}: {path} says has_more but gives no new next_page")
        seen.add(page)


def skip_unconfigured(
    conn: duckdb.DuckDBPyConnection, source: ApiSource, tables: Sequence[RawTable], log: Callable[[str], None]
) -> dict[str, Any]:
    """Create the source's raw tables if missing and say, in one line, why nothing was loaded."""
    for table in tables:
        ensure_table(conn, table)
    log(f"{source.name}: {source.key_setting} is not set; skipped (set it to load {', '.join(t.name for t in tables)})")
    return {"skipped": f"{source.key_setting} is not set"}


def text(value: Any) -> str | None:
    """A JSON value as the text the loader stages: exact decimals, lower-case booleans, JSON for objects."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def rfc3339_to_utc(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp (`2026-05-01T00:00:00Z`) as a naive UTC datetime.

    Raises:
        ValueError: `value` is not an RFC 3339 timestamp (`rfc3339_or_text` keeps it instead).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def rfc3339_or_text(value: Any) -> datetime | Any:
    """`value` as a naive UTC datetime, or as received when it is not one.

    A value kept as received is staged as text, and the typed-candidates SQL quarantines its record
    naming the field (`bucket_starting_at: abc is not timestamp`) instead of failing the whole run.
    """
    try:
        return rfc3339_to_utc(value)
    except ValueError:
        return value


def record_origin(path: str, page: int, bucket: int) -> str:
    """Where a record came from, kept as its `_source_file` (its `_line_number` is the result's number)."""
    return f"{path} page {page} bucket {bucket}"


def malformed_result(value: Any, what: str, origin: str, number: int) -> dict[str, Any]:
    """A record standing for a bucket or result that is not a JSON object: kept whole, to be quarantined."""
    return {
        "_line_text": text(value),
        "_source_file": origin,
        "_line_number": number,
        "_partition_date": None,
        "_reject_reason": f"{what}: not a JSON object",
    }


def rfc3339_window(first: date, last: date) -> list[tuple[str, str]]:
    """`starting_at` / `ending_at` of days `first..last`: midnight UTC, the end exclusive (the day after `last`)."""
    return [
        ("starting_at", f"{datetime.combine(first, time()).isoformat()}Z"),
        ("ending_at", f"{datetime.combine(last + timedelta(days=1), time()).isoformat()}Z"),
    ]


def bucket_results(
    pages: Iterable[dict[str, Any]], path: str, build: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """One record per (bucket, result) of a usage or cost report's pages, built by `build(bucket, result)`.

    Each carries where it came from (`_source_file` = path, page and bucket; `_line_number` = the
    result's number in the bucket). Nothing here raises on one bad bucket: a bucket, a `results` or
    a result that is not what the API documents becomes a record to quarantine (`malformed_result`),
    and the rest load.
    """
    for page_number, page in enumerate(pages, start=1):
        for bucket_number, bucket in enumerate(page["data"], start=1):
            origin = record_origin(path, page_number, bucket_number)
            if not isinstance(bucket, dict):
                yield malformed_result(bucket, "bucket", origin, 0)
                continue
            results = bucket.get("results")
            if results is not None and not isinstance(results, list):
                yield malformed_result(bucket, "results", origin, 0)
                continue
            for number, result in enumerate(results or [], start=1):
                if not isinstance(result, dict):
                    yield malformed_result(result, f"results[{number - 1}]", origin, number)
                    continue
                yield {**build(bucket, result), "_source_file": origin, "_line_number": number}


def rfc3339_bucket_records(
    pages: Iterable[dict[str, Any]],
    flatten: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    path: str = "report",
) -> Iterator[dict[str, Any]]:
    """One flat record per (bucket, result) of pages whose buckets run `starting_at` → `ending_at` (RFC 3339).

    Each record carries its bucket's bounds (naive UTC) and `_partition_date`, the bucket's UTC day,
    plus where it came from (`bucket_results`). A bound that is not a timestamp is kept as
    received, and a bucket without a usable `starting_at` has no day (`load_records` quarantines it).
    """

    def build(bucket: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        starting_at = rfc3339_or_text(bucket.get("starting_at"))
        return {
            **flatten(result),
            "bucket_starting_at": starting_at,
            "bucket_ending_at": rfc3339_or_text(bucket.get("ending_at")),
            "_partition_date": starting_at.date() if isinstance(starting_at, datetime) else None,
        }

    yield from bucket_results(pages, path, build)


# Integer column types, all within the 20 whole digits of the decimal(38, 18) that `_try_cast` checks with.
INTEGER_TYPES = frozenset(
    {"tinyint", "smallint", "integer", "int", "bigint", "utinyint", "usmallint", "uinteger", "ubigint"}
)


def _sql_type(declared: str) -> str:
    return declared.lower().replace("not null", "").strip()


def _try_cast(value: str, sql_type: str) -> str:
    """`try_cast`, except that an integer column takes only whole numbers.

    DuckDB casts text to an integer by rounding ('1.5' → 2, '100.6' → 101), which would load a
    fractional token count as a different number with no trace. A whole number written as a decimal
    or with an exponent (`100.0`, `1e3`) is the same count, so it is kept, as the trace loader
    keeps one (`orchestration/sources/otel/parse.py`); the test is exact (decimal, not double).
    """
    cast = f"try_cast({value} as {sql_type})"
    if sql_type not in INTEGER_TYPES:
        return cast
    return f"case when try_cast({value} as decimal(38, 18)) = {cast} then {cast} end"


def typed_candidates_sql(table: RawTable, records: str, candidates: str, prior_reason: str | None = None) -> str:
    """SQL turning all-text staged records into typed candidates, naming each value of the wrong type.

    A value that does not cast becomes NULL and its row carries `_reject_reason`
    ("input_tokens: abc is not bigint"), so the loader quarantines that row with the field named
    instead of failing the whole load or loading half a row. An integer column takes whole numbers
    only, `100.0` and `1e3` included (`_try_cast`): "output_tokens: 12.5 is not bigint".
    `prior_reason` names a text column of `records` holding a reason the source already found (it
    comes first in `_reject_reason`).
    """
    columns = [name for name in table.columns if name not in LOADER_COLUMNS]
    typed = []
    reasons = [prior_reason] if prior_reason else []
    for name in columns:
        sql_type = _sql_type(table.columns[name])
        value = f"nullif(trim({name}), '')"
        cast = _try_cast(value, sql_type)
        typed.append(f"{cast} as {name}")
        reasons.append(
            f"case when {value} is not null and {cast} is null "
            f"then '{name}: ' || left({name}, 80) || ' is not {sql_type}' end"
        )
    return (
        f"create or replace temp table {candidates} as select _row_id, _source_file, _line_number, _raw_record, "
        + ", ".join(typed)
        + f", nullif(concat_ws('; ', {', '.join(reasons)}), '') as _reject_reason from {records}"
    )


def load_records(
    conn: duckdb.DuckDBPyConnection,
    table: RawTable,
    records: Sequence[Mapping[str, Any]],
    first: date,
    last: date,
) -> LoadReport:
    """Replace days `first..last` of `table` with `records` (flat dicts carrying `_partition_date`).

    Every day of the window is replaced, including days with no records: the provider said the
    bucket is empty, so rows an earlier pull stored for it are gone now. A record the source could
    not place on a day (no or a bad bucket start) is quarantined under `last`, the window's last
    day, with the reason: it is replaced with that day, never dropped. A record may carry a
    `_reject_reason` the client found (a cents amount that is not a number).
    """
    fields = [name for name in table.columns if name not in LOADER_COLUMNS]
    staged = []
    for record in records:
        row = {key: text(value) for key, value in record.items() if key != "_line_number"}
        row["_line_number"] = record.get("_line_number")
        reasons = [str(record["_reject_reason"])] if record.get("_reject_reason") else []
        if not isinstance(record.get("_partition_date"), date):
            row["_partition_date"] = last.isoformat()
            if "_line_text" not in record:
                reasons.append(
                    f"_partition_date: no day (the bucket's start is missing or not a time; kept under {last}, "
                    "the last day pulled)"
                )
        row["_source_reason"] = "; ".join(reasons) or None
        staged.append(row)
    stage_text_records(conn, f"_{table.name}_records", staged, [*fields, "_source_reason"])
    conn.execute(
        typed_candidates_sql(table, f"_{table.name}_records", f"_{table.name}_candidates", "_source_reason")
    )
    report = write_partitions(
        conn, table=table, candidates=f"_{table.name}_candidates", partitions=days_between(first, last)
    )
    report.extra["records_outside_window"] = len(records) - report.received
    return report
