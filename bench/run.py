"""The scale benchmark: one run on the same files, figures and ratios written to a Markdown table.

    python -m bench.run                 # the issue's default: 10M spans over 90 days, 50 workflows
    python -m bench.run --small         # `make bench-small`: every phase at a small scale, under 3 minutes here

What it measures (issue 7):

1. **Ingest vs a bare scan**: the bare DuckDB scans of `bench/scan.py` over the trace files of the
   main workload, then the real ingest of the same files (the `otel_traces` raw-load step of the
   backfill run, from Dagster's event log, plus dbt's execution time of the trace source's staging
   models (`stg_otel__span_lineage` and `stg_otel__spans`; `stg_otel__span_fields` is a view) in the
   same run). The acceptance ratio is against the issue's reference scan, run once before and
   once after the backfill: its seconds drift by up to ±15% between runs on this machine, and the
   mean of the two brackets the drift across the ingest (both are listed, each with its ratio).
   The bare load of the raw table's fields (`raw_floor` in `bench/scan.py`) shows the part of the
   ratio that parsing and writing what the raw table keeps costs by itself.
2. **Full backfill**: the `nightly` job over the main workload's whole range as ONE run (the
   single-run backfill policy), in a child process; peak RSS is the whole process tree's (the
   Dagster process and the dbt it starts), sampled every 0.2 s.
3. **Nightly after 30 vs 360 days of history**: one workload of 361 days (at a tenth of the main
   workload's density: `history_scale`); a second one links its last 31 days (the same files).
   Each is backfilled up to the day before the last, and the warehouse and snapshot are kept
   aside. Then the last day runs as a whole night (`bench/job.py`: the nightly job, the stale-run
   check, the recompute job when a late label calls for one), three times, the two histories
   interleaved, each time on the kept warehouse copied back, so every night is a first night. The
   median of each is the figure; all are listed. (The small profile: 41 days, the night once, the
   two histories side by side.)
4. **Gate share**: a raw table's Pandera gate runs at the end of its loader's step and records its
   own seconds in the check's metadata: its time over the rest of that step. The marts' gates are
   Dagster steps of their own: their step times over the dbt step. From the runs' event logs. Every
   gated stage is listed; the acceptance figure is the worst stage that loaded data (the sources
   without credentials in the benchmark load nothing, in stages of hundredths of a second).

Workloads live under `--root` (default `$AGENTLEDGER_BENCH_DIR`, else `<temp dir>/agentledger-bench-<clone>`,
one folder per clone; never in the repository) and are reused when their arguments and the
generator's code (a digest of `bench/workload.py` and the modules of `orchestration/demo/` it
imports) match. Each phase records the machine, the date and the commit it ran on (with a mark
when the tree had uncommitted changes); a report whose phases ran apart says so in its heading.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import duckdb
import psutil

from bench.scan import run_scan
from bench.workload import DEFAULT_ROOT, generate_workload, link_days
from orchestration.marts import DBT_LOOKBACK_DAYS
from orchestration.relabels import night_stale_run_days
from orchestration.settings import Settings

REPO = Path(__file__).resolve().parent.parent
END_DATE = date(2026, 11, 21)
DBT_STEP = "dbt_models"
TRACE_STEP = "otel_traces"
# the trace source's staging models: what turns raw spans into the spans every later model reads
STAGING_NODES = (
    "model.agentledger.stg_otel__span_fields",
    "model.agentledger.stg_otel__span_lineage",
    "model.agentledger.stg_otel__spans",
)
GIB = 1024**3


@dataclass(frozen=True)
class Profile:
    """The sizes of one benchmark run."""

    name: str
    scale: float  # main workload, 1.0 = 10M spans over 90 days
    days: int
    history_scale: float  # the nightly comparison's workloads (same density for 30 and 360 days)
    history_days: int = 360
    nightly_repeats: int = 2
    main_is_history: bool = False  # small: the 360-day history workload is also the backfill workload
    side_by_side: bool = False  # small: the two histories' backfills, then the two nightly runs, run at once


PROFILES = {
    "default": Profile("default", scale=1.0, days=90, history_scale=0.1, nightly_repeats=3),
    "small": Profile(
        "small", scale=0.002, days=40, history_scale=0.002, history_days=40, nightly_repeats=1, main_is_history=True,
        side_by_side=True,
    ),
}


# --------------------------------------------------------------------------------------------- workloads


GENERATOR_IMPORTS = (
    "import json, sys, bench.workload; "
    "print(json.dumps(sorted(m.__file__ for n, m in sys.modules.items() "
    "if (n == 'bench.workload' or n.startswith('orchestration.demo')) and getattr(m, '__file__', None))))"
)


def generator_sources() -> list[Path]:
    """The files of the code that writes a workload: `bench/workload.py` and what it imports from the demo.

    Read from a fresh interpreter, so only that import closure counts: the demo's runner and fake
    APIs write no workload file, and a change to them regenerated every workload (~2 min) and threw
    away the backfilled history warehouses.
    """
    found = subprocess.run(
        [sys.executable, "-c", GENERATOR_IMPORTS], cwd=REPO, capture_output=True, text=True, check=True
    )
    return [Path(path) for path in json.loads(found.stdout)]


def generator_digest() -> str:
    """A digest of the generator's code: a workload written by other code is generated again."""
    digest = hashlib.sha256()
    for source in generator_sources():
        digest.update(source.relative_to(REPO).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def ensure_workload(folder: Path, *, days: int, scale: float) -> dict:
    """Generate `days` days ending END_DATE at `scale` under `folder/home`, unless already there."""
    stamp = folder / "workload.json"
    arguments = {
        "days": days,
        "scale": scale,
        "end_date": END_DATE.isoformat(),
        "workflows": 50,
        "generator": generator_digest(),
    }
    if stamp.exists():
        recorded = json.loads(stamp.read_text())
        if recorded.get("arguments") == arguments:
            return recorded
    if folder.exists():
        shutil.rmtree(folder)
    print(f"generating {days} days at scale {scale} into {folder} …", flush=True)
    summary = generate_workload(folder / "home", end_date=END_DATE, days=days, scale=scale)
    recorded = {
        "arguments": arguments,
        "spans": summary.spans,
        "runs": summary.runs,
        "labels": summary.labels,
        "workflows": len(summary.runs_by_workflow),
        "bytes": summary.bytes_written,
        "seconds": round(summary.seconds, 1),
    }
    stamp.write_text(json.dumps(recorded, indent=2))
    return recorded


def linked_history(source: Path, target: Path, days: int) -> None:
    """`target/home` holds the last `days + 1` days of `source/home` as links to the same files."""
    if target.exists():
        shutil.rmtree(target)
    (target / "home").mkdir(parents=True)
    link_days(source / "home", target / "home", END_DATE - timedelta(days=days), END_DATE)


def fresh_warehouse(home: Path) -> None:
    """Remove what a previous benchmark run left in `home` (warehouse, run history, snapshot)."""
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "marts.duckdb", "dagster", "marts", "report.html"):
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def trace_files(home: Path) -> list[Path]:
    """Every trace and log file of a workload, in the order the loader finds them."""
    return sorted(p for p in (home / "traces").rglob("*") if p.is_file() and ".json" in p.name)


