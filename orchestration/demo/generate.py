"""Generate the demo data set: OTLP/JSON traces and evaluation logs, and review labels.

`generate_demo` writes, under `home`:

- `traces/YYYY/MM/DD/<service>.jsonl` (two services `.jsonl.gz`): one file per day and agent
  service, export batches of at most 200 spans per line in the order spans ended (so a trace's
  spans may be split across lines), exactly as the Collector's file exporter writes them; one
  day's file ends in a truncated line, as when a Collector is killed mid-write;
- `traces/YYYY/MM/DD/logs-evals.jsonl`: the evaluator's `gen_ai.evaluation.result` log records;
- `labels/YYYY-MM-DD.csv` (some days `.jsonl`): review labels, filed by the day they were written;
- `demo-manifest.json`: the arguments and every file written, so a re-run removes exactly those.

Every (seed, day, workflow) has its own random stream, so a day's output does not depend on the
other days, and the same arguments give byte-identical files. Planted anomalies sit at fixed
offsets from `end_date`, clamped into the window, and are listed in the summary.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from random import Random
from typing import Any

import orjson

from orchestration.demo.catalog import (
    LONG_CONTEXT_THRESHOLD,
    NORMAL,
    OUTREACH_SYSTEM_HASH,
    WORKFLOWS,
    AgentBlock,
    Conditions,
    LLMCall,
    Workflow,
    accounts_for,
    calibrated_volumes,
    call_cost,
    choose_effort,
    plan_calls,
    plan_competitor_outlier,
    plan_cost,
    plan_run,
    reasoning_multiplier,
    seo_loop_calls,
)
from orchestration.demo.labels import (
    Verdict,
    decide,
    evaluations,
    review_labels,
    spot_check_labels,
    write_label_file,
)
from orchestration.demo.otlp import LogRecord, Span, batched, logs_data, traces_data, write_lines
from orchestration.demo.traces import NS_PER_S, EmittedRun, RunContext, RunEmitter, hex_id

BATCH_SPANS = 200  # the Collector's batch processor default send size
DAY_NS = 86_400 * NS_PER_S
DAY_END_MARGIN_NS = 600 * NS_PER_S  # runs end 10 min before midnight: evaluations land the same day
MANIFEST = "demo-manifest.json"
MAX_WORKERS = 4
_END = attrgetter("end_ns")

# Where the anomalies sit, in days before end_date (clamped into the window).
LOOP_DAYS_BEFORE_END = 17
BLOAT_WINDOW_DAYS = 21
DISPERSION_DAYS_BEFORE_END = 9
COST_CREEP_WINDOW_DAYS = 42
HIGH_EFFORT_WINDOW_DAYS = 35
UNTRACED_DAYS_BEFORE_END = 30  # the OpenAI fake bills an uninstrumented bot from then on (demo/billing.py)
OVERSIZED_SHARE = 0.12
OUTLIER_DAYS_BEFORE_END = 38
OUTLIER_COST_USD = 87.0
LOOP_MIN_MULTIPLE = 22.0  # the loop is meant to be ≥ 20× the median; 22× stays clear after token rounding


@dataclass
class DemoSummary:
    """What `generate_demo` wrote.

    Attributes:
        home: Folder written under.
        start_date: First day generated (UTC).
        end_date: Last day generated, inclusive.
        files: Number of files written (traces, evaluation logs, labels, manifest).
        paths: Every file written.
        spans: Spans in complete lines (those lost to the truncated line are not counted).
        runs: Workflow runs generated, retries included.
        llm_calls: Successful LLM calls (failed attempts and SDK duplicate spans not counted).
        labels: Label rows written.
        evaluation_events: `gen_ai.evaluation.result` events written (log records + span events).
        runs_by_workflow: Runs per workflow.
        planted: Every planted anomaly: `type`, `workflow`, `run_id` (or None), `start_date`,
            `end_date` (ISO days, equal for one-day anomalies) and details. Empty when
            anomalies are not planted.
        median_run_cost_usd: Median rack-rate cost per run and workflow, as the generator priced
            it (genai-prices rates; the unpriced model counts 0).
        outlier_run_id: competitor_analysis's ~$87 deep-dive run: part of the workflow's normal
            behaviour (domain.md), so generated with or without planted anomalies, and below the
            10× loop threshold.
        truncated_file: The file whose last line is truncated.
        spans_lost_to_truncation: Spans in that line.
        bytes_written: Size of all files.
        seconds: Wall time of the generation.
    """

    home: Path
    start_date: date
    end_date: date
    files: int = 0
    paths: list[Path] = field(default_factory=list)
    spans: int = 0
    runs: int = 0
    llm_calls: int = 0
    labels: int = 0
    evaluation_events: int = 0
    runs_by_workflow: dict[str, int] = field(default_factory=dict)
    planted: list[dict[str, Any]] = field(default_factory=list)
    median_run_cost_usd: dict[str, float] = field(default_factory=dict)
    outlier_run_id: str | None = None
    truncated_file: Path | None = None
    spans_lost_to_truncation: int = 0
    bytes_written: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class AnomalyPlan:
    """Where each planted anomaly sits (inclusive day ranges)."""

    loop_day: date
    bloat: tuple[date, date]
    dispersion_day: date
    cost_creep: tuple[date, date]
    high_effort: tuple[date, date]
    no_cache: tuple[date, date]
    oversized: tuple[date, date]
    untraced: tuple[date, date]


def _days_before(start: date, end: date, n: int) -> date:
    return max(start, end - timedelta(days=n))


def _weekday_on_or_before(day: date, start: date) -> date:
    """`day`, or the Friday before it when it falls on a weekend (not before `start`)."""
    return max(start, day - timedelta(days=max(0, day.weekday() - 4)))


def anomaly_plan(start: date, end: date) -> AnomalyPlan:
    """Place the anomalies relative to `end`, clamped into `start..end`.

    The inconsistent-inputs day is a weekday: a weekend holds a quarter of ad_copy_iteration's
    runs (~4), too few to measure a day's run-to-run dispersion.
    """
    return AnomalyPlan(
        loop_day=_days_before(start, end, LOOP_DAYS_BEFORE_END),
        bloat=(_days_before(start, end, BLOAT_WINDOW_DAYS - 1), end),
        dispersion_day=_weekday_on_or_before(_days_before(start, end, DISPERSION_DAYS_BEFORE_END), start),
        cost_creep=(_days_before(start, end, COST_CREEP_WINDOW_DAYS - 1), end),
        high_effort=(_days_before(start, end, HIGH_EFFORT_WINDOW_DAYS - 1), end),
        no_cache=(start, end),
        oversized=(start, end),
        untraced=(_days_before(start, end, UNTRACED_DAYS_BEFORE_END), end),
    )


def conditions(workflow: str, day: date, plan: AnomalyPlan | None, outlier_day: date) -> Conditions:
    """The day's conditions for one workflow."""
    outlier = workflow == "competitor_analysis" and day == outlier_day
    if plan is None:
        return Conditions(outlier=outlier)
    if workflow == "client_report" and plan.bloat[0] <= day <= plan.bloat[1]:
        return Conditions(history_days=(day - plan.bloat[0]).days + 1)
    if workflow == "content_brief" and plan.cost_creep[0] <= day <= plan.cost_creep[1]:
        return Conditions(trend_days=(day - plan.cost_creep[0]).days + 1)
    if workflow == "ticket_triage" and plan.high_effort[0] <= day <= plan.high_effort[1]:
        return Conditions(effort_override="high")
    if workflow == "ad_copy_iteration" and day == plan.dispersion_day:
        return Conditions(dispersion=True)
    if workflow == "pr_backlink_outreach" and plan.no_cache[0] <= day <= plan.no_cache[1]:
        return Conditions(no_cache=True)
    if workflow == "lead_enrichment" and plan.oversized[0] <= day <= plan.oversized[1]:
        return Conditions(oversized_share=OVERSIZED_SHARE)
    if workflow == "seo_audit" and day == plan.loop_day:
        return Conditions(loop=True)
    return Conditions(outlier=outlier)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@lru_cache(maxsize=1)
