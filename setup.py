"""What pyproject.toml cannot say statically: the project URLs and the package description.

Both come from ``[tool.rwlib] repository``, the address of this copy of the course. While it
is empty, the package publishes no URL, and the README's relative links (which resolve only
inside a checkout) become plain text; once it is set, they point into that repository.
"""

import re
import sys
from pathlib import Path

from setuptools import setup

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["rwlib"][
    "repository"
].rstrip("/")
# [text](target) or ![alt](target) whose target is relative to the checkout.
RELATIVE_LINK = re.compile(r"(!?)\[([^\]]*)\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)")


def description(readme: str, repository: str) -> str:
    """The README with its relative links absolute in ``repository`` (or plain text)."""
    if repository:
        return RELATIVE_LINK.sub(rf"\1[\2]({repository}/blob/HEAD/\3)", readme)
    return RELATIVE_LINK.sub(r"\2", readme)


urls = {"Homepage": REPOSITORY, "Source": REPOSITORY, "Issues": f"{REPOSITORY}/issues"}
setup(
    project_urls=urls if REPOSITORY else {},
    long_description=description((ROOT / "README.md").read_text("utf-8"), REPOSITORY),
    long_description_content_type="text/markdown",
)
