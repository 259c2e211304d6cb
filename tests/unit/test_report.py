"""The report: a chart per published mart, found by name; unavailable sections named; no network needed."""

import re
from pathlib import Path

import duckdb
import pytest

from orchestration.report import SECTIONS, write_report

# Hand-made marts with the DESIGN §5 columns, as the issues building them publish them.
MARTS_SQL = {
    "mart_unit_economics": """
        create table mart_unit_economics as select * from (values
            ('seo_audit', 'all', date '2026-11-01', 40, 30, 20, 4.0::decimal(38, 10), 6.5::decimal(38, 10),
             2.1::decimal(38, 10), 1.9::decimal(38, 10), 2.6::decimal(38, 10)),
            ('ticket_triage', 'all', date '2026-11-01', 90, 80, 72, 0.04::decimal(38, 10), 0.9::decimal(38, 10),
             0.033::decimal(38, 10), 0.032::decimal(38, 10), 0.035::decimal(38, 10)),
            ('new_flow', 'all', date '2026-11-01', 3, 1, 0, null, null, 0.5::decimal(38, 10), null, null),
            ('seo_audit', 'day', date '2026-11-20', 4, 3, 2, 4.0::decimal(38, 10), 6.5::decimal(38, 10),
             2.1::decimal(38, 10), null, null)
        ) as t(workflow, period, period_start, runs, labeled_runs, successful_runs, cost_per_successful_task_usd,
               true_cost_per_successful_task_usd, median_run_cost_usd, median_run_cost_ci_low_usd,
               median_run_cost_ci_high_usd)
    """,
    "fct_llm_calls": """
        create table fct_llm_calls as select * from (values
            ('c1', timestamp '2026-11-20 09:00', 'anthropic', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-5',
             0.5::decimal(38, 10)),
            ('c2', timestamp '2026-11-21 09:00', 'openai', 'gpt-5-mini', 'gpt-5-mini', 0.01::decimal(38, 10)),
            ('c3', timestamp '2026-11-21 10:00', null, 'acme-coder-ft-v2', null, null)
        ) as t(call_id, started_at, provider, model, price_model_id, cost_usd)
    """,
    "mart_workflow_roi": """
        create table mart_workflow_roi as select * from (values
            ('seo_audit', 'all', 'linear', 12.5::decimal(38, 10), 8.0::decimal(38, 10), 17.0::decimal(38, 10)),
            ('ticket_triage', 'all', 'linear', -0.4::decimal(38, 10), -1.0::decimal(38, 10), 0.3::decimal(38, 10)),
            ('seo_audit', 'month', 'linear', 11.0::decimal(38, 10), null, null)
        ) as t(workflow, period, attribution_model, roi, roi_ci_low, roi_ci_high)
    """,
    "mart_cache_savings": """
        create table mart_cache_savings as select * from (values
            ('seo_audit', date '2026-10-01', 120.0::decimal(38, 10), 31.5),
            ('seo_audit', date '2026-11-01', 80.0::decimal(38, 10), 28.0),
            ('ticket_triage', date '2026-11-01', 3.0::decimal(38, 10), 4.2)
        ) as t(workflow, month, savings_usd, cpst_reduction_pct)
    """,
    "mart_spend_by_category": """
        create table mart_spend_by_category as select * from (values
            (date '2026-10-01', 'fixed', 100.0::decimal(38, 10)),
            (date '2026-10-01', 'variable', 300.0::decimal(38, 10)),
            (date '2026-11-01', 'investment', 50.0::decimal(38, 10))
        ) as t(month, cost_category, cost_usd)
    """,
    "mart_provider_reconciliation": """
        create table mart_provider_reconciliation as select * from (values
            ('anthropic', date '2026-11-20', 'claude-sonnet-4-5', 2.5, 12.0::decimal(38, 10)),
            ('openai', date '2026-11-20', null, -1.0, 0.0::decimal(38, 10))
        ) as t(provider, usage_date, model, token_gap_pct, untraced_spend_usd)
    """,
    "mart_cost_anomalies": """
        create table mart_cost_anomalies as select * from (values
            (date '2026-11-21', 'loop_spike', 'seo_audit', 'wr_9', 'high', 41.2, 2.95,
             'run wr_9 cost $41.20, 14× the 14-day median of $2.95 for seo_audit, in 212 calls <script>x</script>'),
            (date '2026-10-01', 'context_bloat', 'seo_audit', null, 'medium', 1.0, 1.0, 'an old finding')
        ) as t(detected_on, anomaly_type, workflow, run_id, severity, observed, expected, explanation)
    """,
}


