"""Cost anomalies and their alerts, through the real nightly job and the real Dagster alert step."""

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.alerts import cost_anomaly_alerts
from orchestration.demo.server import FakeApiServer, FakeRequest, FakeResponse
from tests.integration.conftest import Warehouse, environment

pytestmark = pytest.mark.integration

HOOK = "/services/T0AGENT/B0LEDGER/t0k3n"


def test_four_days_find_uncached_contexts_and_untraced_spend_not_the_rest(warehouse: Warehouse) -> None:
    # given the session's 4 demo days (scale 0.2), which hold every planted pattern clamped into
    # 2026-11-18..21: the looping run and the dispersed day on the first day, the uncached playbook
    # of pr_backlink_outreach on all four
    loop = warehouse.query("select max(cost_usd) from marts.fct_workflow_runs where workflow = 'seo_audit'")[0][0]
    assert loop > 20

    # then the uncached repeated context, which needs 50 calls in 7 days and no longer history, is
    # found twice: the demo's playbook, and the hand routing set's tiered route (60 sonnet calls of
    # exactly 60,000 uncached input tokens by one agent: the same pattern, by construction; its opus
    # calls mix 60,000 and 150,000 tokens, not one stable input); and
    # the OpenAI support bot no trace sees (a provider-day is judged on its own); the loop has no
    # 14-day baseline of 20 runs, the dispersed day no usual level
    findings = warehouse.query_dicts("select * from marts.mart_cost_anomalies order by anomaly_type, workflow")
    assert [(f["anomaly_type"], f["workflow"], f["subject"], f["category"]) for f in findings] == [
        ("cache_unused_on_repeated_context", "hand_routing", None, "cost_bloat"),
        ("cache_unused_on_repeated_context", "pr_backlink_outreach", None, "cost_bloat"),
        ("untraced_spend", None, "openai", "cost_bloat"),
    ]
    hand, uncached, untraced = findings
    assert hand["detected_on"] == date(2026, 11, 20) and "60 LLM calls" in hand["explanation"]
    assert "agent reviewer on claude-sonnet-4-5" in hand["explanation"]
    assert date(2026, 11, 18) <= uncached["detected_on"] <= date(2026, 11, 21) and uncached["severity"] == "high"
    assert uncached["observed"] == 0 and "read 0.0% of that input from the prompt cache" in uncached["explanation"]
    # the bot bills every day, twice the traced gpt-5-mini tokens; at this scale its spend passes
    # the $1 floor (and 5% of the bill) on 11-19 only: one finding, on that day, with the
    # reconciliation's untraced spend of that provider-day
    days = warehouse.query(
        "select usage_date, sum(untraced_spend_usd), sum(billed_cost_usd) from marts.mart_provider_reconciliation "
        "where provider = 'openai' group by all order by 1"
    )
    beyond = [(day, spend) for day, spend, bill in days if spend > max(1, Decimal("0.05") * bill)]
    assert [day for day, _ in beyond] == [date(2026, 11, 19)]
    assert (untraced["detected_on"], untraced["observed"]) == beyond[0]
    assert untraced["expected"] == 1 and "all on gpt-5-mini" in untraced["explanation"]
    # and the alert step ran after the mart (it keeps its memory of sent findings) and sent nothing
    assert warehouse.query("select count(*) from alerts.sent_findings") == [(0,)]


def _add_finding(db_path: Path, finding_id: str, detected_on: date, anomaly_type: str, workflow: str) -> None:
    with duckdb.connect(str(db_path)) as conn:
        conn.execute(
            """
            insert into marts.mart_cost_anomalies by name
            select
                ? as finding_id, ? as detected_on, ? as anomaly_type, 'anomaly' as category, ? as workflow,
                'high' as severity, 'run_cost_usd' as measure, 1 as observed, 0.1 as expected,
                ? as explanation, ? as evidence_start_date
            """,
            [
                finding_id,
                detected_on,
                anomaly_type,
                workflow,
                f"{workflow}: a test finding of type {anomaly_type}",
                detected_on,
            ],
        )


def test_the_alert_step_sends_each_new_finding_once_across_two_runs(warehouse: Warehouse, tmp_path: Path) -> None:
    # given a copy of the session warehouse with two findings of the window, and a Slack webhook
    # that answers the first attempt with a 502
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db_path, db_path)
    session_findings = [row[0] for row in warehouse.query("select finding_id from marts.mart_cost_anomalies")]
    assert len(session_findings) == 3
    _add_finding(db_path, "f_aaaaaaaaaaaaaaaa", date(2026, 11, 20), "loop_spike", "seo_audit")
    _add_finding(db_path, "f_bbbbbbbbbbbbbbbb", date(2026, 11, 21), "context_bloat", "client_report")
    accepted: list[dict] = []

    def accept(request: FakeRequest) -> FakeResponse:
        accepted.append(request.json())
        return FakeResponse(200, b"ok")

    def materialize() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [cost_anomaly_alerts],
            partition_key="2026-11-21",
            resources={"duckdb": DuckDBResource(database=str(db_path))},
        )

    with FakeApiServer() as server, environment(AGENTLEDGER_ALERT_WEBHOOK=server.base_url + HOOK):
        server.route("POST", HOOK, accept)
        server.inject(HOOK, FakeResponse(502, {"error": "bad gateway"}))

        # when the alert step runs, a new finding appears, and it runs again
        first = materialize()
        _add_finding(db_path, "f_cccccccccccccccc", date(2026, 11, 21), "inconsistent_inputs", "ad_copy_iteration")
        second = materialize()

    # then the webhook accepted each finding exactly once: the pipeline's own finding and the two
    # added in the first run, the new one in the second
    assert first.success and second.success
    ids = [message["blocks"][2]["elements"][0]["text"].rsplit(" ", 1)[1] for message in accepted]
    assert sorted(ids[:-1]) == sorted([*session_findings, "f_aaaaaaaaaaaaaaaa", "f_bbbbbbbbbbbbbbbb"])
    assert ids[-1] == "f_cccccccccccccccc"
    assert len(server.requests_to(HOOK)) == len(accepted) + 1  # and the 502
    metadata = [
        result.asset_materializations_for_node("alerts__cost_anomaly_alerts")[0].metadata for result in (first, second)
    ]
    assert [m["sent"].value for m in metadata] == [len(session_findings) + 2, 1]
