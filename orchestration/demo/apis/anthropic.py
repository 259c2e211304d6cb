"""The Anthropic Admin API's usage and cost reports (reference §A), served from in-memory buckets.

Speaks the real format: `GET /v1/organizations/usage_report/messages` and `/v1/organizations/cost_report`
with `x-api-key` and `anthropic-version` headers, RFC 3339 `starting_at`/`ending_at`, pages of at
most 31 daily buckets with `has_more`/`next_page`, cost amounts as decimal strings in cents, errors
as `{"type": "error", "error": {...}}`. The demo fills it from the generated usage
(`orchestration/demo/billing.py`); tests fill it by hand and inject faults.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from orchestration.demo.apis.reports import DailyReport, Results, bad_request, window_limit
from orchestration.demo.server import FakeApiServer, FakeRequest, FakeResponse

USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
# A clearly fake key: the demo and the tests are the only places it opens anything.
DEMO_KEY = "demo-anthropic-admin-key"


def _day(value: str) -> date:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


class FakeAnthropicAdminApi:
    """The organization usage report (messages) and cost report over buckets by day."""

    def __init__(self, key: str, usage: Results, costs: Results, max_page_size: int | None = None) -> None:
        self.key = key
        self.usage = DailyReport(usage)
        self.costs = DailyReport(costs)
        self.max_page_size = max_page_size

    def register(self, server: FakeApiServer) -> None:
        """Serve both reports on `server`."""
        server.route("GET", USAGE_PATH, lambda request: self._serve(request, self.usage))
        server.route("GET", COST_PATH, lambda request: self._serve(request, self.costs))

    def _serve(self, request: FakeRequest, report: DailyReport) -> FakeResponse:
        if request.headers.get("x-api-key") != self.key:
            return FakeResponse(401, {"type": "error", "error": {"type": "authentication_error",
                                                                  "message": "invalid x-api-key"}})
        if "anthropic-version" not in request.headers:
            return FakeResponse(400, bad_request("anthropic-version header is required"))
        start, limit = request.param("starting_at"), window_limit(request, default=7, maximum=31)
        if start is None or limit is None:
            return FakeResponse(400, bad_request("starting_at is required and limit must be 1-31"))
        first = _day(start)
        end = _day(request.param("ending_at")) if request.param("ending_at") else first + timedelta(days=limit)
        buckets, token = report.page(first, end, limit, request.param("page"), self.max_page_size)
        return FakeResponse(200, {
            "data": [
                {"starting_at": _rfc3339(day), "ending_at": _rfc3339(day + timedelta(days=1)), "results": results}
                for day, results in buckets
            ],
            "has_more": token is not None,
            "next_page": token,
        })


def register(server: FakeApiServer, home: Path) -> None:
    """Serve the demo's Anthropic usage and cost reports, built from the generated usage (see billing.py)."""
    from orchestration.demo.billing import anthropic_reports

    usage, costs, preliminary = anthropic_reports(home)
    api = FakeAnthropicAdminApi(DEMO_KEY, usage, costs)
    api.usage.preliminary, api.costs.preliminary = preliminary
    api.register(server)


def environment(base_url: str) -> dict[str, str]:
    """Point the Anthropic source at the fake."""
    return {"ANTHROPIC_ADMIN_API_KEY": DEMO_KEY, "ANTHROPIC_BASE_URL": base_url}
