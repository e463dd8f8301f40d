"""Regularization (正則化): fighting overfitting (過擬合), decks 000, 002, 003 and 004.

NumPy reference code for the regularization tips of unit 06, each in the
lecture's symbols, and each tested against PyTorch:

* **dropout** (deck 003/004: each unit is dropped with probability p during
  training; deck 002: kept with probability μ): :func:`dropout_forward` and
  the layer :class:`Dropout`, in three modes (see below);
* **batch normalization** (批次正規化, deck 002): :func:`batchnorm_forward`,
  :func:`batchnorm_backward` and the layer :class:`BatchNorm` (training
  statistics vs running averages);
* **weight decay** (權重衰減): :func:`weight_decay_step` (w ← (1-ηλ)w - η∂C/∂w,
  deck 003, PyTorch's SGD ``weight_decay``) and deck 004's
  :func:`deck004_weight_decay_step` (w ← 0.99(w - η∂L/∂w));
  :func:`l2_penalty` in deck 003's form (λ/2)‖θ‖² and deck 002's λ‖W‖²;
* **early stopping** (提早停止): :func:`early_stopping`;
* **label smoothing**, **mixup**, **CutMix** (deck 002);
* **data augmentation** (資料擴增) of the 8×8 digits: shifts and rotations
  (decks 003/004 show a digit turned by 15°), and noise for deck 004's
  clean-vs-noisy test.

Layers follow the course's NumPy layer protocol (``coursekit.nn``): ``params``
(a dict of arrays, empty when none), ``forward(x) -> (out, cache)``,
``backward(dout, cache) -> (dx, grads)`` with ``grads`` keyed like ``params``,
rows of x are examples; a ``training`` flag picks the mode.

Dropout's three modes, with p the probability of dropping a unit:

* ``"inverted"`` (PyTorch, Keras): training multiplies the kept units by
  1/(1-p); testing uses the layer as it is. Training and test outputs agree
  in expectation, and the test-time network needs no change.
* ``"scale_at_test"`` (decks 003 and 004): training just zeroes the dropped
  units; at test time every weight is multiplied by 1 - p. The slides write
  "multiply by (1-p)%": for a dropout rate of p% the factor is 1 - p (50 %
  dropout: w = 1 becomes 0.5), not "(1-p) percent". Equal in expectation to
  the inverted form.
* ``"deck002"``: deck 002 keeps each unit with r ~ Bernoulli(μ), h̃ = h ⊙ r,
  and says "testing: no dropout" with no rescaling anywhere. Then training
  sees on average μ·h and testing sees h: the expectations differ by the
  factor μ. This slide is incomplete; the mode exists to show the mismatch.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from . import linear
from ._validate import real_number, whole_number

__all__ = [
    "DROPOUT_MODES", "dropout_mask", "dropout_forward", "dropout_backward", "Dropout", "dropout_mean_exact",
    "batchnorm_forward", "batchnorm_backward", "running_average", "BatchNorm",
    "weight_decay_step", "deck004_weight_decay_step", "l2_penalty", "early_stopping",
    "smooth_labels", "smoothed_cross_entropy", "one_hot", "mixup", "mixup_batch", "cutmix_box", "cutmix",
    "cutmix_batch",
    "shift_images", "rotate_images", "augment_digits", "add_noise",
]

DROPOUT_MODES = ("inverted", "scale_at_test", "deck002")


# ------------------------------------------------------------- checks ---

def _array(name: str, value, ndim: int | None = None, shape_text: str = "") -> np.ndarray:
    """A real, finite float array (of ``ndim`` dimensions when given)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers{f' of shape {shape_text}' if shape_text else ''}, "
                         f"got {type(value).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array{f' of shape {shape_text}' if shape_text else ''}, "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers (no nan or inf)")
    return arr


def _rate(p) -> float:
    return real_number("p", p, 0.0, 1.0, high_open=True, meaning="the probability of dropping a unit")


