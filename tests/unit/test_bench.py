"""The benchmark's workload and bare scans, at a tiny scale (no Dagster)."""

import json
from datetime import date
from pathlib import Path

import pytest

from bench.run import PROFILES, REPO, gate_shares, generator_sources, trace_files, write_results
from bench.scan import run_scan
from bench.workload import link_days, variant_workflows
from orchestration.demo import catalog


def test_variants_keep_the_demo_volume_across_fifty_workflows():
    variants = variant_workflows(50)
    assert len(variants) == 50
    assert len({w.service for w in variants.values()}) == 50  # one trace file per workflow and day
    assert set(catalog.WORKFLOWS) <= set(variants)  # the first variant keeps the demo's name
    for name, base in catalog.WORKFLOWS.items():
        share = sum(w.runs_per_day for w in variants.values() if w.name == name or w.name.startswith(name + "_v"))
        assert share == pytest.approx(base.runs_per_day)


@pytest.fixture(scope="module")
def tiny_workload(tmp_path_factory: pytest.TempPathFactory):
    """Two days at 1/2000 of the default volume, generated in a child process.

    The generator swaps the demo catalog for the 50 variants in its own process only, so this
    test process keeps the demo's catalog for the other tests.
    """
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("bench") / "home"
    code = (
        "from datetime import date; from pathlib import Path; import json;"
        "from bench.workload import generate_workload;"
        f"s = generate_workload(Path({str(home)!r}), end_date=date(2026, 11, 21), days=2, scale=0.0005);"
        "print(json.dumps({'spans': s.spans, 'workflows': len(s.runs_by_workflow)}))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    import json

    return home, json.loads(out.stdout.strip().splitlines()[-1])


def test_the_bare_scans_and_the_bare_load_find_every_span_of_the_workload(tiny_workload, tmp_path):
    home, summary = tiny_workload
    assert summary["workflows"] == 50
    files = trace_files(home)
    methods = ("reference", "fastest", "raw_floor")
    results = {method: run_scan(method, files, tmp_path / f"{method}.duckdb") for method in methods}
    for result in results.values():
        # the truncated line's spans are lost to all three, as to the loader
        assert result["spans"] == summary["spans"]
        assert 0 < result["spans_with_usage"] < result["spans"]
    # the bare load reads the same usage out of its attribute JSON as the scans out of the OTLP lists
    assert len({result["spans_with_usage"] for result in results.values()}) == 1


def test_the_report_shows_the_bare_load_against_the_reference_scan(tmp_path):
    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    figures["scan"]["reference"]["seconds"] = 40.0
    figures["scan"]["reference_after"]["seconds"] = 40.0
    figures["scan"]["raw_floor"] = {"seconds": 60.0, "spans": 10, "spans_with_usage": 5}
    figures["ingest"].update(seconds=150.0, raw_load_seconds=90.0, staging_seconds=60.0)
    out = tmp_path / "RESULTS.md"
    write_results(out, PROFILES["default"], figures)
    text = out.read_text()
    assert "| 60.00 | 10 | 2.50× |" in text  # ingest over the bare load
    assert "takes **1.50×** the reference scan" in text
    assert "The loader takes 1.50× the bare load" in text and "staging adds 1.50× the reference scan" in text
    del figures["scan"]["raw_floor"]  # figures of an older run
    write_results(out, PROFILES["default"], figures)
    assert "bare load" not in out.read_text()


def test_the_report_gives_the_stale_run_check_only_as_a_night_runs_it(tmp_path):
    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    out = tmp_path / "RESULTS.md"
    figures.update(stale_check_main_seconds=1.234, stale_check_main_scoped=True)
    write_results(out, PROFILES["default"], figures)
    assert "as the next night runs it, warm, it took **1.23 s**" in out.read_text()
    # figures recorded before the check was scoped timed it over every run of all history
    del figures["stale_check_main_scoped"]
    write_results(out, PROFILES["default"], figures)
    assert "1.23 s" not in out.read_text()


def test_history_links_share_the_same_files_and_the_loader_finds_them(tiny_workload, tmp_path):
    from orchestration.sources.otel.client import discover_trace_files

    home, _ = tiny_workload
    made = link_days(home, tmp_path, date(2026, 11, 21), date(2026, 11, 21))
    day = Path("traces") / "2026" / "11" / "21"
    originals = sorted(p.name for p in (home / day).iterdir())
    assert made >= len(originals) > 0
    for name in originals:
        assert (tmp_path / day / name).is_symlink()
        assert (tmp_path / day / name).resolve() == (home / day / name).resolve()
    assert not (tmp_path / "traces" / "2026" / "11" / "20").exists()
    # the loader's discovery sees every linked file (it does not descend into linked folders)
    found = discover_trace_files(tmp_path / "traces", date(2026, 11, 21), date(2026, 11, 21))
    assert sorted(f.path.name for f in found) == originals


def test_gate_shares_divide_gates_by_the_stage_they_gate_and_mark_skipped_sources():
    report = {
        "steps": {
            "otel_traces": 10.0, "raw__labels_reviews": 2.0, "dbt_models": 20.0, "bi_snapshot": 5.0,
            "openai_reports": 0.05, "marts__fct_llm_calls_fct_llm_calls_schema": 1.0,
            "marts__mart_unit_economics_mart_unit_economics_schema": 0.5,
        },
        # a raw table's gate runs in its loader's step and records its own seconds
        "gates": {
            "raw/otel_spans:otel_spans_schema": 0.6, "raw/otel_eval_events:otel_eval_events_schema": 0.4,
            "raw/labels_reviews:labels_reviews_schema": 0.2, "raw/openai_usage:openai_usage_schema": 0.02,
            "marts/fct_llm_calls:fct_llm_calls_schema": 0.9,
        },
        "gate_steps": {
            "raw/otel_spans:otel_spans_schema": "otel_traces",
            "raw/otel_eval_events:otel_eval_events_schema": "otel_traces",
            "raw/labels_reviews:labels_reviews_schema": "raw__labels_reviews",
            "raw/openai_usage:openai_usage_schema": "openai_reports",
            "marts/fct_llm_calls:fct_llm_calls_schema": "marts__fct_llm_calls_fct_llm_calls_schema",
        },
        "skipped_steps": ["openai_reports"],
    }
    shares = {s["stage"]: s for s in gate_shares(report)}
    assert shares["otel_traces"]["share"] == pytest.approx(1.0 / 9.0)  # the step less its gates
    assert shares["raw__labels_reviews"]["share"] == pytest.approx(0.2 / 1.8)
    # the marts' gates are steps of their own after the dbt step
    assert shares["dbt_models ← marts gates"]["share"] == pytest.approx(1.5 / 20.0)
    assert shares["openai_reports"]["share"] == pytest.approx(0.02 / 0.03) and not shares["openai_reports"]["loaded"]
    assert all(s["loaded"] for name, s in shares.items() if name != "openai_reports")


def test_the_worst_gate_share_leaves_out_skipped_sources_and_lists_them(tmp_path):
    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    figures["gates"] = {
        run: [
            {"stage": "otel_traces", "stage_seconds": 10.0, "gate_seconds": 0.5, "share": 0.05, "loaded": True},
            {"stage": "hubspot_deals", "stage_seconds": 0.05, "gate_seconds": 0.02, "share": 0.4, "loaded": False},
        ]
        for run in ("backfill", "nightly_30", "nightly_360")
    }
    out = tmp_path / "RESULTS.md"
    write_results(out, PROFILES["default"], figures)
    text = out.read_text()
    assert "worst stage that loaded data, full backfill | **5.0%** | ≤ 15% | **pass** |" in text
    assert "| backfill | hubspot_deals (skipped) | 0.05 | 0.020 | 40.0% |" in text


def test_the_night_is_the_median_of_first_nights_and_names_its_parts(tmp_path):
    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    for label, seconds in (("30", [30.0, 20.0, 25.0]), ("360", [40.0, 26.0, 27.0])):
        median = {**figures["nightly"][label]["median"], "wall_seconds": sorted(seconds)[1],
                  "recompute": {"days": [["2026-11-15", 1], ["2026-11-17", 2]], "seconds": 12.5}}
        figures["nightly"][label] = {"all_seconds": seconds, "median_seconds": sorted(seconds)[1], "median": median}
    out = tmp_path / "RESULTS.md"
    write_results(out, PROFILES["default"], figures)
    text = out.read_text()
    # 27 / 25, neither the fastest (26 / 20) nor the slowest (40 / 30)
    assert "27.0 s / 25.0 s = **1.08×**" in text and "median of 3" in text
    assert "| 30.0, 20.0, 25.0 | 25.0 |" in text
    assert "| 12.5 (2026-11-15..2026-11-17, 3 stale runs) |" in text


def test_a_report_stitched_from_phases_of_different_runs_says_so(tmp_path):
    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    same = {"date": "2026-12-07 02:38 UTC", "commit": "abc1234", "machine": "Linux"}
    figures["provenance"] = {"main": same, "nightly": same}
    out = tmp_path / "RESULTS.md"
    write_results(out, PROFILES["default"], figures)
    text = out.read_text()
    assert "ran apart" not in text and "- main phase: benchmark started 2026-12-07 02:38 UTC on commit abc1234" in text
    figures["provenance"]["nightly"] = {**same, "commit": "def5678 with uncommitted changes"}
    write_results(out, PROFILES["default"], figures)
    text = out.read_text()
    assert "**the phases ran apart**" in text and "on commit def5678 with uncommitted changes" in text


def test_the_acceptance_ratio_divides_by_the_mean_of_both_reference_scans(tmp_path):
    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    figures["scan"]["reference"]["seconds"] = 40.0
    figures["scan"]["reference_after"] = {"seconds": 60.0, "spans": 10, "spans_with_usage": 5}
    figures["ingest"]["seconds"] = 150.0
    out = tmp_path / "RESULTS.md"
    write_results(out, PROFILES["small"], figures)
    text = out.read_text()
    assert "150.0 s / 50.0 s = **3.00×**" in text  # not 3.75× (before only) nor 2.50× (after only)
    assert "| the same, after the backfill | 60.00 | 10 | 2.50× |" in text
    del figures["scan"]["reference_after"]
    write_results(out, PROFILES["small"], figures)
    assert "150.0 s / 40.0 s = **3.75×**" in out.read_text()


def test_only_the_default_profile_passes_or_fails_the_acceptance_lines(tmp_path):
    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    figures["ingest"]["seconds"] = figures["scan"]["reference"]["seconds"] * 4  # 4×: over the 1.5× line
    out = tmp_path / "RESULTS.md"

    write_results(out, PROFILES["default"], figures)
    default = out.read_text()
    write_results(out, PROFILES["small"], figures)
    small = out.read_text()

    assert "## Acceptance" in default and "≤ 1.5× | **FAIL** |" in default
    assert "## The acceptance lines at this scale" in small and "≤ 1.5× | over |" in small
    assert "**FAIL**" not in small and "**pass**" not in small


def test_the_workload_digest_covers_the_generators_code_and_not_the_demo_runner():
    names = {path.relative_to(REPO).as_posix() for path in generator_sources()}
    assert {"bench/workload.py", "orchestration/demo/generate.py", "orchestration/demo/otlp.py"} <= names
    assert "orchestration/demo/run.py" not in names
    assert not any(name.startswith("orchestration/demo/apis/") for name in names)


def test_a_phase_without_provenance_counts_as_run_apart_and_old_nights_are_refused(tmp_path):
    from bench.run import report_only

    figures = json.loads((Path(__file__).parents[1] / "fixtures" / "bench_figures.json").read_text())
    unrecorded = {"date": "not recorded", "commit": "not recorded", "machine": "not recorded"}
    figures["provenance"] = {"main": unrecorded, "nightly": {"date": "2026-12-07 02:38 UTC", "commit": "abc1234"}}
    out = tmp_path / "RESULTS.md"
    write_results(out, PROFILES["default"], figures)
    assert "**the phases ran apart**" in out.read_text()

    # figures whose nights were measured the old way (the nightly job alone, best of three)
    for label in ("30", "360"):
        night = figures["nightly"][label]
        figures["nightly"][label] = {"all_seconds": night["all_seconds"], "best_seconds": 1.0, "best": night["median"]}
    (tmp_path / "figures.json").write_text(json.dumps(figures))
    with pytest.raises(SystemExit, match="measured the old way"):
        report_only(tmp_path, out, PROFILES["default"])
