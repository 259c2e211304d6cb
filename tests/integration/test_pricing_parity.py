"""int_llm_calls_priced prices every call as genai-prices' own calc_price does, to 1e-8 USD.

Two ways in. The bulk of the calls (sampled, targeted, and a sweep of every model reference the
database lists) are written straight into `staging.stg_otel__spans` of a temporary warehouse (the
shape the staging model publishes): one `dbt build` loads the price seeds, runs the model's unit
tests, builds the price book and the priced calls, and runs their data tests. The sampled and
targeted calls also go the whole way: written as OTLP/JSON spans (the demo's writer, GenAI semconv
attributes, each call its own run), loaded by the trace loader and staged by the trace staging
models before they are priced, so what staging makes of the attributes is checked against
genai-prices too. The tests below compare the results with genai-prices call by call.
"""

from __future__ import annotations

import csv
import functools
import os
import random
import subprocess
import sys
import time as timer
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from genai_prices import Usage, calc_price
from genai_prices import types as gp
from genai_prices.data import providers as GENAI_PROVIDERS

from orchestration.loading import QUARANTINE_DDL
from orchestration.prices import price_context_for_service_tier, sync_price_book
from orchestration.sources.otel.load import load_traces
from tests.fixtures.builders import Call, Run, write_traces

pytestmark = pytest.mark.integration

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).parent / "dbt"
TOLERANCE_USD = Decimal("1e-8")
SEED = 20251123

SPAN_COLUMNS = {
    "call_id": "varchar",
    "trace_id": "varchar",
    "span_id": "varchar",
    "run_id": "varchar",
    "workflow": "varchar",
    "account_id": "varchar",
    "agent_name": "varchar",
    "reasoning_effort": "varchar",
    "operation": "varchar",
    "provider": "varchar",
    "request_model": "varchar",
    "response_model": "varchar",
    "model": "varchar",
    "service_tier": "varchar",
    "prompt_name": "varchar",
    "system_prompt_hash": "varchar",
    "started_at": "timestamp",
    "ended_at": "timestamp",
    "status": "varchar",
    "is_llm_call": "boolean",
    "has_usage": "boolean",
    "uncached_input_tokens": "bigint",
    "cache_read_tokens": "bigint",
    "cache_write_5m_tokens": "bigint",
    "cache_write_1h_tokens": "bigint",
    "cache_write_tokens": "bigint",
    "output_tokens": "bigint",
    "reasoning_tokens": "bigint",
    "input_tokens": "bigint",
    "_partition_date": "date",
}

# Providers sampled at random, most weight on the ones agents mostly call.
PROVIDER_WEIGHTS = {
    "anthropic": 6,
    "openai": 6,
    "google": 5,
    "deepseek": 4,
    "aws": 2,
    "azure": 2,
    "mistral": 2,
    "x-ai": 2,
    "openrouter": 2,
    "groq": 1,
    "together": 1,
    "fireworks": 1,
    "perplexity": 1,
    "moonshotai": 1,
    "cohere": 1,
}
SERVICE_TIERS = ["batch", "priority", "flex", "fast", "default"]


