r"""Figures of ``08_sampling_from_pi_star.ipynb``: sampling from pi*, and best-of-N.

.. math:: \pi^*(y) = \pi_\mathrm{ref}(y)\, e^{r(y)/\beta} / Z

Every function takes its data as arguments, computes what it draws with
``rwlib`` (:func:`rwlib.acceptance_rate`, :func:`rwlib.best_of_n_distribution`,
:func:`rwlib.reward_weighted`, ...) and returns a :class:`matplotlib.figure.Figure`
made with ``plt.subplots``. None of them shows the figure or changes
matplotlib's global settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import rwlib as rw
from rwlib import validate
from rwlib.plots import positive_grid
from rwlib.plots.style import OKABE_ITO, REF_STYLE, STAR_STYLE, finish, one_distribution, series

_BON_STYLE = {"color": OKABE_ITO["orange"], "hatch": "", "edgecolor": OKABE_ITO["black"]}


def _finite_set(ref, rewards, name: str = "the example"):
    """Checked float arrays ``ref`` and ``rewards`` of shape (m,), for one output set."""
    try:
        ref, rewards, _ = one_distribution(ref, rewards)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return ref / ref.sum(), rewards


def _examples(examples) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``{label: (ref, rewards)}`` as a checked list of (label, ref, rewards)."""
    items = list(dict(examples).items())
    if not items:
        raise ValueError("examples is empty; give at least one {label: (ref, rewards)}")
    return [(str(label), *_finite_set(*pair, name=str(label))) for label, pair in items]


def _candidate_counts(ns) -> np.ndarray:
    ns = np.asarray(ns)
    if ns.ndim != 1 or ns.size < 1 or ns.dtype.kind not in "iu" or (ns < 1).any():
        raise ValueError("ns must be a 1-d array of whole numbers N >= 1, e.g. [1, 2, 4, 8]")
    return np.sort(ns.astype(int))


def _best_of_n(ref, rewards, ns) -> np.ndarray:
    """One row of ``rw.best_of_n_distribution`` per N, shape (len(ns), m)."""
    return np.array([rw.best_of_n_distribution(ref, rewards, int(n)) for n in ns])


def _kl_and_reward(policies, ref, rewards):
    return rw.kl_divergence(policies, ref), rw.expected_reward(policies, rewards)


def _betas_matching_kl(ref, rewards, targets) -> np.ndarray:
    """The beta whose pi* has KL(pi* || ref) = target, by bisection on log beta.

    ``inf`` for a target of (almost) 0, where pi* is ``ref``; ``0`` for a target at
    or beyond the KL of the beta -> 0 limit, where pi* is the best output(s).
    """
    targets = np.asarray(targets, dtype=float)
    support = ref > 0
    spread = np.ptp(rewards[support])
    if spread == 0:
        return np.full(targets.shape, np.inf)
    low = np.full(targets.shape, np.log(spread * 1e-4))
    high = np.full(targets.shape, np.log(spread * 1e6))

    def kl_at(log_beta):
        return rw.kl_divergence(rw.reward_weighted(ref, rewards, np.exp(log_beta)[:, None]), ref)

    at_ref = targets <= kl_at(high)
    at_best = targets >= kl_at(low)
    for _ in range(60):  # KL falls as beta grows; 60 halvings of a bracket of width 23
        middle = (low + high) / 2
        above = kl_at(middle) > targets
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    return np.where(at_ref, np.inf, np.where(at_best, 0.0, np.exp((low + high) / 2)))


def _pi_star_at(ref, rewards, betas) -> np.ndarray:
    """pi* at each beta, with the limits: ``ref`` at inf, the best output(s) at 0."""
    best = (ref > 0) & (rewards == rewards[ref > 0].max())
    point_mass = np.where(best, ref, 0.0) / ref[best].sum()
    rows = []
    for beta in betas:
        if np.isinf(beta):
            rows.append(ref)
        elif beta == 0:
            rows.append(point_mass)
        else:
            rows.append(rw.reward_weighted(ref, rewards, beta))
    return np.array(rows)


