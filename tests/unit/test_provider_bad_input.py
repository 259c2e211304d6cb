"""Provider reports with bad buckets: each bad record is quarantined with its reason, never fatal, never lost.

The malformed pages are served over a real socket by the local fake server (`FakeApiServer.inject`),
so the real client runs end to end: the HTTP request, `get_json`'s Decimal parsing, the `data` /
`has_more` / `next_page` paging, and the bucket flattening.
"""

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.demo.server import FakeApiServer, FakeResponse
from orchestration.http import ApiConfig, make_session
from orchestration.sources.anthropic import assets as anthropic_assets
from orchestration.sources.anthropic import client as anthropic_client
from orchestration.sources.openai import assets as openai_assets
from orchestration.sources.openai import client as openai_client
from orchestration.sources.provider_api import load_records

FIRST, LAST = date(2026, 11, 18), date(2026, 11, 20)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer() as running:
        yield running


def serve_pages(server: FakeApiServer, path: str, pages: list[dict[str, Any]]) -> None:
    """Answer the next requests to `path` with `pages`, linked as the API links them (`has_more`, `next_page`)."""
    linked = [
        {**page, "has_more": number < len(pages), "next_page": f"page-{number + 1}" if number < len(pages) else None}
        for number, page in enumerate(pages, start=1)
    ]
    server.inject(path, *(FakeResponse(200, page) for page in linked))


def assert_pages_were_requested(server: FakeApiServer, path: str, count: int) -> None:
    """The client asked for each page once, sending each `next_page` back as `page`."""
    requests = server.requests_to(path)
    assert [request.param("page") for request in requests] == [None, *(f"page-{n}" for n in range(2, count + 1))]


def quarantine(conn: duckdb.DuckDBPyConnection, entity: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select _partition_date, _source_file, _line_number, reason, raw_record from raw.quarantine "
        "where entity = ? order by _source_file, _line_number",
        [entity],
    ).fetchall()


def anthropic_bucket(start: Any, results: Any) -> dict[str, Any]:
    end = "2026-11-19T00:00:00Z" if start == "2026-11-18T00:00:00Z" else "2026-11-21T00:00:00Z"
    return {"starting_at": start, "ending_at": end, "results": results}


COST = {"currency": "USD", "amount": "1234.5", "workspace_id": None, "description": "Claude input",
        "cost_type": "tokens", "model": "claude-sonnet-4-5", "token_type": "uncached_input_tokens"}


def test_anthropic_bad_buckets_and_amounts_are_quarantined_naming_page_bucket_and_field(
    server: FakeApiServer, conn: duckdb.DuckDBPyConnection
) -> None:
    # given: a good cost, a cost of "abc" cents, a bucket without starting_at, one with a bad one
    pages = [
        {"data": [anthropic_bucket("2026-11-18T00:00:00Z", [COST, {**COST, "amount": "abc"}])]},
        {"data": [
            {"ending_at": "2026-11-21T00:00:00Z", "results": [COST]},
            anthropic_bucket("not-a-time", [COST]),
            anthropic_bucket("2026-11-20T00:00:00Z", ["not an object"]),
        ]},
    ]
    serve_pages(server, anthropic_client.COST_PATH, pages)
    client = anthropic_client.AnthropicClient(
        ApiConfig(source=anthropic_client.ANTHROPIC_API, base_url=server.base_url, secret="s"), make_session()
    )

    # when
    records = list(client.iter_costs(FIRST, LAST))
    report = load_records(conn, anthropic_assets.COSTS, records, FIRST, LAST)

    # then: both pages were fetched, the good row loads, the four bad ones are quarantined, none is lost
    assert_pages_were_requested(server, anthropic_client.COST_PATH, 2)
    assert (report.received, report.loaded, report.quarantined) == (5, 1, 4)
    assert report.extra["records_outside_window"] == 0
    rows = quarantine(conn, "anthropic_costs")
    path = anthropic_client.COST_PATH
    assert [(row[1], row[2]) for row in rows] == [
        (f"{path} page 1 bucket 1", 2),
        (f"{path} page 2 bucket 1", 1),
        (f"{path} page 2 bucket 2", 1),
        (f"{path} page 2 bucket 3", 1),
    ]
    reasons = [row[3] for row in rows]
    assert reasons[0] == "amount: 'abc' is not a decimal number of cents"
    assert reasons[1].startswith("_partition_date: no day")
    assert "bucket_starting_at: not-a-time is not timestamp" in reasons[2]
    assert reasons[3] == "results[0]: not a JSON object"
    assert all(row[0] == LAST for row in rows[1:])  # no day: kept under the window's last day
    assert '"abc"' in rows[0][4]

    # and: pulling the window again replaces its quarantine rows, it does not add copies
    load_records(conn, anthropic_assets.COSTS, records, FIRST, LAST)
    assert len(quarantine(conn, "anthropic_costs")) == 4


def openai_bucket(start: Any, results: list[Any]) -> dict[str, Any]:
    end = start + 86_400 if isinstance(start, int) else 1_795_046_400
    return {"object": "bucket", "start_time": start, "end_time": end, "results": results}