def snapshot_with(tmp_path: Path, marts: list[str], overrides: dict[str, str] | None = None) -> Path:
    path = tmp_path / "marts.duckdb"
    with duckdb.connect(str(path)) as conn:
        for name in marts:
            conn.execute((overrides or {}).get(name, MARTS_SQL[name]))
    return path


def section_statuses(page: str) -> dict[str, str]:
    return dict(re.findall(r"<section class='report-section' id='(\w+)' data-status='(\w+)'", page))


def test_every_section_draws_once_its_mart_is_published(tmp_path: Path) -> None:
    # given a snapshot holding every mart the report reads
    snapshot = snapshot_with(tmp_path, list(MARTS_SQL))

    # when
    summary = write_report(snapshot, tmp_path / "report.html")

    # then six charts and the findings table, nothing unavailable
    page = summary.path.read_text()
    assert section_statuses(page) == {
        "cpst_by_workflow": "chart", "roi_ranking": "chart", "cache_savings": "chart", "spend_by_model": "chart",
        "spend_by_category": "chart", "reconciliation": "chart", "anomalies": "table",
    }
    assert summary.unavailable == []
    assert "Every section of the report is available." in page
    for chart in summary.charts:
        assert f'id="chart-{chart}"' in page


def test_missing_marts_are_named_as_unavailable_and_the_rest_still_draws(tmp_path: Path) -> None:
    # given only the spine's marts (as on main before the other marts land)
    snapshot = snapshot_with(tmp_path, ["mart_unit_economics", "fct_llm_calls"])

    # when
    summary = write_report(snapshot, tmp_path / "report.html")

    # then
    page = summary.path.read_text()
    assert summary.charts == ["cpst_by_workflow", "spend_by_model"]
    assert {s.spec.mart for s in summary.unavailable} == {
        "mart_workflow_roi", "mart_cache_savings", "mart_spend_by_category", "mart_provider_reconciliation",
        "mart_cost_anomalies",
    }
    unavailable_box = page.split("<div id=\"unavailable\">")[1].split("</div>")[0]
    for spec in SECTIONS[1:3] + SECTIONS[4:]:
        assert spec.title in unavailable_box and f"<code>{spec.mart}</code>" in unavailable_box


def test_a_mart_without_an_expected_column_is_reported_not_drawn_wrong(tmp_path: Path) -> None:
    # given a ROI mart published without its interval columns
    roi_without_interval = "create table mart_workflow_roi as select 'seo_audit' as workflow, 'all' as period, " \
        "'linear' as attribution_model, 1.0 as roi"
    snapshot = snapshot_with(tmp_path, ["mart_workflow_roi"], {"mart_workflow_roi": roi_without_interval})

    # when
    summary = write_report(snapshot, tmp_path / "report.html")

    # then
    roi = next(s for s in summary.sections if s.spec.id == "roi_ranking")
    assert roi.status == "unavailable"
    assert roi.reason == "the mart `mart_workflow_roi` has no column `roi_ci_low`, `roi_ci_high`"