def seo_reference() -> tuple[float, float]:
    """Median cost and median LLM calls of a normal seo_audit run (what the loop is measured against)."""
    workflow = WORKFLOWS["seo_audit"]
    vol = calibrated_volumes()[workflow.name]
    rng = Random("reference/seo_audit")
    costs, calls = [], []
    for _ in range(301):
        effort = choose_effort(rng, workflow, NORMAL)
        blocks = workflow.planner(rng, NORMAL, vol, reasoning_multiplier(rng, effort))
        costs.append(plan_cost(blocks))
        calls.append(float(len(plan_calls(blocks))))
    return _median(costs), _median(calls)


def _loop_plan(rng: Random, workflow: Workflow, vol: float) -> list[AgentBlock]:
    """A normal audit whose auditor then loops on one page until ≥ 22× the median cost and calls."""
    blocks = workflow.planner(rng, NORMAL, vol, 1.0)
    median_cost, median_calls = seo_reference()
    auditor = next(b for b in blocks if b.agent == "auditor")
    site_context = max(c.cache_read + c.write_1h for c in auditor.steps if isinstance(c, LLMCall))
    while (
        plan_cost(blocks) < LOOP_MIN_MULTIPLE * median_cost
        or len(plan_calls(blocks)) < LOOP_MIN_MULTIPLE * median_calls
    ):
        auditor.steps.extend(seo_loop_calls(rng, site_context, 20))
    return blocks


