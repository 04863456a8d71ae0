"""Shared fixtures of the test suite, and the skip of grading tests on a machine that cannot grade.

A test marked ``grader`` runs ``rwlib grade`` for real. As root without
bubblewrap, the grader refuses to start when the kernels' own user ids cannot
reach the Python installation (``rwlib.grading.sandbox.user_id_problem``); those
tests are then skipped with that one reason, unless ``RW_REQUIRE_GRADER=1`` (CI
sets it), which makes the skip a failure.
"""

import functools
import os

import matplotlib.pyplot as plt
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "grader: the test runs rwlib grade (kernels in a sandbox)")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened."""
    yield
    plt.close("all")


@functools.cache
def _grader_problem():
    from rwlib.grading import sandbox

    return sandbox.user_id_problem()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip (or, with RW_REQUIRE_GRADER=1, fail) a ``grader`` test where rwlib grade cannot run.

    A hook, not a fixture: it runs before any fixture, also a module's that grades a class.
    """
    if item.get_closest_marker("grader") is None:
        return
    problem = _grader_problem()
    if problem is None:
        return
    message = f"GRADER TEST NOT RUN: rwlib grade cannot run on this machine: {problem}"
    if os.environ.get("RW_REQUIRE_GRADER") == "1":
        pytest.fail(message + " (RW_REQUIRE_GRADER=1 makes this a failure)", pytrace=False)
    pytest.skip(message)
