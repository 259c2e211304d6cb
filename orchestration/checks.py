"""Pandera schema → blocking Dagster asset check, one definition for every gated table.

A gate validates the rows of the run's window with the table's Pandera model, every row, and
fails with a summary of the failing rows: in polars, chunk by chunk (the frame never holds more than
`VALIDATION_CHUNK_ROWS` rows), or, for a model given the SQL twins of its dataframe checks, inside
DuckDB (`pandera_sql`): the raw spans' gate checked 10M spans in ~5 s through polars, most of it
moving them out of DuckDB. It is blocking: Dagster skips everything downstream of a
failed gate, so a failed raw gate stops dbt and a failed marts gate stops the publish.

A raw table's gate runs inside the step that loads the table (`PanderaGate.spec` in the asset's
`check_specs`, `PanderaGate.evaluate` at the end of its body): a separate Dagster step costs a fixed
~0.05-0.1 s, which was most of a gate's time on a one-day load (a 0.17 s labels load gated in
0.08 s, of which 0.013 s validating). The marts' gates stay separate checks on the dbt assets.
Every result records `gate_seconds`, the time the gate itself took.
"""


import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import duckdb
import pandera.polars as pa
import polars as pl
from dagster_duckdb import DuckDBResource

from orchestration import pandera_sql, share_failures
from orchestration.loading import VALIDATION_CHUNK_ROWS, describe_failures, reason_family
from orchestration.partitions import run_window_days
from orchestration.settings import get_settings
from orchestration.unpublished import RELATION, covering, unpublished_window


@dataclass
class GateResult:
    """Outcome of validating one relation: rows seen, failing rows and why."""

    rows_checked: int
    failing_rows: int
    reasons: Counter[str]
    sample: list[dict[str, object]]

    @property
    def passed(self) -> bool:
        """Every row passed."""
        return self.failing_rows == 0

    def summary(self) -> str:
        """Human-readable lines: the most frequent failures, then a few failing rows."""
        lines = [f"{count} × {reason}" for reason, count in self.reasons.most_common(8)]
        lines += [f"  e.g. {row}" for row in self.sample[:5]]
        return "\n".join(lines)


def validate_relation(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    model: type[pa.DataFrameModel],
    where: str = "true",
    chunk_rows: int = VALIDATION_CHUNK_ROWS,
) -> GateResult:
    """Validate every row of `relation` matching `where` against `model`, chunk by chunk.

    The rows come from one query, streamed in record batches: paging with `limit … offset` read
    some rows twice and others never, since a mart is a view over joins and aggregates whose row
    order changes from query to query (of 400k rows paged by 10k, 279k were seen). A chunk sees
    only its own rows, so uniqueness is checked over all of them in SQL instead.
    """
    schema = model.to_schema()
    unique_keys = _unique_keys(schema)
    per_chunk = _without_uniqueness(schema)
    reasons: Counter[str] = Counter()
    sample: list[dict[str, object]] = []
    failing = 0
    total = 0
    batches = conn.execute(f"select {', '.join(schema.columns)} from {relation} where {where}").fetch_record_batch(
        chunk_rows
    )
    for batch in batches:
        frame = pl.from_arrow(batch)
        total += frame.height
        try:
            per_chunk.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            by_row = describe_failures(errors.failure_cases)
            failing += len(by_row) or len(errors.failure_cases)
            for index, reason in by_row.items():
                reasons[reason.split(" (got ")[0]] += 1  # group by check, not by value
                if len(sample) < 10:
                    sample.append({**frame.row(index, named=True), "_failure": reason})
            for row in errors.failure_cases.filter(pl.col("index").is_null()).iter_rows(named=True):
                reasons[f"{row['column']}: {row['check']}"] += 1
    for key in unique_keys:
        columns = ", ".join(key)
        duplicates = conn.execute(
            f"select {columns}, count(*) as copies, sum(count(*)) over () as rows from {relation} where {where} "
            f"group by {columns} having count(*) > 1 order by copies desc limit 10"
        ).fetchall()
        if not duplicates:
            continue
        rows = int(duplicates[0][-1])
        reason = f"{columns}: not unique"
        reasons[reason] += rows
        failing += rows
        for *values, copies, _ in duplicates[: max(0, 10 - len(sample))]:
            sample.append({**dict(zip(key, values, strict=True)), "_failure": f"{reason} ({copies} rows)"})
    return GateResult(rows_checked=total, failing_rows=failing, reasons=reasons, sample=sample)


