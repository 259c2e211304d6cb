"""One night as `agentledger run` makes it, over a partition range, timed from Dagster's own event log.

Run as a child process (`python -m bench.job HOME FIRST LAST OUT.json`) so that every run starts
from a cold process, like the scheduler's, and so the parent can sample the whole process tree's
memory (this process, and the dbt it starts). The settings and resources are read at import time
from AGENTLEDGER_HOME, so one process serves one warehouse.

The night is `orchestration.runner.run_partitions`, what the CLI runs: the `nightly` job, then the
check for runs a late label or evaluation made stale and, when there are any, the `recompute` job
over their days. Its wall time is the night's figure.

Writes to OUT.json: wall seconds of the whole night, the nightly job's own seconds, the recompute's
days and seconds, the stale check's seconds (timed again after the night: run_partitions does not
report it), success, failures, per-step seconds of the nightly job (STEP_START → STEP_SUCCESS),
each gate's own seconds and step (its check metadata), the steps whose source was skipped (no
credentials), and dbt's per-node execution times from the nightly job's run_results.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date
from pathlib import Path


def step_seconds(entries: list) -> dict[str, float]:
    """Seconds per step key, from STEP_START to STEP_SUCCESS/STEP_FAILURE in the run's event log."""
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
            seconds[event.step_key] = round(entry.timestamp - started[event.step_key], 3)
    return seconds


def run_seconds(entries: list) -> float:
    """Seconds from a run's first event to its last."""
    stamps = [entry.timestamp for entry in entries]
    return round(max(stamps) - min(stamps), 3) if stamps else 0.0


def gate_steps(entries: list) -> dict[str, str]:
    """The step each gate ran in, by `<asset>:<check>`: a raw table's gate runs in its loader's step."""
    steps: dict[str, str] = {}
    for entry in entries:
        event = entry.dagster_event
        if event is None or event.event_type_value != "ASSET_CHECK_EVALUATION" or not event.step_key:
            continue
        evaluation = event.event_specific_data
        if "gate_seconds" in evaluation.metadata:  # a Pandera gate, not one of dbt's tests
            steps[f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"] = event.step_key
    return steps


def skipped_steps(entries: list) -> list[str]:
    """Steps that materialized an asset as skipped (a source without credentials loads nothing)."""
    skipped = set()
    for entry in entries:
        event = entry.dagster_event
        if event is None or event.event_type_value != "ASSET_MATERIALIZATION" or not event.step_key:
            continue
        if "skipped" in event.event_specific_data.materialization.metadata:
            skipped.add(event.step_key)
    return sorted(skipped)


def gate_seconds(entries: list) -> dict[str, float]:
    """`gate_seconds` of every Pandera gate evaluated in the run, by `<asset>:<check>`.

    A raw table's gate runs inside its loader's step, so the step times cannot show it: the gate
    records its own time in the check's metadata.
    """
    seconds: dict[str, float] = {}
    for entry in entries:
        event = entry.dagster_event
        if event is None or event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.event_specific_data
        value = evaluation.metadata.get("gate_seconds")
        if value is not None:
            seconds[f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"] = float(value.value)
    return seconds


def dbt_node_seconds(target: Path, since: float, until: float) -> dict[str, float]:
    """Execution seconds per dbt node of the newest run_results.json written between `since` and `until`."""
    candidates = [p for p in target.rglob("run_results.json") if since <= p.stat().st_mtime <= until]
    if not candidates:
        return {}
    newest = max(candidates, key=lambda p: p.stat().st_mtime)
    results = json.loads(newest.read_text())["results"]
    return {r["unique_id"]: round(r["execution_time"], 3) for r in results}


def main(home: str, first: str, last: str, out: str) -> int:
    """Run the night over `first..last` with the warehouse under `home`; write timings to `out`."""
    # Only what the benchmark sets: a setting in the caller's shell (a lookback, a memory limit, kept
    # content, other input folders) would change the work measured without the report saying so.
    for name in [name for name in os.environ if name.startswith("AGENTLEDGER_")]:
        del os.environ[name]
    os.environ["AGENTLEDGER_HOME"] = home
    os.environ["DAGSTER_HOME"] = str(Path(home) / "dagster")
    os.environ["AGENTLEDGER_FOCUS_DIR"] = str(Path(home) / "billing")

    from orchestration.dbt_state import warehouse_dbt_folder
    from orchestration.marts import DBT_LOOKBACK_DAYS
    from orchestration.relabels import night_stale_run_days
    from orchestration.runner import run_partitions
    from orchestration.settings import get_settings
    from orchestration.sources.registry import credential_settings

    # Sources whose credentials are unset are skipped (DESIGN §2). The benchmark measures traces and
    # labels, so no source may call a real API with a credential from the caller's environment; the
    # list comes from the registry, so a provider registered later is kept off too.
    for name in credential_settings():
        os.environ.pop(name, None)

    settings = get_settings()
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)

    import dagster as dg

    started = time.time()
    outcome = run_partitions(settings, date.fromisoformat(first), date.fromisoformat(last))
    wall = time.time() - started
    recompute = outcome.recompute
    with dg.DagsterInstance.get() as instance:
        entries = instance.all_logs(outcome.run_id)
        recompute_entries = instance.all_logs(recompute.run.run_id) if recompute else []
    job_ended = max(entry.timestamp for entry in entries)
    # the check again, as the night ran it
    checked = time.time()
    night_stale_run_days(settings, date.fromisoformat(first), date.fromisoformat(last), DBT_LOOKBACK_DAYS)
    stale_check = time.time() - checked
    failures = outcome.failures + (recompute.run.failures if recompute else [])
    report = {
        "first": first,
        "last": last,
        "wall_seconds": round(wall, 3),
        "job_seconds": run_seconds(entries),
        "recompute": {
            "days": [[day.isoformat(), runs] for day, runs in recompute.days],
            "seconds": run_seconds(recompute_entries),
        } if recompute else None,
        "stale_check_seconds": round(stale_check, 3),
        "duckdb_memory_limit": settings.duckdb_memory_limit,
        "success": outcome.success and (recompute is None or recompute.run.success),
        "failures": failures,
        "steps": step_seconds(entries),
        "gates": gate_seconds(entries),
        "gate_steps": gate_steps(entries),
        "skipped_steps": skipped_steps(entries),
        "dbt_nodes": dbt_node_seconds(warehouse_dbt_folder(settings.db_path), started, job_ended + 1),
    }
    Path(out).write_text(json.dumps(report, indent=2))
    return 0 if report["success"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