# --------------------------------------------------------------------------------------------- runs


class PeakRss:
    """Samples the RSS of a process and all its descendants; keeps the peak of their sum."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)


def run_job(home: Path, first: date, last: date, label: str) -> dict:
    """Run the nightly job over `first..last` in a child process; timings, peak RSS, success."""
    out = home.parent / f"job-{label}.json"
    out.unlink(missing_ok=True)
    print(f"  {label}: nightly job over {first}..{last} …", flush=True)
    started = time.perf_counter()
    log = (home.parent / f"job-{label}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.job", str(home), first.isoformat(), last.isoformat(), str(out)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    with PeakRss(process.pid) as rss:
        process.wait()
    log.close()
    seconds = time.perf_counter() - started
    if not out.exists():
        raise RuntimeError(f"{label}: the job process failed before reporting; see {log.name}")
    report = json.loads(out.read_text())
    report["process_seconds"] = round(seconds, 3)
    report["peak_rss_bytes"] = rss.peak
    if not report["success"]:
        raise RuntimeError(f"{label}: the nightly job failed: {report['failures']}; see {log.name}")
    print(f"    {seconds:.1f} s, peak RSS {rss.peak / GIB:.2f} GiB", flush=True)
    return report


def gate_shares(report: dict) -> list[dict]:
    """Every gated stage: its own seconds, its gates' seconds, their share, and whether it loaded data.

    A raw table's gate runs inside its loader's step and records its own time and step (`gates`,
    `gate_steps`, from the check metadata): the stage is the step without its gates. The marts'
    gates are steps of their own after the dbt step (`marts__…_schema`): their step times, Dagster's
    per-step cost included, over the dbt step. A stage whose source was skipped (no credentials in
    the benchmark: `skipped_steps`) loaded nothing: it is listed, marked, and left out of the worst.
    """
    steps = report["steps"]
    in_step, where = report.get("gates", {}), report.get("gate_steps", {})
    skipped = set(report.get("skipped_steps", []))
    stages: dict[str, dict] = {}
    for gate, seconds in in_step.items():
        step = where.get(gate)
        if step is None or step not in steps or gate.startswith("marts/"):
            continue
        stage = stages.setdefault(step, {"stage": step, "step_seconds": steps[step], "gate_seconds": 0.0})
        stage["gate_seconds"] += seconds
    mart_gates = sum(v for k, v in steps.items() if k.startswith("marts__") and k.endswith("_schema"))
    if DBT_STEP in steps and mart_gates:
        stages[DBT_STEP] = {"stage": f"{DBT_STEP} ← marts gates", "step_seconds": steps[DBT_STEP] + mart_gates,
                            "gate_seconds": mart_gates}
    shares = []
    for step, stage in stages.items():
        seconds = stage["step_seconds"] - stage["gate_seconds"]
        shares.append({
            "stage": stage["stage"], "stage_seconds": seconds, "gate_seconds": stage["gate_seconds"],
            "share": stage["gate_seconds"] / seconds if seconds > 0 else None, "loaded": step not in skipped,
        })
    return sorted(shares, key=lambda s: (not s["loaded"], -s["stage_seconds"]))


def dbt_kind_seconds(report: dict) -> dict[str, float]:
    """dbt execution seconds by node kind (model, test, unit_test, seed)."""
    totals: dict[str, float] = {}
    for node, seconds in report["dbt_nodes"].items():
        kind = node.split(".")[0]
        totals[kind] = round(totals.get(kind, 0.0) + seconds, 3)
    return totals


# --------------------------------------------------------------------------------------------- report


def commit() -> str:
    """The commit the benchmark runs on, marked when the tree has uncommitted changes."""
    def git(*args: str) -> str:
        found = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return found.stdout.strip() if found.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head} with uncommitted changes" if dirty else head


def machine() -> dict[str, str]:
    """What the figures were measured on, when, and on which commit."""
    memory = psutil.virtual_memory().total
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": f"{platform.system()} {platform.release()}, {cpu}",
        "cpus": str(os.cpu_count()),
        "ram": f"{memory / GIB:.1f} GiB",
        "versions": ", ".join(
            [f"python {platform.python_version()}"]
            + [f"{p} {version(p)}" for p in ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "pandera", "polars")]
        ),
    }


def _verdict(ok: bool, profile: Profile) -> str:
    """pass/FAIL against the issue's line; at the small scale only within/over (fixed costs, not a measurement)."""
    if profile.name == "small":
        return "within" if ok else "over"
    return "**pass**" if ok else "**FAIL**"


