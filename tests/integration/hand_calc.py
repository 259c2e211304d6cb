"""A trace set small enough to price by hand, planted in the session warehouse.

Model: claude-sonnet-4-5 at genai-prices 0.2.3 list price, per million tokens: $3 input,
$15 output, $0.30 cache read, $3.75 cache write (5 min). Workflow `hand_calc` is not in
seeds/workflows.csv, so rework costs the dbt var defaults: $100/h, 15 min for a failure without a
figure.

| run  | outcome (source)        | uncached in | cache read | cache write 5m | out  | cost $  |
|------|-------------------------|-------------|------------|----------------|------|---------|
| hc_1 | success (label)         | 1,000       |            |                | 500  | 0.0105  |
| hc_2 | success (label)         | 2,000       |            |                | 1000 | 0.021   |
| hc_3 | failure (label, 30 min) | 4,000       |            |                | 0    | 0.012   |
| hc_4 | success (label), call exported twice | 1,000 | 10,000 | 2,000      | 100  | 0.015   |
| hc_5 | failure (label, no minutes → 15), retry of hc_3, escalated | 500 | | | 200 | 0.0045 |
| hc_6 | success (evaluation)    | 3,000       |            |                | 2000 | 0.039   |
| hc_7 | unlabeled               | 100         |            |                | 100  | 0.0018  |

hc_4: 1000 × 3 + 10000 × 0.30 + 2000 × 3.75 + 100 × 15 = 3000 + 3000 + 7500 + 1500 µ$ = $0.015.
Labeled cost = 0.0105 + 0.021 + 0.012 + 0.015 + 0.0045 + 0.039 = $0.102 over 4 successes:
CPST = $0.0255. Rework = 30 min + 15 min at $100/h = $75 → true CPST = 75.102 / 4 = $18.7755.
Success rate 4/6; retry and escalation rates 1/6. Run costs sorted: 0.0018, 0.0045, 0.0105,
0.012, 0.015, 0.021, 0.039 → median $0.012; for n = 7 the order-statistic 95% interval is
[x(1), x(7)] = [$0.0018, $0.039] (P(B ≤ 0) = 1/128 ≤ 0.025 < P(B ≤ 1) = 8/128).

`hand_unpriced` hc_8: one call to a model no price book knows (NULL cost, flagged) and one
claude-sonnet-4-5 call of 1,000 input tokens ($0.003): run cost $0.003, fully_priced = false.
"""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tests.fixtures.builders import Call, Label, Run, evaluation, write_evaluations, write_labels, write_traces

DAY = datetime(2026, 11, 20, tzinfo=UTC)
SONNET = "claude-sonnet-4-5"


def at(hour: int, minute: int = 0, day: int = 20) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


RUNS = [
    Run("hc_1", "hand_calc", at(9), [Call(SONNET, uncached_input=1000, output=500)]),
    Run("hc_2", "hand_calc", at(10), [Call(SONNET, uncached_input=2000, output=1000)]),
    Run("hc_3", "hand_calc", at(11), [Call(SONNET, uncached_input=4000, output=0)]),
    Run("hc_4", "hand_calc", at(12), [Call(SONNET, uncached_input=1000, cache_read=10000, cache_write_5m=2000,
                                          output=100, also_exported_raw=True)]),
    Run("hc_5", "hand_calc", at(13), [Call(SONNET, uncached_input=500, output=200)], retry_of_run_id="hc_3"),
    Run("hc_6", "hand_calc", at(14), [Call(SONNET, uncached_input=3000, output=2000)]),
    Run("hc_7", "hand_calc", at(15), [Call(SONNET, uncached_input=100, output=100)]),
    Run("hc_8", "hand_unpriced", at(16), [Call("acme-unknown-1", provider="vllm", uncached_input=10, output=10),
                                          Call(SONNET, uncached_input=1000, output=0)]),
]

LABELS = [
    Label("hc_1", "success", at(8, day=21)),
    Label("hc_2", "success", at(8, day=21)),
    Label("hc_3", "failure", at(8, day=21), rework_minutes="30"),
    Label("hc_4", "success", at(8, day=21)),
    Label("hc_5", "failure", at(9, day=21), escalated="true", retry_of_run_id="hc_3"),
]

EXPECTED_DAY = {
    "runs": 7,
    "labeled_runs": 6,
    "successful_runs": 4,
    "success_rate": Decimal("0.6666666667"),
    "total_cost_usd": Decimal("0.1038"),
    "cost_per_successful_task_usd": Decimal("0.0255"),
    "true_cost_per_successful_task_usd": Decimal("18.7755"),
    "median_run_cost_usd": Decimal("0.012"),
    "median_run_cost_ci_low_usd": Decimal("0.0018"),
    "median_run_cost_ci_high_usd": Decimal("0.039"),
    "median_sample_runs": 7,
    "retry_rate": Decimal("0.1666666667"),
    "escalation_rate": Decimal("0.1666666667"),
}


def write(home: Path) -> None:
    """Write the hand-computed traces, a truncated line, the evaluation and the labels under `home`."""
    traces = home / "traces" / "2026" / "11" / "20"
    write_traces(traces / "hand.jsonl", RUNS)
    with (traces / "hand.jsonl").open("ab") as handle:  # a Collector killed mid-write
        handle.write(b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8e\n')
    write_evaluations(traces / "logs-evals.jsonl", [evaluation(RUNS[5], "pass", at(14, 30))])
    write_labels(home / "labels" / "hand-2026-11-21.csv", LABELS)
