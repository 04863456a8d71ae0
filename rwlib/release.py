"""``rwlib release``: make the student notebooks from the solution notebooks.

``solutions/`` is the single source. For each notebook there, ``release``

1. executes the solution notebook in place, so its stored outputs are fresh;
2. makes the student copy: every region between ``### BEGIN SOLUTION`` and
   ``### END SOLUTION`` becomes a stub, every region between
   ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is removed, and a
   markdown solution cell becomes "YOUR ANSWER HERE", as nbgrader's
   ``generate_assignment`` does;
3. executes the student copy and writes it to ``notebooks/``.

The stub of a solution region depends on where it stands. Inside a function
body (an indented region) it is ``raise NotImplementedError``; at the top level
it assigns ``...`` to the names that the region's last statement assigns, so
``beta_90 = <computation>`` becomes ``beta_90 = ...``. A check cell recognises
both as "not answered yet".

Answers to "Check your understanding" (the source format)
---------------------------------------------------------
In a solution notebook each question of that section is a markdown cell, and
its answer is the markdown cell right after it, written in the open and tagged
``answer`` (cell metadata ``{"tags": ["answer"]}``; no nbgrader metadata, no
``<details>`` of its own)::

    **2.** Can $Z$ be smaller than 1?            <- question cell, untagged
    Yes: whenever every reward is negative, ...   <- answer cell, tag "answer"

The student copy keeps the answer, collapsed::

    <details><summary>Answer</summary>

    Yes: whenever every reward is negative, ...

    </details>

The blank lines let JupyterLab render the answer's markdown and maths inside
the block. :func:`student_source` refuses an ``answer`` cell that is not
markdown, is empty, carries nbgrader metadata or already holds ``<details>``.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import textwrap
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
TEXT_STUB = "YOUR ANSWER HERE"
ANSWER_TAG = "answer"
CELL_TIMEOUT_SECONDS = 60


class ReleaseError(ValueError):
    """A solution notebook that cannot be turned into a student copy."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _collapsed_answer(cell, where: str) -> str:
    """The student's copy of a tagged answer cell (see the module docstring)."""
    text = cell["source"].strip()
    problem = (
        "is not a markdown cell" if cell["cell_type"] != "markdown"
        else "carries nbgrader metadata; an answer to read is not graded" if _nbgrader(cell)
        else "is empty" if not text
        else "already holds <details>; release writes the collapsed block" if "<details" in text
        else None
    )  # fmt: skip
    if problem:
        raise ReleaseError(f"{where}: the cell tagged {ANSWER_TAG!r} {problem}")
    return f"<details><summary>Answer</summary>\n\n{text}\n\n</details>"


def _stub(region: list[str], indent: str, where: str) -> list[str]:
    """The student's stub for one solution region (see the module docstring)."""
    if indent:
        return [f"{indent}raise NotImplementedError"]
    try:
        statements = ast.parse(textwrap.dedent("\n".join(region))).body
    except SyntaxError as error:
        raise ReleaseError(f"{where}: the solution does not parse: {error}") from None
    last = statements[-1] if statements else None
    targets = last.targets if isinstance(last, ast.Assign) else [getattr(last, "target", None)]
    names = [
        name.id
        for target in targets
        for name in (target.elts if isinstance(target, ast.Tuple) else [target])
        if isinstance(name, ast.Name)
    ]
    if not names:
        raise ReleaseError(
            f"{where}: a top-level solution must end by assigning the answer to a name "
            "(e.g. `beta_90 = ...`), so that the student copy can keep that name"
        )
    return [" = ".join(names) + " = ..."]


def _replace_regions(source: str, begin: str, end: str, replace, where: str) -> tuple[str, bool]:
    """Replace each begin/end region (marker lines included) by ``replace(region, indent)``."""
    lines, out, region, indent = source.split("\n"), [], None, ""
    for line in lines:
        if begin in line:
            if region is not None:
                raise ReleaseError(f"{where}: nested {begin!r}")
            region, indent = [], re.match(r"\s*", line).group(0)
        elif end in line:
            if region is None:
                raise ReleaseError(f"{where}: {end!r} without {begin!r}")
            out.extend(replace(region, indent))
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ReleaseError(f"{where}: {begin!r} without {end!r}")
    return "\n".join(out), out != lines


