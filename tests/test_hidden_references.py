"""The exercises' expected values are right, and the hidden tests store what grading needs.

Each auto-graded exercise has one definition in ``rwlib/exercises`` (its exact
value or its reference function, its tolerance). Here, for every exercise:

- a number exercise's ``expected()`` passes an independent check (a closed form,
  or another route), and values ten tolerances off are refused by the grader's
  comparison;
- a function exercise's hidden test, in the solution notebook, stores one
  grading line per named case, and the stored values pass an independent check.

After editing a solution notebook, run ``rwlib release`` so that its outputs are fresh.
"""

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import rwlib as rw
from rwlib.checks import FunctionExercise, NumberExercise, definition, definitions
from rwlib.grading.comparison import judge_cell, records, stream_text
from rwlib.hidden_values import ANSWER_CASE, PREFIX

ROOT = Path(__file__).resolve().parent.parent
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def graded_code_cells() -> dict[str, tuple[str, dict]]:
    """grade_id -> (notebook name, cell) of every graded code cell with points in solutions/."""
    cells = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and meta.get("points", 0) > 0:
                assert meta["grade_id"] not in cells, f"two cells share {meta['grade_id']}"
                cells[meta["grade_id"]] = (path.name, cell)
    return cells


GRADED = graded_code_cells()


def stored_text(grade_id: str) -> str:
    """The joined stream text of the outputs the solution stores for ``grade_id``."""
    _, cell = GRADED[grade_id]
    return stream_text(cell.outputs)


def stored_cases(grade_id: str) -> dict[str, list[np.ndarray]]:
    """A function exercise's stored outputs, by case name."""
    return {
        case: [np.asarray(v, dtype=float) for v in lines[0]["values"]]
        for case, lines in records(stored_text(grade_id), grade_id).items()
    }


def hidden_region(source: str) -> str | None:
    """The text between the hidden-test markers, or None without them."""
    if BEGIN_HIDDEN not in source:
        return None
    return source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0]


def accepted(grade_id: str, value) -> bool:
    """Whether the grader's comparison accepts ``value`` for a number exercise."""
    record = f'{{"exercise": "{grade_id}", "case": "{ANSWER_CASE}", "value": {float(value)!r}}}'
    line = PREFIX + record
    (verdict,) = judge_cell(definition(grade_id), line, stored_text(grade_id))
    return verdict.passed


# An independent check per exercise: of a number exercise's expected value, or of a
# function exercise's stored outputs by case (``{case name: [output, ...]}``).
REFERENCES = {}


def reference(grade_id: str):
    def register(check):
        REFERENCES[grade_id] = check
        return check

    return register


# --- The notebooks' data, as the solution notebooks define it. -------------------------------

REF3_04, REWARDS3_04 = np.array([0.2, 0.5, 0.3]), np.array([3.0, 1.0, 0.0])  # notebook 04
GRID_04 = np.geomspace(0.1, 10.0, 41)
REF_E, REWARDS_E = np.array([0.2, 0.5, 0.3]), np.array([3.0, 1.0, 0.0])  # notebook 05
P_GRID_E = np.linspace(0.0, 1.0, 1001)
REF6 = np.array([0.15, 0.30, 0.25, 0.20, 0.08, 0.02])
REWARDS6 = np.array([3.0, 1.5, 0.5, 1.0, -2.0, -3.0])


def language_model():
    """The course's bigram model and its per-word rewards (notebooks 07 and 08)."""
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


def two_word_sequences():
    """pi_ref and r of all two-word sequences (notebook 08's ref_seq and reward_seq)."""
    model, token_reward = language_model()
    ids, log_ref = model.enumerate(2)
    return model, np.exp(log_ref), rw.sequence_reward(ids, token_reward)


def p_a(t):
    """P(A) of the scores (12, 7, 1) at temperature t."""
    return 1 / (1 + np.exp(-5 / t) + np.exp(-11 / t))


def temperature_for(p, low=1.0, high=10.0):
    """The temperature at which P(A) = p, by bisection (P(A) falls as t grows)."""
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if p_a(middle) > p else (low, middle)
    return (low + high) / 2


def exact_beta_for_z_3():
    # Z = 3 is a quadratic in u = e^(1/beta): 0.6 u^2 + 0.4 u - 3 = 0.
    u = (-0.4 + np.sqrt(0.4**2 + 4 * 0.6 * 3.0)) / (2 * 0.6)
    return 1 / np.log(u)


def exact_samples_for_1_percent():
    # From chi^2 = Z(1/2) / Z(1)^2 - 1: n = chi^2 / 0.01^2.
    model, token_rewards = language_model()
    chi2 = np.expm1(
        rw.log_z_by_recursion(model, token_rewards, 3, 0.5)
        - 2 * rw.log_z_by_recursion(model, token_rewards, 3, 1.0)
    )
    return chi2 / 0.01**2


# --- Lesson 01 ---------------------------------------------------------------------------------


@reference("01-sum-b-with-d")
def _(p_b_sum_four):
    assert np.isclose(p_b_sum_four, 7 / (12 + 7 + 1 + 11), rtol=1e-12, atol=0)


@reference("01-logit-d-halves-others")
def _(logit_d):
    # e^d = e^12 + e^7 + e^1, divided through by e^12.
    assert np.isclose(logit_d, 12 + np.log1p(np.exp(-5) + np.exp(-11)), rtol=1e-14, atol=0)


