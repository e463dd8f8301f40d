"""Weight initialization (權重初始化): why not all equal, Xavier and He (decks 002, 003, 004).

Weights follow the row convention of the course's code, h = xW + b, so a layer
from n_in to n_out units has W of shape (n_in, n_out) (PyTorch stores the
transpose, (n_out, n_in); the statistics are the same).

The rules, with their standard deviations (std) and uniform limits:

* **Xavier / Glorot** (deck 002): std √(2/(n_in + n_out)), or uniform on
  [-a, a] with a = √(6/(n_in + n_out)) (a uniform variable on [-a, a] has
  variance a²/3, so both have variance 2/(n_in + n_out)). It keeps the variance
  of the signal about equal going forward (n_in) and backward (n_out), for
  units that are roughly linear near 0 (tanh, and sigmoid up to a factor).
* **He / Kaiming**: std √(2/n_in) (uniform limit √(6/n_in)). A ReLU zeroes half
  of its inputs on average, which halves the variance; the factor 2 puts it back.
* PyTorch writes both as a *gain* times a base rule: ``xavier_normal_`` has std
  gain·√(2/(n_in + n_out)), ``kaiming_normal_`` std gain/√n_in, with
  gain 1 (linear, sigmoid), 5/3 (tanh), √2 (ReLU) (``torch.nn.init.calculate_gain``).

Deck 002's table is non-standard: it writes He as α·√(2/(n_in + n_out)) with
α = 1 (sigmoid), 4 (tanh), √2 (ReLU). :func:`deck002_he_std` computes it so the
notebook can set it beside the standard values: the denominator is Xavier's
n_in + n_out, not He's n_in; the factor 4 belongs to the *sigmoid* (its slope at
0 is 1/4, so a sigmoid unit needs 4 times the weights of a tanh unit to pass the
same signal), not to tanh (whose gain is 5/3); and "He is Xavier with α = 1"
contradicts its own table (α = 1 is its sigmoid row, while He is for ReLU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import real_number, whole_number
from .device import cpu_threads

__all__ = [
    "xavier_std", "xavier_limit", "he_std", "he_limit", "gain", "DECK002_ALPHA", "deck002_he_std",
    "SCHEMES", "init_weights", "signal_scales", "SymmetryState", "symmetry_run",
]


def _fan(name: str, value) -> int:
    return whole_number(name, value, 1, noun="integer", meaning="a number of units")


def xavier_std(n_in: int, n_out: int) -> float:
    """Xavier's standard deviation √(2/(n_in + n_out))."""
    return math.sqrt(2.0 / (_fan("n_in", n_in) + _fan("n_out", n_out)))


def xavier_limit(n_in: int, n_out: int) -> float:
    """Xavier's uniform limit a = √(6/(n_in + n_out)): W ~ U(-a, a) has the variance of :func:`xavier_std`²."""
    return math.sqrt(6.0 / (_fan("n_in", n_in) + _fan("n_out", n_out)))


def he_std(n_in: int) -> float:
    """He's standard deviation √(2/n_in) (for ReLU units)."""
    return math.sqrt(2.0 / _fan("n_in", n_in))


def he_limit(n_in: int) -> float:
    """He's uniform limit √(6/n_in)."""
    return math.sqrt(6.0 / _fan("n_in", n_in))


_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


def gain(activation: str, negative_slope: float = 0.01) -> float:
    """PyTorch's recommended gain for an activation (``torch.nn.init.calculate_gain``):
    1 for linear and sigmoid, 5/3 for tanh, √2 for ReLU, √(2/(1 + a²)) for leaky ReLU of slope a."""
    if activation == "leaky_relu":
        a = real_number("negative_slope", negative_slope, 0.0)
        return math.sqrt(2.0 / (1.0 + a * a))
    if activation not in _GAINS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, [*_GAINS, 'leaky_relu']))}; "
                         f"got {activation!r}")
    return _GAINS[activation]


#: deck 002's factor α per activation in its "He" table, α·√(2/(n_in + n_out))
DECK002_ALPHA = {"sigmoid": 1.0, "tanh": 4.0, "relu": math.sqrt(2.0)}


def deck002_he_std(n_in: int, n_out: int, activation: str) -> float:
    """Deck 002's table as printed: α·√(2/(n_in + n_out)), α = 1 (sigmoid), 4 (tanh), √2 (ReLU).

    Non-standard (see the module text): compare :func:`he_std` (√(2/n_in)) and :func:`gain`.
    """
    if activation not in DECK002_ALPHA:
        raise ValueError(f"activation must be one of {', '.join(map(repr, DECK002_ALPHA))} (the rows of deck 002's "
                         f"table); got {activation!r}")
    return DECK002_ALPHA[activation] * xavier_std(n_in, n_out)