def student_source(cell, where: str) -> str:
    r"""The source of ``cell`` as the student sees it (nbgrader's rules, our stubs).

    Parameters
    ----------
    cell : dict
        A notebook cell (``cell_type``, ``source``, ``metadata``).
    where : str
        Where the cell is, for error messages (e.g. ``"02_x.ipynb, cell 7"``).

    Returns
    -------
    str
        The source with solution regions stubbed and hidden tests removed; a
        cell tagged ``answer`` collapsed in ``<details>``.

    Raises
    ------
    ReleaseError
        For unbalanced or nested markers, a solution region outside an nbgrader
        solution cell, hidden tests outside a grade cell, a top-level
        solution that does not end by assigning its answer, or an ``answer``
        cell that is not a plain markdown answer.

    Examples
    --------
    >>> meta = {"nbgrader": {"solution": True, "grade": False, "grade_id": "x-answer"}}
    >>> cell = {"cell_type": "code", "metadata": meta,
    ...         "source": "### BEGIN SOLUTION\nz = 0.6 * e**2 + 0.4 * e\n### END SOLUTION"}
    >>> student_source(cell, "example")
    'z = ...'
    >>> answer = {"cell_type": "markdown", "metadata": {"tags": ["answer"]}, "source": "No."}
    >>> print(student_source(answer, "example"))
    <details><summary>Answer</summary>
    <BLANKLINE>
    No.
    <BLANKLINE>
    </details>
    """
    if ANSWER_TAG in cell.get("metadata", {}).get("tags", []):
        return _collapsed_answer(cell, where)
    meta = _nbgrader(cell)
    markdown = cell["cell_type"] == "markdown"

    def stub(region, indent):
        return [indent + TEXT_STUB] if markdown else _stub(region, indent, where)

    source, replaced = _replace_regions(cell["source"], BEGIN_SOLUTION, END_SOLUTION, stub, where)
    if replaced and not meta.get("solution"):
        raise ReleaseError(
            f"{where}: a solution region in a cell that is not an nbgrader solution cell; "
            'set "solution": true in its nbgrader metadata'
        )
    if meta.get("solution") and not replaced:
        if not markdown:
            markers = f"{BEGIN_SOLUTION!r} ... {END_SOLUTION!r}"
            raise ReleaseError(f"{where}: a solution cell needs {markers}")
        source = TEXT_STUB
    source, removed = _replace_regions(source, BEGIN_HIDDEN, END_HIDDEN, lambda r, i: [], where)
    if removed and not meta.get("grade"):
        raise ReleaseError(f"{where}: hidden tests in a cell that is not an nbgrader grade cell")
    return source.rstrip("\n") if removed else source


def student_notebook(solution, name: str = "notebook"):
    """A student copy of an nbformat notebook: solutions stubbed, hidden tests removed.

    Outputs are cleared; :func:`release` executes the copy afterwards.
    """
    student = copy.deepcopy(solution)
    for index, cell in enumerate(student.cells):
        cell.source = student_source(cell, f"{name}, cell {index}")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return student


def _execute(notebook, directory: Path) -> None:
    """Run every cell; no timing metadata, so that a re-release changes no byte needlessly."""
    from nbclient import NotebookClient

    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        record_timing=False,
        coalesce_streams=True,  # one stream output per cell, however the kernel chunked it
        resources={"metadata": {"path": str(directory)}},
    )
    client.execute()


_WIDGET_ID = re.compile(r"[0-9a-f]{32}")