@reference("01-stable-softmax")
def _(cases):
    big, small, huge = cases["large logits"]
    assert np.allclose(big, [1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-12, atol=0)
    expected = np.exp([-1.0, 0.0, -2.0]) / np.exp([-1.0, 0.0, -2.0]).sum()
    assert np.allclose(small, expected, rtol=1e-12, atol=0)
    # (2000, 1995, 1990) divided through by e^2000.
    weights = np.exp([0.0, -5.0, -10.0])
    assert np.allclose(huge, weights / weights.sum(), rtol=1e-12, atol=0)
    (equal,) = cases["equal logits"]
    assert np.allclose(equal, [0.5, 0.5], rtol=1e-15, atol=0)
    # The examples: (12, 7, 1) divided through by e^12; (800, 0, -800) underflows to (1, 0, 0).
    examples = cases["the check's examples"]
    weights = np.exp([0.0, -5.0, -11.0])
    assert np.allclose(examples[0], weights / weights.sum(), rtol=1e-12, atol=0)
    assert np.array_equal(examples[3], [1.0, 0.0, 0.0])


@reference("01-temperature-p-a-90")
def _(t_90):
    # P(A) = 1 / (1 + e^(-5/T) + e^(-11/T)) = 0.9, by a bisection of its own.
    assert np.isclose(t_90, temperature_for(0.9), rtol=1e-12, atol=0)
    assert np.isclose(p_a(t_90), 0.9, rtol=1e-14, atol=0)


# --- Lesson 02 ---------------------------------------------------------------------------------


@reference("02-z-three-outputs")
def _(z_three):
    assert np.isclose(z_three, 0.5 * np.exp(2.0) + 0.3 + 0.2 * np.exp(-2.0), rtol=1e-12, atol=0)


@reference("02-shift-to-z-one")
def _(c_unit_z):
    # Z(r + c) = 1, with Z written out.
    shifted = np.array([0.5, -1.0, 2.0, 0.3]) + c_unit_z
    assert np.isclose(np.sum([0.1, 0.2, 0.3, 0.4] * np.exp(shifted / 0.8)), 1.0, rtol=1e-13)


@reference("02-beta-for-z-3")
def _(beta_z3):
    assert np.isclose(beta_z3, exact_beta_for_z_3(), rtol=1e-12, atol=0)
    assert np.isclose(rw.normalization_factor([0.6, 0.4], [2.0, 1.0], beta=beta_z3), 3.0)


@reference("02-log-pi-star-tiny")
def _(log_pi_y3):
    # log Z = 1600 + log 0.5 (the other terms are e^-1000 and e^-1200 times smaller).
    assert np.isclose(log_pi_y3, np.log(0.3) + 400 - 1600 - np.log(0.5), rtol=1e-14, atol=0)


@reference("02-z-from-scratch")
def _(cases):
    assert np.allclose(cases["every reward zero"], [1.0], rtol=1e-12, atol=0)
    assert np.allclose(cases["equal rewards"], [np.exp(3.0)], rtol=1e-12, atol=0)
    assert np.isclose(cases["the check's examples"][0], 0.6 * np.e**2 + 0.4 * np.e, rtol=1e-12)


# --- Lesson 03 ---------------------------------------------------------------------------------


@reference("03-upbeat-breaks-even")
def _(beta_upbeat):
    # At that beta, upbeat (reward 1.5) keeps its reference probability: Z = e^(1.5 / beta),
    # with Z summed by hand.
    z = np.sum(REF6 * np.exp(REWARDS6 / beta_upbeat))
    assert np.isclose(beta_upbeat * np.log(z), 1.5, rtol=1e-12, atol=0)


@reference("03-half-mass-reward")
def _(r_half):
    # y3's weight 1e-6 e^r equals the others' weight 0.6 e^2 + (0.4 - 1e-6) e.
    assert np.isclose(rw.reward_weighted([0.6, 0.4 - 1e-6, 1e-6], [2.0, 1.0, r_half])[2], 0.5)
    assert np.isclose(
        1e-6 * np.exp(r_half), 0.6 * np.exp(2) + (0.4 - 1e-6) * np.exp(1), rtol=1e-12, atol=0
    )


@reference("03-equal-completions")
def _(r_terse):
    pi_check = rw.reward_weighted(
        [0.15, 0.30, 0.25, 0.20, 0.08, 0.02], [3.0, 1.5, r_terse, 1.0, -2.0, -3.0], beta=0.5
    )
    assert np.isclose(pi_check[2], pi_check[0], rtol=1e-12, atol=0)
    # Odds: 0.25 e^(r / 0.5) = 0.15 e^(3 / 0.5), so r = 3 + 0.5 log 0.6.
    assert np.isclose(r_terse, 3 + 0.5 * np.log(0.6), rtol=1e-14, atol=0)


@reference("03-reweight-function")
def _(cases):
    z_two = 0.6 * np.exp(2) + 0.4 * np.exp(1)
    two = cases["the check's examples"][0]
    assert np.allclose(two, [0.6 * np.exp(2) / z_two, 0.4 * np.exp(1) / z_two], rtol=1e-12, atol=0)
    zero, huge = cases["an output with reference probability 0"]
    assert zero[1] == 0.0 and np.isclose(np.sum(zero), 1.0)
    z_zero = 0.3 + 0.7 * np.exp(-2.0)
    assert np.allclose(zero, [0.3 / z_zero, 0.0, 0.7 * np.exp(-2.0) / z_zero], rtol=1e-12, atol=0)
    # pi_ref = (0.5, 0.5, 0), r = (1, 0, 1000), beta = 0.5: the third output stays at exactly 0.
    assert huge[2] == 0.0
    assert np.allclose(huge[:2], [1 / (1 + np.exp(-2)), 1 / (1 + np.exp(2))], rtol=1e-12, atol=0)
    # The examples' last one, section 4's: (0.6, 0.4, 0) with rewards (2, 1, 1e4).
    last = cases["the check's examples"][-1]
    assert last[2] == 0.0 and np.allclose(last[:2], two, rtol=1e-12, atol=0)
    (large,) = cases["large rewards"]
    assert np.allclose(large, [1 / (1 + np.exp(-1)), 1 / (1 + np.exp(1))], rtol=1e-12, atol=0)


# --- Lesson 04 ---------------------------------------------------------------------------------


@reference("04-beta-for-0-9")
def _(beta_90):
    # Closed form: logit 0.9 - logit 0.6 = log 9 - log 1.5 = log 6 = 1 / beta.
    assert np.isclose(beta_90, 1 / np.log(6), rtol=1e-12, atol=0)


@reference("04-b-overtakes-a")
def _(beta_b_equals_a):
    # pi*(B) / pi*(A) = (0.3 / 0.5) e^((2 - 1) / beta) = 1; checked on pi* summed by hand.
    weights = np.array([0.5, 0.3, 0.2]) * np.exp(np.array([1.0, 2.0, 0.0]) / beta_b_equals_a)
    assert np.isclose(weights[0], weights[1], rtol=1e-13, atol=0)


def kl_budget_grid_kls():
    """KL(pi*_beta || ref) on notebook 04's grid: pi* as a numpy softmax, the KL summed by hand."""
    logits = np.log(REF3_04) + REWARDS3_04 / GRID_04[:, None]
    pi = np.exp(logits - logits.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    return np.sum(pi * np.log(pi / REF3_04), axis=1)


@reference("04-kl-budget")
def _(beta_budget):
    # The question asks for a grid point: the first one whose KL is within the budget.
    kls = kl_budget_grid_kls()
    i = int(np.argmin(np.abs(GRID_04 - beta_budget)))
    assert GRID_04[i] == beta_budget
    assert kls[i] <= 0.1 < kls[i - 1]


def two_output_by_hand(p, r1, r2, beta):
    return p * np.exp(r1 / beta) / (p * np.exp(r1 / beta) + (1 - p) * np.exp(r2 / beta))


@reference("04-two-output-pi-star")
def _(cases):
    example = cases["the check's examples"][0]
    assert np.isclose(example, 1.5 * np.e / (1.5 * np.e + 1), rtol=1e-12, atol=0)
    (equal,) = cases["equal rewards"]
    assert np.isclose(equal, 0.35, rtol=1e-12, atol=0)
    half, half_swapped, other, other_swapped = cases["the outputs swapped"]
    # Swapping the outputs gives the complement.
    assert np.isclose(half + half_swapped, 1.0, rtol=1e-12, atol=0)
    assert np.isclose(other + other_swapped, 1.0, rtol=1e-12, atol=0)
    # Each value is graded on its own: pi*(y1) by hand too.
    assert np.isclose(half, two_output_by_hand(0.6, 2.0, 1.0, 0.5), rtol=1e-12, atol=0)
    assert np.isclose(other, two_output_by_hand(0.2, -1.0, 3.0, 4.0), rtol=1e-12, atol=0)


# --- Lesson 05 ---------------------------------------------------------------------------------


@reference("05-max-j-three-outputs")
def _(j_max):
    # Closed form: beta log(0.2 e^6 + 0.5 e^2 + 0.3); and no policy does better.
    assert np.isclose(
        j_max, 0.5 * np.log(0.2 * np.exp(6) + 0.5 * np.exp(2) + 0.3), rtol=1e-12, atol=0
    )
    w = np.array([0.2 * np.exp(6), 0.5 * np.exp(2), 0.3])
    assert np.isclose(rw.kl_regularized_objective(w / w.sum(), REF_E, REWARDS_E, 0.5), j_max)
    others = np.random.default_rng(0).dirichlet(np.ones(3), size=200)
    assert np.all(rw.kl_regularized_objective(others, REF_E, REWARDS_E, 0.5) < j_max)


@reference("05-flat-top-width")
def _(top_width):
    # Independent route: J(p) written out for two outputs, its crossings of beta log Z - 0.01
    # found by bisection on a fine grid of p, then refined.
    beta, top = 0.5, 0.5 * np.log(0.6 * np.exp(4.0) + 0.4 * np.exp(2.0))

    def shortfall(p):
        j = 2 * p + (1 - p) - beta * (p * np.log(p / 0.6) + (1 - p) * np.log((1 - p) / 0.4))
        return top - j - 0.01

    p = np.linspace(1e-6, 1 - 1e-6, 2_000_001)
    inside = p[shortfall(p) <= 0]
    assert np.isclose(top_width, inside[-1] - inside[0], rtol=0, atol=2e-6)
    star = 0.6 * np.exp(4.0) / (0.6 * np.exp(4.0) + 0.4 * np.exp(2.0))
    assert inside[0] < star < inside[-1]


# The question asks for the grid point: the grid's maximizer, not the exact one off the grid.
@reference("05-best-p-grid")
def _(p_best):
    q = 1 / (1 + np.exp(-(np.log(1.5) + 1 / 0.3)))
    assert abs(p_best - q) <= 1e-3
    assert np.isclose(P_GRID_E, p_best, rtol=0, atol=1e-12).any()

    def j(p):
        return 2 * p + (1 - p) - 0.3 * (p * np.log(p / 0.6) + (1 - p) * np.log((1 - p) / 0.4))

    assert j(p_best) >= max(j(p_best - 1e-3), j(p_best + 1e-3))


@reference("05-objective")
def _(cases):
    # J(pi*) = beta log Z = log(0.6 e^2 + 0.4 e) at beta = 1; J(pi_ref) = E_ref[r] = 1.6.
    (at_star,) = cases["the optimal policy pi*"]
    assert np.isclose(at_star, np.log(0.6 * np.e**2 + 0.4 * np.e), rtol=1e-12, atol=0)
    (at_ref,) = cases["the reference itself"]
    assert np.isclose(at_ref, 1.6, rtol=1e-12, atol=0)
    # All on y2 gives 1 + beta log 0.4; a zero where the reference is zero too adds nothing.
    all_on_y2, zero_where_ref_zero = cases["policies with zeros"]
    assert np.isclose(all_on_y2, 1 + 2 * np.log(0.4), rtol=1e-12, atol=0)
    assert np.isclose(zero_where_ref_zero, 2.0, rtol=1e-12, atol=0)
    # The examples: (0.8, 0.2) on the two-output example is 1.8 - KL by hand; all on y1 is
    # 2 + log 0.6.
    examples = cases["the check's examples"]
    kl = 0.8 * np.log(0.8 / 0.6) + 0.2 * np.log(0.2 / 0.4)
    assert np.isclose(examples[0], 1.8 - kl, rtol=1e-12, atol=0)
    assert np.isclose(examples[1], 2 + np.log(0.6), rtol=1e-12, atol=0)


# --- Lesson 06 ---------------------------------------------------------------------------------


@reference("06-implicit-reward")
def _(reward_y2):
    # Closed form: 0.5 log(0.6 / 0.3) + 0.5 * 1.2 = 0.5 log 2 + 0.6.
    assert np.isclose(reward_y2, 0.5 * np.log(2) + 0.6, rtol=1e-12, atol=0)
    # The rewards of all three outputs reproduce the policy as pi*, with log Z = 1.2.
    r = 0.5 * np.log(np.array([0.2, 0.6, 0.2]) / np.array([0.5, 0.3, 0.2])) + 0.6
    w = np.array([0.5, 0.3, 0.2]) * np.exp(r / 0.5)
    assert np.isclose(r[1], reward_y2, rtol=1e-12, atol=0)
    assert np.isclose(np.log(w.sum()), 1.2, rtol=1e-12, atol=0)
    assert np.allclose(w / w.sum(), [0.2, 0.6, 0.2], rtol=1e-12, atol=0)


@reference("06-flat-direction-kl")
def _(kl_unseen):
    # The minimiser splits {A, B} as pi* does, 0.4 e^2 : 0.3, and {C, D} as 0.2 e^6 : 0.1 e^4,
    # with mass 1/2 on each pair; pi* by hand, then the KL summed by hand.
    w = np.array([0.4 * np.exp(2), 0.3, 0.2 * np.exp(6), 0.1 * np.exp(4)])
    star = w / w.sum()
    member = np.concatenate([0.5 * w[:2] / w[:2].sum(), 0.5 * w[2:] / w[2:].sum()])
    assert np.isclose(kl_unseen, np.sum(member * np.log(member / star)), rtol=1e-12, atol=0)
    # Closed form: KL = 1/2 log(1/2 / pi*(A, B)) + 1/2 log(1/2 / pi*(C, D)).
    closed = 0.5 * np.log(0.5 / star[:2].sum()) + 0.5 * np.log(0.5 / star[2:].sum())
    assert np.isclose(kl_unseen, closed, rtol=1e-12, atol=0)


@reference("06-p-for-loss")
def _(p_loss_03):
    # sigma(m) = e^-0.3, so m = -log(e^0.3 - 1); then logit p = logit 0.6 + m / 0.5.
    m = -np.log(np.exp(0.3) - 1)
    p = 1 / (1 + np.exp(-(np.log(1.5) + m / 0.5)))
    assert np.isclose(p_loss_03, p, rtol=1e-12, atol=0)
    assert np.isclose(rw.dpo_loss(p_loss_03, 1 - p_loss_03, 0.6, 0.4, 0.5), 0.3, rtol=1e-12)


@reference("06-preference-probability")
def _(cases):
    # The reference prefers nothing: 1/2 for every pair.
    (reference_only,) = cases["the reference as the policy"]
    assert np.isclose(reference_only, 0.5, rtol=1e-12, atol=0)
    # At pi*, the preference is sigma(r_w - r_l) of the true rewards (the log Z terms cancel).
    (at_pi_star,) = cases["the policy pi*"]
    assert np.isclose(at_pi_star, 1 / (1 + np.exp(-2.0)), rtol=1e-12, atol=0)
    # Swapping chosen and rejected gives the complement ...
    chosen_first, rejected_first = cases["chosen and rejected swapped"]
    assert np.isclose(chosen_first + rejected_first, 1.0, rtol=1e-12, atol=0)
    # ... and, by hand, the margin is 2 log((0.1 / 0.3) / (0.5 / 0.3)) = 2 log 0.2: sigma = 1/26.
    assert np.isclose(chosen_first, 1 / 26, rtol=1e-12, atol=0)
    # The examples: a policy equal to its reference gives 1/2; in the first, the margin is
    # 0.5 log((0.6 / 0.3) / (0.2 / 0.5)) = 0.5 log 5, so sigma = sqrt 5 / (sqrt 5 + 1).
    examples = cases["the check's examples"]
    assert np.isclose(examples[2], 0.5, rtol=1e-12, atol=0)
    assert np.isclose(examples[0], np.sqrt(5) / (np.sqrt(5) + 1), rtol=1e-12, atol=0)


# --- Lesson 07 ---------------------------------------------------------------------------------


@reference("07-log-z-two-tokens")
def _(log_z_two):
    # Independent route: enumerate the 46^2 sequences and log-sum-exp by hand.
    model, token_rewards = language_model()
    ids, log_ref = model.enumerate(2)
    a = log_ref + rw.sequence_reward(ids, token_rewards) / 0.5
    assert np.isclose(log_z_two, a.max() + np.log(np.exp(a - a.max()).sum()), rtol=1e-12, atol=0)


# The exact count, rounded up: n = chi^2 / 0.01^2, with chi^2 = E_ref[w^2] / E_ref[w]^2 - 1
# summed over the 46^3 sequences here (the definition takes it from the recursion).
@reference("07-samples-for-1-percent")
def _(n_needed):
    model, token_rewards = language_model()
    ids, log_ref = model.enumerate(3)
    ref, r = np.exp(log_ref), rw.sequence_reward(ids, token_rewards)
    chi2 = np.sum(ref * np.exp(2 * r)) / np.sum(ref * np.exp(r)) ** 2 - 1
    assert n_needed == math.ceil(chi2 / 0.01**2)
    assert np.isclose(n_needed, exact_samples_for_1_percent(), rtol=0, atol=1)


@reference("07-beta-ess-tenth")
def _(beta_tenth):
    # Independent route: Z(T = 4) as a row vector times three transition matrices (not the
    # recursion), and 1 + chi^2 = Z(beta / 2) / Z(beta)^2 = 10 at the answer.
    model, token_rewards = language_model()

    def z(beta):
        w = np.exp(token_rewards / beta)
        start, step = np.exp(model.log_transitions[0]) * w, np.exp(model.log_transitions[1:]) * w
        return start @ np.linalg.matrix_power(step, 3) @ np.ones(len(w))

    assert np.isclose(z(beta_tenth / 2) / z(beta_tenth) ** 2, 10.0, rtol=1e-9, atol=0)
    assert z(0.99 * beta_tenth / 2) / z(0.99 * beta_tenth) ** 2 > 10.0  # chi^2 falls as beta grows


@reference("07-mc-log-z")
def _(cases):
    # Equal rewards give r / beta exactly; rewards 0 and log 3 at beta 1 give log 2.
    equal, log_two = cases["small samples with a closed form"]
    assert np.isclose(equal, 10.0, rtol=1e-12, atol=0)
    assert np.isclose(log_two, np.log(2.0), rtol=1e-12, atol=0)
    # Overflow: 2000 + log((1 + e^-1) / 2); underflow: -3000 + log((1 + e^-3) / 2).
    (overflow,) = cases["weights that overflow"]
    assert np.isclose(overflow, 2000 + np.log((1 + np.exp(-1)) / 2), rtol=1e-12, atol=0)
    (underflow,) = cases["weights that underflow"]
    assert np.isclose(underflow, -3000 + np.log((1 + np.exp(-3)) / 2), rtol=1e-12, atol=0)
    # The examples: (2, 2, 2, 2) at 0.25 is 8; one reward 3 at beta 2 is 1.5;
    # (1000, 1000, 999) at 1 is 1000 + log((2 + e^-1) / 3).
    examples = cases["the check's examples"]
    assert np.isclose(examples[2], 8.0, rtol=1e-12, atol=0)
    assert np.isclose(examples[6], 1.5, rtol=1e-12, atol=0)
    assert np.isclose(examples[3], 1000 + np.log((2 + np.exp(-1)) / 3), rtol=1e-12, atol=0)


# --- Lesson 08 ---------------------------------------------------------------------------------


@reference("08-proposals-per-sample")
def _(proposals_per_sample):
    # Z(4) by enumerating the 3-word prefixes and summing the 4th word by hand,
    # Z(4) = sum_y pi_ref(y) e^(r(y)) sum_w p(w | last word of y) e^(r(w)); r_max = 4 * 2 = 8.
    model, token_reward = language_model()
    ids3, log_ref3 = model.enumerate(3)
    last = np.exp(model.log_transitions[1:]) @ np.exp(token_reward)
    z4 = np.sum(np.exp(log_ref3 + rw.sequence_reward(ids3, token_reward)) * last[ids3[:, -1]])
    assert np.isclose(proposals_per_sample, np.exp(8.0) / z4, rtol=1e-10, atol=0)
    assert proposals_per_sample > 1000


@reference("08-best-of-4-i-loved")
def _(p_i_loved):
    # Step 5 by hand: the share of "i loved" in the reward-2 group times P(best reward = 2).
    model, ref_seq, reward_seq = two_word_sequences()
    p = np.exp(model.log_prob(model.encode("i loved")))
    group = ref_seq[reward_seq == 2.0].sum()
    f, f_below = ref_seq[reward_seq <= 2.0].sum(), ref_seq[reward_seq < 2.0].sum()
    assert np.isclose(p_i_loved, p / group * (f**4 - f_below**4), rtol=1e-10, atol=0)


@reference("08-smallest-n")
def _(n_match):
    # By the level probabilities of step 3: E = sum_v v (F(v)^N - F(v^-)^N).
    _, ref_seq, reward_seq = two_word_sequences()
    levels = np.unique(reward_seq)
    f = np.array([ref_seq[reward_seq <= v].sum() for v in levels])
    f_below = np.array([ref_seq[reward_seq < v].sum() for v in levels])
    weights = ref_seq * np.exp(reward_seq)
    target = np.sum(weights * reward_seq) / np.sum(weights)
    mean = [np.sum(levels * (f**n - f_below**n)) for n in range(1, 40)]
    assert int(n_match) == n_match
    assert mean[int(n_match) - 1] > target >= mean[int(n_match) - 2]


def best_of_n_by_hand(ref, rewards, n):
    """F(r(y))^n - F(r(y)^-)^n, one output at a time."""
    return np.array([ref[rewards <= r].sum() ** n - ref[rewards < r].sum() ** n for r in rewards])


@reference("08-best-of-n-ties")
def _(cases):
    # A tie at the top: the pair at reward 2 wins unless all 3 candidates score 1, and shares
    # that in proportion 0.5 : 0.2.
    (top_tie,) = cases["a tie at the top"]
    assert np.allclose(top_tie, [(1 - 0.3**3) * 5 / 7, (1 - 0.3**3) * 2 / 7, 0.3**3], rtol=1e-12)
    # Every reward equal: best-of-N is the reference itself, for any n.
    (equal,) = cases["every reward equal"]
    assert np.allclose(equal, REF6, rtol=1e-12, atol=0)
    # Distinct rewards: n = 1 is the reference; n = 7 is F(r(y))^7 - F(r(y)^-)^7 output by output.
    n_one, n_seven = cases["distinct rewards and n = 1"]
    assert np.allclose(n_one, REF6, rtol=1e-12, atol=0)
    assert np.allclose(n_seven, best_of_n_by_hand(REF6, REWARDS6, 7), rtol=1e-12, atol=1e-15)
    # The examples, level by level: each level's F(v)^n - F(v^-)^n shared in proportion to ref.
    examples = [
        (REF6, np.array([3.0, 1.5, 0.5, 1.5, -2.0, -3.0]), 4),
        (REF6, REWARDS6, 4),
        (np.array([0.6, 0.4]), np.array([1.0, 1.0]), 3),
        (np.array([0.1, 0.4, 0.2, 0.3]), np.array([2.0, -1.0, 2.0, 7.0]), 2),
        (np.array([0.05, 0.5, 0.25, 0.2]), np.array([1.0, 1.0, -4.0, 1.0]), 16),
        (np.full(4, 0.25), np.array([4.0, 3.0, 3.0, 1.0]), 50),
    ]
    for got, (ref, rewards, n) in zip(cases["the check's examples"], examples, strict=True):
        level = [
            ref[i]
            / ref[rewards == rewards[i]].sum()
            * (ref[rewards <= rewards[i]].sum() ** n - ref[rewards < rewards[i]].sum() ** n)
            for i in range(len(ref))
        ]
        assert np.allclose(got, level, rtol=1e-12, atol=1e-15)
        assert np.isclose(np.sum(got), 1.0, rtol=1e-12)


# --- Lesson 09: the lesson's preference data, as the solution notebook draws it. ---------------


def lesson09_sentences():
    """(log pi_ref, true r, learned r_hat) of every two-word sentence, 4000 pairs, seed 2024."""
    from rwlib import rlhf

    model, token_reward = language_model()
    pairs = rlhf.sample_preferences(model, token_reward, 2, 4000, np.random.default_rng(2024))
    theta = rlhf.fit_reward_model(*pairs, model.vocabulary_size)
    ids, log_ref = model.enumerate(2)
    return log_ref, token_reward[ids].sum(axis=1), theta[ids].sum(axis=1)


def normalized(log_weights):
    weights = np.exp(log_weights - log_weights.max())
    return weights / weights.sum()


@reference("09-reward-shift")
def _(shift_3):
    # Sum over words of the learned reward is 0 and differences are exact: -T * mean(r).
    assert np.isclose(shift_3, -3 * sum(rw.sentiment_lexicon().values()) / 46, rtol=1e-12, atol=0)


@reference("09-steps-to-target")
def _(steps):
    # Closed form of the natural gradient: pi_k ~ pi*^(1 - a^k) pi_ref^(a^k), a = 1 - eta beta.
    log_ref, _, learned = lesson09_sentences()
    star = normalized(log_ref + learned / 0.5)
    a = 1 - 0.4 * 0.5

    def kl_at(k):
        p = normalized((1 - a**k) * np.log(star) + a**k * log_ref)
        return np.sum(p * np.log(p / star))

    assert int(steps) == steps and kl_at(int(steps)) < 1e-3 <= kl_at(int(steps) - 1)


@reference("09-kl-gap")
def _(kl_end):
    # From the reward error alone: E_hat[delta] - log E_star[e^delta], delta = (r_hat - r) / beta.
    log_ref, true, learned = lesson09_sentences()
    star, star_hat = normalized(log_ref + true / 2), normalized(log_ref + learned / 2)
    delta = (learned - true) / 2
    assert np.isclose(kl_end, star_hat @ delta - np.log(star @ np.exp(delta)), rtol=1e-9, atol=0)


def policy_gradient_by_jacobian(logits, ref, rewards, beta):
    """(diag(pi) - pi pi^T) dJ/dpi, with dJ/dpi = r - beta (log(pi / ref) + 1)."""
    pi = normalized(logits)
    return (np.diag(pi) - np.outer(pi, pi)) @ (rewards - beta * (np.log(pi / ref) + 1))


@reference("09-policy-gradient")
def _(cases):
    # At pi* the gradient is 0; a shift of every logit changes nothing; the rest by the Jacobian.
    (optimum,) = cases["at the optimum pi*"]
    assert np.allclose(optimum, 0.0, atol=1e-14)
    (shifted,) = cases["a shift of the logits"]
    unshifted = policy_gradient_by_jacobian(
        np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.3, 0.2]), np.array([1.0, 0.0, 2.0]), 0.5
    )
    assert np.allclose(shifted, unshifted, rtol=1e-9, atol=1e-12)
    (eight,) = cases["eight outputs"]
    expected = policy_gradient_by_jacobian(
        np.linspace(-1.0, 1.0, 8), np.full(8, 0.125), np.arange(8.0) - 3.0, 1.5
    )
    assert np.allclose(eight, expected, rtol=1e-9, atol=1e-12)
    examples = [
        (np.array([0.6, 0.4]), np.array([0.6, 0.4]), np.array([2.0, 1.0]), 1.0),
        (np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.3, 0.2]), np.array([1.0, 0.0, 2.0]), 0.5),
        (np.array([2.0, 0.0, 0.0, 1.0]), np.array([0.1, 0.2, 0.3, 0.4]), np.zeros(4), 2.0),
        (np.array([3.0, -2.0]), np.array([0.5, 0.5]), np.array([-1.0, 4.0]), 0.1),
    ]
    for got, args in zip(cases["the check's examples"], examples, strict=True):
        assert np.allclose(got, policy_gradient_by_jacobian(*args), rtol=1e-9, atol=1e-12)