def reference_scan_runs(scans: dict) -> list[dict]:
    """The reference scan's runs, before and after the backfill (figures.json of older runs: before only)."""
    return [scans[key] for key in ("reference", "reference_after") if key in scans]


def raw_floor_rows(scans: dict, ingest: dict) -> list[str]:
    """The bare load's row of the scans table (figures.json of older runs have none)."""
    if "raw_floor" not in scans:
        return []
    floor = scans["raw_floor"]
    return [
        "| bare load of every field `raw.otel_spans` keeps, parsed and written as the loader does (content "
        "stripped), nothing else: no validation, line numbers, duplicates, quarantine or staging | "
        f"{floor['seconds']:.2f} | {floor['spans']:,} | {ingest['seconds'] / floor['seconds']:.2f}× |"
    ]


def raw_floor_summary(scans: dict, ingest: dict, reference_seconds: float) -> list[str]:
    """What the bare load says about the 1.5× line: how much of the reference scan it leaves for the rest."""
    if "raw_floor" not in scans:
        return []
    floor = scans["raw_floor"]["seconds"]
    return [
        "",
        f"The bare load alone takes **{floor / reference_seconds:.2f}×** the reference scan: parsing every "
        "span field the raw table keeps and writing them costs that much before any check. The loader "
        f"takes {ingest['raw_load_seconds'] / floor:.2f}× the bare load (its validation, line numbers, "
        "duplicate marking, evaluation records, quarantine and idempotent write), staging adds "
        f"{ingest['staging_seconds'] / reference_seconds:.2f}× the reference scan (the walk of every trace "
        "and the staged table's write).",
    ]


def provenance_lines(figures: dict) -> list[str]:
    """Where and on which commit each phase ran; a report whose phases ran apart says so."""
    phases = figures.get("provenance", {})
    if not phases:
        return ["- phases: not recorded (figures of an older run)", ""]
    runs = {(p.get("date"), p.get("commit"), p.get("machine")) for p in phases.values()}
    lines = [
        f"- {name} phase: benchmark started {p.get('date')} on commit {p.get('commit', 'not recorded')}"
        for name, p in sorted(phases.items())
    ]
    if len(runs) > 1 or any(p.get("date") == "not recorded" for p in phases.values()):
        lines.insert(0, "- **the phases ran apart** (`--phases`): their figures are of different runs")
    return [*lines, ""]