@dataclass
class Case:
    """One LLM call: what the span reports, and what genai-prices charges for it."""

    call_id: str
    provider: str | None
    model: str | None
    started_at: datetime  # naive UTC, as in stg_otel__spans
    uncached: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    reasoning: int = 0
    service_tier: str | None = None
    has_usage: bool = True
    status: str = "ok"
    tags: set[str] = field(default_factory=set)

    @property
    def input_tokens(self) -> int:
        return self.uncached + self.cache_read + self.cache_write_5m + self.cache_write_1h

    def usage(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens,
            cache_read_tokens=self.cache_read,
            cache_write_tokens=self.cache_write_5m + self.cache_write_1h,
            cache_write_5m_tokens=self.cache_write_5m,
            cache_write_1h_tokens=self.cache_write_1h,
            output_tokens=self.output,
            output_reasoning_tokens=self.reasoning,
        )

    def genai_price(self, usage: Usage | None = None) -> gp.PriceCalculation | None:
        """genai-prices' price of this call, None when it knows no such model."""
        if not self.has_usage:
            return None
        try:
            return calc_price(
                usage or self.usage(),
                self.model,
                provider_id=self.provider,
                genai_request_timestamp=self.started_at.replace(tzinfo=UTC),
                price_context=price_context_for_service_tier(self.service_tier),
            )
        except LookupError:
            return None

    def span_row(self) -> dict[str, object]:
        tokens = (
            {
                "uncached_input_tokens": self.uncached,
                "cache_read_tokens": self.cache_read,
                "cache_write_5m_tokens": self.cache_write_5m,
                "cache_write_1h_tokens": self.cache_write_1h,
                "cache_write_tokens": self.cache_write_5m + self.cache_write_1h,
                "output_tokens": self.output,
                "reasoning_tokens": self.reasoning,
                "input_tokens": self.input_tokens,
            }
            if self.has_usage
            else {}
        )
        return {
            "call_id": self.call_id,
            "trace_id": f"trace-{self.call_id}",
            "span_id": f"span-{self.call_id}",
            "run_id": f"run-{self.call_id}",
            "workflow": "parity",
            "account_id": "acct-1",
            "agent_name": "pricer",
            "reasoning_effort": None,
            "operation": "chat",
            "provider": self.provider,
            "request_model": self.model,
            "response_model": self.model,
            "model": self.model,
            "service_tier": self.service_tier,
            "prompt_name": None,
            "system_prompt_hash": None,
            "started_at": self.started_at,
            "ended_at": self.started_at + timedelta(seconds=3),
            "status": self.status,
            "is_llm_call": True,
            "has_usage": self.has_usage,
            **tokens,
            "_partition_date": self.started_at.date(),
        }


# --- the cases ----------------------------------------------------------------------------------


def _owner(model: gp.ModelInfo) -> gp.Provider:
    return next(p for p in GENAI_PROVIDERS if any(m is model for m in p.models))


def _equals_refs(clause: object) -> Iterator[str]:
    if isinstance(clause, gp.ClauseEquals):
        yield clause.equals
    elif isinstance(clause, gp.ClauseOr | gp.ClauseAnd):
        for child in clause.or_ if isinstance(clause, gp.ClauseOr) else clause.and_:
            yield from _equals_refs(child)


def _start_dates(model: gp.ModelInfo) -> list[date]:
    constraints = [] if isinstance(model.prices, gp.ModelPrice) else [c.constraint for c in model.prices]
    constraints += [v.constraint for v in model.price_variants or ()]
    return sorted({c.start_date for c in constraints if isinstance(c, gp.StartDateConstraint)})


def _tier_starts(model: gp.ModelInfo) -> list[int]:
    prices = [model.prices] if isinstance(model.prices, gp.ModelPrice) else [c.prices for c in model.prices]
    return sorted(
        {
            tier.start
            for price in prices
            for value in price.__dict__.values()
            if isinstance(value, gp.TieredPrices)
            for tier in value.tiers
        }
    )


def _random_usage(rng: random.Random, case: Case, tier_starts: list[int]) -> Case:
    case.output = rng.randint(0, 6_000)
    case.reasoning = rng.randint(0, case.output) if rng.random() < 0.3 else 0
    total = rng.randint(1, 60_000)
    if tier_starts and rng.random() < 0.35:
        threshold = rng.choice(tier_starts)
        total = threshold + rng.choice([-1, 0, 1, rng.randint(2, 150_000)])
    case.cache_read = rng.randint(0, total) if rng.random() < 0.5 else 0
    rest = total - case.cache_read
    if rng.random() < 0.4:
        case.cache_write_5m = rng.randint(0, rest)
        rest -= case.cache_write_5m
    if rng.random() < 0.3:
        case.cache_write_1h = rng.randint(0, rest)
        rest -= case.cache_write_1h
    case.uncached = rest
    return case


