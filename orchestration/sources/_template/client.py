"""TEMPLATE client: the provider's usage and cost reports, one flat record per (bucket, result)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import requests

from orchestration.http import ApiConfig, ApiSource
from orchestration.sources.provider_api import iter_pages, rfc3339_bucket_records, rfc3339_window

TEMPLATE_API = ApiSource(
    name="Template provider API",
    key_setting="TEMPLATE_API_KEY",
    base_url_setting="TEMPLATE_BASE_URL",
    default_base_url="https://api.template.invalid",
)
USAGE_PATH = "/v1/usage"
COST_PATH = "/v1/costs"
MAX_BUCKETS_PER_PAGE = 31


class TemplateClient:
    """Reads the provider's daily usage and cost reports over a window of days."""

    def __init__(self, config: ApiConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session

    def _headers(self) -> dict[str, str]:
        # The key goes in a header, never in the URL: URLs end up in logs and error messages.
        return {"Authorization": f"Bearer {self.config.secret}"}

    def _records(self, path: str, first: date, last: date) -> Iterator[dict[str, Any]]:
        params = [*rfc3339_window(first, last), ("bucket_width", "1d"), ("limit", MAX_BUCKETS_PER_PAGE)]
        yield from rfc3339_bucket_records(iter_pages(self.session, self.config, path, params, self._headers()))

    def iter_usage(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """Yield one record per (day bucket, model) of usage on `first..last`."""
        yield from self._records(USAGE_PATH, first, last)

    def iter_costs(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """Yield one record per (day bucket, model, token type) of cost on `first..last`."""
        yield from self._records(COST_PATH, first, last)
