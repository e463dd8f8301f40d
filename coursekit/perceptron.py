"""The perceptron (感知器) and its learning algorithm (PLA), as in deck 000 unit 2.

Conventions, as on the slides:

* a data point is a "tall" vector ``x = (1, x_1, ..., x_d)``: the constant
  ``x_0 = 1`` lets the threshold live in the weights as ``w_0 = -threshold``;
* labels ``y`` are +1 (o) or -1 (x);
* ``h(x) = sign(w^T x)``; ``sign(0) = 0`` matches neither label, so a point
  *on* the line counts as a mistake. That is why PLA can start from ``w = 0``:
  every point is a mistake of the zero vector.

``perceptron_trace`` yields one :class:`PerceptronState` per update; ``pla``,
``pocket``, the notebook's plots and the PLA stepper widget all read it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np


class PLANotConvergedWarning(UserWarning):
    """PLA stopped at its update limit with mistakes left (data not separable?)."""


# ------------------------------------------------------------- hypothesis ---

def add_bias(X) -> np.ndarray:
    """Prepend the constant feature ``x_0 = 1`` to every row: (N, d) -> (N, d+1)."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (N, d), got shape {X.shape}")
    return np.hstack([np.ones((X.shape[0], 1)), X])


def predict(w, X) -> np.ndarray:
    """h(x) = sign(w^T x) for each bias-augmented row of X (0 on the line)."""
    return np.sign(np.asarray(X, dtype=float) @ np.asarray(w, dtype=float))


def mistakes(w, X, y) -> np.ndarray:
    """Indices n where sign(w^T x_n) != y_n (points on the line included)."""
    return np.flatnonzero(predict(w, X) != y)


def count_mistakes(w, X, y) -> int:
    return int(np.count_nonzero(predict(w, X) != y))


def pla_update(w, x, y) -> np.ndarray:
    """One PLA correction, w_{t+1} = w_t + y_n x_n: it turns w towards x when
    y = +1 and away from it when y = -1."""
    return np.asarray(w, dtype=float) + y * np.asarray(x, dtype=float)


def credit_score(w, x, threshold) -> int:
    """The slide's credit rule without the bias trick: sign(sum w_i x_i - threshold)."""
    return int(np.sign(np.dot(w, x) - threshold))


# -------------------------------------------------------------- the trace ---

@dataclass(frozen=True)
class PerceptronState:
    """One moment of PLA (or pocket).

    ``t`` updates have been made; ``w`` is w_t. For t > 0 the update that led
    here corrected point ``n`` with ``w_before + update`` (update = y_n x_n).
    ``pocket_w`` is the best weight vector seen so far (fewest mistakes).
    """

    t: int
    w: np.ndarray
    mistakes: int
    pocket_w: np.ndarray
    pocket_mistakes: int
    n: int | None = None
    w_before: np.ndarray | None = None
    update: np.ndarray | None = None
    halted: bool = False
    converged: bool = False
    checks: int = 0  # how many points have been examined so far (the cost of searching for mistakes)