def _random_cases(rng: random.Random, n: int) -> list[Case]:
    priced_models = _priced_model_keys()
    by_provider = {
        p.id: [m for m in p.models if (p.id, m.id) in priced_models]
        for p in GENAI_PROVIDERS
        if p.id in PROVIDER_WEIGHTS
    }
    providers, weights = zip(*PROVIDER_WEIGHTS.items(), strict=True)
    cases = []
    for index in range(n):
        provider_id = rng.choices(providers, weights)[0]
        candidates = by_provider[provider_id]
        tiered = [m for m in candidates if _tier_starts(m)]
        # long-context tiers are rare among all models but common among the ones agents call
        model = rng.choice(tiered if tiered and rng.random() < 0.3 else candidates)
        ref = rng.choice([model.id, *_equals_refs(model.match)])
        starts = _start_dates(model)
        if starts and rng.random() < 0.6:
            day = rng.choice(starts) + timedelta(days=rng.choice([-1, 0]))
        else:
            day = date(2024, 6, 1) + timedelta(days=rng.randint(0, 940))
        started_at = datetime.combine(day, time()) + timedelta(seconds=rng.randint(0, 86_399))
        span_provider: str | None = provider_id
        roll = rng.random()
        if roll < 0.08:
            span_provider = None  # the provider is inferred from the model name
        elif roll < 0.13 and provider_id in ("openai", "anthropic"):
            span_provider = "azure" if provider_id == "openai" else "google"  # fallback providers
        case = Case(
            call_id=f"random-{index:04d}",
            provider=span_provider,
            model=ref if rng.random() < 0.8 else ref.upper(),
            started_at=started_at,
            service_tier=rng.choice(SERVICE_TIERS) if rng.random() < 0.25 else None,
            tags={"random"},
        )
        cases.append(_random_usage(rng, case, _tier_starts(model)))
    return cases


