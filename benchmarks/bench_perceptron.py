"""PLA throughput: updates per second on a 10,000-point separable set.

One PLA run on a comfortable margin takes a few hundred updates and about
10 ms, too little to time reliably. So the set has a small margin (PLA needs
several thousand updates to converge) and the run is repeated until at least
``MIN_SECONDS`` have been timed; the rate is all updates over all that time.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from coursekit import perceptron as P

from . import Row

N_POINTS = 10_000
MARGIN = 0.0005  # seed 0: about 4,700 updates to convergence
MIN_SECONDS = 0.5
MIN_RUNS = 3


def separable(n: int, margin: float, seed: int):
    rng = np.random.default_rng(seed)
    w_f = np.array([0.05, 0.6, -0.8])
    X = P.add_bias(rng.uniform(-1, 1, size=(3 * n, 2)))
    X = X[np.abs(X @ w_f) >= margin][:n]
    return X, np.sign(X @ w_f)


def run() -> list[Row]:
    X, y = separable(N_POINTS, MARGIN, seed=0)
    P.pla(X, y, max_updates=1_000_000)  # warm-up
    seconds, updates = [], 0
    while sum(seconds) < MIN_SECONDS or len(seconds) < MIN_RUNS:
        start = time.perf_counter()
        result = P.pla(X, y, max_updates=1_000_000)
        seconds.append(time.perf_counter() - start)
        updates += result.updates
    if not result.converged:
        raise RuntimeError(f"the benchmark set should be separable: {result.message}")
    rate = updates / sum(seconds)
    return [Row("perceptron", f"PLA updates per second (N = {N_POINTS:,}, d = 2)", rate, "1/s",
                note=f"{len(seconds)} runs of {result.updates} updates to convergence in {sum(seconds):.2f} s "
                     f"(median run {statistics.median(seconds) * 1000:.0f} ms)")]
