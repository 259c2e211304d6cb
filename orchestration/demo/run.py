"""`agentledger demo`: generate the demo data set, run the whole pipeline over it, print the headline."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.demo.economics import cache_savings_findings, routing_findings
from orchestration.demo.findings import findings_section
from orchestration.demo.reconciliation import reconciliation_section
from orchestration.run_history import DAGSTER_YAML_HEADER
from orchestration.settings import Settings

MARKER = ".agentledger-demo"
# Everything the demo writes into its home; `prepare_home` deletes these before each demo.
DEMO_OUTPUTS = (
    "traces", "labels", "billing", "demo-facts", "demo-manifest.json", "warehouse.duckdb", "warehouse.duckdb.wal",
    "marts", "marts.duckdb", "report.html", "dagster", "baselines.csv",
)
# Settings that can move a demo input or output out of its home, and where the demo needs them.
DEMO_LOCATIONS = {
    "AGENTLEDGER_DB": "warehouse.duckdb",
    "AGENTLEDGER_TRACES_DIR": "traces",
    "AGENTLEDGER_LABELS_DIR": "labels",
    "AGENTLEDGER_FOCUS_DIR": "billing",
    "AGENTLEDGER_BASELINES_FILE": "baselines.csv",
}
# The `Settings` field each of them sets.
_SETTINGS_FIELDS = {
    "AGENTLEDGER_DB": "db_path",
    "AGENTLEDGER_TRACES_DIR": "traces_dir",
    "AGENTLEDGER_LABELS_DIR": "labels_dir",
    "AGENTLEDGER_FOCUS_DIR": "focus_dir",
    "AGENTLEDGER_BASELINES_FILE": "baselines_file",
}


def check_demo_locations(settings: Settings) -> None:
    """Refuse to run the demo when a setting points one of its inputs or outputs outside its home.

    The demo deletes and rewrites what it writes, so with AGENTLEDGER_DB set to a real warehouse it
    would overwrite that warehouse, and with AGENTLEDGER_TRACES_DIR set it would mix real traces
    into the demo. It refuses rather than overriding the setting: whoever set it pointed at real
    data, and a demo that quietly ignored it would leave them unsure which warehouse they see.
    The paths are the ones the run uses (`settings`), resolved as the pipeline resolves them.
    """
    outside = [
        f"{name}={getattr(settings, _SETTINGS_FIELDS[name])} (the demo uses {settings.home / inside})"
        for name, inside in DEMO_LOCATIONS.items()
        if getattr(settings, _SETTINGS_FIELDS[name]) != settings.home / inside
    ]
    if outside:
        raise RuntimeError(
            "the demo runs entirely inside AGENTLEDGER_HOME, but "
            + "; ".join(outside)
            + ": unset them for the demo and run it again"
        )


def prepare_home(home: Path) -> None:
    """Make `home` a clean demo home, refusing to touch a folder that holds someone's real data."""
    home.mkdir(parents=True, exist_ok=True)
    marker = home / MARKER
    holds_data = any((home / name).exists() for name in DEMO_OUTPUTS if not _unused_dagster_home(home / name))
    if holds_data and not marker.exists():
        raise RuntimeError(
            f"{home} holds data that the demo did not create; point AGENTLEDGER_HOME at an empty folder "
            "(the demo deletes and rewrites its folder's demo data)"
        )
    for name in DEMO_OUTPUTS:
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    marker.write_text("This folder was written by `agentledger demo` and is rewritten by it.\n")


def _unused_dagster_home(path: Path) -> bool:
    """A `dagster` folder with no run history in it: empty, or holding only agentledger's `dagster.yaml`.

    `make test` creates the folder and `make dev` writes the file before any run, so a fresh clone
    where either ran first would otherwise refuse `make demo`, taking them for someone's data.
    """
    if path.name != "dagster" or not path.is_dir():
        return False
    entries = list(path.iterdir())
    config = path / "dagster.yaml"
    return entries == [] or (entries == [config] and config.read_text().startswith(DAGSTER_YAML_HEADER))


def _money(value: Decimal | None, places: int = 4) -> str:
    return "—" if value is None else f"${value:,.{places}f}"


