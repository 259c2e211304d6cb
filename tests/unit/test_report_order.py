"""The report's findings table: most severe first within a day, so a cut-off drops the least severe."""

import re

import duckdb

from orchestration.report import ANOMALY_ROWS, anomaly_table

COLUMNS = ("detected_on", "anomaly_type", "workflow", "run_id", "severity", "observed", "expected", "explanation")


def test_high_findings_come_first_and_survive_the_row_limit() -> None:
    # given one day with more findings than the table shows, the high ones last alphabetically
    conn = duckdb.connect()
    conn.execute(
        "create table mart_cost_anomalies (detected_on date, anomaly_type varchar, workflow varchar, run_id varchar, "
        "severity varchar, observed double, expected double, explanation varchar)"
    )
    severities = ["low"] * 30 + ["medium"] * 30 + ["high"] * 5
    conn.executemany(
        "insert into mart_cost_anomalies values ('2026-11-20', 'cost_spike', ?, ?, ?, 2, 1, 'x')",
        [[f"wf{i:02d}", f"r{i:02d}", severity] for i, severity in enumerate(severities)],
    )
    # when
    rendered = anomaly_table(conn, "mart_cost_anomalies", {name: name for name in COLUMNS})
    # then high, then medium, then low: the cut-off drops low findings, never high ones
    shown = re.findall(r"<td class='severity'>(\w+)</td>", rendered.table_html)
    assert len(shown) == ANOMALY_ROWS
    assert shown == ["high"] * 5 + ["medium"] * 30 + ["low"] * (ANOMALY_ROWS - 35)
