"""Tests of lesson 08 (sampling from pi*): its exercise checks and its figures.

Expected values come from formulas written out here with numpy and math: pi* as
``ref * exp(r / beta) / Z``, best-of-N as a sum over the position of the winner
among the N candidates, Z over 4-word sentences by enumerating 3-word prefixes
and summing the last word by hand. None is copied from the code under test.
"""

import math

import numpy as np
import pytest
from exercise_contract import (
    CheckContract,
    CountPrecisionContract,
    FunctionCheckContract,
    NumberPrecisionContract,
    StatedPrecisionContract,
    wrong_message,
)
from matplotlib.figure import Figure

import rwlib as rw
from rwlib.plots import samplers

# The six summaries of notebook 03.
REF6 = np.array([0.15, 0.30, 0.25, 0.20, 0.08, 0.02])
REWARDS6 = np.array([3.0, 1.5, 0.5, 1.0, -2.0, -3.0])
NAMES6 = ["balanced", "upbeat", "terse", "copy", "wrong", "refusal"]
THREE_REF, THREE_REWARDS = np.array([0.5, 0.3, 0.2]), np.array([0.0, 1.0, 2.0])


def pi_star_by_hand(ref, rewards, beta: float) -> np.ndarray:
    weights = np.asarray(ref, float) * np.exp((np.asarray(rewards, float) - max(rewards)) / beta)
    return weights / weights.sum()


def kl_by_hand(p, q) -> float:
    return float(sum(a * math.log(a / b) for a, b in zip(p, q, strict=True) if a > 0))


def best_of_n_by_hand(ref, rewards, n: int) -> np.ndarray:
    """P(winner = y): the winner is the first candidate with the best reward, at position j.

    Candidates before j score below r(y), candidates after j at most r(y), and y's
    group shares in proportion to ref: p_y * sum_j F(v-)^(j-1) F(v)^(n-j).
    """
    ref, rewards = np.asarray(ref, float), np.asarray(rewards, float)
    result = np.zeros(len(ref))
    for y in range(len(ref)):
        at_most = ref[rewards <= rewards[y]].sum()
        below = ref[rewards < rewards[y]].sum()
        result[y] = ref[y] * sum(below ** (j - 1) * at_most ** (n - j) for j in range(1, n + 1))
    return result


def course():
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


def two_word_sentences():
    model, token_reward = course()
    ids, log_ref = model.enumerate(2)
    return model, ids, np.exp(log_ref), token_reward[ids].sum(axis=1)


def z_of_four_words() -> float:
    """Z at beta = 1 over 4-word sentences: 3-word prefixes enumerated, the 4th word summed."""
    model, token_reward = course()
    ids, log_ref = model.enumerate(3)
    last = np.exp(model.log_transitions[1:]) @ np.exp(token_reward)  # sum_w p(w | c) e^r(w)
    return float(np.sum(np.exp(log_ref + token_reward[ids].sum(axis=1)) * last[ids[:, -1]]))


class TestProposalsPerSample(CheckContract, NumberPrecisionContract):
    grade_id = "08-proposals-per-sample"

    def right(self):
        return math.exp(8.0) / z_of_four_words()  # r_max = 4 words x reward 2, beta = 1

    def mistakes(self):
        z = z_of_four_words()
        return [z / math.exp(8.0), math.exp(2.0) / z, 1 / z]

    def test_rejection_sampling_is_expensive_here(self):
        assert 1000 < self.right() < 2000

    def test_mistake_hints_name_the_mistake(self):
        rate, one_word, no_max = (wrong_message(self.grade_id, v) for v in self.mistakes())
        assert "acceptance rate" in rate and "per accepted sample" in rate
        assert "single word" in one_word
        assert "compares Z" in no_max


