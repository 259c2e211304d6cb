"""Dagster asset of the OpenAI source: `raw/openai_usage` and `raw/openai_costs`, re-pulled over a trailing window."""

from orchestration.loading import RawTable
from orchestration.sources.openai.client import OPENAI_API, OpenAIClient
from orchestration.sources.openai.schemas import COST_COLUMNS, USAGE_COLUMNS, OpenAICostRaw, OpenAIUsageRaw
from orchestration.sources.provider_assets import report_assets

SOURCE = "openai"
USAGE = RawTable(source=SOURCE, name="openai_usage", columns=USAGE_COLUMNS, model=OpenAIUsageRaw)
COSTS = RawTable(source=SOURCE, name="openai_costs", columns=COST_COLUMNS, model=OpenAICostRaw)

assets = report_assets(
    name="openai_reports",
    api=OPENAI_API,
    client=OpenAIClient,
    usage=USAGE,
    costs=COSTS,
    usage_description=(
        "One row per (day, endpoint, model, project, API key, batch, service tier) of OpenAI completions and "
        "embeddings usage."
    ),
    cost_description="One row per (day, project, line item) of OpenAI's billed cost, USD.",
)
