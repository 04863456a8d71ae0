"""environment.yml (conda, Binder) and pyproject.toml must describe the same course."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    """The bare package name of a requirement such as ``numpy>=1.24``."""
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    from_pyproject = {
        _name(r) for r in project["dependencies"] + project["optional-dependencies"]["course"]
    }
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    from_environment = {_name(r) for r in conda if isinstance(r, str)} - {"python", "pip"}
    assert from_environment == from_pyproject, (
        f"only in environment.yml: {sorted(from_environment - from_pyproject)}; "
        f"only in pyproject.toml: {sorted(from_pyproject - from_environment)}"
    )


def test_environment_pins_python_the_way_repo2docker_reads_it():
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    assert any(re.fullmatch(r"python=3\.\d+", r) for r in conda if isinstance(r, str))


def test_every_environment_dependency_says_why_it_is_there():
    text = (ROOT / "environment.yml").read_text()
    lines = text[text.index("dependencies:") :].splitlines()
    entries = [line for line in lines if re.match(r"\s+- \S", line)]
    assert entries, "environment.yml lists no dependencies"
    missing = [line.strip() for line in entries if "#" not in line]
    assert not missing, f"dependencies without a comment: {missing}"


def test_binder_installs_rwlib_itself():
    assert "pip install" in (ROOT / "postBuild").read_text()
    assert (ROOT / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_jupyterlab_overrides_name_real_settings():
    """Every key of jupyterlab-overrides.json exists in the installed JupyterLab's schemas."""
    import json
    import sys

    overrides = json.loads((ROOT / "jupyterlab-overrides.json").read_text())
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    for plugin, settings in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        assert set(settings) <= set(schema["properties"]), plugin
