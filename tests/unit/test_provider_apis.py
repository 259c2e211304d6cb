"""The Anthropic and OpenAI sources against local servers speaking each API's format, over real sockets.

Pages are followed to the end; a 429 with Retry-After and 5xx/529s are retried; a 401 and a spend-limit
429 fail at once with a message naming the API and the setting; a truncated body fails the
partition without writing; a restated bucket replaces the old one exactly; and the key appears in
no log line, table or error text.
"""

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.demo.apis.anthropic import FakeAnthropicAdminApi
from orchestration.demo.apis.openai import FakeOpenAIApi
from orchestration.demo.server import FakeApiServer, FakeResponse
from orchestration.http import ApiConfig, ApiError, make_session
from orchestration.sources.anthropic import assets as anthropic_assets
from orchestration.sources.anthropic.client import ANTHROPIC_API, AnthropicClient
from orchestration.sources.openai import assets as openai_assets
from orchestration.sources.openai.client import OPENAI_API, OpenAIClient
from tests.unit.run_logs import materialize_logged

SECRET = "test-admin-key-7f3a9c2e51b84d06"  # the key the fakes accept; it must surface nowhere
DAYS = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]


def anthropic_usage(day: date, scale: int = 1) -> list[dict[str, Any]]:
    return [{
        "model": "claude-sonnet-4-5-20250929", "workspace_id": None, "api_key_id": "apikey_01",
        "service_tier": "standard", "context_window": "0-200k", "uncached_input_tokens": 1000 * day.day * scale,
        "cache_read_input_tokens": 100 * scale,
        "cache_creation": {"ephemeral_5m_input_tokens": 10 * scale, "ephemeral_1h_input_tokens": 1 * scale},
        "output_tokens": 50 * scale, "server_tool_use": {"web_search_requests": 0},
    }]


def anthropic_costs(day: date, scale: int = 1) -> list[dict[str, Any]]:
    return [{
        "currency": "USD", "amount": f"{12.345 * day.day * scale:.5f}", "workspace_id": None,
        "description": "Claude Sonnet 4.5 input", "cost_type": "tokens", "context_window": "0-200k",
        "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "token_type": "uncached_input_tokens",
    }]


def openai_usage(day: date, scale: int = 1) -> list[dict[str, Any]]:
    return [{
        "model": "gpt-4.1-2025-04-14", "project_id": "proj_a", "api_key_id": "key_a", "batch": False,
        "service_tier": "default", "input_tokens": 1000 * day.day * scale, "input_cached_tokens": 100 * scale,
        "output_tokens": 50 * scale, "num_model_requests": 3 * scale,
    }]


def openai_costs(day: date, scale: int = 1) -> list[dict[str, Any]]:
    return [{"amount": {"value": Decimal("0.1234") * day.day * scale, "currency": "usd"},
             "line_item": "gpt-4.1-2025-04-14, input", "project_id": "proj_a"}]


@dataclass
class Provider:
    """One provider API under test: its fake, settings, client, asset and raw tables."""

    name: str
    fake: Callable[..., Any]
    source: Any
    client: Callable[[ApiConfig, Any], Any]
    assets: ModuleType
    usage_path: str
    cost_path: str
    usage: Callable[[date, int], list[dict[str, Any]]]
    costs: Callable[[date, int], list[dict[str, Any]]]
    usage_table: str
    cost_table: str
    tokens_sql: str
    money_sql: str
    spend_limit_body: dict[str, Any]

    def fake_api(self, key: str = SECRET, max_page_size: int | None = None, scale: int = 1) -> Any:
        return self.fake(key, {d: self.usage(d, scale) for d in DAYS}, {d: self.costs(d, scale) for d in DAYS},
                         max_page_size=max_page_size)


