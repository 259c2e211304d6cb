"""The large benchmark workload: OTLP/JSON traces, evaluation logs and review labels at volume.

It is the demo generator (`orchestration.demo.generate`) run at a higher volume and over more
workflows, so the files are in exactly the formats the pipeline reads (Collector file-exporter
lines, gzip for some services, labels as CSV/JSON lines, one truncated line as from a killed
Collector). On this 2-core machine the demo generator, with its two worker processes, wrote the
default 10 million spans in 90-120 s (bench/RESULTS.md): no separate bulk writer is needed, and no
second copy of the trace format exists to drift from the real one.

Scale: `scale=1.0` is the issue's default workload, ~10 million LLM-workflow spans over 90 days
across 50 workflows. The demo catalog has 12 workflows; each is split into 4-5 variants (the first
keeps the demo's name, the others get `_v2`… names and their own agent service, hence their own
trace file per day) that share its run volume, so the total volume is the demo's at
`DEMO_SCALE_PER_UNIT × scale`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path

from orchestration.demo import catalog
from orchestration.demo.generate import DemoSummary, generate_demo

# The demo writes ~2,900 spans per day at demo scale 1 (262k over 90 days); 10M / 90 days needs 38.2.
DEMO_SCALE_PER_UNIT = 38.2
DEFAULT_WORKFLOWS = 50
DEFAULT_DAYS = 90
# Where workloads live: never in the repository (they are gigabytes), and one folder per clone, so
# that two clones benchmarking at once do not delete each other's warehouses.
CLONE = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
DEFAULT_ROOT = Path(
    os.environ.get("AGENTLEDGER_BENCH_DIR") or Path(tempfile.gettempdir()) / f"agentledger-bench-{CLONE}"
)


def variant_workflows(total: int = DEFAULT_WORKFLOWS) -> dict[str, catalog.Workflow]:
    """The demo's workflows split into `total` variants that together keep the demo's volume.

    Busiest workflows get the extra variants. A variant is its base workflow with a new name and
    service and `runs_per_day / copies`; calibration (the token multiplier per workflow) is computed
    for it as for any demo workflow.
    """
    bases = sorted(catalog.WORKFLOWS.values(), key=lambda w: -w.runs_per_day)
    if total < len(bases):
        raise ValueError(f"need at least {len(bases)} workflows (the demo's), got {total}")
    copies = {w.name: total // len(bases) for w in bases}
    for w in bases[: total % len(bases)]:
        copies[w.name] += 1
    variants: dict[str, catalog.Workflow] = {}
    for base in bases:
        count = copies[base.name]
        for index in range(1, count + 1):
            name = base.name if index == 1 else f"{base.name}_v{index}"
            service = base.service if index == 1 else f"{base.service}-v{index}"
            variants[name] = dataclasses.replace(
                base, name=name, service=service, runs_per_day=base.runs_per_day / count
            )
    return variants


def use_workflows(workflows: dict[str, catalog.Workflow]) -> None:
    """Make the demo generator (this process and the workers it forks) generate `workflows`.

    The generator iterates `catalog.WORKFLOWS`; it is replaced in place before any calibration,
    so the cached volumes cover every variant.
    """
    catalog.calibrated_volumes.cache_clear()
    catalog.WORKFLOWS.clear()
    catalog.WORKFLOWS.update(workflows)


def generate_workload(
    home: Path,
    *,
    end_date: date,
    days: int = DEFAULT_DAYS,
    scale: float = 1.0,
    workflows: int = DEFAULT_WORKFLOWS,
    seed: int = 11,
) -> DemoSummary:
    """Write `days` days ending `end_date` of traces and labels under `home` (`traces/`, `labels/`).

    Returns:
        The generator's summary (spans, runs, labels, bytes, seconds).
    """
    use_workflows(variant_workflows(workflows))
    return generate_demo(
        home,
        end_date=end_date,
        days=days,
        seed=seed,
        scale=DEMO_SCALE_PER_UNIT * scale,
        plant_anomalies=False,
    )


def link_days(source: Path, target: Path, first: date, last: date) -> int:
    """Give `target` the trace and label files of `first..last` from `source`, as symlinks.

    Two workloads that share days then read the very same files: the nightly comparison after
    30 and after 360 days of history runs on an identical day. Folders are made, files are linked:
    the trace loader's recursive search does not descend into linked folders.

    Returns:
        Number of files linked.
    """
    links = 0
    day = first
    while day <= last:
        folder = Path("traces") / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"
        files = sorted(p for p in (source / folder).glob("*") if p.is_file()) if (source / folder).is_dir() else []
        files += [source / "labels" / f"{day}{ext}" for ext in (".csv", ".jsonl")]
        for path in files:
            if not path.is_file():
                continue
            link = target / path.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(path)
                links += 1
        day += timedelta(days=1)
    return links