class TestBestOf4ILoved(CheckContract, NumberPrecisionContract):
    grade_id = "08-best-of-4-i-loved"

    def index(self):
        model, ids, _, _ = two_word_sentences()
        return int(np.flatnonzero((ids == model.encode("i loved")).all(axis=1))[0])

    def right(self):
        _, _, ref, rewards = two_word_sentences()
        k = self.index()
        at_most, below = ref[rewards <= rewards[k]].sum(), ref[rewards < rewards[k]].sum()
        return float(ref[k] * sum(below ** (j - 1) * at_most ** (4 - j) for j in range(1, 5)))

    def mistakes(self):
        _, _, ref, rewards = two_word_sentences()
        k = self.index()
        at_most, below, p = ref[rewards <= 2].sum(), ref[rewards < 2].sum(), ref[k]
        return [at_most**4 - below**4, 1 - (1 - p) ** 4, at_most**4 - (at_most - p) ** 4]

    def test_i_loved_ties_with_many_sentences(self):
        _, _, _, rewards = two_word_sentences()
        assert rewards[self.index()] == 2.0 and np.sum(rewards == 2.0) == 216

    def test_mistake_hints_name_the_mistake(self):
        group, drawn, distinct = (wrong_message(self.grade_id, v) for v in self.mistakes())
        assert "216" in group
        assert "among the 4 candidates" in drawn
        assert "distinct rewards" in distinct


def best_of_n_mean_by_levels(ref, rewards, n: int) -> float:
    levels = np.unique(rewards)
    at_most = np.array([ref[rewards <= v].sum() for v in levels])
    below = np.array([ref[rewards < v].sum() for v in levels])
    return float(np.sum(levels * (at_most**n - below**n)))


class TestSmallestN(CheckContract, CountPrecisionContract):
    grade_id = "08-smallest-n"

    def target(self):
        _, _, ref, rewards = two_word_sentences()
        return float(pi_star_by_hand(ref, rewards, 1.0) @ rewards)

    def right(self):
        _, _, ref, rewards = two_word_sentences()
        n = 1
        while best_of_n_mean_by_levels(ref, rewards, n) <= self.target():
            n += 1
        return n

    def mistakes(self):
        return [self.right() - 1, 2 ** math.ceil(math.log2(self.right()))]

    def test_the_answer_is_small_and_not_a_power_of_two(self):
        n = self.right()
        assert 2 <= n <= 10 and n & (n - 1) != 0  # so the two mistakes differ from it

    def test_integer_type_passes(self, capsys):
        rw.check(self.grade_id, int(self.right()))
        assert "✔" in capsys.readouterr().out

    def test_only_that_integer_passes(self):
        for wrong in (self.right() - 1, self.right() + 1):
            assert "Hint" in wrong_message(self.grade_id, wrong)

    def test_mistake_hints_name_the_mistake(self):
        before, power = (wrong_message(self.grade_id, v) for v in self.mistakes())
        assert "greater" in before
        assert "powers of two" in power


def good_best_of_n_with_ties(ref, rewards, n):
    """Step 5 by levels: each level's F(v)^n - F(v^-)^n, shared in proportion to ref."""
    out = np.empty(len(ref))
    for v in np.unique(rewards):
        group = rewards == v
        at_most, below = ref[rewards <= v].sum(), ref[rewards < v].sum()
        out[group] = ref[group] / ref[group].sum() * (at_most**n - below**n)
    return out


def distinct_only(ref, rewards, n):
    """Cell 30 of the lesson: right for distinct rewards, wrong when rewards tie."""
    at_most = np.array([ref[rewards <= v].sum() for v in rewards])
    return at_most**n - (at_most - ref) ** n