def _targeted_cases() -> list[Case]:
    """Calls chosen to cross each rule at its edge, named for what they prove."""
    noon = time(12, 0)

    def at(day: str, clock: time = noon) -> datetime:
        return datetime.combine(date.fromisoformat(day), clock)

    cached = {"uncached": 1_200, "cache_read": 30_000, "cache_write_5m": 4_000, "cache_write_1h": 2_500}
    cases = [
        Case("anthropic-cached", "anthropic", "claude-sonnet-4-5", at("2026-03-02"), output=900, **cached),
        Case("anthropic-cached-dated", "anthropic", "claude-sonnet-4-5-20250929", at("2026-03-02"), output=9),
        Case("anthropic-200k-exactly", "anthropic", "claude-sonnet-4-5", at("2026-03-02"), uncached=200_000),
        Case("anthropic-200k-plus-one", "anthropic", "claude-sonnet-4-5", at("2026-03-02"), uncached=200_001),
        Case(
            "anthropic-long-context-cached",
            "anthropic",
            "claude-sonnet-4-5",
            at("2026-03-02"),
            uncached=10_000,
            cache_read=200_000,
            cache_write_5m=30_000,
            cache_write_1h=10_000,
            output=2_000,
        ),
        Case(
            "anthropic-batch",
            "anthropic",
            "claude-sonnet-4-5",
            at("2026-10-20"),
            5_000,
            800,
            0,
            0,
            700,
            0,
            "batch",
        ),
        Case("anthropic-no-provider", None, "claude-sonnet-4-5", at("2026-03-02"), output=500, **cached),
        Case("anthropic-on-vertex", "google", "claude-sonnet-4-5", at("2026-03-02"), output=500, **cached),
        Case("o3-day-before-cut", "openai", "o3", datetime(2025, 6, 9, 23, 59, 59), 10_000, output=3_000),
        Case("o3-day-of-cut", "openai", "o3", datetime(2025, 6, 10, 0, 0, 0), 10_000, output=3_000),
        Case("o3-flex", "openai", "o3", at("2026-11-01"), 10_000, 2_000, output=3_000, service_tier="flex"),
        # Azure serves gpt-4.1 from OpenAI's list: genai-prices ignores the tier for such a model
        Case(
            "gpt-4.1-on-azure-ignores-tier",
            "azure",
            "gpt-4.1",
            at("2026-10-20"),
            10_000,
            output=30,
            service_tier="priority",
        ),
        Case("gpt-4.1-dated", "openai", "gpt-4.1-2025-04-14", at("2025-09-01"), 7_000, 3_000, output=400),
        Case("gpt-4.1-compact-dated", "openai", "gpt-4.1-20250414", at("2025-09-01"), 7_000, 3_000, output=400),
        Case("gpt-4.1-compact-no-provider", None, "gpt-4.1-20250414", at("2025-09-01"), 7_000, output=400),
        Case("gpt-4.1-batch", "openai", "gpt-4.1", at("2026-10-20"), 7_000, output=400, service_tier="batch"),
        Case(
            "gpt-4.1-priority",
            "openai",
            "gpt-4.1",
            at("2026-10-20"),
            7_000,
            output=40,
            service_tier="priority",
        ),
        Case("gpt-4.1-batch-before-variant", "openai", "gpt-4.1", at("2026-10-13"), 7_000, service_tier="batch"),
        Case("gpt-4.1-on-azure", "azure", "gpt-4.1", at("2025-09-01"), 7_000, 1_000, output=400),
        Case("gpt-5-long-context", "openai", "gpt-5.4", at("2026-06-01"), 280_000, 20_000, output=1_000),
        Case("gemini-long-context", "google", "gemini-2.5-pro", at("2026-02-01"), 150_000, 90_000, output=4_000),
        Case("gemini-no-provider", None, "gemini-2.5-flash", at("2026-02-01"), 15_000, 9_000, output=4_000),
        Case("bedrock-alias", "bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", at("2025-01-01"), 900),
        # LiteLLM (OpenLIT's gen_ai.system): a known provider before the slash names the provider,
        # else the provider is guessed from the model
        Case("litellm-prefixed", "litellm", "openai/gpt-4.1", at("2025-09-01"), 7_000, 1_000, output=400),
        Case("litellm-anthropic", "LiteLLM", "anthropic/claude-sonnet-4-5", at("2026-01-05"), 2_000, output=700),
        Case("litellm-bare", "litellm", "gpt-4.1", at("2025-09-01"), 7_000, output=400),
        Case("litellm-unknown-prefix", "litellm", "acme/gpt-4.1", at("2025-09-01"), 7_000, output=400),
        Case("sonar-pro-request-fee", "perplexity", "sonar-pro", at("2026-01-05"), 2_000, output=700),
        Case(
            "sonar-deep-research-reasoning",
            "perplexity",
            "sonar-deep-research",
            at("2026-01-05"),
            2_000,
            output=7_000,
            reasoning=5_000,
        ),
        Case("free-model", "openrouter", "openai/gpt-oss-20b:free", at("2026-01-05"), 2_000, output=700),
        Case("unknown-model", "openai", "gpt-does-not-exist-9", at("2026-01-05"), 2_000, output=700),
        Case("unknown-provider", "acme-llm", "gpt-4.1", at("2026-01-05"), 2_000, output=700),
        Case(
            "failed-no-usage",
            "anthropic",
            "claude-sonnet-4-5",
            at("2026-01-05"),
            has_usage=False,
            status="error",
        ),
        Case("failed-unknown-no-usage", "openai", "gpt-nope", at("2026-01-05"), has_usage=False, status="error"),
    ]
    # DeepSeek's peak window is 00:30-16:30 UTC: each edge, from both sides.
    for clock in (time(0, 29, 59), time(0, 30), time(16, 29, 59), time(16, 30), time(23, 0)):
        cases.append(
            Case(
                f"deepseek-chat-{clock:%H%M%S}",
                "deepseek",
                "deepseek-chat",
                at("2026-05-05", clock),
                8_000,
                50_000,
                output=1_500,
            )
        )
    # deepseek-v4-pro: a price change on 2026-08-17 and two peak windows a day.
    for day in ("2026-08-16", "2026-08-17"):
        for clock in (time(0, 59), time(1, 0), time(5, 0), time(9, 59, 59), time(10, 0)):
            cases.append(
                Case(
                    f"deepseek-v4-pro-{day}-{clock:%H%M%S}",
                    "deepseek",
                    "deepseek-v4-pro",
                    at(day, clock),
                    8_000,
                    20_000,
                    output=900,
                )
            )
    for case in cases:
        case.tags.add("targeted")
    return cases


def _sweep_cases() -> list[Case]:
    """Every model reference genai-prices lists, under its provider: the matching, end to end."""
    cases = []
    for provider in GENAI_PROVIDERS:
        for model in provider.models:
            for index, ref in enumerate(dict.fromkeys([model.id, *_equals_refs(model.match)])):
                cases.append(
                    Case(
                        f"sweep-{provider.id}-{model.id}-{index}",
                        provider.id,
                        ref,
                        datetime(2026, 11, 20, 9, 0),
                        uncached=3_000,
                        cache_read=1_000,
                        output=200,
                        tags={"sweep"},
                    )
                )
    return cases


