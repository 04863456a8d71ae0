"""Time exact log Z over sequences: enumeration (V^T terms) against the soft-value recursion.

Run with ``python benchmarks/bench_exact_z.py``. On the course bigram model and
its sentiment reward, prints the best-of-ROUNDS seconds of
``log_z_by_enumeration`` and ``log_z_by_recursion`` for every length T whose
V^T sequences can be listed, their ratio, and the recursion alone at T = 50.
"""

from __future__ import annotations

import platform

import numpy as np
from timing import best_seconds

import rwlib.language_model as lm
from rwlib.sequences import log_z_by_enumeration, log_z_by_recursion

BETA, ROUNDS, LONG = 1.0, 5, 50
WIDTHS = (3, 12, 14, 12, 10, 9)  # columns of the table


def main() -> None:
    model = lm.course_model()
    rewards = lm.token_rewards(model, lm.sentiment_lexicon())
    size = model.vocabulary_size
    print(f"exact log Z on the course bigram model: V = {size} words, beta = {BETA},")
    print(f"best of {ROUNDS} interleaved rounds; {platform.processor() or platform.machine()}")
    print(f"numpy {np.__version__}")
    print()
    header = ("T", "V^T", "enumeration s", "recursion s", "enum / rec", "|diff|")
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, WIDTHS, strict=True)))
    length = 1
    while size**length <= lm.MAX_ENUMERATED:
        seconds = best_seconds(
            {
                "enumeration": lambda t=length: log_z_by_enumeration(model, rewards, t, BETA),
                "recursion": lambda t=length: log_z_by_recursion(model, rewards, t, BETA),
            },
            ROUNDS,
        )
        difference = abs(
            log_z_by_enumeration(model, rewards, length, BETA)
            - log_z_by_recursion(model, rewards, length, BETA)
        )
        ratio = seconds["enumeration"] / seconds["recursion"]
        print(
            f"{length:>3} {size**length:>12,} {seconds['enumeration']:>14.6f} "
            f"{seconds['recursion']:>12.6f} {ratio:>10.1f} {difference:>9.1e}"
        )
        length += 1
    long = best_seconds(
        {"recursion": lambda: log_z_by_recursion(model, rewards, LONG, BETA)}, ROUNDS
    )
    print(
        f"{LONG:>3} {f'{size}^{LONG}':>12} {'(impossible)':>14} {long['recursion']:>12.6f} "
        f"{'':>10} {'':>9}"
    )
    print()
    print(f"log Z at T = {LONG}: {log_z_by_recursion(model, rewards, LONG, BETA):.6f}")
    print(f"{size}^{LONG} = 10^{LONG * np.log10(size):.0f} sequences would have to be listed.")


if __name__ == "__main__":
    main()
