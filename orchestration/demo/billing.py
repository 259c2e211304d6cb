"""The demo's provider bills: what each provider reports and charges for the generated usage.

Built from the generator's ground truth (`demo-facts/usage_daily.csv`: tokens by kind and requests
per day, provider, model and context window), priced at genai-prices list rates per kind and tier,
then changed the way real bills differ from rack-rate token math (reference/domain.md):

- **Anthropic** (Admin API fake): cache reads billed at half the list price (a cache credit); a
  nightly Priority Tier batch job no trace sees, in the usage report only (Priority Tier is billed
  outside the cost report); the newest day first reported at 94 % and restated on the next pull.
- **OpenAI** (organization API fake): list price, plus (when the demo plants its anomalies, over
  the days the manifest lists for `untraced_spend`) an uninstrumented support bot on
  `gpt-5-mini` in its own project — usage and cost no trace explains.
- **Google** (FOCUS CSV, Cloud Billing export): a negotiated 15 % discount as daily Credit rows, and a
  re-export that restates the two newest days (the first export had the newest day 80 % complete).
- **DeepSeek** (FOCUS Parquet, a usage export converted): billed at the standard price all day, so
  the price book's off-peak discount is not what the bill says; when the range spans two months, a
  Correction billed in the later month refunds part of the earlier month's last day.

Every figure is a pure function of the facts file, so the demo and the session warehouse get the
same bills for the same generated data.
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.demo.catalog import MODELS, rate_card
from orchestration.demo.generate import FACTS_DIR, MANIFEST

KINDS = ("uncached", "cache_read", "write_5m", "write_1h", "output")
# The list price of every model at noon UTC: DeepSeek's standard (peak) price, the others' only one.
NOON = datetime(2026, 1, 15, 12, 0)
PER_TOKEN = Decimal("1e-12")

ANTHROPIC_CACHE_READ_BILLED = Decimal("0.5")
ANTHROPIC_PRIORITY_SHARE = Decimal("0.2")  # the batch job's daily tokens, as a share of Sonnet's traced ones
PRELIMINARY_SHARE = Decimal("0.94")
OPENAI_UNTRACED_MODEL = "gpt-5-mini"
OPENAI_UNTRACED_SHARE = Decimal("2")  # the bot's tokens per traced gpt-5-mini token
GOOGLE_DISCOUNT = Decimal("0.15")
GOOGLE_FIRST_EXPORT_SHARE = Decimal("0.8")
DEEPSEEK_REFUND_SHARE = Decimal("0.05")
BILLING_DIR = "billing"


@dataclass(frozen=True)
class DayUsage:
    """One row of the facts: a day's tokens by kind and requests for a provider, model and context window."""

    day: date
    provider: str
    model: str
    context_window: str
    tokens: tuple[int, int, int, int, int]  # in KINDS order
    requests: int

    def scaled(self, share: Decimal) -> DayUsage:
        """The same usage times `share`, rounded to whole tokens and requests."""
        return DayUsage(
            self.day, self.provider, self.model, self.context_window,
            tuple(int((Decimal(n) * share).to_integral_value()) for n in self.tokens),  # type: ignore[arg-type]
            int((Decimal(self.requests) * share).to_integral_value()),
        )

    @property
    def snapshot(self) -> str:
        """The dated id the provider's reports use (`claude-sonnet-4-5-20250929`), else the model's name."""
        model = MODELS.get(self.model)
        return model.snapshot if model and model.snapshot else self.model


def read_usage(home: Path) -> list[DayUsage]:
    """The generator's usage facts, one row per day, provider, model and context window."""
    rows = []
    with (home / FACTS_DIR / "usage_daily.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                DayUsage(
                    day=date.fromisoformat(row["day"]),
                    provider=row["provider"],
                    model=row["model"],
                    context_window=row["context_window"],
                    tokens=(
                        int(row["uncached_input_tokens"]), int(row["cache_read_tokens"]),
                        int(row["cache_write_5m_tokens"]), int(row["cache_write_1h_tokens"]),
                        int(row["output_tokens"]),
                    ),
                    requests=int(row["requests"]),
                )
            )
    return rows


