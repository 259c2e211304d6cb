"""One run of the real `nightly` job over a partition range, timed from Dagster's own event log.

Run as a child process (`python -m bench.job HOME FIRST LAST OUT.json`) so that every run starts
from a cold process, like the scheduler's, and so the parent can sample the whole process tree's
memory (this process, and the dbt it starts). The settings and resources are read at import time
from AGENTLEDGER_HOME, so one process serves one warehouse.

Writes to OUT.json: wall seconds, success, failures, per-step seconds (STEP_START → STEP_SUCCESS,
from the event log), each gate's own seconds (its check metadata), and dbt's per-node execution
times from its run_results.json.
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


def dbt_node_seconds(target: Path, since: float) -> dict[str, float]:
    """Execution seconds per dbt node of the newest run_results.json written after `since`."""
    candidates = [p for p in target.rglob("run_results.json") if p.stat().st_mtime >= since]
    if not candidates:
        return {}
    newest = max(candidates, key=lambda p: p.stat().st_mtime)
    results = json.loads(newest.read_text())["results"]
    return {r["unique_id"]: round(r["execution_time"], 3) for r in results}


def main(home: str, first: str, last: str, out: str) -> int:
    """Run the nightly job over `first..last` with the warehouse under `home`; write timings to `out`."""
    os.environ["AGENTLEDGER_HOME"] = home
    os.environ["DAGSTER_HOME"] = str(Path(home) / "dagster")
    os.environ.pop("AGENTLEDGER_DB", None)
    os.environ.pop("AGENTLEDGER_TRACES_DIR", None)
    os.environ.pop("AGENTLEDGER_LABELS_DIR", None)
    os.environ.setdefault("AGENTLEDGER_FOCUS_DIR", str(Path(home) / "billing"))

    from orchestration.dbt_state import warehouse_dbt_folder
    from orchestration.run_history import ensure_dagster_yaml
    from orchestration.runner import describe_failures, ensure_manifest, partition_tags
    from orchestration.settings import get_settings
    from orchestration.sources.registry import credential_settings

    # Sources whose credentials are unset are skipped (DESIGN §2). The benchmark measures traces and
    # labels, so no source may call a real API with a credential from the caller's environment; the
    # list comes from the registry, so a provider registered later is kept off too.
    for name in credential_settings():
        os.environ.pop(name, None)

    settings = get_settings()
    settings.export_for_dbt()
    ensure_dagster_yaml(Path(os.environ["DAGSTER_HOME"]))
    ensure_manifest()

    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly")
    started = time.time()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=partition_tags(date.fromisoformat(first), date.fromisoformat(last)),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        entries = instance.all_logs(result.run_id)
        steps = step_seconds(entries)
        gates = gate_seconds(entries)
    wall = time.time() - started
    report = {
        "first": first,
        "last": last,
        "wall_seconds": round(wall, 3),
        "success": result.success,
        "failures": describe_failures(result),
        "steps": steps,
        "gates": gates,
        "dbt_nodes": dbt_node_seconds(warehouse_dbt_folder(settings.db_path), started),
    }
    Path(out).write_text(json.dumps(report, indent=2))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
