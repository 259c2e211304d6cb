"""The price book seeds are a faithful, complete and reproducible export of genai-prices' database."""

from __future__ import annotations

import csv
import itertools
import re
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import types as gp
from genai_prices.data import providers as GENAI_PROVIDERS

from orchestration.prices import (
    MODEL_PRICES_COLUMNS,
    PRICE_COLUMNS,
    _regex_clauses,
    price_context_for_service_tier,
    sync_price_book,
)

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
CORE_PROVIDERS = ("anthropic", "openai", "google", "deepseek")
GENERATED = ("model_prices.csv", "model_match_rules.csv")


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("seeds")
    sync_price_book(seeds)
    return seeds


@pytest.fixture(scope="module")
def price_rows(synced: Path) -> dict[tuple[str, str], list[dict[str, str]]]:
    rows: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with (synced / "model_prices.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["provider_id"], row["model_id"]].append(row)
    return rows


@pytest.fixture(scope="module")
def rule_rows(synced: Path) -> list[dict[str, str]]:
    with (synced / "model_match_rules.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- a reader of the seed, the way int_llm_calls_priced reads it ----------------------------------


def _seconds(clock: str) -> int:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds  # "24:00:00" is 86,400: the end of the day


def _applies(row: dict[str, str], at: datetime, input_tokens: int) -> bool:
    day, clock = at.date(), _seconds(at.strftime("%H:%M:%S"))
    if row["effective_from"] and day < date.fromisoformat(row["effective_from"]):
        return False
    if row["effective_to"] and day >= date.fromisoformat(row["effective_to"]):
        return False
    if row["time_of_day_from"] and not _seconds(row["time_of_day_from"]) <= clock < _seconds(row["time_of_day_to"]):
        return False
    if row["input_tokens_above"] and input_tokens <= int(row["input_tokens_above"]):
        return False
    return not (row["input_tokens_up_to"] and input_tokens > int(row["input_tokens_up_to"]))


def _seed_price(
    rows: list[dict[str, str]], at: datetime, input_tokens: int, variant: str | None
) -> dict[str, Decimal] | None:
    """Token prices the seed gives a call: the variant's row where there is one, else standard."""
    for wanted in ([variant] if variant else []) + ["standard"]:
        matches = [r for r in rows if r["variant"] == wanted and _applies(r, at, input_tokens)]
        assert len(matches) <= 1, f"overlapping rows {matches}"
        if matches:
            return {key: Decimal(matches[0][column]) for key, column in PRICE_COLUMNS.items() if matches[0][column]}
    return None


def _genai_price(model: gp.ModelInfo, at: datetime, input_tokens: int, variant: str | None) -> dict[str, Decimal]:
    """genai-prices' resolved token prices for a call, tiers applied to `input_tokens`."""
    resolved = model.get_prices(at.replace(tzinfo=UTC), price_context_for_service_tier(variant))
    prices: dict[str, Decimal] = {}
    for key in PRICE_COLUMNS:
        value = resolved.__dict__.get(key)
        if isinstance(value, gp.TieredPrices):
            price = value.base
            for tier in value.tiers:
                if input_tokens > tier.start:
                    price = tier.price
            prices[key] = price
        elif value is not None:
            prices[key] = value
    if not any(v is not None for v in resolved.__dict__.values()):
        return {"input_mtok": Decimal(0), "output_mtok": Decimal(0)}  # listed without a price: free
    return prices


def _probe_instants(model: gp.ModelInfo) -> list[datetime]:
    """Instants on both sides of every date and time-of-day boundary the model's prices have."""
    constraints = [] if isinstance(model.prices, gp.ModelPrice) else [c.constraint for c in model.prices]
    constraints += [v.constraint for v in model.price_variants or ()]
    days = {date(2024, 1, 15), date(2026, 12, 31)}
    clocks = {time(0, 0), time(12, 0), time(23, 59, 59)}
    for constraint in constraints:
        if isinstance(constraint, gp.StartDateConstraint):
            days |= {constraint.start_date - timedelta(days=1), constraint.start_date}
        elif isinstance(constraint, gp.TimeOfDateConstraint):
            for edge in (constraint.start_time, constraint.end_time):
                at = datetime.combine(date(2026, 1, 1), edge.replace(tzinfo=None))
                clocks |= {(at - timedelta(seconds=1)).time(), at.time()}
    return [datetime.combine(day, clock) for day, clock in itertools.product(sorted(days), sorted(clocks))]


def _probe_inputs(model: gp.ModelInfo) -> list[int]:
    prices = [model.prices] if isinstance(model.prices, gp.ModelPrice) else [c.prices for c in model.prices]
    prices += [v.prices for v in model.price_variants or ()]
    starts = {
        tier.start
        for price in prices
        for value in price.__dict__.values()
        if isinstance(value, gp.TieredPrices)
        for tier in value.tiers
    }
    return sorted({0, 1_000, *starts, *(s + 1 for s in starts)})


def _variants(model: gp.ModelInfo) -> list[str | None]:
    names = {None}
    for variant in model.price_variants or ():
        if variant.when == {"processing": "batch"}:
            names.add("batch")
        elif set(variant.when) == {"service_tier"}:
            names.add(variant.when["service_tier"])
    return sorted(names, key=str)


# --- the tests ----------------------------------------------------------------------------------


def test_sync_is_deterministic(synced: Path, tmp_path: Path) -> None:
    # given / when: a second export
    sync_price_book(tmp_path)
    # then: byte for byte the same
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (synced / name).read_bytes(), name


def test_committed_seeds_equal_a_fresh_sync(synced: Path) -> None:
    for name in GENERATED:
        assert (SEEDS_DIR / name).read_bytes() == (synced / name).read_bytes(), (
            f"seeds/{name} differs from the bundled genai-prices database: run `agentledger prices sync`"
        )


@pytest.mark.parametrize("provider_id", CORE_PROVIDERS)
def test_every_model_price_matches_genai_prices_at_every_boundary(
    provider_id: str, price_rows: dict[tuple[str, str], list[dict[str, str]]]
) -> None:
    # given: every model of the provider, probed on both sides of each price change, time-of-day
    # edge and long-context threshold, for the standard price and each service tier
    provider = next(p for p in GENAI_PROVIDERS if p.id == provider_id)
    probes = 0
    for model in provider.models:
        rows = price_rows.get((provider_id, model.id), [])
        for at, tokens, variant in itertools.product(_probe_instants(model), _probe_inputs(model), _variants(model)):
            expected = _genai_price(model, at, tokens, variant)
            if not expected.keys() & {"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"}:
                # then: a model without token prices (audio hours, characters) has no row at all
                assert not rows, model.id
                continue
            # then: exactly one row applies and it carries genai-prices' price
            assert _seed_price(rows, at, tokens, variant) == expected, (model.id, at, tokens, variant)
            probes += 1
    assert probes > 100


def test_claude_sonnet_4_5_list_prices(price_rows: dict[tuple[str, str], list[dict[str, str]]]) -> None:
    base, long_context = (r for r in price_rows["anthropic", "claude-sonnet-4-5"] if r["variant"] == "standard")
    assert (base["input_tokens_above"], base["input_tokens_up_to"]) == ("", "200000")
    prices = {column: base[column] for column in MODEL_PRICES_COLUMNS[9:] if base[column]}
    assert prices == {
        "input_usd_per_mtok": "3",
        "cache_read_usd_per_mtok": "0.3",
        "cache_write_usd_per_mtok": "3.75",  # genai-prices' generic write is the 5-minute write
        "cache_write_1h_usd_per_mtok": "6",
        "output_usd_per_mtok": "15",
    }
    assert long_context["input_tokens_above"] == "200000"
    assert (long_context["input_usd_per_mtok"], long_context["output_usd_per_mtok"]) == ("6", "22.5")


def test_o3_price_cut_on_2025_06_10(price_rows: dict[tuple[str, str], list[dict[str, str]]]) -> None:
    rows = [r for r in price_rows["openai", "o3"] if r["variant"] == "standard"]
    assert [
        (r["effective_from"], r["effective_to"], r["input_usd_per_mtok"], r["output_usd_per_mtok"]) for r in rows
    ] == [
        ("", "2025-06-10", "10", "40"),
        ("2025-06-10", "", "2", "8"),
    ]


def test_deepseek_peak_hours_are_a_utc_window(price_rows: dict[tuple[str, str], list[dict[str, str]]]) -> None:
    rows = price_rows["deepseek", "deepseek-chat"]
    assert [(r["time_of_day_from"], r["time_of_day_to"], r["input_usd_per_mtok"]) for r in rows] == [
        ("00:00:00", "00:30:00", "0.135"),
        ("00:30:00", "16:30:00", "0.27"),
        ("16:30:00", "24:00:00", "0.135"),
    ]


def test_batch_variant_only_from_its_start_date(price_rows: dict[tuple[str, str], list[dict[str, str]]]) -> None:
    batch = [r for r in price_rows["openai", "gpt-4.1"] if r["variant"] == "batch"]
    assert [(r["effective_from"], r["input_usd_per_mtok"], r["output_usd_per_mtok"]) for r in batch] == [
        ("2026-10-14", "1", "4")
    ]


def test_prices_are_exact_decimals(synced: Path) -> None:
    with (synced / "model_prices.csv").open(newline="") as handle:
        cells = [row[column] for row in csv.DictReader(handle) for column in PRICE_COLUMNS.values() if row[column]]
    # plain decimals, never floats in scientific notation, every digit genai-prices has
    assert all(re.fullmatch(r"\d+(\.\d+)?", cell) for cell in cells)
    assert "0.041666666666666664" in cells


def test_match_rules_cover_every_model_of_the_core_providers(rule_rows: list[dict[str, str]]) -> None:
    ruled = {(r["lookup_provider_id"], r["model_id"]) for r in rule_rows if r["rule_scope"] == "model"}
    for provider in (p for p in GENAI_PROVIDERS if p.id in CORE_PROVIDERS):
        assert {(provider.id, m.id) for m in provider.models} <= ruled


def test_match_rules_keep_genai_prices_order_and_fallbacks(rule_rows: list[dict[str, str]]) -> None:
    fallbacks = [
        (r["lookup_provider_id"], r["match_order"], r["fallback_provider_id"])
        for r in rule_rows
        if r["rule_scope"] == "fallback"
    ]
    assert fallbacks[:2] == [("azure", "1", "openai"), ("azure", "2", "anthropic")]
    assert ("google", "1", "anthropic") in fallbacks
    by_model = {r["lookup_provider_id"]: r for r in rule_rows if r["rule_scope"] == "provider_by_model"}
    assert (by_model["anthropic"]["clause_kind"], by_model["anthropic"]["clause_value"]) == ("contains", "claude")
    openai_orders = [
        int(r["match_order"]) for r in rule_rows if r["rule_scope"] == "model" and r["lookup_provider_id"] == "openai"
    ]
    assert openai_orders == sorted(openai_orders)


def test_match_values_are_lower_case_except_regexes(rule_rows: list[dict[str, str]]) -> None:
    for row in rule_rows:
        if row["clause_kind"] in ("equals", "starts_with", "ends_with", "contains"):
            assert row["clause_value"] == row["clause_value"].lower(), row


def test_negative_lookahead_becomes_a_negated_clause() -> None:
    assert _regex_clauses("^(?!.*-[tT][tT][sS](?:$|-))") == [("not_regex", "^.*-[tT][tT][sS](?:$|-)")]
    assert _regex_clauses("^(?![^/]+/)(?:labs-)?(?:mi|ma)stral") == [
        ("not_regex", "^[^/]+/"),
        ("regex", "^(?:labs-)?(?:mi|ma)stral"),
    ]
    assert _regex_clauses("^o[134]") == [("regex", "^o[134]")]


def test_lookaround_that_re2_cannot_run_is_refused() -> None:
    with pytest.raises(ValueError, match="lookaround"):
        _regex_clauses("^gpt-(?=4)")


def test_overrides_file_is_created_header_only_and_never_rewritten(tmp_path: Path) -> None:
    # given: no overrides file
    summary = sync_price_book(tmp_path)
    overrides = tmp_path / "price_overrides.csv"
    assert overrides.read_text() == ",".join(MODEL_PRICES_COLUMNS) + "\n"
    assert summary["price_overrides_rows"] == 0
    # when: someone adds a negotiated rate and the book is synced again
    row = "anthropic,claude-sonnet-4-5,standard,2026-01-01,,,,,,2.4,0.24,3,,4.8,12,,\n"
    overrides.write_text(overrides.read_text() + row)
    summary = sync_price_book(tmp_path)
    # then: it is kept as written
    assert overrides.read_text().endswith(row)
    assert summary["price_overrides_rows"] == 1


def test_overrides_file_with_other_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "price_overrides.csv").write_text("provider,model,input_price\n")
    with pytest.raises(ValueError, match="same shape as model_prices.csv"):
        sync_price_book(tmp_path)


def test_committed_overrides_file_has_the_price_book_columns() -> None:
    with (SEEDS_DIR / "price_overrides.csv").open(newline="") as handle:
        assert tuple(next(csv.reader(handle))) == MODEL_PRICES_COLUMNS


def test_summary_counts_what_was_written(synced: Path, tmp_path: Path) -> None:
    summary = sync_price_book(tmp_path)
    lines = {name: len((synced / name).read_text().splitlines()) - 1 for name in GENERATED}
    assert summary["model_prices_rows"] == lines["model_prices.csv"]
    assert summary["model_match_rules_rows"] == lines["model_match_rules.csv"]
    assert summary["models"] == sum(len(p.models) for p in GENAI_PROVIDERS)
    assert summary["priced_models"] + summary["models_without_token_prices"] == summary["models"]
