"""Anthropic Admin API: the messages usage report and the cost report, one flat record per (bucket, result)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from orchestration.http import ApiConfig, ApiSource
from orchestration.sources.provider_api import iter_pages, rfc3339_bucket_records, rfc3339_window

ANTHROPIC_API = ApiSource(
    name="Anthropic Admin API",
    key_setting="ANTHROPIC_ADMIN_API_KEY",
    base_url_setting="ANTHROPIC_BASE_URL",
    default_base_url="https://api.anthropic.com",
)
USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
API_VERSION = "2023-06-01"
# Daily buckets: at most 31 per page on both reports (reference §A.1, §A.2).
MAX_BUCKETS_PER_PAGE = 31
USAGE_GROUP_BY = ("model", "workspace_id", "api_key_id", "service_tier", "context_window")
COST_GROUP_BY = ("description", "workspace_id")
CENTS_PER_DOLLAR = Decimal(100)


def flatten(result: dict[str, Any]) -> dict[str, Any]:
    """Nested objects as `parent_child` fields: `cache_creation.ephemeral_5m_input_tokens` → one column."""
    flat: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, dict):
            flat.update({f"{key}_{inner}": item for inner, item in value.items()})
        else:
            flat[key] = value
    return flat


def cents_to_usd(amount: Any) -> Decimal | None:
    """`"123.78912"` (cents, as a decimal string) → `Decimal("1.2378912")` dollars, exactly.

    Raises:
        ValueError: `amount` is not a finite decimal number (`"abc"`, `"NaN"`, an object).
    """
    if amount is None:
        return None
    if isinstance(amount, bool | dict | list):
        raise ValueError(f"amount: {amount!r} is not a decimal number of cents")
    try:
        cents = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"amount: {str(amount)[:80]!r} is not a decimal number of cents") from None
    if not cents.is_finite():
        raise ValueError(f"amount: {str(amount)[:80]!r} is not a decimal number of cents")
    return cents / CENTS_PER_DOLLAR


def with_amount_usd(record: dict[str, Any]) -> dict[str, Any]:
    """The cost record with `amount_usd` beside the cents; a bad amount is named for the quarantine, not raised."""
    try:
        return {**record, "amount_usd": cents_to_usd(record.get("amount"))}
    except ValueError as error:
        reasons = [str(record["_reject_reason"])] if record.get("_reject_reason") else []
        return {**record, "amount_usd": None, "_reject_reason": "; ".join([*reasons, str(error)])}


class AnthropicClient:
    """Reads the organization's messages usage and cost reports over a window of days."""

    def __init__(self, config: ApiConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session

    def _headers(self) -> dict[str, str]:
        # The key goes in a header, never in the URL: URLs end up in logs and error messages.
        return {"x-api-key": self.config.secret, "anthropic-version": API_VERSION}

    def _records(self, path: str, first: date, last: date, group_by: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        params: list[tuple[str, Any]] = [
            *rfc3339_window(first, last),
            ("bucket_width", "1d"),
            ("limit", MAX_BUCKETS_PER_PAGE),
            *(("group_by[]", name) for name in group_by),
        ]
        pages = iter_pages(self.session, self.config, path, params, self._headers())
        yield from rfc3339_bucket_records(pages, flatten, path)

    def iter_usage(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """Yield one record per (day bucket, model, workspace, API key, service tier, context window) of usage."""
        yield from self._records(USAGE_PATH, first, last, USAGE_GROUP_BY)

    def iter_costs(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """Yield one record per (day bucket, line item, workspace) of cost, with `amount_usd` beside the cents."""
        for record in self._records(COST_PATH, first, last, COST_GROUP_BY):
            yield record if "_line_text" in record else with_amount_usd(record)