def _mode(mode: str) -> str:
    if mode not in DROPOUT_MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, DROPOUT_MODES))}; got {mode!r}")
    return mode


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# ------------------------------------------------------------ dropout ---

def dropout_mask(shape, p: float, rng=None) -> np.ndarray:
    """A 0/1 mask of ``shape``: each entry is 0 (dropped) with probability p, 1 (kept) with 1 - p."""
    return (_rng(rng).uniform(size=shape) >= _rate(p)).astype(float)


def dropout_forward(h, p: float, training: bool = True, mode: str = "inverted", mask=None, rng=None) -> np.ndarray:
    """Dropout on activations h with drop probability p (see the module text for the modes).

    Training: h ⊙ mask, times 1/(1-p) in ``"inverted"`` mode; ``mask`` (0/1, shape of h) is drawn
    with :func:`dropout_mask` when not given. Testing: h in ``"inverted"`` and ``"deck002"`` modes,
    (1-p)·h in ``"scale_at_test"`` mode (the same as multiplying the next layer's weights by 1 - p).
    """
    h = _array("h", h)
    p, mode = _rate(p), _mode(mode)
    if not training:
        return (1.0 - p) * h if mode == "scale_at_test" else h.copy()
    mask = dropout_mask(h.shape, p, rng) if mask is None else _array("mask", mask)
    if mask.shape != h.shape:
        raise ValueError(f"mask must have the shape of h {h.shape}, got {mask.shape}")
    return h * mask / (1.0 - p) if mode == "inverted" else h * mask


def dropout_backward(dout, p: float, mask, training: bool = True, mode: str = "inverted") -> np.ndarray:
    """∂L/∂h for :func:`dropout_forward`: the same mask (and scale) applied to the upstream gradient."""
    dout, p, mode = _array("dout", dout), _rate(p), _mode(mode)
    if not training:
        return (1.0 - p) * dout if mode == "scale_at_test" else dout.copy()
    mask = _array("mask", mask)
    return dout * mask / (1.0 - p) if mode == "inverted" else dout * mask


class Dropout:
    """A dropout layer (NumPy layer protocol). ``training`` picks the mode of the forward pass;
    a fresh mask is drawn at every training forward pass (deck 004: for every mini-batch)."""

    def __init__(self, p: float = 0.5, mode: str = "inverted", seed: int | None = 0):
        self.p, self.mode = _rate(p), _mode(mode)
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        self.training = True

    def forward(self, x):
        x = _array("x", x)
        mask = dropout_mask(x.shape, self.p, self.rng) if self.training else None
        out = dropout_forward(x, self.p, self.training, self.mode, mask=mask)
        return out, (mask, self.training)

    def backward(self, dout, cache):
        mask, training = cache
        return dropout_backward(dout, self.p, mask, training, self.mode), {}

    def __repr__(self):
        return f"Dropout(p={self.p:g}, mode={self.mode!r})"