def plot_sequence_frequencies(labels, ref, exact, sampled, beta, n_samples):
    r"""Horizontal bars: pi_ref, the exact pi* and the sampled frequency of some sequences.

    Parameters
    ----------
    labels : sequence of str
        The sequences, decoded into words, one per bar group (top to bottom).
    ref : array_like, shape (k,)
        Their reference probabilities.
    exact : array_like, shape (k,)
        Their exact pi* probabilities (from enumeration).
    sampled : array_like, shape (k,)
        Their frequencies among ``n_samples`` samples drawn from pi*.
    beta : float
        The temperature of pi*, shown in the title.
    n_samples : int
        The number of samples, shown in the title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with three bar containers, in this order: ``ref`` (hatched
        ``//``), ``exact`` (dotted ``..``) and ``sampled`` (plain), each of
        length ``k``; the first label is at the top.

    Examples
    --------
    >>> fig = plot_sequence_frequencies(
    ...     ["i loved", "the film"], [0.05, 0.05], [0.26, 0.04], [0.25, 0.05], 1.0, 1000
    ... )
    >>> print(fig.axes[0].get_title())
    Samples drawn token by token match the exact π*
    β = 1, 1,000 samples
    >>> [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    ['i loved', 'the film']
    """
    labels = [str(label) for label in labels]
    columns = [np.asarray(values, dtype=float) for values in (ref, exact, sampled)]
    if any(column.shape != (len(labels),) for column in columns):
        raise ValueError("ref, exact and sampled must have one entry per label")
    positions = np.arange(len(labels))
    height = 0.27
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(labels) + 1.6))
    for shift, values, name, style in (
        (-height, columns[0], "π_ref (exact)", REF_STYLE),
        (0.0, columns[1], "π* (exact, by enumeration)", STAR_STYLE),
        (height, columns[2], "π* (sampled frequency)", _BON_STYLE),
    ):
        ax.barh(positions + shift, values, height, label=name, **style)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return finish(
        fig,
        ax,
        "Samples drawn token by token match the exact π*\n"
        f"β = {beta:g}, {int(n_samples):,} samples",
        "probability of the whole sequence",
        "sequence",
        legend="lower right",
        grid=False,
    )


