"""The provider aliases seed names the clouds' FOCUS exports as the traces name their providers."""

import csv

import pytest

from orchestration.settings import PROJECT_ROOT

SEED = PROJECT_ROOT / "seeds" / "provider_aliases.csv"


def focus_provider(provider_name: str, publisher_name: str) -> str:
    """The provider stg_focus__charges gives a charge: its ProviderName, PublisherName, then the
    ProviderName's first word, looked up in the seed; else the ProviderName lower-cased."""
    with SEED.open(newline="") as handle:
        aliases = {row["alias"]: row["provider"] for row in csv.DictReader(handle)}
    provider, publisher = provider_name.strip().lower(), publisher_name.strip().lower()
    for name in (provider, publisher, provider.split(" ")[0]):
        if name in aliases:
            return aliases[name]
    return provider


@pytest.mark.parametrize(
    ("provider_name", "publisher_name", "expected"),
    [
        # Azure's FOCUS export names the provider Microsoft; its traces say azure (az.ai.openai):
        # unmatched, a fully traced bill read as untraced spend
        ("Microsoft", "Microsoft", "azure"),
        ("Amazon Web Services", "Amazon Web Services", "aws"),
        ("Google Cloud", "Google", "google"),
        ("DeepSeek", "DeepSeek", "deepseek"),
    ],
)
def test_a_clouds_focus_export_names_the_provider_its_traces_name(
    provider_name: str, publisher_name: str, expected: str
) -> None:
    assert focus_provider(provider_name, publisher_name) == expected