def _activation(name: str):
    table = {"linear": lambda z: z, "sigmoid": linear.theta, "relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}
    if name not in table:
        raise ValueError(f"activation must be one of {', '.join(map(repr, table))}; got {name!r}")
    return table[name]


def dropout_mean_exact(w, x, p: float, activation: str = "sigmoid", inverted: bool = False) -> tuple[float, float]:
    """The exact expectations (E[z], E[a]) over every dropout mask of the inputs, for one unit
    z = Σᵢ wᵢ xᵢ rᵢ, a = activation(z), each rᵢ kept (1) with probability 1 - p, dropped (0) with p
    (times 1/(1-p) when ``inverted``). Enumerates all 2ⁿ masks (n ≤ 20).

    For a linear unit the expectation is the test-time value (that is what the rescaling is for);
    through a nonlinearity it is not: deck 003's "z' ≈ z" holds for z, not for σ(z).
    """
    w, x = _array("w", w, 1), _array("x", x, 1)
    if w.shape != x.shape or w.size > 20:
        raise ValueError(f"w and x must have the same shape (n,) with n <= 20, got {w.shape} and {x.shape}")
    p, f = _rate(p), _activation(activation)
    scale = 1.0 / (1.0 - p) if inverted else 1.0
    mean_z = mean_a = 0.0
    for r in itertools.product((0, 1), repeat=w.size):
        r = np.array(r, dtype=float)
        prob = float(np.prod(np.where(r == 1, 1.0 - p, p)))
        z = float(np.sum(w * x * r)) * scale
        mean_z += prob * z
        mean_a += prob * float(f(z))
    return mean_z, mean_a


# --------------------------------------------------------- batch norm ---

def running_average(old, new, momentum: float = 0.1):
    """PyTorch's running statistic: (1 - momentum)·old + momentum·new.

    Deck 002 writes μ̃ ← θμ̃ + (1-θ)μ_B: the same rule with θ = 1 - momentum (θ = 0.9 is PyTorch's default).
    """
    momentum = real_number("momentum", momentum, 0.0, 1.0)
    return (1.0 - momentum) * np.asarray(old, dtype=float) + momentum * np.asarray(new, dtype=float)


def batchnorm_forward(z, gamma, beta, running_mean, running_var, training: bool = True, eps: float = 1e-5,
                      momentum: float = 0.1):
    """Batch normalization of a mini-batch z, shape (N, D) (one row per example, one column per unit).

    Training: μ_B and σ²_B are the batch's own mean and (biased, 1/N) variance per column,
    ẑ = (z - μ_B)/√(σ²_B + ε), out = γẑ + β; the running averages move towards the batch's
    statistics (the variance unbiased, N/(N-1)·σ²_B, as PyTorch does). Testing: the running
    averages take the place of μ_B and σ²_B, so each example is normalized on its own.
    γ and β are learned and unconstrained (deck 002's "γ, β > 0" is a slide error: a negative γ
    or β is as valid as a positive one; γ = √(σ² + ε), β = μ even undo the normalization).

    Returns ``(out, cache, new_running_mean, new_running_var)``.
    """
    z = _array("z", z, 2, "(N, D): one row per example")
    D = z.shape[1]
    gamma, beta = _array("gamma", gamma, 1, f"({D},)"), _array("beta", beta, 1, f"({D},)")
    running_mean = _array("running_mean", running_mean, 1, f"({D},)")
    running_var = _array("running_var", running_var, 1, f"({D},)")
    for name, arr in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean), ("running_var", running_var)):
        if arr.shape != (D,):
            raise ValueError(f"{name} must have shape (D,) = ({D},) for z of shape {z.shape}, got {arr.shape}")
    eps = real_number("eps", eps, 0.0, low_open=True)
    if training:
        N = z.shape[0]
        if N < 2:
            raise ValueError(f"batch norm in training mode needs at least 2 examples per batch, got z of shape {z.shape}")
        mu, var = z.mean(axis=0), z.var(axis=0)
        new_mean = running_average(running_mean, mu, momentum)
        new_var = running_average(running_var, var * N / (N - 1), momentum)
    else:
        mu, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1.0 / np.sqrt(var + eps)
    z_hat = (z - mu) * inv_std
    out = gamma * z_hat + beta
    return out, (z_hat, gamma, inv_std, training), new_mean, new_var


def batchnorm_backward(dout, cache):
    """Gradients of :func:`batchnorm_forward`: ``(dz, {"gamma": dγ, "beta": dβ})``.

    In training mode μ_B and σ²_B depend on every row, so each ∂L/∂zᵢ collects three paths:
    dz = (1/N)/√(σ²_B + ε) · (N·dẑ - Σ dẑ - ẑ·Σ(dẑ ⊙ ẑ)), with dẑ = γ ⊙ dout.
    In evaluation mode the statistics are constants: dz = γ ⊙ dout/√(σ̃² + ε).
    """
    z_hat, gamma, inv_std, training = cache
    dout = _array("dout", dout, 2)
    if dout.shape != z_hat.shape:
        raise ValueError(f"dout must have the shape of the layer's output {z_hat.shape}, got {dout.shape}")
    grads = {"gamma": np.sum(dout * z_hat, axis=0), "beta": np.sum(dout, axis=0)}
    d_hat = dout * gamma
    if not training:
        return d_hat * inv_std, grads
    N = dout.shape[0]
    dz = inv_std / N * (N * d_hat - d_hat.sum(axis=0) - z_hat * np.sum(d_hat * z_hat, axis=0))
    return dz, grads


