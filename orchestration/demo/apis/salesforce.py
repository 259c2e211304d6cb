"""A fake Salesforce org: SOQL over Opportunity through `query` and `queryAll`, describe, Organization.

Speaks the real formats (reference §F.2): records carry `attributes`, datetimes end in `+0000`
(no colon), `CloseDate` is a day, a result set comes in batches linked by `nextRecordsUrl` until
`done`, `query` hides deleted rows and `queryAll` shows them with `IsDeleted = true`, errors are a
JSON array of `{message, errorCode}`. Only the SOQL shapes the source sends are understood.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from orchestration.demo.server import FakeApiServer, FakeRequest, FakeResponse

DEMO_TOKEN = "demo-salesforce-token-not-a-secret"  # noqa: S105 - a fake token for the local fake API
API = "/services/data/v62.0"
FIELDS = (
    "Id", "AccountId", "Name", "Amount", "CloseDate", "StageName", "IsWon", "IsClosed", "IsDeleted",
    "LastModifiedDate", "SystemModstamp", "CurrencyIsoCode",
)
SELECT = re.compile(
    r"^SELECT (?P<fields>[\w, ]+) FROM (?P<object>\w+)"
    r"(?: WHERE SystemModstamp >= (?P<since>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ))?"
    r"(?: ORDER BY SystemModstamp ASC)?$"
)


def sf_datetime(moment: datetime) -> str:
    """Salesforce's datetime format: milliseconds and a `+0000` offset."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class FakeOpportunity:
    """An opportunity as the fake stores it."""

    id: str
    account_id: str | None
    name: str
    amount: Decimal | None
    close_date: date | None
    stage: str
    modstamp: datetime
    currency: str = "USD"
    deleted: bool = False

    def render(self, fields: list[str]) -> dict[str, Any]:
        """The record as a query returns it, with only `fields` (and `attributes`)."""
        won = self.stage == "Closed Won"
        values = {
            "Id": self.id,
            "AccountId": self.account_id,
            "Name": self.name,
            "Amount": float(self.amount) if self.amount is not None else None,
            "CloseDate": self.close_date.isoformat() if self.close_date else None,
            "StageName": self.stage,
            "IsWon": won,
            "IsClosed": self.stage.startswith("Closed"),
            "IsDeleted": self.deleted,
            "LastModifiedDate": sf_datetime(self.modstamp),
            "SystemModstamp": sf_datetime(self.modstamp),
            "CurrencyIsoCode": self.currency,
        }
        record: dict[str, Any] = {
            "attributes": {"type": "Opportunity", "url": f"{API}/sobjects/Opportunity/{self.id}"}
        }
        record.update({name: values[name] for name in fields})
        return record


