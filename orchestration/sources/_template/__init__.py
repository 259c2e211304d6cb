"""TEMPLATE — copy this folder to add a provider's usage and cost API (README "Adding a provider source").

Fetches: `GET {TEMPLATE_BASE_URL}/v1/usage` and `/v1/costs` with `Authorization: Bearer
{TEMPLATE_API_KEY}`, daily buckets between `starting_at` and `ending_at` (RFC 3339), paged by
`has_more` / `next_page` — the shape Anthropic's and OpenAI's reports share. Replace the paths,
parameters and fields with your provider's.
Grain: `raw.template_usage` one row per (day bucket, model); `raw.template_costs` one row per
(day bucket, model, token type).
Cursor: the daily partition plus `AGENTLEDGER_PROVIDER_LOOKBACK_DAYS` (default 7) before it,
re-pulled every night and replaced whole per day, because providers restate recent buckets.

The template is not registered in `sources/registry.py` and its dbt models are disabled; the
test `tests/unit/test_template_source.py` materializes its asset against a fake server.
"""