@functools.cache
def _priced_model_keys() -> frozenset[tuple[str, str]]:
    """(provider, model) pairs the committed price book prices."""
    with (PROJECT_DIR / "seeds" / "model_prices.csv").open(newline="") as handle:
        return frozenset((row["provider_id"], row["model_id"]) for row in csv.DictReader(handle))


# --- the warehouse ------------------------------------------------------------------------------


def _write_spans(db_path: Path, cases: list[Case]) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in SPAN_COLUMNS.items())
    rows = [case.span_row() for case in cases]
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema staging")
        con.execute(f"create table staging.stg_otel__spans ({columns})")
        con.executemany(
            f"insert into staging.stg_otel__spans values ({', '.join('?' * len(SPAN_COLUMNS))})",
            [[row.get(name) for name in SPAN_COLUMNS] for row in rows],
        )


PRICING_ONLY = "model_prices model_match_rules price_overrides stg_prices__model_prices int_llm_calls_priced"


def _dbt_build(db_path: Path, work_dir: Path, selection: str = PRICING_ONLY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(DBT),
            "build",
            "--select",
            selection,
            "--full-refresh",
            # only tests whose every parent is built here (not the run-level tests downstream)
            "--indirect-selection",
            "cautious",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(work_dir / "target"),
            "--log-path",
            str(work_dir / "logs"),
        ],
        env={**os.environ, "AGENTLEDGER_DB": str(db_path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass
class PricedRun:
    cases: dict[str, Case]
    rows: dict[str, dict[str, object]]
    seconds: float


def _build_priced_calls(db_path: Path, work_dir: Path, selection: str = PRICING_ONLY) -> tuple[list[dict], float]:
    """Run `dbt build` on `selection` and return int_llm_calls_priced's rows and the build's seconds."""
    started = timer.perf_counter()
    result = _dbt_build(db_path, work_dir, selection)
    seconds = timer.perf_counter() - started
    assert result.returncode == 0, result.stdout[-6_000:] + result.stderr[-3_000:]
    with duckdb.connect(str(db_path), read_only=True) as con:
        cursor = con.execute("select * from intermediate.int_llm_calls_priced")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()], seconds


def _run_of(case: Case) -> Run:
    """The call as one run in the real trace format: root → agent → the call, GenAI semconv usage."""
    call = Call(
        model=case.model,
        provider=case.provider,  # None: no provider attribute, inferred from the model
        uncached_input=case.uncached,
        cache_read=case.cache_read,
        cache_write_5m=case.cache_write_5m,
        cache_write_1h=case.cache_write_1h,
        output=case.output,
        reasoning=case.reasoning,
        failed_without_usage=not case.has_usage,
        extra_attributes={"gen_ai.request.service_tier": case.service_tier},
    )
    return Run(run_id=case.call_id, workflow="parity", started_at=case.started_at.replace(tzinfo=UTC), calls=[call])


@pytest.fixture(scope="module")
def priced_through_staging(tmp_path_factory: pytest.TempPathFactory) -> PricedRun:
    # given: the sampled and targeted calls as OTLP/JSON spans, loaded by the trace loader
    work_dir = tmp_path_factory.mktemp("pricing_parity_staged")
    db_path = work_dir / "warehouse.duckdb"
    cases = _random_cases(random.Random(SEED), 240) + _targeted_cases()
    traces = work_dir / "traces"
    write_traces(traces / "parity.jsonl", [_run_of(case) for case in cases])  # undated: read for any window
    days = sorted(case.started_at.date() for case in cases)
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema raw")
        con.execute(QUARANTINE_DDL)
        spans, _ = load_traces(con, traces, days[0], days[-1])
    assert (spans.loaded, spans.quarantined) == (3 * len(cases), 0)  # root, agent, call

    # when: dbt stages the spans, builds the price book and prices them
    rows, seconds = _build_priced_calls(db_path, work_dir, selection="+int_llm_calls_priced")
    by_run = {row["run_id"]: row for row in rows}
    assert len(by_run) == len(rows)  # one call per run
    return PricedRun({case.call_id: case for case in cases}, by_run, seconds)


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> PricedRun:
    # given: sampled, targeted and sweep calls as stg_otel__spans rows
    work_dir = tmp_path_factory.mktemp("pricing_parity")
    db_path = work_dir / "warehouse.duckdb"
    cases = _random_cases(random.Random(SEED), 240) + _targeted_cases() + _sweep_cases()
    _write_spans(db_path, cases)

    # when: dbt builds the price book and prices them
    rows, seconds = _build_priced_calls(db_path, work_dir)
    return PricedRun({case.call_id: case for case in cases}, {row["call_id"]: row for row in rows}, seconds)


# --- the tests ----------------------------------------------------------------------------------


def test_committed_seeds_are_the_bundled_database(tmp_path: Path) -> None:
    # given / when: a fresh export
    sync_price_book(tmp_path)
    # then: the parity below is about the seeds in the repository, so they must be that export
    for name in ("model_prices.csv", "model_match_rules.csv"):
        assert (tmp_path / name).read_bytes() == (PROJECT_DIR / "seeds" / name).read_bytes(), name


def test_every_call_is_priced_once(priced: PricedRun) -> None:
    assert priced.rows.keys() == priced.cases.keys()


def _compare(case: Case, row: dict[str, object]) -> Decimal | None:
    """|SQL cost - genai-prices' total| for a call genai-prices prices by the token, else None.

    Asserts on the way that SQL agrees on everything else: the model it priced, and that a call
    genai-prices cannot price (or prices only by the hour or page) is flagged, never costed $0.
    """
    if not case.has_usage:
        assert row["cost_usd"] == 0 and not row["needs_price"], case
        return None
    if row["price_source"] == "override":
        return None  # a negotiated rate in seeds/price_overrides.csv: not genai-prices' to judge
    expected = case.genai_price()
    if expected is None:
        assert row["needs_price"] and row["cost_usd"] is None, case
        return None
    owner = _owner(expected.model)
    if (owner.id, expected.model.id) not in _priced_model_keys():
        assert row["needs_price"] and row["cost_usd"] is None, case
        return None
    assert (row["price_provider_id"], row["price_model_id"]) == (owner.id, expected.model.id), case
    difference = abs(row["cost_usd"] - expected.total_price)
    assert difference <= TOLERANCE_USD, (case, row["cost_usd"], expected.total_price)
    return difference


def test_cost_equals_genai_prices_for_sampled_calls(priced: PricedRun) -> None:
    # given: the sampled and targeted calls
    sampled = [c for c in priced.cases.values() if c.tags & {"random", "targeted"}]
    # when: each is compared with genai-prices' calc_price
    differences = [d for c in sampled if (d := _compare(c, priced.rows[c.call_id])) is not None]
    # then: every one is equal to 1e-8 USD (asserted in _compare), and there are enough of them
    print(
        f"\nparity: {len(differences)} calls equal to genai-prices, max |diff| {max(differences)} USD, "
        f"dbt build {priced.seconds:.1f} s"
    )
    assert len(differences) >= 200


def test_cost_through_the_trace_pipeline_equals_genai_prices(priced_through_staging: PricedRun) -> None:
    # given: the sampled and targeted calls as spans, through the loader and the trace staging models
    priced = priced_through_staging
    assert priced.rows.keys() == priced.cases.keys()
    # when: each is compared with genai-prices' calc_price
    differences = [d for c in priced.cases.values() if (d := _compare(c, priced.rows[c.call_id])) is not None]
    # then: every one is equal to 1e-8 USD (asserted in _compare), or flagged where genai-prices cannot price it
    print(
        f"\nparity through staging: {len(differences)} calls equal to genai-prices, max |diff| {max(differences)} "
        f"USD, dbt build {priced.seconds:.1f} s"
    )
    assert len(differences) >= 200


def test_sampled_calls_cover_every_pricing_rule(priced: PricedRun) -> None:
    rows = [priced.rows[c.call_id] for c in priced.cases.values() if c.tags & {"random", "targeted"}]
    cases = [priced.cases[row["call_id"]] for row in rows]
    assert sum(row["is_long_context"] for row in rows) >= 10
    assert sum(c.cache_read > 0 for c in cases) >= 50
    assert sum(c.cache_write_5m > 0 for c in cases) >= 30
    assert sum(c.cache_write_1h > 0 for c in cases) >= 20
    assert sum(row["price_variant"] not in (None, "standard") for row in rows) >= 5
    assert {row["provider"] for row in rows} >= {"anthropic", "openai", "google", "deepseek", None}


def test_no_cache_cost_prices_every_input_token_at_the_uncached_rate(priced: PricedRun) -> None:
    for case in priced.cases.values():
        if "sweep" in case.tags or not case.has_usage:
            continue
        no_cache = Usage(
            input_tokens=case.input_tokens, output_tokens=case.output, output_reasoning_tokens=case.reasoning
        )
        expected = case.genai_price(no_cache)
        if expected is not None:
            difference = abs(priced.rows[case.call_id]["no_cache_cost_usd"] - expected.total_price)
            assert difference <= TOLERANCE_USD, case


def test_components_add_up_to_the_cost(priced: PricedRun) -> None:
    for row in priced.rows.values():
        if row["cost_usd"] is None:
            continue
        parts = ("uncached_input", "cache_read", "cache_write", "output", "request")
        assert sum(row[f"{part}_cost_usd"] for part in parts) == row["cost_usd"], row


def test_cache_write_priced_at_5m_and_1h_rates(priced: PricedRun) -> None:
    # Sonnet 4.5: $3 input, $0.30 cache read, $3.75 5m write, $6 1h write, $15 output per MTok
    row = priced.rows["anthropic-cached"]
    assert row["uncached_input_cost_usd"] == Decimal("1200") * 3 / 1_000_000
    assert row["cache_read_cost_usd"] == Decimal("30000") * Decimal("0.3") / 1_000_000
    assert row["cache_write_cost_usd"] == (Decimal("4000") * Decimal("3.75") + Decimal("2500") * 6) / 1_000_000
    assert row["output_cost_usd"] == Decimal("900") * 15 / 1_000_000


def test_long_context_tier_starts_above_200k_input_tokens(priced: PricedRun) -> None:
    assert not priced.rows["anthropic-200k-exactly"]["is_long_context"]
    assert priced.rows["anthropic-200k-exactly"]["cost_usd"] == Decimal("0.6")
    assert priced.rows["anthropic-200k-plus-one"]["is_long_context"]
    assert priced.rows["anthropic-200k-plus-one"]["cost_usd"] == Decimal("200001") * 6 / 1_000_000


def test_price_change_applies_from_its_utc_day(priced: PricedRun) -> None:
    before, after = priced.rows["o3-day-before-cut"], priced.rows["o3-day-of-cut"]
    assert before["cost_usd"] == Decimal("0.1") + Decimal("0.12")  # $10 / $40 per MTok
    assert after["cost_usd"] == Decimal("0.02") + Decimal("0.024")  # $2 / $8 per MTok


def test_unknown_model_is_flagged_not_costed_zero(priced: PricedRun) -> None:
    for call_id in ("unknown-model", "unknown-provider"):
        row = priced.rows[call_id]
        assert row["needs_price"] and not row["is_priced"]
        assert row["cost_usd"] is None and row["no_cache_cost_usd"] is None


def test_failed_call_without_usage_costs_nothing(priced: PricedRun) -> None:
    for call_id in ("failed-no-usage", "failed-unknown-no-usage"):
        row = priced.rows[call_id]
        assert row["cost_usd"] == 0 and row["no_cache_cost_usd"] == 0
        assert not row["needs_price"]


def test_every_model_reference_resolves_like_genai_prices(priced: PricedRun) -> None:
    # given: every model id and alias in the database, under its own provider
    sweep = [c for c in priced.cases.values() if "sweep" in c.tags]
    # when / then: the same model, the same money, or flagged where genai-prices has no token price
    compared = [d for c in sweep if (d := _compare(c, priced.rows[c.call_id])) is not None]
    print(f"\nmatching: {len(compared)} of {len(sweep)} references priced as genai-prices prices them")
    assert len(compared) > 2_000


def test_a_litellm_call_is_the_priced_providers(priced: PricedRun) -> None:
    # given the LiteLLM cases, priced under the provider their prefix or model names
    for call_id, price_provider in (("litellm-prefixed", "openai"), ("litellm-anthropic", "anthropic")):
        row = priced.rows[call_id]
        # then LiteLLM is no provider of theirs: the priced provider stands for it downstream
        assert (row["provider"], row["price_provider_id"]) == (None, price_provider), row
