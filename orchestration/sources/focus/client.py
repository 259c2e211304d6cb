"""Find the FOCUS export files under a folder, newest last."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet",)


@dataclass(frozen=True)
class FocusFile:
    """An export file and its rank among the files: a later rank is a newer export."""

    path: Path
    rank: int

    @property
    def is_parquet(self) -> bool:
        """Parquet rather than CSV."""
        return self.path.name.endswith(PARQUET_SUFFIXES)


def discover_focus_files(folder: Path) -> list[FocusFile] | None:
    """The CSV and Parquet files under `folder`, oldest first (modification time, then path).

    Returns None when the folder does not exist: no FOCUS exports are configured.
    """
    if not folder.is_dir():
        return None
    paths = [
        path
        for path in folder.rglob("*")
        if path.is_file() and path.name.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)
    ]
    paths.sort(key=lambda path: (path.stat().st_mtime_ns, str(path)))
    return [FocusFile(path=path, rank=rank) for rank, path in enumerate(paths, start=1)]