# --- Lesson 10: DPO descent written out pair by pair. ------------------------------------------


def six_summary_pairs(keep=lambda a, b: True):
    """Every ordered pair (a, b), a != b, weighted by pi_ref(a) pi_ref(b) sigma(r_a - r_b)."""
    from test_lesson10 import population_pairs

    return population_pairs(keep)


def dpo_descent_by_hand(log_ref, pairs, beta, step_size, steps):
    """Gradient descent on the weighted mean DPO loss, pair by pair (tests/test_lesson10.py)."""
    from test_lesson10 import descent_by_hand

    return descent_by_hand(log_ref, pairs, beta, step_size, steps)


def kl_of(p, q):
    return float(np.sum(p * np.log(p / q)))


@reference("10-disconnected-kl")
def _(kl_split):
    # Descent to convergence on the within-group pairs, at beta = 2.
    group = [0, 0, 0, 1, 1, 1]
    pairs = six_summary_pairs(lambda a, b: group[a] == group[b])
    end = np.exp(dpo_descent_by_hand(np.log(REF6), pairs, 2.0, 2.0, 3000)[-1])
    star = normalized(np.log(REF6) + REWARDS6 / 2.0)
    assert np.isclose(kl_split, kl_of(end, star), rtol=1e-9, atol=0)


