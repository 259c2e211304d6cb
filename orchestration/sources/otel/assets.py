"""Dagster assets of the trace source: `raw/otel_spans` and `raw/otel_eval_events`."""


from collections import defaultdict
from datetime import date
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import pandera_gate
from orchestration.loading import RawTable, write_partitions
from orchestration.partitions import daily_partitions, days_between, single_run, window_days
from orchestration.settings import get_settings
from orchestration.sources.otel import parse
from orchestration.sources.otel.client import TraceFile, discover_trace_files
from orchestration.sources.otel.schemas import EVAL_EVENT_COLUMNS, SPAN_COLUMNS, OtelEvalEventRaw, OtelSpanRaw

SPANS = RawTable(source="otel", name="otel_spans", columns=SPAN_COLUMNS, model=OtelSpanRaw)
EVAL_EVENTS = RawTable(source="otel", name="otel_eval_events", columns=EVAL_EVENT_COLUMNS, model=OtelEvalEventRaw)

SPANS_KEY = dg.AssetKey(["raw", "otel_spans"])
EVAL_EVENTS_KEY = dg.AssetKey(["raw", "otel_eval_events"])


def _chunks(files: list[TraceFile], last: date) -> list[tuple[str, list[Path]]]:
    """Files grouped by the day they are dated (undated ones under the load's last day).

    One chunk is parsed per DuckDB statement, so memory follows one day of files, not the range.
    """
    grouped: dict[date, list[Path]] = defaultdict(list)
    for trace_file in files:
        grouped[trace_file.day or last].append(trace_file.path)
    return [(day.isoformat(), paths) for day, paths in sorted(grouped.items())]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            SPANS_KEY,
            group_name="extract",
            kinds={"duckdb", "opentelemetry"},
            description="One row per span started on the partition's UTC day, from OTLP/JSON trace files. "
            "Prompt and completion text is stripped unless AGENTLEDGER_KEEP_CONTENT=1.",
        ),
        dg.AssetSpec(
            EVAL_EVENTS_KEY,
            group_name="extract",
            kinds={"duckdb", "opentelemetry"},
            description="One row per gen_ai.evaluation.result event (span event or log record) of the day.",
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    can_subset=False,
)
def otel_traces(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Parse the window's trace and log files inside DuckDB and load them idempotently per day."""
    settings = get_settings()
    first, last = window_days(context)
    days = days_between(first, last)
    files = discover_trace_files(settings.traces_dir, first, last, settings.trace_lookback_days)
    chunks = _chunks(files, last)
    context.log.info(f"{len(files)} trace/log files for {first}..{last} in {len(chunks)} chunks")

    totals = {"lines": 0, "bad_lines": 0, "other_log_records": 0}
    with duckdb.get_connection() as conn:
        parse.create_macros(conn, keep_content=settings.keep_content)
        parse.create_staging_tables(conn)
        for number, (day, paths) in enumerate(chunks, start=1):
            counts = parse.stage_files(conn, paths, fallback_day=day)
            for key, value in counts.items():
                totals[key] += value
            if number % 10 == 0 or number == len(chunks):
                context.log.info(f"parsed {number}/{len(chunks)} chunks ({totals['lines']} lines)")
        conn.execute(
            f"delete from _otel_rejected_lines where _partition_date not between date '{first}' and date '{last}'"
        )
        duplicates = parse.mark_duplicate_spans(conn)
        outside = conn.execute(
            f"select count(*) from _otel_span_candidates where _partition_date not between "
            f"date '{first}' and date '{last}'"
        ).fetchone()[0]
        parse.stage_span_events(conn)
        spans = write_partitions(
            conn,
            table=SPANS,
            candidates="_otel_span_candidates",
            partitions=days,
            rejected_lines="_otel_rejected_lines",
            raw_records=parse.fill_raw_spans,
        )
        evaluations = write_partitions(
            conn, table=EVAL_EVENTS, candidates="_otel_eval_candidates", partitions=days
        )
    spans.extra.update(
        {
            "files": len(files),
            "lines": totals["lines"],
            "duplicate_exports": duplicates,
            "spans_of_other_days": outside,
            "keep_content": settings.keep_content,
        }
    )
    evaluations.extra["other_log_records_ignored"] = totals["other_log_records"]
    context.log.info(
        f"spans: received {spans.received}, loaded {spans.loaded}, quarantined {spans.quarantined}; "
        f"evaluations: loaded {evaluations.loaded}, quarantined {evaluations.quarantined}"
    )
    yield dg.MaterializeResult(asset_key=SPANS_KEY, metadata=spans.as_metadata())
    yield dg.MaterializeResult(asset_key=EVAL_EVENTS_KEY, metadata=evaluations.as_metadata())


spans_gate = pandera_gate(
    asset_key=SPANS_KEY,
    relation=SPANS.qualified,
    model=OtelSpanRaw,
    date_column="_partition_date",
    quarantine_entity=SPANS.name,
)
eval_events_gate = pandera_gate(
    asset_key=EVAL_EVENTS_KEY,
    relation=EVAL_EVENTS.qualified,
    model=OtelEvalEventRaw,
    date_column="_partition_date",
    quarantine_entity=EVAL_EVENTS.name,
)

assets = [otel_traces]
asset_checks = [spans_gate, eval_events_gate]
