"""The price book: genai-prices' bundled database exported as dbt seeds, so SQL can price calls.

Calls are priced in SQL (`int_llm_calls_priced`), millions at a time, so the price database has to
be tables, not Python objects. `sync_price_book` flattens the database that ships inside the pinned
genai-prices wheel (never the auto-update download: the nightly costs must be reproducible from
the pinned version) into three seeds:

- `model_prices.csv`: one row per (provider, model, variant, period, time of day, long-context
  tier) with the per-MTok price of every token kind. Every rule genai-prices applies when it picks
  a price is resolved here, by asking genai-prices itself (`ModelInfo.get_prices`) at one instant
  of each cell of a grid cut at every date and time-of-day boundary the model's prices mention.
  The rows of one (provider, model, variant) are therefore disjoint: a call matches exactly one.
- `model_match_rules.csv`: genai-prices' model matching (clauses over the lower-cased model
  reference, first match in provider order, fallback providers, provider lookup by id or by model
  name), as rule rows in disjunctive normal form: a rule matches when all its clauses match.
- `price_overrides.csv`: negotiated rates, edited by hand. The sync only creates it (header only)
  and checks its header; it never touches its rows.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import genai_prices
from genai_prices import types as gp

GENAI_PRICES_VERSION = genai_prices.__version__

# genai-prices price key → seed column. Only token kinds that spans report are carried, plus the
# per-request fee some models charge on every call (Perplexity's sonar family: $12 per 1,000
# requests): leaving it out would price those calls below what they cost. Audio, image, video,
# character and web-search prices are not carried: spans do not report those counts, and
# genai-prices charges them nothing when the usage does not report them either.
PRICE_COLUMNS: dict[str, str] = {
    "input_mtok": "input_usd_per_mtok",
    "cache_read_mtok": "cache_read_usd_per_mtok",
    "cache_write_mtok": "cache_write_usd_per_mtok",
    "cache_write_5m_mtok": "cache_write_5m_usd_per_mtok",
    "cache_write_1h_mtok": "cache_write_1h_usd_per_mtok",
    "output_mtok": "output_usd_per_mtok",
    "output_reasoning_mtok": "output_reasoning_usd_per_mtok",
    "requests_kcount": "requests_usd_per_k",
}

# A price row is written only when one of these is priced: a model priced solely by audio hours or
# characters (tts-1, whisper) gets no row, so a call to it is flagged as unpriced, never costed $0.
TOKEN_PRICE_KEYS = frozenset(PRICE_COLUMNS) - {"requests_kcount"}

# A model genai-prices lists with no price at all is free: it is written as $0 in and out, so the
# seed says "free" in so many words instead of with an empty row.
FREE_PRICES: dict[str, Decimal] = {"input_mtok": Decimal(0), "output_mtok": Decimal(0)}

MODEL_PRICES_COLUMNS: tuple[str, ...] = (
    "provider_id",
    "model_id",
    "variant",
    "effective_from",
    "effective_to",
    "time_of_day_from",
    "time_of_day_to",
    "input_tokens_above",
    "input_tokens_up_to",
    *PRICE_COLUMNS.values(),
)

MATCH_RULES_COLUMNS: tuple[str, ...] = (
    "rule_scope",
    "lookup_provider_id",
    "match_order",
    "model_id",
    "fallback_provider_id",
    "rule_no",
    "clause_no",
    "clause_kind",
    "clause_value",
)

STANDARD_VARIANT = "standard"

# Any day before the first price change stands for "always": StartDateConstraint compares dates.
_BEFORE_ALL_DATES = date(2000, 1, 1)
_END_OF_DAY = time(0, 0)  # written as 24:00:00, the exclusive end of the last time-of-day cell

PriceValue = Decimal | gp.TieredPrices
PriceSet = dict[str, PriceValue]


@dataclass
class _SyncCounts:
    providers: int = 0
    models: int = 0
    priced_models: int = 0
    models_without_token_prices: list[str] = field(default_factory=list)
    skipped_variants: int = 0


def sync_price_book(seeds_dir: Path) -> dict[str, int | str]:
    """Write the price seeds from the genai-prices database bundled in the installed wheel.

    The output is a pure function of the installed genai-prices version: rows come out in the
    database's own provider and model order, so an upgrade shows up as a readable diff.

    Args:
        seeds_dir: the dbt seeds folder (`seeds/` at the repo root).

    Returns:
        Counts for the log: providers, models, priced models, rows written per seed, models left
        out because they have no token price, variants left out because spans cannot select them.

    Raises:
        ValueError: an existing `price_overrides.csv` whose header is not the expected one (a
            renamed column would otherwise silently stop overriding anything), or a model match
            regex that DuckDB's RE2 engine cannot evaluate.
    """
    from genai_prices.data import providers  # the bundled data, never an auto-updated snapshot

    seeds_dir.mkdir(parents=True, exist_ok=True)
    counts = _SyncCounts(providers=len(providers))

    price_rows: list[dict[str, object]] = []
    for provider in providers:
        for model in provider.models:
            counts.models += 1
            rows, skipped_variants = _model_price_rows(provider, model)
            counts.skipped_variants += skipped_variants
            if rows:
                counts.priced_models += 1
                price_rows.extend(rows)
            else:
                counts.models_without_token_prices.append(f"{provider.id}/{model.id}")

    rule_rows = list(_match_rule_rows(providers))

    _write_csv(seeds_dir / "model_prices.csv", MODEL_PRICES_COLUMNS, price_rows)
    _write_csv(seeds_dir / "model_match_rules.csv", MATCH_RULES_COLUMNS, rule_rows)
    override_rows = _ensure_overrides_file(seeds_dir / "price_overrides.csv")

    return {
        "genai_prices_version": GENAI_PRICES_VERSION,
        "providers": counts.providers,
        "models": counts.models,
        "priced_models": counts.priced_models,
        "models_without_token_prices": len(counts.models_without_token_prices),
        "skipped_variants": counts.skipped_variants,
        "model_prices_rows": len(price_rows),
        "model_match_rules_rows": len(rule_rows),
        "price_overrides_rows": override_rows,
    }


# --- prices -------------------------------------------------------------------------------------


def _model_price_rows(provider: gp.Provider, model: gp.ModelInfo) -> tuple[list[dict[str, object]], int]:
    """All price rows of one model, and how many of its variants were not exportable."""
    variants, skipped = _selectable_variants(model)
    date_cells = _date_cells(model)
    time_cells = _time_cells(model)

    rows: list[dict[str, object]] = []
    standard_grid = _price_grid(model, None, date_cells, time_cells)
    rows.extend(_grid_rows(provider.id, model.id, STANDARD_VARIANT, date_cells, time_cells, standard_grid))
    for variant, context in variants:
        grid = _price_grid(model, context, date_cells, time_cells)
        # A cell where the variant changes nothing is left to the standard row: the SQL falls back
        # to `standard` when no variant row matches, exactly as get_prices keeps the standard price.
        grid = [
            [cell if cell != standard_cell else None for cell, standard_cell in zip(row, std_row, strict=True)]
            for row, std_row in zip(grid, standard_grid, strict=True)
        ]
        rows.extend(_grid_rows(provider.id, model.id, variant, date_cells, time_cells, grid))
    return rows, skipped


def _selectable_variants(model: gp.ModelInfo) -> tuple[list[tuple[str, dict[str, str]]], int]:
    """(variant name, price context) for each variant a span's service tier can select."""
    variants: dict[str, dict[str, str]] = {}
    skipped = 0
    for variant in model.price_variants or ():
        context = dict(variant.when)
        name = variant_for_context(context)
        if name is None:
            skipped += 1
            continue
        variants.setdefault(name, context)
    return sorted(variants.items()), skipped


