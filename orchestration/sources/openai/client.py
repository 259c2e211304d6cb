"""OpenAI organization Usage and Costs APIs: completions and embeddings usage, costs; a flat record per result."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import requests

from orchestration.http import ApiConfig, ApiSource
from orchestration.sources.provider_api import bucket_results, iter_pages

OPENAI_API = ApiSource(
    name="OpenAI organization API",
    key_setting="OPENAI_ADMIN_KEY",
    base_url_setting="OPENAI_BASE_URL",
    default_base_url="https://api.openai.com",
)
USAGE_PATH = "/organization/usage/completions"
# Embeddings have a usage report of their own: without it a traced embedding call has no reported
# tokens, and its cost line would read as spend no trace explains.
EMBEDDINGS_USAGE_PATH = "/organization/usage/embeddings"
COST_PATH = "/organization/costs"
# Daily buckets: at most 31 per page for usage (reference §B.1); costs allow 180, 31 keeps pages alike.
MAX_BUCKETS_PER_PAGE = 31
USAGE_GROUP_BY = ("model", "project_id", "api_key_id", "batch", "service_tier")
EMBEDDINGS_GROUP_BY = ("model", "project_id", "api_key_id")  # the embeddings report groups by no tier
COST_GROUP_BY = ("project_id", "line_item")


def unix_seconds(day: date) -> int:
    """Midnight UTC of `day` as Unix seconds: buckets start where start_time says, so it must be day-aligned."""
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


def bucket_day(start: Any) -> date | None:
    """The UTC day a bucket's `start_time` (Unix seconds) falls on; None when it is missing or not a time.

    A record without a day is quarantined by `load_records`, and a `start_time` that is not an
    integer is named by the typed-candidates SQL: one bad bucket never fails the run.
    """
    if start is None or isinstance(start, bool):
        return None
    try:
        return datetime.fromtimestamp(int(start), UTC).date()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _bucket_record(bucket: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """One result of a day bucket as a flat record; a value of the wrong type is kept for the SQL to name."""
    record = {k: v for k, v in result.items() if k != "object"}
    amount = record.pop("amount", None)
    if isinstance(amount, dict):  # costs: {"value": 0.12, "currency": "usd"}
        record["amount_value"] = amount.get("value")
        record["amount_currency"] = amount.get("currency")
    elif amount is not None:  # kept, so the typed-candidates SQL names it
        record["amount_value"] = amount
    start = bucket.get("start_time")
    return {**record, "start_time": start, "end_time": bucket.get("end_time"), "_partition_date": bucket_day(start)}


class OpenAIClient:
    """Reads the organization's completions and embeddings usage and its costs over a window of days."""

    def __init__(self, config: ApiConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session
        # OPENAI_BASE_URL is often set the SDK's way, with /v1 already on it.
        self.prefix = "" if config.base_url.endswith("/v1") else "/v1"

    def _headers(self) -> dict[str, str]:
        # The key goes in a header, never in the URL: URLs end up in logs and error messages.
        return {"Authorization": f"Bearer {self.config.secret}"}

    def _records(self, path: str, first: date, last: date, group_by: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        params: list[tuple[str, Any]] = [
            ("start_time", unix_seconds(first)),
            ("end_time", unix_seconds(last + timedelta(days=1))),
            ("bucket_width", "1d"),
            ("limit", MAX_BUCKETS_PER_PAGE),
            *(("group_by", name) for name in group_by),
        ]
        pages = iter_pages(self.session, self.config, self.prefix + path, params, self._headers())
        yield from bucket_results(pages, self.prefix + path, _bucket_record)

    def iter_usage(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """Yield the completions usage, then the embeddings usage, one record per bucket result naming its `endpoint`.

        Completions are grouped by (model, project, API key, batch, service tier), embeddings by
        (model, project, API key). An embedding produces no output: its record's `output_tokens` is
        0, as the usage table's gate requires a count there.
        """
        for record in self._records(USAGE_PATH, first, last, USAGE_GROUP_BY):
            yield {**record, "endpoint": "completions"}
        for record in self._records(EMBEDDINGS_USAGE_PATH, first, last, EMBEDDINGS_GROUP_BY):
            yield {"output_tokens": 0, **record, "endpoint": "embeddings"}

    def iter_costs(self, first: date, last: date) -> Iterator[dict[str, Any]]:
        """Yield one record per (day bucket, project, line item) of cost, in dollars."""
        yield from self._records(COST_PATH, first, last, COST_GROUP_BY)
