"""Doctest settings: arrays print with 6 significant decimals, as in the notebooks."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _six_decimals(doctest_namespace):
    with np.printoptions(precision=6, suppress=False):
        yield
