"""Demo report sections for the economics marts: where caching saved money, which routes to change.

Each function takes the warehouse path and returns text for `agentledger demo` to print after the
headline (`DEMO_REPORT_SECTIONS` in run.py), or "" when the mart has nothing to show.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb


def _usd(value: Decimal | None, places: int = 2) -> str:
    return "—" if value is None else f"${value:,.{places}f}"


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def cache_savings_findings(db_path: Path, top: int = 5) -> str:
    """The workflows prompt caching saved most on, and those it does nothing for."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        rows = conn.execute(
            """
            select
                workflow,
                sum(savings_usd) as savings_usd,
                sum(cost_per_successful_task_usd * successful_runs) as labeled_cost_usd,
                sum(no_cache_cost_per_successful_task_usd * successful_runs) as labeled_no_cache_cost_usd,
                sum(cache_read_tokens) / nullif(sum(input_tokens), 0) as cache_read_share
            from marts.mart_cache_savings
            group by workflow
            order by savings_usd desc, workflow
            """
        ).fetchall()
    if not rows:
        return ""
    lines = [f"Prompt caching: top {min(top, len(rows))} workflows by savings (rack rate)", ""]
    header = ("workflow", "saved", "CPST change", "cache reads")
    table = [header]
    for workflow, saved, cost, no_cache, read_share in rows[:top]:
        change = None if not no_cache else (cost - no_cache) / no_cache
        table.append((workflow, _usd(saved), "—" if change is None else f"{change * 100:+.0f}%", _pct(read_share)))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for index, row in enumerate(table):
        cells = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([row[0].ljust(widths[0]), *cells]))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    none = [workflow for workflow, saved, *_ in rows if saved == 0]
    if none:
        lines.append(f"\nno cache benefit at all: {', '.join(sorted(none))}")
    return "\n".join(lines)


def routing_findings(db_path: Path, top: int = 5) -> str:
    """Workflows whose cheapest route within the quality tolerance is not the one they run."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        counts = dict(
            conn.execute(
                "select recommendation, count(*) from marts.mart_routing_recommendations group by recommendation"
            ).fetchall()
        )
        switches = conn.execute(
            """
            select
                workflow, current_route, recommended_route, current_route_cost_per_successful_task_usd,
                recommended_cost_per_successful_task_usd, current_route_success_rate, recommended_success_rate,
                recommended_labeled_runs, monthly_saving_usd,
                -- a demo shorter than the window has runs from its own first day only
                greatest(window_start, (select min(run_date) from marts.fct_workflow_runs)) as window_start,
                window_end
            from marts.mart_routing_recommendations
            where recommendation = 'switch'
            order by monthly_saving_usd desc, workflow
            """
        ).fetchall()
    if not counts:
        return ""
    summary = ", ".join(f"{counts[key]} {key.replace('_', ' ')}" for key in sorted(counts))
    if not switches:
        return f"Model routing: no cheaper route keeps quality ({summary})"
    first, last = switches[0][-2:]
    lines = [f"Model routing, {first}..{last}: cheaper routes within the quality tolerance ({summary})", ""]
    for workflow, current, route, cpst_now, cpst_new, rate_now, rate_new, sample, saving, *_ in switches[:top]:
        lines.append(f"{workflow}: {current}  →  {route}")
        lines.append(
            f"    CPST {_usd(cpst_now, 4)} → {_usd(cpst_new, 4)}, success {_pct(rate_now)} → {_pct(rate_new)} "
            f"({sample} labeled runs), saves {_usd(saving)} a month"
        )
    return "\n".join(lines)
