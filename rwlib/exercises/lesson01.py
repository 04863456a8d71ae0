"""Checks of the exercises in ``01_scores_to_probabilities.ipynb``."""

from rwlib.checks import exercise, number_hint


@exercise("01-probability-of-b")
def probability_of_b(answer):
    """Scores 12, 7, 1 for outcomes A, B, C: P(B) after dividing by the sum."""
    return number_hint(
        answer,
        7 / 20,
        "divide B's score by the sum of all three scores",
        mistakes=[(7 / 12, "the normalizer is the sum of all the scores, not A's score")],
    )
