"""The `median_ci_ranks` macro against the binomial order-statistic rule computed exactly in Python.

For n sorted values the 95% interval of the median is [x(j), x(n-j+1)] with j the largest rank
such that P(B <= j-1) <= 2.5%, B ~ Binomial(n, 1/2); below n = 6 no rank qualifies.
"""

from fractions import Fraction
from math import comb
from pathlib import Path

import duckdb
import jinja2
import pytest

from orchestration.settings import PROJECT_ROOT

SIZES = [6, 7, 20, 101]


def reference_ranks(n: int, alpha: Fraction = Fraction(5, 100)) -> tuple[int, int] | None:
    """(lower, upper) 1-based ranks from exact binomial sums; None when no rank qualifies."""
    cdf, j = Fraction(0), 0
    for k in range(n + 1):
        cdf += Fraction(comb(n, k), 2**n)
        if cdf > alpha / 2:
            break
        j = k + 1  # P(B <= (k+1) - 1) <= alpha/2
    return (j, n - j + 1) if j >= 1 else None


def macro_ranks(sizes: list[int]) -> dict[int, tuple[int | None, int | None]]:
    """Render macros/order_statistics.sql and run it on DuckDB over the given sample sizes."""
    source = Path(PROJECT_ROOT / "macros" / "order_statistics.sql").read_text()
    template = jinja2.Environment(autoescape=False).from_string(  # noqa: S701 - SQL, not HTML
        source + "{{ median_ci_ranks('sizes') }}"
    )
    sql = template.render()
    with duckdb.connect() as conn:
        conn.execute("create table sizes as select unnest(?::integer[]) as n", [sizes])
        return {n: (low, high) for n, low, high in conn.execute(sql).fetchall()}


def test_reference_rule_on_known_values() -> None:
    # P(B <= 0) = 1/64 <= 2.5% < P(B <= 1) = 7/64 for n = 6; n = 5 has no interval (1/32 > 2.5%)
    assert reference_ranks(6) == (1, 6)
    assert reference_ranks(5) is None


@pytest.mark.parametrize("n", SIZES)
def test_median_interval_ranks_match_the_exact_binomial_rule(n: int) -> None:
    ranks = macro_ranks(SIZES)
    assert ranks[n] == reference_ranks(n)


def test_no_interval_under_six_runs() -> None:
    ranks = macro_ranks([1, 2, 5])
    assert all(ranks[n] == (None, None) for n in (1, 2, 5))