@reference("10-steps-to-target")
def _(steps):
    path = dpo_descent_by_hand(np.log(REF6), six_summary_pairs(), 1.0, 5.0, 200)
    star = normalized(np.log(REF6) + REWARDS6)
    kls = [kl_of(np.exp(row), star) for row in path]
    assert int(steps) == steps and kls[int(steps)] < 1e-3 <= kls[int(steps) - 1]


@reference("10-early-stopping")
def _(kl_best):
    # The same descent on lesson 09's pairs of sentences, vectorised, and its smallest KL.
    from rwlib import rlhf

    model, token_reward = language_model()
    chosen, rejected = rlhf.sample_preferences(
        model, token_reward, 2, 4000, np.random.default_rng(2024)
    )
    ids, log_ref = model.enumerate(2)
    win, lose = chosen[:, 0] * 46 + chosen[:, 1], rejected[:, 0] * 46 + rejected[:, 1]
    star = normalized(log_ref + token_reward[ids].sum(axis=1) / 2.0)
    theta, kls = log_ref.copy(), []
    for _ in range(1001):
        kls.append(kl_of(normalized(theta), star))
        push = 2.0 / (1 + np.exp(2.0 * (theta[win] - theta[lose] - log_ref[win] + log_ref[lose])))
        theta = theta - 10.0 * (
            np.bincount(lose, push, len(theta)) - np.bincount(win, push, len(theta))
        ) / len(win)
    assert np.isclose(kl_best, min(kls), rtol=1e-9, atol=0)


