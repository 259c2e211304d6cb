"""Publish assets: `bi_snapshot` (marts.duckdb + Parquet, for BI tools) and `report` (report.html, for people).

`bi_snapshot` depends on every asset whose key starts with `marts/`, read from the asset graph
when the definitions load, so a mart added later is published without touching this file. The
marts' Pandera gates are blocking asset checks: when one fails, Dagster skips `bi_snapshot` and
the previous snapshot stays exactly as it was.
"""

from collections.abc import Sequence

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.marts import DAY_PARTITIONED_MARTS, snapshot_restatements, ungated_rows_check
from orchestration.partitions import run_window_days
from orchestration.report import write_report
from orchestration.resources import dbt_project
from orchestration.settings import get_settings
from orchestration.snapshot import Snapshot, mart_docs, relations_in_schema, write_snapshot
from orchestration.unpublished import clear_builds, refreshed_from, unpublished_window

MARTS_PREFIX = "marts"
PUBLISH_GROUP = "publish"
SNAPSHOT_KEY = dg.AssetKey("bi_snapshot")
REPORT_KEY = dg.AssetKey("report")
PREVIEW_ROWS = 5


def mart_asset_keys(assets: Sequence[dg.AssetsDefinition | dg.AssetSpec]) -> list[dg.AssetKey]:
    """Keys of every asset under `marts/`, in name order."""
    keys: set[dg.AssetKey] = set()
    for asset in assets:
        for key in asset.keys if isinstance(asset, dg.AssetsDefinition) else [asset.key]:
            if len(key.path) == 2 and key.path[0] == MARTS_PREFIX:
                keys.add(key)
    return sorted(keys, key=lambda key: key.to_user_string())


def _tables_markdown(snapshot: Snapshot) -> str:
    lines = ["| mart | rows | columns |", "|---|---:|---:|"]
    lines += [f"| `{table.name}` | {table.rows:,} | {table.columns} |" for table in snapshot.tables]
    return "\n".join(lines)


def _preview_markdown(snapshot: Snapshot) -> str:
    """The first rows of the headline mart (or the first mart), as a person would glance at them."""
    import duckdb

    names = [table.name for table in snapshot.tables]
    if not names:
        return "(no marts)"
    if "mart_unit_economics" in names:
        title = "cost per successful task by workflow, all time (`mart_unit_economics`, period = 'all')"
        sql = (
            "select workflow, runs, successful_runs, cost_per_successful_task_usd, true_cost_per_successful_task_usd "
            f"from mart_unit_economics where period = 'all' order by cost_per_successful_task_usd desc nulls last "
            f"limit {PREVIEW_ROWS * 2}"
        )
    else:
        title = f"first rows of `{names[0]}`"
        sql = f'select * from "{names[0]}" limit {PREVIEW_ROWS}'
    with duckdb.connect(str(snapshot.path), read_only=True) as conn:
        frame = conn.execute(sql).df()
    return f"{title}\n\n{frame.to_markdown(index=False, floatfmt=',.4f')}"


