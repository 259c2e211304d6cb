"""Settings, read from environment variables only (DESIGN §2).

Secrets never live here: the provider clients read their keys from the environment when they
run, so a `Settings` object can be logged or shown without leaking anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}


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
    keep_content: bool
    start_date: date
    label_lookback_days: int
    trace_lookback_days: int
    provider_lookback_days: int = 7
    focus_export_unit: str = "file"

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
        """Read the settings table of DESIGN §2 from `environ` (default: the process environment)."""
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
            keep_content=env.get("AGENTLEDGER_KEEP_CONTENT", "").strip().lower() in _TRUE,
            start_date=date.fromisoformat(env.get("AGENTLEDGER_START_DATE", "2025-01-01")),
            # Reviewers label within 48 h of a run; 3 days re-reads every label that can still move.
            label_lookback_days=int(env.get("AGENTLEDGER_LABEL_LOOKBACK_DAYS", "3")),
            # Spans of a day can sit in the next day's file (runs crossing midnight, late flushes).
            trace_lookback_days=int(env.get("AGENTLEDGER_TRACE_LOOKBACK_DAYS", "1")),
            # Providers restate recent usage and cost buckets for a few days: re-pull a week every night.
            provider_lookback_days=int(env.get("AGENTLEDGER_PROVIDER_LOOKBACK_DAYS", "7")),
            # One FOCUS export is a file (a later file restates an earlier one) or a folder (its files
            # are the parts of one export run).
            focus_export_unit=env.get("AGENTLEDGER_FOCUS_EXPORT_UNIT", "file").strip().lower() or "file",
        )

    def export_for_dbt(self) -> None:
        """Make dbt (a subprocess started by dagster-dbt) open the same warehouse file."""
        os.environ["AGENTLEDGER_DB"] = str(self.db_path)
        os.environ["AGENTLEDGER_HOME"] = str(self.home)


def get_settings() -> Settings:
    """The settings of this process, read fresh: tests change the environment between runs."""
    return Settings.from_env()
