"""A fake HubSpot CRM: deals search (v3), deals list with `archived`, deal → company associations (v4).

Speaks the real formats (reference §F.1): property values are strings, search filters take epoch
milliseconds, `after` is an offset that HubSpot refuses (HTTP 400) at the 10,000-result ceiling,
the last page has no `paging`, associations list a company once per association type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.demo.server import FakeApiServer, FakeRequest, FakeResponse

DEMO_TOKEN = "demo-hubspot-token-not-a-secret"  # noqa: S105 - a fake token for the local fake API
SEARCH_RESULT_LIMIT = 10_000
PRIMARY, UNLABELED = 5, 341


def iso(moment: datetime) -> str:
    """HubSpot's timestamp format: ISO 8601 with milliseconds and `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class FakeDeal:
    """A deal as the fake stores it; `companies` maps company id → association type ids."""

    id: str
    properties: dict[str, str | None]
    modified_at: datetime
    created_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    companies: dict[str, list[int]] = field(default_factory=dict)
    # hs_lastmodifieddate as rendered, when a test needs a value the client cannot read; search
    # still filters and sorts on `modified_at`
    modified_text: str | None = None

    def render(self) -> dict[str, Any]:
        """The deal object as search and list return it."""
        modified = self.modified_text if self.modified_text is not None else iso(self.modified_at)
        body: dict[str, Any] = {
            "id": self.id,
            "properties": {**self.properties, "hs_object_id": self.id, "hs_lastmodifieddate": modified},
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.modified_at),
            "archived": self.archived,
        }
        if self.archived_at is not None:
            body["archivedAt"] = iso(self.archived_at)
        return body