PROVIDERS = [
    Provider(
        "anthropic", FakeAnthropicAdminApi, ANTHROPIC_API, AnthropicClient, anthropic_assets,
        "/v1/organizations/usage_report/messages", "/v1/organizations/cost_report", anthropic_usage, anthropic_costs,
        "raw.anthropic_usage", "raw.anthropic_costs",
        "sum(uncached_input_tokens + cache_read_input_tokens + cache_creation_ephemeral_5m_input_tokens"
        " + cache_creation_ephemeral_1h_input_tokens + output_tokens)",
        "sum(amount_usd)",
        {"type": "error", "error": {"type": "rate_limit_error", "message": "spend limit reached",
                                    "details": {"error_code": "enforced_spend_limit_reached"}}},
    ),
    Provider(
        "openai", FakeOpenAIApi, OPENAI_API, OpenAIClient, openai_assets,
        "/v1/organization/usage/completions", "/v1/organization/costs", openai_usage, openai_costs,
        "raw.openai_usage", "raw.openai_costs", "sum(input_tokens + output_tokens)", "sum(amount_value)",
        {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "param": None,
                   "code": "insufficient_quota"}},
    ),
]


@pytest.fixture(params=PROVIDERS, ids=lambda provider: provider.name)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer() as running:
        yield running


def client_for(provider: Provider, server: FakeApiServer, backoff: float = 0.01) -> Any:
    config = ApiConfig(source=provider.source, base_url=server.base_url, secret=SECRET)
    return provider.client(config, make_session(backoff_factor=backoff))


