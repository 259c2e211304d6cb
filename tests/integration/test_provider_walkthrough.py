"""README "Adding a provider source", step 6, followed to the letter on a copy of the project: it parses and lints.

The template's models are disabled so that the project builds without them. A data engineer copies
the folder, renames `template`, and deletes the lines the README names; what is left must be a
valid dbt project and pass `make lint`, or the documented step is a trap.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.settings import PROJECT_ROOT

PROVIDER = "acme"
# Step 6's words: delete every line `config: {enabled: false}` and `{{ config(enabled=false) }}`
DISABLING_LINES = ("config: {enabled: false}", "{{ config(enabled=false) }}")


def copy_project(destination: Path) -> None:
    """What dbt and sqlfluff read: the project file, profiles, lint settings, models, macros, seeds, tests."""
    for name in ("dbt_project.yml", "profiles.yml", "pyproject.toml"):
        shutil.copy(PROJECT_ROOT / name, destination / name)
    for name in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_ROOT / name, destination / name)


def add_provider_models(project: Path) -> list[Path]:
    """Copy the template's dbt folder, rename `template`, delete the disabling lines; the files written."""
    source, folder = project / "models/staging/_template", project / f"models/staging/{PROVIDER}"
    folder.mkdir()
    written = []
    for template in sorted(source.iterdir()):
        text = template.read_text().replace("template", PROVIDER)
        kept = [line for line in text.splitlines(keepends=True) if line.strip() not in DISABLING_LINES]
        path = folder / template.name.replace("template", PROVIDER)
        path.write_text("".join(kept))
        written.append(path)
    project_file = project / "dbt_project.yml"
    text = project_file.read_text()
    for var, model in (("provider_usage_models", "usage"), ("provider_cost_models", "costs")):
        head, _, rest = text.partition(f"  {var}: [")
        assert rest, f"dbt_project.yml has no list var {var}"
        text = f"{head}  {var}: [stg_{PROVIDER}__{model}, {rest}"
    project_file.write_text(text)
    return written


def test_the_template_copied_as_the_readme_says_parses_and_lints(tmp_path: Path) -> None:
    # given a copy of the project with a provider added by step 6 of the walkthrough
    project = tmp_path / "project"
    project.mkdir()
    copy_project(project)
    written = add_provider_models(project)
    assert not any(line.strip() in DISABLING_LINES for path in written for line in path.read_text().splitlines())

    # when dbt parses it and sqlfluff lints the new models, as `make manifest` and `make lint` do
    environment = {**os.environ, "AGENTLEDGER_DB": ":memory:"}
    bin_dir = Path(sys.executable).parent
    parsed = subprocess.run(
        [bin_dir / "dbt", "parse", "--quiet", "--project-dir", ".", "--profiles-dir", "."],
        cwd=project, env=environment, capture_output=True, text=True, timeout=600,
    )
    sql_files = [str(path.relative_to(project)) for path in written if path.suffix == ".sql"]
    linted = subprocess.run(
        [bin_dir / "sqlfluff", "lint", *sql_files, "--processes", "1"],
        cwd=project, env=environment, capture_output=True, text=True, timeout=600,
    )

    # then both pass, and dbt knows the provider's two models (enabled)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert linted.returncode == 0, linted.stdout + linted.stderr
    manifest = (project / "target/manifest.json").read_text()
    assert f'"model.agentledger.stg_{PROVIDER}__usage"' in manifest
    assert f'"model.agentledger.stg_{PROVIDER}__costs"' in manifest