def _validate(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be bias-augmented data of shape (N, d+1), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError("labels y must be +1 or -1")
    return X, y.astype(float)


def cycle_order(N: int, cycle: str = "naive", seed: int | None = 0) -> np.ndarray:
    """The visiting order of cyclic PLA: naive (0, 1, ..., N-1) or a
    precomputed random permutation."""
    if cycle == "naive":
        return np.arange(N)
    if cycle == "random":
        return np.random.default_rng(seed).permutation(N)
    raise ValueError(f"cycle must be 'naive' or 'random', got {cycle!r}")


def perceptron_trace(X, y, *, cycle: str = "naive", seed: int | None = 0, max_updates: int = 1000,
                     w0=None, track_mistakes: bool = True) -> Iterator[PerceptronState]:
    """Cyclic PLA with pocket weights, one state per update.

    Visits the points in ``cycle`` order, starting each search just after the
    last mistake, and corrects the first mistake it finds. Stops after a full
    cycle without mistakes (``converged``) or after ``max_updates`` updates.
    ``track_mistakes`` counts mistakes on all of the data after each update:
    the pocket algorithm needs that count, plain PLA does not.
    """
    X, y = _validate(X, y)
    N = X.shape[0]
    order = cycle_order(N, cycle, seed)
    Xo, yo = X[order], y[order]
    w = np.zeros(X.shape[1]) if w0 is None else np.asarray(w0, dtype=float).copy()
    count = (lambda v: count_mistakes(v, X, y)) if track_mistakes else (lambda v: -1)
    m = count(w)
    pocket_w, pocket_m = w.copy(), m
    state = PerceptronState(0, w, m, pocket_w, pocket_m)
    yield state
    position, checks = 0, 0
    while True:
        j, scanned = _next_mistake(Xo, yo, w, position)
        if j is None:  # a full cycle without mistakes
            yield replace(state, halted=True, converged=True, checks=checks + scanned)
            return
        if state.t >= max_updates:
            yield replace(state, halted=True, converged=False)
            return
        checks += scanned
        n = int(order[j])
        update = yo[j] * Xo[j]
        w_before, w = w, w + update
        m = count(w)
        if track_mistakes and m < pocket_m:
            pocket_w, pocket_m = w.copy(), m
        state = PerceptronState(state.t + 1, w, m, pocket_w, pocket_m, n, w_before, update, checks=checks)
        yield state
        position = (j + 1) % N


def _next_mistake(Xo, yo, w, position: int, chunk: int = 32):
    """Position of the next mistake at or after ``position`` (cyclically) and how
    many points were examined to find it; (None, N) after a clean full cycle.

    Looks at growing slices instead of one point at a time: the same answer as
    the slide's loop, at NumPy speed.
    """
    N = len(yo)
    scanned = 0
    while scanned < N:
        start = (position + scanned) % N
        size = min(chunk, N - scanned, N - start)
        wrong = np.sign(Xo[start:start + size] @ w) != yo[start:start + size]
        if wrong.any():
            k = int(np.argmax(wrong))
            return start + k, scanned + k + 1
        scanned += size
        chunk *= 2
    return None, N


@dataclass
class PLAResult:
    w: np.ndarray
    updates: int
    converged: bool
    mistakes: int
    message: str


def _finish(state: PerceptronState, w, mistakes: int, what: str, max_updates: int) -> PLAResult:
    if state.converged:
        message = f"{what} halted after {state.t} updates with no mistakes."
    else:
        message = (f"{what} stopped at its limit of {max_updates} updates with {mistakes} mistake(s) left: "
                   "the data may not be linearly separable.")
    return PLAResult(np.asarray(w), state.t, state.converged, mistakes, message)


def pla(X, y, *, cycle: str = "naive", seed: int | None = 0, max_updates: int = 1000) -> PLAResult:
    """Run cyclic PLA to the end and return w_PLA (the last weights).

    On data that is not linearly separable PLA never halts by itself; it then
    stops at ``max_updates``, warns, and says so in ``result.message``.
    """
    state = None
    for state in perceptron_trace(X, y, cycle=cycle, seed=seed, max_updates=max_updates, track_mistakes=False):
        pass
    X, y = _validate(X, y)
    result = _finish(state, state.w, count_mistakes(state.w, X, y), "PLA", max_updates)
    if not result.converged:
        warnings.warn(result.message, PLANotConvergedWarning, stacklevel=2)
    return result


def pocket(X, y, *, cycle: str = "random", seed: int | None = 0, max_updates: int = 1000) -> PLAResult:
    """The pocket algorithm: PLA that keeps the best weights seen ("in its pocket").

    It must count the mistakes of every new w on all N points, which makes each
    iteration O(N d) instead of PLA's O(d) check: slower, but it returns a sensible
    line on noisy data, where PLA would wander forever.
    """
    state = None
    for state in perceptron_trace(X, y, cycle=cycle, seed=seed, max_updates=max_updates):
        pass
    return _finish(state, state.pocket_w, state.pocket_mistakes, "Pocket", max_updates)


def novikoff_bound(X, y, w_f) -> float:
    """(R / rho)^2: at most this many PLA updates on data separated by w_f, where
    R = max ||x_n|| and rho = min y_n w_f^T x_n / ||w_f||."""
    X, y = _validate(X, y)
    w_f = np.asarray(w_f, dtype=float)
    margins = y * (X @ w_f) / np.linalg.norm(w_f)
    rho = margins.min()
    if rho <= 0:
        raise ValueError("w_f does not separate the data (some y_n w_f^T x_n <= 0)")
    R = np.linalg.norm(X, axis=1).max()
    return float((R / rho) ** 2)


# ------------------------------------------------------ aggregating units ---

def perceptron_unit(w):
    """A single perceptron g(x) = sign(w_0 + w_1 x_1 + ... ) on ±1 inputs."""
    w = np.asarray(w, dtype=float)
    return lambda *inputs: int(np.sign(w[0] + np.dot(w[1:], inputs)))


# Weights (alpha_0, alpha_1, alpha_2) with g_0 = +1, on inputs in {-1, +1}.
AND_WEIGHTS = (-1.0, 1.0, 1.0)
OR_WEIGHTS = (1.0, 1.0, 1.0)
NOT_WEIGHTS = (0.0, -1.0)

logic_and = perceptron_unit(AND_WEIGHTS)
logic_or = perceptron_unit(OR_WEIGHTS)
logic_not = perceptron_unit(NOT_WEIGHTS)


def logic_xor(g1: int, g2: int) -> int:
    """XOR is not linearly separable: one perceptron cannot do it, two layers can.
    XOR(g1, g2) = OR(AND(-g1, g2), AND(g1, -g2))."""
    return logic_or(logic_and(logic_not(g1), g2), logic_and(g1, logic_not(g2)))
