"""Anthropic Admin API usage and cost reports (reference §A), with an organization Admin key.

Fetches: `GET /v1/organizations/usage_report/messages` (`bucket_width=1d`, grouped by model,
workspace, API key, service tier and context window) and `GET /v1/organizations/cost_report`
(grouped by description and workspace), following `next_page` until `has_more` is false.
Amounts arrive as decimal strings in cents and are kept as received beside their exact USD value;
the nested `cache_creation` object is kept as its two kinds (5-minute and 1-hour writes).
Grain: `raw.anthropic_usage` one row per (day bucket, result); `raw.anthropic_costs` one row per
(day bucket, workspace, line item).
Cursor: the daily partition plus `AGENTLEDGER_PROVIDER_LOOKBACK_DAYS` (default 7) before it,
re-pulled every night and replaced whole per day. Skipped with one log line when
`ANTHROPIC_ADMIN_API_KEY` is unset. Priority Tier usage appears in the usage report but never in the
cost report (billed under its own commitment); the reconciliation knows.
"""
