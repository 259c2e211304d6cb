"""OpenTelemetry traces and GenAI evaluation events, from the Collector's OTLP/JSON files.

Fetches: every `*.json` / `*.jsonl` (optionally `.gz`) under `AGENTLEDGER_TRACES_DIR`, traces files
(`resourceSpans`) and logs files (`resourceLogs`) side by side.
Grain: `raw.otel_spans` one row per span; `raw.otel_eval_events` one row per
`gen_ai.evaluation.result` event (a span event or a log record).
Cursor: the daily partition. A span belongs to the UTC day it started; a file is read for the
day its name dates, the AGENTLEDGER_TRACE_LOOKBACK_DAYS days before it and the day after it or,
when its name carries no date, for every day.
Parsing happens inside DuckDB over the raw lines, never span by span in Python.
"""