def list_costs(usage: DayUsage) -> dict[str, Decimal]:
    """USD at list price of each token kind of `usage`, at its context window's tier (0 for an unpriced model)."""
    rates = rate_card(NOON).get(usage.model)
    if rates is None:
        return dict.fromkeys(KINDS, Decimal(0))
    tier = rates[1] if usage.context_window == "200k-1M" else rates[0]
    return {
        kind: Decimal(tokens) * Decimal(repr(rate)).quantize(PER_TOKEN)
        for kind, tokens, rate in zip(KINDS, usage.tokens, tier, strict=True)
    }


def _split(value: int, share: Decimal) -> tuple[int, int]:
    first = int((Decimal(value) * share).to_integral_value())
    return first, value - first


# ------------------------------------------------------------------------------------------------
# Anthropic
# ------------------------------------------------------------------------------------------------
ANTHROPIC_WORKSPACES = (("wrkspc_demo_agents", Decimal("0.7")), ("wrkspc_demo_research", Decimal("0.3")))
ANTHROPIC_TOKEN_TYPES = {
    "uncached": "uncached_input_tokens",
    "cache_read": "cache_read_input_tokens",
    "write_5m": "cache_creation.ephemeral_5m_input_tokens",
    "write_1h": "cache_creation.ephemeral_1h_input_tokens",
    "output": "output_tokens",
}


def _anthropic_usage_result(usage: DayUsage, workspace: str | None, tier: str) -> dict[str, Any]:
    uncached, cache_read, write_5m, write_1h, output = usage.tokens
    return {
        "model": usage.snapshot,
        "workspace_id": workspace,
        "api_key_id": "apikey_demo_01",
        "service_tier": tier,
        "context_window": usage.context_window,
        "uncached_input_tokens": uncached,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        "output_tokens": output,
        "server_tool_use": {"web_search_requests": 0},
    }


def _anthropic_cost_results(usage: DayUsage, workspace: str | None) -> list[dict[str, Any]]:
    results = []
    for kind, usd in list_costs(usage).items():
        if not usd:
            continue
        if kind == "cache_read":
            usd *= ANTHROPIC_CACHE_READ_BILLED
        cents = (usd * 100).quantize(Decimal("0.000001"))
        results.append({
            "currency": "USD",
            "amount": format(cents, "f"),
            "workspace_id": workspace,
            "description": f"{usage.snapshot} {ANTHROPIC_TOKEN_TYPES[kind]} ({usage.context_window})",
            "cost_type": "tokens",
            "context_window": usage.context_window,
            "model": usage.snapshot,
            "service_tier": "standard",
            "token_type": ANTHROPIC_TOKEN_TYPES[kind],
        })
    return results


def _by_workspace(usage: DayUsage) -> list[tuple[str, DayUsage]]:
    (first, share), (second, _) = ANTHROPIC_WORKSPACES
    halves = [_split(n, share) for n in usage.tokens]
    requests = _split(usage.requests, share)
    return [
        (workspace, DayUsage(usage.day, usage.provider, usage.model, usage.context_window,
                             tuple(h[index] for h in halves), requests[index]))  # type: ignore[arg-type]
        for index, workspace in enumerate((first, second))
    ]