class BatchNorm:
    """A batch-norm layer over D units (NumPy layer protocol): params γ (ones) and β (zeros),
    running mean (zeros) and variance (ones) updated in training mode, used in evaluation mode."""

    def __init__(self, D: int, eps: float = 1e-5, momentum: float = 0.1):
        D = whole_number("D", D, 1, noun="integer", meaning="the number of units")
        self.params = {"gamma": np.ones(D), "beta": np.zeros(D)}
        self.running_mean, self.running_var = np.zeros(D), np.ones(D)
        self.eps, self.momentum = eps, momentum
        self.training = True

    def forward(self, x):
        out, cache, mean, var = batchnorm_forward(x, self.params["gamma"], self.params["beta"], self.running_mean,
                                                  self.running_var, self.training, self.eps, self.momentum)
        self.running_mean, self.running_var = mean, var
        return out, cache

    def backward(self, dout, cache):
        return batchnorm_backward(dout, cache)

    def __repr__(self):
        return f"BatchNorm(D={self.params['gamma'].size})"


# ------------------------------------------------------- weight decay ---

def weight_decay_step(w, grad, eta: float, lam: float) -> np.ndarray:
    """One gradient step on C'(w) = C(w) + (λ/2)‖w‖² (deck 003): w ← (1 - ηλ)w - η∂C/∂w.

    The weights shrink by the factor 1 - ηλ at every step before the gradient step; PyTorch's
    ``SGD(lr=η, weight_decay=λ)`` makes exactly this step.
    """
    w, grad = _array("w", w), _array("grad", grad)
    if w.shape != grad.shape:
        raise ValueError(f"grad must have the shape of w {w.shape}, got {grad.shape}")
    eta = real_number("eta", eta, 0.0, low_open=True)
    lam = real_number("lam", lam, 0.0)
    return (1.0 - eta * lam) * w - eta * grad


def deck004_weight_decay_step(w, grad, eta: float, keep: float = 0.99) -> np.ndarray:
    """Deck 004's weight decay as printed: w ← 0.99(w - η∂L/∂w), with 0.99 = 1 - λ for λ = 0.01.

    Unlike the standard step the shrink factor does not involve η, and it also shrinks the gradient
    step: it is the standard rule only for η = 1 and gradient steps scaled by 0.99.
    """
    w, grad = _array("w", w), _array("grad", grad)
    if w.shape != grad.shape:
        raise ValueError(f"grad must have the shape of w {w.shape}, got {grad.shape}")
    eta = real_number("eta", eta, 0.0, low_open=True)
    keep = real_number("keep", keep, 0.0, 1.0)
    return keep * (w - eta * grad)


def l2_penalty(weights, lam: float, form: str = "deck003"):
    """The L2 term over a list of weight matrices (biases are left out: deck 003 asks "why?" — a bias
    only shifts a unit and does not amplify noise in the input, so shrinking it buys nothing).

    ``form="deck003"``: Ω = (λ/2) Σ‖W‖², ∂Ω/∂W = λW (the gradient of weight decay).
    ``form="deck002"``: Ω = λ Σ‖W‖²_F, ∂Ω/∂W = 2λW (the deck prints "2W": the λ is missing).
    Returns ``(Ω, [∂Ω/∂W for each W])``.
    """
    lam = real_number("lam", lam, 0.0)
    if form not in ("deck003", "deck002"):
        raise ValueError(f"form must be 'deck003' ((λ/2)‖W‖²) or 'deck002' (λ‖W‖²); got {form!r}")
    c = 0.5 if form == "deck003" else 1.0
    weights = [_array(f"weights[{i}]", W) for i, W in enumerate(weights)]
    return c * lam * sum(linear.l2(W) for W in weights), [c * lam * linear.l2_grad(W) for W in weights]