def mean_dpo_loss(logits, ref, chosen, rejected, beta):
    log_pi = logits - np.logaddexp.reduce(logits)
    return np.mean(
        rw.dpo_loss(
            log_pi[chosen],
            log_pi[rejected],
            np.log(ref[chosen]),
            np.log(ref[rejected]),
            beta,
            log_probs=True,
        )
    )


def dpo_gradient_by_differences(logits, ref, chosen, rejected, beta, h=1e-6):
    """Central finite differences of the mean of rw.dpo_loss."""
    return np.array(
        [
            (
                mean_dpo_loss(logits + h * e, ref, chosen, rejected, beta)
                - mean_dpo_loss(logits - h * e, ref, chosen, rejected, beta)
            )
            / (2 * h)
            for e in np.eye(len(logits))
        ]
    )


@reference("10-dpo-gradient")
def _(cases):
    # Finite differences of rw.dpo_loss (6 digits); an output in no pair has gradient exactly 0.
    cases_args = {
        "an output no pair mentions": (
            np.array([0.5, -0.5, 2.0]),
            np.array([0.2, 0.3, 0.5]),
            np.array([0]),
            np.array([1]),
            1.0,
        ),
        "a pair ranked right by a wide margin": (
            np.array([30.0, 0.0]),
            np.array([0.5, 0.5]),
            np.array([0]),
            np.array([1]),
            2.0,
        ),
        "many pairs": (
            np.log(REF6),
            REF6,
            np.array([0, 1, 2, 0, 5, 3]),
            np.array([1, 2, 3, 4, 0, 0]),
            0.5,
        ),
    }
    for case, args in cases_args.items():
        (got,) = cases[case]
        assert np.allclose(got, dpo_gradient_by_differences(*args), rtol=1e-5, atol=1e-9), case
    assert cases["an output no pair mentions"][0][2] == 0.0
    examples = [
        (np.array([0.6, 0.4]), np.array([0.6, 0.4]), np.array([0]), np.array([1]), 1.0),
        (
            np.array([0.0, 1.0, -1.0]),
            np.array([0.5, 0.3, 0.2]),
            np.array([0, 2, 2]),
            np.array([1, 1, 0]),
            0.5,
        ),
        (np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4]), np.array([3, 3]), np.array([0, 0]), 2.0),
        (np.array([5.0, -5.0]), np.array([0.5, 0.5]), np.array([1]), np.array([0]), 0.1),
    ]
    for got, args in zip(cases["the check's examples"], examples, strict=True):
        assert np.allclose(got, dpo_gradient_by_differences(*args), rtol=1e-5, atol=1e-9)


