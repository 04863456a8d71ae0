"""Binder builds the course from environment.yml and postBuild, with the Python it names.

repo2docker (what Binder runs) is asked for its build plan without building
(`--no-build --debug`): that needs neither Docker nor the network.
"""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REPO2DOCKER = Path(sys.executable).parent / "jupyter-repo2docker"


def test_repo2docker_uses_the_python_of_environment_yml_and_runs_postbuild():
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    python = next(d for d in conda if isinstance(d, str) and re.fullmatch(r"python=[\d.]+", d))
    done = subprocess.run(
        [str(REPO2DOCKER), "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    plan = done.stdout + done.stderr
    assert done.returncode == 0, plan[-3000:]
    assert f"Building conda environment for {python}" in plan, plan[:3000]
    assert "RUN ./postBuild" in plan