# ----------------------------------------------------- early stopping ---

def early_stopping(val_losses, patience: int) -> tuple[int, int]:
    """Where early stopping ends a run: ``(best_epoch, stop_epoch)`` (0-based).

    After each epoch the validation loss is compared with the best so far; a strictly lower loss is
    an improvement. Training stops after ``patience`` epochs in a row without improvement (at
    stop_epoch = best_epoch + patience), and the weights of best_epoch are kept. If that never
    happens, the run ends at the last epoch.
    """
    losses = _array("val_losses", val_losses, 1, "(epochs,)")
    if losses.size == 0:
        raise ValueError("val_losses must hold at least one epoch's validation loss")
    patience = whole_number("patience", patience, 1, noun="integer", meaning="epochs without improvement")
    best = 0
    for epoch in range(1, losses.size):
        if losses[epoch] < losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return best, epoch
    return best, losses.size - 1


# -------------------------------------- label smoothing, mixup, CutMix ---

def one_hot(y, M: int) -> np.ndarray:
    """Rows 1_y: shape (N, M), a 1 in column yₙ of row n."""
    M = whole_number("M", M, 1, noun="integer", meaning="the number of classes")
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or (y_arr.size and (not np.all(np.mod(y_arr, 1) == 0) or y_arr.min() < 0 or y_arr.max() >= M)):
        raise ValueError(f"y must be a 1-D array of class indices 0..{M - 1}, got {y_arr!r:.80}")
    out = np.zeros((y_arr.size, M))
    out[np.arange(y_arr.size), y_arr.astype(int)] = 1.0
    return out


def smooth_labels(y, M: int, alpha: float) -> np.ndarray:
    """Deck 002's smoothed targets 1̃_y = (1 - α)·1_y + (α/M)·1: shape (N, M), each row sums to 1."""
    alpha = real_number("alpha", alpha, 0.0, 1.0)
    return (1.0 - alpha) * one_hot(y, M) + alpha / M


def smoothed_cross_entropy(logits, y, alpha: float) -> float:
    """Mean cross-entropy between the smoothed targets and softmax(logits):
    -(1/N) Σₙ Σₘ 1̃_{y,m} ln pₘ(xₙ); ``torch.nn.functional.cross_entropy(..., label_smoothing=α)``."""
    S = _array("logits", logits, 2, "(N, M)")
    targets = smooth_labels(y, S.shape[1], alpha)
    if targets.shape[0] != S.shape[0]:
        raise ValueError(f"y must have one label per row of logits ({S.shape[0]}), got {targets.shape[0]}")
    return float(-np.mean(np.sum(targets * linear.log_softmax(S, axis=1), axis=1)))


def mixup(x1, y1, x2, y2, lam: float):
    """Deck 002's mixup of two examples: x̃ = λx₁ + (1-λ)x₂, ỹ = λ·1_{y₁} + (1-λ)·1_{y₂}
    (y₁, y₂ as one-hot or probability vectors). Returns (x̃, ỹ)."""
    lam = real_number("lam", lam, 0.0, 1.0)
    x1, x2 = _array("x1", x1), _array("x2", x2)
    y1, y2 = _array("y1", y1), _array("y2", y2)
    if x1.shape != x2.shape or y1.shape != y2.shape:
        raise ValueError(f"x1, x2 (and y1, y2) must have the same shapes, got {x1.shape}, {x2.shape} "
                         f"({y1.shape}, {y2.shape})")
    return lam * x1 + (1.0 - lam) * x2, lam * y1 + (1.0 - lam) * y2


