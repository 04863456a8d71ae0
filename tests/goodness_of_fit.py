"""Pearson's chi-square test, shared by the tests of sampling from exact distributions."""

import math

import numpy as np


def chi_square_bound(df):
    """A bound the chi-square statistic exceeds with probability about 1e-6.

    Wilson–Hilferty: (X / df)^(1/3) is close to normal with mean 1 - 2/(9 df)
    and variance 2/(9 df); 4.75 standard deviations is a tail of about 1e-6.
    """
    z, h = 4.75, 2 / (9 * df)
    return df * (1 - h + z * math.sqrt(h)) ** 3


def pooled_chi_square(counts, probs):
    """Pearson's statistic over cells with expected count >= 5, the rest pooled into one."""
    expected = probs * counts.sum()
    big = expected >= 5
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(expected[big], expected[~big].sum())
    keep = expected > 0
    return (((observed - expected) ** 2)[keep] / expected[keep]).sum(), keep.sum() - 1
