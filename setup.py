"""The project URLs, from ``[tool.rwlib] repository`` in pyproject.toml (none while it is empty).

Every instructor hosts a copy of the course, so its address is a setting, and pyproject.toml
cannot derive its ``[project.urls]`` from a setting. Without this file (e.g. in the Gradescope
autograder's copy of the package) the package simply has no URLs.
"""

import sys
from pathlib import Path

from setuptools import setup

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PYPROJECT = tomllib.loads((Path(__file__).resolve().parent / "pyproject.toml").read_text("utf-8"))
REPOSITORY = PYPROJECT["tool"]["rwlib"]["repository"].rstrip("/")

setup(
    project_urls={"Homepage": REPOSITORY, "Source": REPOSITORY, "Issues": f"{REPOSITORY}/issues"}
    if REPOSITORY
    else {}
)