def anthropic_reports(home: Path) -> tuple[dict, dict, tuple[dict, dict]]:
    """Usage and cost buckets by day for the Anthropic fake, and the preliminary newest day of each."""
    usage: dict[date, list[dict[str, Any]]] = defaultdict(list)
    costs: dict[date, list[dict[str, Any]]] = defaultdict(list)
    facts = [row for row in read_usage(home) if row.provider == "anthropic"]
    for row in facts:
        for workspace, part in _by_workspace(row):
            usage[row.day].append(_anthropic_usage_result(part, workspace, "standard"))
            costs[row.day].extend(_anthropic_cost_results(part, workspace))
        if row.model == "claude-sonnet-4-5" and row.context_window == "0-200k":
            job = row.scaled(ANTHROPIC_PRIORITY_SHARE)
            batch = DayUsage(job.day, job.provider, job.model, job.context_window,
                             (job.tokens[0] + job.tokens[1], 0, 0, 0, job.tokens[4]), job.requests)
            usage[row.day].append(_anthropic_usage_result(batch, "wrkspc_demo_batch", "priority"))
    preliminary_usage: dict[date, list[dict[str, Any]]] = {}
    preliminary_costs: dict[date, list[dict[str, Any]]] = {}
    if facts:
        newest = max(row.day for row in facts)
        for row in facts:
            if row.day != newest:
                continue
            for workspace, part in _by_workspace(row.scaled(PRELIMINARY_SHARE)):
                preliminary_usage.setdefault(newest, []).append(_anthropic_usage_result(part, workspace, "standard"))
                preliminary_costs.setdefault(newest, []).extend(_anthropic_cost_results(part, workspace))
    return dict(usage), dict(costs), (preliminary_usage, preliminary_costs)


# ------------------------------------------------------------------------------------------------
# OpenAI
# ------------------------------------------------------------------------------------------------
OPENAI_LINE_KINDS = {"uncached": "input", "cache_read": "cached input", "output": "output"}


def _openai_results(usage: DayUsage, project: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    uncached, cache_read, write_5m, write_1h, output = usage.tokens
    result = {
        "model": usage.snapshot,
        "project_id": project,
        "user_id": None,
        "api_key_id": f"key_{project}",
        "batch": False,
        "service_tier": "default",
        "input_tokens": uncached + cache_read + write_5m + write_1h,
        "input_cached_tokens": cache_read,
        "input_cache_write_tokens": write_5m + write_1h,
        "input_uncached_tokens": uncached,
        "output_tokens": output,
        "num_model_requests": usage.requests,
    }
    costs = list_costs(usage)
    lines = []
    for kind, label in OPENAI_LINE_KINDS.items():
        # OpenAI charges cache writes as input (there is no write premium)
        usd = costs[kind] + (costs["write_5m"] + costs["write_1h"] if kind == "uncached" else 0)
        if usd:
            tokens = usage.tokens[KINDS.index(kind)]
            lines.append({
                "amount": {"value": usd.quantize(Decimal("1e-10")), "currency": "usd"},
                "line_item": f"{usage.snapshot}, {label}",
                "project_id": project,
                "quantity": Decimal(tokens),
                "quantity_unit": "tokens",
            })
    return result, lines


def untraced_days(home: Path) -> tuple[date, date] | None:
    """The days the demo plants untraced spend (its manifest's `untraced_spend` pattern), if it does."""
    manifest = home / MANIFEST
    if not manifest.exists():
        return None
    for pattern in json.loads(manifest.read_text()).get("planted", []):
        if pattern["type"] == "untraced_spend":
            return date.fromisoformat(pattern["start_date"]), date.fromisoformat(pattern["end_date"])
    return None


def openai_reports(home: Path) -> tuple[dict, dict]:
    """Usage and cost buckets by day for the OpenAI fake: the traced agents' project and an untraced bot."""
    usage: dict[date, list[dict[str, Any]]] = defaultdict(list)
    costs: dict[date, list[dict[str, Any]]] = defaultdict(list)
    merged: dict[tuple[date, str], DayUsage] = {}
    bot = untraced_days(home)
    for row in read_usage(home):
        if row.provider != "openai":
            continue
        key = (row.day, row.model)
        if key in merged:  # OpenAI's report has no context-window grouping: one row per model
            old = merged[key]
            row = DayUsage(row.day, row.provider, row.model, "0-200k",
                           tuple(a + b for a, b in zip(old.tokens, row.tokens, strict=True)),  # type: ignore[arg-type]
                           old.requests + row.requests)
        merged[key] = row
    for (day, model), row in sorted(merged.items()):
        result, lines = _openai_results(row, "proj_demo_agents")
        usage[day].append(result)
        costs[day].extend(lines)
        if model == OPENAI_UNTRACED_MODEL and bot and bot[0] <= day <= bot[1]:
            result, lines = _openai_results(row.scaled(OPENAI_UNTRACED_SHARE), "proj_demo_support_bot")
            usage[day].append(result)
            costs[day].extend(lines)
    return dict(usage), dict(costs)


# ------------------------------------------------------------------------------------------------
# FOCUS exports: Google (CSV) and DeepSeek (Parquet)
# ------------------------------------------------------------------------------------------------
FOCUS_METERS = {"uncached": "Input Tokens", "cache_read": "Cached Input Tokens", "write_5m": "Cache Write Tokens",
                "write_1h": "Cache Write Tokens", "output": "Output Tokens"}
FOCUS_HEADER = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "BillingAccountId",
    "BillingAccountName", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ServiceName", "ServiceCategory",
    "ServiceSubcategory", "ProviderName", "PublisherName", "InvoiceIssuerName", "PricingQuantity", "PricingUnit",
    "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "SkuId", "SkuMeter", "RegionId", "Tags",
)