def test_findings_are_the_latest_week_and_their_text_is_escaped(tmp_path: Path) -> None:
    snapshot = snapshot_with(tmp_path, ["mart_cost_anomalies"])

    page = write_report(snapshot, tmp_path / "report.html").path.read_text()

    table = page.split("<table class='findings'>")[1].split("</table>")[0]
    assert "14× the 14-day median of $2.95" in table
    assert "&lt;script&gt;x&lt;/script&gt;" in table and "<script>x" not in page
    assert "an old finding" not in table  # detected 51 days before the latest detection


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    snapshot = snapshot_with(tmp_path, ["mart_unit_economics", "fct_llm_calls"])

    page = write_report(snapshot, tmp_path / "report.html").path.read_text()

    # plotly.js is inlined once; nothing is loaded from anywhere
    assert page.count("plotly.js v") == 1
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert "@import" not in page


def test_unpriced_calls_are_counted_not_drawn_as_zero(tmp_path: Path) -> None:
    snapshot = snapshot_with(tmp_path, ["fct_llm_calls"])

    summary = write_report(snapshot, tmp_path / "report.html")

    spend = next(s for s in summary.sections if s.spec.id == "spend_by_model")
    assert spend.note.startswith("1 calls on models without a price are not in these bars")
    # dated snapshots are shown under the price book's model id; a model without any price has no bar
    names = re.findall(r'"name":"([^"]*)"', spend.body.replace("\\u002f", "/"))
    assert names == ["anthropic / claude-sonnet-4-5", "openai / gpt-5-mini"]


def test_an_roi_over_a_lower_bound_cost_is_named_overstated(tmp_path: Path) -> None:
    # given code_refactor's all-time ROI over a CPST that leaves out 135 runs' unpriced calls
    roi = """
        create table mart_workflow_roi as select * from (values
            ('seo_audit', 'all', 'linear', 12.5::decimal(38, 10), 8.0::decimal(38, 10), 17.0::decimal(38, 10), 0),
            ('code_refactor', 'all', 'linear', 106.9::decimal(38, 10), 105.5::decimal(38, 10),
             116.4::decimal(38, 10), 135),
            ('code_refactor', 'month', 'linear', 90.0::decimal(38, 10), null, null, 40)
        ) as t(workflow, period, attribution_model, roi, roi_ci_low, roi_ci_high, unpriced_runs)
    """
    snapshot = snapshot_with(tmp_path, ["mart_workflow_roi"], {"mart_workflow_roi": roi})

    summary = write_report(snapshot, tmp_path / "report.html")

    # then the chart says which ROI is only an upper bound, and why
    section = next(s for s in summary.sections if s.spec.id == "roi_ranking")
    assert section.status == "chart"
    assert "Overstated (nearer 0 in truth) for code_refactor (135 runs): runs with a call of unknown" in section.note
    assert "seo_audit" not in section.note


def test_no_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no snapshot at .*agentledger run"):
        write_report(tmp_path / "marts.duckdb", tmp_path / "report.html")


def test_agentledger_report_writes_the_page_and_names_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestration.cli import build_parser, main

    snapshot = snapshot_with(tmp_path, ["mart_unit_economics", "fct_llm_calls"])
    assert "report" in build_parser().format_help()

    code = main(["report", "--snapshot", str(snapshot), "--output", str(tmp_path / "out" / "report.html")])

    out = capsys.readouterr().out
    assert code == 0 and (tmp_path / "out" / "report.html").exists()
    assert "(2 charts," in out
    assert "not available: ROI ranking (the mart `mart_workflow_roi` is not in this snapshot yet)" in out


def test_an_output_that_is_a_folder_is_named_and_nothing_is_left_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestration.cli import main

    snapshot = snapshot_with(tmp_path, ["mart_unit_economics"])
    folder = tmp_path / "out"
    folder.mkdir()

    assert main(["report", "--snapshot", str(snapshot), "--output", str(folder)]) == 2
    assert f"{folder} is a folder: name the report's file" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["out", snapshot.name])
    assert list(folder.iterdir()) == []


def test_agentledger_report_without_a_snapshot_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from orchestration.cli import main

    assert main(["report", "--snapshot", str(tmp_path / "missing.duckdb")]) == 2
    assert "no snapshot at" in capsys.readouterr().err
