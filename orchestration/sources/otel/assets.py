"""Dagster assets of the trace source: `raw/otel_spans`, `raw/otel_eval_events` and `raw/otel_quarantined_spans`."""

from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.checks import PanderaGate
from orchestration.marts import DBT_LOOKBACK_DAYS
from orchestration.partitions import daily_partitions, single_run, window_days
from orchestration.settings import get_settings
from orchestration.sources.otel.load import EVAL_EVENTS, SPANS, load_traces
from orchestration.sources.otel.schemas import (
    EVAL_EVENT_ROW_CHECKS_SQL,
    SPAN_ROW_CHECKS_SQL,
    OtelEvalEventRaw,
    OtelSpanRaw,
)

SPANS_KEY = dg.AssetKey(["raw", "otel_spans"])
EVAL_EVENTS_KEY = dg.AssetKey(["raw", "otel_eval_events"])
QUARANTINED_SPANS_KEY = dg.AssetKey(["raw", "otel_quarantined_spans"])

spans_gate = PanderaGate(
    asset_key=SPANS_KEY,
    relation=SPANS.qualified,
    model=OtelSpanRaw,
    date_column="_partition_date",
    quarantine_entity=SPANS.name,
    sql_row_checks=SPAN_ROW_CHECKS_SQL,
    lookback_days=get_settings().trace_lookback_days,
)
eval_events_gate = PanderaGate(
    asset_key=EVAL_EVENTS_KEY,
    relation=EVAL_EVENTS.qualified,
    model=OtelEvalEventRaw,
    date_column="_partition_date",
    quarantine_entity=EVAL_EVENTS.name,
    sql_row_checks=EVAL_EVENT_ROW_CHECKS_SQL,
    lookback_days=get_settings().trace_lookback_days,
)


def check_trace_lookback(trace_lookback_days: int) -> None:
    """Stop when spans would be reloaded into days dbt's nightly window does not rebuild.

    A nightly reloads the trace lookback's days; dbt recomputes its `lookback_days` var's. Spans
    reloaded further back would sit in `raw.otel_spans` and never reach the marts, and a backfill
    would then disagree with the nightlies.

    Raises:
        ValueError: `AGENTLEDGER_TRACE_LOOKBACK_DAYS` exceeds dbt's `lookback_days`.
    """
    if trace_lookback_days > DBT_LOOKBACK_DAYS:
        raise ValueError(
            f"AGENTLEDGER_TRACE_LOOKBACK_DAYS is {trace_lookback_days}, but dbt rebuilds only the "
            f"{DBT_LOOKBACK_DAYS} days before a night (`lookback_days` in dbt_project.yml): spans reloaded "
            f"further back would never reach the marts; set it to at most {DBT_LOOKBACK_DAYS}, or raise lookback_days"
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            SPANS_KEY,
            group_name="extract",
            kinds={"duckdb", "opentelemetry"},
            description="One row per span started on the partition's UTC day, from OTLP/JSON trace files; "
            "each run loads the trace lookback's days before it again, for spans exported late. "
            "Prompt and completion text is stripped unless AGENTLEDGER_KEEP_CONTENT=1.",
        ),
        dg.AssetSpec(
            EVAL_EVENTS_KEY,
            group_name="extract",
            kinds={"duckdb", "opentelemetry"},
            description="One row per gen_ai.evaluation.result event (span event or log record) of the day.",
        ),
        dg.AssetSpec(
            QUARANTINED_SPANS_KEY,
            group_name="extract",
            kinds={"duckdb", "opentelemetry"},
            description="The spans and trace lines this source quarantined (a view of raw.quarantine), with "
            "file, line and reason: the runs of a quarantined span's trace are published as lower bounds.",
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    can_subset=False,
    check_specs=[spans_gate.spec, eval_events_gate.spec],
)
def otel_traces(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Parse the window's trace and log files inside DuckDB and load them idempotently per day.

    The window starts the trace lookback's days early: a span exported late lands in a file dated
    after its day, which did not exist yet when that day's own run read the files. Loading those
    days again replaces them whole, so each day holds the same spans whichever run loaded it last.
    """
    settings = get_settings()
    check_trace_lookback(settings.trace_lookback_days)
    first, last = window_days(context)
    first -= timedelta(days=settings.trace_lookback_days)
    with duckdb.get_connection() as conn:
        spans, evaluations = load_traces(
            conn,
            settings.traces_dir,
            first,
            last,
            keep_content=settings.keep_content,
            lookback_days=settings.trace_lookback_days,
            progress=context.log.info,
        )
        gates = [gate.evaluate(conn, context.run.tags, context.log.error) for gate in (spans_gate, eval_events_gate)]
    context.log.info(
        f"spans: received {spans.received}, loaded {spans.loaded}, quarantined {spans.quarantined}; "
        f"evaluations: loaded {evaluations.loaded}, quarantined {evaluations.quarantined}"
    )
    yield dg.MaterializeResult(asset_key=SPANS_KEY, metadata=spans.as_metadata())
    yield dg.MaterializeResult(asset_key=EVAL_EVENTS_KEY, metadata=evaluations.as_metadata())
    yield dg.MaterializeResult(asset_key=QUARANTINED_SPANS_KEY, metadata={"quarantined": spans.quarantined})
    yield from gates


assets = [otel_traces]