def variant_for_context(context: Mapping[str, str]) -> str | None:
    """The `variant` name of a genai-prices price context, None when no span can select it.

    Spans carry one fact that selects a variant, their service tier: the Batch API is
    genai-prices' `processing=batch` context and every other tier is `service_tier=<tier>`. So a
    span's service tier is the variant name. Variants keyed on anything else (`speed`, `route`,
    `search_type`) are not exported.
    """
    if len(context) != 1:
        return None
    ((key, value),) = context.items()
    if key == "processing" and value == "batch":
        return "batch"
    if key == "service_tier" and value not in ("batch", STANDARD_VARIANT):
        return value
    return None


def price_context_for_service_tier(service_tier: str | None) -> dict[str, str] | None:
    """The genai-prices `price_context` equivalent to a span's service tier (inverse of the above)."""
    if service_tier is None:
        return None
    if service_tier == "batch":
        return {"processing": "batch"}
    return {"service_tier": service_tier}


def _constraints(model: gp.ModelInfo) -> Iterator[gp.StartDateConstraint | gp.TimeOfDateConstraint]:
    if not isinstance(model.prices, gp.ModelPrice):
        for conditional in model.prices:
            if conditional.constraint is not None:
                yield conditional.constraint
    for variant in model.price_variants or ():
        if variant.constraint is not None:
            yield variant.constraint


