"""Dagster asset of the Anthropic source: `raw/anthropic_usage` and `raw/anthropic_costs`, over a trailing window."""

from orchestration.loading import RawTable
from orchestration.sources.anthropic.client import ANTHROPIC_API, AnthropicClient
from orchestration.sources.anthropic.schemas import COST_COLUMNS, USAGE_COLUMNS, AnthropicCostRaw, AnthropicUsageRaw
from orchestration.sources.provider_assets import report_assets

SOURCE = "anthropic"
USAGE = RawTable(source=SOURCE, name="anthropic_usage", columns=USAGE_COLUMNS, model=AnthropicUsageRaw)
COSTS = RawTable(source=SOURCE, name="anthropic_costs", columns=COST_COLUMNS, model=AnthropicCostRaw)

assets = report_assets(
    name="anthropic_reports",
    api=ANTHROPIC_API,
    client=AnthropicClient,
    usage=USAGE,
    costs=COSTS,
    usage_description="One row per (day, model, workspace, API key, service tier, context window) of Anthropic "
    "messages usage.",
    cost_description="One row per (day, line item, workspace) of Anthropic's cost report, cents and USD.",
)
