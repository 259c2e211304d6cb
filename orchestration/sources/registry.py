"""Every source, registered once.

Registering a provider source takes an import of its `assets` module and an entry in `SOURCES`
here; the rest of its registration is outside this file: its two staging models added to the
`provider_usage_models` and `provider_cost_models` vars in dbt_project.yml, and its new assets
accepted into tests/snapshots/asset_graph.txt (README "Adding a provider source" has every step).
"""

import importlib
import importlib.util
from types import ModuleType

import dagster as dg

from orchestration.http import ApiSource
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

# The CRM sources read their credentials themselves, not through an `ApiSource`, so they are named
# here; a provider copied from the template needs no entry (its `ApiSource` is found).
_CREDENTIALS_WITHOUT_API_SOURCE: dict[ModuleType, tuple[str, ...]] = {
    hubspot: ("HUBSPOT_ACCESS_TOKEN",),
    salesforce: ("SALESFORCE_ACCESS_TOKEN", "SALESFORCE_INSTANCE_URL"),
}


def assets() -> list[dg.AssetsDefinition]:
    """The assets of every registered source."""
    return [asset for source in SOURCES for asset in source.assets]


def _api_sources(source: ModuleType) -> list[ApiSource]:
    """The `ApiSource`s a source's `assets` module or its sibling `client` module defines or imports."""
    modules = [source]
    client = source.__name__.rpartition(".")[0] + ".client"
    if importlib.util.find_spec(client) is not None:
        modules.append(importlib.import_module(client))
    return [value for module in modules for value in vars(module).values() if isinstance(value, ApiSource)]


def credential_settings() -> list[str]:
    """The environment variables whose presence switches a registered source's API on.

    A source whose credential is unset is skipped, so a caller that must never reach a real API (the
    benchmark) clears these. They are derived from the registered sources rather than listed, so a
    provider added later is covered the moment it is registered.
    """
    names = {api.key_setting for source in SOURCES for api in _api_sources(source)}
    names.update(name for source in SOURCES for name in _CREDENTIALS_WITHOUT_API_SOURCE.get(source, ()))
    return sorted(names)
