"""PLA throughput: updates per second on a 10,000-point separable set."""
from __future__ import annotations

import time

import numpy as np

from coursekit import perceptron as P

from . import Row


def separable(n: int, margin: float, seed: int):
    rng = np.random.default_rng(seed)
    w_f = np.array([0.05, 0.6, -0.8])
    X = P.add_bias(rng.uniform(-1, 1, size=(3 * n, 2)))
    X = X[np.abs(X @ w_f) >= margin][:n]
    return X, np.sign(X @ w_f)


def run() -> list[Row]:
    X, y = separable(10_000, 0.002, seed=0)
    best = None
    for _ in range(3):
        start = time.perf_counter()
        result = P.pla(X, y, max_updates=1_000_000)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    rate = result.updates / best
    return [Row("perceptron", "PLA updates per second (N = 10,000, d = 2)", rate, "1/s",
                note=f"{result.updates} updates to convergence in {best:.3f} s")]
