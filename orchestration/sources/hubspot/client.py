"""HubSpot CRM API: deals modified since a time, archived deals, deal → company associations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from orchestration.http import TIMEOUT

DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "closedate",
    "dealstage",
    "pipeline",
    "hs_lastmodifieddate",
    "hs_is_closed_won",
    "deal_currency_code",
    "hs_object_id",
)
# Search returns at most 10,000 results per query; paging past that is an HTTP 400.
SEARCH_RESULT_LIMIT = 10_000
SEARCH_PAGE_SIZE = 200  # the search endpoint's maximum
LIST_PAGE_SIZE = 100
ASSOCIATION_BATCH_SIZE = 100
# HubSpot-defined deal → company association type ids: 5 is "Primary", 341 unlabeled.
PRIMARY_DEAL_TO_COMPANY = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timestamp(value: str) -> datetime:
    """An ISO-8601 HubSpot timestamp (`…Z`) as an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch: what search filters on datetime properties take.

    A naive `moment` is UTC (the warehouse stores the high-water mark as a naive UTC timestamp);
    `timestamp()` alone would read it as the host's local time and skip changes.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return (utc - EPOCH) // timedelta(milliseconds=1)  # integer arithmetic: no float rounding


class HubSpotError(RuntimeError):
    """HubSpot answered with an error the client cannot work around."""


class HubSpotClient:
    """Reads deals from the HubSpot CRM v3/v4 APIs on a shared session (retries, timeouts).

    Args:
        token: Private-app or OAuth access token; sent as a Bearer header, never logged.
        base_url: `https://api.hubapi.com`, or a local server in tests and the demo.
        session: A session from `orchestration.http.make_session` (429/5xx retried, Retry-After honoured).
        search_result_limit: The search endpoint's result ceiling per query (10,000).
    """

    def __init__(
        self,
        token: str,
        base_url: str,
        session: requests.Session,
        *,
        search_result_limit: int = SEARCH_RESULT_LIMIT,
        page_size: int = SEARCH_PAGE_SIZE,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = session
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._search_result_limit = search_result_limit
        self._page_size = page_size

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._session.request(
            method, f"{self._base_url}{path}", headers=self._headers, timeout=TIMEOUT, **kwargs
        )
        if response.status_code in (401, 403):
            raise HubSpotError(
                f"HubSpot {method} {path}: HTTP {response.status_code} — check HUBSPOT_ACCESS_TOKEN and its "
                "scopes (crm.objects.deals.read, crm.objects.companies.read)"
            )
        response.raise_for_status()
        return response.json()

    def _search_body(self, since_ms: int, after: int) -> dict[str, Any]:
        return {
            "filterGroups": [
                {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since_ms)}]}
            ],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": list(DEAL_PROPERTIES),
            "limit": self._page_size,
            "after": str(after),
        }

    def iter_deals_modified_since(self, since: datetime | None) -> Iterator[dict[str, Any]]:
        """Yield every deal whose `hs_lastmodifieddate` is at or after `since` (all deals when None).

        Each page is a new search from the last modification instant read, in ascending
        modification order, not the next `after` offset of one search: a deal edited while the
        sync runs moves to the end of the order, so every later deal's offset drops by one and an
        offset cursor would skip one of them for good (the mark then passes it). Deals sharing that
        instant come again (callers keep one per id). Only when a whole page shares the instant the
        search started from does it page on by offset, within that instant, which no edit can join.

        Raises:
            HubSpotError: more deals than the search's 10,000-result ceiling share one
                modification instant (no search can page past them), or HubSpot refused the token.
        """
        since_ms = epoch_ms(since) if since is not None else 0
        after = 0
        while True:
            page = self._request("POST", "/crm/v3/objects/deals/search", json=self._search_body(since_ms, after))
            results = page.get("results", [])
            last_seen_ms: int | None = None
            for deal in results:
                modified = (deal.get("properties") or {}).get("hs_lastmodifieddate")
                if modified:
                    last_seen_ms = epoch_ms(parse_timestamp(modified))
                yield deal
            next_after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if next_after is None:
                return
            if last_seen_ms is not None and last_seen_ms > since_ms:
                since_ms, after = last_seen_ms, 0
                continue
            after = int(next_after)
            if after + self._page_size > self._search_result_limit:
                raise HubSpotError(
                    f"more than {self._search_result_limit} deals were modified at one instant "
                    f"({since_ms} ms); the search API cannot page past them"
                )

    def iter_archived_deals(self) -> Iterator[dict[str, Any]]:
        """Yield every archived (deleted) deal; search cannot see them, the list endpoint can."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "archived": "true",
                "limit": LIST_PAGE_SIZE,
                "properties": ",".join(DEAL_PROPERTIES),
            }
            if after is not None:
                params["after"] = after
            page = self._request("GET", "/crm/v3/objects/deals", params=params)
            yield from page.get("results", [])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return

    def deal_companies(self, deal_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Companies associated with each deal, de-duplicated by company id.

        A company can be listed once per association type (Primary and unlabeled); it is kept
        once, marked primary when any of its types is the Primary one. Every requested deal is in
        the answer, with an empty list when it has no company.
        """
        companies: dict[str, dict[str, dict[str, Any]]] = {deal_id: {} for deal_id in deal_ids}
        for start in range(0, len(deal_ids), ASSOCIATION_BATCH_SIZE):
            pending = [{"id": deal_id} for deal_id in deal_ids[start : start + ASSOCIATION_BATCH_SIZE]]
            while pending:
                page = self._request(
                    "POST", "/crm/v4/associations/deals/companies/batch/read", json={"inputs": pending}
                )
                pending = []
                for result in page.get("results", []):
                    deal_id = str(result["from"]["id"])
                    by_company = companies.setdefault(deal_id, {})
                    for target in result.get("to", []):
                        company_id = str(target["toObjectId"])
                        type_ids = {int(t["typeId"]) for t in target.get("associationTypes", [])}
                        entry = by_company.setdefault(company_id, {"company_id": company_id, "type_ids": set()})
                        entry["type_ids"] |= type_ids
                    next_after = ((result.get("paging") or {}).get("next") or {}).get("after")
                    if next_after is not None:
                        pending.append({"id": deal_id, "after": next_after})
        return {
            deal_id: [
                {
                    "company_id": entry["company_id"],
                    "type_ids": sorted(entry["type_ids"]),
                    "is_primary": PRIMARY_DEAL_TO_COMPANY in entry["type_ids"],
                }
                for entry in sorted(by_company.values(), key=lambda e: e["company_id"])
            ]
            for deal_id, by_company in companies.items()
        }