class TestBestOfNTies(FunctionCheckContract, StatedPrecisionContract):
    grade_id = "08-best-of-n-ties"

    def test_level_by_level_version_passes(self, capsys):
        rw.check(self.grade_id, good_best_of_n_with_ties)
        assert f"✔ {self.grade_id}: right" in capsys.readouterr().out

    def test_position_sum_version_passes(self, capsys):
        rw.check(self.grade_id, best_of_n_by_hand)
        assert "✔" in capsys.readouterr().out

    def test_the_lessons_distinct_reward_formula_is_wrong(self):
        # The lesson's cell 30, copied: a tied output is given F(v)^n - (F(v) - ref)^n, as if
        # it were alone at its level. The examples include ties, so the check refuses it.
        message = wrong_message(self.grade_id, distinct_only)
        assert "Hint" in message and "share" in message

    @pytest.mark.parametrize(
        "wrong",
        [
            lambda ref, rewards, n: ref,  # forgot the selection
            lambda ref, rewards, n: np.cumsum(ref) ** n - (np.cumsum(ref) - ref) ** n,  # unsorted
            lambda ref, rewards, n: ref**n,  # "all n candidates are y"
            # ties shared equally instead of in proportion to the reference
            lambda ref, rewards, n: np.array(
                [
                    (ref[rewards <= v].sum() ** n - ref[rewards < v].sum() ** n)
                    / np.sum(rewards == v)
                    for v in rewards
                ]
            ),
            lambda ref, rewards, n: good_best_of_n_with_ties(ref, rewards, n)[:-1],  # shape
        ],
    )
    def test_wrong_functions_get_a_hint(self, wrong):
        message = wrong_message(self.grade_id, wrong)
        assert "Hint" in message and "at most v exactly when all n are" in message

    def test_rwlib_is_not_allowed(self):
        def with_rwlib(ref, rewards, n):
            return rw.best_of_n_distribution(ref, rewards, n)

        assert "no rwlib" in wrong_message(self.grade_id, with_rwlib)


def assert_labelled(ax) -> None:
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()


class TestPlotSequenceFrequencies:
    LABELS = ["i loved", "the ending", "the movie"]
    REF, EXACT, SAMPLED = [0.05, 0.07, 0.06], [0.26, 0.047, 0.043], [0.25, 0.05, 0.04]

    def figure(self):
        return samplers.plot_sequence_frequencies(
            self.LABELS, self.REF, self.EXACT, self.SAMPLED, 0.5, 12345
        )

    def test_labelled_figure_with_beta_and_sample_size(self):
        fig = self.figure()
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert_labelled(ax)
        assert "β = 0.5" in ax.get_title() and "12,345 samples" in ax.get_title()

    def test_bars_are_the_three_columns(self):
        containers = self.figure().axes[0].containers
        assert len(containers) == 3
        for container, expected in zip(
            containers, (self.REF, self.EXACT, self.SAMPLED), strict=True
        ):
            np.testing.assert_allclose([bar.get_width() for bar in container], expected)
        hatches = [container[0].get_hatch() for container in containers]
        assert len(set(hatches)) == 3  # not colour alone

    def test_first_label_is_at_the_top(self):
        ax = self.figure().axes[0]
        assert [tick.get_text() for tick in ax.get_yticklabels()] == self.LABELS
        assert ax.yaxis_inverted()

    def test_lengths_must_match(self):
        with pytest.raises(ValueError, match="one entry per label"):
            samplers.plot_sequence_frequencies(["a"], [0.1, 0.2], [0.1], [0.1], 1.0, 10)


class TestPlotAcceptanceRate:
    BETAS = np.geomspace(0.1, 10, 7)

    def figure(self, observed=None):
        return samplers.plot_acceptance_rate(
            {"six": (REF6, REWARDS6), "three": (THREE_REF, THREE_REWARDS)},
            self.BETAS[::-1],  # unsorted on purpose
            observed=observed,
        )

    def test_labelled_log_log_figure(self):
        ax = self.figure().axes[0]
        assert_labelled(ax)
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "collapses as β shrinks" in ax.get_title()

    def test_curves_are_z_over_exp_r_max(self):
        lines = self.figure().axes[0].get_lines()
        for line, ref, rewards in (
            (lines[0], REF6, REWARDS6),
            (lines[2], THREE_REF, THREE_REWARDS),
        ):
            z = np.array([np.sum(ref * np.exp(rewards / b)) for b in self.BETAS])
            np.testing.assert_allclose(line.get_xdata(), self.BETAS, rtol=1e-15)
            np.testing.assert_allclose(line.get_ydata(), z / np.exp(rewards.max() / self.BETAS))

    def test_floors_are_the_reference_mass_of_the_best(self):
        lines = self.figure().axes[0].get_lines()
        assert lines[1].get_ydata()[0] == pytest.approx(0.15)  # "balanced"
        assert lines[3].get_ydata()[0] == pytest.approx(0.2)
        assert lines[1].get_linestyle() == ":"

    def test_observed_rates_are_drawn_as_markers(self):
        fig = self.figure(observed={"six": ([0.5, 2.0], [0.17, 0.5])})
        observed = fig.axes[0].get_lines()[-1]
        assert observed.get_marker() == "x" and observed.get_linestyle() == "None"
        np.testing.assert_allclose(observed.get_xdata(), [0.5, 2.0])
        np.testing.assert_allclose(observed.get_ydata(), [0.17, 0.5])

    def test_observed_for_an_unknown_example_raises(self):
        with pytest.raises(ValueError, match="not in examples"):
            self.figure(observed={"other": ([1.0], [0.5])})

    def test_bad_input_raises(self):
        with pytest.raises(ValueError):
            samplers.plot_acceptance_rate({"bad": ([0.5, 0.6], [1.0, 2.0])}, self.BETAS)
        with pytest.raises(ValueError):
            samplers.plot_acceptance_rate({"six": (REF6, REWARDS6)}, [1.0])


