r"""Figures of ``07_estimating_z.ipynb``: estimating Z by Monte Carlo, and why small beta hurts.

Each function takes rewards (or sequences) of samples drawn from the reference
model, computes what it plots with :mod:`rwlib` (``monte_carlo_z``,
``effective_sample_size``, ``log_z_by_recursion``) and returns a
:class:`matplotlib.figure.Figure`. None of them shows the figure or changes
matplotlib's global settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgba

import rwlib as rw
from rwlib import validate
from rwlib.plots import positive_grid
from rwlib.plots.style import OKABE_ITO, finish


def _aligned(values, betas: np.ndarray, name: str) -> np.ndarray | None:
    """``values`` as a float array of one entry per beta, or None."""
    if values is None:
        return None
    values = np.asarray(values, dtype=float)
    if values.shape != betas.shape:
        raise ValueError(
            f"{name} must have one entry per beta, shape {betas.shape}, got {values.shape}"
        )
    return values


def default_sizes(n: int) -> np.ndarray:
    """About 60 sample sizes from 10 (2 when ``n < 10``) to ``n``, evenly spaced on a log scale.

    Parameters
    ----------
    n : int
        The total number of samples, at least 2.

    Returns
    -------
    numpy.ndarray of int
        Sorted distinct sizes; the last one is ``n``.

    Examples
    --------
    >>> default_sizes(1000)[[0, -1]]
    array([  10, 1000])
    """
    if n < 2:
        raise ValueError(f"the convergence plot needs at least 2 samples, got {n}")
    return np.unique(np.geomspace(10 if n >= 10 else 2, n, 60).round().astype(int))


def plot_convergence(beta, model, token_rewards, samples, sizes=None):
    r"""Plot the Monte Carlo estimate of Z against the number of samples, with ±2 SE bands.

    Meant both for a static figure and for a slider:
    ``interact(shown(plot_convergence), beta=FloatLogSlider(...), model=fixed(model),
    token_rewards=fixed(rewards), samples=fixed(samples))``.

    Parameters
    ----------
    beta : float
        Positive temperature.
    model : rwlib.BigramModel
        The reference model the samples were drawn from.
    token_rewards : array_like, shape (V,)
        Reward of each word; a sequence's reward is the sum over its tokens.
    samples : array_like of int, shape (n, T)
        ``n >= 2`` sequences drawn from the model, e.g. ``model.sample(rng, T, size=n)``.
    sizes : array_like of int, optional
        The prefix lengths ``m`` at which to plot the estimate from ``samples[:m]``
        (default: about 60 sizes from 10 to ``n`` on a log scale).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with a log-scale x axis. Its first line is the estimate
        ``rw.monte_carlo_z(r[:m], beta)[0]`` against ``m``; ``ax.collections[0]``
        is the band ``estimate ± 2 standard errors``; a dashed horizontal line
        is the exact ``Z = exp(rw.log_z_by_recursion(model, token_rewards, T, beta))``.
        The second title line gives beta, the final estimate with its standard
        error, and the exact Z.

    Examples
    --------
    >>> import numpy as np
    >>> import rwlib as rw
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> samples = model.sample(np.random.default_rng(0), 3, size=2000)
    >>> fig = plot_convergence(1.0, model, rewards, samples)
    >>> print(fig.axes[0].get_title())
    Monte Carlo estimate of Z against the number of samples
    β = 1: Ẑ = 1.827 ± 0.08 (n = 2000), exact Z = 1.713
    >>> fig.axes[0].get_xscale()
    'log'
    """
    beta = validate.scalar_beta(beta)
    samples = np.asarray(samples)
    if samples.ndim != 2:
        raise ValueError(
            f"samples must have shape (n, T), one sequence per row, got shape {samples.shape}"
        )
    rewards = np.atleast_1d(rw.sequence_reward(samples, token_rewards))
    n, length = samples.shape
    sizes = default_sizes(n) if sizes is None else np.asarray(sizes, dtype=int)
    if sizes.ndim != 1 or sizes.size == 0 or sizes.min() < 2 or sizes.max() > n:
        raise ValueError(f"sizes must be a 1-d array of sample counts between 2 and n = {n}")
    exact = float(np.exp(rw.log_z_by_recursion(model, token_rewards, length, beta)))
    estimates, errors = np.array([rw.monte_carlo_z(rewards[:m], beta) for m in sizes]).T

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(
        sizes,
        estimates,
        color=OKABE_ITO["blue"],
        marker="o",
        markersize=3,
        label="Monte Carlo estimate Ẑ",
    )
    ax.fill_between(
        sizes,
        estimates - 2 * errors,
        estimates + 2 * errors,
        facecolor=to_rgba(OKABE_ITO["sky"], 0.35),
        edgecolor=OKABE_ITO["sky"],  # the band's edges carry its extent (3:1 on white)
        linewidth=1,
        label="Ẑ ± 2 standard errors",
    )
    ax.axhline(exact, color=OKABE_ITO["vermillion"], linestyle="--", label=f"exact Z = {exact:.4g}")
    ax.set_xscale("log")
    return finish(
        fig,
        ax,
        "Monte Carlo estimate of Z against the number of samples\n"
        f"β = {beta:g}: Ẑ = {estimates[-1]:.4g} ± {errors[-1]:.2g} (n = {sizes[-1]}), "
        f"exact Z = {exact:.4g}",
        "number of samples n (log scale)",
        "estimate of Z",
    )


def plot_ess_vs_beta(betas, sample_rewards, population_ess=None):
    r"""Plot the effective sample size of the weights ``exp(r / beta)`` against beta.

    Parameters
    ----------
    betas : array_like, shape (k,)
        At least two positive temperatures; sorted before plotting.
    sample_rewards : array_like, shape (n,)
        Rewards of ``n`` samples drawn from the reference model.
    population_ess : array_like, shape (k,), optional
        For comparison, ``n / (1 + chi^2(pi* || pi_ref))`` at each beta (in the
        sorted order), drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, both axes on a log scale. The first line is
        ``rw.effective_sample_size(sample_rewards, betas[:, None])`` against
        ``betas``; grey dotted lines mark ``n`` (equal weights) and 1 (one
        sample carries all the weight).

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_ess_vs_beta(np.geomspace(0.1, 10, 5), [0.0, 1.0, 2.0, 3.0])
    >>> print(fig.axes[0].get_title())
    Effective sample size against β (n = 4 reference samples)
    >>> round(float(fig.axes[0].get_lines()[0].get_ydata()[-1]), 4)  # beta = 10: nearly equal
    3.9508
    """
    betas = positive_grid(betas)
    sample_rewards = np.asarray(sample_rewards, dtype=float)
    if sample_rewards.ndim != 1:
        raise ValueError(
            "sample_rewards must have shape (n,), one reward per sample, "
            f"got {sample_rewards.shape}"
        )
    population_ess = _aligned(population_ess, betas, "population_ess")
    n = sample_rewards.size
    ess = rw.effective_sample_size(sample_rewards, betas[:, None])

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(betas, ess, color=OKABE_ITO["blue"], marker="o", label="ESS of the sample")
    if population_ess is not None:
        ax.plot(
            betas,
            population_ess,
            color=OKABE_ITO["vermillion"],
            linestyle="--",
            marker="s",
            markersize=4,
            label="n / (1 + χ²(π* ‖ π_ref))",
        )
    ax.axhline(n, color="grey", linestyle=":", label=f"n = {n}: equal weights")
    ax.axhline(1.0, color="grey", linestyle="-.", label="1: one sample carries all")
    ax.set_xscale("log")
    ax.set_yscale("log")
    return finish(
        fig,
        ax,
        f"Effective sample size against β (n = {n} reference samples)",
        "β (log scale)",
        "effective sample size (log scale)",
        legend="lower right",
    )


def plot_relative_error_vs_beta(betas, sample_rewards, exact_log_z, predicted=None):
    r"""Plot the relative error of the Monte Carlo estimate of Z against beta.

    Parameters
    ----------
    betas : array_like, shape (k,)
        At least two positive temperatures; sorted before plotting.
    sample_rewards : array_like, shape (R, n)
        ``R`` independent repetitions of ``n >= 2`` reference samples' rewards.
    exact_log_z : array_like, shape (k,)
        The exact ``log Z`` at each beta (in the sorted order).
    predicted : array_like, shape (k,), optional
        The predicted relative standard error ``sqrt(chi^2(pi* || pi_ref) / n)``
        at each beta, drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, both axes on a log scale. The first line is the observed
        root-mean-square relative error ``sqrt(mean_R (Z_hat / Z - 1)^2)``,
        the second the median over the repetitions of the standard error
        that each run reports about itself, ``SE / Z_hat``; both from
        ``rw.monte_carlo_z(sample_rewards, betas[:, None, None])``.

    Examples
    --------
    >>> import numpy as np
    >>> rewards = np.array([[0.0, 1.0], [1.0, 1.0]])  # pi_ref = (1/2, 1/2) on rewards 0 and 1
    >>> log_z = [np.log((1 + np.e) / 2), np.log((1 + np.e**0.5) / 2)]
    >>> fig = plot_relative_error_vs_beta([1.0, 2.0], rewards, log_z)
    >>> print(fig.axes[0].get_title())
    Relative error of Ẑ against β (n = 2 samples, 2 repetitions)
    """
    betas = positive_grid(betas)
    sample_rewards = np.asarray(sample_rewards, dtype=float)
    if sample_rewards.ndim != 2 or sample_rewards.shape[1] < 2:
        raise ValueError(
            "sample_rewards must have shape (R, n), R repetitions of n >= 2 samples, "
            f"got {sample_rewards.shape}"
        )
    exact_log_z = _aligned(exact_log_z, betas, "exact_log_z")
    predicted = _aligned(predicted, betas, "predicted")
    repetitions, n = sample_rewards.shape
    estimates, errors = rw.monte_carlo_z(sample_rewards, betas[:, None, None])  # (k, R)
    ratio = estimates / np.exp(exact_log_z)[:, None]
    observed = np.sqrt(np.mean((ratio - 1.0) ** 2, axis=1))
    reported = np.median(errors / estimates, axis=1)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(
        betas,
        observed,
        color=OKABE_ITO["blue"],
        marker="o",
        label="observed: RMS of Ẑ / Z − 1",
    )
    ax.plot(
        betas,
        reported,
        color=OKABE_ITO["green"],
        marker="^",
        linestyle=":",
        label="what one run reports: median SE / Ẑ",
    )
    if predicted is not None:
        ax.plot(
            betas,
            predicted,
            color=OKABE_ITO["vermillion"],
            marker="s",
            markersize=4,
            linestyle="--",
            label="predicted: √(χ²(π* ‖ π_ref) / n)",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    return finish(
        fig,
        ax,
        f"Relative error of Ẑ against β (n = {n} samples, {repetitions} repetitions)",
        "β (log scale)",
        "relative error of Ẑ (log scale)",
    )
