"""TEMPLATE Dagster asset: `raw/template_usage` and `raw/template_costs`, re-pulled over a trailing window."""

from orchestration.loading import RawTable
from orchestration.sources._template.client import TEMPLATE_API, TemplateClient
from orchestration.sources._template.schemas import COST_COLUMNS, USAGE_COLUMNS, TemplateCostRaw, TemplateUsageRaw
from orchestration.sources.provider_assets import report_assets

SOURCE = "template"
USAGE = RawTable(source=SOURCE, name="template_usage", columns=USAGE_COLUMNS, model=TemplateUsageRaw)
COSTS = RawTable(source=SOURCE, name="template_costs", columns=COST_COLUMNS, model=TemplateCostRaw)

assets = report_assets(
    name="template_reports",
    api=TEMPLATE_API,
    client=TemplateClient,
    usage=USAGE,
    costs=COSTS,
    usage_description="One row per (day, model) of the provider's reported usage.",
    cost_description="One row per (day, model, token type) of the provider's billed cost, USD.",
)
