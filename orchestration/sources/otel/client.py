"""Find the OTLP/JSON files that can hold a day's spans.

The Collector's file exporter names rotated files by rotation time
(`traces-2026-05-01T02-00-00.123.jsonl`) and many teams write one folder per day
(`traces/2026/05/01/…`). Either way a file is dated no earlier than a day before the spans inside
it (the day before: a name in local time west of UTC, `localtime: true`, or a folder of a local
day), and no later than `lookback` days after them, so the spans of days `first..last` live in
files dated `first - 1..last + lookback`. Files whose path carries no date are read for every day:
keep such files small or rotate them, or nightly work grows with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

TRACE_FILE_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")

# How many days before its spans a file may be dated (a later span is quarantined under the file's day).
LEAD_DAYS = 1

# 2026-05-01, 2026/05/01, 2026_05_01 or 20260501, bounded so hex ids do not pass for dates.
_DATE_IN_PATH = re.compile(r"(?<![0-9a-f])(20\d{2})[-/_]?(0[1-9]|1[0-2])[-/_]?(0[1-9]|[12]\d|3[01])(?![0-9])")


@dataclass(frozen=True)
class TraceFile:
    """A trace or log file and the day its path names, if it names one."""

    path: Path
    day: date | None


def date_in_path(relative_path: str) -> date | None:
    """The first valid calendar date written in a path, or None."""
    for match in _DATE_IN_PATH.finditer(relative_path):
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
    return None


def discover_trace_files(
    traces_dir: Path, first: date, last: date, lookback_days: int = 1, misnamed: list[Path] | None = None
) -> list[TraceFile]:
    """List the files under `traces_dir` that may hold spans started on `first..last`.

    Args:
        traces_dir: Root folder, searched recursively.
        first: First day of the window (UTC).
        last: Last day of the window, inclusive.
        lookback_days: How many days after `last` a file may be dated and still hold its spans.
        misnamed: Collects the files not read for a suffix in other case (`.JSONL`): the reader
            tells gzip by the lower-case `.gz`, so they are named to the operator, not guessed at.

    Returns:
        Files in a stable order (by path): undated ones, and dated ones from `LEAD_DAYS` before
        the window to `lookback_days` after it.

    Raises:
        FileNotFoundError: `traces_dir` does not exist; a missing folder is a misconfiguration,
            not a quiet day.
    """
    if not traces_dir.is_dir():
        raise FileNotFoundError(
            f"traces folder {traces_dir} does not exist (set AGENTLEDGER_TRACES_DIR or AGENTLEDGER_HOME)"
        )
    earliest, latest = first - timedelta(days=LEAD_DAYS), last + timedelta(days=lookback_days)
    files = []
    for path in sorted(traces_dir.rglob("*")):
        if not path.is_file() or not path.name.endswith(TRACE_FILE_SUFFIXES):
            if path.name.lower().endswith(TRACE_FILE_SUFFIXES) and path.is_file() and misnamed is not None:
                misnamed.append(path)
            continue
        day = date_in_path(str(path.relative_to(traces_dir)))
        if day is None or earliest <= day <= latest:
            files.append(TraceFile(path=path, day=day))
    return files