def _date_cells(model: gp.ModelInfo) -> list[tuple[date | None, date | None]]:
    """[from, to) date intervals cut at every start date the model's prices mention."""
    starts = sorted({c.start_date for c in _constraints(model) if isinstance(c, gp.StartDateConstraint)})
    bounds: list[date | None] = [None, *starts, None]
    return list(itertools.pairwise(bounds))


def _time_cells(model: gp.ModelInfo) -> list[tuple[time, time]]:
    """[from, to) UTC time-of-day intervals cut at every time-of-day boundary; `to` 00:00 = 24:00."""
    points: set[time] = {time(0, 0)}
    for constraint in _constraints(model):
        if isinstance(constraint, gp.TimeOfDateConstraint):
            points.add(_utc_time(constraint.start_time))
            points.add(_utc_time(constraint.end_time))
    ordered = sorted(points)
    return list(itertools.pairwise([*ordered, _END_OF_DAY]))


def _utc_time(value: time) -> time:
    """A constraint's time of day in UTC, naive; genai-prices reads naive times as UTC."""
    if value.tzinfo is None:
        return value
    return datetime.combine(date(1970, 1, 1), value).astimezone(UTC).time()


def _price_grid(
    model: gp.ModelInfo,
    context: Mapping[str, str] | None,
    date_cells: Sequence[tuple[date | None, date | None]],
    time_cells: Sequence[tuple[time, time]],
) -> list[list[PriceSet | None]]:
    """The token prices genai-prices applies in each (date cell, time cell).

    Asking `get_prices` at the first instant of each cell reuses genai-prices' own precedence
    rules (last active conditional price, else the first; variants overriding key by key) instead
    of re-implementing them. Every constraint is constant inside a cell, since cells are cut at
    every boundary, so one instant stands for the whole cell.
    """
    grid: list[list[PriceSet | None]] = []
    for date_from, date_to in date_cells:
        day = date_from or (date_to - timedelta(days=1) if date_to else _BEFORE_ALL_DATES)
        grid.append(
            [
                _token_prices(model.get_prices(datetime.combine(day, time_from, tzinfo=UTC), context))
                for time_from, _ in time_cells
            ]
        )
    return grid


def _token_prices(model_price: gp.ModelPrice) -> PriceSet | None:
    """The token prices of a resolved price, None when the model is not priced by the token."""
    stored = {key: value for key, value in model_price.__dict__.items() if value is not None}
    if not stored:
        # genai-prices lists free models with an empty price (OpenRouter's `:free` models, GitHub
        # Copilot's subscription models, Gemma on the Gemini API) and charges them nothing.
        return dict(FREE_PRICES)
    prices = {key: value for key, value in stored.items() if key in PRICE_COLUMNS}
    return prices if TOKEN_PRICE_KEYS & prices.keys() else None


