"""What an answer cell may use, checked on its source in the grader's own process.

Two rules, both decided from the source alone (nothing the kernel does can change them):

- **No answer cell tampers with the grading.** It may not change a module
  (``np.sum = ...``, ``setattr``), run code built from strings (``exec``,
  ``eval``, ``compile``, ``__import__``), reach the interpreter's machinery
  (``get_ipython``, ``sys.modules``, ``builtins``, dunder attributes).
- **A from-scratch exercise uses only its allowed modules** (the definition's
  ``allowed_modules``, e.g. numpy and math): every name it reads is defined in
  the cell, a builtin, or one of those modules, and every attribute it takes of a
  module resolves, in the grader's own copy of that module, to something of it.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import types

_CALLS = {"setattr", "delattr", "exec", "eval", "compile", "__import__", "globals", "vars"}
_CALLS |= {"locals", "get_ipython", "breakpoint", "input"}
_MODULES = {"sys", "builtins", "importlib", "inspect", "gc", "ctypes", "linecache", "IPython"}
# A from-scratch answer may use the builtins but these: getattr and hasattr would reach, by a
# name in a string, what the attribute check below would refuse (np.testing's sys, say).
_SAFE_BUILTINS = set(dir(builtins)) - _CALLS - {"open", "getattr", "hasattr"}
_SAFE_BUILTINS -= {"__build_class__", "__loader__", "__spec__"}


def _imported(tree: ast.AST) -> dict[str, str]:
    """Alias -> module name of every import in the cell."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}"
    return names


def tampering(source: str, modules: dict[str, str]) -> str | None:
    """Why an answer cell's source tampers with the grading, or None.

    ``modules`` maps the names the notebook binds to modules (``np``, ``rw``) to
    their module names.

    Examples
    --------
    >>> tampering("import numpy as np\\nnp.sum = len", {}) is not None
    True
    >>> tampering("x = np.sum([1, 2])", {"np": "numpy"}) is None
    True
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None  # it fails when it runs, as the student's own error
    modules = {**modules, **_imported(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            return f"it uses the attribute {node.attr}"
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                return f"it changes the module {root.id}"
        if isinstance(node, ast.Name) and (node.id in _CALLS or node.id == "__builtins__"):
            return f"it uses {node.id}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                top = (getattr(node, "module", None) or alias.name).split(".")[0]
                if top in _MODULES or alias.name.split(".")[0] in _MODULES:
                    return f"it imports {top if top in _MODULES else alias.name}"
    return None


def changes_a_module(source: str, modules: dict[str, str]) -> bool:
    """Whether an answer cell's source changes a module (which would change later cells too).

    Examples
    --------
    >>> changes_a_module("np.sum = len", {"np": "numpy"}), changes_a_module("x = 1", {})
    (True, False)
    """
    why = tampering(source, modules)
    return why is not None and (
        why.startswith("it changes the module") or why in ("it uses setattr", "it uses delattr")
    )


def _bound(tree: ast.AST) -> set[str]:
    """Every name the cell binds: assignments, functions, arguments, loop and import names."""
    names = set(_imported(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _resolves_inside(module_name: str, chain: list[str], allowed: tuple[str, ...]) -> bool:
    """Whether ``module.a.b`` exists in the grader's copy and stays inside allowed modules."""
    try:
        value = importlib.import_module(module_name)
    except ImportError:
        return False
    for attribute in chain:
        value = getattr(value, attribute, None)
        if value is None:
            return False
        if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] not in allowed:
            return False
    return True


def not_allowed(source: str, allowed: tuple[str, ...], modules: dict[str, str]) -> str | None:
    """Why a from-scratch answer cell uses more than its ``allowed`` modules, or None.

    ``modules`` maps the notebook's module names (``np``, ``rw``) to modules.

    Examples
    --------
    >>> src = "def z(ref, r, beta):\\n    return rw.normalization_factor(ref, r, beta)"
    >>> not_allowed(src, ("numpy",), {"np": "numpy", "rw": "rwlib"})
    'it uses rw, which is not numpy'
    >>> src = "def z(ref, r, beta):\\n    return np.sum(ref * np.exp(r / beta))"
    >>> not_allowed(src, ("numpy",), {"np": "numpy", "rw": "rwlib"}) is None
    True
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    allowed_words = " and ".join(allowed)
    imported = _imported(tree)
    for module in imported.values():
        if module.split(".")[0] not in allowed:
            return f"it imports {module}, which is not {allowed_words}"
    modules = {**modules, **imported}
    bound = _bound(tree) - set(imported)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.insert(0, root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules and root.id not in bound:
                module = modules[root.id]
                if module.split(".")[0] in allowed and not _resolves_inside(module, chain, allowed):
                    return f"it uses {root.id}.{'.'.join(chain)}, which is not {allowed_words}"
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
            continue
        if node.id in bound or node.id in _SAFE_BUILTINS:
            continue
        module = modules.get(node.id)
        if module is None or module.split(".")[0] not in allowed:
            return f"it uses {node.id}, which is not {allowed_words}"
    return None


def notebook_modules(notebook) -> dict[str, str]:
    """Name -> module of every import in the notebook's locked (non-answer) code cells."""
    modules = {}
    for cell in notebook.cells:
        solution = cell.get("metadata", {}).get("nbgrader", {}).get("solution")
        if cell.cell_type == "code" and not solution:
            try:
                modules |= _imported(ast.parse(cell.source))
            except SyntaxError:
                continue
    return modules