@dataclass(frozen=True)
class Vendor:
    """How a provider's FOCUS export names it and its units."""

    provider_name: str
    publisher_name: str
    service_name: str
    account: str
    unit: str  # ConsumedUnit
    per_unit: int  # tokens per unit


GOOGLE = Vendor("Google Cloud", "Google", "Vertex AI", "01A2B3-C4D5E6-DEMO01", "1000 Tokens", 1000)
DEEPSEEK = Vendor("DeepSeek", "DeepSeek", "DeepSeek API", "deepseek-demo-account", "Tokens", 1)


def _iso(moment: date | datetime) -> str:
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{moment.isoformat()}T00:00:00Z"


def _month(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def _focus_row(vendor: Vendor, day: date, billed: Decimal, listed: Decimal, **fields: Any) -> dict[str, Any]:
    period_start, period_end = _month(fields.pop("billing_day", day))
    row = dict.fromkeys(FOCUS_HEADER)
    row.update({
        "BilledCost": billed, "EffectiveCost": billed, "ListCost": listed, "ContractedCost": billed,
        "BillingCurrency": "USD", "BillingAccountId": vendor.account, "BillingAccountName": "Demo Agency",
        "BillingPeriodStart": _iso(period_start), "BillingPeriodEnd": _iso(period_end),
        "ChargePeriodStart": _iso(day), "ChargePeriodEnd": _iso(day + timedelta(days=1)),
        "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based", "ServiceName": vendor.service_name,
        "ServiceCategory": "AI and Machine Learning", "ServiceSubcategory": "Generative AI Platforms",
        "ProviderName": vendor.provider_name, "PublisherName": vendor.publisher_name,
        "InvoiceIssuerName": vendor.provider_name, "RegionId": "global",
    })
    row.update(fields)
    return row


def _usage_rows(vendor: Vendor, usage: DayUsage, share: Decimal = Decimal(1)) -> list[dict[str, Any]]:
    rows = []
    costs = list_costs(usage)
    for kind, tokens in zip(KINDS, usage.tokens, strict=True):
        tokens = int((Decimal(tokens) * share).to_integral_value())
        if not tokens:
            continue
        listed = (costs[kind] * share).quantize(Decimal("1e-10"))
        rows.append(_focus_row(
            vendor, usage.day, listed, listed,
            ChargeDescription=f"{usage.model} {FOCUS_METERS[kind].lower()} ({usage.context_window})",
            PricingQuantity=Decimal(tokens) / 1_000_000, PricingUnit="1M Tokens",
            ConsumedQuantity=Decimal(tokens) / vendor.per_unit, ConsumedUnit=vendor.unit,
            ListUnitPrice=(listed / tokens).quantize(PER_TOKEN),
            SkuId=f"{usage.model}:{kind}:{usage.context_window}", SkuMeter=FOCUS_METERS[kind],
            Tags=f'{{"model": "{usage.model}"}}',
        ))
    return rows


def google_rows(facts: list[DayUsage], newest_share: Decimal, days: set[date] | None = None) -> list[dict[str, Any]]:
    """Google's FOCUS rows for `days` (all when None): usage at list price and the discount as Credit rows."""
    newest = max((row.day for row in facts), default=None)
    rows = []
    for usage in facts:
        if days is not None and usage.day not in days:
            continue
        share = newest_share if usage.day == newest else Decimal(1)
        usage_rows = _usage_rows(GOOGLE, usage, share)
        rows += usage_rows
        credit = -(sum(row["BilledCost"] for row in usage_rows) * GOOGLE_DISCOUNT).quantize(Decimal("1e-10"))
        if credit:
            rows.append(_focus_row(
                GOOGLE, usage.day, credit, Decimal(0), ChargeCategory="Credit",
                ChargeDescription="Committed use discount: Vertex AI Gemini", SkuId="credit:cud-gemini",
                Tags=f'{{"model": "{usage.model}"}}',
            ))
    return rows


def deepseek_rows(facts: list[DayUsage]) -> dict[date, list[dict[str, Any]]]:
    """DeepSeek's FOCUS rows by billing month, with a Correction refunding part of a previous month's last day."""
    by_month: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for usage in facts:
        by_month[_month(usage.day)[0]] += _usage_rows(DEEPSEEK, usage)
    months = sorted(by_month)
    for earlier, later in zip(months, months[1:], strict=False):
        last_day = max(usage.day for usage in facts if _month(usage.day)[0] == earlier)
        billed = sum(
            row["BilledCost"] for row in by_month[earlier] if row["ChargePeriodStart"] == _iso(last_day)
        )
        refund = -(billed * DEEPSEEK_REFUND_SHARE).quantize(Decimal("1e-10"))
        if refund:
            by_month[later].append(_focus_row(
                DEEPSEEK, last_day, refund, Decimal(0), billing_day=later, ChargeClass="Correction",
                ChargeDescription="Refund: requests failed during an incident", SkuId="correction:incident",
            ))
    return dict(by_month)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*FOCUS_HEADER, "x_ExportTime"])
        writer.writeheader()
        for row in rows:
            writer.writerow({
                key: (format(value, "f") if isinstance(value, Decimal) else value) for key, value in row.items()
            })


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    money = pa.decimal128(38, 10)
    types = {name: pa.string() for name in FOCUS_HEADER}
    types.update(dict.fromkeys(("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"), money))
    types.update(dict.fromkeys(("PricingQuantity", "ConsumedQuantity"), money))
    types["ListUnitPrice"] = pa.decimal128(38, 18)
    schema = pa.schema([(name, types[name]) for name in FOCUS_HEADER])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def write_focus_exports(home: Path) -> list[Path]:
    """Write the Google and DeepSeek FOCUS exports for the generated usage under `home/billing/`."""
    facts = read_usage(home)
    folder = home / BILLING_DIR
    written = []
    google = [row for row in facts if row.provider == "google"]
    if google:
        newest = max(row.day for row in google)
        export_time = datetime.combine(newest + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        first = folder / "google" / f"focus-export-{newest + timedelta(days=1)}.csv"
        _write_csv(first, [{**row, "x_ExportTime": _iso(export_time)} for row in
                           google_rows(google, GOOGLE_FIRST_EXPORT_SHARE)])
        # the export a day later restates the two newest days in full: the newer file wins for them
        restated = {newest, newest - timedelta(days=1)}
        second = folder / "google" / f"focus-export-{newest + timedelta(days=2)}.csv"
        _write_csv(second, [{**row, "x_ExportTime": _iso(export_time + timedelta(days=1))} for row in
                            google_rows(google, Decimal(1), restated)])
        stamp = export_time.timestamp()
        os.utime(first, (stamp, stamp))
        os.utime(second, (stamp + 86_400, stamp + 86_400))
        written += [first, second]
    deepseek = [row for row in facts if row.provider == "deepseek"]
    for month, rows in sorted(deepseek_rows(deepseek).items()):
        path = folder / "deepseek" / f"focus-{month:%Y-%m}.parquet"
        _write_parquet(path, rows)
        written.append(path)
    return written