def stable_widget_ids(notebook):
    """The notebook with its widget model ids renumbered in a fixed order.

    ipywidgets names every model with a random uuid, so each execution would
    change every id in the stored widget state. Renumbering them in the order
    of a fixed walk (the outputs that display them, then the models they refer
    to) makes a re-release of an unchanged notebook byte-identical.
    """
    import nbformat

    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json")
    if not state:
        return notebook
    models = state["state"]
    order = [
        output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    for model_id in order:  # grows while it is walked: models refer to further models
        if model_id in models:
            text = json.dumps(models[model_id], sort_keys=True)
            order += [
                ref for ref in re.findall(r"IPY_MODEL_([0-9a-f]{32})", text) if ref not in order
            ]
    rest = sorted(
        set(models) - set(order),
        key=lambda m: _WIDGET_ID.sub("", json.dumps(models[m], sort_keys=True)),
    )
    new_ids = {old: f"{number:032x}" for number, old in enumerate(dict.fromkeys(order + rest))}
    text = _WIDGET_ID.sub(
        lambda match: new_ids.get(match.group(0), match.group(0)), json.dumps(notebook)
    )
    renumbered = nbformat.from_dict(json.loads(text))
    widget_state = renumbered.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    widget_state["state"] = dict(sorted(widget_state["state"].items()))
    return renumbered


def with_setup_cell(notebook, hosting) -> None:
    """Put ``hosting``'s Colab setup cell (tagged ``colab-setup``) before the first code cell.

    An existing setup cell is replaced, so a changed address reaches every notebook.
    """
    import nbformat

    from rwlib.hosting import SETUP_TAG

    notebook.cells = [c for c in notebook.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    cell = nbformat.v4.new_code_cell(hosting.setup_cell(), metadata={"tags": [SETUP_TAG]})
    cell.id = "colab-setup"
    first_code = next(
        (i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), len(notebook.cells)
    )
    notebook.cells.insert(first_code, cell)


def release(
    source: Path, out: Path, names=None, execute: bool = True, hosting=None, readme=None
) -> list[Path]:
    """Refresh the solutions in ``source`` and write their student copies to ``out``.

    Parameters
    ----------
    source, out : pathlib.Path
        The solutions folder and the student folder.
    names : list of str, optional
        Only these notebooks (file names, with or without ``.ipynb``).
    execute : bool, default True
        Execute both copies so that their stored outputs are fresh.
    hosting : rwlib.hosting.Hosting, optional
        Where the course lives: every notebook gets its Colab setup cell
        (:func:`with_setup_cell`), in the solution and the student copy.
    readme : pathlib.Path, optional
        The README whose launch table (:func:`rwlib.hosting.with_launch_table`) is
        rewritten from ``hosting`` for the student notebooks in ``out``.

    Returns
    -------
    list of pathlib.Path
        The student notebooks written.
    """
    import nbformat

    paths = sorted(source.glob("*.ipynb"))
    if names:
        wanted = {n if n.endswith(".ipynb") else f"{n}.ipynb" for n in names}
        missing = wanted - {p.name for p in paths}
        if missing:
            raise ReleaseError(f"no such notebook in {source}: {', '.join(sorted(missing))}")
        paths = [p for p in paths if p.name in wanted]
    if not paths:
        raise ReleaseError(f"no notebooks in {source}")
    os.environ.pop("RWLIB_GRADING", None)  # student copies are executed as a student sees them
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        solution = nbformat.read(path, as_version=4)
        if hosting is not None:
            with_setup_cell(solution, hosting)
            if not execute:
                nbformat.write(solution, path)
        student = student_notebook(solution, path.name)
        if execute:
            _execute(solution, source)
            nbformat.write(stable_widget_ids(solution), path)
            _execute(student, out)
            student = stable_widget_ids(student)
        target = out / path.name
        nbformat.write(student, target)
        written.append(target)
    if hosting is not None and readme is not None and Path(readme).is_file():
        from rwlib.hosting import with_launch_table

        notebooks = sorted(p.stem for p in out.glob("*.ipynb"))
        text = Path(readme).read_text(encoding="utf-8")
        Path(readme).write_text(with_launch_table(text, hosting.launch_table(notebooks)), "utf-8")
    return written
