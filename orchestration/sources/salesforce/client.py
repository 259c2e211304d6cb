"""Salesforce REST API: opportunities modified since a time, deleted ones included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from orchestration.http import (
    REQUEST_FAILURES,
    TIMEOUT,
    SpendLimitReached,
    decode_json_body,
    display_url,
    is_error_code,
    is_redirect,
    redact,
    redirect_message,
)

API_VERSION = "v62.0"
OPPORTUNITY_FIELDS = (
    "Id", "AccountId", "Name", "Amount", "CloseDate", "StageName", "IsWon", "IsClosed", "IsDeleted",
    "LastModifiedDate", "SystemModstamp",
)


def parse_timestamp(value: str) -> datetime:
    """A Salesforce datetime (`2026-05-15T08:30:00.000+0000`, no colon in the offset) in UTC.

    One without an offset is UTC, as the loader's SQL reads it, never the host's zone.
    """
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal (unquoted ISO 8601 in UTC).

    A naive `moment` is UTC already (the warehouse stores the high-water mark as a naive UTC
    timestamp); `astimezone` would read it as the host's local time and skip changes.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceError(RuntimeError):
    """Salesforce answered with an error the client cannot work around."""


class SalesforceClient:
    """Reads opportunities with SOQL on a shared session (retries, timeouts).

    Args:
        instance_url: The org's instance URL, or a local server in tests and the demo.
        token: OAuth access token; sent as a Bearer header, never logged.
        session: A session from `orchestration.http.make_session`.
    """

    def __init__(self, instance_url: str, token: str, session: requests.Session, api_version: str = API_VERSION):
        self._instance_url = instance_url.rstrip("/")
        self._session = session
        self._token = token
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._api = f"/services/data/{api_version}"

    def _get(self, path: str) -> Any:
        """GET `path` and parse the body, numbers with a fraction as `Decimal` (Amount is money)."""
        try:
            response = self._session.get(f"{self._instance_url}{path}", headers=self._headers, timeout=TIMEOUT)
        except SpendLimitReached:
            raise SalesforceError(
                f"Salesforce GET {path.split('?')[0]}: HTTP 429, a limit that waiting does not lift: check the "
                "org's API request limits"
            ) from None
        except REQUEST_FAILURES as failure:
            raise SalesforceError(
                f"Salesforce could not be reached at {display_url(self._instance_url)} ({type(failure).__name__}): "
                "check SALESFORCE_INSTANCE_URL"
            ) from None
        if is_redirect(response.status_code):
            raise SalesforceError(redirect_message(
                "Salesforce", f"GET {path.split('?')[0]}", response.status_code, "SALESFORCE_INSTANCE_URL"
            ))
        if response.status_code in (401, 403):
            # Only the errorCode (`INVALID_SESSION_ID`): the `message` is free text that can echo the token.
            detail = ""
            try:
                errors = json.loads(response.content)
            except ValueError:
                errors = None
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                code = errors[0].get("errorCode")
                detail = f" ({code})" if is_error_code(code) else ""
            raise SalesforceError(redact(
                f"Salesforce GET {path.split('?')[0]}: HTTP {response.status_code}{detail} — check "
                "SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL",
                self._token,
            ))
        if response.status_code >= 500:
            raise SalesforceError(
                f"Salesforce GET {path.split('?')[0]}: kept failing after retries (HTTP {response.status_code}): "
                "Salesforce is having trouble; run again later"
            )
        if response.status_code >= 400:
            raise SalesforceError(
                f"Salesforce GET {path.split('?')[0]}: refused the request (HTTP {response.status_code})"
            )
        body = decode_json_body(response)
        if body is None:
            raise SalesforceError(
                f"Salesforce GET {path.split('?')[0]}: HTTP {response.status_code} with a body that is not JSON "
                f"({len(response.content)} bytes) — check SALESFORCE_INSTANCE_URL"
            )
        return body

    def opportunity_fields(self) -> set[str]:
        """Field names of Opportunity in this org (`CurrencyIsoCode` only with multi-currency)."""
        described = self._get(f"{self._api}/sobjects/Opportunity/describe")
        return {field["name"] for field in described.get("fields", [])}

    def default_currency(self) -> str | None:
        """The org's corporate currency: what amounts are in when the org has one currency."""
        records = list(self.query("SELECT DefaultCurrencyIsoCode FROM Organization", include_deleted=False))
        return records[0].get("DefaultCurrencyIsoCode") if records else None

    def query(self, soql: str, *, include_deleted: bool = True) -> Iterator[dict[str, Any]]:
        """Yield every record of `soql`, following `nextRecordsUrl` until `done`, without `attributes`."""
        endpoint = "queryAll" if include_deleted else "query"
        page = self._get(f"{self._api}/{endpoint}?q={quote(soql)}")
        while True:
            for record in page.get("records", []):
                yield {k: v for k, v in record.items() if k != "attributes"}
            if page.get("done", True):
                return
            next_url = page.get("nextRecordsUrl")
            if not next_url:
                raise SalesforceError("query answered done=false without a nextRecordsUrl")
            if not (isinstance(next_url, str) and next_url.startswith("/services/data/")):
                # the token goes to instance URL + this path: a value such as `@host/…` would send it elsewhere
                raise SalesforceError(
                    "query answered a nextRecordsUrl outside /services/data/: not followed (it would carry the token)"
                )
            page = self._get(next_url)

    def iter_opportunities_modified_since(
        self, since: datetime | None, *, with_currency: bool
    ) -> Iterator[dict[str, Any]]:
        """Yield opportunities with `SystemModstamp` at or after `since` (all when None), deleted ones too."""
        fields = [*OPPORTUNITY_FIELDS, "CurrencyIsoCode"] if with_currency else list(OPPORTUNITY_FIELDS)
        where = f" WHERE SystemModstamp >= {soql_datetime(since)}" if since is not None else ""
        soql = f"SELECT {', '.join(fields)} FROM Opportunity{where} ORDER BY SystemModstamp ASC"
        yield from self.query(soql, include_deleted=True)