# --- The tests ---------------------------------------------------------------------------------


def test_every_graded_code_cell_has_a_definition_and_a_reference_and_nothing_else_does():
    assert sorted(REFERENCES) == sorted(GRADED)
    assert sorted(definitions()) == sorted(GRADED)


@pytest.mark.parametrize("grade_id", sorted(GRADED))
def test_hidden_test_calls_the_definition_once_and_asserts_nothing_itself(grade_id):
    name, cell = GRADED[grade_id]
    hidden = hidden_region(cell.source)
    assert hidden is not None, f"{name}, {grade_id}: no hidden tests"
    call = (
        "rw.grade_function("
        if isinstance(definition(grade_id), FunctionExercise)
        else "rw.print_for_grading("
    )
    assert hidden.count(call) == 1 and f'"{grade_id}"' in hidden, f"{name}, {grade_id}"
    assert not re.search(r"\bassert\b", hidden), f"{name}, {grade_id}: assert in hidden tests"


@pytest.mark.parametrize("grade_id", sorted(GRADED))
def test_stored_output_holds_one_line_per_case(grade_id):
    exercise = definition(grade_id)
    cases = exercise.hidden_cases if isinstance(exercise, FunctionExercise) else [ANSWER_CASE]
    lines = records(stored_text(grade_id), grade_id)
    assert sorted(lines) == sorted(cases), f"run `rwlib release {GRADED[grade_id][0]}`"
    assert all(len(lines[case]) == 1 for case in cases)


@pytest.mark.parametrize("grade_id", sorted(REFERENCES))
def test_expected_values_pass_an_independent_check(grade_id):
    exercise = definition(grade_id)
    if isinstance(exercise, NumberExercise):
        REFERENCES[grade_id](exercise.expected())
    else:
        REFERENCES[grade_id](stored_cases(grade_id))


NUMBERS = sorted(g for g in GRADED if isinstance(definition(g), NumberExercise))


@pytest.mark.parametrize("grade_id", NUMBERS)
def test_values_off_by_ten_tolerances_are_refused(grade_id):
    exercise = definition(grade_id)
    value, tolerance = exercise.expected(), exercise.tolerance
    step = 10 * (tolerance.atol + tolerance.rtol * abs(value))
    assert accepted(grade_id, value)
    assert not accepted(grade_id, value + step) and not accepted(grade_id, value - step)
