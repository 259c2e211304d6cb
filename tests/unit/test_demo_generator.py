"""The demo generator writes realistic, deterministic OTLP/JSON traces, evaluations and labels."""

from __future__ import annotations

import csv
import gzip
import os
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

import orjson
import pytest

from orchestration.demo import generate_demo
from orchestration.demo.billing import openai_reports
from orchestration.demo.catalog import (
    CONVENTIONS,
    NORMAL,
    NORMAL_RUN_CEILING,
    UNPRICED_MODEL,
    WORKFLOWS,
    Conditions,
    LLMCall,
    calibrated_volumes,
    call_cost,
    plan_calls,
    plan_cost,
    plan_run,
    reasoning_multiplier,
    simulate_costs,
)
from orchestration.demo.generate import MAX_WORKERS

END = date(2026, 11, 22)
DAYS = 6
SCALE = 0.25
SEEDS_CSV = Path(__file__).resolve().parents[2] / "seeds" / "workflows.csv"
DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project.yml"


def _value(any_value: dict) -> object:
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "arrayValue" in any_value:
        return [_value(v) for v in any_value["arrayValue"].get("values", [])]
    return next(iter(any_value.values()))


def _attributes(items: list[dict]) -> dict[str, object]:
    return {item["key"]: _value(item["value"]) for item in items}


@dataclass
class Parsed:
    """Everything the generator wrote, read back the way a reader of the files would."""

    spans: list[dict] = field(default_factory=list)
    log_records: list[dict] = field(default_factory=list)
    bad_lines: list[tuple[Path, int, int]] = field(default_factory=list)  # (file, line number, line count)
    batch_sizes: list[int] = field(default_factory=list)
    labels: list[dict] = field(default_factory=list)


def _lines(path: Path) -> list[bytes]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.splitlines()


def read_home(home: Path) -> Parsed:
    parsed = Parsed()
    for path in sorted((home / "traces").rglob("*.jsonl*")):
        lines = _lines(path)
        for number, line in enumerate(lines, start=1):
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError:
                parsed.bad_lines.append((path, number, len(lines)))
                continue
            for resource in document.get("resourceSpans", []):
                service = _attributes(resource["resource"]["attributes"])["service.name"]
                count = 0
                for scope in resource["scopeSpans"]:
                    for span in scope["spans"]:
                        count += 1
                        parsed.spans.append(
                            {
                                **span,
                                "attrs": _attributes(span["attributes"]),
                                "service": service,
                                "scope": scope["scope"]["name"],
                                "file": path,
                                "line": number,
                            }
                        )
                parsed.batch_sizes.append(count)
            for resource in document.get("resourceLogs", []):
                for scope in resource["scopeLogs"]:
                    for record in scope["logRecords"]:
                        parsed.log_records.append({**record, "attrs": _attributes(record["attributes"])})
    parsed.labels = read_labels(home / "labels")
    return parsed


def read_labels(folder: Path) -> list[dict]:
    labels = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            with path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
        else:
            rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        labels += [{**row, "file": path} for row in rows]
    return labels


def _llm_spans(parsed: Parsed) -> list[dict]:
    return [
        s
        for s in parsed.spans
        if s["attrs"].get("gen_ai.operation.name") == "chat"
        or "llm.request.type" in s["attrs"]
        or s["attrs"].get("openinference.span.kind") == "LLM"
    ]