def _grid_rows(
    provider_id: str,
    model_id: str,
    variant: str,
    date_cells: Sequence[tuple[date | None, date | None]],
    time_cells: Sequence[tuple[time, time]],
    grid: Sequence[Sequence[PriceSet | None]],
) -> Iterator[dict[str, object]]:
    """Rows of one variant: adjacent equal cells merged, then one row per long-context tier."""
    day_runs: list[tuple[date | None, date | None, list[tuple[time, time, PriceSet | None]]]] = []
    for (date_from, date_to), cells in zip(date_cells, grid, strict=True):
        merged = _merge_time_cells(time_cells, cells)
        if day_runs and day_runs[-1][2] == merged:
            day_runs[-1] = (day_runs[-1][0], date_to, merged)
        else:
            day_runs.append((date_from, date_to, merged))

    for date_from, date_to, merged in day_runs:
        whole_day = len(merged) == 1
        for time_from, time_to, prices in merged:
            if prices is None:
                continue
            for above, up_to, tier_prices in _tier_bands(prices):
                yield {
                    "provider_id": provider_id,
                    "model_id": model_id,
                    "variant": variant,
                    "effective_from": date_from,
                    "effective_to": date_to,
                    "time_of_day_from": None if whole_day else time_from,
                    "time_of_day_to": None if whole_day else ("24:00:00" if time_to == _END_OF_DAY else time_to),
                    "input_tokens_above": above,
                    "input_tokens_up_to": up_to,
                    **{PRICE_COLUMNS[key]: value for key, value in tier_prices.items()},
                }


def _merge_time_cells(
    time_cells: Sequence[tuple[time, time]], cells: Sequence[PriceSet | None]
) -> list[tuple[time, time, PriceSet | None]]:
    merged: list[tuple[time, time, PriceSet | None]] = []
    for (time_from, time_to), prices in zip(time_cells, cells, strict=True):
        if merged and merged[-1][2] == prices:
            merged[-1] = (merged[-1][0], time_to, prices)
        else:
            merged.append((time_from, time_to, prices))
    return merged


def _tier_bands(prices: PriceSet) -> Iterator[tuple[int | None, int | None, dict[str, Decimal]]]:
    """Split a price set into long-context bands of total input tokens: (above, up to, prices).

    genai-prices (`calc_unit_price`) prices every token of a component at the highest tier whose
    `start` the call's total input tokens exceed. Each component may have its own tiers, so the
    bands are cut at the union of all starts; inside a band every component has one price (the
    highest of its tiers starting at or below the band's lower bound).
    """
    starts = sorted(
        {tier.start for value in prices.values() if isinstance(value, gp.TieredPrices) for tier in value.tiers}
    )
    bounds: list[int | None] = [None, *starts, None]
    for above, up_to in itertools.pairwise(bounds):
        yield above, up_to, {key: _price_in_band(value, above) for key, value in prices.items()}


def _price_in_band(value: PriceValue, above: int | None) -> Decimal:
    if not isinstance(value, gp.TieredPrices):
        return value
    price = value.base
    if above is not None:
        for tier in value.tiers:  # sorted ascending by TieredPrices itself
            if tier.start <= above:
                price = tier.price
    return price


# --- model matching -----------------------------------------------------------------------------

Conjunction = list[tuple[str, str]]


def _match_rule_rows(providers: Sequence[gp.Provider]) -> Iterator[dict[str, object]]:
    """Rule rows reproducing `DataSnapshot.find_provider_model` for a (provider id, model) pair.

    Scopes, in the order the SQL applies them:
    - `provider_by_id`: the span names a provider. Exact id first (orders 1..n), then each
      provider's `provider_match` (orders n+1..2n), as `find_provider_by_id` does.
    - `provider_by_model`: the span names no provider; the first provider whose `model_match`
      matches the model reference is the one to look in.
    - `model`: the provider's models in database order; the first whose rule matches wins.
    - `fallback`: providers whose models are tried next, in order, one step deep (Azure serves
      OpenAI's models, Google serves Anthropic's).
    """
    n_providers = len(providers)
    for order, provider in enumerate(providers, start=1):
        yield from _rule_rows("provider_by_id", provider.id, order, None, [[("equals", provider.id)]])
    for order, provider in enumerate(providers, start=n_providers + 1):
        if provider.provider_match is not None:
            yield from _rule_rows("provider_by_id", provider.id, order, None, _dnf(provider.provider_match))
    for order, provider in enumerate(providers, start=1):
        if provider.model_match is not None:
            yield from _rule_rows("provider_by_model", provider.id, order, None, _dnf(provider.model_match))
    for provider in providers:
        for order, fallback_id in enumerate(provider.fallback_model_providers or (), start=1):
            yield _rule_row("fallback", provider.id, order, None, fallback_id, None, None, None, None)
    for provider in providers:
        for order, model in enumerate(provider.models, start=1):
            yield from _rule_rows("model", provider.id, order, model.id, _dnf(model.match))


