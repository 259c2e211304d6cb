"""Run the nightly job for a day or a range, in this process, and say plainly what failed.

`agentledger run`, `backfill` and `demo` all come through here. A range is one Dagster run over
all its partitions (single-run backfill policy): a run costs tens of seconds of fixed start-up
here, so one run per day would multiply that by the number of days.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from orchestration.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG, check_partition_days
from orchestration.run_lock import run_lock
from orchestration.settings import PROJECT_ROOT, Settings

DBT_INPUTS = ("models", "macros", "seeds", "tests/dbt", "dbt_project.yml", "profiles.yml")


def manifest_is_stale(project_root: Path = PROJECT_ROOT) -> bool:
    """True when target/manifest.json is missing or older than any dbt input file."""
    manifest = project_root / "target" / "manifest.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in DBT_INPUTS:
        path = project_root / name
        paths = path.rglob("*") if path.is_dir() else [path]
        if any(p.is_file() and p.stat().st_mtime > built for p in paths):
            return True
    return False


def ensure_manifest(project_root: Path = PROJECT_ROOT) -> None:
    """Run `dbt parse` when the manifest is stale: Dagster builds its asset graph from it."""
    if not manifest_is_stale(project_root):
        return
    print("dbt parse (the dbt project changed since the last manifest) …", flush=True)
    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(project_root), "--profiles-dir", str(project_root), "--quiet"],
        cwd=project_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{completed.stdout}\n{completed.stderr}")


@dataclass
class RunOutcome:
    """What a run did: whether it succeeded, the failures and the warnings a person must act on.

    A warning is a check of warning severity that found rows: the run went on.

    `recompute` is the follow-up run over past days whose runs a label loaded by this run
    corrected (`orchestration.relabels`), when there were any.
    """

    success: bool
    run_id: str
    failures: list[str] = field(default_factory=list)
    recompute: RecomputeOutcome | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class RecomputeOutcome:
    """The follow-up run over stale days: which days, how many runs on each, and how it went."""

    days: list[tuple[date, int]]
    run: RunOutcome


def partition_tags(first: date, last: date) -> dict[str, str]:
    """Run tags selecting one partition or a range of them."""
    if first == last:
        return {PARTITION_TAG: first.isoformat()}
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def run_partitions(settings: Settings, first: date, last: date) -> RunOutcome:
    """Materialize the nightly job for partitions `first..last` as one in-process run.

    Then, if a run older than dbt's lookback is stale (a later label corrected it, or a late
    evaluation decides it: `orchestration.relabels`), recompute those days (the `recompute` job;
    under the Dagster daemon `relabeled_runs_sensor` does the same).
    Run history goes to `$AGENTLEDGER_HOME/dagster` (or DAGSTER_HOME), so `dagster dev` shows
    the runs made here.
    """
    if last < first:
        raise ValueError(f"--end {last} is before --start {first}")
    check_partition_days(first, last, settings.start_date)
    span = first.isoformat() if first == last else f"{first}..{last}"
    with run_lock(settings.db_path, f"the run of {span}"):
        return _run_partitions(settings, first, last)


def _run_partitions(settings: Settings, first: date, last: date) -> RunOutcome:
    """`run_partitions` once it holds the warehouse's run lock."""
    check_inputs_and_warehouse(settings)
    settings.export_for_dbt()
    # Dagster refuses a relative DAGSTER_HOME: resolve one against the working directory
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).expanduser().resolve()
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from orchestration.run_history import ensure_dagster_yaml  # imports Dagster: not at the CLI's start

    # a dagster.yaml (also spares every run Dagster's warning that there is none), see run_history.py
    try:
        ensure_dagster_yaml(dagster_home)
    except OSError as error:
        raise ValueError(
            f"the run history folder {dagster_home} cannot be written ({error.strerror}): set DAGSTER_HOME, or "
            "AGENTLEDGER_HOME, to a folder this user can write"
        ) from None
    ensure_manifest()
    _fail_abandoned_runs(settings.db_path)

    outcome = _execute("nightly", partition_tags(first, last), settings.db_path)
    if outcome.success:
        outcome.recompute = recompute_stale_days(settings, first, last)
    return outcome


def _fail_abandoned_runs(warehouse: Path) -> None:
    """Mark failed the earlier command-line runs on this warehouse that a kill left STARTED."""
    import dagster as dg

    from orchestration.abandoned_runs import fail_abandoned_runs

    with dg.DagsterInstance.get() as instance:
        abandoned = fail_abandoned_runs(instance, warehouse)
    if abandoned:
        print(f"marked failed {len(abandoned)} earlier run(s) a kill left running: {', '.join(abandoned)}", flush=True)


