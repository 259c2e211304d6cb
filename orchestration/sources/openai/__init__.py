"""OpenAI organization Usage and Costs APIs (reference §B), with an organization Admin key.

Fetches: `GET /v1/organization/usage/completions` grouped by model, project, API key, batch and
service tier, and `GET /v1/organization/costs` grouped by project and line item, daily buckets
between day-aligned Unix seconds, following `next_page` until `has_more` is false. Money is dollars
as a JSON number, parsed as an exact decimal; newer usage fields are nullable.
Grain: `raw.openai_usage` one row per (day bucket, result); `raw.openai_costs` one row per
(day bucket, project, line item).
Cursor: the daily partition plus `AGENTLEDGER_PROVIDER_LOOKBACK_DAYS` (default 7) before it,
re-pulled every night and replaced whole per day. Skipped with one log line when
`OPENAI_ADMIN_KEY` is unset.
"""