def _rule_rows(
    scope: str, provider_id: str, order: int, model_id: str | None, rules: list[Conjunction]
) -> Iterator[dict[str, object]]:
    for rule_no, conjunction in enumerate(rules, start=1):
        for clause_no, (kind, value) in enumerate(conjunction, start=1):
            yield _rule_row(scope, provider_id, order, model_id, None, rule_no, clause_no, kind, value)


def _rule_row(
    scope: str,
    provider_id: str,
    order: int,
    model_id: str | None,
    fallback_provider_id: str | None,
    rule_no: int | None,
    clause_no: int | None,
    kind: str | None,
    value: str | None,
) -> dict[str, object]:
    return dict(
        zip(
            MATCH_RULES_COLUMNS,
            (scope, provider_id, order, model_id, fallback_provider_id, rule_no, clause_no, kind, value),
            strict=True,
        )
    )


def _dnf(clause: object) -> list[Conjunction]:
    """A match clause as OR of ANDs of literal clauses (values lower-cased, as genai-prices compares)."""
    if isinstance(clause, gp.ClauseOr):
        return [conjunction for child in clause.or_ for conjunction in _dnf(child)]
    if isinstance(clause, gp.ClauseAnd):
        products = itertools.product(*(_dnf(child) for child in clause.and_))
        return [[literal for conjunction in combo for literal in conjunction] for combo in products]
    if isinstance(clause, gp.ClauseEquals):
        return [[("equals", clause.equals.lower())]]
    if isinstance(clause, gp.ClauseStartsWith):
        return [[("starts_with", clause.starts_with.lower())]]
    if isinstance(clause, gp.ClauseEndsWith):
        return [[("ends_with", clause.ends_with.lower())]]
    if isinstance(clause, gp.ClauseContains):
        return [[("contains", clause.contains.lower())]]
    if isinstance(clause, gp.ClauseRegex):
        return [_regex_clauses(clause.regex)]
    raise TypeError(f"unknown genai-prices match clause {clause!r}")


_LOOKAROUND = re.compile(r"\(\?<?[=!]")


def _regex_clauses(pattern: str) -> Conjunction:
    """Python regex → clauses DuckDB's RE2 can evaluate (RE2 has no lookaround).

    The database uses one lookaround shape, a negative lookahead anchored at the start:
    `^(?!X)REST` matches exactly when `^X` does not match and `^REST` does (both tried at position
    0, model refs hold no newlines). Anything else with lookaround is refused rather than guessed.
    """
    if pattern.startswith("^(?!"):
        end = _closing_paren(pattern, 1)
        body, rest = pattern[4:end], pattern[end + 1 :]
        clauses: Conjunction = [("not_regex", "^" + body)]
        if rest:
            clauses.append(("regex", "^" + rest))
    else:
        clauses = [("regex", pattern)]
    for _, value in clauses:
        if _LOOKAROUND.search(value):
            raise ValueError(f"model match regex {pattern!r} needs lookaround, which DuckDB cannot run")
    return clauses


def _closing_paren(pattern: str, open_at: int) -> int:
    """Index of the parenthesis closing the group opened at `open_at` (escapes and classes skipped)."""
    depth, index, in_class = 0, open_at, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"unbalanced parentheses in model match regex {pattern!r}")


# --- files --------------------------------------------------------------------------------------


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, object]]) -> None:
    """Write rows with exact decimals (`format(d, 'f')`: never floats, never scientific notation)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row.get(column)) for column in columns])


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _ensure_overrides_file(path: Path) -> int:
    """Create the overrides seed (header only) if missing; check the header of an existing one."""
    if not path.exists():
        _write_csv(path, MODEL_PRICES_COLUMNS, [])
        return 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        n_rows = sum(1 for row in reader if row)
    if tuple(header) != MODEL_PRICES_COLUMNS:
        raise ValueError(
            f"{path} has columns {header}, expected {list(MODEL_PRICES_COLUMNS)} (the same shape as model_prices.csv)"
        )
    return n_rows
