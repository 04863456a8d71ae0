"""The timing loop the benchmarks share."""

from __future__ import annotations

import time


def best_seconds(candidates: dict, rounds: int) -> dict:
    """Fastest of ``rounds`` runs of each candidate, after one warm-up.

    The candidates take turns within each round, so that a slow spell of the
    machine falls on all of them alike rather than on one.

    Examples
    --------
    >>> seconds = best_seconds({"nothing": lambda: None, "sum": lambda: sum(range(100))}, 3)
    >>> sorted(seconds), all(s >= 0 for s in seconds.values())
    (['nothing', 'sum'], True)
    """
    times = {name: [] for name in candidates}
    for function in candidates.values():
        function()
    for _ in range(rounds):
        for name, function in candidates.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}
