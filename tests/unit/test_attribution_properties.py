"""Properties of the attribution SQL over random runs and deals (hypothesis), run on DuckDB directly.

The model is compiled once by dbt (its macros, vars and window logic included) and its SELECT is
run against small random tables: per deal and model, credits sum to the deal's amount and never
exceed it; per account, total credit never exceeds the account's won revenue; only successful
runs on the deal's account inside its window are credited.
"""

import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.settings import PROJECT_ROOT

START = datetime(2026, 1, 1)
MODELS = ("linear", "last_touch", "first_touch", "time_decay")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The compiled SELECT of int_deals_attributed_to_runs and the database file it names."""
    folder = tmp_path_factory.mktemp("attribution")
    db_path = folder / "prop.duckdb"
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "AGENTLEDGER_DB": str(db_path)}
    subprocess.run(
        [str(dbt), "compile", "--quiet", "--select", "int_deals_attributed_to_runs", "--target-path",
         str(folder / "target"), "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)],
        cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
    )
    sql = next((folder / "target").rglob("int_deals_attributed_to_runs.sql")).read_text()
    return db_path, sql.replace('"prop".', "")  # run against an in-memory database


runs_strategy = st.lists(
    st.tuples(
        st.sampled_from(["acct_a", "acct_b", "acct_c"]),
        st.integers(min_value=0, max_value=60 * 24 * 3600),  # start, seconds after START
        st.sampled_from(["success", "success", "failure", "unlabeled"]),
    ),
    max_size=25,
)
deals_strategy = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3"]),
        st.integers(min_value=0, max_value=60 * 24 * 3600),  # close, seconds after START
        st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("5000000"), places=10),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=runs_strategy, deals=deals_strategy)
def test_deal_credit_never_exceeds_deal_amount_nor_account_revenue(compiled, runs, deals) -> None:
    _, sql = compiled
    # given random runs on three accounts and won/lost deals on their CRM accounts
    # (acct_a is c1; acct_b is c2 and c3: an account with two CRM records)
    with duckdb.connect() as conn:
        conn.execute("create schema if not exists intermediate")
        conn.execute(
            "create or replace table intermediate.int_crm_account_keys as select * from (values "
            "('acct_a', 'hubspot', 'c1'), ('acct_b', 'hubspot', 'c2'), ('acct_b', 'hubspot', 'c3')) "
            "t(account_id, crm_system, crm_account_id)"
        )
        conn.execute(
            "create or replace table intermediate.int_runs_rolled_up "
            "(run_id varchar, workflow varchar, account_id varchar, started_at timestamp, outcome varchar)"
        )
        conn.executemany(
            "insert into intermediate.int_runs_rolled_up values (?, 'w', ?, ?, ?)",
            [(f"r{i}", account, START + timedelta(seconds=s), outcome) for i, (account, s, outcome) in enumerate(runs)],
        ) if runs else None
        conn.execute(
            "create or replace table intermediate.int_crm_deals (deal_key varchar, crm_system varchar, "
            "deal_id varchar, crm_account_id varchar, amount_usd decimal(38, 10), closed_at timestamp, "
            "closed_on date, modified_at timestamp, changed_at timestamp, is_won_revenue boolean)"
        )
        conn.executemany(
            "insert into intermediate.int_crm_deals values (?, 'hubspot', ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    f"hubspot:d{i}", f"d{i}", crm, amount, START + timedelta(seconds=s),
                    (START + timedelta(seconds=s)).date(), *[START + timedelta(seconds=s)] * 2, won,
                )
                for i, (crm, s, amount, won) in enumerate(deals)
            ],
        )
        # when
        credits = conn.execute(
            f"select deal_key, run_id, attribution_model, credit_usd, account_id from ({sql})"
        ).fetchall()

    # then
    amount = {f"hubspot:d{i}": a for i, (_, _, a, _) in enumerate(deals)}
    won = {f"hubspot:d{i}": w for i, (_, _, _, w) in enumerate(deals)}
    by_deal: dict[tuple[str, str], Decimal] = {}
    for deal_key, _, model, credit, _ in credits:
        assert credit > 0 and won[deal_key]
        by_deal[(deal_key, model)] = by_deal.get((deal_key, model), Decimal(0)) + credit
    for (deal_key, _), total in by_deal.items():
        assert total == amount[deal_key]  # never more, and exactly the amount once a run is eligible
    account_of_crm = {"c1": "acct_a", "c2": "acct_b", "c3": "acct_b"}
    won_revenue: dict[str, Decimal] = {}
    for crm, _, a, w in deals:
        if w:
            won_revenue[account_of_crm[crm]] = won_revenue.get(account_of_crm[crm], Decimal(0)) + a
    for model in MODELS:
        per_account: dict[str, Decimal] = {}
        for _, _, m, credit, account in credits:
            if m == model:
                per_account[account] = per_account.get(account, Decimal(0)) + credit
        for account, total in per_account.items():
            assert total <= won_revenue[account]
    # and a deal with an eligible run (successful, on its account, within 30 days before) is credited
    for i, (crm, s, _, w) in enumerate(deals):
        closes = START + timedelta(seconds=s)
        eligible = [
            r for r in runs
            if r[2] == "success" and r[0] == account_of_crm[crm]
            and closes - timedelta(days=30) <= START + timedelta(seconds=r[1]) < closes
        ]
        assert ((f"hubspot:d{i}", "linear") in by_deal) == (bool(eligible) and w)
