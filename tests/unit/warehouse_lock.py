"""Whether another process can open a warehouse file read-write at a given moment (DuckDB's file lock)."""

import subprocess
import sys
from pathlib import Path


def open_read_write_elsewhere(db_path: Path) -> str:
    """Open the warehouse read-write from another process, as a BI tool or a CLI would: its error, or ''."""
    code = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('select 1').fetchall()"
    done = subprocess.run([sys.executable, "-c", code, str(db_path)], capture_output=True, text=True, timeout=60)
    return "" if done.returncode == 0 else done.stderr.strip().splitlines()[-1]