def mixup_batch(X, Y, alpha: float = 0.2, rng=None):
    """Mixup over a batch: each example n is mixed with example perm(n) of a random permutation,
    with its own λₙ ~ Beta(α, α) (deck 002 draws λ per pair). X: (N, ...), Y: (N, M) targets.
    Returns (X̃, Ỹ, λ)."""
    X, Y = _array("X", X), _array("Y", Y)
    if X.shape[0] != Y.shape[0] or Y.ndim != 2:
        raise ValueError(f"X must have shape (N, ...) and Y shape (N, M), got {X.shape} and {Y.shape}")
    alpha = real_number("alpha", alpha, 0.0, low_open=True)
    rng = _rng(rng)
    lam = rng.beta(alpha, alpha, size=X.shape[0])
    perm = rng.permutation(X.shape[0])
    lx = lam.reshape((-1,) + (1,) * (X.ndim - 1))
    return lx * X + (1 - lx) * X[perm], lam[:, None] * Y + (1 - lam[:, None]) * Y[perm], lam


def cutmix_box(H: int, W: int, lam: float, rng=None) -> tuple[int, int, int, int]:
    """Deck 002's CutMix box for an H×W image: side lengths r_w = W√(1-λ), r_h = H√(1-λ) (so the
    box covers a share 1 - λ of the image), centre (r_x, r_y) uniform over the image; the box is
    cut off at the image's edges. Returns ``(top, left, height, width)`` in whole pixels."""
    H = whole_number("H", H, 1, noun="integer")
    W = whole_number("W", W, 1, noun="integer")
    lam = real_number("lam", lam, 0.0, 1.0)
    rng = _rng(rng)
    r_h, r_w = H * math.sqrt(1.0 - lam), W * math.sqrt(1.0 - lam)
    r_y, r_x = rng.uniform(0, H), rng.uniform(0, W)
    top, bottom = int(np.clip(round(r_y - r_h / 2), 0, H)), int(np.clip(round(r_y + r_h / 2), 0, H))
    left, right = int(np.clip(round(r_x - r_w / 2), 0, W)), int(np.clip(round(r_x + r_w / 2), 0, W))
    return top, left, bottom - top, right - left


def cutmix(x1, y1, x2, y2, lam: float, rng=None):
    """CutMix of two images x₁, x₂ of shape (..., H, W): x̃ = M ⊙ x₁ + (1 - M) ⊙ x₂ with M = 0 inside the
    box of :func:`cutmix_box` and 1 outside. The label mixes by the share of x₁ that is left:
    ỹ = λ'·1_{y₁} + (1-λ')·1_{y₂} with λ' = 1 - (box area)/(HW). Deck 002 writes λ; λ' is λ up to
    rounding to whole pixels and the cut at the edges (the paper's code uses λ' too).
    Returns (x̃, ỹ, λ')."""
    x1, x2 = _array("x1", x1), _array("x2", x2)
    if x1.shape != x2.shape or x1.ndim < 2:
        raise ValueError(f"x1 and x2 must be images of the same shape (..., H, W), got {x1.shape} and {x2.shape}")
    H, W = x1.shape[-2:]
    top, left, h, w = cutmix_box(H, W, lam, rng)
    mask = np.ones((H, W))
    mask[top:top + h, left:left + w] = 0.0
    lam_used = float(mask.mean())
    x_mix = mask * x1 + (1.0 - mask) * x2
    y1, y2 = _array("y1", y1), _array("y2", y2)
    return x_mix, lam_used * y1 + (1.0 - lam_used) * y2, lam_used