def _unique_keys(schema: pa.DataFrameSchema) -> list[list[str]]:
    """The column sets the schema holds unique: each `unique=True` column, then `Config.unique`."""
    keys = [[name] for name, column in schema.columns.items() if column.unique]
    if schema.unique:
        keys.append([schema.unique] if isinstance(schema.unique, str) else list(schema.unique))
    return keys


def _without_uniqueness(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """`schema` less its uniqueness checks, which `validate_relation` runs over the whole relation."""
    loose = schema.update_columns({name: {"unique": False} for name, column in schema.columns.items() if column.unique})
    loose.unique = None
    return loose


def validate_relation_sql(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    model: type[pa.DataFrameModel],
    row_checks: Mapping[str, str],
    where: str = "true",
) -> GateResult:
    """`validate_relation` inside DuckDB: the model compiled to one SQL reason per row."""
    columns = list(model.to_schema().columns)
    reason = pandera_sql.row_reason_sql(model, row_checks)
    conn.execute(
        f"create or replace temp table _gate_failures as "
        f"select {', '.join(columns)}, _failure from ("
        f"select *, {reason} as _failure from {relation} where {where}) where _failure is not null"
    )
    total = conn.execute(f"select count(*) from {relation} where {where}").fetchone()[0]
    reasons: Counter[str] = Counter()
    failing = 0
    for failure, count in conn.execute("select _failure, count(*) from _gate_failures group by 1").fetchall():
        reasons[reason_family(failure)] += count
        failing += count
    cursor = conn.execute("select * from _gate_failures limit 10")
    names = [column[0] for column in cursor.description]
    sample = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    conn.execute("drop table _gate_failures")
    return GateResult(rows_checked=total, failing_rows=failing, reasons=reasons, sample=sample)


def window_filter(date_column: str | None, window: tuple[date, date] | None, lookback_days: int = 0) -> str:
    """SQL predicate selecting the rows a run wrote: its partition days `window` (plus lookback)."""
    if date_column is None or window is None:
        return "true"
    first, last = window
    first = first - timedelta(days=lookback_days)
    return f"{date_column} between date '{first}' and date '{last}'"


def max_quarantine_share() -> float:
    """AGENTLEDGER_MAX_QUARANTINE_SHARE, parsed and checked by `Settings` (the CLI stops on a bad one).

    Read when the gate runs, as before: tests and `dagster dev` may change it between runs.
    """
    return get_settings().max_quarantine_share


@dataclass(frozen=True)
class QuarantineCount:
    """What a window of a raw table lost: quarantined rows, and whole lines that never became rows."""

    rows: int
    lines: int
    rows_per_line: float
    loaded: int

    @property
    def quarantined(self) -> float:
        """Rows quarantined, a whole line counting as many rows as a loaded line of the window holds."""
        return self.rows + self.lines * self.rows_per_line

    @property
    def share(self) -> float:
        """The lost rows' share of the window's input (0 for a window with no input)."""
        total = self.quarantined + self.loaded
        return self.quarantined / total if total else 0.0

    def describe(self) -> str:
        """The count for a gate's failure message, saying how lines were weighed when any were lost."""
        described = f"{self.quarantined:,.0f} of {self.quarantined + self.loaded:,.0f} input rows quarantined"
        if self.lines:
            described += (
                f" ({self.rows:,} rows, and {self.lines:,} unreadable line(s) counted as {self.rows_per_line:,.1f} "
                "rows each, what a loaded line of the window holds)"
            )
        return described


def quarantine_count(conn: duckdb.DuckDBPyConnection, entity: str, relation: str, where: str) -> QuarantineCount:
    """What a raw table's window lost, a quarantined line weighted by the rows a line holds.

    A trace line is an export batch of tens to hundreds of spans: counted as one row, a day whose
    lines were cut in half would pass the share with most of its spans lost. A labels line is one
    row, so there a line counts 1. The rows per line are counted only when a line was lost.
    A span's second copy (a Collector retry, a file copied twice) is quarantined, but its first
    copy loaded: nothing was lost, and counted it stopped nights whose every span had loaded.
    """
    rows, lines = conn.execute(
        f"select count(*) filter (where record_key is distinct from 'line' and {share_failures.NOT_A_SECOND_COPY}), "
        f"count(*) filter (where record_key = 'line') from raw.quarantine where entity = ? and {where}",
        [entity],
    ).fetchone()
    if lines:
        loaded, loaded_lines = conn.execute(
            f"select count(*), count(distinct (_source_file, _line_number)) from {relation} where {where}"
        ).fetchone()
    else:
        loaded, loaded_lines = conn.execute(f"select count(*), 0 from {relation} where {where}").fetchone()
    return QuarantineCount(
        rows=rows, lines=lines, rows_per_line=loaded / loaded_lines if loaded_lines else 1.0, loaded=loaded
    )


@dataclass(frozen=True)
class PanderaGate:
    """A blocking check that validates `relation` with `model` over the run's window.

    Attributes:
        asset_key: The asset the check gates.
        relation: Table or view in the warehouse, e.g. `raw.otel_spans` or `marts.fct_llm_calls`.
        model: The Pandera model (polars backend) every row must satisfy.
        date_column: Date column that selects the run's rows; None checks the whole relation.
        lookback_days: Days before the window the run also rewrote (incremental lookback).
        quarantine_entity: For raw tables: also fail when more than AGENTLEDGER_MAX_QUARANTINE_SHARE
            of the window's input was quarantined (a format change, not a few bad rows).
        description: Shown in the UI; defaults to the model's docstring.
        sql_row_checks: The SQL twins of the model's dataframe checks: given, the rows are checked
            inside DuckDB instead of in polars.
        covers_unpublished: For published marts: also check the days of earlier builds no publish
            has shown yet (`orchestration.unpublished`), which this run's publish will show.
    """

    asset_key: dg.AssetKey
    relation: str
    model: type[pa.DataFrameModel]
    date_column: str | None = None
    lookback_days: int = 0
    quarantine_entity: str | None = None
    description: str | None = None
    sql_row_checks: Mapping[str, str] | None = None
    covers_unpublished: bool = False

    @property
    def name(self) -> str:
        """The check's name: `<table>_schema`."""
        return f"{self.relation.split('.')[-1]}_schema"

    @property
    def spec(self) -> dg.AssetCheckSpec:
        """The check as the loading asset declares it (`check_specs=[gate.spec]`)."""
        return dg.AssetCheckSpec(
            name=self.name,
            asset=self.asset_key,
            blocking=True,
            description=self.description or (self.model.__doc__ or "").strip().splitlines()[0],
        )

    def evaluate(
        self, conn: duckdb.DuckDBPyConnection, tags: Mapping[str, str], log_error: Callable[[str], None]
    ) -> dg.AssetCheckResult:
        """Validate the window's rows; the result names this check, so an asset body can yield it."""
        started = time.perf_counter()
        window = run_window_days(dict(tags))
        widened = None  # the days checked, when unpublished builds reach beyond the run's own
        if self.covers_unpublished and window is not None:
            covered = covering(window, unpublished_window(conn))
            widened = covered if covered != window else None
            window = covered
        where = window_filter(self.date_column, window, self.lookback_days)
        if self.sql_row_checks is not None:
            result = validate_relation_sql(conn, self.relation, self.model, self.sql_row_checks, where)
        else:
            result = validate_relation(conn, self.relation, self.model, where)
        share_failure = None
        metadata: dict[str, object] = {
            "rows_checked": result.rows_checked,
            "failing_rows": result.failing_rows,
            "window": where,
        }
        if self.quarantine_entity is not None:
            share_failure = self._share_failure(conn, self.quarantine_entity, window, where, metadata)
        summary = result.summary()
        if share_failure:
            summary = share_failure + ("\n" + summary if summary else "")
        if widened is not None:
            metadata["unpublished_builds"] = f"{widened[0]}..{widened[1]}"
            if summary:
                summary = (
                    f"checked {widened[0]}..{widened[1]}: days an earlier run rebuilt and did not publish "
                    f"({RELATION}) are checked by every run until one publishes them; repair what fails on "
                    "them and run those days again\n" + summary
                )
        if summary:
            metadata["failures"] = dg.MetadataValue.md(f"```\n{summary}\n```")
        passed = result.passed and share_failure is None
        if not passed:
            log_error(f"gate {self.name} failed on {self.relation} ({where}):\n{summary}")
        metadata["gate_seconds"] = round(time.perf_counter() - started, 4)
        return dg.AssetCheckResult(
            asset_key=self.asset_key,
            check_name=self.name,
            passed=passed,
            metadata=metadata,
            description=None if passed else summary[:2000],
        )

    def _share_failure(
        self,
        conn: duckdb.DuckDBPyConnection,
        entity: str,
        window: tuple[date, date] | None,
        where: str,
        metadata: dict[str, object],
    ) -> str | None:
        """Why the window, or a window that failed on an earlier run (`share_failures`), lost too much; None if neither.

        A window that fails is recorded; later runs check it again until it passes. The days of a
        loss accepted earlier count only when they are the run's own days, not its lookback.
        """
        dated = self.date_column is not None and window is not None
        accepted: list[date] = []
        if dated:
            share_failures.ensure(conn)
            accepted = [day for day in share_failures.accepted_days(conn, entity) if not window[0] <= day <= window[1]]
            where = share_failures.without_days(where, self.date_column, accepted)
        lost = quarantine_count(conn, entity, self.relation, where)
        metadata["quarantined"] = lost.rows + lost.lines
        metadata["quarantined_lines"] = lost.lines
        metadata["quarantine_share"] = round(lost.share, 6)
        limit = max_quarantine_share()
        failures = []
        if lost.share > limit:
            failures.append(
                f"{lost.describe()} ({lost.share:.1%}) > AGENTLEDGER_MAX_QUARANTINE_SHARE={limit:.1%}; "
                f"{share_failures.where_lost(conn, entity, where)}; see raw.quarantine where entity = '{entity}'"
            )
        if dated:
            current = share_failures.FailedWindow(window[0] - timedelta(days=self.lookback_days), window[1])
            earlier = self._earlier_failures(conn, entity, self.date_column, current, limit, accepted)
            if failures:
                share_failures.record(conn, entity, current, lost.share, limit)
            if earlier:
                metadata["earlier_failed_windows"] = len(earlier)
            failures += earlier
        return "\n".join(failures) or None

    def _earlier_failures(
        self,
        conn: duckdb.DuckDBPyConnection,
        entity: str,
        date_column: str,
        current: share_failures.FailedWindow,
        limit: float,
        accepted: list[date],
    ) -> list[str]:
        """Check again, each on its own, the windows of this table that failed on earlier runs.

        One that passes is cleared if the limit is not above the one it failed at (it was
        repaired), or, at a raised limit, if this run's window covers it: its days are then
        accepted. One that passes only at a raised limit this run does not cover stays recorded.
        """
        messages = []
        for failed in share_failures.recorded(conn, entity):
            where = share_failures.without_days(failed.window.predicate(date_column), date_column, accepted)
            lost = quarantine_count(conn, entity, self.relation, where)
            if lost.share <= limit:
                if limit <= failed.limit:
                    share_failures.clear(conn, entity, failed.window)
                elif current.covers(failed.window):
                    share_failures.clear(conn, entity, failed.window)
                    share_failures.accept(conn, entity, failed.window)
                continue
            if failed.window == current:
                continue  # this run's own verdict on it stands
            messages.append(
                f"{failed.window.first_day}..{failed.window.last_day} failed this gate on an earlier run and still "
                f"does: {lost.describe()} ({lost.share:.1%}); {share_failures.where_lost(conn, entity, where)}. "
                "The models later nights rebuild would publish what those days hold: repair their input and run "
                "them again, or run them with AGENTLEDGER_MAX_QUARANTINE_SHARE raised to accept the loss"
            )
        return messages

    def as_asset_check(self) -> dg.AssetChecksDefinition:
        """The gate as its own step, for assets whose body cannot run it (the dbt models)."""

        @dg.asset_check(asset=self.asset_key, name=self.name, blocking=True, description=self.spec.description)
        def _gate(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
            with duckdb.get_connection() as conn:
                return self.evaluate(conn, context.run.tags, context.log.error)

        return _gate


def pandera_gate(**gate: object) -> dg.AssetChecksDefinition:
    """A `PanderaGate` (same arguments) as a check of its own step: the marts' gates."""
    return PanderaGate(**gate).as_asset_check()  # type: ignore[arg-type]
