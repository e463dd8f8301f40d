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

Every public function checks its input once, where it is called, and says
what it expected (``X must be a 2-D array of shape (N, d+1) ...``); the PLA
loop itself works on checked arrays and checks nothing.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from ._validate import real_number, whole_number


class PLANotConvergedWarning(UserWarning):
    """PLA stopped at its update limit with mistakes left (data not separable?)."""


# ------------------------------------------------------------- validation ---
# Small helpers shared by the functions below. Each returns the checked value
# as a float array (or a Python number) and raises a ValueError / TypeError
# that names what was expected.

_X_SHAPE = "(N, d+1) with x_0 = 1 in column 0 (one row per point; add_bias(X) adds that column)"


def _numbers(value, name: str, expected: str) -> np.ndarray:
    """``value`` as a float array, or a TypeError saying it must hold numbers."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {expected} of numbers, got {type(value).__name__}: {value!r:.80}") \
            from None
    return array


def _finite(array: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        where = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name} must contain finite numbers only, but {name}[{', '.join(map(str, where))}] "
                         f"is {array[tuple(where)]}")
    return array


def _check_X(X, *, min_points: int = 0) -> np.ndarray:
    """Bias-augmented data: a finite 2-D array of shape (N, d+1)."""
    X = _numbers(X, "X", "a 2-D array")
    if X.ndim != 2:
        one_point = " (for a single point x, pass [x])" if X.ndim == 1 else ""
        raise ValueError(f"X must be a 2-D array of shape {_X_SHAPE}, got shape {X.shape}{one_point}")
    if X.shape[0] < min_points:
        raise ValueError(f"X must hold at least {min_points} point(s), one per row, got shape {X.shape}")
    return _finite(X, "X")


def _check_w(w, d1: int | None = None, name: str = "w") -> np.ndarray:
    """Weights: a finite 1-D array (w_0, w_1, ..., w_d), of length ``d1`` when given."""
    w = _numbers(w, name, "a 1-D array")
    if d1 is None:
        if w.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array of weights (w_0, w_1, ..., w_d), got shape {w.shape}")
    elif w.shape != (d1,):
        hint = ""
        if w.ndim == 1 and w.size == d1 + 1:
            hint = "; X has one column fewer than w has weights: did you forget add_bias(X)?"
        elif w.ndim == 1 and w.size == d1 - 1:
            hint = "; w has one weight fewer than X has columns: w_0 (= -threshold) comes first"
        raise ValueError(f"{name} must be a 1-D array of length d+1 = {d1}, one weight per column of X "
                         f"(w_0 first), got shape {w.shape}{hint}")
    return _finite(w, name)


def _check_y(y, N: int) -> np.ndarray:
    """Labels: shape (N,), every entry +1 or -1 (ints or floats), returned as floats."""
    y = np.asarray(y)
    if y.dtype.kind not in "iuf":  # not bool: True == 1, but False is not -1
        raise TypeError(f"y must hold the labels +1 or -1 as numbers, got values of type {y.dtype}")
    if y.shape != (N,):
        raise ValueError(f"y must have shape (N,) = ({N},), one label per row of X, got shape {y.shape}")
    bad = ~np.isin(y, (-1, 1))
    if bad.any():
        values = ", ".join(f"{v:g}" for v in np.unique(y[bad].astype(float))[:5])
        raise ValueError(f"labels y must be +1 or -1, got {values} (at index {int(np.argmax(bad))})")
    return y.astype(float)


def _check_Xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Training data for PLA: at least one point, and one ±1 label per point."""
    X = _check_X(X, min_points=1)
    return X, _check_y(y, X.shape[0])


def _is_pm1(value) -> bool:
    """value is the number +1 or -1: not an array, a string, or a bool (True == 1, but False is not -1)."""
    if np.ndim(value) != 0 or isinstance(value, (str, bytes)) or np.asarray(value).dtype.kind == "b":
        return False
    return value in (-1, 1)


def _check_label(y, name: str = "y") -> float:
    """One label: the number +1 or -1."""
    if not _is_pm1(y):
        raise ValueError(f"{name} must be one label, +1 or -1, got {y!r}")
    return float(y)


def _check_whole_number(value, name: str, meaning: str) -> int:
    """A whole number >= 0 (an int, or a float such as 1e4 with no fraction); TypeError for a non-number."""
    return whole_number(name, value, meaning=meaning, wrong_type=TypeError)


def _check_seed(seed) -> int | None:
    if seed is None:
        return None
    return _check_whole_number(seed, "seed", "or None; it fixes the random cycle")


# ------------------------------------------------------------- hypothesis ---