def _outlier_plan(rng: Random) -> list[AgentBlock]:
    """competitor_analysis's deep dive, its analyst passes scaled so the run costs ~$87 at rack rate.

    Only the passes over the cached corpus are scaled (their uncached input and output), by a few
    percent: corpus size, and so the long-context tier, stay as drawn, and output stays under the
    model's 64k limit.
    """
    blocks = plan_competitor_outlier(rng)
    calls = plan_calls(blocks)
    passes = [c for c in calls if c.cache_read or c.write_1h]
    fixed = sum(call_cost(c) for c in calls if c not in passes)
    variable = 0.0
    for call in passes:
        saved = (call.uncached, call.output)
        call.uncached = call.output = 0
        base = call_cost(call)
        call.uncached, call.output = saved
        fixed += base
        variable += call_cost(call) - base
    factor = (OUTLIER_COST_USD - fixed) / variable
    for call in passes:
        call.uncached = int(call.uncached * factor)
        call.output = min(64_000, int(call.output * factor))
        call.reasoning = min(call.output - 1000, int(call.reasoning * factor))
    return blocks


def _poisson(rng: Random, mean: float) -> int:
    """Runs in a day: Poisson (normal approximation for large means, for the scale benchmark)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _start_second(rng: Random) -> float:
    """Seconds after midnight UTC: mostly office hours (centred 14:30 UTC), the rest spread out."""
    if rng.random() < 0.7:
        return min(86_000.0, max(0.0, rng.gauss(14.5 * 3600, 3 * 3600)))
    return rng.uniform(0, 86_000)


@dataclass
class DayOutput:
    """One workflow's day: runs (spans attached), evaluation records, label rows, planted notes."""

    runs: list[EmittedRun] = field(default_factory=list)
    log_records: list = field(default_factory=list)
    labels: list[tuple] = field(default_factory=list)
    span_event_evaluations: int = 0
    loop_run: tuple[str, float, int] | None = None
    outlier_run: str | None = None


def success_probability(workflow: Workflow, effort: str | None) -> float:
    """Chance of a shippable run: effort moves it on hard workflows only (domain.md: +12–18 points)."""
    p = workflow.success_rate
    if effort == "high":
        p += workflow.effort_lift
    elif effort == "low":
        p -= 0.7 * workflow.effort_lift
    return min(0.99, max(0.02, p))


