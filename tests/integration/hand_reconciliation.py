"""A reconciliation small enough to compute by hand, planted in the session warehouse.

Two providers no demo data touches — Mistral (`mistral-large`, list $2 in / $6 out per MTok) and
Cohere (`command-r-plus`, $2.50 / $10) — over three days, billed through a FOCUS export (the
no-code provider path). Traces name `mistral-large-2411`, the bill `mistral-large-latest`: both are
the price book's `mistral-large`. Mistral bills 10 % under list (a negotiated discount); Cohere at list.

| day   | provider / model        | traced in / out     | billed in / out (tokens)  | billed $        |
|-------|-------------------------|---------------------|---------------------------|-----------------|
| 11-18 | mistral mistral-large   | 1,000,000 / 100,000 | 1,000,000 / 100,000       | 1.80 + 0.54     |
| 11-18 | cohere command-r-plus   | 400,000 / 20,000    | 400,000 / 20,000          | 1.00 + 0.20     |
| 11-19 | mistral mistral-large   | 800,000 / 50,000    | 1,000,000 / 100,000       | 1.80 + 0.54     |
| 11-19 | cohere command-r-plus   | — (untraced day)    | 200,000 / 10,000          | 0.50 + 0.10     |
| 11-20 | cohere command-r-plus   | 100,000 / 10,000    | 100,000 / 5,000           | 0.25 + 0.05     |
| 11-20 | cohere, no model        | —                   | 5 web-search requests     | 0.05            |

By hand (rack = traced tokens at list; untraced = each kind's bill × the kind's untraced share;
factor = (billed − untraced) ÷ rack; gap = (reported − traced) ÷ reported × 100):

- mistral 11-18: rack 2 + 0.6 = 2.60; billed 2.34; untraced 0; factor 0.9; gap 0 → ok.
- mistral 11-19: rack 1.6 + 0.3 = 1.90; billed 2.34; untraced 1.80 × 200k/1M + 0.54 × 50k/100k
  = 0.36 + 0.27 = 0.63; factor (2.34 − 0.63) / 1.90 = 0.9; gap 250k / 1.1M = 22.7272727273 % → provider_higher.
- cohere 11-18: rack 1.0 + 0.2 = 1.20 = billed; factor 1; ok.
- cohere 11-19: nothing traced: rack 0, billed 0.60 all untraced, factor NULL, gap 100 % → provider_higher.
- cohere 11-20: rack 0.25 + 0.1 = 0.35; billed 0.30; untraced 0 (traces hold every reported token);
  factor 0.30 / 0.35 = 0.8571428571; gap −5k / 105k = −4.7619047619 % → traced_higher.
- cohere 11-20 (no model): billed 0.05, all untraced; no tokens, billed > rack 0 → provider_higher.

Runs' billed cost (rack × the provider-day factor, call by call):
hr_1 (11-18, both providers) 2.60 × 0.9 + 1.20 × 1 = 3.54; hr_2 (11-19) 1.90 × 0.9 = 1.71;
hr_3 (11-20) 0.35 × 0.30 / 0.35 → 0.35 × 0.8571428571 = 0.2999999999850 → 0.3000000000.
"""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from orchestration.demo.billing import FOCUS_HEADER
from tests.fixtures.builders import Call, Run, write_traces

MISTRAL, COHERE = "mistral_ai", "cohere"


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 12, 0, tzinfo=UTC)


RUNS = [
    Run("hr_1", "hand_reconciliation", at(18), [
        Call("mistral-large-2411", provider=MISTRAL, uncached_input=1_000_000, output=100_000),
        Call("command-r-plus", provider=COHERE, uncached_input=400_000, output=20_000),
    ]),
    Run("hr_2", "hand_reconciliation", at(19), [
        Call("mistral-large-2411", provider=MISTRAL, uncached_input=800_000, output=50_000),
    ]),
    Run("hr_3", "hand_reconciliation", at(20), [
        Call("command-r-plus", provider=COHERE, uncached_input=100_000, output=10_000),
    ]),
]

