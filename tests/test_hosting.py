"""The course's address as a setting: the links made from it, and the Colab path, tried offline.

The Colab test builds what a student meets on Colab, without Colab: a fresh
environment with Colab's preinstalled packages (ipykernel, numpy, matplotlib,
ipywidgets, tqdm, nbclient; rwlib is not among them), a fake ``google.colab``
module imported at kernel start as Colab does, and a local git repository as the
course's address. The notebook's first cell must install rwlib from that
repository at the released tag, and the notebook must then run top to bottom.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rwlib.hosting import BEGIN, END, Hosting, HostingError, with_launch_table
from rwlib.release import with_setup_cell

ROOT = Path(__file__).resolve().parent.parent
GITHUB = Hosting("https://github.com/ann/rw-course", "fall-2026")


def test_github_links_point_at_the_fork_and_its_ref():
    table = GITHUB.launch_table(["00_index", "01_scores_to_probabilities"])
    assert (
        "https://mybinder.org/v2/gh/ann/rw-course/fall-2026?urlpath=lab/tree/notebooks/00_index.ipynb"
        in table
    )
    assert (
        "https://colab.research.google.com/github/ann/rw-course/blob/fall-2026/notebooks/"
        "01_scores_to_probabilities.ipynb" in table
    )
    assert "git-pull?repo=https%3A%2F%2Fgithub.com%2Fann%2Frw-course&branch=fall-2026" in table
    assert 'git+https://github.com/ann/rw-course@fall-2026"' in GITHUB.setup_cell()


def test_a_colab_link_takes_the_notebook_with_or_without_its_suffix():
    link = GITHUB.colab_url("02_normalization_factor")
    assert link.endswith("/blob/fall-2026/notebooks/02_normalization_factor.ipynb")
    assert GITHUB.colab_url("02_normalization_factor.ipynb") == link


def test_a_repository_elsewhere_gets_binder_and_a_hub_but_no_colab_link():
    hosting = Hosting("https://gitlab.example.edu/course/rw.git")
    table = hosting.launch_table(["00_index"])
    assert "https://mybinder.org/v2/git/https%3A%2F%2Fgitlab.example.edu" in table
    assert "colab.research.google.com" not in table and "GitHub only" in table


def test_without_a_repository_no_link_is_published_and_the_readme_says_how():
    hosting = Hosting("")
    table = hosting.launch_table(["00_index"])
    assert "](" not in table and "mybinder" not in table and "[tool.rwlib]" in table
    assert "RuntimeError" in hosting.setup_cell() and "pip install" not in hosting.setup_cell()


@pytest.mark.parametrize(
    ("repository", "ref"),
    [("github.com/ann/rw", "main"), ("https://github.com/ann/rw", "../x"), ("https://x/y", "a b")],
)
def test_a_bad_setting_is_refused_with_the_fix(repository, ref):
    with pytest.raises(HostingError, match="not a git address|not a branch or tag"):
        Hosting(repository, ref)


def test_the_setting_is_read_from_pyproject_and_overridden_from_the_command_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.rwlib]\n# the fork\nrepository = "https://github.com/a/b"\n'
        'ref = "spring"\n\n[tool.other]\nrepository = "no"\n'
    )
    assert Hosting.from_course(tmp_path) == Hosting("https://github.com/a/b", "spring")
    assert Hosting.from_course(tmp_path, ref="v2").ref == "v2"
    assert Hosting.from_course(ROOT).repository == ""  # this copy: not set


def test_the_launch_table_replaces_only_what_is_between_its_markers():
    readme = f"# Course\n\nintro\n\n{BEGIN}\nold table\n{END}\n\n## More\n"
    updated = with_launch_table(readme, "NEW")
    assert updated == f"# Course\n\nintro\n\n{BEGIN}\nNEW\n{END}\n\n## More\n"
    assert with_launch_table(updated, "NEW") == updated
    with pytest.raises(HostingError, match="markers"):
        with_launch_table("# no markers\n", "NEW")


def test_the_readme_holds_the_launch_table_of_the_current_setting():
    readme = (ROOT / "README.md").read_text()
    hosting = Hosting.from_course(ROOT)
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert with_launch_table(readme, hosting.launch_table(names)) == readme, (
        "README.md's launch table is out of date: run rwlib release"
    )


# ---------------------------------------------------------------------------------------
# The Colab path, offline
# ---------------------------------------------------------------------------------------

COLAB_PACKAGES = ["ipykernel", "numpy", "matplotlib", "ipywidgets", "tqdm", "nbclient"]
FAKE_COLAB = {
    "google/__init__.py": "",
    "google/colab/__init__.py": '"""Colab\'s module, faked: imported at kernel start."""\n',
    "google/colab/output.py": "def enable_custom_widget_manager():\n    pass\n",
}