class _WorkflowDay:
    """One workflow's runs on one day, drawn from the (seed, day, workflow) random stream."""

    def __init__(
        self, workflow: Workflow, day: date, seed: int, cond: Conditions, cutoff_ns: int, default_rework: int
    ) -> None:
        self.workflow = workflow
        self.cond = cond
        self.cutoff_ns = cutoff_ns
        self.default_rework = default_rework
        self.rng = Random(f"{seed}/{day.isoformat()}/{workflow.name}")
        self.emitter = RunEmitter(workflow)
        self.vol = calibrated_volumes()[workflow.name]
        self.day_start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * NS_PER_S
        self.latest_end = self.day_start + DAY_NS - DAY_END_MARGIN_NS
        self.out = DayOutput()

    def _plan(self, special: str | None) -> tuple[str | None, list[AgentBlock]]:
        rng, workflow = self.rng, self.workflow
        effort = choose_effort(rng, workflow, self.cond)
        if special == "loop":
            return "medium", _loop_plan(rng, workflow, self.vol)
        if special == "outlier":
            return "high", _outlier_plan(rng)
        return effort, plan_run(rng, workflow, self.cond, self.vol, effort)

    def run(self, start_ns: int, account: str, retry_of: str | None, special: str | None) -> EmittedRun:
        """Generate one run, its verdict, labels and evaluations; return it."""
        rng, workflow, out = self.rng, self.workflow, self.out
        effort, blocks = self._plan(special)
        ctx = RunContext(workflow, "wr_" + hex_id(rng, 64), hex_id(rng, 128), account, effort, retry_of, start_ns)
        run = self.emitter.emit(rng, ctx, blocks, self.day_start, self.latest_end)
        out.runs.append(run)
        p = success_probability(workflow, effort) + (0.05 if retry_of else 0.0)
        verdict = decide(rng, workflow, p, self.default_rework)
        if special == "loop":
            verdict = Verdict("failure", True, self.default_rework * 2)
            out.loop_run = (ctx.run_id, run.cost_usd, run.llm_calls)
        elif special == "outlier":
            verdict = Verdict("success", False, None)
            out.outlier_run = ctx.run_id
        last_evaluation = self.latest_end + DAY_END_MARGIN_NS - NS_PER_S
        if workflow.evaluator:
            out.log_records += evaluations(rng, run, verdict, last_evaluation)
            out.labels += spot_check_labels(rng, run, verdict, self.cutoff_ns)
        else:
            out.log_records += evaluations(rng, run, None, last_evaluation)
            out.labels += review_labels(rng, workflow, run, verdict, self.cutoff_ns)
        out.span_event_evaluations += run.extra.get("span_event_evaluations", 0)
        run.extra["failed"] = verdict.outcome == "failure"
        return run

    def retry_start(self, run: EmittedRun, attempt: int) -> int | None:
        """When a failed run is re-run (within hours, same day), or None when it is not."""
        if not run.extra["failed"] or attempt >= 2 or self.rng.random() >= self.workflow.retry_share:
            return None
        start = run.end_ns + int(self.rng.uniform(0.3, 5.0) * 3600 * NS_PER_S)
        return start if start < self.latest_end - 3600 * NS_PER_S else None