class TestPlotBestOfNKl:
    NS = [4, 1, 2, 8]  # unsorted on purpose

    def figure(self):
        return samplers.plot_best_of_n_kl({"six": (REF6, REWARDS6)}, self.NS)

    def test_labelled_figure_with_log2_axis(self):
        ax = self.figure().axes[0]
        assert_labelled(ax)
        assert ax.get_xscale() == "log"
        assert "log N − (N−1)/N" in ax.get_title()

    def test_bound_line(self):
        bound = self.figure().axes[0].get_lines()[0]
        ns = np.array([1, 2, 4, 8])
        np.testing.assert_allclose(bound.get_xdata(), ns)
        np.testing.assert_allclose(bound.get_ydata(), np.log(ns) - (ns - 1) / ns, atol=1e-15)

    def test_example_line_is_the_exact_kl_below_the_bound(self):
        bound, line = self.figure().axes[0].get_lines()
        expected = [kl_by_hand(best_of_n_by_hand(REF6, REWARDS6, n), REF6) for n in (1, 2, 4, 8)]
        np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-9, atol=1e-12)
        assert np.all(line.get_ydata()[1:] < bound.get_ydata()[1:])
        assert line.get_label() == "six"

    def test_bad_ns_raise(self):
        for ns in ([0, 1], [1.5, 2.0], []):
            with pytest.raises(ValueError, match="ns"):
                samplers.plot_best_of_n_kl({"six": (REF6, REWARDS6)}, ns)