def add_bias(X) -> np.ndarray:
    """Prepend the constant feature ``x_0 = 1`` to every row: (N, d) -> (N, d+1)."""
    X = _numbers(X, "X", "a 2-D array")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (N, d), one row per point, got shape {X.shape}")
    return np.hstack([np.ones((X.shape[0], 1)), X])


def predict(w, X) -> np.ndarray:
    """h(x) = sign(w^T x) for each bias-augmented row of X (0 on the line)."""
    X = _check_X(X)
    w = _check_w(w, X.shape[1])
    return np.sign(X @ w)


def mistakes(w, X, y) -> np.ndarray:
    """Indices n where sign(w^T x_n) != y_n (points on the line included)."""
    X = _check_X(X)
    w, y = _check_w(w, X.shape[1]), _check_y(y, X.shape[0])
    return np.flatnonzero(np.sign(X @ w) != y)


def count_mistakes(w, X, y) -> int:
    """How many n have sign(w^T x_n) != y_n (points on the line included)."""
    X = _check_X(X)
    w, y = _check_w(w, X.shape[1]), _check_y(y, X.shape[0])
    return _count_mistakes(w, X, y)


def _count_mistakes(w, X, y) -> int:
    """count_mistakes on checked arrays: what the pocket algorithm runs after every update."""
    return int(np.count_nonzero(np.sign(X @ w) != y))


def pla_update(w, x, y) -> np.ndarray:
    """One PLA correction, w_{t+1} = w_t + y_n x_n: it turns w towards x when
    y = +1 and away from it when y = -1."""
    w = _check_w(w)
    x = _numbers(x, "x", "a 1-D array")
    if x.shape != w.shape:
        raise ValueError(f"x must be one data point (1, x_1, ..., x_d), a 1-D array of the same length as w "
                         f"({w.size}), got shape {x.shape}")
    x = _finite(x, "x")
    y = _check_label(y)
    return w + y * x


def credit_score(w, x, threshold) -> int:
    """The slide's credit rule without the bias trick: sign(sum w_i x_i - threshold)."""
    w = _finite(_numbers(w, "w", "a 1-D array"), "w")
    x = _finite(_numbers(x, "x", "a 1-D array"), "x")
    if w.ndim != 1 or x.shape != w.shape:
        raise ValueError(f"w and x must be 1-D arrays of the same length d (one weight per feature), "
                         f"got w of shape {w.shape} and x of shape {x.shape}")
    threshold = real_number("threshold", threshold, meaning="the score a customer must pass")
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
    count_checks: int = 0  # how many points pocket's mistake counts have examined (N per w; 0 for plain PLA)


def cycle_order(N: int, cycle: str = "naive", seed: int | None = 0) -> np.ndarray:
    """The visiting order of cyclic PLA: naive (0, 1, ..., N-1) or a
    precomputed random permutation."""
    N = _check_whole_number(N, "N", "the number of points")
    seed = _check_seed(seed)
    if cycle == "naive":
        return np.arange(N)
    if cycle == "random":
        return np.random.default_rng(seed).permutation(N)
    raise ValueError(f"cycle must be 'naive' or 'random', got {cycle!r}")


def _checked_run(X, y, cycle, seed, max_updates, w0=None):
    """Check the arguments of a PLA run once: (X, y, visiting order, w_0, max_updates)."""
    X, y = _check_Xy(X, y)
    max_updates = _check_whole_number(max_updates, "max_updates", "the most updates PLA may make")
    order = cycle_order(X.shape[0], cycle, seed)
    w = np.zeros(X.shape[1]) if w0 is None else _check_w(w0, X.shape[1], name="w0").copy()
    return X, y, order, w, max_updates


def perceptron_trace(X, y, *, cycle: str = "naive", seed: int | None = 0, max_updates: int = 1000,
                     w0=None, track_mistakes: bool = True) -> Iterator[PerceptronState]:
    """Cyclic PLA with pocket weights, one state per update.

    Visits the points in ``cycle`` order, starting each search just after the
    last mistake, and corrects the first mistake it finds. Stops after a full
    cycle without mistakes (``converged``) or after ``max_updates`` updates.
    ``track_mistakes`` counts mistakes on all of the data after each update:
    the pocket algorithm needs that count, plain PLA does not.

    The arguments are checked when it is called (not when the first state is
    read), so bad input fails right here.
    """
    X, y, order, w, max_updates = _checked_run(X, y, cycle, seed, max_updates, w0)
    return _trace(X, y, order, w, max_updates, track_mistakes)