class FakeHubSpot:
    """The deals of one portal behind the three endpoints the HubSpot source calls."""

    def __init__(self, token: str = DEMO_TOKEN, search_result_limit: int = SEARCH_RESULT_LIMIT) -> None:
        self.token = token
        self.search_result_limit = search_result_limit
        self.deals: dict[str, FakeDeal] = {}
        # called with the search's number (1, 2, …) before it is answered: what users change in the
        # portal while a sync pages through it
        self.before_search: Callable[[int], None] = lambda number: None
        self.searches = 0

    def add_deal(
        self,
        deal_id: str,
        *,
        amount: str | None,
        closedate: datetime | None,
        modified_at: datetime,
        dealstage: str = "closedwon",
        currency: str | None = None,
        name: str | None = None,
        companies: dict[str, list[int]] | None = None,
        archived: bool = False,
        archived_at: datetime | None = None,
        created_at: datetime | None = None,
    ) -> FakeDeal:
        """Store (or replace) a deal."""
        deal = FakeDeal(
            id=deal_id,
            properties={
                "dealname": name or f"Deal {deal_id}",
                "amount": amount,
                "closedate": iso(_aware(closedate)) if closedate else None,
                "dealstage": dealstage,
                "pipeline": "default",
                "hs_is_closed_won": "true" if dealstage == "closedwon" else "false",
                "deal_currency_code": currency,
            },
            modified_at=_aware(modified_at),
            created_at=_aware(created_at or modified_at),
            archived=archived,
            archived_at=_aware(archived_at) if archived_at else None,
            companies=companies or {},
        )
        self.deals[deal_id] = deal
        return deal

    def edit(self, deal_id: str, modified_at: datetime, **properties: str | None) -> None:
        """Change properties of a deal, as a user would, stamping a new modification time."""
        deal = self.deals[deal_id]
        deal.properties.update(properties)
        deal.modified_at = _aware(modified_at)

    def merge(self, primary_id: str, secondary_id: str, merged_at: datetime) -> None:
        """Merge a deal into another, as a user does in HubSpot.

        The secondary deal leaves search and the archived list alike; the primary lists it (and
        what was merged into it before) in `hs_merged_object_ids`, `;`-separated, keeps its own
        properties and takes the secondary's companies.
        """
        primary, secondary = self.deals[primary_id], self.deals.pop(secondary_id)
        merged = [
            *(primary.properties.get("hs_merged_object_ids") or "").split(";"),
            secondary_id,
            *(secondary.properties.get("hs_merged_object_ids") or "").split(";"),
        ]
        primary.properties["hs_merged_object_ids"] = ";".join(i for i in merged if i)
        for company_id, type_ids in secondary.companies.items():
            primary.companies.setdefault(company_id, [UNLABELED] if primary.companies else type_ids)
        primary.modified_at = _aware(merged_at)

    def register(self, server: FakeApiServer) -> None:
        """Serve the endpoints on `server`."""
        server.route("POST", "/crm/v3/objects/deals/search", self._guard(self._search))
        server.route("GET", "/crm/v3/objects/deals", self._guard(self._list))
        server.route("POST", "/crm/v4/associations/deals/companies/batch/read", self._guard(self._associations))

    def _guard(self, handler):
        def guarded(request: FakeRequest) -> FakeResponse:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return FakeResponse(401, {
                    "status": "error", "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                })
            return handler(request)

        return guarded

    def _search(self, request: FakeRequest) -> FakeResponse:
        self.searches += 1
        self.before_search(self.searches)
        body = request.json() or {}
        limit = min(int(body.get("limit", 10)), 200)
        after = int(body.get("after") or 0)
        if after >= self.search_result_limit:
            return FakeResponse(400, {
                "status": "error", "category": "VALIDATION_ERROR",
                "message": f"There was a problem with the request: after must be < {self.search_result_limit}",
            })
        matches = [d for d in self.deals.values() if not d.archived and _passes(d, body.get("filterGroups") or [])]
        for sort in reversed(body.get("sorts") or []):
            name = sort["propertyName"]
            matches.sort(key=lambda d, name=name: _sort_value(d, name), reverse=sort.get("direction") == "DESCENDING")
        page = matches[after : after + limit]
        properties = body.get("properties") or []
        result: dict[str, Any] = {
            "total": len(matches),
            "results": [_select(d.render(), properties) for d in page],
        }
        if after + limit < len(matches):
            result["paging"] = {"next": {"after": str(after + limit), "link": "?after=" + str(after + limit)}}
        return FakeResponse(200, result)

    def _list(self, request: FakeRequest) -> FakeResponse:
        archived = (request.param("archived", "false") or "false").lower() == "true"
        limit = min(int(request.param("limit", "10") or 10), 100)
        after = int(request.param("after", "0") or 0)
        matches = sorted((d for d in self.deals.values() if d.archived == archived), key=lambda d: int(d.id))
        properties = (request.param("properties") or "").split(",")
        page = matches[after : after + limit]
        result: dict[str, Any] = {"results": [_select(d.render(), properties) for d in page]}
        if after + limit < len(matches):
            result["paging"] = {"next": {"after": str(after + limit), "link": "?after=" + str(after + limit)}}
        return FakeResponse(200, result)

    def _associations(self, request: FakeRequest) -> FakeResponse:
        inputs = (request.json() or {}).get("inputs", [])
        results = []
        for item in inputs:
            deal = self.deals.get(str(item["id"]))
            if deal is None or not deal.companies:
                continue  # HubSpot leaves out objects with no associations
            results.append({
                "from": {"id": deal.id},
                "to": [
                    {
                        "toObjectId": int(company_id),
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": t, "label": "Primary" if t == PRIMARY else None}
                            for t in type_ids
                        ],
                    }
                    for company_id, type_ids in deal.companies.items()
                ],
            })
        now = iso(datetime.now(tz=UTC))
        return FakeResponse(200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


def _timestamp_ms(value: str | None) -> int | None:
    if not value:
        return None
    if value.isdigit():  # a test's deal may render its datetimes as epoch milliseconds
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _property(deal: FakeDeal, name: str) -> Any:
    """A property for filtering and sorting: datetimes as epoch milliseconds, the record id as a number."""
    if name == "hs_object_id":
        return int(deal.id)
    if name == "hs_lastmodifieddate":
        return int(deal.modified_at.timestamp() * 1000)
    if name == "closedate":
        return _timestamp_ms(deal.properties.get("closedate"))
    return deal.properties.get(name)


def _sort_value(deal: FakeDeal, name: str) -> Any:
    value = _property(deal, name)
    return (value is None, value if value is not None else 0)


OPERATORS = {
    "GTE": lambda a, b: a >= b,
    "GT": lambda a, b: a > b,
    "LTE": lambda a, b: a <= b,
    "LT": lambda a, b: a < b,
    "EQ": lambda a, b: a == b,
}


def _matches(deal: FakeDeal, condition: dict[str, Any]) -> bool:
    name = condition["propertyName"]
    left = _property(deal, name)
    right = condition.get("value")
    if name in ("hs_lastmodifieddate", "closedate", "hs_object_id"):
        right = int(right or 0)
    compare = OPERATORS.get(condition["operator"])
    return left is not None and compare is not None and compare(left, right)


def _passes(deal: FakeDeal, groups: list[dict[str, Any]]) -> bool:
    """Filter groups are OR-ed, the filters inside a group AND-ed."""
    if not groups:
        return True
    return any(all(_matches(deal, c) for c in group.get("filters", [])) for group in groups)


def _select(rendered: dict[str, Any], properties: list[str]) -> dict[str, Any]:
    """Only the requested properties (plus the ones HubSpot always returns)."""
    wanted = set(properties) | {"hs_object_id", "hs_lastmodifieddate", "createdate"}
    rendered["properties"] = {k: v for k, v in rendered["properties"].items() if k in wanted}
    return rendered


def demo_hubspot(home: Path) -> FakeHubSpot:
    """The demo portal: the HubSpot deals of the demo CRM (orchestration/demo/crm.py)."""
    from orchestration.demo.crm import build_world

    fake = FakeHubSpot()
    for deal in build_world(home).of("hubspot"):
        companies = {deal.crm_account_id: [PRIMARY, UNLABELED]}
        for extra in deal.extra_company_ids:
            companies[extra] = [UNLABELED]
        fake.add_deal(
            deal.deal_id,
            amount=str(deal.amount),
            closedate=deal.closed_at,
            modified_at=deal.modified_at,
            created_at=deal.created_at,
            dealstage="closedwon" if deal.won else "closedlost",
            currency=deal.currency,
            name=deal.name,
            companies=companies,
            archived=deal.removed,
            archived_at=deal.modified_at if deal.removed else None,
        )
    return fake


def register(server: FakeApiServer, home: Path) -> None:
    """DEMO_APIS hook: serve the demo portal."""
    demo_hubspot(home).register(server)


def environment(base_url: str) -> dict[str, str]:
    """DEMO_APIS hook: point the HubSpot source at the fake."""
    return {"HUBSPOT_BASE_URL": base_url, "HUBSPOT_ACCESS_TOKEN": DEMO_TOKEN}