def write_results(path: Path, profile: Profile, figures: dict) -> None:
    """The Markdown report: machine, workloads, figures, ratios and the acceptance lines."""
    m = figures["machine"]
    main = figures["main_workload"]
    scan_fast = figures["scan"]["fastest"]
    reference_scans = reference_scan_runs(figures["scan"])
    reference_seconds = sum(scan["seconds"] for scan in reference_scans) / len(reference_scans)
    reference_label = "mean of before and after the backfill" if len(reference_scans) == 2 else "one run"
    ingest = figures["ingest"]
    backfill = figures["backfill"]
    n30, n360 = figures["nightly"]["30"], figures["nightly"]["360"]
    ratio_ref = ingest["seconds"] / reference_seconds
    ratio_fast = ingest["seconds"] / scan_fast["seconds"]
    nightly_ratio = n360["median_seconds"] / n30["median_seconds"]
    history = figures["history_workload"]
    history_density = history["spans"] / history["arguments"]["days"]
    rss_gib = backfill["peak_rss_bytes"] / GIB
    def worst(runs: tuple[str, ...]) -> float:
        return max(
            s["share"] for run in runs for s in figures["gates"][run] if s["share"] is not None and s["loaded"]
        )

    worst_backfill, worst_nightly = worst(("backfill",)), worst(("nightly_30", "nightly_360"))
    stage_seconds = [
        s["stage_seconds"] for run in ("nightly_30", "nightly_360") for s in figures["gates"][run] if s["loaded"]
    ]
    nightly_stages = f"{min(stage_seconds):.2f}–{max(stage_seconds):.1f} s" if stage_seconds else "none"
    lines = [
        f"# Scale benchmark ({profile.name})",
        "",
        f"Written by `python -m bench.run{' --small' if profile.name == 'small' else ''}` "
        f"(`make bench{'-small' if profile.name == 'small' else ''}`) on {m['date']}.",
        "",
        *provenance_lines(figures),
        f"- machine: {m['machine']}; {m['cpus']} CPUs; {m['ram']} RAM",
        f"- versions: {m['versions']}",
        f"- main workload: {main['spans']:,} spans, {main['runs']:,} runs, {main['labels']:,} labels, "
        f"{main['workflows']} workflows, {main['arguments']['days']} days ending {main['arguments']['end_date']}, "
        f"scale {main['arguments']['scale']} (1.0 = 10M spans / 90 days), "
        f"{main['bytes'] / 1e9:.2f} GB of OTLP/JSON + labels, generated in {main['seconds']} s",
        f"- history workloads: {figures['history_workload']['spans']:,} spans over "
        f"{profile.history_days + 1} days at scale {profile.history_scale}; the 30-day one links the last "
        "31 days of the same files, so the nightly day is byte-identical in both",
        "",
        *(
            [
                "## The acceptance lines at this scale",
                "",
                "A smoke test of every phase: at this size the times are Dagster's and dbt's fixed costs, so the "
                "lines are shown as within or over, not passed or failed. `make bench` measures them.",
            ]
            if profile.name == "small"
            else ["## Acceptance"]
        ),
        "",
        "| line | measured | target | result |",
        "|---|---|---|---|",
        f"| trace ingest vs bare DuckDB scan (issue's reference scan, {reference_label}) | "
        f"{ingest['seconds']:.1f} s / {reference_seconds:.1f} s = **{ratio_ref:.2f}×** | ≤ 1.5× | "
        f"{_verdict(ratio_ref <= 1.5, profile)} |",
        f"| full backfill peak RSS (process tree) | **{rss_gib:.2f} GiB** in {backfill['wall_seconds']:.0f} s "
        f"| ≤ 6 GB | {_verdict(backfill['peak_rss_bytes'] <= 6e9, profile)} |",
        f"| whole night (job, stale-run check, recompute) after {profile.history_days} days vs after 30 days of "
        f"history ({history_density:,.0f} spans a day, scale {profile.history_scale}), median of "
        f"{len(n30['all_seconds'])} | {n360['median_seconds']:.1f} s / "
        f"{n30['median_seconds']:.1f} s = **{nightly_ratio:.2f}×** | ≤ 1.25× | "
        f"{_verdict(nightly_ratio <= 1.25, profile)} |",
        f"| gate time as share of the stage it gates, worst stage that loaded data, full backfill | "
        f"**{worst_backfill:.1%}** | ≤ 15% | {_verdict(worst_backfill <= 0.15, profile)} |",
        f"| the same, worst stage that loaded data, one-day nightly runs (stages of {nightly_stages}) | "
        f"**{worst_nightly:.1%}** | ≤ 15% | {_verdict(worst_nightly <= 0.15, profile)} |",
        "",
        "## Ingest vs bare scans (same files, same run)",
        "",
        "| what | seconds | spans | ratio of ingest to it |",
        "|---|---|---|---|",
        *[
            f"| {what} | {scan['seconds']:.2f} | {scan['spans']:,} | {ingest['seconds'] / scan['seconds']:.2f}× |"
            for what, scan in zip(
                (
                    "bare scan, issue's reference (read_ndjson_objects + json_extract + json_transform), "
                    "before the backfill",
                    "the same, after the backfill",
                ),
                reference_scans,
                strict=False,
            )
        ],
        *(
            [f"| their mean (the acceptance figure) | {reference_seconds:.2f} | | {ratio_ref:.2f}× |"]
            if len(reference_scans) == 2
            else []
        ),
        f"| bare scan, fastest here (lines as text + one json_transform to a narrow STRUCT) | "
        f"{scan_fast['seconds']:.2f} | {scan_fast['spans']:,} | {ratio_fast:.2f}× |",
        *raw_floor_rows(figures["scan"], ingest),
        f"| ingest = raw load (`otel_traces` step) + staging (`stg_otel__span_lineage` + `stg_otel__spans` in dbt) | "
        f"{ingest['seconds']:.2f} = {ingest['raw_load_seconds']:.2f} + {ingest['staging_seconds']:.2f} | "
        f"{ingest['loaded_spans']:,} staged | 1.00× |",
        *raw_floor_summary(figures["scan"], ingest, reference_seconds),
        "",
        "## Full backfill (one Dagster run over the whole range)",
        "",
        f"- wall {backfill['wall_seconds']:.1f} s in the job, {backfill['process_seconds']:.1f} s with process "
        f"start-up; peak RSS {rss_gib:.2f} GiB (Dagster process + dbt)",
        "- steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(backfill["steps"].items(),
                                                                        key=lambda kv: -kv[1])[:6]),
        "- dbt execution by kind (s): " + ", ".join(f"{k} {v:.1f}" for k, v in dbt_kind_seconds(backfill).items()),
        "",
        "## The night of one day",
        "",
        "Each night starts from the backfilled warehouse; the median night's parts (s).",
        "",
        "| history | nights (s) | median (s) | nightly job | stale-run check | recompute (days) "
        "| dbt step | dbt models / data tests | trace load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, night in (("30 days", n30), (f"{profile.history_days} days", n360)):
        median = night["median"]
        kinds = dbt_kind_seconds(median)
        recompute = median.get("recompute")
        recomputed = (
            f"{recompute['seconds']:.1f} ({recompute['days'][0][0]}..{recompute['days'][-1][0]}, "
            f"{sum(runs for _, runs in recompute['days'])} stale runs)" if recompute else "none"
        )
        lines.append(
            f"| {label} | {', '.join(f'{s:.1f}' for s in night['all_seconds'])} | {night['median_seconds']:.1f} | "
            f"{median.get('job_seconds', 0):.1f} | {median.get('stale_check_seconds', 0):.2f} | {recomputed} | "
            f"{median['steps'].get(DBT_STEP, 0):.1f} | {kinds.get('model', 0):.1f} / {kinds.get('test', 0):.1f} | "
            f"{median['steps'].get(TRACE_STEP, 0):.1f} |"
        )
    if figures.get("stale_check_main_scoped"):
        lines += [
            "",
            "The stale-run check (`orchestration/relabels.py`) compares the stored verdicts of the runs that the "
            "labels and evaluations of the last two weeks name, started before the days the night's build rebuilt, "
            "with their newest label and latest evaluation, matched over those runs' days of spans only "
            "(`int_trace_runs` finds them). On the main workload's warehouse after its backfill "
            f"({main['spans']:,} spans over {main['arguments']['days']} days), as the next night runs it, warm, "
            f"it took **{figures['stale_check_main_seconds']:.2f} s**.",
        ]
    top360 = sorted(
        ((k, v) for k, v in n360["median"]["dbt_nodes"].items() if not k.startswith("unit_test")),
        key=lambda kv: -kv[1],
    )[:8]
    lines += [
        "",
        f"Slowest dbt nodes of the median night's nightly job after {profile.history_days} days (s): "
        + ", ".join(f"{k.split('.', 2)[-1]} {v:.2f}" for k, v in top360),
        "",
        "## Gates (Pandera, blocking asset checks; every row of the run's window)",
        "",
        "Every gated stage of the runs; a stage marked skipped is a source without credentials here, which "
        "loads nothing.",
        "",
        "| run | stage (step) | stage (s) | gates (s) | share |",
        "|---|---|---|---|---|",
    ]
    for run in ("backfill", "nightly_30", "nightly_360"):
        for s in figures["gates"][run]:
            share = "—" if s["share"] is None else f"{s['share']:.1%}"
            stage = s["stage"] if s["loaded"] else f"{s['stage']} (skipped)"
            lines.append(f"| {run} | {stage} | {s['stage_seconds']:.2f} | {s['gate_seconds']:.3f} | {share} |")
    lines += ["", *dict.fromkeys(figures.get("notes", []))]
    path.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------- main