USAGE = {"object": "organization.usage.completions.result", "input_tokens": 100, "output_tokens": 5,
         "num_model_requests": 1, "model": "gpt-4.1", "project_id": "proj_a"}


def test_openai_bad_start_times_are_quarantined_not_fatal(
    server: FakeApiServer, conn: duckdb.DuckDBPyConnection
) -> None:
    # given: 2026-11-19 00:00 UTC is 1795046400
    pages = [{"data": [
        openai_bucket(1_795_046_400, [USAGE]),
        openai_bucket("abc", [USAGE]),
        openai_bucket(None, [USAGE]),
        openai_bucket(1_795_046_400, [{**USAGE, "input_tokens": "many"}]),
    ]}]
    path = "/v1" + openai_client.USAGE_PATH
    serve_pages(server, path, pages)
    serve_pages(server, "/v1" + openai_client.EMBEDDINGS_USAGE_PATH, [{"data": []}])  # no embeddings
    client = openai_client.OpenAIClient(
        ApiConfig(source=openai_client.OPENAI_API, base_url=server.base_url, secret="s"), make_session()
    )

    # when
    records = list(client.iter_usage(FIRST, LAST))
    report = load_records(conn, openai_assets.USAGE, records, FIRST, LAST)

    # then
    assert_pages_were_requested(server, path, 1)
    assert (report.received, report.loaded, report.quarantined) == (4, 1, 3)
    rows = quarantine(conn, "openai_usage")
    assert [row[1] for row in rows] == [f"{path} page 1 bucket {n}" for n in (2, 3, 4)]
    assert "start_time: abc is not bigint" in rows[0][3]
    assert rows[0][3].startswith("_partition_date: no day")
    assert rows[1][3].startswith("_partition_date: no day")
    assert rows[2][3] == "input_tokens: many is not bigint"
    assert rows[2][0] == date(2026, 11, 19)


def test_fractional_token_counts_are_quarantined_naming_the_field_and_whole_ones_written_as_decimals_load(
    server: FakeApiServer, conn: duckdb.DuckDBPyConnection
) -> None:
    # given: Anthropic usage with fractional counts (a JSON number, a string), then the same day's
    # usage of another model with whole counts written as decimals or with an exponent
    cache_creation = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    fractional = {"model": "claude-sonnet-4-5", "uncached_input_tokens": 100.6, "cache_read_input_tokens": "7.4",
                  "cache_creation": cache_creation, "output_tokens": 5}
    whole = {"model": "claude-haiku-4-5", "uncached_input_tokens": 100.0, "cache_read_input_tokens": "1e3",
             "cache_creation": cache_creation, "output_tokens": 20.0}
    serve_pages(server, anthropic_client.USAGE_PATH, [{"data": [anthropic_bucket("2026-11-18T00:00:00Z",
                                                                                 [fractional, whole])]}])
    client = anthropic_client.AnthropicClient(
        ApiConfig(source=anthropic_client.ANTHROPIC_API, base_url=server.base_url, secret="s"), make_session()
    )

    # when
    records = list(client.iter_usage(FIRST, LAST))
    report = load_records(conn, anthropic_assets.USAGE, records, FIRST, LAST)

    # then: the fractional counts are not rounded into the warehouse; their row is quarantined with
    # each field named; the whole ones load as the numbers they are
    assert (report.received, report.loaded, report.quarantined) == (2, 1, 1)
    (row,) = quarantine(conn, "anthropic_usage")
    assert row[3] == "uncached_input_tokens: 100.6 is not bigint; cache_read_input_tokens: 7.4 is not bigint"
    loaded = conn.execute(
        "select model, uncached_input_tokens, cache_read_input_tokens, output_tokens from raw.anthropic_usage"
    ).fetchall()
    assert loaded == [("claude-haiku-4-5", 100, 1000, 20)]


def test_openai_fractional_token_count_is_quarantined_naming_the_field(
    server: FakeApiServer, conn: duckdb.DuckDBPyConnection
) -> None:
    # given: 2026-11-19 00:00 UTC is 1795046400; one result counts 12.5 output tokens, one 5.0
    pages = [{"data": [openai_bucket(1_795_046_400, [{**USAGE, "output_tokens": 12.5},
                                                      {**USAGE, "project_id": "proj_b", "output_tokens": 5.0}])]}]
    path = "/v1" + openai_client.USAGE_PATH
    serve_pages(server, path, pages)
    serve_pages(server, "/v1" + openai_client.EMBEDDINGS_USAGE_PATH, [{"data": []}])  # no embeddings
    client = openai_client.OpenAIClient(
        ApiConfig(source=openai_client.OPENAI_API, base_url=server.base_url, secret="s"), make_session()
    )

    # when
    report = load_records(conn, openai_assets.USAGE, list(client.iter_usage(FIRST, LAST)), FIRST, LAST)

    # then
    assert (report.received, report.loaded, report.quarantined) == (2, 1, 1)
    assert [row[3] for row in quarantine(conn, "openai_usage")] == ["output_tokens: 12.5 is not bigint"]
    assert conn.execute("select project_id, output_tokens from raw.openai_usage").fetchall() == [("proj_b", 5)]
