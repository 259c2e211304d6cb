"""The demo's findings section: grouped by category, each finding with its explanation."""

from datetime import date
from pathlib import Path

import duckdb

from orchestration.demo.findings import findings_section


def test_findings_are_grouped_by_category_with_their_explanations(tmp_path: Path) -> None:
    # given a warehouse with a loop, a provider's untraced spend and a health-target trigger
    db_path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db_path)) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.mart_cost_anomalies (detected_on date, anomaly_type varchar, category varchar, "
            "workflow varchar, subject varchar, severity varchar, explanation varchar)"
        )
        conn.executemany(
            "insert into marts.mart_cost_anomalies values (?, ?, ?, ?, ?, ?, ?)",
            [
                [date(2026, 10, 1), "human_intervention_high", "optimization_trigger", "code_refactor", None, "low",
                 "code_refactor's human intervention rate was 39.7% in September 2026, above the 20% target"],
                [date(2026, 11, 5), "loop_spike", "anomaly", "seo_audit", None, "high",
                 "run wr_1 cost $91.27, 21.9× the 14-day median of $4.17 for seo_audit, in 564 LLM calls"],
                [date(2026, 10, 24), "untraced_spend", "cost_bloat", None, "openai", "high",
                 "openai billed $3.10 on 2026-10-24 that no trace explains "
                 "(27.0% of its $11.48 bill, all on gpt-5-mini)"],
            ],
        )  # fmt: skip

    # when the section is rendered
    text = findings_section(db_path)

    # then anomalies come first, each finding with its explanation under it
    assert text.splitlines() == [
        "Findings (marts.mart_cost_anomalies): 1 cost anomalies, 1 avoidable-spend patterns, 1 optimization triggers",
        "",
        "Cost anomalies",
        "  2026-11-05  high    loop_spike                        seo_audit",
        "              run wr_1 cost $91.27, 21.9× the 14-day median of $4.17 for seo_audit, in 564 LLM calls",
        "",
        "Avoidable spend (cost bloat)",
        "  2026-10-24  high    untraced_spend                    openai",
        "              openai billed $3.10 on 2026-10-24 that no trace explains (27.0% of its $11.48 bill, all on",
        "              gpt-5-mini)",
        "",
        "Optimization triggers (health targets missed)",
        "  2026-10-01  low     human_intervention_high           code_refactor",
        "              code_refactor's human intervention rate was 39.7% in September 2026, above the 20% target",
    ]


def test_a_warehouse_without_the_mart_prints_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db_path)).close()
    assert findings_section(db_path) == ""
