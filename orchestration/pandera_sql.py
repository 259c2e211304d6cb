"""A Pandera model's row checks as one SQL expression, for tables too large to leave DuckDB.

Pulling 10M raw spans into polars to validate them cost more than parsing them (issue 7 asks for
gates that check every row without leaving the database). `row_reason_sql` turns the model's
column checks (not-null, `str_matches`, `isin`, comparisons, `str_length`, `str_startswith`) and its
dataframe checks (through SQL twins the model's module declares beside them) into one expression
that is NULL for a valid row and otherwise gives the reasons in the words of
`loading.describe_failures`, in Pandera's order. `tests/unit/test_pandera_sql.py` holds the two
equal on generated rows, so the model stays the single definition of a valid row.

A model with a check this module does not know (or a column-level `unique`) is refused with
`UnsupportedCheck`: callers fall back to Pandera's polars backend for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandera.polars as pa

# Failure values are shown as Pandera's failure cases are (`describe_failures`: str(value)[:80]).
_SHOWN_CHARS = 80


class UnsupportedCheckError(ValueError):
    """The model uses a check that has no SQL form here."""


def _literal(value: Any) -> str:
    """A Python value as a DuckDB literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _regex(pattern: str) -> str:
    """Pandera's `str_matches` anchors at the start (re.match); RE2 needs the anchor spelled out."""
    return _literal(pattern if pattern.startswith("^") else "^(?:" + pattern + ")")


def _check_passes(column: str, check: Any) -> str:
    """SQL that is true when `column` passes `check` (NULL values are Pandera's `ignore_na`)."""
    name, stats = check.name, check.statistics or {}
    quoted = f'"{column}"'
    # string checks see the column as text, as Pandera's coercion to str would give it them
    text = f"cast({quoted} as varchar)"
    if name == "str_matches":
        return f"regexp_matches({text}, {_regex(stats['pattern'])})"
    if name == "str_startswith":
        return f"starts_with({text}, {_literal(stats['string'])})"
    if name == "isin":
        return f"{quoted} in ({', '.join(_literal(v) for v in stats['allowed_values'])})"
    if name == "notin":
        return f"{quoted} not in ({', '.join(_literal(v) for v in stats['forbidden_values'])})"
    comparisons = {
        "greater_than": (">", "min_value"),
        "greater_than_or_equal_to": (">=", "min_value"),
        "less_than": ("<", "max_value"),
        "less_than_or_equal_to": ("<=", "max_value"),
        "equal_to": ("=", "value"),
        "not_equal_to": ("<>", "value"),
    }
    if name in comparisons:
        operator, key = comparisons[name]
        return f"{quoted} {operator} {_literal(stats[key])}"
    if name == "in_range":
        low = ">=" if stats.get("include_min", True) else ">"
        high = "<=" if stats.get("include_max", True) else "<"
        return (
            f"{quoted} {low} {_literal(stats['min_value'])} and {quoted} {high} {_literal(stats['max_value'])}"
        )
    if name == "str_length":
        parts = []
        if stats.get("min_value") is not None:
            parts.append(f"length({text}) >= {int(stats['min_value'])}")
        if stats.get("max_value") is not None:
            parts.append(f"length({text}) <= {int(stats['max_value'])}")
        return " and ".join(parts) or "true"
    raise UnsupportedCheckError(f"{column}: Pandera check {name!r} has no SQL form")


def row_reason_sql(model: type[pa.DataFrameModel], row_checks: Mapping[str, str] | None = None) -> str:
    """SQL: NULL when a row satisfies `model`, else why not (`describe_failures`' words and order).

    Args:
        model: The Pandera model; its columns must exist, already typed, in the relation queried.
        row_checks: SQL twin of each dataframe check, by check name: an expression true for a
            passing row (NULL counts as passing, as a NULL check result does in Pandera).

    Raises:
        UnsupportedCheckError: a column check, a `unique` column or a dataframe check without a twin.
    """
    schema = model.to_schema()
    row_checks = row_checks or {}
    parts: list[str] = []
    for column, spec in schema.columns.items():
        quoted = f'"{column}"'
        if spec.unique:
            raise UnsupportedCheckError(f"{column}: unique columns are checked by Pandera, not per row")
        if not spec.nullable:
            parts.append(f"case when {quoted} is null then '{column}: missing or of the wrong type' end")
        for check in spec.checks:
            passes = _check_passes(column, check)
            shown = f"left(cast({quoted} as varchar), {_SHOWN_CHARS})"
            error = _literal(f"{column}: {check.error} (got ")
            parts.append(f"case when not coalesce({passes}, true) then {error} || {shown} || ')' end")
    for check in schema.checks:
        if check.name not in row_checks:
            raise UnsupportedCheckError(f"dataframe check {check.name!r} has no SQL twin")
        parts.append(f"case when not coalesce({row_checks[check.name]}, true) then 'row check {check.name} failed' end")
    if not parts:
        return "null::varchar"
    # concat_ws skips NULLs: the reasons of the failing checks, joined as describe_failures joins them
    return "nullif(concat_ws('; ', " + ", ".join(parts) + "), '')"


def supports(model: type[pa.DataFrameModel], row_checks: Mapping[str, str] | None = None) -> bool:
    """Whether `row_reason_sql` can express every check of `model`."""
    try:
        row_reason_sql(model, row_checks)
    except UnsupportedCheckError:
        return False
    return True