def check_inputs_and_warehouse(settings: Settings) -> None:
    """Stop before a run on what would fail it anyway, naming the setting (the CLI exits 2).

    Inside the run a missing folder fails its step only after Dagster's start-up, and a warehouse
    another process holds made every extract step retry its connection for ~100 s: 12 minutes to
    learn that a notebook had the file open.

    Raises:
        FileNotFoundError: the traces or labels folder does not exist.
        ValueError: the trace lookback reaches further back than dbt rebuilds.
        RuntimeError: the warehouse cannot be opened for writing (another process holds it, or
            its folder is read-only).
    """
    import duckdb

    from orchestration.sources.otel.assets import check_trace_lookback

    check_trace_lookback(settings.trace_lookback_days)
    inputs = (
        ("traces", settings.traces_dir, "AGENTLEDGER_TRACES_DIR"),
        ("labels", settings.labels_dir, "AGENTLEDGER_LABELS_DIR"),
    )
    for name, folder, setting in inputs:
        if not folder.is_dir():
            raise FileNotFoundError(f"{name} folder {folder} does not exist (set {setting} or AGENTLEDGER_HOME)")
    if not settings.db_path.parent.is_dir():
        return  # the run creates the warehouse's folder
    try:
        duckdb.connect(str(settings.db_path)).close()
    except duckdb.Error as error:
        # DuckDB's message names the file and, for a lock, the process that holds it
        raise RuntimeError(
            f"the warehouse cannot be opened for writing: {error}. Close the process that holds it (BI tools "
            f"read the published snapshot {settings.snapshot_path}, never the warehouse; a dbt process is the "
            "build of a run killed with SIGKILL, which ends by itself), or set AGENTLEDGER_DB to a file this "
            "user can write, and run again"
        ) from None


def recompute_stale_days(settings: Settings, first: date, last: date) -> RecomputeOutcome | None:
    """Run the `recompute` job over the days a late label or evaluation made stale; None when there are none.

    A warehouse that cannot be read for the check (another process holds it) is reported and
    skipped: the check looks back a week of nights more than the loads reach
    (`relabels.recheck_since`), so the next runs find the same days again.
    """
    import duckdb

    from orchestration.marts import DBT_LOOKBACK_DAYS
    from orchestration.relabels import night_stale_run_days
    from orchestration.schedules import recompute_tags

    try:
        stale = night_stale_run_days(settings, first, last, DBT_LOOKBACK_DAYS)
    except duckdb.Error as error:
        print(
            f"could not check for late labels or evaluations ({type(error).__name__}: the warehouse is held by another "
            "process?); the next run checks again",
            file=sys.stderr,
            flush=True,
        )
        return None
    if not stale:
        return None
    listed = ", ".join(f"{day} ({runs} run{'s' if runs != 1 else ''})" for day, runs in stale)
    tags = recompute_tags([day for day, _ in stale], first, last)
    print(
        f"late labels or evaluations for runs older than dbt's lookback: {listed}; recomputing "
        f"{tags[RANGE_START_TAG]}..{tags[RANGE_END_TAG]}",
        flush=True,
    )
    return RecomputeOutcome(days=stale, run=_execute("recompute", tags, settings.db_path))


def _execute(job_name: str, tags: dict[str, str], warehouse: Path) -> RunOutcome:
    import dagster as dg

    from orchestration.abandoned_runs import WAREHOUSE_TAG
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={**tags, WAREHOUSE_TAG: str(warehouse)},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    return RunOutcome(
        success=result.success, run_id=result.run_id, failures=describe_failures(result),
        warnings=describe_warnings(result),
    )


# A step stopped by Ctrl-C or SIGTERM: Dagster names only its own exception class.
INTERRUPTED = (
    "interrupted (Ctrl-C or a stop signal) before it finished; what it had loaded is replaced, not added "
    "to, when the same command runs again"
)


def describe_failures(result: object) -> list[str]:
    """Failed steps and failed checks of a run, each with its first lines of explanation."""
    failures: list[str] = []
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:  # the user's exception, not Dagster's wrapper
                error = error.cause
            message = error.message.strip().splitlines()[0] if error else "unknown error"
            if error is not None and error.cls_name == "DagsterExecutionInterruptedError":
                message = INTERRUPTED
            failures.append(f"step {event.step_key} failed: {message}")
        elif event.event_type_value == "RESOURCE_INIT_FAILURE":  # before any step: another run holds the lock
            error = event.event_specific_data.error
            message = error.message.strip().splitlines()[0] if error else "unknown error"
            failures.append(f"the run could not start: {message}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and not _is_warning(evaluation):
                detail = evaluation.description or ""
                failures.append(
                    f"gate {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
                    + (f"\n{detail}" if detail else "")
                )
    return failures


def describe_warnings(result: object) -> list[str]:
    """Checks of warning severity that found rows (dbt tests with `severity: warn`), with how many."""
    warnings: list[str] = []
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.event_specific_data
        if evaluation.passed or not _is_warning(evaluation):
            continue
        rows = evaluation.metadata.get("dagster_dbt/failed_row_count")
        found = f": {rows.value} row(s)" if rows is not None else ""
        warnings.append(f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} warns{found}")
    return warnings


def _is_warning(evaluation: object) -> bool:
    """Whether a check evaluation is of warning severity (Dagster's AssetCheckSeverity.WARN)."""
    return getattr(getattr(evaluation, "severity", None), "value", None) == "WARN"
