"""Time rw.reward_weighted on a GPT-2-sized batch against scipy and one np.exp pass.

Run with ``make bench``. Prints times and the ratios the README quotes:
rwlib / scipy (goal <= 0.6) and rwlib / one exp pass (goal <= 3), input
validation included, plus the peak memory each allocates beyond its inputs.
"""

from __future__ import annotations

import platform
import tracemalloc

import numpy as np
from scipy.special import softmax
from timing import best_seconds

import rwlib as rw

BATCH, VOCAB, BETA, ROUNDS = 256, 50_257, 0.5, 15


def peak_extra_bytes(function) -> int:
    """Largest amount of memory the call holds at once, beyond its inputs."""
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    rng = np.random.default_rng(2026)
    ref = rw.softmax(rng.normal(scale=2.0, size=(BATCH, VOCAB)))
    rewards = rng.normal(scale=3.0, size=(BATCH, VOCAB))
    candidates = {
        "rw.reward_weighted": lambda: rw.reward_weighted(ref, rewards, BETA),
        "scipy.special.softmax(log ref + r/beta)": lambda: softmax(
            np.log(ref) + rewards / BETA, axis=-1
        ),
        "np.exp (one pass, the floor)": lambda: np.exp(rewards),
    }
    mine, theirs = (candidates[name]() for name in list(candidates)[:2])
    difference = float(np.max(np.abs(mine - theirs) / np.maximum(theirs, 1e-300)))
    seconds = best_seconds(candidates, ROUNDS)
    peaks = {name: peak_extra_bytes(f) for name, f in candidates.items()}

    input_mib = ref.nbytes / 2**20
    print(f"reward_weighted on a {BATCH} x {VOCAB} float64 batch ({input_mib:.0f} MiB per array),")
    cpu = platform.processor() or platform.machine()
    print(f"beta={BETA}, best of {ROUNDS} interleaved rounds; {cpu}")
    print(f"numpy {np.__version__}; largest relative difference rwlib vs scipy: {difference:.1e}")
    print()
    print(f"{'method':42} {'ms':>8} {'peak extra MiB':>15}")
    for name in candidates:
        print(f"{name:42} {seconds[name] * 1e3:8.1f} {peaks[name] / 2**20:15.0f}")
    rwlib_s = seconds["rw.reward_weighted"]
    print()
    print(f"rwlib / scipy        = {rwlib_s / seconds[list(candidates)[1]]:.2f}  (goal <= 0.6)")
    print(f"rwlib / one exp pass = {rwlib_s / seconds[list(candidates)[2]]:.2f}  (goal <= 3)")
    print(f"rwlib peak extra memory = {peaks['rw.reward_weighted'] / ref.nbytes:.2f} input copies")


if __name__ == "__main__":
    main()
