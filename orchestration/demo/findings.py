"""The demo's findings section: what marts.mart_cost_anomalies found, grouped by category."""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb

CATEGORIES = (
    ("anomaly", "Cost anomalies"),
    ("cost_bloat", "Avoidable spend (cost bloat)"),
    ("optimization_trigger", "Optimization triggers (health targets missed)"),
)
WIDTH = 110


def findings_section(db_path: Path) -> str:
    """Every finding, one block each: day, severity, type, workflow, then its explanation wrapped."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        exists = conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'mart_cost_anomalies'"
        ).fetchone()[0]
        if not exists:
            return ""
        rows = conn.execute(
            """
            select category, detected_on, severity, anomaly_type, coalesce(workflow, subject, '—'), explanation
            from marts.mart_cost_anomalies
            order by category, detected_on, anomaly_type, workflow
            """
        ).fetchall()
    counts = {key: sum(1 for row in rows if row[0] == key) for key, _ in CATEGORIES}
    lines = [
        f"Findings (marts.mart_cost_anomalies): {counts['anomaly']} cost anomalies, "
        f"{counts['cost_bloat']} avoidable-spend patterns, {counts['optimization_trigger']} optimization triggers"
    ]
    for key, title in CATEGORIES:
        group = [row for row in rows if row[0] == key]
        if not group:
            continue
        lines.append(f"\n{title}")
        for _, detected_on, severity, anomaly_type, workflow, explanation in group:
            lines.append(f"  {detected_on}  {severity:<6}  {anomaly_type:<32}  {workflow}")
            lines += textwrap.wrap(explanation, WIDTH, initial_indent=" " * 14, subsequent_indent=" " * 14)
    return "\n".join(lines)