def report_only(root: Path, out: Path, profile: Profile) -> None:
    """Write the report again from the last figures.json (`--report-only`)."""
    figures = json.loads((root / "figures.json").read_text())
    if any("median" not in figures["nightly"][label] for label in ("30", "360")):
        raise SystemExit(
            f"{root / 'figures.json'} holds nights measured the old way (the nightly job alone, best of three): "
            "run the nightly phase again (`--phases nightly`) before writing a report from it"
        )
    figures["gates"] = {
        "backfill": gate_shares(figures["backfill"]),
        "nightly_30": gate_shares(figures["nightly"]["30"]["median"]),
        "nightly_360": gate_shares(figures["nightly"]["360"]["median"]),
    }
    write_results(out, profile, figures)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for a profile and write its Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the bench-small profile (under 3 minutes here)")
    parser.add_argument("--scale", type=float, help="main workload scale (1.0 = 10M spans over 90 days)")
    parser.add_argument("--history-scale", type=float, help="density of the 30/360-day history workloads")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where workloads are written")
    parser.add_argument("--out", type=Path, help="the Markdown report (default bench/RESULTS.md)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the last figures.json")
    parser.add_argument(
        "--reuse-history", action="store_true",
        help="nightly phase: keep the history warehouses a previous run backfilled (re-run only the nightly day)",
    )
    parser.add_argument(
        "--rebuild-history-models", action="store_true",
        help="with --reuse-history: first rebuild every dbt model of the kept history warehouses with this code "
        "(one `dbt build` without a window), as a backfill with this code would have written them; the kept "
        "snapshots (marts.duckdb) stay as the earlier code published them",
    )
    parser.add_argument(
        "--phases", default="main,nightly",
        help="main (scans, ingest, backfill) and/or nightly; the report needs both, figures.json gets any",
    )
    args = parser.parse_args(argv)
    profile = PROFILES["small" if args.small else "default"]
    if args.scale is not None or args.history_scale is not None:
        profile = Profile(
            "custom", scale=args.scale or profile.scale, days=profile.days,
            history_scale=args.history_scale or profile.history_scale, history_days=profile.history_days,
            nightly_repeats=profile.nightly_repeats, main_is_history=profile.main_is_history,
        )
    out = args.out or (REPO / "bench" / "work" / "RESULTS-small.md" if args.small else REPO / "bench" / "RESULTS.md")
    root = args.root / profile.name
    if args.report_only:
        report_only(root, out, profile)
        return 0
    started = time.perf_counter()
    figures: dict = {"machine": machine(), "notes": []}
    previous = args.root / profile.name / "figures.json"
    phases = set(args.phases.split(","))
    if phases != {"main", "nightly"} and previous.exists():
        # one phase at a time: the other phase's figures come from its last run
        figures = {**json.loads(previous.read_text()), "machine": figures["machine"]}
        phases_done = set(figures.get("phases", []))
        unrecorded = {"date": "not recorded", "commit": "not recorded", "machine": "not recorded"}
        figures["provenance"] = {**dict.fromkeys(phases_done, unrecorded), **figures.get("provenance", {})}
        figures["notes"] = [n for n in figures.get("notes", []) if not n.startswith("Whole benchmark")]
    else:
        phases_done = set()

    history = ensure_workload(root / "history360", days=profile.history_days + 1, scale=profile.history_scale)
    figures["history_workload"] = history
    if profile.main_is_history:
        main_dir, main = root / "history360", history
        main_first, main_last = END_DATE - timedelta(days=profile.history_days), END_DATE - timedelta(days=1)
        figures["notes"].append(
            f"The small profile's full backfill is the {profile.history_days}-day history of the nightly comparison "
            "(one run fewer), and its long history is 40 days, not 360: a smoke test of every phase in under "
            "3 minutes here, not a measurement. At this size a run's time is Dagster's and dbt's fixed cost: a "
            "single-run backfill records every asset's materialization and checks per partition day "
            "(~7,100 events for its 40 days), and dbt spends ~0.05–0.15 s per node outside the SQL."
        )
    else:
        main_dir = root / "main"
        main = ensure_workload(main_dir, days=profile.days, scale=profile.scale)
        main_first, main_last = END_DATE - timedelta(days=profile.days - 1), END_DATE
    figures["main_workload"] = main
    home = main_dir / "home"
    reuse = args.reuse_history
    with ThreadPoolExecutor(max_workers=1) as beside:
        history30 = None
        if profile.side_by_side and {"main", "nightly"} <= phases:
            # a smoke test: the 30-day history is backfilled while the main backfill runs (two cores)
            history30 = beside.submit(prepare_history30, root, reuse)
            figures["notes"].append(
                "Side by side (the small profile): the 30-day history was backfilled during the main backfill, "
                "and the two nightly runs ran at the same time, each on one of the two cores."
            )
        if "main" in phases:
            measure_main(figures, root, home, main_first, main_last, keep=profile.main_is_history)
        if history30 is not None:
            history30.result()
            reuse = True
    if "nightly" in phases:
        if reuse and args.rebuild_history_models:
            rebuild_history_models(figures, root)
        measure_nightly(figures, root, main_dir, profile, reuse=reuse)
        if args.reuse_history:
            figures["notes"].append(
                "The history warehouses were kept from an earlier run of this benchmark (`--reuse-history`): "
                "only the nightly runs of the last day were measured in this one."
            )
    figures["gates"] = {
        "backfill": gate_shares(figures["backfill"]) if "backfill" in figures else [],
        "nightly_30": gate_shares(figures["nightly"]["30"]["median"]) if "nightly" in figures else [],
        "nightly_360": gate_shares(figures["nightly"]["360"]["median"]) if "nightly" in figures else [],
    }
    figures["phases"] = sorted(phases | phases_done)
    figures["provenance"] = {**figures.get("provenance", {}), **dict.fromkeys(phases, figures["machine"])}
    figures["notes"].append(f"Whole benchmark ({args.phases}): {time.perf_counter() - started:.0f} s.")
    (root / "figures.json").write_text(json.dumps(figures, indent=2, default=str))
    if {"main", "nightly"} <= phases | phases_done:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_results(out, profile, figures)
        print(f"wrote {out} ({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


def measure_main(figures: dict, root: Path, home: Path, first: date, last: date, keep: bool = False) -> None:
    """Bare scans, then the full backfill of the main workload; ingest from the backfill's timings.

    `keep`: the backfill is also the long history the measured nights start from (the small
    profile): its warehouse is kept aside for them.
    """
    files = trace_files(home)
    print(f"bare scans over {len(files)} files …", flush=True)
    figures["scan"] = {
        method: run_scan(method, files, root / f"scan-{method}.duckdb")
        for method in ("reference", "fastest", "raw_floor")
    }
    print(f"  {figures['scan']}", flush=True)

    fresh_warehouse(home)
    backfill = run_job(home, first, last, "backfill")
    figures["backfill"] = backfill
    if keep:
        keep_aside(home)

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        loaded = conn.execute("select count(*) from staging.stg_otel__spans").fetchone()[0]
    # the stale-run check at the main workload's density, as the night after the last day runs it
    # (once to warm it: a night's check follows its build)
    settings = Settings.from_env({"AGENTLEDGER_HOME": str(home)})  # the nights' settings: none but the home
    for _ in range(2):
        started = time.perf_counter()
        night_stale_run_days(settings, last + timedelta(days=1), last + timedelta(days=1), DBT_LOOKBACK_DAYS)
        figures["stale_check_main_seconds"] = round(time.perf_counter() - started, 3)
    figures["stale_check_main_scoped"] = True
    print("reference scan again, after the backfill …", flush=True)
    figures["scan"]["reference_after"] = run_scan("reference", files, root / "scan-reference.duckdb")
    print(f"  {figures['scan']['reference_after']}", flush=True)
    figures["ingest"] = {
        "raw_load_seconds": backfill["steps"][TRACE_STEP],
        "staging_seconds": round(sum(backfill["dbt_nodes"].get(node, 0.0) for node in STAGING_NODES), 3),
        "loaded_spans": loaded,
    }
    figures["ingest"]["seconds"] = figures["ingest"]["raw_load_seconds"] + figures["ingest"]["staging_seconds"]


def rebuild_history_models(figures: dict, root: Path) -> None:
    """Rebuild the dbt models of the kept history warehouses with this code (`dbt build`, no window).

    Kept warehouses were written by the code of an earlier run; a model change (a new model, a new
    row order) reaches their history only through a backfill or a build without a window.
    """
    for label in ("history360", "history30"):
        warehouse = root / label / "before-night" / "warehouse.duckdb"
        if not warehouse.exists():
            continue
        print(f"  {label}: dbt build of every model without a window …", flush=True)
        started = time.perf_counter()
        # the settings the nights run with (bench/job.py): none of the calling shell's
        environment = {name: value for name, value in os.environ.items() if not name.startswith("AGENTLEDGER_")}
        environment.update(AGENTLEDGER_HOME=str(root / label / "home"), AGENTLEDGER_DB=str(warehouse))
        subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "build", "--exclude-resource-type", "unit_test", "--quiet",
             "--project-dir", str(REPO), "--profiles-dir", str(REPO)],
            cwd=REPO, env=environment, check=True,
        )
        seconds = time.perf_counter() - started
        figures["notes"].append(
            f"The kept {label} warehouse's dbt models were rebuilt with this code before the nightly runs "
            f"(`--rebuild-history-models`: one `dbt build` without a window, {seconds:.0f} s)."
        )


