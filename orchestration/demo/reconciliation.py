"""The demo report's reconciliation section: traced vs billed by provider, and the top findings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

TOLERANCE = Decimal("0.02")
MAX_FINDINGS = 6


def _usd(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _tokens(value: int | None) -> str:
    return "—" if value is None else f"{value / 1e6:,.1f}M"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def findings(conn: duckdb.DuckDBPyConnection) -> list[tuple[Decimal, str]]:
    """(dollars at stake, sentence) for each finding worth a person's attention, largest first."""
    found: list[tuple[Decimal, str]] = []
    for provider, model, untraced, days in conn.execute(
        """
        select provider, model, sum(untraced_spend_usd), count(*) filter (where status = 'provider_higher')
        from marts.mart_provider_reconciliation
        group by all having sum(untraced_spend_usd) > 0.005
        """
    ).fetchall():
        found.append((untraced, f"{provider} {model}: {_usd(untraced)} billed that no trace explains "
                                f"({days} day(s) with more tokens reported than traced, beyond tolerance)"))
    for provider, billed, rack, untraced in conn.execute(
        """
        select provider, sum(billed_cost_usd), sum(rack_cost_usd), sum(coalesce(untraced_spend_usd, 0))
        from marts.mart_provider_reconciliation where billed_cost_usd is not null group by all
        """
    ).fetchall():
        if not rack:
            continue
        factor = (billed - untraced) / rack
        if abs(factor - 1) > TOLERANCE:
            why = "credits or discounts" if factor < 1 else "prices above the price book's"
            found.append((abs(billed - untraced - rack),
                          f"{provider} bills {factor:.3f}× rack rate for the traced usage "
                          f"({_usd(billed - untraced)} vs {_usd(rack)} at rack: {why})"))
    for provider, tokens in conn.execute(
        "select provider, sum(priority_tier_tokens) from marts.mart_provider_reconciliation "
        "group by all having sum(priority_tier_tokens) > 0"
    ).fetchall():
        found.append((Decimal(0), f"{provider}: {_tokens(tokens)} Priority Tier tokens, billed outside the cost "
                                  "report (reconciled as such, not as a gap)"))
    for provider, day, gap, rack in conn.execute(
        """
        select provider, usage_date, 100 * (sum(reported_tokens) - sum(traced_tokens)) / sum(reported_tokens),
               coalesce(sum(rack_cost_usd), 0)
        from marts.mart_provider_reconciliation
        group by all having bool_or(status = 'traced_higher') and sum(reported_tokens) > 0
            and sum(traced_tokens) > sum(reported_tokens) * 1.02
        """
    ).fetchall():
        found.append((rack * TOLERANCE, f"{provider} {day}: traces hold {-gap:.1f}% more tokens than the provider "
                                        "reports — a bucket not settled yet is re-pulled for the lookback days"))
    # Priority Tier usage has no dollars in the cost report to rank by: it is always listed.
    return sorted(found, key=lambda item: (item[1].endswith("not as a gap)"), item[0]), reverse=True)


def reconciliation_section(db_path: Path) -> str:
    """Traced vs billed per provider over the whole range, then the top findings."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        totals = conn.execute(
            """
            select provider, min(usage_date), max(usage_date), sum(traced_tokens), sum(reported_tokens),
                   sum(rack_cost_usd), sum(billed_cost_usd), sum(untraced_spend_usd)
            from marts.mart_provider_reconciliation
            where status != 'no_provider_data'
            group by all order by sum(billed_cost_usd) desc nulls last
            """
        ).fetchall()
        if not totals:
            return ""
        top = findings(conn)[:MAX_FINDINGS]
    first = min(row[1] for row in totals)
    last = max(row[2] for row in totals)
    table = [("provider", "traced tokens", "reported tokens", "rack $", "billed $", "untraced $")]
    for provider, _, _, traced, reported, rack, billed, untraced in totals:
        table.append((provider, _tokens(traced), _tokens(reported), _usd(rack), _usd(billed), _usd(untraced)))
    lines = [f"Traced vs billed by provider, {first}..{last} (marts.mart_provider_reconciliation)", "", *_table(table)]
    if top:
        lines += ["", "Top reconciliation findings:"] + [f"  - {text}" for _, text in top]
    return "\n".join(lines)