class TestPlotBestOfNFrontier:
    BETAS = np.geomspace(0.05, 50, 25)
    NS = [1, 2, 4, 8]

    def figure(self):
        return samplers.plot_best_of_n_frontier(
            {"six": (REF6, REWARDS6), "three": (THREE_REF, THREE_REWARDS)}, self.BETAS, self.NS
        )

    def test_one_labelled_panel_per_example(self):
        fig = self.figure()
        assert isinstance(fig, Figure)
        assert [ax.get_title() for ax in fig.axes] == ["six", "three"]
        for ax in fig.axes:
            assert_labelled(ax)
            assert "KL" in ax.get_xlabel()
        assert "frontier" in fig.get_suptitle()

    def test_frontier_and_best_of_n_points(self):
        ax = self.figure().axes[0]
        frontier, bon, _ = ax.get_lines()
        pis = [pi_star_by_hand(REF6, REWARDS6, b) for b in self.BETAS]
        np.testing.assert_allclose(
            frontier.get_xdata(), [kl_by_hand(p, REF6) for p in pis], rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(frontier.get_ydata(), [p @ REWARDS6 for p in pis], rtol=1e-12)
        bons = [best_of_n_by_hand(REF6, REWARDS6, n) for n in self.NS]
        np.testing.assert_allclose(
            bon.get_xdata(), [kl_by_hand(p, REF6) for p in bons], rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(bon.get_ydata(), [p @ REWARDS6 for p in bons], rtol=1e-12)
        assert [text.get_text() for text in ax.texts] == ["N = 1", "N = 2", "N = 4", "N = 8"]

    def test_pi_star_at_the_same_kl_earns_at_least_as_much(self):
        for ax in self.figure().axes:
            _, bon, matched = ax.get_lines()
            np.testing.assert_allclose(matched.get_xdata(), bon.get_xdata(), rtol=1e-8, atol=1e-9)
            assert np.all(matched.get_ydata() >= bon.get_ydata() - 1e-12)
            assert np.all(matched.get_ydata()[1:] > bon.get_ydata()[1:])  # strictly, N >= 2

    def test_matched_point_is_pi_star_at_the_bisected_beta(self):
        _, bon, matched = self.figure().axes[1].get_lines()
        kl_4 = bon.get_xdata()[2]
        # Find beta again by a bisection written out here, on the closed-form KL.
        low, high = 1e-3, 1e3
        for _ in range(200):
            middle = math.sqrt(low * high)
            if kl_by_hand(pi_star_by_hand(THREE_REF, THREE_REWARDS, middle), THREE_REF) > kl_4:
                low = middle
            else:
                high = middle
        beta = math.sqrt(low * high)
        expected = pi_star_by_hand(THREE_REF, THREE_REWARDS, beta) @ THREE_REWARDS
        assert matched.get_ydata()[2] == pytest.approx(expected, rel=1e-7)

    def test_view_ends_after_the_last_best_of_n_point(self):
        ax = self.figure().axes[0]
        _, bon, _ = ax.get_lines()
        right = ax.get_xlim()[1]
        assert bon.get_xdata().max() < right <= 1.2 * bon.get_xdata().max()


class TestPlotBestOfNVsPiStar:
    def test_labelled_figure(self):
        fig = samplers.plot_best_of_n_vs_pi_star(4, REF6, REWARDS6, NAMES6)
        assert isinstance(fig, Figure)
        assert_labelled(fig.axes[0])
        ticks = [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
        assert ticks[0] == "balanced\nr = 3"

    def test_bars_are_ref_best_of_n_and_matched_pi_star(self):
        fig = samplers.plot_best_of_n_vs_pi_star(4, REF6, REWARDS6, NAMES6)
        ref_bars, bon_bars, star_bars = fig.axes[0].containers
        np.testing.assert_allclose([b.get_height() for b in ref_bars], REF6)
        bon = best_of_n_by_hand(REF6, REWARDS6, 4)
        np.testing.assert_allclose([b.get_height() for b in bon_bars], bon, rtol=1e-12)
        star = np.array([b.get_height() for b in star_bars])
        assert star.sum() == pytest.approx(1.0)
        assert kl_by_hand(star, REF6) == pytest.approx(kl_by_hand(bon, REF6), rel=1e-8)
        assert star @ REWARDS6 > bon @ REWARDS6

    def test_title_shows_n_kl_and_rewards(self):
        title = samplers.plot_best_of_n_vs_pi_star(4, REF6, REWARDS6).axes[0].get_title()
        bon = best_of_n_by_hand(REF6, REWARDS6, 4)
        assert title.startswith("N = 4:")
        assert f"KL = {kl_by_hand(bon, REF6):.3f} nats" in title
        assert f"best-of-N {bon @ REWARDS6:.3f}" in title

    def test_n_1_is_the_reference(self):
        fig = samplers.plot_best_of_n_vs_pi_star(1, THREE_REF, THREE_REWARDS)
        assert "β = ∞" in fig.axes[0].get_title()
        star_bars = fig.axes[0].containers[2]
        np.testing.assert_allclose([b.get_height() for b in star_bars], THREE_REF)

    def test_moving_n_changes_the_title(self):
        titles = {
            samplers.plot_best_of_n_vs_pi_star(n, REF6, REWARDS6).axes[0].get_title()
            for n in (1, 2, 4, 16)
        }
        assert len(titles) == 4

    def test_bad_input_raises(self):
        with pytest.raises(ValueError, match="n must be"):
            samplers.plot_best_of_n_vs_pi_star(0, REF6, REWARDS6)
        with pytest.raises(ValueError, match="labels"):
            samplers.plot_best_of_n_vs_pi_star(2, REF6, REWARDS6, ["a"])
