"""The OpenAI source, built from the template: its asset materializes against a fake of OpenAI's API.

The fake (`orchestration/demo/apis/openai.py`) speaks the organization Usage and Costs APIs; the
client under test is never patched.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.demo.apis.openai import FakeOpenAIApi
from orchestration.demo.server import FakeApiServer
from orchestration.sources.openai import assets as openai

KEY = "openai-test-key-0001"

USAGE = {
    date(2026, 11, 18): [
        {"model": "gpt-4.1-2025-04-14", "project_id": "proj_a", "api_key_id": None, "batch": False,
         "service_tier": "default", "input_tokens": 1200, "input_cached_tokens": 200, "output_tokens": 90,
         "num_model_requests": 4},
    ],
    date(2026, 11, 20): [
        # an older response: none of the newer fields
        {"model": "gpt-5-mini-2025-08-07", "project_id": "proj_b", "batch": True, "input_tokens": 50,
         "output_tokens": 5, "num_model_requests": 1},
    ],
}
EMBEDDINGS = {
    date(2026, 11, 19): [
        {"model": "text-embedding-3-small", "project_id": "proj_a", "api_key_id": None, "input_tokens": 2_000_000,
         "num_model_requests": 40},
    ],
}
COSTS = {
    date(2026, 11, 18): [
        {"amount": {"value": Decimal("0.0019"), "currency": "usd"}, "line_item": "gpt-4.1-2025-04-14, input",
         "project_id": "proj_a"},
        {"amount": {"value": Decimal("0.0001"), "currency": "usd"}, "line_item": "gpt-4.1-2025-04-14, cached input",
         "project_id": "proj_a"},
    ],
}


def test_the_openai_asset_loads_the_window_from_the_fake_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given OpenAI's API with usage on two days of a three-day window, one bucket per page
    db_path = tmp_path / "warehouse.duckdb"
    with FakeApiServer() as server:
        fake = FakeOpenAIApi(KEY, USAGE, COSTS, max_page_size=1, embeddings=EMBEDDINGS)
        fake.register(server)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "2")

        # when the partition 2026-11-20 and its gates materialize
        result = dg.materialize(
            openai.assets,
            partition_key="2026-11-20",
            resources={"duckdb": DuckDBResource(database=str(db_path))},
        )

    # then day-aligned Unix seconds were asked for the window, with the groupings, page after page
    assert result.success
    # both tables' gates ran in the loading step and passed
    gates = sorted((check.check_name, check.passed) for check in result.get_asset_check_evaluations())
    assert gates == [("openai_costs_schema", True), ("openai_usage_schema", True)]
    usage_requests = server.requests_to("/v1/organization/usage/completions")
    assert len(usage_requests) == 3
    assert usage_requests[0].param("start_time") == str(int(datetime(2026, 11, 18, tzinfo=UTC).timestamp()))
    assert usage_requests[0].query["group_by"] == ["model", "project_id", "api_key_id", "batch", "service_tier"]
    assert server.requests_to("/v1/organization/costs")[0].query["group_by"] == ["project_id", "line_item"]
    embeddings_requests = server.requests_to("/v1/organization/usage/embeddings")
    assert len(embeddings_requests) == 3
    assert embeddings_requests[0].query["group_by"] == ["model", "project_id", "api_key_id"]
    with duckdb.connect(str(db_path), read_only=True) as conn:
        usage = conn.execute(
            "select _partition_date, endpoint, model, batch, input_tokens, input_cached_tokens, input_uncached_tokens, "
            "output_tokens from raw.openai_usage order by 1"
        ).fetchall()
        costs = conn.execute("select line_item, amount_value from raw.openai_costs order by 1").fetchall()
    assert usage == [
        (date(2026, 11, 18), "completions", "gpt-4.1-2025-04-14", False, 1200, 200, None, 90),
        (date(2026, 11, 19), "embeddings", "text-embedding-3-small", None, 2_000_000, None, None, 0),
        (date(2026, 11, 20), "completions", "gpt-5-mini-2025-08-07", True, 50, None, None, 5),
    ]
    assert costs == [
        ("gpt-4.1-2025-04-14, cached input", Decimal("0.0001")),
        ("gpt-4.1-2025-04-14, input", Decimal("0.0019")),
    ]
