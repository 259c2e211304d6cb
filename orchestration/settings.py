"""Settings, read from environment variables only (DESIGN §2).

Secrets never live here: the provider clients read their keys from the environment when they
run, so a `Settings` object can be logged or shown without leaking anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
# dbt's default for AGENTLEDGER_BASELINES_FILE (models/staging/baselines/stg_baselines__engagements.sql)
BASELINES_FILE_NAME = "baselines.csv"
# profiles.yml's default for AGENTLEDGER_DUCKDB_MEMORY_LIMIT too
DEFAULT_DUCKDB_MEMORY_LIMIT = "2500MB"


def _setting(env: Mapping[str, str], name: str, default: str) -> str:
    """The value of `name`, or `default` when it is unset or blank."""
    value = env.get(name, "").strip()
    return value or default


def _date_setting(env: Mapping[str, str], name: str, default: str) -> date:
    value = _setting(env, name, default)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"invalid setting {name}={value!r}: not a date (YYYY-MM-DD)") from None


# What dbt pastes into `timestamp '…'` (mart_workflow_roi): a UTC date, or date and time, no offset.
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?")


def _utc_time_setting(env: Mapping[str, str], name: str) -> datetime | None:
    """An optional UTC time, checked before a run: dbt reads it itself, and failed on a typo mid-run.

    Unchecked, `garbage` reached dbt's SQL as `timestamp 'garbage'` and failed the night's dbt step
    after every source had been extracted, instead of stopping the command (exit 2).
    """
    value = env.get(name, "").strip()
    if not value:
        return None
    try:
        if _UTC_TIME.fullmatch(value) is None:
            raise ValueError
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"invalid setting {name}={value!r}: not a UTC time (YYYY-MM-DD HH:MM:SS or YYYY-MM-DD, no offset)"
        ) from None


# Ten years: a longer lookback reaches before any date Python can hold (99999999 failed every step
# of a run with an OverflowError naming no setting) and is a typo, not a policy.
MAX_LOOKBACK_DAYS = 3650


def _days_setting(env: Mapping[str, str], name: str, default: str) -> int:
    value = _setting(env, name, default)
    try:
        days: int | None = int(value)
    except ValueError:
        days = None
    if days is None or not 0 <= days <= MAX_LOOKBACK_DAYS:
        raise ValueError(
            f"invalid setting {name}={value!r}: not a whole number of days from 0 to {MAX_LOOKBACK_DAYS}"
        )
    return days


def _share_setting(env: Mapping[str, str], name: str, default: str) -> float:
    """A share from 0 to 1, checked here so a bad value stops the command before a run starts.

    Read lazily inside a gate, `abc` failed every gated step of a run instead of the command.
    """
    value = _setting(env, name, default)
    try:
        share = float(value)
    except ValueError:
        share = None
    if share is None or not 0 <= share <= 1:  # NaN fails the comparison too
        raise ValueError(f"invalid setting {name}={value!r}: not a share from 0 to 1 (e.g. 0.05)")
    return share


def _memory_setting(env: Mapping[str, str], name: str, default: str) -> str:
    """A DuckDB memory limit (`2500MB`, `2.5GB`), checked by DuckDB itself before a run starts.

    Unchecked, a bad value failed every step that opens the warehouse, and dbt, with DuckDB's words.
    """
    value = _setting(env, name, default)
    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error:
        raise ValueError(f"invalid setting {name}={value!r}: not a memory size DuckDB reads (e.g. 4GB)") from None
    return value


def _choice_setting(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _setting(env, name, default).lower()
    if value not in choices:
        raise ValueError(f"invalid setting {name}={value!r}: one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where agentledger reads and writes, resolved to absolute paths.

    Relative paths are resolved against the working directory at load time, because dbt runs
    with the project root as its working directory and must see the same files.
    """

    home: Path
    db_path: Path
    traces_dir: Path
    labels_dir: Path
    focus_dir: Path
    baselines_file: Path
    keep_content: bool
    start_date: date
    label_lookback_days: int
    trace_lookback_days: int
    provider_lookback_days: int = 7
    focus_export_unit: str = "file"
    max_quarantine_share: float = 0.05
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    revenue_known_until: datetime | None = None

    @property
    def snapshot_path(self) -> Path:
        """The read-only copy of the marts that BI tools open."""
        return self.home / "marts.duckdb"

    @property
    def parquet_dir(self) -> Path:
        """Parquet copies of the marts, one file per mart, beside the snapshot."""
        return self.home / "marts"

    @property
    def report_path(self) -> Path:
        """The self-contained HTML report people open."""
        return self.home / "report.html"

    @property
    def dagster_home(self) -> Path:
        """Run history of CLI runs, shared with `dagster dev` so both show the same runs."""
        return self.home / "dagster"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings table of DESIGN §2 from `environ` (default: the process environment).

        Raises:
            ValueError: A setting holds a value that cannot be used; the message names the variable
                and its value.
        """
        env = os.environ if environ is None else environ
        home = Path(env.get("AGENTLEDGER_HOME", "data")).expanduser().resolve()

        def path(name: str, default: Path) -> Path:
            value = env.get(name)
            return Path(value).expanduser().resolve() if value else default

        return cls(
            home=home,
            db_path=path("AGENTLEDGER_DB", home / "warehouse.duckdb"),
            traces_dir=path("AGENTLEDGER_TRACES_DIR", home / "traces"),
            labels_dir=path("AGENTLEDGER_LABELS_DIR", home / "labels"),
            focus_dir=path("AGENTLEDGER_FOCUS_DIR", home / "billing"),
            # manual baseline engagements, read by dbt beside the `baselines` seed when the file exists
            baselines_file=path("AGENTLEDGER_BASELINES_FILE", home / BASELINES_FILE_NAME),
            keep_content=env.get("AGENTLEDGER_KEEP_CONTENT", "").strip().lower() in _TRUE,
            start_date=_date_setting(env, "AGENTLEDGER_START_DATE", "2025-01-01"),
            # Reviewers label within 48 h of a run; 3 days re-reads every label that can still move.
            label_lookback_days=_days_setting(env, "AGENTLEDGER_LABEL_LOOKBACK_DAYS", "3"),
            # Spans of a day can sit in the next day's file (runs crossing midnight, late flushes).
            trace_lookback_days=_days_setting(env, "AGENTLEDGER_TRACE_LOOKBACK_DAYS", "1"),
            # Providers restate recent usage and cost buckets for a few days: re-pull a week every night.
            provider_lookback_days=_days_setting(env, "AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "7"),
            # One FOCUS export is a file (a later file restates an earlier one) or a folder (its files
            # are the parts of one export run).
            focus_export_unit=_choice_setting(env, "AGENTLEDGER_FOCUS_EXPORT_UNIT", "file", ("file", "folder")),
            # Above this share of a window's input quarantined, the input is wrong, not a few rows.
            max_quarantine_share=_share_setting(env, "AGENTLEDGER_MAX_QUARANTINE_SHARE", "0.05"),
            # Past it DuckDB spills to disk instead of growing (profiles.yml gives dbt the same limit).
            duckdb_memory_limit=_memory_setting(env, "AGENTLEDGER_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT),
            # When the CRM counts as read (dbt reads the variable itself); unset, the dbt run's start.
            revenue_known_until=_utc_time_setting(env, "AGENTLEDGER_REVENUE_KNOWN_UNTIL"),
        )

    def export_for_dbt(self) -> None:
        """Make dbt (a subprocess started by dagster-dbt) open the same files, as absolute paths.

        dbt runs in the project root, so a relative path left in the environment would point
        somewhere else there. The baselines file is exported only when it is not the default:
        dbt derives the default from AGENTLEDGER_HOME, and a default exported here would outlive a
        later change of AGENTLEDGER_HOME in the same process.
        """
        os.environ["AGENTLEDGER_DB"] = str(self.db_path)
        os.environ["AGENTLEDGER_HOME"] = str(self.home)
        # as checked, not as given: dbt pastes it into SQL, where " 2026-12-20 " or a blank fails
        if self.revenue_known_until is None:
            os.environ.pop("AGENTLEDGER_REVENUE_KNOWN_UNTIL", None)
        else:
            os.environ["AGENTLEDGER_REVENUE_KNOWN_UNTIL"] = self.revenue_known_until.isoformat(sep=" ")
        if self.baselines_file == self.home / BASELINES_FILE_NAME:
            os.environ.pop("AGENTLEDGER_BASELINES_FILE", None)
        else:
            os.environ["AGENTLEDGER_BASELINES_FILE"] = str(self.baselines_file)


def get_settings() -> Settings:
    """The settings of this process, read fresh: tests change the environment between runs."""
    return Settings.from_env()
