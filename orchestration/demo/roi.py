"""The demo's ROI section: workflows ranked by ROI beside their cost per successful task."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _times(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.1f}×"


def roi_section(db_path: Path) -> str:
    """ROI by workflow over the whole range (mart_workflow_roi, period `all`), best first."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        exists = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?",
            ["mart_workflow_roi"],
        ).fetchone()[0]
        if not exists:
            return ""
        rows = conn.execute(
            """
            select
                workflow, attribution_model, cost_per_successful_task_usd, successful_runs,
                runs_without_baseline, median_lift_per_run_usd, lift_ci_low_usd, lift_ci_high_usd,
                median_sample_runs, roi, roi_ci_low, roi_ci_high, unpriced_runs
            from marts.mart_workflow_roi
            where period = 'all' and successful_runs > 0
            order by roi desc nulls last, workflow
            """
        ).fetchall()
        flagged = conn.execute(
            "select count(*) from intermediate.int_crm_deals where is_won and not is_removed and not is_superseded "
            "and closed_at is not null and fx_status in ('unknown_currency', 'no_rate')"
        ).fetchone()[0]
    if not rows:
        return ""
    header = ("workflow", "CPST", "successes", "no baseline", "median lift [95% CI]", "ROI [95% CI]")
    table = [header]
    upper_bounds = []
    for row in rows:
        workflow, _, cpst, successes, unmatched, lift, lift_low, lift_high, _n, roi, roi_low, roi_high, unpriced = row
        lift_text = _money(lift) + (f" [{_money(lift_low)}, {_money(lift_high)}]" if lift_low is not None else "")
        roi_text = _times(roi) + (f" [{_times(roi_low)}, {_times(roi_high)}]" if roi_low is not None else "")
        if roi is None and successes and unmatched == successes:
            roi_text = "no baseline"
        elif roi is not None and unpriced:
            # the true CPST is higher: a positive ROI is at most this, a negative one at least this
            roi_text = ("≤ " if roi >= 0 else "≥ ") + roi_text
            upper_bounds.append(f"{workflow} ({unpriced:,} runs)")
        table.append((workflow, _money(cpst), f"{successes:,}", f"{unmatched:,}", lift_text, roi_text))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        f"ROI by workflow ({rows[0][1]} attribution, 30-day window, lift against the prior quarter's manual "
        "baseline; median over runs with a baseline whose window has ended)\n"
    ]
    for index, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    if upper_bounds:
        lines.append(
            f"\n≤, ≥: overstated, nearer 0 in truth, for runs with a call of unknown cost count only their known "
            f"cost in the CPST: {', '.join(upper_bounds)}; price their models (seeds/price_overrides.csv) before "
            "ranking them"
        )
    if flagged:
        lines.append(
            f"\n{flagged} won deal(s) left out of revenue: no USD rate in seeds/fx_rates.csv (a currency it "
            "lacks, or none within fx_max_rate_age_days of the close: add the rates)"
        )
    return "\n".join(lines)
