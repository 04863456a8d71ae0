"""Doctest settings: arrays print with 6 significant decimals, as in the notebooks."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _six_decimals(doctest_namespace):
    with np.printoptions(precision=6, suppress=False):
        yield


# Test files that drive a JupyterLab in Chromium: they share one worker, one after the
# other, because two browsers and two servers at once starve each other on a small machine.
BROWSER_FILES = {"test_browser.py", "test_review_browser.py", "test_widget_state_browser.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup``: one worker per file (a notebook's cells stay together, as
    ``--dist loadfile`` does), and one worker for all the browser tests."""
    for item in items:
        group = "browser" if item.path.name in BROWSER_FILES else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))