SCHEMES = ("zeros", "constant", "normal", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform")


def init_weights(n_in: int, n_out: int, scheme: str = "xavier_uniform", rng=None, *, value: float = 0.5,
                 std: float = 0.01) -> np.ndarray:
    """A weight matrix W of shape (n_in, n_out) drawn by ``scheme``:

    ``"zeros"``, ``"constant"`` (every weight = ``value``: the symmetric start),
    ``"normal"`` (std ``std``), ``"xavier_normal"``, ``"xavier_uniform"``,
    ``"he_normal"``, ``"he_uniform"``. ``rng``: a NumPy Generator or a seed.
    """
    n_in, n_out = _fan("n_in", n_in), _fan("n_out", n_out)
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(map(repr, SCHEMES))}; got {scheme!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    shape = (n_in, n_out)
    if scheme == "zeros":
        return np.zeros(shape)
    if scheme == "constant":
        return np.full(shape, real_number("value", value))
    if scheme == "normal":
        return rng.normal(0.0, real_number("std", std, 0.0), size=shape)
    if scheme == "xavier_normal":
        return rng.normal(0.0, xavier_std(n_in, n_out), size=shape)
    if scheme == "xavier_uniform":
        a = xavier_limit(n_in, n_out)
        return rng.uniform(-a, a, size=shape)
    if scheme == "he_normal":
        return rng.normal(0.0, he_std(n_in), size=shape)
    a = he_limit(n_in)
    return rng.uniform(-a, a, size=shape)


_ACT = {
    "linear": lambda z: z,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def signal_scales(depth: int, width: int, scheme: str, activation: str, n: int = 1000, seed: int = 0,
                  **options) -> np.ndarray:
    """The standard deviation of the pre-activations z of each layer, for unit-variance inputs pushed
    through ``depth`` layers of ``width`` units (weights from :func:`init_weights`, biases 0).

    Shape (depth,). With the right rule for the activation the scale stays about constant; too small
    weights make it shrink layer after layer (a dying signal), too large ones make it grow.
    """
    depth = whole_number("depth", depth, 1, noun="integer", meaning="a number of layers")
    width = _fan("width", width)
    if activation not in _ACT:
        raise ValueError(f"activation must be one of {', '.join(map(repr, _ACT))}; got {activation!r}")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((whole_number("n", n, 2, noun="integer"), width))
    scales = []
    for _ in range(depth):
        z = a @ init_weights(width, width, scheme, rng, **options)
        scales.append(float(z.std()))
        a = _ACT[activation](z)
    return np.array(scales)


# ------------------------------------------------------------ symmetry ---

@dataclass(frozen=True)
class SymmetryState:
    """One step of :func:`symmetry_run`: the loss, and how far apart the hidden units are.

    ``spread`` is the largest difference between any hidden unit's incoming weights and unit 0's
    (0 means every hidden unit is the same function of the input; with equal starting weights it
    stays at 0 up to rounding, about 1e-17, because sums over the units are added in different orders).
    """

    step: int
    loss: float
    spread: float


def symmetry_run(X, y, hidden: int = 8, scheme: str = "constant", steps: int = 50, eta: float = 0.5,
                 seed: int = 0, value: float = 0.1) -> list[SymmetryState]:
    """Train a one-hidden-layer tanh network (softmax output, cross-entropy) by full-batch gradient
    descent from weights drawn by ``scheme`` (biases 0), recording how different the hidden units stay.

    With ``scheme="constant"`` every hidden unit starts with the same weights, so they compute the
    same value, receive the same gradient and take the same step: they stay equal forever, and the
    network is no better than one with a single hidden unit. Any random scheme breaks the tie.
    Gradients come from ``torch.autograd`` (float64).
    """
    import torch

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must have shape (N, D) and y shape (N,), got {X.shape} and {y.shape}")
    steps = whole_number("steps", steps, 0, noun="integer")
    eta = real_number("eta", eta, 0.0, low_open=True)
    rng = np.random.default_rng(seed)
    n_classes = int(y.max()) + 1
    W1 = torch.tensor(init_weights(X.shape[1], hidden, scheme, rng, value=value), requires_grad=True)
    W2 = torch.tensor(init_weights(hidden, n_classes, scheme, rng, value=value), requires_grad=True)
    b1 = torch.zeros(hidden, dtype=torch.float64, requires_grad=True)
    b2 = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.tensor(X), torch.as_tensor(y, dtype=torch.int64)
    with cpu_threads("auto", W1.numel() + W2.numel()):   # a tiny network: the thread policy (coursekit.device)
        return _symmetry_steps(Xt, yt, (W1, b1, W2, b2), steps, eta)


def _symmetry_steps(Xt, yt, params, steps, eta):
    import torch

    W1, b1, W2, b2 = params
    states = []
    for t in range(steps + 1):
        loss = torch.nn.functional.cross_entropy(torch.tanh(Xt @ W1 + b1) @ W2 + b2, yt)
        spread = float((W1 - W1[:, :1]).abs().max().detach())
        states.append(SymmetryState(t, float(loss.detach()), spread))
        if t == steps:
            break
        params = (W1, b1, W2, b2)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= eta * g
    return states
