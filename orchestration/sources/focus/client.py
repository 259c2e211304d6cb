"""Find the FOCUS export files under a folder, newest last."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet",)


# What one export is: each file a whole export (a later file restates an earlier one), or each
# folder (the files of one folder are the parts of one export, as an export job that splits its
# output into numbered files, one folder per run, writes them).
EXPORT_UNITS = ("file", "folder")


@dataclass(frozen=True)
class FocusFile:
    """An export file, its rank among the files and its export's rank: a later rank is newer."""

    path: Path
    rank: int
    export_rank: int
    modified_ns: int

    @property
    def is_parquet(self) -> bool:
        """Parquet rather than CSV."""
        return self.path.name.endswith(PARQUET_SUFFIXES)


def discover_focus_files(folder: Path, export_unit: str = "file") -> list[FocusFile] | None:
    """The CSV and Parquet files under `folder`, oldest first (modification time, then path).

    With `export_unit` "folder", the files of one folder share the rank of its newest file: they
    are one export, which an export in a newer folder supersedes whole. Returns None when the
    folder does not exist: no FOCUS exports are configured.
    """
    if export_unit not in EXPORT_UNITS:
        raise ValueError(
            f"AGENTLEDGER_FOCUS_EXPORT_UNIT is {export_unit!r}; it must be one of {', '.join(EXPORT_UNITS)}"
        )
    if not folder.is_dir():
        return None
    stamped = [
        (path.stat().st_mtime_ns, str(path), path)
        for path in folder.rglob("*")
        if path.is_file() and path.name.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)
    ]
    stamped.sort()
    if export_unit == "file":
        export_of = {path: str(path) for _, _, path in stamped}
    else:
        export_of = {path: str(path.parent) for _, _, path in stamped}
    # an export is as new as its newest file: exports ranked by that file's place in the order
    newest_place = {export_of[path]: place for place, (_, _, path) in enumerate(stamped, start=1)}
    export_rank = {export: rank for rank, export in enumerate(sorted(newest_place, key=newest_place.get), start=1)}
    return [
        FocusFile(path=path, rank=rank, export_rank=export_rank[export_of[path]], modified_ns=modified_ns)
        for rank, (modified_ns, _, path) in enumerate(stamped, start=1)
    ]
