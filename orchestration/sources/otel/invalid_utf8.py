"""Find and quarantine the lines of trace files that are not valid UTF-8, so one cannot stop a night.

DuckDB's reader stops at the first such line (and its message quotes the line), and after that
error the load's transaction is aborted. A line that is not UTF-8 is rare (a proxy that cut a
multi-byte character, a disk error), so nothing is paid for it when there is none: the load runs
as always, and only when DuckDB stops on one is the load rolled back, the files of the chunk that
failed and of every later chunk are scanned here, and the load runs again. In that second run
the chunks holding such lines are read with DuckDB skipping them (`ignore_errors`), each line
number is counted as if they were there, and what DuckDB skipped must be exactly what this scan
found (`check_skipped`): `ignore_errors` also skips, without a word, a line over the length limit,
so this scan rejects those first.

Lines are split on newlines as DuckDB splits them; a line keeps its number in its file, so the
quarantine row finds it again (`sed -n '<line>p'`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Where DuckDB's reader writes what it skipped (temp tables, cleared before each read that skips).
SKIPPED_TABLE = "_otel_skipped_lines"
SKIPPED_SCANS_TABLE = "_otel_skipped_scans"


@dataclass(frozen=True)
class InvalidLine:
    """A line of a trace file that is not valid UTF-8, told by where it is, never by what it says."""

    path: Path
    line_number: int
    size: int
    sha256: str
    offset: int
    text: str  # each invalid byte written as a backslash escape; stored only when prompt text is kept


def find_invalid_lines(
    paths: Iterable[Path], max_line_bytes: int, progress: Callable[[str], None] = lambda message: None
) -> list[InvalidLine]:
    """Every line of `paths` that is not valid UTF-8, in file and line order.

    Raises:
        ValueError: A line is longer than `max_line_bytes` (named by file and line): DuckDB would
            skip it without a word when skipping invalid lines, so it must stop the load as it
            does on a clean read.
    """
    found: list[InvalidLine] = []
    paths = list(paths)
    for index, path in enumerate(paths, start=1):
        found.extend(_invalid_lines_of(path, max_line_bytes))
        if index % 100 == 0 or index == len(paths):
            progress(f"scanned {index}/{len(paths)} files for lines that are not UTF-8: {len(found)} found")
    return found


def _invalid_lines_of(path: Path, max_line_bytes: int) -> Iterable[InvalidLine]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        for line_number, raw in enumerate(stream, start=1):
            line = raw.removesuffix(b"\n").removesuffix(b"\r")
            if len(line) > max_line_bytes:
                raise ValueError(
                    f"{path} line {line_number}: a line of {len(line):,} bytes exceeds the {max_line_bytes:,}-byte "
                    "limit; export smaller batches (the Collector's batch processor send_batch_max_size)"
                )
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                yield InvalidLine(
                    path=path,
                    line_number=line_number,
                    size=len(line),
                    sha256=hashlib.sha256(line).hexdigest(),
                    offset=error.start,
                    text=line.decode("utf-8", "backslashreplace"),
                )


def quarantine_invalid_lines(
    conn: duckdb.DuckDBPyConnection, lines: Sequence[InvalidLine], day_of_file: dict[Path, str], keep_content: bool
) -> None:
    """Record `lines` as skipped (`_otel_invalid_lines`) and quarantined (`_otel_rejected_lines`).

    Each is quarantined under the day its file is loaded for (`day_of_file`), like a line that is
    not JSON. Its text cannot be told apart into prompt and the rest, so none of it is stored
    unless content is kept: only its size and sha256, with the file and line to find it.
    """
    if not lines:
        return
    conn.executemany(
        "insert into _otel_invalid_lines values (?, ?)", [(str(line.path), line.line_number) for line in lines]
    )
    conn.executemany(
        "insert into _otel_rejected_lines values (?::date, ?, ?, 'line', ?, ?)",
        [
            (
                day_of_file[line.path], str(line.path), line.line_number, _raw_record(line, keep_content),
                f"line is not valid UTF-8, as OTLP/JSON must be (first invalid byte at offset {line.offset})",
            )
            for line in lines
        ],
    )


def _raw_record(line: InvalidLine, keep_content: bool) -> str:
    if keep_content:
        return line.text[:100_000]
    return json.dumps(
        {
            "withheld": "the line is not valid UTF-8, so its prompt and completion text cannot be told apart "
            "from the rest: none of it is stored (AGENTLEDGER_KEEP_CONTENT=1 stores it); find it by file and "
            "line, compare by sha256",
            "bytes": line.size,
            "sha256": line.sha256,
        }
    )


def skips_invalid_lines(conn: duckdb.DuckDBPyConnection, files: Sequence[str]) -> bool:
    """Whether any of `files` holds a line known not to be UTF-8 (read them skipping such lines)."""
    return conn.execute(
        "select count(*) > 0 from _otel_invalid_lines where list_contains($files, source_file)",
        {"files": [str(f) for f in files]},
    ).fetchone()[0]


def skipping_options() -> str:
    """`read_csv` options that skip lines DuckDB cannot read and record them in the skipped tables."""
    return (
        f"ignore_errors = true, store_rejects = true, rejects_table = '{SKIPPED_TABLE}', "
        f"rejects_scan = '{SKIPPED_SCANS_TABLE}'"
    )


def clear_skipped(conn: duckdb.DuckDBPyConnection) -> None:
    """Empty the skipped tables before a read that skips (DuckDB appends one scan after another)."""
    conn.execute(f"drop table if exists {SKIPPED_TABLE}")
    conn.execute(f"drop table if exists {SKIPPED_SCANS_TABLE}")


def check_skipped(conn: duckdb.DuckDBPyConnection, files: Sequence[str]) -> None:
    """Fail unless the read just made skipped exactly the known invalid lines of `files`.

    Raises:
        ValueError: DuckDB skipped a line for another reason, or counted lines otherwise than the
            scan did: a line could otherwise be lost without a word.
    """
    exists = conn.execute(
        "select count(*) from duckdb_tables() where temporary and table_name = ?", [SKIPPED_TABLE]
    ).fetchone()[0]
    skipped = (
        conn.execute(
            f"""
            select scans.file_path, skipped.line, skipped.error_type
            from {SKIPPED_TABLE} as skipped
            join {SKIPPED_SCANS_TABLE} as scans using (scan_id, file_id)
            """
        ).fetchall()
        if exists
        else []
    )
    expected = set(
        conn.execute(
            "select source_file, line_number from _otel_invalid_lines where list_contains($files, source_file)",
            {"files": [str(f) for f in files]},
        ).fetchall()
    )
    unexpected = sorted(
        (path, line, kind) for path, line, kind in skipped if kind != "INVALID ENCODING" or (path, line) not in expected
    )
    missed = sorted(expected - {(path, line) for path, line, _ in skipped})
    if unexpected or missed:
        where = unexpected[0][:2] if unexpected else missed[0]
        kind = f"skipped it as {unexpected[0][2]}" if unexpected else "did not skip it"
        raise ValueError(
            f"{where[0]} line {where[1]}: reading around lines that are not UTF-8, DuckDB {kind}, against the "
            "scan of the file; the load stops so that no line is lost: repair or remove the lines that are not "
            "UTF-8 and load again"
        )


@contextmanager
def skipping_known_lines(conn: duckdb.DuckDBPyConnection, files: Sequence[str]) -> Iterator[bool]:
    """A read of `files` that skips the lines the scan found not UTF-8, if they hold any.

    Yields whether the reader must skip (`parse.reader(..., skip_invalid)`); after the read, checks
    that DuckDB skipped exactly those lines.
    """
    skip = skips_invalid_lines(conn, files)
    if skip:
        clear_skipped(conn)
    yield skip
    if skip:
        check_skipped(conn, files)
