"""Gradient descent (梯度下降) and its descendants, one small stateful object per rule.

Decks 000 unit 2, 003 and 002 W04. Every optimizer is a step-at-a-time
object over NumPy arrays::

    opt = Adam(eta=0.1)
    theta = opt.step(theta, grad)      # one update; opt keeps its own state (v, G, m, ...)

and :func:`optimize` drives one over a problem (full batch, SGD or mini-batch),
recording an :class:`OptimState` per step: the *trace* that the tests, the
notebook's plots and the gradient-descent explorer widget all read.

The rules (θ the parameters, g = ∇C(θ) the gradient, η the learning rate, 學習率 in deck 004):

* ``GD``        θ ← θ - η_t g, with η_t = η (fixed) or η/√(t+1) (``decay="sqrt"``;
                deck 003 calls it a "1/t decay", but η_t falls like 1/√t);
                ``normalized=True`` gives deck 000's θ ← θ - η g/‖g‖.
* ``Momentum``  v ← αv + g,  θ ← θ - ηv                      (PyTorch's SGD momentum)
* ``Adagrad``   G ← G + g²,  θ ← θ - η g / (√G + ε)           (PyTorch's Adagrad)
* ``RMSProp``   s ← ρs + (1-ρ)g²,  θ ← θ - η g / (√s + ε)     (PyTorch's RMSprop)
* ``Adam``      m ← β₁m + (1-β₁)g,  s ← β₂s + (1-β₂)g²,
                θ ← θ - η m̂ / (√ŝ + ε),  m̂ = m/(1-β₁ᵗ), ŝ = s/(1-β₂ᵗ)

Where a deck writes a rule differently, the standard rule is the default and
the deck's version is available by name (``variant=...``), so the notebook can
run both side by side:

* momentum, deck 003 (``"deck003"``): movement m ← λm - η g, θ ← θ + m; the
  same θ as the standard rule for a fixed η (m = -ηv);
* momentum, deck 002 (``"deck002"``): v ← αg + (1-α)v, θ ← θ - ηv weights the
  *new* gradient by α (an exponential average, not PyTorch's v ← μv + g);
* momentum, deck 000 (``"deck000"``): ω ← ω - η∂E/∂ω + αω - ληω adds a
  multiple of the *weight itself*, not of the previous update;
* Adagrad, deck 003 (``"deck003"``): η_t/σ_t with η_t = η/√(t+1) and σ_t the
  root mean square of past gradients, ε added to σ_t; algebraically the
  standard rule, ε aside. ``"deck003_printed"`` uses the slide's σ⁰ = g⁰
  literally (correct: σ⁰ = |g⁰|), so a negative first gradient steps uphill;
* Adagrad, deck 002 (``"deck002"``): ε inside the root, η g/√(ε + G);
* weight decay (權重衰減), deck 004 (``weight_decay_variant="deck004"``):
  w ← (1-λ)(w - η∂L/∂w) (the slide's 0.99 for λ = 0.01) instead of the
  standard w ← (1-ηλ)w - η∂L/∂w.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ._validate import one_of, real_number, whole_number

__all__ = [
    "Optimizer", "GD", "Momentum", "Adagrad", "RMSProp", "Adam", "OPTIMIZERS", "make_optimizer",
    "sqrt_decay", "gd_step", "momentum_step", "iterations_per_epoch", "batch_schedule",
    "Problem", "LeastSquares", "Function1D", "LogisticProblem", "regression_20_problem", "double_well",
    "least_squares_solution", "least_squares_gradient", "least_squares_gd_step",
    "OptimState", "optim_trace", "optimize", "taylor_sin", "taylor_sin_coefficients", "DIVERGED_LOSS",
    "DIVERGED_GROWTH", "DIVERGED_RISING", "divergence_limit",
]

# When a run counts as "diverged" (see optim_trace): its loss is inf / nan, or above
# DIVERGED_LOSS (an absolute guard, far before float64 overflows), or above
# DIVERGED_GROWTH times the run's loss scale max(|C(θ⁰)|, problem.loss_scale).
# Why a relative bound, and why 100: just above the stability limit 2/λ_max the loss
# only grows by a factor (1 - ηλ_max)² per step (1.047 at η = 0.032 on the 20-point
# set), so it needs thousands of steps to reach 1e10 although the run is plainly
# diverging; it crosses 100× its start after about 100 steps. Converging runs stay far
# below: fixed-rate GD below the limit never raises a convex loss above its start, and
# momentum / Adagrad / Adam overshoot by far less (on C(w, b), even Adam and Adagrad at
# η = 3.16, started at the minimum, peak at about 13× the loss scale before settling).
# problem.loss_scale (the loss of the trivial model θ = 0 for least squares) keeps a
# start at the minimum, where C(θ⁰) is tiny, from turning any small overshoot into "diverged".
# The relative bound counts only while the loss is still rising, at each of the last
# DIVERGED_RISING steps: a run that jumps far out and then finds its way back (RMSProp
# with η ≳ 0.5, whose first step is about 10η long) is not called diverged. A scan of
# every optimizer at every slider η from several starts, 2000 steps long, found no run
# flagged this way that did not in fact run away.
DIVERGED_LOSS = 1e10
DIVERGED_GROWTH = 100.0
DIVERGED_RISING = 5


# ------------------------------------------------------------- validation ---

def _positive(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def _fraction(name: str, value, *, allow_one: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}") from None
    if not (0.0 <= value < 1.0 or (allow_one and value == 1.0)):
        raise ValueError(f"{name} must be a number in [0, 1{']' if allow_one else ')'}, got {value!r}")
    return value


def _vector(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)  # no copy for float64 input: every update builds new arrays
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of parameters, shape (P,), got shape {arr.shape}")
    return arr


def _params_and_grad(params, grad):
    params, grad = _vector("params", params), _vector("grad", grad)
    if params.shape != grad.shape:
        raise ValueError(f"grad must have the shape of params {params.shape}, got shape {grad.shape}")
    return params, grad


# ------------------------------------------------------ learning-rate rules ---

def sqrt_decay(eta: float, t) -> float | np.ndarray:
    """η_t = η / √(t+1) (t = 0, 1, 2, ... counts updates).

    Deck 003 calls this a "1/t decay"; it is a 1/√t decay. A true 1/t decay, η/(t+1),
    falls much faster: after 100 updates it gives η/100, where η/√(t+1) gives η/10.
    """
    t_arr = np.asarray(t, dtype=float)
    if np.any(t_arr < 0):
        raise ValueError(f"t must be a non-negative step count, got {t!r}")
    out = eta / np.sqrt(t_arr + 1.0)
    return float(out) if out.ndim == 0 else out


def gd_step(params, grad, eta: float) -> np.ndarray:
    """One fixed-learning-rate step, θ ← θ - η g."""
    params, grad = _params_and_grad(params, grad)
    return params - eta * grad


def momentum_step(theta, m, grad, eta: float, lam: float):
    """Deck 003's momentum as a movement: m ← λm - η∇C(θ), then θ ← θ + m.

    Returns ``(theta_new, m_new)``. The movement remembers the previous step,
    so steps grow along directions where the gradient keeps its sign.
    """
    theta, grad = _params_and_grad(theta, grad)
    m = _vector("m", m)
    if m.shape != theta.shape:
        raise ValueError(f"m (the movement) must have the shape of theta {theta.shape}, got shape {m.shape}")
    m_new = lam * m - eta * grad
    return theta + m_new, m_new


# ------------------------------------------------------------- optimizers ---

class Optimizer:
    """Base class: a learning rate η, a step counter ``t`` and per-parameter state.

    ``step(params, grad)`` returns the new parameters (a new array) and
    advances ``t``; ``reset()`` forgets the state. ``lr(t)`` is the learning
    rate used at update t (0-based).
    """

    name = "optimizer"

    def __init__(self, eta: float):
        self.eta = _positive("eta", eta)
        self.t = 0

    def lr(self, t: int | None = None) -> float:
        return self.eta

    def reset(self) -> None:
        self.t = 0
        self._reset_state()

    def _reset_state(self) -> None:
        pass

    def step(self, params, grad) -> np.ndarray:
        params, grad = _params_and_grad(params, grad)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is a result, not an error
            new = self._update(params, grad)
        self.t += 1
        return new

    def _update(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(eta={self.eta:g})"


class GD(Optimizer):
    """Gradient descent: θ ← θ - η_t g.

    ``decay=None`` keeps η fixed; ``decay="sqrt"`` uses η_t = η/√(t+1).
    ``normalized=True`` is deck 000's first form, θ ← θ - η g/‖g‖ (a step of
    length exactly η). ``weight_decay=λ`` adds L2 shrinkage:
    ``"standard"``: θ ← (1-ηλ)θ - ηg (PyTorch's SGD weight_decay);
    ``"deck004"``: θ ← (1-λ)(θ - ηg), deck 004's w ← 0.99(w - η∂L/∂w).
    """

    name = "gd"

    def __init__(self, eta: float = 0.01, decay: str | None = None, normalized: bool = False,
                 weight_decay: float = 0.0, weight_decay_variant: str = "standard"):
        super().__init__(eta)
        self.decay = one_of("decay", decay, (None, "sqrt"))
        self.normalized = bool(normalized)
        self.weight_decay = _fraction("weight_decay", weight_decay)
        self.weight_decay_variant = one_of("weight_decay_variant", weight_decay_variant, ("standard", "deck004"))

    def lr(self, t: int | None = None) -> float:
        t = self.t if t is None else t
        return sqrt_decay(self.eta, t) if self.decay == "sqrt" else self.eta

    def _update(self, params, grad):
        eta_t, lam = self.lr(), self.weight_decay
        direction = grad
        if self.normalized:
            norm = np.linalg.norm(grad)
            direction = grad / norm if norm > 0 else np.zeros_like(grad)
        if self.weight_decay_variant == "deck004":
            return (1.0 - lam) * (params - eta_t * direction)
        return (1.0 - eta_t * lam) * params - eta_t * direction


class Momentum(Optimizer):
    """Gradient descent with momentum (動量).

    ``variant="standard"`` (PyTorch ``SGD(momentum=alpha)``): v ← αv + g, θ ← θ - ηv.
    ``"deck003"``: movement m ← αm - ηg, θ ← θ + m (same θ for a fixed η).
    ``"deck002"``: v ← αg + (1-α)v, θ ← θ - ηv.
    ``"deck000"``: θ ← θ - ηg + αθ - ληθ (uses the weight, with weight decay λ).
    ``weight_decay=λ`` (standard, deck003, deck002): g ← g + λθ first, as PyTorch does.
    """

    name = "momentum"
    variants = ("standard", "deck003", "deck002", "deck000")

    def __init__(self, eta: float = 0.01, alpha: float = 0.9, variant: str = "standard",
                 weight_decay: float = 0.0):
        super().__init__(eta)
        self.alpha = _fraction("alpha", alpha, allow_one=(variant == "deck002"))
        self.variant = one_of("variant", variant, self.variants)
        self.weight_decay = _fraction("weight_decay", weight_decay)
        self.v: np.ndarray | None = None

    def _reset_state(self):
        self.v = None

    def _update(self, params, grad):
        eta, alpha, lam = self.eta, self.alpha, self.weight_decay
        if self.variant == "deck000":  # the weight itself plays the role of the previous update
            return params - eta * grad + alpha * params - lam * eta * params
        grad = grad + lam * params
        v = np.zeros_like(params) if self.v is None else self.v
        if self.variant == "standard":
            self.v = alpha * v + grad
            return params - eta * self.v
        if self.variant == "deck003":
            self.v = alpha * v - eta * grad
            return params + self.v
        self.v = alpha * grad + (1.0 - alpha) * v  # deck002
        return params - eta * self.v


class Adagrad(Optimizer):
    """Adagrad: each parameter's step divided by the root of its summed squared gradients.

    ``"standard"`` (PyTorch): G ← G + g², θ ← θ - η g/(√G + ε).
    ``"deck003"``: θ ← θ - (η_t/(σ_t + ε)) g with η_t = η/√(t+1), σ_t = √(G/(t+1)).
    ``"deck003_printed"``: as deck003 but σ⁰ = g⁰ as the slide prints (sign kept).
    ``"deck002"``: θ ← θ - η g/√(ε + G).
    """

    name = "adagrad"
    variants = ("standard", "deck003", "deck003_printed", "deck002")

    def __init__(self, eta: float = 0.1, eps: float = 1e-10, variant: str = "standard"):
        super().__init__(eta)
        self.eps = _positive("eps", eps)
        self.variant = one_of("variant", variant, self.variants)
        self.G: np.ndarray | None = None

    def _reset_state(self):
        self.G = None

    def _update(self, params, grad):
        self.G = (np.zeros_like(params) if self.G is None else self.G) + grad * grad
        if self.variant == "standard":
            return params - self.eta * grad / (np.sqrt(self.G) + self.eps)
        if self.variant == "deck002":
            return params - self.eta * grad / np.sqrt(self.eps + self.G)
        eta_t = sqrt_decay(self.eta, self.t)
        sigma = np.sqrt(self.G / (self.t + 1))
        if self.variant == "deck003_printed" and self.t == 0:
            sigma = grad.copy()  # the slide's σ⁰ = g⁰: wrong sign when g⁰ < 0
        return params - eta_t / (sigma + self.eps) * grad


class RMSProp(Optimizer):
    """RMSProp: s ← ρs + (1-ρ)g², θ ← θ - η g/(√s + ε) (PyTorch's RMSprop, alpha = ρ)."""

    name = "rmsprop"

    def __init__(self, eta: float = 0.01, rho: float = 0.99, eps: float = 1e-8):
        super().__init__(eta)
        self.rho = _fraction("rho", rho)
        self.eps = _positive("eps", eps)
        self.s: np.ndarray | None = None

    def _reset_state(self):
        self.s = None

    def _update(self, params, grad):
        s = np.zeros_like(params) if self.s is None else self.s
        self.s = self.rho * s + (1.0 - self.rho) * grad * grad
        return params - self.eta * grad / (np.sqrt(self.s) + self.eps)


class Adam(Optimizer):
    """Adam: momentum on g (m) and RMSProp on g² (s), both bias-corrected."""

    name = "adam"

    def __init__(self, eta: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(eta)
        self.beta1, self.beta2 = _fraction("beta1", beta1), _fraction("beta2", beta2)
        self.eps = _positive("eps", eps)
        self.m: np.ndarray | None = None
        self.s: np.ndarray | None = None

    def _reset_state(self):
        self.m = self.s = None

    def _update(self, params, grad):
        b1, b2, t = self.beta1, self.beta2, self.t + 1
        self.m = b1 * (np.zeros_like(params) if self.m is None else self.m) + (1 - b1) * grad
        self.s = b2 * (np.zeros_like(params) if self.s is None else self.s) + (1 - b2) * grad * grad
        m_hat = self.m / (1 - b1 ** t)  # early averages start at 0: undo that bias
        s_hat = self.s / (1 - b2 ** t)
        return params - self.eta * m_hat / (np.sqrt(s_hat) + self.eps)


OPTIMIZERS: dict[str, str] = {
    "gd": "gradient descent (full batch)",
    "sgd": "stochastic gradient descent (one example per step)",
    "minibatch": "mini-batch gradient descent",
    "momentum": "momentum",
    "adagrad": "Adagrad",
    "rmsprop": "RMSProp",
    "adam": "Adam",
}


def make_optimizer(name: str, eta: float, **options) -> Optimizer:
    """The optimizer behind a name of :data:`OPTIMIZERS` ("sgd" and "minibatch"
    are plain GD steps; what makes them stochastic is the batch size given to
    :func:`optimize`)."""
    name = one_of("name", name, tuple(OPTIMIZERS))
    cls = {"gd": GD, "sgd": GD, "minibatch": GD, "momentum": Momentum, "adagrad": Adagrad,
           "rmsprop": RMSProp, "adam": Adam}[name]
    return cls(eta, **options)


# ------------------------------------------------------- batches and epochs ---

def iterations_per_epoch(N: int, batch_size: int) -> int:
    """Updates in one epoch (one pass over all N examples): ⌈N / B⌉."""
    for name, value in (("N", N), ("batch_size", batch_size)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return -(-int(N) // int(batch_size))


def batch_schedule(N: int, batch_size: int, seed: int = 0, shuffle: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """Endless ``(epoch, indices)`` pairs: each epoch visits every example once,
    in a fresh seeded random order (or 0..N-1 with ``shuffle=False``), cut into
    ⌈N/B⌉ batches; the last one is smaller when B does not divide N."""
    per_epoch = iterations_per_epoch(N, batch_size)
    rng = np.random.default_rng(seed)
    epoch = 0
    while True:
        order = rng.permutation(N) if shuffle else np.arange(N)
        for i in range(per_epoch):
            yield epoch, order[i * batch_size:(i + 1) * batch_size]
        epoch += 1


# --------------------------------------------------------------- problems ---

class Problem:
    """What an optimizer minimizes: ``loss(params, idx)`` and ``grad(params, idx)``.

    ``idx`` selects examples (a mini-batch); ``None`` means all of them.
    ``n_examples`` is None for a plain function (no data: no SGD).
    """

    n_examples: int | None = None
    dim: int = 0
    name = "problem"
    #: a typical size of the loss, in the loss's own units: the floor of the scale
    #: against which :func:`optim_trace` judges growth (see ``DIVERGED_GROWTH``)
    loss_scale: float = 1.0

    def loss(self, params, idx=None) -> float:  # pragma: no cover
        raise NotImplementedError

    def grad(self, params, idx=None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class LeastSquares(Problem):
    """C(w, b) = (1/N) Σ (w xₙ + b - yₙ)² for params = (w, b): a line through 1-D data."""

    dim = 2
    name = "C(w, b)"

    def __init__(self, x, y):
        self.x, self.y = _vector("x", x), _vector("y", y)
        if self.x.shape != self.y.shape:
            raise ValueError(f"x and y must have the same shape (N,), got {self.x.shape} and {self.y.shape}")
        self.n_examples = self.x.size
        # C(0, 0) = mean(y²): the loss of the trivial line y = 0 (1 if all y are 0)
        self.loss_scale = float(np.mean(self.y ** 2)) or 1.0

    def _residual(self, params, idx):
        params = _vector("params", params)
        if params.shape != (2,):
            raise ValueError(f"params must be (w, b), shape (2,), got shape {params.shape}")
        x, y = (self.x, self.y) if idx is None else (self.x[idx], self.y[idx])
        return params[0] * x + params[1] - y, x

    def loss(self, params, idx=None) -> float:
        r, _ = self._residual(params, idx)
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.mean(r * r))

    def grad(self, params, idx=None) -> np.ndarray:
        r, x = self._residual(params, idx)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.array([2 * np.mean(r * x), 2 * np.mean(r)])


def regression_20_problem() -> LeastSquares:
    """C(w, b) on deck 003's 20-point set (from :func:`coursekit.datasets.regression_20`)."""
    from . import datasets

    return LeastSquares(*datasets.regression_20())


class Function1D(Problem):
    """A function of one parameter, f(θ), with its derivative f'(θ).

    ``loss_scale``: a typical size of f's values where its minima lie (the floor of
    the scale against which a run's growth is judged, see ``DIVERGED_GROWTH``).
    """

    dim = 1

    def __init__(self, f: Callable, df: Callable, name: str = "f(θ)", loss_scale: float = 1.0):
        self.f, self.df, self.name = f, df, name
        self.loss_scale = _positive("loss_scale", loss_scale)

    def loss(self, params, idx=None) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(self.f(_vector("params", params)[0]))

    def grad(self, params, idx=None) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return np.array([float(self.df(_vector("params", params)[0]))])


def double_well() -> Function1D:
    """f(θ) = θ⁴ - 2θ² + θ/2: a deep valley near θ ≈ -1.06 and a shallower one near
    θ ≈ 0.93, so where GD ends up depends on where it starts (local minima)."""
    # loss scale 10: on [-2.2, 2.2], the range that holds both valleys, f spans about -1.5 to 15
    return Function1D(lambda t: t ** 4 - 2 * t ** 2 + 0.5 * t, lambda t: 4 * t ** 3 - 4 * t + 0.5,
                      "f(θ) = θ⁴ - 2θ² + θ/2", loss_scale=10.0)


class LogisticProblem(Problem):
    """Cross-entropy error E_in(w) of logistic regression on bias-augmented rows X."""

    name = "E_in(w)"

    def __init__(self, X, y):
        from . import linear

        self._linear = linear
        self.X = np.asarray(X, dtype=float)
        self.y = np.asarray(y, dtype=float)
        if self.X.ndim != 2:
            raise ValueError(f"X must be a 2-D array of shape (N, d+1), got shape {self.X.shape}")
        # validates y too; E_in(0) = ln 2 is the loss of the trivial model θ(0) = 1/2
        self.loss_scale = linear.logistic_error(np.zeros(self.X.shape[1]), self.X, self.y)
        self.n_examples, self.dim = self.X.shape

    def loss(self, params, idx=None) -> float:
        X, y = (self.X, self.y) if idx is None else (self.X[idx], self.y[idx])
        return self._linear.logistic_error(params, X, y)

    def grad(self, params, idx=None) -> np.ndarray:
        X, y = (self.X, self.y) if idx is None else (self.X[idx], self.y[idx])
        return self._linear.logistic_gradient(params, X, y)


def least_squares_solution(x, y) -> np.ndarray:
    """The minimizer (w*, b*) of C(w, b): w* = cov(x, y)/var(x), b* = ȳ - w* x̄."""
    x, y = _vector("x", x), _vector("y", y)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must have the same shape (N,) with N >= 2, got {x.shape} and {y.shape}")
    dx = x - x.mean()
    w = float(dx @ (y - y.mean()) / (dx @ dx))
    return np.array([w, float(y.mean() - w * x.mean())])


def least_squares_gradient(params, x, y) -> np.ndarray:
    """∇C(w, b) = ((2/N) Σ (w xₙ + b - yₙ) xₙ,  (2/N) Σ (w xₙ + b - yₙ))."""
    return LeastSquares(x, y).grad(params)


def least_squares_gd_step(params, x, y, eta: float) -> np.ndarray:
    """One full-batch GD step on C(w, b): (w, b) ← (w, b) - η ∇C(w, b)."""
    return gd_step(params, least_squares_gradient(params, x, y), eta)


# -------------------------------------------------------------- the trace ---

@dataclass(frozen=True)
class OptimState:
    """One moment of a run.

    ``step`` updates have been made; ``params`` is θ after them and ``loss``
    the full-data loss C(θ). ``grad`` is the gradient computed *at* θ that
    drives the next update (on ``batch``, the example indices of the next
    update; ``None`` means all examples); ``eta`` is the learning rate of the
    next update. ``diverged`` marks the state where the loss left every
    sensible bound: the run stops there.
    """

    step: int
    params: np.ndarray
    loss: float
    grad: np.ndarray
    eta: float
    epoch: int = 0
    batch: np.ndarray | None = None
    diverged: bool = False


def _is_diverged(params, loss, limit) -> bool:
    return not (np.all(np.isfinite(params)) and math.isfinite(loss) and loss <= limit)


def _rising(losses: list[float]) -> bool:
    """The loss went up at each of the last DIVERGED_RISING steps."""
    return len(losses) > DIVERGED_RISING and all(a < b for a, b in zip(losses, losses[1:]))


def divergence_limit(problem: Problem, loss0: float, max_loss: float = DIVERGED_LOSS,
                     max_growth: float | None = DIVERGED_GROWTH) -> float:
    """The loss above which a run that started at loss ``loss0`` counts as diverged:
    ``min(max_loss, max_growth · max(|loss0|, problem.loss_scale))`` (see ``DIVERGED_GROWTH``).
    ``max_growth=None`` keeps only the absolute bound."""
    if max_growth is None or not math.isfinite(loss0):
        return max_loss
    return min(max_loss, max_growth * max(abs(loss0), problem.loss_scale))


def optim_trace(problem: Problem, optimizer: Optimizer, params0, steps: int, batch_size: int | None = None,
                seed: int = 0, shuffle: bool = True, max_loss: float = DIVERGED_LOSS,
                max_growth: float | None = DIVERGED_GROWTH) -> Iterator[OptimState]:
    """Run ``optimizer`` on ``problem`` from ``params0`` for ``steps`` updates, yielding
    ``steps + 1`` states (fewer when the run diverges: the diverged state is the last).

    ``batch_size=None``: full-batch gradients (GD). ``batch_size=1``: SGD.
    Otherwise mini-batches of ``batch_size`` from :func:`batch_schedule`
    (seeded, every example once per epoch). The optimizer is reset first.

    A run diverges when its loss becomes inf / nan, exceeds ``max_loss``, or
    exceeds ``max_growth`` times its scale max(|C(θ⁰)|, ``problem.loss_scale``)
    (:func:`divergence_limit`) while rising at each of its last ``DIVERGED_RISING``
    steps. ``max_growth=None`` turns the relative bound off.
    """
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if max_growth is not None:  # inf is allowed: it turns the relative bound off, like None
        max_growth = real_number("max_growth", max_growth, 1, low_open=True, meaning="or None", finite=False)
    params = _vector("params0", params0)
    if problem.dim and params.shape != (problem.dim,):
        raise ValueError(f"params0 must have shape ({problem.dim},) for {problem.name}, got shape {params.shape}")
    if batch_size is not None and problem.n_examples is None:
        raise ValueError(f"{problem.name} is a plain function with no examples: use batch_size=None")
    optimizer.reset()
    batches = (batch_schedule(problem.n_examples, min(int(batch_size), problem.n_examples), seed, shuffle)
               if batch_size is not None else None)
    epoch, idx = (0, None) if batches is None else next(batches)
    limit = max_loss
    recent: list[float] = []  # the last DIVERGED_RISING + 1 losses
    for t in range(int(steps) + 1):
        loss = problem.loss(params)
        if t == 0:
            limit = divergence_limit(problem, loss, max_loss, max_growth)
        recent = (recent + [loss])[-(DIVERGED_RISING + 1):]
        if _is_diverged(params, loss, max_loss) or (loss > limit and _rising(recent)):
            yield OptimState(t, params, loss, np.full_like(params, np.nan), optimizer.lr(t),
                             epoch if batches is not None else t, None, True)
            return
        last = t == steps
        grad = problem.grad(params, None if last else idx)
        yield OptimState(t, params, loss, grad, optimizer.lr(t), epoch if batches is not None else t,
                         None if last else idx)
        if last:
            return
        params = optimizer.step(params, grad)
        if batches is not None:
            epoch, idx = next(batches)


def optimize(problem: Problem, optimizer: Optimizer, params0, steps: int, **options) -> list[OptimState]:
    """The whole trace of :func:`optim_trace` as a list."""
    return list(optim_trace(problem, optimizer, params0, steps, **options))


# ------------------------------------------------------------ Taylor demo ---

def taylor_sin_coefficients(order: int, x0: float = math.pi / 4) -> np.ndarray:
    """The coefficients c_k = sin⁽ᵏ⁾(x0)/k!, k = 0..order, of the Taylor series of sin around x0.

    The derivatives cycle sin, cos, -sin, -cos. Around x0 = π/4 every derivative is
    ±1/√2, so c_k = ±1/(k!·√2) with the sign pattern +, +, -, -, ... (deck 003's slide).
    """
    order = whole_number("order", order, noun="integer")
    cycle = (math.sin(x0), math.cos(x0), -math.sin(x0), -math.cos(x0))
    return np.array([cycle[k % 4] / math.factorial(k) for k in range(order + 1)])


def taylor_sin(x, order: int, x0: float = math.pi / 4):
    """The Taylor polynomial of sin of the given order around x0 (deck 003):
    Σ_{k=0}^{order} c_k (x - x0)ᵏ with c_k from :func:`taylor_sin_coefficients`."""
    coefficients = taylor_sin_coefficients(order, x0)
    x = np.asarray(x, dtype=float)
    total = np.zeros_like(x)
    for k, c in enumerate(coefficients):
        total = total + c * (x - x0) ** k
    return float(total) if total.ndim == 0 else total
