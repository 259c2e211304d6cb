"""Publish: the snapshot holds every mart, DuckDB 1.x opens it, open readers keep their view, failed gates block it."""

import hashlib
import json
import shutil
import subprocess
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster_duckdb import DuckDBResource

from orchestration.checks import pandera_gate
from orchestration.definitions import defs
from orchestration.demo.run import serve_demo_apis
from orchestration.marts import DAY_PARTITIONED_MARTS, mart_gates
from orchestration.publish import REPORT_KEY, SNAPSHOT_KEY, build_publish_assets
from orchestration.schemas import FctWorkflowRuns
from orchestration.settings import PROJECT_ROOT
from tests.fixtures.builders import Call, Run, write_traces
from tests.integration.conftest import Warehouse, environment, run_job
from tests.integration.hand_calc import SONNET

pytestmark = pytest.mark.integration

# A separate venv with an older DuckDB 1.x, as BI drivers embed one (`make bi-venv`, part of `make test`).
OLD_DUCKDB_PYTHON = PROJECT_ROOT / ".venv-bi" / "bin" / "python"


@pytest.fixture(scope="module")
def old_duckdb() -> Path:
    if not OLD_DUCKDB_PYTHON.exists():
        pytest.fail(f"{OLD_DUCKDB_PYTHON} is missing: `make bi-venv` creates it (duckdb 1.1.3)")
    return OLD_DUCKDB_PYTHON


def parquet_glob(parquet_dir: Path, mart: str) -> str:
    """The Parquet files of a mart: one file, or a folder of monthly files for a day-partitioned fact."""
    if mart in DAY_PARTITIONED_MARTS:
        return str(parquet_dir / mart / "*.parquet")
    return str(parquet_dir / f"{mart}.parquet")


def snapshot_tables(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        names = [row[0] for row in conn.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        return {name: conn.execute(f'select count(*) from "{name}"').fetchone()[0] for name in names}


def test_the_snapshot_holds_every_mart_of_the_warehouse_as_tables_and_parquet(warehouse: Warehouse) -> None:
    marts = {
        name: warehouse.query(f'select count(*) from marts."{name}"')[0][0]
        for (name,) in warehouse.query(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        )
    }
    assert {"fct_llm_calls", "fct_workflow_runs", "mart_unit_economics"} <= set(marts)

    published = snapshot_tables(warehouse.home / "marts.duckdb")

    assert published == {**marts, "snapshot_info": 1}
    for name, rows in marts.items():
        parquet = parquet_glob(warehouse.home / "marts", name)
        assert duckdb.sql(f"select count(*) from read_parquet('{parquet}')").fetchone()[0] == rows
    # the day-partitioned facts as one file per month, every other mart as one file
    parquet_dir = warehouse.home / "marts"
    assert sorted(str(p.relative_to(parquet_dir)) for p in parquet_dir.rglob("*")) == sorted(
        [f"{n}.parquet" for n in marts if n not in DAY_PARTITIONED_MARTS]
        + [*DAY_PARTITIONED_MARTS, *(f"{n}/2026-11.parquet" for n in DAY_PARTITIONED_MARTS)]
    )
    assert not list(warehouse.home.glob("*.tmp")) and not (warehouse.home / "marts.duckdb.wal").exists()


def test_the_publish_assets_carry_row_counts_and_a_preview(warehouse: Warehouse) -> None:
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(warehouse.home / "dagster"))) as instance:
        snapshot = instance.get_latest_materialization_event(SNAPSHOT_KEY).asset_materialization.metadata
        report = instance.get_latest_materialization_event(REPORT_KEY).asset_materialization.metadata
    calls = warehouse.query("select count(*) from marts.fct_llm_calls")[0][0]
    assert snapshot["rows/fct_llm_calls"].value == calls
    assert snapshot["storage_version"].value == "v1.0.0"
    assert "cost per successful task by workflow" in snapshot["preview"].value
    assert "| `mart_unit_economics` |" in snapshot["tables"].value
    assert report["charts"].value >= 2
    assert "**Cost per successful task**: chart" in report["sections"].value


