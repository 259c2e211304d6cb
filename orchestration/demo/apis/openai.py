"""The OpenAI organization Usage and Costs APIs (reference §B), served from in-memory buckets.

Speaks the real format: `GET /v1/organization/usage/completions`, `/v1/organization/usage/embeddings`
and `/v1/organization/costs` with
`Authorization: Bearer <admin key>`, day-aligned Unix-second `start_time`/`end_time`, pages of
`limit` buckets with `has_more`/`next_page`, empty buckets as `results: []`, a 401 in OpenAI's error
shape for a wrong key. The demo fills it from the generated usage (`orchestration/demo/billing.py`);
tests fill it by hand and inject faults.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.demo.apis.reports import DailyReport, Results, window_limit
from orchestration.demo.server import FakeApiServer, FakeRequest, FakeResponse

USAGE_PATH = "/v1/organization/usage/completions"
EMBEDDINGS_USAGE_PATH = "/v1/organization/usage/embeddings"
COST_PATH = "/v1/organization/costs"
# A clearly fake key: the demo and the tests are the only places it opens anything.
DEMO_KEY = "demo-openai-admin-key"


def _unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _day(seconds: str) -> date:
    return datetime.fromtimestamp(int(seconds), UTC).date()


def _json_number(value: Any) -> Any:
    """OpenAI sends money as a JSON number: a Decimal goes out as the float it would be."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _json_number(item) for key, item in value.items()}
    return value


class FakeOpenAIApi:
    """The organization usage (completions, embeddings) and costs endpoints over buckets by day."""

    def __init__(
        self,
        key: str,
        usage: Results,
        costs: Results,
        max_page_size: int | None = None,
        embeddings: Results | None = None,
    ) -> None:
        self.key = key
        self.usage = DailyReport(usage)
        self.costs = DailyReport(costs)
        self.embeddings = DailyReport(embeddings or {})
        self.max_page_size = max_page_size

    def register(self, server: FakeApiServer) -> None:
        """Serve the three endpoints on `server`."""
        server.route("GET", USAGE_PATH, lambda request: self._serve(request, self.usage, "usage"))
        server.route("GET", EMBEDDINGS_USAGE_PATH, lambda request: self._serve(request, self.embeddings, "embeddings"))
        server.route("GET", COST_PATH, lambda request: self._serve(request, self.costs, "costs"))

    def _serve(self, request: FakeRequest, report: DailyReport, kind: str) -> FakeResponse:
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return FakeResponse(401, {"error": {"message": "Incorrect API key provided.",
                                                "type": "invalid_request_error", "param": None,
                                                "code": "invalid_api_key"}})
        start, end = request.param("start_time"), request.param("end_time")
        limit = window_limit(request, default=7, maximum=180 if kind == "costs" else 31)
        if start is None or end is None or limit is None:
            return FakeResponse(400, {"error": {"message": "start_time, end_time and limit are required within bounds",
                                                "type": "invalid_request_error", "param": None, "code": None}})
        buckets, token = report.page(_day(start), _day(end), limit, request.param("page"), self.max_page_size)
        result_object = {
            "usage": "organization.usage.completions.result",
            "embeddings": "organization.usage.embeddings.result",
            "costs": "organization.costs.result",
        }[kind]
        return FakeResponse(200, {
            "object": "page",
            "data": [
                {"object": "bucket", "start_time": _unix(day), "end_time": _unix(day) + 86_400,
                 "results": [{"object": result_object, **_json_number(result)} for result in results]}
                for day, results in buckets
            ],
            "has_more": token is not None,
            "next_page": token,
        })


def register(server: FakeApiServer, home: Path) -> None:
    """Serve the demo's OpenAI usage and costs, built from the generated usage (see billing.py)."""
    from orchestration.demo.billing import openai_reports

    usage, costs = openai_reports(home)
    FakeOpenAIApi(DEMO_KEY, usage, costs).register(server)


def environment(base_url: str) -> dict[str, str]:
    """Point the OpenAI source at the fake."""
    return {"OPENAI_ADMIN_KEY": DEMO_KEY, "OPENAI_BASE_URL": base_url}