def prepare_history30(root: Path, reuse: bool) -> None:
    """The 30-day history warehouse: the last 31 days of the long history's files, backfilled but the last."""
    night_home = root / "history30" / "home"
    if reuse and (night_home.parent / "before-night" / "warehouse.duckdb").exists():
        return
    linked_history(root / "history360", root / "history30", 30)
    fresh_warehouse(night_home)
    run_job(night_home, END_DATE - timedelta(days=30), END_DATE - timedelta(days=1), "history30")
    keep_aside(night_home)


KEPT = ("warehouse.duckdb", "marts.duckdb", "marts")


def copy_over(source: Path, target: Path) -> None:
    """`target` becomes a copy of `source` (a file or a folder), or is removed when `source` does not exist."""
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    if source.is_dir():
        shutil.copytree(source, target)
    elif source.exists():
        shutil.copy2(source, target)


def keep_aside(night_home: Path) -> None:
    """Copy the backfilled warehouse and snapshot aside, so that every measured night starts from them."""
    kept = night_home.parent / "before-night"
    if (night_home / "warehouse.duckdb.wal").exists():
        raise RuntimeError(f"{night_home}: the warehouse has a WAL not checkpointed; a copy without it loses commits")
    kept.mkdir(exist_ok=True)
    for name in KEPT:
        copy_over(night_home / name, kept / name)