OLD_READER = """
import json, sys, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
tables = [r[0] for r in conn.execute("select table_name from duckdb_tables() order by 1").fetchall()]
print(json.dumps({
    "version": duckdb.__version__,
    "rows": {t: conn.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables},
    "cost": str(conn.execute("select sum(cost_usd) from marts.fct_llm_calls").fetchone()[0]),
    "cost_type": conn.execute(
        "select data_type from information_schema.columns "
        "where table_name = 'fct_llm_calls' and column_name = 'cost_usd'"
    ).fetchone()[0],
}))
"""


def test_duckdb_1_1_opens_the_snapshot(warehouse: Warehouse, old_duckdb: Path) -> None:
    # when a BI tool's older embedded DuckDB opens the snapshot
    completed = subprocess.run(
        [str(old_duckdb), "-c", OLD_READER, str(warehouse.home / "marts.duckdb")],
        capture_output=True, text=True, check=False, timeout=120,
    )

    # then it reads every table, with exact money
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout)
    assert seen["version"] == "1.1.3"
    assert seen["rows"] == snapshot_tables(warehouse.home / "marts.duckdb")
    assert seen["cost"] == str(warehouse.query("select sum(cost_usd) from marts.fct_llm_calls")[0][0])
    assert seen["cost_type"] == "DECIMAL(38,10)"


# A BI tool: opens the snapshot read-only once, then answers on the same connection each time it is asked.
HELD_READER = """
import json, sys, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
for line in sys.stdin:
    if line.strip() == "quit":
        break
    print(json.dumps(conn.execute(
        "select (select dagster_run_id from snapshot_info), count(*), "
        "count(*) filter (where workflow = 'reader_check'), sum(cost_usd)::varchar from marts.fct_llm_calls"
    ).fetchone()), flush=True)
"""


def ask(reader: subprocess.Popen) -> list:
    reader.stdin.write("read\n")
    reader.stdin.flush()
    return json.loads(reader.stdout.readline())


