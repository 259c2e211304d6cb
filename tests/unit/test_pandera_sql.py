"""The trace tables' Pandera models compiled to SQL say what Pandera itself says, row by row.

Generated rows mix valid values with every way the raw checks can fail (nulls, malformed ids, an
all-zero trace id, out-of-set enums, non-positive times, a span ending before it starts or being
its own parent). For each frame, the failing rows and their reasons from `pandera_sql` inside
DuckDB must equal those from Pandera's polars backend as `loading.describe_failures` words them.
"""

import duckdb
import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration import pandera_sql
from orchestration.loading import describe_failures
from orchestration.sources.otel.schemas import (
    EVAL_EVENT_ROW_CHECKS_SQL,
    SPAN_ROW_CHECKS_SQL,
    OtelEvalEventRaw,
    OtelSpanRaw,
)

hex_id_32 = st.sampled_from(["a" * 32, "0123456789abcdef" * 2, "0" * 32, "A" * 32, "abc", "g" * 32, "a" * 33])
hex_id_16 = st.sampled_from(["b" * 16, "0123456789abcdef", "xyz", "B" * 16, "b" * 15, "b" * 17])
nanos = st.sampled_from([1, 5, 10, 1_763_632_800_000_000_000, 0, -3])


def pandera_reasons(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> dict[int, str]:
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return describe_failures(errors.failure_cases)
    return {}


def sql_reasons(model: type[pa.DataFrameModel], checks: dict[str, str], frame: pl.DataFrame) -> dict[int, str]:
    with duckdb.connect() as conn:
        conn.register("frame", frame.with_row_index("_index"))
        reason = pandera_sql.row_reason_sql(model, checks)
        rows = conn.execute(f"select _index, {reason} from frame").fetchall()
    return {int(index): text for index, text in rows if text is not None}


span_rows = st.lists(
    st.fixed_dictionaries(
        {
            "trace_id": st.one_of(st.none(), hex_id_32),
            "span_id": st.one_of(st.none(), hex_id_16),
            "parent_span_id": st.one_of(st.none(), hex_id_16),
            "name": st.one_of(st.none(), st.sampled_from(["chat", "invoke_agent"])),
            "kind": st.one_of(st.none(), st.integers(min_value=-1, max_value=7)),
            "start_time_unix_nano": st.one_of(st.none(), nanos),
            "end_time_unix_nano": st.one_of(st.none(), nanos),
            "status_code": st.one_of(st.none(), st.integers(min_value=-1, max_value=3)),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(span_rows)
def test_span_checks_in_sql_fail_the_rows_pandera_fails_for_the_same_reasons(rows: list[dict]) -> None:
    frame = pl.DataFrame(
        rows,
        schema={
            "trace_id": pl.Utf8, "span_id": pl.Utf8, "parent_span_id": pl.Utf8, "name": pl.Utf8,
            "kind": pl.Int32, "start_time_unix_nano": pl.Int64, "end_time_unix_nano": pl.Int64,
            "status_code": pl.Int32,
        },
    )
    assert sql_reasons(OtelSpanRaw, SPAN_ROW_CHECKS_SQL, frame) == pandera_reasons(OtelSpanRaw, frame)


eval_rows = st.lists(
    st.fixed_dictionaries(
        {
            "trace_id": st.one_of(st.none(), hex_id_32),
            "span_id": st.one_of(st.none(), hex_id_16),
            "time_unix_nano": st.one_of(st.none(), nanos),
            "evaluation_name": st.one_of(st.none(), st.just("task_completion")),
            "origin": st.one_of(st.none(), st.sampled_from(["span_event", "log_record", "elsewhere"])),
            "response_id": st.one_of(st.none(), st.just("resp_1")),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(eval_rows)
def test_evaluation_checks_in_sql_fail_the_rows_pandera_fails_for_the_same_reasons(rows: list[dict]) -> None:
    frame = pl.DataFrame(
        rows,
        schema={
            "trace_id": pl.Utf8, "span_id": pl.Utf8, "time_unix_nano": pl.Int64, "evaluation_name": pl.Utf8,
            "origin": pl.Utf8, "response_id": pl.Utf8,
        },
    )
    assert sql_reasons(OtelEvalEventRaw, EVAL_EVENT_ROW_CHECKS_SQL, frame) == pandera_reasons(OtelEvalEventRaw, frame)


def test_a_dataframe_check_without_an_sql_twin_is_refused() -> None:
    with pytest.raises(pandera_sql.UnsupportedCheckError, match="ends_after_it_starts"):
        pandera_sql.row_reason_sql(OtelSpanRaw, {"is_not_its_own_parent": "true"})


def test_a_unique_column_is_left_to_pandera() -> None:
    class Keyed(pa.DataFrameModel):
        key: str = pa.Field(unique=True)

    assert not pandera_sql.supports(Keyed)


def test_the_raw_spans_gate_in_sql_counts_and_names_what_polars_does(tmp_path) -> None:
    # given raw spans of which two break the model: a span ending before it starts, an unknown kind
    from orchestration.checks import validate_relation, validate_relation_sql

    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute(
            """
            create table spans as select * from (values
                ('a' || repeat('0', 31), '000000000000000a', null::varchar, 'ok', 1, 10, 20, 0),
                ('a' || repeat('0', 31), '000000000000000b', null, 'backwards', 1, 20, 10, 0),
                ('a' || repeat('0', 31), '000000000000000c', null, 'odd kind', 9, 10, 20, 0)
            ) as t(trace_id, span_id, parent_span_id, name, kind, start_offset, end_offset, status_code)
            """
        )
        # offsets from a time of 2026 in unix nanoseconds (the model refuses times before 2000)
        conn.execute(
            "create or replace table spans as select * exclude (start_offset, end_offset), "
            "1795000000000000000 + start_offset as start_time_unix_nano, "
            "1795000000000000000 + end_offset as end_time_unix_nano from spans"
        )

        # when the gate checks them inside DuckDB, and Pandera checks them in polars
        in_sql = validate_relation_sql(conn, "spans", OtelSpanRaw, SPAN_ROW_CHECKS_SQL)
        in_polars = validate_relation(conn, "spans", OtelSpanRaw)

    # then both fail the same two rows for the same reasons
    assert (in_sql.rows_checked, in_sql.failing_rows) == (in_polars.rows_checked, in_polars.failing_rows) == (3, 2)
    assert dict(in_sql.reasons) == {"kind: isin([0, 1, 2, 3, 4, 5])": 1, "row check ends_after_it_starts failed": 1}
    assert sorted(row["name"] for row in in_sql.sample) == ["backwards", "odd kind"]
