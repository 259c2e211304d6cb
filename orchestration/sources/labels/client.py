"""Find label files for a window of days (files dated by their path, or undated)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from orchestration.sources.otel.client import date_in_path

CSV_SUFFIXES = (".csv", ".csv.gz")
JSON_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


def discover_label_files(
    labels_dir: Path, first: date, last: date, lookback_days: int
) -> tuple[list[Path], list[Path]]:
    """CSV and JSON-lines label files that may hold labels of `first..last` that some partition loads.

    A file named for day D holds labels exported on D, written late on D-1 or up to the label
    lookback earlier, and the partition runs that read it load its labels of D-1-lookback..D+lookback
    (`load._stage_file_days`). Every file whose range meets the window is read, so a day holds the
    same labels whichever run loaded it last: files dated `first - lookback .. last + 1 + lookback`.

    Raises:
        FileNotFoundError: `labels_dir` does not exist.
    """
    if not labels_dir.is_dir():
        raise FileNotFoundError(
            f"labels folder {labels_dir} does not exist (set AGENTLEDGER_LABELS_DIR or AGENTLEDGER_HOME)"
        )
    csv_files, json_files = [], []
    for path in sorted(labels_dir.rglob("*")):
        if not path.is_file():
            continue
        day = date_in_path(str(path.relative_to(labels_dir)))
        if day is not None and not first - timedelta(days=lookback_days) <= day <= last + timedelta(
            days=1 + lookback_days
        ):
            continue
        if path.name.endswith(CSV_SUFFIXES):
            csv_files.append(path)
        elif path.name.endswith(JSON_SUFFIXES):
            json_files.append(path)
    return csv_files, json_files
