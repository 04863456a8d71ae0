"""The semester's lock, the environments built from it, and environment.yml (conda, Binder).

uv.lock is the lock; constraints.txt is the same versions for pip (``make lock`` writes both);
environment.yml pins the course's packages to them.
"""

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())
CONDA = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
# The Pythons and systems the lock is for: (marker values, does a wheel's platform tag fit).
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
SYSTEMS = {
    "Linux x86_64": (
        {"sys_platform": "linux", "os_name": "posix", "platform_system": "Linux"},
        lambda tag: tag.startswith(("manylinux", "linux")) and tag.endswith("x86_64"),
    ),
    "macOS arm64": (
        {"sys_platform": "darwin", "os_name": "posix", "platform_system": "Darwin"},
        lambda tag: tag.startswith("macosx") and tag.endswith(("arm64", "universal2")),
    ),
    "Windows x64": (
        {"sys_platform": "win32", "os_name": "nt", "platform_system": "Windows"},
        lambda tag: tag == "win_amd64",
    ),
}


def _name(requirement: str) -> str:
    """The bare package name of a requirement such as ``numpy>=1.24``."""
    return canonicalize_name(re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0])


def _constraints() -> list[Requirement]:
    """constraints.txt, one pinned requirement (with its marker) per line."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return [
        Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]


def _python(version: str, system: dict) -> dict:
    """The marker environment of CPython ``version`` on ``system``."""
    return (
        default_environment()
        | system
        | {
            "python_version": version,
            "python_full_version": f"{version}.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
        }
    )


def _pins(environment: dict) -> dict[str, str]:
    """{package: locked version} for one marker environment."""
    pins = {}
    for requirement in _constraints():
        if requirement.marker is None or requirement.marker.evaluate(environment):
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{requirement} is not a pin"
            assert canonicalize_name(requirement.name) not in pins, f"{requirement.name} twice"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _installs(wheel: str, version: str, platform_fits) -> bool:
    """Whether pip installs the wheel file ``wheel`` on CPython ``version`` (no compiler)."""
    minor = int(version.split(".")[1])
    for tag in parse_wheel_filename(wheel)[3]:
        cp = re.fullmatch(r"cp3(\d+)", tag.interpreter)
        python = (tag.interpreter in ("py3", f"py3{minor}") and tag.abi == "none") or (
            cp is not None
            and (int(cp[1]) == minor or (tag.abi == "abi3" and int(cp[1]) <= minor))
            and tag.abi in ("none", "abi3", f"cp3{minor}")
        )
        if python and (tag.platform == "any" or platform_fits(tag.platform)):
            return True
    return False


def test_constraints_txt_is_exported_from_uv_lock():
    """The pip and the uv install the same versions: run `make lock` after editing either."""
    locked = {(p["name"], p["version"]) for p in LOCK["package"] if "editable" not in p["source"]}
    exported = {(canonicalize_name(r.name), str(r.specifier)[2:]) for r in _constraints()}
    assert exported == locked, (
        f"only in constraints.txt: {sorted(exported - locked)}; "
        f"only in uv.lock: {sorted(locked - exported)} (run make lock)"
    )


def test_uv_lock_is_for_this_pyproject():
    """uv.lock was made from the current requirements: after editing them, run `make lock`."""
    (project,) = (p for p in LOCK["package"] if "editable" in p["source"])
    locked = {
        (r["name"], str(SpecifierSet(r.get("specifier", ""))), r.get("marker", ""))
        + tuple(r.get("extras", ()))
        for r in project["metadata"]["requires-dist"]
    }
    wanted = {
        (canonicalize_name(r.name), str(r.specifier), f"extra == '{extra}'" if extra else "")
        + tuple(sorted(r.extras))
        for extra, requirements in [("", PYPROJECT["dependencies"])]
        + list(PYPROJECT["optional-dependencies"].items())
        for r in map(Requirement, requirements)
    }
    assert locked == wanted, (
        f"not locked: {sorted(wanted - locked)}; stale: {sorted(locked - wanted)}"
    )


@pytest.mark.parametrize("version", PYTHONS)
@pytest.mark.parametrize("system", SYSTEMS)
def test_every_locked_package_installs_from_a_wheel(version, system):
    """Each supported Python on each system gets every package from a wheel: no compiler."""
    markers, platform_fits = SYSTEMS[system]
    wheels = {
        (p["name"], p["version"]): [w["url"] for w in p.get("wheels", [])] for p in LOCK["package"]
    }
    pins = _pins(_python(version, markers))
    for name in ("numpy", "jupyterlab", "matplotlib", "ipywidgets", "tqdm", "nbval", "pytest"):
        assert name in pins, f"{name} is not locked for Python {version} on {system}"
    missing = [
        f"{name}=={pin}"
        for name, pin in pins.items()
        if not any(
            _installs(url.rsplit("/", 1)[1], version, platform_fits) for url in wheels[(name, pin)]
        )
    ]
    assert not missing, f"no wheel for Python {version} on {system}: {missing}"


def test_this_environment_has_the_locked_versions():
    """What `make venv` (or the README's pip command) installed is exactly what is locked."""
    here = {
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "python_full_version": ".".join(map(str, sys.version_info[:3])),
    }
    pins = _pins(default_environment() | here)
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
    }
    assert {"numpy", "jupyterlab", "matplotlib", "nbval"} <= installed.keys() & pins.keys()
    drifted = {n: (v, pins[n]) for n, v in installed.items() if n in pins and v != pins[n]}
    assert not drifted, f"installed (first) and locked (second) versions differ: {drifted}"


