"""`agentledger demo` fails (exit 1) when the recompute run after its nightly run fails, as `run` does."""

import os
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

import orchestration.demo.apis
import orchestration.demo.billing
import orchestration.demo.generate
import orchestration.demo.run as demo_run
import orchestration.runner
from orchestration.runner import RecomputeOutcome, RunOutcome
from orchestration.settings import Settings


def test_a_failed_recompute_fails_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a nightly run that succeeds and a recompute run after it that fails
    outcome = RunOutcome(
        success=True,
        run_id="night",
        recompute=RecomputeOutcome(
            days=[(date(2026, 11, 10), 2)],
            run=RunOutcome(success=False, run_id="again", failures=["step dbt failed: boom"]),
        ),
    )
    summary = SimpleNamespace(runs=1, spans=1, labels=1, files=1)
    monkeypatch.setattr(orchestration.demo.generate, "generate_demo", lambda home, **kwargs: summary)
    monkeypatch.setattr(orchestration.demo.billing, "write_focus_exports", lambda home: None)
    monkeypatch.setattr(demo_run, "serve_demo_apis", lambda stack, home: None)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "shell-dagster"))  # run_demo sets it: restored after
    monkeypatch.setattr(orchestration.runner, "run_partitions", lambda settings, first, last: outcome)
    settings = Settings.from_env({"AGENTLEDGER_HOME": str(tmp_path / "demo")})
    # when
    code = demo_run.run_demo(settings, end_date=date(2026, 11, 20), days=2)
    # then
    out = capsys.readouterr().out
    assert code == 1
    assert "recompute run for 2026-11-10 (late labels or evaluations) failed (again)" in out
    assert "  - step dbt failed: boom" in out


def test_the_demo_hides_an_alert_webhook_set_in_the_shell_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a real team's webhook in the shell that starts the demo
    monkeypatch.setenv("AGENTLEDGER_ALERT_WEBHOOK", "https://hooks.example.com/services/T0/B0/real")
    monkeypatch.setattr(orchestration.demo.apis, "DEMO_APIS", [])
    # when the demo's environment is in place, its made-up findings have nowhere to go
    with ExitStack() as stack:
        demo_run.serve_demo_apis(stack, tmp_path)
        assert "AGENTLEDGER_ALERT_WEBHOOK" not in os.environ
    # then the shell's setting is back afterwards
    assert os.environ["AGENTLEDGER_ALERT_WEBHOOK"] == "https://hooks.example.com/services/T0/B0/real"
