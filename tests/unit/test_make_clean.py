"""`make clean` removes the project's own data folder only, never a warehouse AGENTLEDGER_HOME points elsewhere."""

import os
import subprocess
from pathlib import Path

from orchestration.settings import PROJECT_ROOT


def test_make_clean_leaves_an_agentledger_home_elsewhere_alone(tmp_path: Path) -> None:
    # given a production home exported the way the settings table invites
    home = tmp_path / "srv" / "agentledger"
    env = {**os.environ, "AGENTLEDGER_HOME": str(home)}

    # when `make clean` is asked what it would run
    completed = subprocess.run(
        ["make", "-n", "clean"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )

    # then it removes the project's data/ and dbt's artifacts, not the home
    assert str(home) not in completed.stdout
    assert f'"{PROJECT_ROOT / "data"}"' in completed.stdout and "target" in completed.stdout  # quoted: spaces
