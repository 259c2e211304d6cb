"""What a finished run reports: its failures, worded for a person, and its warnings apart."""

from types import SimpleNamespace

import dagster as dg

from orchestration.runner import INTERRUPTED, describe_failures, describe_warnings


def step_failure(step: str, *errors: tuple[str, str]) -> SimpleNamespace:
    """A STEP_FAILURE event whose error wraps the next one (Dagster's wrapper, then the cause)."""
    error = None
    for cls_name, message in reversed(errors):
        error = SimpleNamespace(cls_name=cls_name, message=message, cause=error)
    data = SimpleNamespace(error=error)
    return SimpleNamespace(event_type_value="STEP_FAILURE", step_key=step, event_specific_data=data)


def check(name: str, passed: bool, severity: dg.AssetCheckSeverity, rows: int | None = None) -> SimpleNamespace:
    metadata = {} if rows is None else {"dagster_dbt/failed_row_count": dg.IntMetadataValue(rows)}
    return SimpleNamespace(event_type_value="ASSET_CHECK_EVALUATION", event_specific_data=SimpleNamespace(
        passed=passed, severity=severity, asset_key=dg.AssetKey(["intermediate", "int_runs_rolled_up"]),
        check_name=name, description=None, metadata=metadata,
    ))


def test_an_interrupted_step_says_so_and_warnings_are_not_failures() -> None:
    # given a run stopped by Ctrl-C in its trace load, with a failed gate and a warning check
    result = SimpleNamespace(all_events=[
        step_failure("otel_traces", ("DagsterExecutionStepExecutionError", "Error occurred while executing"),
                     ("DagsterExecutionInterruptedError", "dagster._core.errors.DagsterExecutionInterruptedError")),
        check("int_runs_rolled_up_schema", False, dg.AssetCheckSeverity.ERROR),
        check("assert_runs_last_at_most_lookback_days", False, dg.AssetCheckSeverity.WARN, rows=2),
        check("assert_one_call_one_row", True, dg.AssetCheckSeverity.ERROR),
    ])

    # then the interruption is named for what it is, the warning is not a failure, and it counts its rows
    assert describe_failures(result) == [
        f"step otel_traces failed: {INTERRUPTED}",
        "gate intermediate/int_runs_rolled_up:int_runs_rolled_up_schema failed",
    ]
    assert describe_warnings(result) == [
        "check intermediate/int_runs_rolled_up:assert_runs_last_at_most_lookback_days warns: 2 row(s)"
    ]