class FakeSalesforce:
    """One org's opportunities behind describe, query, queryAll and their next-batch URLs."""

    def __init__(
        self,
        token: str = DEMO_TOKEN,
        *,
        batch_size: int = 2000,
        multi_currency: bool = True,
        default_currency: str = "USD",
    ) -> None:
        self.token = token
        self.batch_size = batch_size
        self.multi_currency = multi_currency
        self.default_currency = default_currency
        self.opportunities: dict[str, FakeOpportunity] = {}
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._locator = itertools.count(1)
        # called with the query's number (1, 2, …) before a `query` or `queryAll` (not a next
        # batch) is answered: what happens elsewhere while a sync waits on the org
        self.before_query: Callable[[int], None] = lambda number: None
        self.queries = 0

    def add(self, opportunity: FakeOpportunity) -> None:
        """Store (or replace) an opportunity."""
        self.opportunities[opportunity.id] = opportunity

    def delete(self, opportunity_id: str, at: datetime) -> None:
        """Delete an opportunity (it goes to the recycle bin: only queryAll still sees it)."""
        self.opportunities[opportunity_id].deleted = True
        self.opportunities[opportunity_id].modstamp = at

    def register(self, server: FakeApiServer) -> None:
        """Serve the endpoints on `server`."""
        server.route("GET", f"{API}/sobjects/Opportunity/describe", self._guard(self._describe))
        server.route("GET", f"{API}/queryAll", self._guard(lambda r: self._query(r, include_deleted=True)))
        server.route("GET", f"{API}/query/", self._guard(self._next_batch))
        server.route("GET", f"{API}/query", self._guard(lambda r: self._query(r, include_deleted=False)))

    def _guard(self, handler):
        def guarded(request: FakeRequest) -> FakeResponse:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return FakeResponse(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
            return handler(request)

        return guarded

    def _describe(self, request: FakeRequest) -> FakeResponse:
        names = [f for f in FIELDS if f != "CurrencyIsoCode" or self.multi_currency]
        return FakeResponse(200, {"name": "Opportunity", "fields": [{"name": name} for name in names]})

    def _query(self, request: FakeRequest, *, include_deleted: bool) -> FakeResponse:
        self.queries += 1
        self.before_query(self.queries)
        soql = unquote(request.param("q") or "").strip()
        match = SELECT.match(soql)
        if match is None:
            return FakeResponse(400, [{"message": f"unexpected SOQL: {soql[:80]}", "errorCode": "MALFORMED_QUERY"}])
        fields = [f.strip() for f in match["fields"].split(",")]
        if match["object"] == "Organization":
            return FakeResponse(200, {"totalSize": 1, "done": True, "records": [
                {"attributes": {"type": "Organization"}, "DefaultCurrencyIsoCode": self.default_currency}
            ]})
        unknown = [f for f in fields if f not in FIELDS or (f == "CurrencyIsoCode" and not self.multi_currency)]
        if unknown:
            return FakeResponse(400, [{
                "message": f"No such column '{unknown[0]}' on entity 'Opportunity'.", "errorCode": "INVALID_FIELD",
            }])
        since = datetime.strptime(match["since"], "%Y-%m-%dT%H:%M:%SZ") if match["since"] else None
        rows = sorted(
            (
                o for o in self.opportunities.values()
                if (include_deleted or not o.deleted) and (since is None or _naive(o.modstamp) >= since)
            ),
            key=lambda o: (_naive(o.modstamp), o.id),
        )
        records = [o.render(fields) for o in rows]
        return FakeResponse(200, self._batch(records, 0, len(records)))

    def _batch(self, records: list[dict[str, Any]], start: int, total: int) -> dict[str, Any]:
        end = start + self.batch_size
        body: dict[str, Any] = {"totalSize": total, "done": end >= len(records), "records": records[start:end]}
        if end < len(records):
            locator = f"01gDm{next(self._locator):012d}"
            self._cursors[locator] = records
            body["nextRecordsUrl"] = f"{API}/query/{locator}-{end}"
        return body

    def _next_batch(self, request: FakeRequest) -> FakeResponse:
        locator, _, position = request.path.rsplit("/", 1)[-1].partition("-")
        records = self._cursors.get(locator)
        if records is None or not position.isdigit():
            return FakeResponse(400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}])
        return FakeResponse(200, self._batch(records, int(position), len(records)))


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def demo_salesforce(home: Path) -> FakeSalesforce:
    """The demo org: the Salesforce opportunities of the demo CRM (orchestration/demo/crm.py)."""
    from orchestration.demo.crm import build_world

    fake = FakeSalesforce()
    for deal in build_world(home).of("salesforce"):
        fake.add(FakeOpportunity(
            id=deal.deal_id,
            account_id=deal.crm_account_id,
            name=deal.name,
            amount=deal.amount,
            close_date=deal.closed_at.date() - timedelta(days=1),  # closes at the end of CloseDate
            stage="Closed Won" if deal.won else "Closed Lost",
            modstamp=deal.modified_at,
            currency=deal.currency,
            deleted=deal.removed,
        ))
    return fake


def register(server: FakeApiServer, home: Path) -> None:
    """DEMO_APIS hook: serve the demo org."""
    demo_salesforce(home).register(server)


def environment(base_url: str) -> dict[str, str]:
    """DEMO_APIS hook: point the Salesforce source at the fake."""
    return {"SALESFORCE_INSTANCE_URL": base_url, "SALESFORCE_ACCESS_TOKEN": DEMO_TOKEN}