def generate_workflow_day(
    workflow: Workflow,
    day: date,
    *,
    seed: int,
    scale: float,
    cond: Conditions,
    growth: float,
    cutoff_ns: int,
    default_rework: int,
) -> DayOutput:
    """Generate one workflow's runs for one day, from its own (seed, day, workflow) random stream.

    Args:
        workflow: The workflow.
        day: The UTC day.
        seed: Generation seed.
        scale: Multiplier on run volumes.
        cond: The day's conditions (planted anomalies).
        growth: Business growth factor for this day (volumes rise slowly over the window).
        cutoff_ns: Labels written at or after this moment do not exist yet.
        default_rework: The workflow's default rework minutes (seeds/workflows.csv).

    Returns:
        The day's runs with their spans, evaluation log records and label rows.
    """
    state = _WorkflowDay(workflow, day, seed, cond, cutoff_ns, default_rework)
    rng = state.rng
    names, cumulative = accounts_for(workflow)
    mean = workflow.runs_per_day * (1.0 if day.weekday() < 5 else workflow.weekend_factor) * growth * scale
    specials = [name for name, on in (("loop", cond.loop), ("outlier", cond.outlier)) if on]
    for i in range(_poisson(rng, mean) + len(specials)):
        special = specials[i] if i < len(specials) else None
        account = rng.choices(names, cum_weights=cumulative)[0]
        start_ns = state.day_start + int(_start_second(rng) * NS_PER_S) + rng.randrange(NS_PER_S // 1000) * 1000
        if special == "loop":  # a stuck run goes on for hours: start it in the morning
            start_ns = state.day_start + int(rng.uniform(6, 9) * 3600 * NS_PER_S)
        run = state.run(start_ns, account, None, special)
        # A failed run is often re-run within hours, as a new run that says what it retries.
        attempt = 0
        while special is None and (retry_at := state.retry_start(run, attempt)) is not None:
            attempt += 1
            run = state.run(retry_at, account, run.context.run_id, None)
    return state.out


def _read_default_rework() -> dict[str, int]:
    """Default rework minutes per workflow from seeds/workflows.csv (when the repo is at hand)."""
    import csv

    seeds = Path(__file__).resolve().parents[2] / "seeds" / "workflows.csv"
    if not seeds.is_file():
        return {}
    with seeds.open(encoding="utf-8", newline="") as handle:
        return {row["workflow"]: int(row["default_rework_minutes"]) for row in csv.DictReader(handle)}


def _remove_previous(home: Path) -> None:
    """Delete the files a previous generation listed in its manifest (and nothing else)."""
    manifest = home / MANIFEST
    if not manifest.is_file():
        return
    for relative in orjson.loads(manifest.read_bytes()).get("files", []):
        path = (home / relative).resolve()
        if path.is_relative_to(home.resolve()) and path.is_file():
            path.unlink()
    manifest.unlink()


def _write_trace_file(workflow: Workflow, path: Path, spans: list[Span], truncate: bool) -> None:
    """Write spans (sorted by end time) as export batches; when `truncate`, cut the last line mid-write."""
    batches = list(batched(spans, BATCH_SPANS))

    def documents() -> Iterator[dict[str, Any] | bytes]:
        for index, batch in enumerate(batches):
            document = traces_data(batch)
            if truncate and index == len(batches) - 1:
                whole = orjson.dumps(document)
                yield whole[: int(len(whole) * 0.55)]  # the Collector died mid-write
            else:
                yield document

    write_lines(path, documents())


def _last_batch(spans: list[Span]) -> int:
    return len(spans) % BATCH_SPANS or BATCH_SPANS


@dataclass(frozen=True)
class DayJob:
    """Everything one day's generation needs (picklable, for worker processes)."""

    home: Path
    day: date
    offset: int
    days: int
    seed: int
    scale: float
    plan: AnomalyPlan | None
    outlier_day: date
    truncate: bool
    cutoff_ns: int
    default_rework: dict[str, int]


@dataclass
class DayResult:
    """What one day wrote, and the label rows it produced (filed by the day they were written)."""

    day: date
    files: list[Path] = field(default_factory=list)
    spans: int = 0
    llm_calls: int = 0
    evaluation_events: int = 0
    runs_by_workflow: dict[str, int] = field(default_factory=dict)
    costs: dict[str, list[float]] = field(default_factory=dict)
    labels: list[tuple] = field(default_factory=list)
    loop_run: tuple[str, float, int] | None = None
    outlier_run: str | None = None
    truncated: tuple[Path, int] | None = None
    # ground truth for the billing and CRM fakes: (provider, model, context window) → token kinds + requests
    usage: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    runs: list[tuple] = field(default_factory=list)


def generate_day(job: DayJob) -> DayResult:
    """Generate and write one day: every workflow's trace file and the evaluation log file.

    The cyclic garbage collector is paused meanwhile: a day allocates hundreds of thousands of
    small dicts and no reference cycles, and its collections cost a third of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate_day(job)
    finally:
        if enabled:
            gc.enable()


def _generate_day(job: DayJob) -> DayResult:
    day = job.day
    folder = job.home / "traces" / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"
    growth = 0.92 + 0.16 * job.offset / max(1, job.days - 1)  # volumes grow ~16% over the window
    result = DayResult(day)
    log_records: list[LogRecord] = []
    held: list[tuple[Workflow, Path, list[Span]]] = []  # only on the day that gets the truncated line
    for workflow in WORKFLOWS.values():
        out = generate_workflow_day(
            workflow,
            day,
            seed=job.seed,
            scale=job.scale,
            cond=conditions(workflow.name, day, job.plan, job.outlier_day),
            growth=growth,
            cutoff_ns=job.cutoff_ns,
            default_rework=job.default_rework.get(workflow.name, 15),
        )
        result.loop_run = out.loop_run or result.loop_run
        result.outlier_run = out.outlier_run or result.outlier_run
        result.labels += out.labels
        result.evaluation_events += out.span_event_evaluations
        log_records += out.log_records
        result.runs_by_workflow[workflow.name] = len(out.runs)
        result.costs[workflow.name] = [run.cost_usd for run in out.runs]
        result.llm_calls += sum(run.llm_calls for run in out.runs)
        for run in out.runs:
            for provider, model, *tokens in run.usage:
                # Providers bill a call above the long-context threshold at its own rates (Anthropic's
                # usage report groups by this context window): the billing fakes need the split.
                window = "200k-1M" if sum(tokens[:4]) > LONG_CONTEXT_THRESHOLD else "0-200k"
                totals = result.usage.setdefault((provider, model, window), [0] * 7)
                for index, value in enumerate(tokens):
                    totals[index] += value
                totals[6] += 1
            result.runs.append(
                (run.context.run_id, workflow.name, run.context.account_id, run.start_ns,
                 "failure" if run.extra.get("failed") else "success", round(run.cost_usd, 6))
            )
        spans = [s for run in out.runs for s in run.spans]
        if not spans:
            continue
        spans.sort(key=_END)  # the batch processor exports spans as they end: a trace spans several lines
        result.spans += len(spans)
        path = folder / (workflow.service + (".jsonl.gz" if workflow.gzip else ".jsonl"))
        if job.truncate:
            held.append((workflow, path, spans))
        else:
            _write_trace_file(workflow, path, spans, truncate=False)
            result.files.append(path)
    if held:
        # The truncated line goes into the plain-JSON file with the smallest last batch among
        # those that keep at least one whole line: it costs as few spans as a killed Collector would.
        plain = [h for h in held if not h[0].gzip]
        candidates = [h for h in plain if len(h[2]) > BATCH_SPANS] or plain or held
        target = min(candidates, key=lambda h: _last_batch(h[2]))
        for workflow, path, spans in held:
            _write_trace_file(workflow, path, spans, truncate=path == target[1])
            result.files.append(path)
        result.truncated = (target[1], _last_batch(target[2]))
        result.spans -= _last_batch(target[2])
    if log_records:
        path = folder / "logs-evals.jsonl"
        write_lines(path, (logs_data(batch) for batch in batched(log_records, BATCH_SPANS)))
        result.files.append(path)
        result.evaluation_events += len(log_records)
    return result


def _planted(plan: AnomalyPlan, loop_run: tuple[str, float, int] | None) -> list[dict[str, Any]]:
    median_cost, median_calls = seo_reference()
    planted: list[dict[str, Any]] = []
    if loop_run:
        run_id, cost, calls = loop_run
        planted.append(
            {
                "type": "loop_spike",
                "workflow": "seo_audit",
                "run_id": run_id,
                "start_date": plan.loop_day.isoformat(),
                "end_date": plan.loop_day.isoformat(),
                "cost_usd": round(cost, 2),
                "llm_calls": calls,
                "median_cost_usd": round(median_cost, 2),
                "median_llm_calls": median_calls,
            }
        )
    planted += [
        {
            "type": "context_bloat",
            "workflow": "client_report",
            "run_id": None,
            "start_date": plan.bloat[0].isoformat(),
            "end_date": plan.bloat[1].isoformat(),
            "detail": "each call re-sends accumulated history, uncached: +4,000 input tokens per call per day",
        },
        {
            "type": "inconsistent_inputs",
            "workflow": "ad_copy_iteration",
            "run_id": None,
            "start_date": plan.dispersion_day.isoformat(),
            "end_date": plan.dispersion_day.isoformat(),
            "detail": "brief size lognormal sigma 1.4 and 6-60 variants per platform, for one day",
        },
        {
            "type": "cost_up_outcomes_flat",
            "workflow": "content_brief",
            "run_id": None,
            "start_date": plan.cost_creep[0].isoformat(),
            "end_date": plan.cost_creep[1].isoformat(),
            "detail": "tokens per call +3.5% of baseline per day and more revision passes; success rate unchanged",
        },
        {
            "type": "high_effort_low_value",
            "workflow": "ticket_triage",
            "run_id": None,
            "start_date": plan.high_effort[0].isoformat(),
            "end_date": plan.high_effort[1].isoformat(),
            "detail": "every run at high reasoning effort (6-9x medium reasoning tokens); success rate as at medium",
        },
        {
            "type": "cache_unused_on_repeated_context",
            "workflow": "pr_backlink_outreach",
            "run_id": None,
            "start_date": plan.no_cache[0].isoformat(),
            "end_date": plan.no_cache[1].isoformat(),
            "system_hash": OUTREACH_SYSTEM_HASH,
            "detail": "the same ~30k-token system prompt on every playbook call, zero cache reads",
        },
        {
            "type": "oversized_context",
            "workflow": "lead_enrichment",
            "run_id": None,
            "start_date": plan.oversized[0].isoformat(),
            "end_date": plan.oversized[1].isoformat(),
            "share_of_runs": OVERSIZED_SHARE,
            "detail": "some runs paste a whole crawl (210k-680k tokens) into one call; success does not depend on it",
        },
        {
            "type": "untraced_spend",
            "workflow": None,
            "subject": "openai",
            "run_id": None,
            "start_date": plan.untraced[0].isoformat(),
            "end_date": plan.untraced[1].isoformat(),
            "detail": "an uninstrumented support bot on gpt-5-mini in its own OpenAI project: billed, never traced",
        },
    ]
    return planted


FACTS_DIR = "demo-facts"


class FactsWriter:
    """Ground truth the demo's billing and CRM fakes build on; not an input of the pipeline.

    `usage_daily.csv`: tokens by kind and answered requests per day, provider, model and context
    window (`0-200k`, or `200k-1M` for calls above the long-context threshold, billed at that tier),
    as generated (spans later lost to the truncated line included, as a provider would still bill them).
    `runs.csv`: every run with its account, start, true outcome and rack-rate cost.
    """

    USAGE_HEADER = (
        "day,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,"
        "cache_write_1h_tokens,output_tokens,reasoning_tokens,requests,context_window\n"
    )
    RUNS_HEADER = "run_id,workflow,account_id,started_at,outcome,cost_usd\n"

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.usage_path = folder / "usage_daily.csv"
        self.runs_path = folder / "runs.csv"
        self._usage = self.usage_path.open("w")
        self._runs = self.runs_path.open("w")
        self._usage.write(self.USAGE_HEADER)
        self._runs.write(self.RUNS_HEADER)

    def add(self, result: DayResult) -> None:
        """Append one day's facts (days arrive in order)."""
        for (provider, model, window), totals in sorted(result.usage.items()):
            self._usage.write(f"{result.day},{provider},{model}," + ",".join(map(str, totals)) + f",{window}\n")
        for run_id, workflow, account, start_ns, outcome, cost in result.runs:
            started = datetime.fromtimestamp(start_ns / NS_PER_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._runs.write(f"{run_id},{workflow},{account},{started},{outcome},{cost}\n")

    def close(self) -> list[Path]:
        """Close both files; return their paths."""
        self._usage.close()
        self._runs.close()
        return [self.usage_path, self.runs_path]


def _pool(workers: int) -> Any:
    """A process pool: fork where available (workers inherit the calibration), spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn").Pool(workers)


def generate_demo(
    home: Path,
    *,
    end_date: date,
    days: int = 90,
    seed: int = 7,
    scale: float = 1.0,
    plant_anomalies: bool = True,
    workers: int | None = None,
) -> DemoSummary:
    """Write the demo's traces, evaluation logs and labels for `days` days ending `end_date`.

    Args:
        home: Folder to write under (`traces/`, `labels/`, the manifest). Files a previous
            generation listed in its manifest are removed first; nothing else is touched.
        end_date: Last day (UTC), inclusive. Labels written after it do not exist yet, so the
            last two days are mostly unlabeled.
        days: Number of days.
        seed: Random seed: the same arguments give byte-identical files.
        scale: Multiplier on run volumes (1.0 ≈ 22k runs and ≈ 260k spans over 90 days).
        plant_anomalies: Plant the DESIGN §4 anomalies (listed in `DemoSummary.planted`).
        workers: Processes generating days in parallel (default: one per CPU, at most 4). Days
            are independent, so the files are the same for any number of workers; encoding
            OTLP/JSON in Python tops out near 40k spans/s in one process.

    Returns:
        What was written.

    Raises:
        ValueError: `days` < 1, `scale` <= 0 or `workers` < 1.
    """
    if workers is None:
        workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if days < 1 or scale <= 0 or workers < 1:
        raise ValueError(f"need days >= 1, scale > 0, workers >= 1 (got {days}, {scale}, {workers})")
    started = time.perf_counter()
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    _remove_previous(home)
    calibrated_volumes()  # once, before any fork, so workers inherit it
    seo_reference()
    start_date = end_date - timedelta(days=days - 1)
    plan = anomaly_plan(start_date, end_date) if plant_anomalies else None
    next_midnight = datetime(end_date.year, end_date.month, end_date.day, tzinfo=UTC) + timedelta(days=1)
    jobs = [
        DayJob(
            home=home,
            day=start_date + timedelta(days=offset),
            offset=offset,
            days=days,
            seed=seed,
            scale=scale,
            plan=plan,
            outlier_day=_days_before(start_date, end_date, OUTLIER_DAYS_BEFORE_END),
            truncate=offset == days // 2,
            cutoff_ns=int(next_midnight.timestamp()) * NS_PER_S,
            default_rework=_read_default_rework(),
        )
        for offset in range(days)
    ]
    summary = DemoSummary(home=home, start_date=start_date, end_date=end_date)
    facts = FactsWriter(home / FACTS_DIR)
    costs: dict[str, list[float]] = defaultdict(list)
    pending_labels: dict[date, list[tuple]] = defaultdict(list)
    loop_run = None
    pool = _pool(workers) if workers > 1 and days > 1 else None
    try:
        results = pool.imap(generate_day, jobs) if pool else map(generate_day, jobs)
        for result in results:  # in day order, whatever the workers
            summary.paths += result.files
            summary.spans += result.spans
            summary.llm_calls += result.llm_calls
            summary.evaluation_events += result.evaluation_events
            for name, count in result.runs_by_workflow.items():
                summary.runs_by_workflow[name] = summary.runs_by_workflow.get(name, 0) + count
                summary.runs += count
                costs[name] += result.costs[name]
            loop_run = result.loop_run or loop_run
            facts.add(result)
            summary.outlier_run_id = result.outlier_run or summary.outlier_run_id
            if result.truncated:
                summary.truncated_file, summary.spans_lost_to_truncation = result.truncated
            for row in result.labels:
                pending_labels[datetime.fromtimestamp(row[0] // NS_PER_S, UTC).date()].append(row)
            # Labels written on a day come from runs of that day or earlier: its file is complete now.
            rows = pending_labels.pop(result.day, [])
            if rows:
                summary.paths.append(write_label_file(home / "labels", result.day, rows))
                summary.labels += len(rows)
    finally:
        if pool:
            pool.close()
            pool.join()

    summary.paths += facts.close()
    if plan is not None:
        summary.planted = _planted(plan, loop_run)
    summary.median_run_cost_usd = {name: round(_median(values), 4) for name, values in costs.items()}
    manifest = home / MANIFEST
    manifest.write_bytes(
        orjson.dumps(
            {
                "generator": "orchestration.demo.generate_demo",
                "arguments": {
                    "end_date": end_date.isoformat(),
                    "days": days,
                    "seed": seed,
                    "scale": scale,
                    "plant_anomalies": plant_anomalies,
                },
                "files": sorted(str(p.relative_to(home)) for p in summary.paths),
                "planted": summary.planted,
            },
            option=orjson.OPT_INDENT_2,
        )
    )
    summary.paths.append(manifest)
    summary.files = len(summary.paths)
    summary.bytes_written = sum(p.stat().st_size for p in summary.paths)
    summary.seconds = time.perf_counter() - started
    return summary
