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
    """An RFC 3339 timestamp (`2026-05-01T00:00:00Z`) as a naive UTC datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def rfc3339_window(first: date, last: date) -> list[tuple[str, str]]:
    """`starting_at` / `ending_at` of days `first..last`: midnight UTC, the end exclusive (the day after `last`)."""
    return [
        ("starting_at", f"{datetime.combine(first, time()).isoformat()}Z"),
        ("ending_at", f"{datetime.combine(last + timedelta(days=1), time()).isoformat()}Z"),
    ]


def rfc3339_bucket_records(
    pages: Iterable[dict[str, Any]], flatten: Callable[[dict[str, Any]], dict[str, Any]] = dict
) -> Iterator[dict[str, Any]]:
    """One flat record per (bucket, result) of pages whose buckets run `starting_at` → `ending_at` (RFC 3339).

    Each record carries its bucket's bounds (naive UTC) and `_partition_date`, the bucket's UTC day.
    """
    for page in pages:
        for bucket in page["data"]:
            starting_at = rfc3339_to_utc(bucket.get("starting_at"))
            ending_at = rfc3339_to_utc(bucket.get("ending_at"))
            for result in bucket.get("results") or []:
                yield {
                    **flatten(result),
                    "bucket_starting_at": starting_at,
                    "bucket_ending_at": ending_at,
                    "_partition_date": starting_at.date() if starting_at else None,
                }


def _sql_type(declared: str) -> str:
    return declared.lower().replace("not null", "").strip()


def typed_candidates_sql(table: RawTable, records: str, candidates: str) -> str:
    """SQL turning all-text staged records into typed candidates, naming each value of the wrong type.

    A value that does not cast becomes NULL and its row carries `_reject_reason`
    ("input_tokens: 'abc' is not bigint"), so the loader quarantines that row with the field named
    instead of failing the whole load or loading half a row.
    """
    columns = [name for name in table.columns if name not in LOADER_COLUMNS]
    typed = []
    reasons = []
    for name in columns:
        sql_type = _sql_type(table.columns[name])
        value = f"nullif(trim({name}), '')"
        typed.append(f"try_cast({value} as {sql_type}) as {name}")
        reasons.append(
            f"case when {value} is not null and try_cast({value} as {sql_type}) is null "
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
    bucket is empty, so rows an earlier pull stored for it are gone now.
    """
    fields = [name for name in table.columns if name not in LOADER_COLUMNS]
    staged = [{key: text(value) for key, value in record.items()} for record in records]
    stage_text_records(conn, f"_{table.name}_records", staged, fields)
    conn.execute(typed_candidates_sql(table, f"_{table.name}_records", f"_{table.name}_candidates"))
    report = write_partitions(
        conn, table=table, candidates=f"_{table.name}_candidates", partitions=days_between(first, last)
    )
    report.extra["records_outside_window"] = len(records) - report.received
    return report
