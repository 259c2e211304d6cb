"""Acceptance of the anomaly findings on the demo data, end to end through the real nightly job.

Generates the demo twice (planted anomalies, and the same data with nothing planted), runs the
whole pipeline over each as one Dagster run, and compares `marts.mart_cost_anomalies` with the
generator's list of planted patterns (`DemoSummary.planted`): every planted pattern must be found
at its planted place (same type and workflow, the same run for a loop, detected within the planted
days), no anomaly or cost-bloat finding may appear anywhere else, and the variant with nothing
planted must have none at all. Optimization triggers (health targets) are not planted patterns:
they are listed for both variants, not judged. Finally the anomaly models are rebuilt on a copy of
the planted warehouse as a nightly schedule would build them (a backfill, then single days, then
the rest): the findings must be the same as those of the one run over the whole range.

    .venv/bin/python bench/anomaly_acceptance.py [--end-date 2026-11-22] [--days 90] [--seed 7] [--scale 1.0]

Takes ~2-4 min here (two generations of ~7 s and two pipeline runs of ~60-110 s). Exit status 0
when the acceptance holds.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import duckdb

from orchestration.demo.generate import generate_demo
from orchestration.demo.run import serve_demo_apis
from orchestration.runner import run_partitions
from orchestration.settings import PROJECT_ROOT, Settings

WORK = Path(__file__).resolve().parent / "work" / "anomalies"
TRIGGERS = "optimization_trigger"


def run_variant(home: Path, end: date, days: int, seed: int, scale: float, planted: bool) -> tuple[list, list, float]:
    """Generate one variant into `home`, run the pipeline over it; return (planted, findings, seconds)."""
    home.mkdir(parents=True, exist_ok=True)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (home / name).unlink(missing_ok=True)
    started = time.perf_counter()
    summary = generate_demo(home, end_date=end, days=days, seed=seed, scale=scale, plant_anomalies=planted)
    saved = dict(os.environ)
    os.environ.update({"AGENTLEDGER_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")})
    os.environ.pop("AGENTLEDGER_DB", None)
    os.environ.pop("AGENTLEDGER_ALERT_WEBHOOK", None)
    (home / "dagster").mkdir(exist_ok=True)
    try:
        with ExitStack() as stack:
            serve_demo_apis(stack, home)
            outcome = run_partitions(Settings.from_env(), summary.start_date, summary.end_date)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if not outcome.success:
        raise SystemExit("pipeline failed:\n" + "\n".join(outcome.failures))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        cursor = conn.execute(
            "select detected_on, anomaly_type, category, workflow, run_id, subject, severity, explanation "
            "from marts.mart_cost_anomalies order by category, anomaly_type, detected_on, workflow"
        )
        names = [column[0] for column in cursor.description]
        findings = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return summary.planted, findings, time.perf_counter() - started


def read_findings(db_path: Path) -> list[tuple]:
    """Every row of the mart, sorted."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return sorted(conn.execute("select * from marts.mart_cost_anomalies").fetchall())


def rebuild_in_chunks(db_path: Path, first: date, last: date) -> tuple[list[tuple], float]:
    """Rebuild the anomaly models on `db_path` window by window, as nightly runs would; the mart's rows."""
    with duckdb.connect(str(db_path)) as conn:
        conn.execute("drop table marts.mart_cost_anomalies")
    middle = first + (last - first) * 2 // 3
    windows = [(first, middle), (middle + timedelta(days=1), middle + timedelta(days=1))]
    windows += [(middle + timedelta(days=2), middle + timedelta(days=2)), (middle + timedelta(days=3), last)]
    started = time.perf_counter()
    dbt = Path(sys.executable).with_name("dbt")
    for start, end in windows:
        subprocess.run(
            [str(dbt), "run", "--quiet", "--select", "path:models/marts/anomalies", "--project-dir", str(PROJECT_ROOT),
             "--profiles-dir", str(PROJECT_ROOT), "--event-time-start", f"{start}T00:00:00",
             "--event-time-end", f"{end + timedelta(days=1)}T00:00:00"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "AGENTLEDGER_DB": str(db_path)},
            check=True,
        )  # fmt: skip
    return read_findings(db_path), time.perf_counter() - started


def at_planted_place(finding: dict, pattern: dict) -> bool:
    """The finding names the planted pattern: its type, workflow, run (if one) and days."""
    return (
        finding["anomaly_type"] == pattern["type"]
        and finding["workflow"] == pattern["workflow"]
        and finding["subject"] == pattern.get("subject")
        and (pattern["run_id"] is None or finding["run_id"] == pattern["run_id"])
        and date.fromisoformat(pattern["start_date"])
        <= finding["detected_on"]
        <= date.fromisoformat(pattern["end_date"])
    )


def describe(finding: dict) -> str:
    """One line: day, type, workflow, explanation."""
    about = finding["workflow"] or finding["subject"]
    return f"{finding['detected_on']}  {finding['anomaly_type']:<34} {about:<22} {finding['explanation']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--end-date", type=date.fromisoformat, default=date.today() - timedelta(days=1))
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()

    ok = True
    results = {}
    for variant, planted in (("planted", True), ("nothing-planted", False)):
        home = WORK / f"{variant}-{args.end_date}-s{args.seed}-x{args.scale}"
        patterns, findings, seconds = run_variant(home, args.end_date, args.days, args.seed, args.scale, planted)
        results[variant] = findings
        judged = [f for f in findings if f["category"] != TRIGGERS]
        triggers = [f for f in findings if f["category"] == TRIGGERS]
        print(
            f"\n== {variant}: {len(patterns)} planted, {len(judged)} anomaly/cost-bloat findings, "
            f"{len(triggers)} optimization triggers ({seconds:.0f} s)"
        )
        for pattern in patterns:
            hits = [f for f in judged if at_planted_place(f, pattern)]
            where = pattern["run_id"] or f"{pattern['start_date']}..{pattern['end_date']}"
            status = f"found on {hits[0]['detected_on']}" if hits else "MISSED"
            ok &= bool(hits)
            about = pattern["workflow"] or pattern["subject"]
            print(f"  {'ok ' if hits else 'NO '} {pattern['type']:<34} {about:<22} {where}: {status}")
        unexpected = [f for f in judged if not any(at_planted_place(f, p) for p in patterns)]
        for finding in unexpected:
            print(f"  UNEXPECTED {describe(finding)}")
        ok &= not unexpected
        for finding in triggers:
            print(f"  trigger    {describe(finding)}")
    planted_triggers, plain_triggers = (
        [(f["anomaly_type"], f["workflow"], f["detected_on"]) for f in results[variant] if f["category"] == TRIGGERS]
        for variant in ("planted", "nothing-planted")
    )
    print(f"\noptimization triggers identical in both variants: {planted_triggers == plain_triggers}")

    planted_home = WORK / f"planted-{args.end_date}-s{args.seed}-x{args.scale}"
    chunked_db = planted_home / "chunked.duckdb"
    shutil.copy(planted_home / "warehouse.duckdb", chunked_db)
    first = args.end_date - timedelta(days=args.days - 1)
    chunked, seconds = rebuild_in_chunks(chunked_db, first, args.end_date)
    same = chunked == read_findings(planted_home / "warehouse.duckdb")
    ok &= same
    print(f"rebuilt in 4 windows like nightly runs ({seconds:.0f} s): {len(chunked)} findings, identical: {same}")
    print("ACCEPTED" if ok else "NOT ACCEPTED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
