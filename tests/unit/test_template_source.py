"""The provider template imports, and its asset materializes against a fake server speaking its format.

Copy this test with the template (README "Adding a provider source"): the fake is the provider's
API as the test needs it, served on 127.0.0.1 — the client under test is never patched.
"""

from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.demo.server import FakeApiServer, FakeRequest, FakeResponse
from orchestration.sources._template import assets as template

KEY = "template-test-key-0001"


class FakeTemplateApi:
    """The template provider's API over a dict of day → results, one bucket per page by default."""

    def __init__(self, usage: dict[date, list[dict]], costs: dict[date, list[dict]], page_size: int = 1) -> None:
        self.usage, self.costs, self.page_size = usage, costs, page_size

    def register(self, server: FakeApiServer) -> None:
        server.route("GET", "/v1/usage", lambda request: self._report(request, self.usage))
        server.route("GET", "/v1/costs", lambda request: self._report(request, self.costs))

    def _report(self, request: FakeRequest, by_day: dict[date, list[dict]]) -> FakeResponse:
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return FakeResponse(401, {"error": {"type": "authentication_error", "message": "bad key"}})
        first = datetime.fromisoformat(request.param("starting_at").replace("Z", "")).date()
        end = datetime.fromisoformat(request.param("ending_at").replace("Z", "")).date()
        days = [first + timedelta(days=n) for n in range((end - first).days)]
        offset = int(request.param("page") or 0)
        size = min(self.page_size, int(request.param("limit")))
        page = days[offset:offset + size]
        more = offset + size < len(days)
        return FakeResponse(200, {
            "data": [
                {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day + timedelta(days=1)}T00:00:00Z",
                 "results": by_day.get(day, [])}
                for day in page
            ],
            "has_more": more,
            "next_page": str(offset + size) if more else None,
        })


def test_the_template_asset_materializes_against_a_fake_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a fake provider with two days of usage and cost, and the template pointed at it
    usage = {
        date(2026, 11, 19): [{"model": "m-1", "input_tokens": 1000, "cache_read_tokens": 200, "output_tokens": 50,
                              "requests": 3}],
        date(2026, 11, 20): [{"model": "m-1", "input_tokens": 4000, "cache_read_tokens": None, "output_tokens": 70,
                              "requests": 5},
                             {"model": "m-2", "input_tokens": 10, "cache_read_tokens": 0, "output_tokens": 1,
                              "requests": 1}],
    }
    costs = {date(2026, 11, 20): [{"model": "m-1", "token_type": "input", "amount_usd": "0.0123456789"}]}
    db_path = tmp_path / "warehouse.duckdb"
    with FakeApiServer() as server:
        FakeTemplateApi(usage, costs).register(server)
        monkeypatch.setenv("TEMPLATE_API_KEY", KEY)
        monkeypatch.setenv("TEMPLATE_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "2")

        # when its asset and gates materialize the partition 2026-11-20
        result = dg.materialize(
            template.assets,
            partition_key="2026-11-20",
            resources={"duckdb": DuckDBResource(database=str(db_path))},
        )

    # then the window (the day and the two before it) was pulled page by page and loaded, gates passing
    assert result.success
    # both tables' gates ran in the loading step and passed
    gates = sorted((check.check_name, check.passed) for check in result.get_asset_check_evaluations())
    assert gates == [("template_costs_schema", True), ("template_usage_schema", True)]
    assert [r.param("starting_at") for r in server.requests_to("/v1/usage")] == ["2026-11-18T00:00:00Z"] * 3
    with duckdb.connect(str(db_path), read_only=True) as conn:
        rows = conn.execute(
            "select _partition_date, model, input_tokens, cache_read_tokens, requests "
            "from raw.template_usage order by 1, 2"
        ).fetchall()
        amount = conn.execute("select amount_usd from raw.template_costs").fetchall()
    assert rows == [
        (date(2026, 11, 19), "m-1", 1000, 200, 3),
        (date(2026, 11, 20), "m-1", 4000, None, 5),
        (date(2026, 11, 20), "m-2", 10, 0, 1),
    ]
    assert str(amount[0][0]) == "0.0123456789"


def test_the_template_is_skipped_with_one_line_when_its_key_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEMPLATE_API_KEY", raising=False)
    db_path = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        template.assets, partition_key="2026-11-20", resources={"duckdb": DuckDBResource(database=str(db_path))}
    )
    assert result.success
    materialization = result.asset_materializations_for_node("template_reports")[0]
    assert materialization.metadata["skipped"].value == "TEMPLATE_API_KEY is not set"
    with duckdb.connect(str(db_path), read_only=True) as conn:  # the tables exist, empty, for staging to read
        assert conn.execute("select count(*) from raw.template_usage").fetchone() == (0,)
