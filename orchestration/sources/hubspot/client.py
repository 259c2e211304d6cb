"""HubSpot CRM API: deals modified since a time, archived deals, deal → company associations."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from orchestration.http import (
    REQUEST_FAILURES,
    TIMEOUT,
    SpendLimitReached,
    display_url,
    is_redirect,
    redirect_message,
)

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
    # the deals merged into this one, `;`-separated: a merged-away deal leaves search and the
    # archived list alike, so this is the only place its end is told
    "hs_merged_object_ids",
)
SEARCH_PAGE_SIZE = 200  # the search endpoint's maximum
LIST_PAGE_SIZE = 100
ASSOCIATION_BATCH_SIZE = 100
# HubSpot-defined deal → company association type ids: 5 is "Primary", 341 unlabeled.
PRIMARY_DEAL_TO_COMPANY = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A datetime property written as epoch milliseconds: 13 digits (2001-09-09 to 2286), so neither a
# compact date (`20260514`) nor epoch seconds (`1764547200`) is read as a day of 1970
EPOCH_MS_PATTERN = "[0-9]{13}"
EPOCH_MS = re.compile(EPOCH_MS_PATTERN)


def parse_timestamp(value: str) -> datetime:
    """A HubSpot timestamp as an aware UTC datetime: ISO-8601 (`…Z`), or epoch milliseconds.

    Search returns datetime properties as ISO strings, but HubSpot's API reference also shows them
    as epoch-millisecond strings (`"1572480000000"`, the form its filters take): both are read, so
    neither quarantines a deal nor stalls the sync on a page it cannot date. A time without an
    offset is UTC, as the loader's SQL reads it: `astimezone` alone would take the host's zone and
    move the sync's high-water mark by hours.
    """
    text = value.strip()
    if EPOCH_MS.fullmatch(text):
        return EPOCH + timedelta(milliseconds=int(text))
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch: what search filters on datetime properties take.

    A naive `moment` is UTC (the warehouse stores the high-water mark as a naive UTC timestamp);
    `timestamp()` alone would read it as the host's local time and skip changes.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return (utc - EPOCH) // timedelta(milliseconds=1)  # integer arithmetic: no float rounding


def _modified_filter(operator: str, moment_ms: int) -> dict[str, str]:
    return {"propertyName": "hs_lastmodifieddate", "operator": operator, "value": str(moment_ms)}


def _modified_ms(deal: dict[str, Any]) -> int | None:
    """The deal's modification instant, None when missing or unreadable.

    None rather than an error: the loader quarantines that one deal (`hs_lastmodifieddate: … is
    not a timestamp`) and loads the others; an error here would fail the whole sync.
    """
    modified = (deal.get("properties") or {}).get("hs_lastmodifieddate")
    try:
        return epoch_ms(parse_timestamp(modified)) if modified else None
    except ValueError:
        return None


def _has_next_page(page: dict[str, Any]) -> bool:
    return ((page.get("paging") or {}).get("next") or {}).get("after") is not None


class HubSpotError(RuntimeError):
    """HubSpot answered with an error the client cannot work around."""


class HubSpotClient:
    """Reads deals from the HubSpot CRM v3/v4 APIs on a shared session (retries, timeouts).

    Args:
        token: Private-app or OAuth access token; sent as a Bearer header, never logged.
        base_url: `https://api.hubapi.com`, or a local server in tests and the demo.
        session: A session from `orchestration.http.make_session` (429/5xx retried, Retry-After honoured).
        page_size: Deals per search page (200, the search endpoint's maximum).
    """

    def __init__(
        self,
        token: str,
        base_url: str,
        session: requests.Session,
        *,
        page_size: int = SEARCH_PAGE_SIZE,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = session
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._page_size = page_size

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._session.request(
                method, f"{self._base_url}{path}", headers=self._headers, timeout=TIMEOUT, **kwargs
            )
        except SpendLimitReached:
            raise HubSpotError(
                f"HubSpot {method} {path}: HTTP 429, a limit that waiting does not lift: check the HubSpot account's "
                "API limits"
            ) from None
        except REQUEST_FAILURES as failure:
            raise HubSpotError(
                f"HubSpot could not be reached at {display_url(self._base_url)} ({type(failure).__name__}): "
                "check HUBSPOT_BASE_URL"
            ) from None
        if is_redirect(response.status_code):
            raise HubSpotError(
                redirect_message("HubSpot", f"{method} {path}", response.status_code, "HUBSPOT_BASE_URL")
            )
        if response.status_code in (401, 403):
            raise HubSpotError(
                f"HubSpot {method} {path}: HTTP {response.status_code} — check HUBSPOT_ACCESS_TOKEN and its "
                "scopes (crm.objects.deals.read, crm.objects.companies.read)"
            )
        if response.status_code >= 500:
            raise HubSpotError(
                f"HubSpot {method} {path}: kept failing after retries (HTTP {response.status_code}): HubSpot is "
                "having trouble; run again later"
            )
        if response.status_code >= 400:
            raise HubSpotError(f"HubSpot {method} {path}: refused the request (HTTP {response.status_code})")
        return response.json()

    def _search(self, filters: list[dict[str, str]], sort_by: str) -> dict[str, Any]:
        """One page of a new search, never a later `after` offset of an earlier one (see below)."""
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort_by, "direction": "ASCENDING"}],  # search takes one sort
            "properties": list(DEAL_PROPERTIES),
            "limit": self._page_size,
            "after": "0",
        }
        return self._request("POST", "/crm/v3/objects/deals/search", json=body)

    def iter_deals_modified_since(self, since: datetime | None) -> Iterator[dict[str, Any]]:
        """Yield every deal whose `hs_lastmodifieddate` is at or after `since` (all deals when None).

        Each page is a new search from the last modification instant read, in ascending
        modification order, not the next `after` offset of one search: a deal edited while the
        sync runs moves to the end of the order, so every later deal's offset drops by one and an
        offset cursor would skip one of them for good (the mark then passes it). Deals sharing that
        instant come again (callers keep one per id). A page all of one instant would restart the
        same search forever, and paging on by offset within it skips a deal as above once one of
        them is edited: that instant is read in id order instead (`_iter_deals_modified_at`), then
        the search goes on strictly after it. No search reads past its first page, so the
        10,000-result ceiling on `after` is never reached, however many deals share an instant.
        A deal whose `hs_lastmodifieddate` is missing or unreadable is yielded as it is and plays
        no part in where the next search starts.

        Raises:
            HubSpotError: a whole page has no readable `hs_lastmodifieddate` (nothing to move on
                from), or HubSpot refused the token.
        """
        since_ms, operator = (epoch_ms(since) if since is not None else 0), "GTE"
        while True:
            page = self._search([_modified_filter(operator, since_ms)], sort_by="hs_lastmodifieddate")
            results = page.get("results", [])
            yield from results
            if not _has_next_page(page):
                return
            instants = [ms for ms in map(_modified_ms, results) if ms is not None]
            if not instants:
                raise HubSpotError(
                    f"a page of {len(results)} deals modified from {since_ms} ms has no readable "
                    "hs_lastmodifieddate; the search cannot move on from it"
                )
            if instants[0] == instants[-1]:
                yield from self._iter_deals_modified_at(instants[-1])
                since_ms, operator = instants[-1], "GT"
            else:
                since_ms, operator = instants[-1], "GTE"

    def _iter_deals_modified_at(self, instant_ms: int) -> Iterator[dict[str, Any]]:
        """Yield every deal modified at exactly `instant_ms`, in id order.

        Each page is a new search for the ids above the last one read, so a deal edited away from
        the instant meanwhile shifts no other deal (an offset within the instant would skip one).
        """
        at_instant = _modified_filter("EQ", instant_ms)
        filters = [at_instant]
        while True:
            page = self._search(filters, sort_by="hs_object_id")
            results = page.get("results", [])
            yield from results
            if not results or not _has_next_page(page):
                return
            filters = [at_instant, {"propertyName": "hs_object_id", "operator": "GT", "value": str(results[-1]["id"])}]

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