# (day, provider name, model tag, meter, consumed quantity, unit, billed, list)
BILL = [
    (18, "Mistral AI", "mistral-large-latest", "Input Tokens", 1_000_000, "Tokens", "1.80", "2.00"),
    (18, "Mistral AI", "mistral-large-latest", "Output Tokens", 100_000, "Tokens", "0.54", "0.60"),
    (19, "Mistral AI", "mistral-large-latest", "Input Tokens", 1_000_000, "Tokens", "1.80", "2.00"),
    (19, "Mistral AI", "mistral-large-latest", "Output Tokens", 100_000, "Tokens", "0.54", "0.60"),
    (18, "Cohere", "command-r-plus", "Input Tokens", 400_000, "Tokens", "1.00", "1.00"),
    (18, "Cohere", "command-r-plus", "Output Tokens", 20_000, "Tokens", "0.20", "0.20"),
    (19, "Cohere", "command-r-plus", "Input Tokens", 200_000, "Tokens", "0.50", "0.50"),
    (19, "Cohere", "command-r-plus", "Output Tokens", 10_000, "Tokens", "0.10", "0.10"),
    (20, "Cohere", "command-r-plus", "Input Tokens", 100_000, "Tokens", "0.25", "0.25"),
    (20, "Cohere", "command-r-plus", "Output Tokens", 5_000, "Tokens", "0.05", "0.05"),
    (20, "Cohere", None, "Web Search", 5, "Requests", "0.05", "0.05"),
]

D = Decimal
# provider, day, model → (traced, reported, gap %, rack, billed, factor, untraced, status)
EXPECTED = {
    ("mistral", 18, "mistral-large"): (1_100_000, 1_100_000, D(0), D("2.6"), D("2.34"), D("0.9"), D(0), "ok"),
    ("mistral", 19, "mistral-large"): (850_000, 1_100_000, D("22.7272727273"), D("1.9"), D("2.34"), D("0.9"),
                                       D("0.63"), "provider_higher"),
    ("cohere", 18, "command-r-plus"): (420_000, 420_000, D(0), D("1.2"), D("1.2"), D(1), D(0), "ok"),
    ("cohere", 19, "command-r-plus"): (0, 210_000, D(100), D(0), D("0.6"), None, D("0.6"), "provider_higher"),
    ("cohere", 20, "command-r-plus"): (110_000, 105_000, D("-4.7619047619"), D("0.35"), D("0.3"), D("0.8571428571"),
                                       D(0), "traced_higher"),
    ("cohere", 20, "(no model)"): (0, 0, None, D(0), D("0.05"), None, D("0.05"), "provider_higher"),
}
EXPECTED_RUN_BILLED = {"hr_1": D("3.54"), "hr_2": D("1.71"), "hr_3": D("0.3")}


def write(home: Path) -> None:
    """Write the hand traces (one folder per day) and the two providers' FOCUS export."""
    for run in RUNS:
        day = run.started_at.day
        write_traces(home / "traces" / "2026" / "11" / f"{day:02d}" / "hand_reconciliation.jsonl", [run])
    path = home / "billing" / "hand" / "focus-hand-2026-11.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(FOCUS_HEADER)]
    for day, provider, model, meter, quantity, unit, billed, listed in BILL:
        row = dict.fromkeys(FOCUS_HEADER, "")
        row.update({
            "BilledCost": billed, "EffectiveCost": billed, "ListCost": listed, "ContractedCost": billed,
            "BillingCurrency": "USD", "BillingAccountId": f"{provider.lower().replace(' ', '-')}-hand",
            "BillingPeriodStart": "2026-11-01T00:00:00Z", "BillingPeriodEnd": "2026-12-01T00:00:00Z",
            "ChargePeriodStart": f"2026-11-{day}T00:00:00Z", "ChargePeriodEnd": f"2026-11-{day + 1}T00:00:00Z",
            "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based", "ServiceName": f"{provider} API",
            "ServiceCategory": "AI and Machine Learning", "ProviderName": provider, "PublisherName": provider,
            "InvoiceIssuerName": provider, "ConsumedQuantity": str(quantity), "ConsumedUnit": unit,
            "SkuMeter": meter, "Tags": f'"{{""model"": ""{model}""}}"' if model else "",
        })
        lines.append(",".join(row[name] for name in FOCUS_HEADER))
    path.write_text("\n".join(lines) + "\n")