def _run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, (
        f"{command[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


@pytest.fixture(scope="module")
def course_repository(tmp_path_factory) -> tuple[Path, str]:
    """A local git repository holding the package (what pip installs), tagged ``v-test``."""
    repo = tmp_path_factory.mktemp("repository")
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "rwlib", repo / "rwlib", ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    _run([*git, "init", "-q"], cwd=repo)
    _run([*git, "add", "."], cwd=repo)
    _run([*git, "commit", "-q", "-m", "the course"], cwd=repo)
    _run([*git, "tag", "v-test"], cwd=repo)
    return repo, "v-test"


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> Path:
    """A fresh environment with Colab's packages but no rwlib, and ``google.colab`` at start."""
    if shutil.which("git") is None:
        pytest.skip("COLAB TEST NOT RUN: git is not installed (apt-get install git)")
    base = tmp_path_factory.mktemp("colab")
    _run([sys.executable, "-m", "venv", str(base / "env")])
    python = base / "env" / "bin" / "python"
    constraints = ["--constraint", str(ROOT / "constraints.txt")]
    if not (ROOT / "constraints.txt").is_file():
        constraints = []
    _run([str(python), "-m", "pip", "install", "--quiet", *COLAB_PACKAGES, *constraints])
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    for name, text in FAKE_COLAB.items():
        path = Path(site.stdout.strip()) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # as on Colab\n")
    return base


def test_on_colab_the_first_cell_installs_rwlib_and_the_notebook_runs(
    colab, course_repository, tmp_path
):
    repo, tag = course_repository
    python = colab / "env" / "bin" / "python"
    missing = subprocess.run([str(python), "-c", "import rwlib"], capture_output=True, cwd=tmp_path)
    assert missing.returncode != 0, "the fake Colab must start without rwlib"
    hosting = Hosting(repo.as_uri(), tag)
    student = nbformat.read(ROOT / "notebooks" / "01_scores_to_probabilities.ipynb", as_version=4)
    with_setup_cell(student, hosting)  # as rwlib release --repository writes it
    path = tmp_path / "01_scores_to_probabilities.ipynb"
    nbformat.write(student, path)
    env = {"IPYTHONDIR": str(colab / "ipython"), "PATH": f"{python.parent}:/usr/bin:/bin"}
    env |= {"HOME": str(tmp_path), "MPLBACKEND": "agg"}
    _run([str(python), "-c", RUN_NOTEBOOK, str(path)], env=env, cwd=tmp_path, timeout=900)
    ran = json.loads((tmp_path / "ran.ipynb").read_text())
    errors = [o for c in ran["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, errors[0]
    where = _run([str(python), "-c", "import rwlib; print(rwlib.__file__)"], env=env, cwd=tmp_path)
    assert str(colab / "env") in where.stdout  # installed into the Colab environment


RUN_NOTEBOOK = """
import sys
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
nbformat.write(notebook, "ran.ipynb")
"""


def test_release_puts_the_setup_cell_before_the_first_code_cell_and_replaces_it():
    from rwlib.release import student_notebook

    notebook = nbformat.read(ROOT / "solutions" / "02_normalization_factor.ipynb", as_version=4)
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    with_setup_cell(notebook, Hosting("https://github.com/a/b"))
    with_setup_cell(notebook, GITHUB)  # a new address replaces the old cell
    tagged = [
        i for i, c in enumerate(notebook.cells) if "colab-setup" in c.metadata.get("tags", [])
    ]
    assert tagged == [first_code]
    assert "ann/rw-course@fall-2026" in notebook.cells[first_code].source
    student = student_notebook(notebook, "02")
    assert student.cells[first_code].source == notebook.cells[first_code].source


def test_release_writes_the_launch_table_into_the_readme(tmp_path):
    from rwlib.release import release

    (tmp_path / "solutions").mkdir()
    solution = nbformat.read(ROOT / "solutions" / "00_index.ipynb", as_version=4)
    nbformat.write(solution, tmp_path / "solutions" / "00_index.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\n{BEGIN}\n{END}\n")
    release(
        tmp_path / "solutions", tmp_path / "notebooks", execute=False, hosting=GITHUB, readme=readme
    )
    assert (
        "Open in Colab](https://colab.research.google.com/github/ann/rw-course"
        in readme.read_text()
    )
    for folder in ("solutions", "notebooks"):
        written = nbformat.read(tmp_path / folder / "00_index.ipynb", as_version=4)
        assert any("colab-setup" in c.metadata.get("tags", []) for c in written.cells)


def test_every_released_notebook_has_the_setup_cell_of_the_current_setting():
    hosting = Hosting.from_course(ROOT)
    for folder in ("solutions", "notebooks"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            cells = nbformat.read(path, as_version=4).cells
            setup = [c for c in cells if "colab-setup" in c.metadata.get("tags", [])]
            assert len(setup) == 1, f"{folder}/{path.name}: run rwlib release"
            assert setup[0].source == hosting.setup_cell(), (
                f"{folder}/{path.name}: run rwlib release"
            )
            first_code = next(c for c in cells if c.cell_type == "code")
            assert first_code is setup[0], f"{folder}/{path.name}: the setup cell comes first"
