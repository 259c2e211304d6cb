"""Every source, registered once. Adding a provider adds one line to SOURCES."""

from types import ModuleType

import dagster as dg

from orchestration.sources.anthropic import assets as anthropic
from orchestration.sources.focus import assets as focus
from orchestration.sources.hubspot import assets as hubspot
from orchestration.sources.labels import assets as labels
from orchestration.sources.openai import assets as openai
from orchestration.sources.otel import assets as otel
from orchestration.sources.salesforce import assets as salesforce

SOURCES: list[ModuleType] = [
    otel,
    labels,
    hubspot,
    salesforce,
    openai,
    anthropic,
    focus,
]


def assets() -> list[dg.AssetsDefinition]:
    """The assets of every registered source."""
    return [asset for source in SOURCES for asset in source.assets]