def _trace(X, y, order, w, max_updates: int, track_mistakes: bool) -> Iterator[PerceptronState]:
    """The PLA loop of :func:`perceptron_trace`, on checked arguments."""
    N = X.shape[0]
    Xo, yo = X[order], y[order]
    count = (lambda v: _count_mistakes(v, X, y)) if track_mistakes else (lambda v: -1)
    per_count = N if track_mistakes else 0  # a mistake count looks at all N points
    m = count(w)
    pocket_w, pocket_m = w.copy(), m
    state = PerceptronState(0, w, m, pocket_w, pocket_m, count_checks=per_count)
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
        state = PerceptronState(state.t + 1, w, m, pocket_w, pocket_m, n, w_before, update, checks=checks,
                                count_checks=state.count_checks + per_count)
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
    X, y, order, w, max_updates = _checked_run(X, y, cycle, seed, max_updates)
    for state in _trace(X, y, order, w, max_updates, track_mistakes=False):
        pass
    result = _finish(state, state.w, _count_mistakes(state.w, X, y), "PLA", max_updates)
    if not result.converged:
        warnings.warn(result.message, PLANotConvergedWarning, stacklevel=2)
    return result


def pocket(X, y, *, cycle: str = "random", seed: int | None = 0, max_updates: int = 1000) -> PLAResult:
    """The pocket algorithm: PLA that keeps the best weights seen ("in its pocket").

    It must count the mistakes of every new w on all N points, which makes each
    iteration O(N d) instead of PLA's O(d) check: slower, but it returns a sensible
    line on noisy data, where PLA would wander forever.
    """
    X, y, order, w, max_updates = _checked_run(X, y, cycle, seed, max_updates)
    for state in _trace(X, y, order, w, max_updates, track_mistakes=True):
        pass
    return _finish(state, state.pocket_w, state.pocket_mistakes, "Pocket", max_updates)


def novikoff_bound(X, y, w_f) -> float:
    """(R / rho)^2: at most this many PLA updates on data separated by w_f, where
    R = max ||x_n|| and rho = min y_n w_f^T x_n / ||w_f||."""
    X, y = _check_Xy(X, y)
    w_f = _check_w(w_f, X.shape[1], name="w_f")
    if not np.any(w_f):
        raise ValueError("w_f must not be the zero vector: it has no line, so it separates nothing")
    margins = y * (X @ w_f) / np.linalg.norm(w_f)
    rho = margins.min()
    if rho <= 0:
        raise ValueError("w_f does not separate the data (some y_n w_f^T x_n <= 0)")
    R = np.linalg.norm(X, axis=1).max()
    return float((R / rho) ** 2)


# ------------------------------------------------------ aggregating units ---

def _check_gate_inputs(name: str, inputs: tuple, n_inputs: int) -> None:
    """The inputs of a logic perceptron: exactly ``n_inputs`` values, each +1 (TRUE) or -1 (FALSE)."""
    names = ", ".join(f"g_{i}" for i in range(1, n_inputs + 1))
    if len(inputs) != n_inputs:
        raise TypeError(f"{name} takes {n_inputs} input(s) ({names}), each +1 (TRUE) or -1 (FALSE); "
                        f"got {len(inputs)}")
    for i, g in enumerate(inputs, start=1):
        if not _is_pm1(g):
            raise ValueError(f"{name}: every input must be +1 (TRUE) or -1 (FALSE), got g_{i} = {g!r}")


def perceptron_unit(w, name: str = "perceptron"):
    """A single perceptron g(x) = sign(w_0 + w_1 x_1 + ... ) on ±1 inputs."""
    w = _check_w(w)
    if w.size < 2:
        raise ValueError(f"w must hold w_0 and at least one input weight, got shape {w.shape}")
    n_inputs = w.size - 1

    def g(*inputs) -> int:
        _check_gate_inputs(name, inputs, n_inputs)
        return int(np.sign(w[0] + np.dot(w[1:], inputs)))

    g.__name__ = g.__qualname__ = name
    g.__doc__ = f"sign({w[0]:g} + {' + '.join(f'{wi:g} g_{i}' for i, wi in enumerate(w[1:], 1))}) on ±1 inputs."
    return g


# Weights (alpha_0, alpha_1, alpha_2) with g_0 = +1, on inputs in {-1, +1}.
AND_WEIGHTS = (-1.0, 1.0, 1.0)
OR_WEIGHTS = (1.0, 1.0, 1.0)
NOT_WEIGHTS = (0.0, -1.0)

logic_and = perceptron_unit(AND_WEIGHTS, name="logic_and")
logic_or = perceptron_unit(OR_WEIGHTS, name="logic_or")
logic_not = perceptron_unit(NOT_WEIGHTS, name="logic_not")


def logic_xor(g1: int, g2: int) -> int:
    """XOR is not linearly separable: one perceptron cannot do it, two layers can.
    XOR(g1, g2) = OR(AND(-g1, g2), AND(g1, -g2))."""
    _check_gate_inputs("logic_xor", (g1, g2), 2)
    return logic_or(logic_and(logic_not(g1), g2), logic_and(g1, logic_not(g2)))