def _rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def headline(db_path: Path) -> str:
    """The headline table: cost per successful task by workflow over the whole demo range."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        rows = conn.execute(
            """
            select
                workflow, runs, successful_runs, success_rate, cost_per_successful_task_usd,
                true_cost_per_successful_task_usd, median_run_cost_usd, median_run_cost_ci_low_usd,
                median_run_cost_ci_high_usd, unpriced_runs
            from marts.mart_unit_economics
            where period = 'all'
            order by cost_per_successful_task_usd desc nulls last
            """
        ).fetchall()
    header = ("workflow", "runs", "success", "CPST", "true CPST", "median run [95% CI]", "unpriced")
    table = [header]
    for workflow, runs, _, rate, cpst, true_cpst, median, low, high, unpriced in rows:
        interval = f"{_money(median)} [{_money(low)}, {_money(high)}]" if low is not None else _money(median)
        table.append(
            (workflow, f"{runs:,}", _rate(rate), _money(cpst), _money(true_cpst, 2), interval, str(unpriced or ""))
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for index, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def serve_demo_apis(stack: ExitStack, home: Path) -> None:
    """Serve the demo's provider and CRM APIs on 127.0.0.1 and point the real clients at them.

    The environment is restored when `stack` closes, so nothing of the demo leaks into later runs.
    An alert webhook set in the shell is hidden meanwhile: the demo's findings are made up, and must
    not reach a real team's channel.
    """
    from orchestration.alerts import WEBHOOK_ENV
    from orchestration.demo.apis import DEMO_APIS
    from orchestration.demo.server import FakeApiServer

    saved = dict(os.environ)
    stack.callback(lambda: (os.environ.clear(), os.environ.update(saved)))
    os.environ.pop(WEBHOOK_ENV, None)
    if not DEMO_APIS:
        return
    server = stack.enter_context(FakeApiServer())
    for api in DEMO_APIS:
        api.register(server, home)
        os.environ.update(api.environment(server.base_url))
    print(f"serving {', '.join(api.name for api in DEMO_APIS)} APIs at {server.base_url}", flush=True)


# Sections printed after the headline: each takes the warehouse path and returns text ("" to skip).
# An issue that adds a mart worth showing appends one function here.
DEMO_REPORT_SECTIONS: list[Callable[[Path], str]] = []
DEMO_REPORT_SECTIONS.append(cache_savings_findings)
DEMO_REPORT_SECTIONS.append(routing_findings)
DEMO_REPORT_SECTIONS.append(reconciliation_section)


def _roi_section(db_path: Path) -> str:
    from orchestration.demo.roi import roi_section

    return roi_section(db_path)


DEMO_REPORT_SECTIONS.append(_roi_section)
DEMO_REPORT_SECTIONS.append(findings_section)


def _published(db_path: Path) -> str:
    """Where the snapshot, the Parquet files and the report are (plotly is imported only here)."""
    from orchestration.report import published_summary

    return published_summary(db_path)


DEMO_REPORT_SECTIONS.append(_published)


def run_demo(settings: Settings, *, end_date: date, days: int = 90, seed: int = 7, scale: float = 1.0) -> int:
    """Generate `days` of demo data ending `end_date`, run the nightly job over them, print the results."""
    from orchestration.partitions import check_partition_days
    from orchestration.run_lock import run_lock

    first = end_date - timedelta(days=days - 1)
    check_partition_days(first, end_date, settings.start_date)  # before the demo folder is emptied
    check_demo_locations(settings)
    # the run lock before the folder is emptied: a run on its warehouse would lose its files
    # under it (`run_partitions` below takes the same lock again: this process holds it)
    with run_lock(settings.db_path, f"the demo of {first}..{end_date}"):
        return _run_demo(settings, first=first, end_date=end_date, days=days, seed=seed, scale=scale)


def _run_demo(settings: Settings, *, first: date, end_date: date, days: int, seed: int, scale: float) -> int:
    """`run_demo` once it holds the warehouse's run lock."""
    from orchestration.demo.billing import write_focus_exports
    from orchestration.demo.generate import generate_demo
    from orchestration.runner import run_partitions

    prepare_home(settings.home)
    print(f"agentledger demo: {days} days ({first}..{end_date}), seed {seed}, into {settings.home}", flush=True)
    started = time.monotonic()
    summary = generate_demo(settings.home, end_date=end_date, days=days, seed=seed, scale=scale)
    write_focus_exports(settings.home)  # Google's and DeepSeek's bills as FOCUS files
    print(
        f"generated {summary.runs:,} runs, {summary.spans:,} spans, {summary.labels:,} labels "
        f"in {summary.files:,} files ({time.monotonic() - started:.0f} s)",
        flush=True,
    )
    with ExitStack() as stack:
        serve_demo_apis(stack, settings.home)  # restores the whole environment when the stack closes
        # the run history stays in the demo's folder too, whatever DAGSTER_HOME names
        os.environ["DAGSTER_HOME"] = str(settings.dagster_home.resolve())
        print("running the nightly pipeline over the whole range as one run …", flush=True)
        started = time.monotonic()
        outcome = run_partitions(settings, first, end_date)
    if not outcome.success:
        print(f"the demo run failed ({outcome.run_id}):")
        for failure in outcome.failures:
            print(f"  - {failure}")
        return 1
    if outcome.recompute is not None and not outcome.recompute.run.success:
        days = ", ".join(day.isoformat() for day, _ in outcome.recompute.days)
        run_id = outcome.recompute.run.run_id
        print(f"the demo's recompute run for {days} (late labels or evaluations) failed ({run_id}):")
        for failure in outcome.recompute.run.failures:
            print(f"  - {failure}")
        return 1
    print(f"pipeline finished in {time.monotonic() - started:.0f} s (run {outcome.run_id})\n")
    print(f"Cost per successful task by workflow, {first}..{end_date} (rack rate, USD)\n")
    print(headline(settings.db_path))
    for section in DEMO_REPORT_SECTIONS:
        text = section(settings.db_path)
        if text:
            print("\n" + text)
    print(
        f"\nwarehouse: {settings.db_path}\n"
        "explore:   make dev  (Dagster UI: asset graph, checks, runs)  ·  "
        f"duckdb -readonly {settings.db_path}  (only while no run is going: an open reader locks runs out)"
    )
    return 0