def _nanos_to_datetime(nanos: str) -> datetime:
    return datetime.fromtimestamp(int(nanos) / 1e9, UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("demo")
    summary = generate_demo(home, end_date=END, days=DAYS, seed=7, scale=SCALE)
    return home, summary, read_home(home)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("plain")
    summary = generate_demo(home, end_date=END, days=DAYS, seed=7, scale=SCALE, plant_anomalies=False)
    return home, summary, read_home(home)


def _tree(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def test_same_arguments_give_byte_identical_files(demo, tmp_path: Path):
    # given
    home, _, _ = demo
    # when: again, in another folder, with a different number of worker processes than the fixture's
    # default (one per CPU, so a fixed workers=1 was the same count on a 1-CPU runner)
    fixture_workers = min(MAX_WORKERS, os.cpu_count() or 1)
    workers = 2 if fixture_workers == 1 else 1
    generate_demo(tmp_path, end_date=END, days=DAYS, seed=7, scale=SCALE, workers=workers)
    # then
    first, second = _tree(home), _tree(tmp_path)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def test_another_seed_gives_other_data(demo, tmp_path: Path):
    home, _, _ = demo
    generate_demo(tmp_path, end_date=END, days=DAYS, seed=8, scale=SCALE)
    first, second = _tree(home), _tree(tmp_path)
    changed = [name for name in first if name in second and first[name] != second[name]]
    assert len(changed) > len(first) // 2


def test_a_day_does_not_depend_on_the_other_days(tmp_path: Path):
    # given: the same last day generated at the end of a 6-day and of a 3-day window (no anomalies,
    # whose placement depends on the window; the growth trend is at the same point on a last day)
    long, short = tmp_path / "long", tmp_path / "short"
    first = generate_demo(long, end_date=END, days=6, seed=7, scale=SCALE, plant_anomalies=False)
    second = generate_demo(short, end_date=END, days=3, seed=7, scale=SCALE, plant_anomalies=False)
    # then: every trace file of that day is the same, but the one holding the truncated line
    day = "traces/2026/11/22"
    truncated = {first.truncated_file, second.truncated_file}
    names = [p.name for p in (long / day).iterdir() if p not in truncated and short / day / p.name not in truncated]
    assert len(names) >= 5  # 2026-11-22 is a Sunday: some workflows do not run
    assert all((long / day / n).read_bytes() == (short / day / n).read_bytes() for n in names)


def test_workflows_are_exactly_the_seeded_ones(demo):
    _, summary, parsed = demo
    with SEEDS_CSV.open(newline="") as handle:
        seeded = {row["workflow"] for row in csv.DictReader(handle)}
    assert set(WORKFLOWS) == seeded
    roots = [s for s in parsed.spans if not s["parentSpanId"]]
    workflows = {s["attrs"]["workflow.name"] for s in roots}
    assert len(workflows) >= 10
    assert workflows <= seeded
    assert sum(summary.runs_by_workflow.values()) == summary.runs


def test_every_trace_is_one_run_with_a_root_carrying_run_attributes(demo):
    _, _, parsed = demo
    roots = [s for s in parsed.spans if not s["parentSpanId"]]
    assert len({s["traceId"] for s in roots}) == len(roots)
    for root in roots:
        attrs = root["attrs"]
        assert root["name"] == f"invoke_workflow {attrs['workflow.name']}"
        assert attrs["gen_ai.workflow.name"] == attrs["workflow.name"]
        assert re.fullmatch(r"wr_[0-9a-f]{16}", attrs["workflow.run_id"])
        assert re.fullmatch(r"(acct_[a-z]+|hs_company_\d{7})", attrs["client.account_id"])
    efforts = {r["attrs"]["workflow.name"] for r in roots if "workflow.reasoning_effort" in r["attrs"]}
    assert {"code_review", "seo_audit", "ticket_triage"} <= efforts
    assert efforts <= {"code_review", "seo_audit", "ticket_triage", "competitor_analysis"}
    retries = [r for r in roots if "workflow.retry_of_run_id" in r["attrs"]]
    run_ids = {r["attrs"]["workflow.run_id"] for r in roots}
    assert retries and all(r["attrs"]["workflow.retry_of_run_id"] in run_ids for r in retries)


def test_all_four_providers_and_conventions_appear(demo):
    _, _, parsed = demo
    llm = _llm_spans(parsed)
    providers = Counter(
        s["attrs"].get("gen_ai.provider.name") or s["attrs"].get("gen_ai.system") or s["attrs"].get("llm.provider")
        for s in llm
    )
    assert {"anthropic", "openai", "gcp.gemini", "deepseek", "Anthropic", "Google", "vllm"} <= set(providers)
    conventions = {
        "semconv": any("gen_ai.usage.cache_read.input_tokens" in s["attrs"] for s in llm),
        "openllmetry": any("gen_ai.usage.prompt_tokens" in s["attrs"] for s in llm),
        "openinference": any("llm.token_count.prompt" in s["attrs"] for s in llm),
        "openai_v2": any("gen_ai.openai.response.service_tier" in s["attrs"] for s in llm),
    }
    assert all(conventions.values()), conventions
    assert len(CONVENTIONS) == 4
    assert any("ephemeral_1h_input_tokens" in k for s in llm for k in s["attrs"])
    assert any("gen_ai.usage.cache_read_input_tokens" in s["attrs"] for s in llm)
    assert any("llm.usage.reasoning_tokens" in s["attrs"] for s in llm)
    assert any("llm.token_count.completion_details.reasoning" in s["attrs"] for s in llm)
    snapshots = {s["attrs"].get("gen_ai.response.model") for s in llm}
    assert "gpt-4.1-2025-04-14" in snapshots and "claude-sonnet-4-5-20250929" in snapshots


def test_unpriced_self_hosted_model_appears_in_code_refactor(demo):
    _, _, parsed = demo
    hits = [s for s in _llm_spans(parsed) if s["attrs"].get("llm.model_name") == UNPRICED_MODEL]
    assert hits
    assert {s["attrs"]["llm.provider"] for s in hits} == {"vllm"}
    assert {s["service"] for s in hits} == {WORKFLOWS["code_refactor"].service}


def test_anthropic_calls_are_sometimes_exported_twice(demo):
    _, _, parsed = demo
    by_id = {(s["traceId"], s["spanId"]): s for s in parsed.spans}
    copies = [s for s in parsed.spans if s["scope"] == "anthropic"]
    assert copies
    for copy in copies:
        parent = by_id[(copy["traceId"], copy["parentSpanId"])]
        assert parent["attrs"]["gen_ai.response.id"] == copy["attrs"]["gen_ai.response.id"]
        parent_input = parent["attrs"]["gen_ai.usage.input_tokens"]
        cache = (
            copy["attrs"]["gen_ai.usage.cache_read.input_tokens"]
            + copy["attrs"]["gen_ai.usage.cache_creation.input_tokens"]
        )
        assert copy["attrs"]["gen_ai.usage.input_tokens"] + cache == parent_input
    anthropic = [s for s in _llm_spans(parsed) if s["attrs"].get("gen_ai.provider.name") == "anthropic"]
    assert 0.03 < len(copies) / len(anthropic) < 0.25


def test_failed_calls_carry_an_error_and_no_usage(demo):
    _, _, parsed = demo
    failed = [s for s in _llm_spans(parsed) if s["status"].get("code") == 2]
    assert failed
    for span in failed:
        assert span["attrs"]["error.type"] in {"rate_limit", "overloaded"}
        assert not any("usage" in k or "token_count" in k for k in span["attrs"])


def test_prompt_content_is_in_the_raw_files(demo):
    _, _, parsed = demo
    keys = {k for s in parsed.spans for k in s["attrs"]}
    assert {"gen_ai.input.messages", "gen_ai.prompt.0.content"} <= keys
    assert "traceloop.entity.input" in keys


def test_coordination_and_tool_spans(demo):
    _, _, parsed = demo
    prompts = Counter(
        s["attrs"]["gen_ai.prompt.name"] for s in parsed.spans if s["attrs"].get("gen_ai.agent.name") == "orchestrator"
    )
    assert {"route_task", "handoff", "summarize_for_handoff"} <= set(prompts)
    tools = [s for s in parsed.spans if s["name"].startswith("execute_tool ")]
    assert tools and all(s["attrs"]["gen_ai.tool.name"] == s["name"].split(" ", 1)[1] for s in tools)
    assert not any("usage" in k for s in tools for k in s["attrs"])
    agents = {s["attrs"]["gen_ai.agent.name"] for s in parsed.spans if s["name"].startswith("invoke_agent ")}
    assert {"auditor", "analyst", "reviewer", "security_reviewer", "editor"} <= agents


def test_batches_hold_at_most_200_spans_and_split_traces(demo):
    _, _, parsed = demo
    assert max(parsed.batch_sizes) <= 200
    lines_of_trace = defaultdict(set)
    for s in parsed.spans:
        lines_of_trace[s["traceId"]].add((s["file"], s["line"]))
    assert any(len(lines) > 1 for lines in lines_of_trace.values())
    assert any(s["file"].name.endswith(".jsonl.gz") for s in parsed.spans)


def test_exactly_one_truncated_last_line(demo):
    _, summary, parsed = demo
    assert len(parsed.bad_lines) == 1
    path, number, count = parsed.bad_lines[0]
    assert path == summary.truncated_file and number == count and count > 1
    assert summary.spans == len(parsed.spans)


def test_labels_arrive_late_and_are_filed_by_the_day_written(demo):
    _, _, parsed = demo
    roots = {s["attrs"]["workflow.run_id"]: s for s in parsed.spans if not s["parentSpanId"]}
    assert parsed.labels
    assert any(p.suffix == ".jsonl" for p in {row["file"] for row in parsed.labels})
    first_label = {}
    for row in parsed.labels:
        labeled_at = datetime.strptime(row["labeled_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert row["file"].name.startswith(labeled_at.date().isoformat())
        assert row["outcome"] in {"success", "failure"}
        assert labeled_at.date() <= END
        root = roots.get(row["run_id"])
        if root is None:  # its spans were in the truncated line
            continue
        ended = _nanos_to_datetime(root["endTimeUnixNano"])
        assert labeled_at >= ended + timedelta(hours=1) - timedelta(seconds=1)
        first_label[row["run_id"]] = min(first_label.get(row["run_id"], labeled_at), labeled_at)
        if row["retry_of_run_id"]:
            assert root["attrs"]["workflow.retry_of_run_id"] == row["retry_of_run_id"]
    assert all(
        at - _nanos_to_datetime(roots[r]["endTimeUnixNano"]) <= timedelta(hours=48) for r, at in first_label.items()
    )
    assert any(
        row["file"].name[:10] > _nanos_to_datetime(roots[row["run_id"]]["endTimeUnixNano"]).date().isoformat()
        for row in parsed.labels
        if row["run_id"] in roots
    )
    # the last day's runs are mostly waiting for a reviewer
    reviewed = {w for w, spec in WORKFLOWS.items() if not spec.evaluator}
    last_day = [
        r
        for r, s in roots.items()
        if s["attrs"]["workflow.name"] in reviewed and _nanos_to_datetime(s["startTimeUnixNano"]).date() == END
    ]
    labeled = {row["run_id"] for row in parsed.labels}
    assert last_day and sum(r in labeled for r in last_day) / len(last_day) < 0.5
    # some label is corrected later by a second row (labels.RELABEL_SHARE)
    assert Counter(row["run_id"] for row in parsed.labels).most_common(1)[0][1] >= 2


def test_failed_runs_have_rework_minutes_some_blank(demo):
    _, _, parsed = demo
    failures = [row for row in parsed.labels if row["outcome"] == "failure"]
    assert failures
    values = [row["rework_minutes"] for row in failures]
    assert any(v in ("", None) for v in values) and any(v not in ("", None) for v in values)


def test_triage_runs_are_judged_by_evaluation_events(demo):
    _, summary, parsed = demo
    spans = {(s["traceId"], s["spanId"]): s for s in parsed.spans}
    records = [r for r in parsed.log_records if r["eventName"] == "gen_ai.evaluation.result"]
    task = [r for r in records if r["attrs"]["gen_ai.evaluation.name"] == "task_completion"]
    assert task and any(r["attrs"]["gen_ai.evaluation.name"] == "relevance" for r in records)
    services = set()
    for record in task:
        span = spans.get((record["traceId"], record["spanId"]))
        if span is None:
            continue
        services.add(span["service"])
        assert record["attrs"].get("gen_ai.evaluation.score.label", "pass") in {"pass", "fail"}
        assert 0 <= record["attrs"]["gen_ai.evaluation.score.value"] <= 1
        assert int(record["timeUnixNano"]) >= int(span["endTimeUnixNano"])
    assert services == {WORKFLOWS["email_triage"].service, WORKFLOWS["ticket_triage"].service}
    span_events = [e for s in parsed.spans for e in s.get("events", []) if e["name"] == "gen_ai.evaluation.result"]
    assert span_events
    assert summary.evaluation_events == len(records) + len(span_events)


def test_planted_anomalies_are_listed_and_visible(demo):
    _, summary, parsed = demo
    types = {p["type"]: p for p in summary.planted}
    assert set(types) == {
        "loop_spike",
        "context_bloat",
        "inconsistent_inputs",
        "cost_up_outcomes_flat",
        "high_effort_low_value",
        "cache_unused_on_repeated_context",
        "oversized_context",
        "untraced_spend",
    }
    for planted in summary.planted:
        assert planted["workflow"] in WORKFLOWS or (planted["workflow"] is None and planted["subject"] == "openai")
        assert date.fromisoformat(planted["start_date"]) <= date.fromisoformat(planted["end_date"])
    loop = types["loop_spike"]
    assert loop["cost_usd"] >= 20 * loop["median_cost_usd"] and loop["llm_calls"] >= 20 * loop["median_llm_calls"]
    loop_trace = {s["traceId"] for s in parsed.spans if s["attrs"].get("workflow.run_id") == loop["run_id"]}
    assert len(loop_trace) == 1
    # cache unused: every playbook call has the same hash and no cache read
    playbook = [
        s
        for s in parsed.spans
        if "gen_ai.request.system_hash" in s["attrs"] and "gen_ai.usage.prompt_tokens" in s["attrs"]
    ]
    assert playbook and {s["attrs"]["gen_ai.request.system_hash"] for s in playbook} == {
        types["cache_unused_on_repeated_context"]["system_hash"]
    }
    assert all(s["attrs"]["gen_ai.usage.cache_read_input_tokens"] == 0 for s in playbook)
    assert all(s["attrs"]["gen_ai.usage.prompt_tokens"] > 30_000 for s in playbook)
    # oversized context
    lead = WORKFLOWS["lead_enrichment"].service
    assert any(s["attrs"].get("gen_ai.usage.prompt_tokens", 0) > 200_000 for s in parsed.spans if s["service"] == lead)
    # high effort everywhere in ticket triage
    triage = [s for s in parsed.spans if not s["parentSpanId"] and s["attrs"]["workflow.name"] == "ticket_triage"]
    assert triage and {s["attrs"]["workflow.reasoning_effort"] for s in triage} == {"high"}


def bot_days(home: Path) -> set[date]:
    """Days on which the OpenAI fake bills the uninstrumented support bot's project."""
    usage, _ = openai_reports(home)
    return {day for day, results in usage.items() if any(r["project_id"] == "proj_demo_support_bot" for r in results)}


def test_untraced_spend_is_billed_on_its_planted_days_only(demo, plain):
    home, summary, _ = demo
    untraced = next(p for p in summary.planted if p["type"] == "untraced_spend")
    first, last = date.fromisoformat(untraced["start_date"]), date.fromisoformat(untraced["end_date"])
    days = bot_days(home)
    assert days and min(days) == first and max(days) <= last
    assert bot_days(plain[0]) == set()


def test_no_anomalies_when_not_planted(plain):
    _, summary, parsed = plain
    assert summary.planted == []
    playbook = [
        s
        for s in parsed.spans
        if "gen_ai.request.system_hash" in s["attrs"] and "gen_ai.usage.prompt_tokens" in s["attrs"]
    ]
    assert any(s["attrs"]["gen_ai.usage.cache_read_input_tokens"] > 0 for s in playbook)
    lead = WORKFLOWS["lead_enrichment"].service
    assert not any(
        s["attrs"].get("gen_ai.usage.prompt_tokens", 0) > 200_000 for s in parsed.spans if s["service"] == lead
    )
    triage = [s for s in parsed.spans if not s["parentSpanId"] and s["attrs"]["workflow.name"] == "ticket_triage"]
    assert {s["attrs"]["workflow.reasoning_effort"] for s in triage} != {"high"}
    seo = [s for s in parsed.spans if s["service"] == WORKFLOWS["seo_audit"].service]
    assert max(Counter(s["traceId"] for s in seo).values()) < 120


def _semconv_call(attrs: dict) -> LLMCall:
    read = attrs.get("gen_ai.usage.cache_read.input_tokens", 0)
    w5 = attrs.get("gen_ai.usage.cache_creation.ephemeral_5m_input_tokens", 0)
    w1 = attrs.get("gen_ai.usage.cache_creation.ephemeral_1h_input_tokens", 0)
    return LLMCall(
        attrs["gen_ai.request.model"],
        uncached=attrs["gen_ai.usage.input_tokens"] - read - w5 - w1,
        output=attrs["gen_ai.usage.output_tokens"],
        cache_read=read,
        write_5m=w5,
        write_1h=w1,
    )


def test_competitor_analysis_crosses_the_long_context_tier_and_has_one_87_dollar_outlier(demo):
    _, summary, parsed = demo
    service = WORKFLOWS["competitor_analysis"].service
    calls = [s for s in _llm_spans(parsed) if s["service"] == service and s["scope"] != "anthropic"]
    assert max(s["attrs"].get("gen_ai.usage.input_tokens", 0) for s in calls) > 200_000
    # the outlier, priced back from its spans at the rates the generator calibrates with
    trace = next(s["traceId"] for s in parsed.spans if s["attrs"].get("workflow.run_id") == summary.outlier_run_id)
    priced = [
        _semconv_call(s["attrs"]) for s in calls if s["traceId"] == trace and "gen_ai.usage.input_tokens" in s["attrs"]
    ]
    assert sum(call_cost(c) for c in priced) == pytest.approx(87.0, abs=1.0)
    assert max(c.output for c in priced) <= 64_000
    assert summary.median_run_cost_usd["competitor_analysis"] < 87 / 5


def test_normal_runs_stay_clear_of_the_loop_threshold():
    """With nothing planted, no run may be a loop: code_review's high-effort tail reached 10.5x."""
    loop_multiple = float(re.search(r"anomaly_loop_multiple: *([0-9.]+)", DBT_PROJECT.read_text()).group(1))
    assert loop_multiple * 0.8 >= NORMAL_RUN_CEILING  # room for a 14-day median below the target
    workflow, volume = WORKFLOWS["code_review"], calibrated_volumes()["code_review"]
    ceiling = NORMAL_RUN_CEILING * workflow.target_median_cost_usd
    as_drawn, redrawn = Random("tail"), Random("tail")
    drawn = [
        plan_cost(workflow.planner(as_drawn, NORMAL, volume, reasoning_multiplier(as_drawn, "high")))
        for _ in range(3000)
    ]
    assert sum(cost >= ceiling for cost in drawn) >= 3  # the tail the ceiling cuts is there
    kept = [plan_cost(plan_run(redrawn, workflow, NORMAL, volume, "high")) for _ in range(3000)]
    assert max(kept) < ceiling
    # a planted day's runs move cost on purpose: none is redrawn (code_review ignores the condition)
    planted, on_planted_day = Conditions(dispersion=True), Random("tail")
    assert [plan_cost(plan_run(on_planted_day, workflow, planted, volume, "high")) for _ in range(3000)] == drawn


def test_seo_audit_calls_stay_below_the_long_context_tier():
    workflow, volumes, rng = WORKFLOWS["seo_audit"], calibrated_volumes(), Random("tier")
    for _ in range(500):
        blocks = workflow.planner(rng, NORMAL, volumes["seo_audit"], reasoning_multiplier(rng, "high"))
        assert max(c.input_total for c in plan_calls(blocks)) < 200_000


def test_calibrated_medians_land_on_their_targets():
    volumes = calibrated_volumes()
    for name, workflow in WORKFLOWS.items():
        median = statistics.median(simulate_costs(workflow, volumes[name]))
        assert median == pytest.approx(workflow.target_median_cost_usd, rel=0.05), name
    assert WORKFLOWS["email_triage"].target_median_cost_usd == 0.07
    assert WORKFLOWS["seo_audit"].target_median_cost_usd == 4.20
    assert WORKFLOWS["competitor_analysis"].target_median_cost_usd == 12.40


def test_the_truth_of_a_call_s_cost_is_priced_at_the_half_hour_it_started_in() -> None:
    # given one DeepSeek call (peak 00:30-16:30 UTC, off-peak otherwise) and one Claude call (no hours)
    deepseek = LLMCall("deepseek-chat", uncached=1_000_000, output=1_000_000)
    claude = LLMCall("claude-sonnet-4-5", uncached=1_000_000, output=1_000_000)
    day = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp()) * 10**9
    at = {hh_mm: day + (int(hh_mm[:2]) * 3600 + int(hh_mm[3:]) * 60) * 10**9
          for hh_mm in ("00:29", "00:30", "14:05", "16:29", "16:30", "23:59")}  # fmt: skip

    # when each is priced at those times
    deepseek_costs = {hh_mm: round(call_cost(deepseek, ns), 6) for hh_mm, ns in at.items()}

    # then DeepSeek pays its peak price from 00:30 to 16:30 and its off-peak price otherwise, as the price
    # book says; a model without hours pays the same at every time
    peak, off_peak = deepseek_costs["14:05"], deepseek_costs["23:59"]
    assert peak > off_peak
    assert deepseek_costs == {"00:29": off_peak, "00:30": peak, "14:05": peak, "16:29": peak, "16:30": off_peak,
                              "23:59": off_peak}  # fmt: skip
    assert len({round(call_cost(claude, ns), 9) for ns in at.values()}) == 1