def materialize(provider: Provider, server: FakeApiServer, db_path: Path, monkeypatch: pytest.MonkeyPatch,
                day: date = DAYS[-1]) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv(provider.source.key_setting, SECRET)
    monkeypatch.setenv(provider.source.base_url_setting, server.base_url)
    monkeypatch.setenv("AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "2")
    return dg.materialize(
        provider.assets.assets,
        partition_key=day.isoformat(),
        resources={"duckdb": DuckDBResource(database=str(db_path))},
        raise_on_error=False,
    )


def totals(db_path: Path, provider: Provider) -> tuple[int, int, Decimal, int]:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        usage = f"select count(*), {provider.tokens_sql} from {provider.usage_table}"
        usage_rows, tokens = conn.execute(usage).fetchone()
        cost_rows, money = conn.execute(f"select count(*), {provider.money_sql} from {provider.cost_table}").fetchone()
    return usage_rows, tokens, money, cost_rows


def test_three_pages_are_followed_to_the_end(provider: Provider, server: FakeApiServer) -> None:
    # given three days of buckets served one bucket per page
    provider.fake_api(max_page_size=1).register(server)

    # when the client reads the three days
    usage = list(client_for(provider, server).iter_usage(DAYS[0], DAYS[-1]))

    # then it asked for three pages, sending each next_page back, and got every day
    requests = server.requests_to(provider.usage_path)
    assert len(requests) == 3
    assert [r.param("page") is None for r in requests] == [True, False, False]
    assert sorted(record["_partition_date"] for record in usage) == DAYS


def test_a_429_with_retry_after_is_waited_out_then_succeeds(provider: Provider, server: FakeApiServer) -> None:
    provider.fake_api().register(server)
    server.inject(provider.usage_path, FakeResponse(429, {"error": {"type": "rate_limit_error"}}, {"Retry-After": "1"}))

    started = time.monotonic()
    usage = list(client_for(provider, server, backoff=0.0).iter_usage(DAYS[0], DAYS[-1]))
    waited = time.monotonic() - started

    assert len(server.requests_to(provider.usage_path)) == 2
    assert waited >= 1.0
    assert len(usage) == 3


# every retried server status (http.RETRY_STATUSES): 529 is Anthropic's "overloaded"
RETRIED_5XX = {
    500: {"error": {"type": "server_error"}},
    502: {"error": {"type": "bad_gateway"}},
    503: {"error": {"type": "overloaded"}},
    504: {"error": {"type": "timeout"}},
    529: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
}


@pytest.mark.parametrize("status", RETRIED_5XX)
def test_two_server_errors_are_retried_then_succeed(provider: Provider, server: FakeApiServer, status: int) -> None:
    # given a cost endpoint failing twice with the same retried status
    provider.fake_api().register(server)
    failure = FakeResponse(status, RETRIED_5XX[status])
    server.inject(provider.cost_path, failure, failure)

    # when the costs are fetched
    costs = list(client_for(provider, server).iter_costs(DAYS[0], DAYS[-1]))

    # then the third request succeeds
    assert len(server.requests_to(provider.cost_path)) == 3
    assert len(costs) == 3


def test_a_401_fails_fast_naming_the_setting_not_the_key(provider: Provider, server: FakeApiServer) -> None:
    provider.fake_api(key="the-right-key-0000").register(server)

    with pytest.raises(ApiError) as failure:
        list(client_for(provider, server).iter_usage(DAYS[0], DAYS[-1]))

    assert len(server.requests_to(provider.usage_path)) == 1  # no retry
    message = str(failure.value)
    assert "401" in message and provider.source.name in message and provider.source.key_setting in message
    assert SECRET not in message


def test_a_spend_limit_429_fails_at_once(provider: Provider, server: FakeApiServer) -> None:
    provider.fake_api().register(server)
    server.inject(provider.usage_path, *[FakeResponse(429, provider.spend_limit_body) for _ in range(6)])

    started = time.monotonic()
    with pytest.raises(ApiError) as failure:
        list(client_for(provider, server, backoff=1.0).iter_usage(DAYS[0], DAYS[-1]))

    assert len(server.requests_to(provider.usage_path)) == 1
    assert time.monotonic() - started < 1.0
    assert "spending limit or quota" in str(failure.value) and provider.source.key_setting in str(failure.value)


def stored_rows(db_path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of `table`, every column (`_extracted_at` included), in a stable order."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(f"select * from {table} order by all").fetchall()


def test_a_truncated_body_fails_the_partition_without_writing(
    provider: Provider, server: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a warehouse holding a first pull of the window
    db_path = tmp_path / "warehouse.duckdb"
    api = provider.fake_api()
    api.register(server)
    assert materialize(provider, server, db_path, monkeypatch).success
    before = totals(db_path, provider)
    usage_before = stored_rows(db_path, provider.usage_table)
    costs_before = stored_rows(db_path, provider.cost_table)

    # when the provider now reports different usage (three times the figures), and the next pull's
    # cost report is cut off mid-body: writing the usage before the costs were read would show
    api.usage.by_day = {day: provider.usage(day, 3) for day in DAYS}
    usage_requests = len(server.requests_to(provider.usage_path))
    server.inject(provider.cost_path, FakeResponse(200, b'{"data": [{"starting_at": "2026-11-18T00:00:00Z", "res'))
    result = materialize(provider, server, db_path, monkeypatch)

    # then the new usage was read, the partition failed saying why, and neither table changed at all:
    # same rows, same values, same `_extracted_at`
    assert len(server.requests_to(provider.usage_path)) > usage_requests
    assert not result.success
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    assert "not JSON" in failure.event_specific_data.error.to_string()
    assert totals(db_path, provider) == before
    assert stored_rows(db_path, provider.usage_table) == usage_before
    assert stored_rows(db_path, provider.cost_table) == costs_before


def test_a_restated_bucket_replaces_the_old_one_exactly(
    provider: Provider, server: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a provider whose newest bucket is first reported small, then restated (twice the figures)
    db_path = tmp_path / "warehouse.duckdb"
    api = provider.fake_api(scale=2)
    api.usage.preliminary = {DAYS[-1]: provider.usage(DAYS[-1], 1)}
    api.costs.preliminary = {DAYS[-1]: provider.costs(DAYS[-1], 1)}
    api.register(server)
    assert materialize(provider, server, db_path, monkeypatch).success
    first = totals(db_path, provider)

    # when the next night re-pulls the window
    assert materialize(provider, server, db_path, monkeypatch).success

    # then the raw tables hold exactly what the restated response says: one row per result, new totals
    restated = provider.fake_api(scale=2)
    expected_tokens = sum(
        sum(v for k, v in flatten(result).items() if k.endswith("tokens") and k != "input_cached_tokens")
        for day in DAYS for result in restated.usage.by_day[day]
    )
    assert totals(db_path, provider) == (3, expected_tokens, money_of(provider, restated), 3)
    assert first != totals(db_path, provider)


def flatten(result: dict[str, Any]) -> dict[str, Any]:
    flat = {}
    for key, value in result.items():
        flat.update({f"{key}_{k}": v for k, v in value.items()} if isinstance(value, dict) else {key: value})
    return flat


def money_of(provider: Provider, api: Any) -> Decimal:
    amounts = [result["amount"] for day in DAYS for result in api.costs.by_day[day]]
    if provider.name == "anthropic":
        return sum((Decimal(amount) / 100 for amount in amounts), Decimal(0))
    return sum((amount["value"] for amount in amounts), Decimal(0))


def text_values(db_path: Path) -> list[str]:
    """Every value of every text column of every table in the warehouse."""
    values = []
    with duckdb.connect(str(db_path), read_only=True) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        for schema, table, column in columns:
            values += [row[0] for row in conn.execute(f'select "{column}" from {schema}.{table}').fetchall()]
    return [value for value in values if value is not None]


def test_the_key_appears_in_no_log_line_table_or_error(
    provider: Provider, server: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given every logger at DEBUG (urllib3 logs each retry and URL there)
    caplog.set_level(logging.DEBUG)
    db_path = tmp_path / "warehouse.duckdb"
    provider.fake_api().register(server)
    server.inject(provider.usage_path, FakeResponse(503), FakeResponse(429, {}, {"Retry-After": "0"}))

    # when a run loads the window through retries, and a later run meets a rejected key
    loaded = materialize(provider, server, db_path, monkeypatch)
    server.inject(provider.usage_path, FakeResponse(401, {"error": {"type": "authentication_error"}}))
    rejected = materialize(provider, server, db_path, monkeypatch)

    # then the key is in no log line, no table, no error text, no Dagster event
    assert loaded.success and not rejected.success
    assert len(server.requests_to(provider.usage_path)) >= 4
    assert all(r.headers.get("x-api-key", r.headers.get("authorization", "")).endswith(SECRET)
               for r in server.requests_to(provider.usage_path))  # it was sent, as a header
    assert caplog.records and SECRET not in caplog.text
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert not [value for value in text_values(db_path) if SECRET in value]
    events = [str(event) for result in (loaded, rejected) for event in result.all_events]
    assert not [event for event in events if SECRET in event]
    failure = next(event for event in rejected.all_events if event.event_type_value == "STEP_FAILURE")
    assert provider.source.key_setting in failure.event_specific_data.error.to_string()


def test_the_log_line_says_received_loaded_and_quarantined(
    provider: Provider, server: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a provider serving three days of usage and costs
    provider.fake_api().register(server)
    monkeypatch.setenv(provider.source.key_setting, SECRET)
    monkeypatch.setenv(provider.source.base_url_setting, server.base_url)
    monkeypatch.setenv("AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "2")
    # when the last day is materialized (with its two lookback days)
    result, messages = materialize_logged(
        provider.assets.assets, partition_key=DAYS[-1].isoformat(),
        resources={"duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))},
    )
    # then one line names both tables' received, loaded and quarantined counts
    assert result.success
    usage, costs = provider.usage_table.split(".")[1], provider.cost_table.split(".")[1]
    counts = r"received \d+, loaded \d+, quarantined \d+"
    line = rf"{usage} 2026-11-18\.\.2026-11-20: {counts}; {costs}: {counts}"
    assert [message for message in messages if re.fullmatch(line, message)], messages