def build_publish_assets(upstream: Sequence[dg.AssetsDefinition | dg.AssetSpec]) -> list[dg.AssetsDefinition]:
    """`bi_snapshot` downstream of every mart in `upstream`, and `report` downstream of it."""
    mart_keys = mart_asset_keys(upstream)

    @dg.asset(
        key=SNAPSHOT_KEY,
        group_name=PUBLISH_GROUP,
        deps=mart_keys,
        kinds={"duckdb", "parquet"},
        description="Read-only copy of every mart for BI tools: $AGENTLEDGER_HOME/marts.duckdb (DuckDB 1.x storage, "
        "swapped in atomically, so open readers keep a consistent view) and marts/<mart>.parquet "
        "(marts/<fact>/YYYY-MM.parquet for the day-partitioned facts). A nightly run updates the previous "
        "snapshot from its window's first day on (or an earlier build's that no publish showed: a failed gate or "
        "publish) instead of copying all history. Runs only when every mart gate passed.",
    )
    def bi_snapshot(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
        """Copy every mart out of the warehouse into marts.duckdb and Parquet, atomically."""
        settings = get_settings()
        tables = [key.path[-1] for key in mart_keys]
        with duckdb.get_connection() as conn:
            present = set(relations_in_schema(conn, MARTS_PREFIX))
            missing = [table for table in tables if table not in present]
            if missing:
                raise RuntimeError(
                    f"marts in the asset graph but not in the warehouse: {', '.join(missing)} (build them first)"
                )
            unpublished = sorted(present - set(tables))
            if unpublished:
                context.log.warning(
                    f"not published (in schema marts but defined by no asset, e.g. left by a removed model): "
                    f"{', '.join(unpublished)}"
                )
            windowed = {table: spec for table, spec in DAY_PARTITIONED_MARTS.items() if table in tables}
            builds = unpublished_window(conn)  # this run's own build, and any an earlier run left unpublished
            snapshot = write_snapshot(
                conn,
                tables,
                settings.snapshot_path,
                settings.parquet_dir,
                docs=mart_docs(dbt_project.manifest_path),
                run_id=context.run.run_id,
                window=run_window_days(context.run.tags),
                windowed=windowed,
                restated_from=snapshot_restatements(conn, settings.snapshot_path, tables),
                unpublished_from=refreshed_from(builds, windowed),
                log=context.log.info,
                check_ungated=ungated_rows_check(conn),
            )
            clear_builds(conn)
        refreshed = [f"{t.name} from {t.refreshed_from}" for t in snapshot.tables if t.refreshed_from]
        context.log.info(
            f"published {len(snapshot.tables)} marts ({snapshot.total_rows:,} rows) to {snapshot.path} "
            f"and {snapshot.parquet_dir}; "
            + (f"kept the previous snapshot's rows except {', '.join(refreshed)}" if refreshed else "written whole")
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(snapshot.path)),
                "parquet_dir": dg.MetadataValue.path(str(snapshot.parquet_dir)),
                "storage_version": snapshot.storage_version,
                "marts": len(snapshot.tables),
                "dagster/row_count": snapshot.total_rows,
                "size_mb": round(snapshot.path.stat().st_size / 1e6, 2),
                "tables": dg.MetadataValue.md(_tables_markdown(snapshot)),
                "preview": dg.MetadataValue.md(_preview_markdown(snapshot)),
                **{f"rows/{table.name}": table.rows for table in snapshot.tables},
                "removed_parquet": ", ".join(snapshot.removed_parquet) or "none",
                "refreshed_from": ", ".join(
                    f"{t.name}: {t.refreshed_from}" for t in snapshot.tables if t.refreshed_from
                ) or f"none: written whole ({snapshot.rebuilt_because})",
                "parquet_files_written": sum(t.parquet_files_written for t in snapshot.tables),
                "not_published": ", ".join(unpublished) or "none",
            }
        )

    @dg.asset(
        key=REPORT_KEY,
        group_name=PUBLISH_GROUP,
        deps=[SNAPSHOT_KEY],
        kinds={"html", "plotly"},
        description="$AGENTLEDGER_HOME/report.html: one self-contained page of charts (CPST with its interval, ROI, "
        "cache savings, spend by model and category, reconciliation gaps, latest anomalies) read from the snapshot.",
    )
    def report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Render report.html from the snapshot BI tools see (not from the warehouse)."""
        settings = get_settings()
        summary = write_report(settings.snapshot_path, settings.report_path)
        unavailable = [f"{section.spec.title} ({section.reason})" for section in summary.unavailable]
        context.log.info(
            f"wrote {summary.path} with {len(summary.charts)} charts"
            + (f"; not available: {'; '.join(unavailable)}" if unavailable else "")
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(summary.path)),
                "size_mb": round(summary.bytes / 1e6, 2),
                "charts": len(summary.charts),
                "sections": dg.MetadataValue.md(
                    "\n".join(f"- **{s.spec.title}**: {s.status}" + (f" ({s.reason})" if s.reason else "")
                              for s in summary.sections)
                ),
            }
        )

    return [bi_snapshot, report]
