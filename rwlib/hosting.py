"""Where this copy of the course lives: its repository, and the links and setup made from it.

Every instructor who adopts the course hosts a copy (a fork), so its address is a
setting, ``[tool.rwlib]`` in ``pyproject.toml``::

    [tool.rwlib]
    repository = "https://github.com/OWNER/REPO"   # empty: no links are published
    ref = "main"                                    # the branch or tag students get

``rwlib release`` (``--repository URL`` and ``--ref REF`` override the setting) writes
from it:

- :meth:`Hosting.setup_cell`, the first cell of every notebook: on Google Colab only
  (``"google.colab" in sys.modules``) it installs rwlib from the repository at the
  ref; anywhere else, also under nbval, it does nothing;
- :meth:`Hosting.launch_table`, the README's table between :data:`BEGIN` and
  :data:`END`: Binder (JupyterLab on ``notebooks/00_index.ipynb``), Open in Colab
  for each notebook, and the nbgitpuller link for a JupyterHub. While the setting
  is empty, the table says how to fill it in instead, so no dead link is published.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from pathlib import Path

BEGIN = "<!-- launch table: written by rwlib release from [tool.rwlib] in pyproject.toml -->"
END = "<!-- end of the launch table -->"
SETUP_TAG = "colab-setup"  # the setup cell's tag, by which release finds and replaces it
GITHUB = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?")


class HostingError(ValueError):
    """The setting cannot be used; the message names the problem and the fix."""


@dataclasses.dataclass(frozen=True)
class Hosting:
    """The course's repository address and the branch or tag that students get.

    Examples
    --------
    >>> Hosting("https://github.com/ann/rw-course").binder_url()
    'https://mybinder.org/v2/gh/ann/rw-course/main?urlpath=lab/tree/notebooks/00_index.ipynb'
    >>> Hosting("https://github.com/ann/rw-course", "fall-2026").colab_url("01_scores")
    'https://colab.research.google.com/github/ann/rw-course/blob/fall-2026/notebooks/01_scores.ipynb'
    """

    repository: str = ""
    ref: str = "main"

    def __post_init__(self):
        repository = self.repository.strip().rstrip("/")
        object.__setattr__(self, "repository", repository)
        if repository and not re.match(r"(https://|file://|ssh://|git@)", repository):
            raise HostingError(
                f"repository {repository!r} is not a git address; write it as "
                "https://github.com/OWNER/REPO (or https://…, file://… for a local copy)"
            )
        if not re.fullmatch(r"[\w./-]+", self.ref) or ".." in self.ref:
            raise HostingError(f"ref {self.ref!r} is not a branch or tag name")

    @classmethod
    def from_course(cls, course: Path, repository=None, ref=None) -> Hosting:
        """``course/pyproject.toml``'s setting; ``repository`` or ``ref`` override it."""
        path = Path(course) / "pyproject.toml"
        setting = _setting(path.read_text("utf-8")) if path.is_file() else {}
        return cls(
            repository if repository is not None else setting.get("repository", ""),
            ref if ref is not None else setting.get("ref", "main"),
        )

    @property
    def github(self) -> tuple[str, str] | None:
        """(owner, repository) on GitHub, where Colab and Binder's ``gh`` links work; else None."""
        found = GITHUB.fullmatch(self.repository)
        return (found.group(1), found.group(2)) if found else None

    def pip_requirement(self) -> str:
        """What pip installs on Colab: ``rwlib @ git+URL@REF``.

        A ``file:///`` address (a local copy, as in the tests) is written
        ``file://localhost/``: pip refuses a ``git+file`` URL without a host.

        Examples
        --------
        >>> Hosting("file:///srv/course").pip_requirement()
        'rwlib @ git+file://localhost/srv/course@main'
        """
        repository = re.sub(r"^file:///", "file://localhost/", self.repository)
        return f"rwlib @ git+{repository}@{self.ref}"

    def setup_cell(self) -> str:
        """The source of every notebook's first cell (:data:`SETUP_TAG`): Colab's install."""
        head = (
            "# Google Colab only: install the course library, rwlib, from the course's\n"
            "# repository. Anywhere else (JupyterLab, a JupyterHub, Binder) it does nothing.\n"
            "import sys\n\n"
            'if "google.colab" in sys.modules:\n'
        )
        if not self.repository:
            return head + (
                "    raise RuntimeError(\n"
                '        "This copy of the course does not say where it is hosted, so rwlib "\n'
                '        "cannot be installed on Colab: ask your instructor for the links."\n'
                "    )"
            )
        return head + (
            f'    %pip install --quiet "{self.pip_requirement()}"\n'
            "    from google.colab import output\n\n"
            "    output.enable_custom_widget_manager()  # the sliders are ipywidgets 8"
        )

    def binder_url(self) -> str | None:
        """Binder's JupyterLab on the course index, or None without a repository."""
        if not self.repository:
            return None
        path = "urlpath=lab/tree/notebooks/00_index.ipynb"
        if self.github:
            owner, name = self.github
            return f"https://mybinder.org/v2/gh/{owner}/{name}/{self.ref}?{path}"
        quoted = urllib.parse.quote(self.repository, safe="")
        return f"https://mybinder.org/v2/git/{quoted}/{self.ref}?{path}"

    def colab_url(self, notebook: str) -> str | None:
        """Colab's link to a student notebook (``02_normalization_factor``, with or without
        ``.ipynb``); None unless the repository is on GitHub."""
        if not self.github:
            return None
        owner, name = self.github
        return (
            f"https://colab.research.google.com/github/{owner}/{name}/blob/{self.ref}"
            f"/notebooks/{notebook.removesuffix('.ipynb')}.ipynb"
        )

    def hub_url(self) -> str | None:
        """nbgitpuller's link for a JupyterHub, with ``<your-hub>`` to fill in; None without one."""
        if not self.repository:
            return None
        name = self.repository.rsplit("/", 1)[-1].removesuffix(".git")
        query = urllib.parse.urlencode(
            {
                "repo": self.repository,
                "branch": self.ref,
                "urlpath": f"lab/tree/{name}/notebooks/00_index.ipynb",
            }
        )
        return f"https://<your-hub>/hub/user-redirect/git-pull?{query}"

    def launch_table(self, notebooks: list[str]) -> str:
        """The README's launch section (Markdown), for the student notebooks ``notebooks``."""
        if not self.repository:
            return (
                "No launch links yet: this copy of the course does not say where it is hosted. "
                "Set `repository` under `[tool.rwlib]` in `pyproject.toml` to your fork's "
                "address (e.g. `https://github.com/OWNER/REPO`, and `ref` to the branch or tag "
                "students get), then run `rwlib release`: the Binder, Colab and JupyterHub links "
                "appear here."
            )
        lines = [f"[Launch Binder (JupyterLab)]({self.binder_url()})", ""]
        if self.github:
            lines += ["| notebook | Colab |", "|---|---|"]
            lines += [f"| `{n}` | [Open in Colab]({self.colab_url(n)}) |" for n in notebooks]
        else:
            lines.append("Colab opens notebooks from GitHub only; this repository is not there.")
        lines += [
            "",
            "On a JupyterHub (replace `<your-hub>` with its address; nbgitpuller clones the "
            "course into each student's home and later merges updates without overwriting "
            "their work):",
            "",
            "```text",
            self.hub_url(),
            "```",
        ]
        return "\n".join(lines)


def with_launch_table(readme: str, table: str) -> str:
    """``readme`` with the text between :data:`BEGIN` and :data:`END` replaced by ``table``."""
    if (
        readme.count(BEGIN) != 1
        or readme.count(END) != 1
        or readme.index(BEGIN) > readme.index(END)
    ):
        raise HostingError(
            f"README.md must hold the launch table's markers once each, in order: {BEGIN} and {END}"
        )
    before, rest = readme.split(BEGIN)
    _, after = rest.split(END)
    return f"{before}{BEGIN}\n{table}\n{END}{after}"


def _setting(pyproject: str) -> dict[str, str]:
    """The string keys of ``[tool.rwlib]`` in pyproject.toml's text (no TOML parser needed).

    Examples
    --------
    >>> _setting('[project]\\nname = "x"\\n[tool.rwlib]\\nrepository = "https://a/b" # c\\n')
    {'repository': 'https://a/b'}
    """
    found = re.search(r"^\[tool\.rwlib\]\s*$(.*?)(?=^\[|\Z)", pyproject, re.M | re.S)
    if not found:
        return {}
    pairs = re.findall(r'^\s*([\w-]+)\s*=\s*"([^"]*)"', found.group(1), re.M)
    return dict(pairs)