def cutmix_batch(images, Y, alpha: float = 1.0, rng=None):
    """CutMix over a batch of images (N, H, W) with targets Y (N, M): image n gets a box of image
    perm(n) pasted in, with its own λₙ ~ Beta(α, α) and box as in :func:`cutmix_box` (all boxes drawn
    at once). Returns (X̃, Ỹ, λ') with λ'ₙ the share of image n that is left."""
    images, Y = _array("images", images, 3, "(N, H, W)"), _array("Y", Y, 2, "(N, M)")
    if len(images) != len(Y):
        raise ValueError(f"images and Y must hold the same number of examples, got {len(images)} and {len(Y)}")
    alpha = real_number("alpha", alpha, 0.0, low_open=True)
    rng = _rng(rng)
    N, H, W = images.shape
    lam = rng.beta(alpha, alpha, size=N)
    perm = rng.permutation(N)
    r_h, r_w = H * np.sqrt(1.0 - lam), W * np.sqrt(1.0 - lam)
    r_y, r_x = rng.uniform(0, H, size=N), rng.uniform(0, W, size=N)
    top, bottom = np.clip(np.round(r_y - r_h / 2), 0, H), np.clip(np.round(r_y + r_h / 2), 0, H)
    left, right = np.clip(np.round(r_x - r_w / 2), 0, W), np.clip(np.round(r_x + r_w / 2), 0, W)
    rows, cols = np.arange(H)[None, :, None], np.arange(W)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < bottom[:, None, None])
              & (cols >= left[:, None, None]) & (cols < right[:, None, None]))
    M = (~inside).astype(float)
    lam_used = M.mean(axis=(1, 2))
    return (M * images + (1 - M) * images[perm], lam_used[:, None] * Y + (1 - lam_used[:, None]) * Y[perm],
            lam_used)


# ------------------------------------------------- data augmentation ---

def _images(images) -> np.ndarray:
    images = _array("images", images)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) (or one image (H, W)), got {images.shape}")
    return images


def shift_images(images, dy: int, dx: int) -> np.ndarray:
    """Move each image of shape (H, W) (or a stack (N, H, W)) by dy rows down and dx columns right;
    pixels that enter are 0 (the background of the digits)."""
    single = np.ndim(images) == 2
    images = _images(images)
    dy = whole_number("dy", dy, -images.shape[1], images.shape[1], noun="integer")
    dx = whole_number("dx", dx, -images.shape[2], images.shape[2], noun="integer")
    out = np.zeros_like(images)
    H, W = images.shape[1:]
    out[:, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        images[:, max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out[0] if single else out


def rotate_images(images, degrees: float) -> np.ndarray:
    """Turn each image about its centre by ``degrees`` (counter-clockwise), bilinear, background 0."""
    from scipy import ndimage

    single = np.ndim(images) == 2
    images = _images(images)
    degrees = real_number("degrees", degrees)
    out = ndimage.rotate(images, degrees, axes=(2, 1), reshape=False, order=1, mode="constant", cval=0.0)
    return out[0] if single else out


def augment_digits(images, labels, copies: int = 2, max_shift: int = 1, max_degrees: float = 15.0, seed: int = 0):
    """A bigger training set: the images plus ``copies`` transformed copies of each, every copy shifted
    by a random whole number of pixels in [-max_shift, max_shift] (each direction) and turned by a
    random angle in [-max_degrees, max_degrees]. Returns (images, labels) with (copies + 1)·N rows."""
    images = _images(images)
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({images.shape[0]},), got {labels.shape}")
    copies = whole_number("copies", copies, 0, noun="integer")
    max_shift = whole_number("max_shift", max_shift, 0, noun="integer")
    rng = np.random.default_rng(seed)
    out = [images]
    for _ in range(copies):
        moved = np.empty_like(images)
        for n, image in enumerate(images):
            dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
            moved[n] = rotate_images(shift_images(image, int(dy), int(dx)), rng.uniform(-max_degrees, max_degrees))
        out.append(moved)
    return np.concatenate(out), np.tile(labels, copies + 1)


def add_noise(X, std: float, seed: int = 0) -> np.ndarray:
    """X plus Gaussian noise of standard deviation ``std`` (deck 004's noisy test set)."""
    X = _array("X", X)
    std = real_number("std", std, 0.0)
    return X + std * np.random.default_rng(seed).standard_normal(X.shape)