def plot_acceptance_rate(examples, betas, observed=None):
    r"""The acceptance rate of the rejection sampler against beta, log-log, per example.

    Parameters
    ----------
    examples : mapping of str to (ref, rewards)
        Each entry is one output set: reference probabilities and rewards,
        both of shape (m,).
    betas : array_like, shape (k,)
        At least two positive temperatures; sorted before plotting.
    observed : mapping of str to (betas, rates), optional
        Observed acceptance rates of :func:`rwlib.rejection_sample` for some
        examples, drawn as unconnected markers next to their curve.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, both axes on a log scale. Per example, the first line drawn
        is ``rw.acceptance_rate(ref, rewards, betas[:, None])`` against
        ``betas``, followed by a dotted horizontal line at its beta -> 0 limit,
        ``ref`` summed over the best outputs. Observed rates come last.

    Notes
    -----
    .. math:: P(\text{accept}) = Z\, e^{-r_\max/\beta}
              \;\longrightarrow\; \pi_\mathrm{ref}(\{y : r(y) = r_\max\})
              \quad (\beta \to 0)

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_acceptance_rate({"two outputs": ([0.6, 0.4], [2.0, 1.0])},
    ...                            np.geomspace(0.1, 10, 5))
    >>> print(fig.axes[0].get_title())
    Rejection sampling: the acceptance rate Z e^(−r_max/β)
    collapses as β shrinks
    >>> fig.axes[0].get_xscale(), fig.axes[0].get_yscale()
    ('log', 'log')
    """
    items = _examples(examples)
    betas = positive_grid(betas)
    observed = dict(observed or {})
    unknown = set(observed) - {label for label, _, _ in items}
    if unknown:
        raise ValueError(f"observed names examples that are not in examples: {sorted(unknown)}")
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for i, (label, ref, rewards) in enumerate(items):
        colour = series(i)["color"]
        rates = rw.acceptance_rate(ref, rewards, betas[:, None])
        ax.plot(
            betas,
            rates,
            **series(i),
            markevery=max(1, len(betas) // 8),
            label=f"{label}: Z e^(−r_max/β)",
        )
        support = ref > 0
        best_mass = ref[support & (rewards == rewards[support].max())].sum()
        ax.axhline(best_mass, color=colour, linestyle=":", linewidth=1.2)
        ax.annotate(
            f"β → 0: π_ref(best) = {best_mass:.2g}",
            (betas[0], best_mass),
            textcoords="offset points",
            xytext=(2, 3),
            fontsize=8,
        )
    for i, (label, _, _) in enumerate(items):
        if label not in observed:
            continue
        observed_betas, observed_rates = (np.asarray(a, dtype=float) for a in observed[label])
        ax.plot(
            observed_betas,
            observed_rates,
            linestyle="none",
            marker="x",
            markersize=9,
            markeredgewidth=2,
            color=series(i)["color"],
            label=f"{label}: observed by rw.rejection_sample",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    return finish(
        fig,
        ax,
        "Rejection sampling: the acceptance rate Z e^(−r_max/β)\ncollapses as β shrinks",
        "β (log scale)",
        "acceptance rate (log scale)",
        legend="lower right",
    )


def plot_best_of_n_kl(examples, ns):
    r"""KL(best-of-N || pi_ref) against N for some output sets, with the bound log N − (N−1)/N.

    Parameters
    ----------
    examples : mapping of str to (ref, rewards)
        Each entry is one output set: reference probabilities and rewards,
        both of shape (m,).
    ns : array_like of int, shape (k,)
        Numbers of candidates ``N >= 1``; sorted before plotting.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with a base-2 log scale for N. The first line is the bound
        :func:`rwlib.best_of_n_kl_bound`; then one line per example, the
        ``rw.kl_divergence`` of ``rw.best_of_n_distribution(ref, rewards, N)``
        from ``ref``.

    Notes
    -----
    .. math:: \mathrm{KL}(\pi_\mathrm{BoN} \,\|\, \pi_\mathrm{ref}) \le \log N - \frac{N - 1}{N}

    Examples
    --------
    >>> fig = plot_best_of_n_kl({"three outputs": ([0.5, 0.3, 0.2], [0.0, 1.0, 2.0])}, [1, 2, 4])
    >>> print(fig.axes[0].get_title())
    KL of best-of-N: at most log N − (N−1)/N, strictly less on a finite output set
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['bound log N − (N−1)/N', 'three outputs']
    """
    items = _examples(examples)
    ns = _candidate_counts(ns)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(
        ns,
        [rw.best_of_n_kl_bound(int(n)) for n in ns],
        color=OKABE_ITO["black"],
        linestyle="--",
        linewidth=1.5,
        zorder=5,  # on top, so that a curve that reaches the bound does not hide it
        label="bound log N − (N−1)/N",
    )
    for i, (label, ref, rewards) in enumerate(items):
        kl = rw.kl_divergence(_best_of_n(ref, rewards, ns), ref)
        ax.plot(ns, kl, **series(i), label=label)
    ax.set_xscale("log", base=2)
    return finish(
        fig,
        ax,
        "KL of best-of-N: at most log N − (N−1)/N, strictly less on a finite output set",
        "N, the number of candidates (log scale)",
        "KL(best-of-N ‖ π_ref) (nats)",
        legend="upper left",
    )


def plot_best_of_n_frontier(examples, betas, ns):
    r"""Best-of-N against pi* on the reward–KL plane: the frontier and the points below it.

    Parameters
    ----------
    examples : mapping of str to (ref, rewards)
        One panel per output set: reference probabilities and rewards, both of
        shape (m,).
    betas : array_like, shape (k,)
        At least two positive temperatures: the points of the frontier.
    ns : array_like of int
        Numbers of candidates ``N >= 1`` to place as best-of-N points.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per example, KL in nats on x and expected reward on y. In each:
        line 0 is the frontier ``(KL, E[r])`` of ``rw.reward_weighted(ref,
        rewards, betas[:, None])``; line 1 the best-of-N points of
        ``rw.best_of_n_distribution``; line 2 pi* at the same KL as each
        best-of-N point (beta found by bisection on the KL). Each best-of-N
        point is annotated ``N = ...``. The view ends a little to the right of
        the last best-of-N point.

    Notes
    -----
    pi*_beta maximises ``E[r] - beta KL``, so no policy with the KL of
    pi*_beta earns more reward; best-of-N is such a policy.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_best_of_n_frontier(
    ...     {"three outputs": ([0.5, 0.3, 0.2], [0.0, 1.0, 2.0])}, np.geomspace(0.05, 50, 9), [2, 4]
    ... )
    >>> print(fig.get_suptitle())
    Best-of-N lies below the reward–KL frontier traced by π*
    >>> [text.get_text() for text in fig.axes[0].texts]
    ['N = 2', 'N = 4']
    """
    items = _examples(examples)
    betas = positive_grid(betas)
    ns = _candidate_counts(ns)
    fig, axes = plt.subplots(1, len(items), figsize=(5.2 * len(items) + 0.6, 4.6), squeeze=False)
    for ax, (label, ref, rewards) in zip(axes[0], items, strict=True):
        frontier_kl, frontier_reward = _kl_and_reward(
            rw.reward_weighted(ref, rewards, betas[:, None]), ref, rewards
        )
        bon_kl, bon_reward = _kl_and_reward(_best_of_n(ref, rewards, ns), ref, rewards)
        bon_kl = np.maximum(bon_kl, 0.0)  # N = 1 is ref itself: KL 0 up to rounding
        matched = _pi_star_at(ref, rewards, _betas_matching_kl(ref, rewards, bon_kl))
        matched_kl, matched_reward = _kl_and_reward(matched, ref, rewards)
        ax.plot(
            frontier_kl,
            frontier_reward,
            color=OKABE_ITO["blue"],
            linewidth=2,
            label="π* as β varies (the frontier)",
        )
        ax.plot(
            bon_kl,
            bon_reward,
            linestyle="none",
            marker="o",
            markersize=7,
            color=OKABE_ITO["orange"],
            markeredgecolor=OKABE_ITO["black"],
            label="best-of-N",
        )
        ax.plot(
            np.maximum(matched_kl, 0.0),
            matched_reward,
            linestyle="none",
            marker="s",
            markersize=7,
            markerfacecolor="none",
            markeredgecolor=OKABE_ITO["vermillion"],
            markeredgewidth=1.5,
            label="π* at the same KL",
        )
        for n, x, y in zip(ns, bon_kl, bon_reward, strict=True):
            ax.annotate(f"N = {n}", (x, y), textcoords="offset points", xytext=(5, -13), fontsize=8)
        # Show the frontier as far as the best-of-N points reach (it runs on to -log ref(best)).
        right = 1.15 * max(bon_kl.max(), 1e-3)
        visible = np.concatenate(
            [frontier_reward[frontier_kl <= right], bon_reward, matched_reward]
        )
        margin = 0.06 * max(np.ptp(visible), 1e-3)
        ax.set_xlim(-0.04 * right, right)
        ax.set_ylim(visible.min() - margin, visible.max() + margin)
        finish(fig, ax, label, "KL(π ‖ π_ref) (nats)", "expected reward E_π[r]", "lower right")
    fig.suptitle("Best-of-N lies below the reward–KL frontier traced by π*")
    fig.tight_layout()
    return fig


def plot_best_of_n_vs_pi_star(n, ref, rewards, labels=None):
    r"""Bars of pi_ref, best-of-N and pi* at the same KL; the title gives N, KL, beta and E[r].

    Meant for a slider: ``interact(shown(plot_best_of_n_vs_pi_star), n=IntSlider(...),
    ref=fixed(ref), rewards=fixed(rewards), labels=fixed(labels))``.

    Parameters
    ----------
    n : int
        The number of candidates ``N >= 1``.
    ref : array_like, shape (m,)
        Reference probabilities, summing to 1.
    rewards : array_like, shape (m,)
        Finite rewards, one per output.
    labels : sequence of str, optional
        A name per output (default ``y1, y2, ...``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with three bar containers: ``ref``, the best-of-N distribution
        ``rw.best_of_n_distribution(ref, rewards, n)``, and pi* at the beta whose
        ``KL(pi* || ref)`` equals that of best-of-N. The title reads
        ``N = <n>: KL = ... nats, β = ...`` and, on a second line, the two
        expected rewards, rounded to 3 decimals.

    Examples
    --------
    >>> fig = plot_best_of_n_vs_pi_star(1, [0.6, 0.4], [2.0, 1.0])
    >>> print(fig.axes[0].get_title())
    N = 1: KL = 0.000 nats, matching β = ∞
    E[r]: best-of-N 1.600, π* at the same KL 1.600
    """
    ref, rewards, labels = one_distribution(ref, rewards, labels)
    ref = ref / ref.sum()
    n = validate.whole_number(n, "n")
    bon = rw.best_of_n_distribution(ref, rewards, n)
    kl = max(rw.kl_divergence(bon, ref), 0.0)
    beta = float(_betas_matching_kl(ref, rewards, [kl])[0])
    pi_star = _pi_star_at(ref, rewards, [beta])[0]
    positions = np.arange(len(ref))
    width = 0.27
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for shift, values, name, style in (
        (-width, ref, "π_ref", REF_STYLE),
        (0.0, bon, f"best-of-{n}", _BON_STYLE),
        (width, pi_star, "π* at the same KL", STAR_STYLE),
    ):
        ax.bar(positions + shift, values, width, label=name, **style)
    ax.set_xticks(
        positions, [f"{label}\nr = {r:g}" for label, r in zip(labels, rewards, strict=True)]
    )
    ax.set_ylim(0, 1.05)
    beta_text = "∞" if np.isinf(beta) else f"{beta:.3g}"
    return finish(
        fig,
        ax,
        f"N = {n}: KL = {kl:.3f} nats, matching β = {beta_text}\n"
        f"E[r]: best-of-N {bon @ rewards:.3f}, π* at the same KL {pi_star @ rewards:.3f}",
        "output y (and its reward)",
        "probability",
        grid=False,
    )
