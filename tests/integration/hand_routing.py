"""A tiered code review priced by hand, planted in the session warehouse (workflow `hand_routing`).

The domain's example (reference/domain.md, "Model routing"): a cheap model on all 100 files, a mid
model on the 30 flagged, the top model on the 5 security-critical costs $1.20 instead of $10.00.
List prices per million tokens (genai-prices 0.2.3): claude-haiku-4-5 $1 in / $5 out,
claude-sonnet-4-5 $3 / $15 (below its 200k tier), claude-opus-4-5 $5 / $25.

| route                  | calls per run                                               | $ a run | runs | ok |
|------------------------|-------------------------------------------------------------|---------|------|----|
| top model on all files | 10 opus of 150,000 in + 10,000 out: 10 × (0.75 + 0.25)      | 10.00   | 32   | 32 |
| tiered                 | 10 haiku of 7,500 + 500: 10 × (0.0075 + 0.0025) = 0.10;     | 1.20    | 30   | 30 |
|                        | 2 sonnet of 60,000 + 8,000: 2 × (0.18 + 0.12) = 0.60;       |         |      |    |
|                        | 1 opus of 60,000 + 8,000: 0.30 + 0.20 = 0.50                |         |      |    |
| cheap model only       | 10 haiku of 7,500 + 500                                     | 0.10    | 30   | 18 |

All runs start on 2026-11-20 and are labeled. Routing (dbt var defaults: 90-day window, 30 labeled
runs, 5 points of tolerance): all three routes are sampled; the best success rate is 1; the cheap
route (0.6) is outside the tolerance, so the tiered route (CPST $1.20) beats the top one ($10.00),
the current route (most runs). Workflow: 92 runs, 80 successes, labeled cost 320 + 36 + 3 =
$359.00, CPST 359 / 80 = $4.4875. Saving = 359 − 80 × 1.20 = $263.00 over the 2 days from
2026-11-20 to the window's end (the session's last day, 2026-11-21) → 263 × 30 / 2 = $3,945.00 a
month.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.fixtures.builders import Call, Label, Run, write_labels, write_traces

WORKFLOW = "hand_routing"
HAIKU, SONNET, OPUS = "claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5"
TIERED = f"{HAIKU} + {OPUS} + {SONNET}"


def at(minute: int) -> datetime:
    return datetime(2026, 11, 20, 9, 0, tzinfo=UTC) + timedelta(minutes=minute)


def top_only() -> list[Call]:
    return [Call(OPUS, uncached_input=150_000, output=10_000) for _ in range(10)]


def tiered() -> list[Call]:
    return (
        [Call(HAIKU, uncached_input=7_500, output=500) for _ in range(10)]
        + [Call(SONNET, uncached_input=60_000, output=8_000) for _ in range(2)]
        + [Call(OPUS, uncached_input=60_000, output=8_000)]
    )


def cheap_only() -> list[Call]:
    return [Call(HAIKU, uncached_input=7_500, output=500) for _ in range(10)]


TOP = [Run(f"hr_top_{i:02d}", WORKFLOW, at(i), top_only(), agent_name="reviewer") for i in range(32)]
TIERED_RUNS = [Run(f"hr_tier_{i:02d}", WORKFLOW, at(100 + i), tiered(), agent_name="reviewer") for i in range(30)]
CHEAP = [Run(f"hr_cheap_{i:02d}", WORKFLOW, at(200 + i), cheap_only(), agent_name="reviewer") for i in range(30)]
RUNS = TOP + TIERED_RUNS + CHEAP

LABELED_AT = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
# the cheap route ships 18 of its 30 reviews (60%); every other run succeeds
FAILED = {run.run_id for run in CHEAP[18:]}
LABELS = [
    Label(run.run_id, "failure", LABELED_AT, rework_minutes="15")
    if run.run_id in FAILED
    else Label(run.run_id, "success", LABELED_AT)
    for run in RUNS
]

EXPECTED_RECOMMENDATION = {
    "runs": 92,
    "labeled_runs": 92,
    "successful_runs": 80,
    "cost_per_successful_task_usd": Decimal("4.4875"),
    "routes_seen": 3,
    "sampled_routes": 3,
    "best_success_rate": Decimal("1"),
    "current_route": OPUS,
    "current_route_cost_per_successful_task_usd": Decimal("10"),
    "recommendation": "switch",
    "recommended_route": TIERED,
    "recommended_route_models": 3,
    "recommended_labeled_runs": 30,
    "recommended_success_rate": Decimal("1"),
    "recommended_cost_per_successful_task_usd": Decimal("1.2"),
    "observed_days": 2,
    "window_saving_usd": Decimal("263"),
    "monthly_saving_usd": Decimal("3945"),
}


def write(home: Path) -> None:
    """Write the routing runs' traces and labels under `home`."""
    write_traces(home / "traces" / "2026" / "11" / "20" / "hand-routing.jsonl", RUNS)
    write_labels(home / "labels" / "hand-routing-2026-11-21.csv", LABELS)