def test_a_reader_holding_the_snapshot_keeps_its_view_while_a_nightly_run_replaces_it(
    warehouse: Warehouse, old_duckdb: Path, tmp_path: Path
) -> None:
    # given a copy of the session's home (warehouse, snapshot, inputs) and one new run traced on 2026-11-22
    home = tmp_path / "home"
    shutil.copytree(warehouse.home, home, ignore=shutil.ignore_patterns("dagster", "*.wal"))
    new_run = Run("reader_1", "reader_check", datetime(2026, 11, 22, 9, tzinfo=UTC),
                  [Call(SONNET, uncached_input=1000, output=100)])
    write_traces(home / "traces" / "2026" / "11" / "22" / "reader.jsonl", [new_run])
    # and a BI tool (DuckDB 1.1.3, another process) holding the snapshot open read-only
    reader = subprocess.Popen(
        [str(old_duckdb), "-c", HELD_READER, str(home / "marts.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        before = ask(reader)
        assert before[2] == 0

        # when the nightly run for 2026-11-22 completes meanwhile
        with ExitStack() as stack:
            serve_demo_apis(stack, home)
            outcome = run_job(home, date(2026, 11, 22), date(2026, 11, 22))

        # then the run succeeded, the open reader still sees its consistent old snapshot …
        assert outcome.success, outcome.failures
        assert reader.poll() is None
        assert ask(reader) == before
    finally:
        reader.stdin.write("quit\n")
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0, reader.stderr.read()

    # … and a new connection sees the new run's data
    with duckdb.connect(str(home / "marts.duckdb"), read_only=True) as conn:
        after = list(conn.execute(
            "select (select dagster_run_id from snapshot_info), count(*), "
            "count(*) filter (where workflow = 'reader_check') from marts.fct_llm_calls"
        ).fetchone())
    assert after == [outcome.run_id, before[1] + 1, 1]

    # the run updated the previous snapshot from its window's first day (less the lookback) instead
    # of copying all history, and what it published is the warehouse's marts row for row, the same in
    # Parquet, in a file the older reader still opens
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster"))) as instance:
        metadata = instance.get_latest_materialization_event(SNAPSHOT_KEY).asset_materialization.metadata
    # (runs from the provider lookback on: their billed cost follows bills re-pulled over 7 days)
    assert metadata["refreshed_from"].value == "fct_llm_calls: 2026-11-19, fct_workflow_runs: 2026-11-15"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute(f"attach '{home / 'marts.duckdb'}' as published (read_only)")
        for mart in [key.split("/", 1)[1] for key in metadata if key.startswith("rows/")]:
            differing = conn.execute(
                f"select count(*) from ((select * from marts.{mart} except all select * from published.{mart}) "
                f"union all (select * from published.{mart} except all select * from marts.{mart}))"
            ).fetchone()[0]
            in_parquet = conn.execute(
                f"select count(*) from ((select * from marts.{mart} except all "
                f"select * from read_parquet('{parquet_glob(home / 'marts', mart)}')) union all "
                f"(select * from read_parquet('{parquet_glob(home / 'marts', mart)}') except all "
                f"select * from marts.{mart}))"
            ).fetchone()[0]
            assert (mart, differing, in_parquet) == (mart, 0, 0)
    completed = subprocess.run(
        [str(old_duckdb), "-c", OLD_READER, str(home / "marts.duckdb")],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["rows"]["fct_llm_calls"] == before[1] + 1


# --- a failed marts gate leaves the previous snapshot untouched ----------------------------------

GOOD_RUN = "('r1', 'seo_audit', date '2026-11-20', 'success', 1.5::decimal(38, 10), 2, 0, 0, 0::decimal(18, 4), true)"
BAD_RUN = "('r2', 'seo_audit', date '2026-11-20', 'maybe', -1::decimal(38, 10), 2, 1, 0, 0::decimal(18, 4), true)"


def publish_graph(rows: list[str]) -> list:
    """A mart written from `rows`, its real Pandera gate (blocking), and the real publish assets downstream."""
    key = dg.AssetKey(["marts", "fct_workflow_runs"])

    @dg.asset(key=key)
    def runs(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("create schema if not exists marts")
            conn.execute(
                "create or replace table marts.fct_workflow_runs as select * from (values "
                + ", ".join(rows)
                + ") as t(run_id, workflow, run_date, outcome, cost_usd, llm_calls, unpriced_calls, quarantined_spans,"
                " rework_minutes, fully_priced)"
            )

    gate = pandera_gate(asset_key=key, relation="marts.fct_workflow_runs", model=FctWorkflowRuns)
    return [runs, gate, *build_publish_assets([runs])]


def published_files(home: Path) -> dict[str, tuple[int, str]]:
    files = [home / "marts.duckdb", home / "report.html", *sorted((home / "marts").rglob("*.parquet"))]
    return {str(f.relative_to(home)): (f.stat().st_ino, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files}


def test_a_failed_marts_gate_leaves_the_previous_snapshot_untouched(tmp_path: Path) -> None:
    resources = {"duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))}
    with environment(AGENTLEDGER_HOME=str(tmp_path)), dg.DagsterInstance.ephemeral() as instance:
        # given a published snapshot of a good mart
        good = dg.materialize(publish_graph([GOOD_RUN]), resources=resources, instance=instance)
        assert good.success
        before = published_files(tmp_path)

        # when the next run writes a row the gate rejects
        bad = dg.materialize(
            publish_graph([GOOD_RUN, BAD_RUN]), resources=resources, instance=instance, raise_on_error=False
        )

    # then the gate failed, nothing was published, and every published file is the same file, byte for byte
    checks = {e.check_name: e.passed for e in bad.get_asset_check_evaluations()}
    assert checks == {"fct_workflow_runs_schema": False}
    materialized = {e.asset_key for e in bad.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey(["marts", "fct_workflow_runs"])}
    assert published_files(tmp_path) == before
    assert snapshot_tables(tmp_path / "marts.duckdb") == {"fct_workflow_runs": 1, "snapshot_info": 1}


def test_bi_snapshot_waits_for_every_mart_and_every_mart_gate_blocks() -> None:
    graph = defs.resolve_asset_graph()
    marts = {key for key in graph.get_all_asset_keys() if key.path[0] == "marts"}
    assert marts and set(graph.get(SNAPSHOT_KEY).parent_keys) == marts
    assert set(graph.get(REPORT_KEY).parent_keys) == {SNAPSHOT_KEY}
    gated = {spec.asset_key for gate in mart_gates for spec in gate.check_specs if spec.blocking}
    assert {spec.asset_key for gate in mart_gates for spec in gate.check_specs} == gated
    assert gated <= marts