def test_environment_lists_the_same_packages_as_pyproject():
    from_pyproject = {
        _name(r) for r in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["course"]
    }
    from_environment = {_name(r) for r in CONDA if isinstance(r, str)} - {"python", "pip"}
    assert from_environment == from_pyproject, (
        f"only in environment.yml: {sorted(from_environment - from_pyproject)}; "
        f"only in pyproject.toml: {sorted(from_pyproject - from_environment)}"
    )


def test_environment_pins_the_locked_versions():
    (python,) = (
        re.fullmatch(r"python=(3\.\d+)", r)
        for r in CONDA
        if isinstance(r, str) and r.startswith("python=")
    )
    assert python, "environment.yml pins no python=3.N"
    assert python[1] in PYTHONS, (
        f"the lock does not cover the Python of environment.yml ({python[1]})"
    )
    pins = _pins(_python(python[1], SYSTEMS["Linux x86_64"][0]))
    for entry in CONDA:
        if isinstance(entry, str) and _name(entry) not in ("python", "pip"):
            name, _, version = entry.partition("=")
            assert pins[_name(name)] == version, (
                f"environment.yml has {entry}, the lock {pins[_name(name)]}"
            )


def test_the_course_extra_holds_no_instructor_tool():
    """A student's install is lean: nbval, pytest and the like come with rwlib[instructor]."""
    from rwlib.cli import INSTRUCTOR_TOOLS

    course = {_name(r) for r in PYPROJECT["optional-dependencies"]["course"]}
    instructor = {_name(r) for r in PYPROJECT["optional-dependencies"]["instructor"]}
    assert course == {"jupyterlab", "matplotlib", "ipywidgets", "tqdm", "ipykernel"}
    assert not course & {"nbval", "pytest", "pytest-xdist", "nbgrader", "hypothesis"}
    assert {"nbval", "pytest", "pytest-xdist", "nbformat", "nbclient", "pyyaml"} <= instructor
    assert len(INSTRUCTOR_TOOLS) == len(instructor - {"rwlib"})


STUDENT = """
import sys
sys.modules.update(dict.fromkeys({tools!r}))  # as if not installed: importing one fails
import matplotlib
matplotlib.use("Agg")
import numpy as np
import rwlib as rw
import rwlib.plots.scores
from rwlib import checks, cli
grade_id, number = next((i, e) for i, e in checks.definitions().items() if hasattr(e, "expected"))
rw.check(grade_id, number.expected())
print("checked", grade_id)
rwlib.plots.scores.plot_two_rules(np.array([12.0, 7.0, 1.0]))
print("release:", cli.main(["release", "--no-execute", "--out", {out!r}]))
"""


def test_the_student_path_needs_no_instructor_tool(tmp_path):
    """import rwlib, a check and a figure work without them; release says what to install."""
    from rwlib.cli import INSTRUCTOR_TOOLS

    code = STUDENT.format(tools=INSTRUCTOR_TOOLS, out=str(tmp_path / "out"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    grade_id = re.search(r"checked (\S+)", done.stdout)[1]
    assert f"✔ {grade_id}: right" in done.stdout and "release: 1" in done.stdout
    (line,) = done.stderr.splitlines()
    assert line.startswith("rwlib release: ") and "pip install 'rwlib[instructor]'" in line
    assert not (tmp_path / "out").exists()


def test_make_lab_opens_the_course_index():
    """The URL that `make lab` prints is the index notebook's, and that notebook exists."""
    (path,) = re.findall(r"--LabApp\.default_url=/lab/tree/(\S+)", (ROOT / "Makefile").read_text())
    assert path == "notebooks/00_index.ipynb" and (ROOT / path).is_file()


def test_environment_pins_python_the_way_repo2docker_reads_it():
    assert any(re.fullmatch(r"python=3\.\d+", r) for r in CONDA if isinstance(r, str))


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
    overrides = json.loads((ROOT / "jupyterlab-overrides.json").read_text())
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    for plugin, settings in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        assert set(settings) <= set(schema["properties"]), plugin
