"""How runs get judged: reviewer labels that arrive late, and an automated evaluator's events.

Most workflows are labeled by a senior reviewer 1–48 h after the run ends (domain.md), so a run's
label lands in a later day's file and the last two days are mostly unlabeled. A few labels are
corrected later by a second row. email_triage and ticket_triage are judged by an evaluator
instead, which emits `gen_ai.evaluation.result` as OTLP log records (now and then as span events
on the evaluated span), plus `relevance` scores that must decide nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from random import Random
from typing import Any

import orjson

from orchestration.demo.catalog import REVIEWERS, Workflow
from orchestration.demo.otlp import LogRecord, SpanEvent
from orchestration.demo.traces import NS_PER_S, EmittedRun

LABEL_FIELDS = ("run_id", "outcome", "labeled_at", "reviewer", "rework_minutes", "escalated", "retry_of_run_id")
EVALUATION_EVENT = "gen_ai.evaluation.result"

UNREVIEWED_SHARE = 0.015  # runs a reviewer never got to
RELABEL_SHARE = 0.02  # labels corrected later by a second row
BLANK_REWORK_SHARE = 0.2  # failures without a figure: the workflow's default minutes apply
SPOT_CHECK_SHARE = 0.01  # evaluator-judged runs a human also labels (the label wins)
SPAN_EVENT_SHARE = 0.06  # evaluations recorded on the span instead of as a log record
SCORE_ONLY_SHARE = 0.04  # evaluations with a score but no pass/fail label
RELEVANCE_SHARE = 0.25  # evaluator runs also scored for relevance (decides nothing)
REVIEWED_RELEVANCE_SHARE = 0.05  # reviewed runs scored for relevance too
ESCALATE_ON_FAILURE = 0.14
ESCALATE_ON_SUCCESS = 0.004
HOUR_NS = 3600 * NS_PER_S


@dataclass(slots=True)
class Verdict:
    """What happened to a run, decided when it is generated."""

    outcome: str  # success | failure
    escalated: bool
    rework_minutes: int | None


def decide(rng: Random, workflow: Workflow, success_probability: float, default_rework: int) -> Verdict:
    """Draw a run's outcome, escalation and rework minutes."""
    success = rng.random() < success_probability
    escalated = rng.random() < (ESCALATE_ON_SUCCESS if success else ESCALATE_ON_FAILURE)
    if success:
        rework = rng.randint(1, max(1, default_rework // 3)) if rng.random() < 0.1 else None
    elif rng.random() < BLANK_REWORK_SHARE:
        rework = None
    else:
        rework = max(1, int(default_rework * rng.lognormvariate(0.0, 0.5)))
    return Verdict("success" if success else "failure", escalated, rework)


def iso_z(nanos: int) -> str:
    """UTC ISO-8601 with a Z, to the second (how review tools export timestamps)."""
    return datetime.fromtimestamp(nanos // NS_PER_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _label(run: EmittedRun, verdict: Verdict, at_ns: int, reviewer: str) -> tuple[Any, ...]:
    return (
        at_ns,
        run.context.run_id,
        verdict.outcome,
        iso_z(at_ns),
        reviewer,
        verdict.rework_minutes,
        verdict.escalated,
        run.context.retry_of,
    )


def review_labels(rng: Random, workflow: Workflow, run: EmittedRun, verdict: Verdict, cutoff_ns: int) -> list[tuple]:
    """Label rows for a reviewed run, as (labeled_at_ns, *LABEL_FIELDS); labels after the cutoff don't exist yet.

    The reviewer's delay is 1–48 h, skewed late (1 + 47 h × Beta(3, 1.3), median ≈ 35 h):
    reviewers batch their queue, so at the end of the window the last day's runs are nearly all,
    and the day before's about half, still waiting.
    """
    if rng.random() < UNREVIEWED_SHARE:
        return []
    reviewers = REVIEWERS[workflow.segment]
    at = run.end_ns + int((1.0 + 47.0 * rng.betavariate(3.0, 1.3)) * HOUR_NS)
    rows = []
    if at < cutoff_ns:
        rows.append(_label(run, verdict, at, rng.choice(reviewers)))
    if rng.random() < RELABEL_SHARE:
        again = at + int(rng.uniform(24, 120) * HOUR_NS)
        flipped = Verdict(
            ("failure" if verdict.outcome == "success" else "success") if rng.random() < 0.6 else verdict.outcome,
            verdict.escalated,
            verdict.rework_minutes,
        )
        if again < cutoff_ns:
            rows.append(_label(run, flipped, again, "lead.reviewer"))
    return rows


def spot_check_labels(rng: Random, run: EmittedRun, verdict: Verdict, cutoff_ns: int) -> list[tuple]:
    """A rare human label on an evaluator-judged run."""
    if rng.random() >= SPOT_CHECK_SHARE:
        return []
    at = run.end_ns + int(rng.uniform(2, 40) * HOUR_NS)
    return [_label(run, verdict, at, "qa.spotcheck")] if at < cutoff_ns else []


def _evaluation(rng: Random, run: EmittedRun, name: str, passed: bool, with_label: bool) -> dict[str, Any]:
    score = rng.uniform(0.7, 1.0) if passed else rng.uniform(0.05, 0.45)
    attributes: dict[str, Any] = {"gen_ai.evaluation.name": name, "gen_ai.evaluation.score.value": round(score, 3)}
    if with_label:
        attributes["gen_ai.evaluation.score.label"] = "pass" if passed else "fail"
    if run.evaluated_response_id:
        attributes["gen_ai.response.id"] = run.evaluated_response_id
    return attributes


def evaluations(rng: Random, run: EmittedRun, verdict: Verdict | None, latest_ns: int) -> list[LogRecord]:
    """The evaluator's events for a run: task_completion (when `verdict`), sometimes relevance.

    A task_completion verdict becomes a log record parented to the evaluated span, or (a few)
    a span event on that span, which is then returned nowhere but carried by the span itself.
    """
    span = run.evaluated
    if span is None:
        return []
    records = []
    at = min(latest_ns, run.end_ns + rng.randint(2, 150) * NS_PER_S)
    if verdict is not None:
        attributes = _evaluation(
            rng, run, "task_completion", verdict.outcome == "success", rng.random() >= SCORE_ONLY_SHARE
        )
        if rng.random() < SPAN_EVENT_SHARE:
            span.events.append(SpanEvent(EVALUATION_EVENT, span.end_ns - 1_000_000, attributes))
            run.extra["span_event_evaluations"] = 1
        else:
            records.append(
                LogRecord(
                    at, EVALUATION_EVENT, attributes, run.context.trace_id, span.span_id, scope_name="agency.evaluator"
                )
            )
    share = RELEVANCE_SHARE if verdict is not None else REVIEWED_RELEVANCE_SHARE
    if rng.random() < share:
        attributes = _evaluation(rng, run, "relevance", rng.random() < 0.85, True)
        records.append(
            LogRecord(
                at + NS_PER_S,
                EVALUATION_EVENT,
                attributes,
                run.context.trace_id,
                span.span_id,
                scope_name="agency.evaluator",
            )
        )
    return records


def label_format(day: date) -> str:
    """Some days the review tool exports JSON lines instead of CSV."""
    return "jsonl" if day.toordinal() % 6 == 0 else "csv"


def write_label_file(labels_dir: Path, day: date, rows: list[tuple]) -> Path:
    """Write one day's label rows (sorted by labeled_at, then run id) as CSV or JSON lines."""
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    labels_dir.mkdir(parents=True, exist_ok=True)
    if label_format(day) == "jsonl":
        path = labels_dir / f"{day.isoformat()}.jsonl"
        with path.open("wb") as handle:
            for row in rows:
                handle.write(orjson.dumps(dict(zip(LABEL_FIELDS, row[1:], strict=True))) + b"\n")
        return path
    path = labels_dir / f"{day.isoformat()}.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LABEL_FIELDS)
    for _, run_id, outcome, labeled_at, reviewer, rework, escalated, retry_of in rows:
        writer.writerow(
            [
                run_id,
                outcome,
                labeled_at,
                reviewer,
                "" if rework is None else rework,
                "true" if escalated else "false",
                retry_of or "",
            ]
        )
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