def put_back(night_home: Path) -> None:
    """The backfilled warehouse and snapshot again, as before the first night."""
    for name in KEPT:
        copy_over(night_home.parent / "before-night" / name, night_home / name)
    (night_home / "warehouse.duckdb.wal").unlink(missing_ok=True)


def measure_nightly(figures: dict, root: Path, main_dir: Path, profile: Profile, reuse: bool = False) -> None:
    """The night of the same day after 30 and after 360 days of history.

    Every night starts from the backfilled warehouse copied back (a repeat does not re-do a day
    the warehouse already holds). The two are interleaved (30, 360, 30, 360, …) and the median of
    each is the figure: the machine is shared, and interleaving gives both the same conditions.
    """
    if not reuse or not (root / "history30" / "before-night" / "warehouse.duckdb").exists():
        linked_history(root / "history360", root / "history30", 30)
    homes = {"30": (root / "history30" / "home", 30), "360": (root / "history360" / "home", profile.history_days)}
    for label, (night_home, days) in homes.items():
        kept = (night_home.parent / "before-night" / "warehouse.duckdb").exists()
        if night_home.parent != main_dir and not (reuse and kept):
            fresh_warehouse(night_home)
            run_job(night_home, END_DATE - timedelta(days=days), END_DATE - timedelta(days=1), f"history{label}")
            keep_aside(night_home)
        elif not kept:
            raise SystemExit(
                f"{night_home.parent}: no backfilled warehouse kept aside (the main phase's backfill keeps it): "
                "run the main phase first"
            )
    runs: dict[str, list[dict]] = {label: [] for label in homes}
    for repeat in range(profile.nightly_repeats):
        for night_home, _ in homes.values():
            put_back(night_home)
        if profile.side_by_side:
            with ThreadPoolExecutor(max_workers=len(homes)) as pool:
                done = {
                    label: pool.submit(run_job, night_home, END_DATE, END_DATE, f"nightly{label}-{repeat}")
                    for label, (night_home, _) in homes.items()
                }
            for label, future in done.items():
                runs[label].append(future.result())
            continue
        for label, (night_home, _) in homes.items():
            runs[label].append(run_job(night_home, END_DATE, END_DATE, f"nightly{label}-{repeat}"))
    nightly: dict[str, dict] = {}
    for label, done in runs.items():
        ordered = sorted(done, key=lambda r: r["wall_seconds"])
        median = ordered[len(ordered) // 2]
        nightly[label] = {
            "all_seconds": [r["wall_seconds"] for r in done], "median_seconds": median["wall_seconds"],
            "median": median,
        }
    figures["nightly"] = nightly


if __name__ == "__main__":
    sys.exit(main())
