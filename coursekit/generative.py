"""Generative models (生成模型): autoencoders, VAEs, GANs, CycleGAN and diffusion (unit 12).

Decks 000 unit 3, 002 week 11 and 004 lecture IV. Two kinds of code live here.

**The formulas, in NumPy**, readable first and tested against PyTorch and closed forms:

* the GAN game (生成對抗網路): the value function
  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))], the discriminator's loss -V,
  the two generator losses (minimax: minimize E log(1 - D(G(z))); non-saturating:
  minimize -E log D(G(z))) and their gradients, the optimal discriminator
  D*(x) = p_d(x) / (p_d(x) + p_g(x)), the value at D*, 2·JSD(p_d‖p_g) - 2 log 2
  (deck 002 prints JSD - 2 log 2: the factor 2 is missing), and the equilibrium
  value -log 4;
* mode coverage on the ring of 8 Gaussians, measured as VEEGAN and PacGAN do;
* the inception score exp(E_x KL(p(y|x) ‖ p(y))) (deck 002 leaves out the exp);
* the VAE's KL divergence of two Gaussians in closed form and the
  reparameterization z = μ + σ ε;
* CycleGAN's cycle-consistency loss and full objective;
* diffusion's forward process: the linear β schedule, one noising step and the
  closed form x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε, and the reverse (sampling) step.

**Small PyTorch models and their training**: :class:`Autoencoder` and :class:`VAE`
(trained with :func:`coursekit.train.train`), the GAN of Algorithm 1
(:class:`GANTrainer`: k discriminator steps, then one generator step, each
iteration a :class:`GANState` record with the losses and, on request, what the
GAN lab draws: samples, D on a grid, the generator's gradient arrows, the
generator's manifold, the mode coverage), the conditional GAN (the same trainer
with labels), :class:`CycleGAN`, and the diffusion noise predictor
:class:`NoisePredictor` with its sampler.

Time steps of the diffusion process are counted as in the DDPM paper: x_0 is the
data, t = 1, ..., T, and ``betas[t - 1]`` is β_t.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import datasets
from ._validate import one_of, real_array, real_number, whole_number

__all__ = [
    # the GAN game
    "EQUILIBRIUM_VALUE", "GENERATOR_LOSSES", "value_function", "discriminator_loss", "generator_loss",
    "generator_logit_gradient", "optimal_discriminator", "value_at_optimal_discriminator", "kl_divergence",
    "js_divergence", "inception_score",
    # mode coverage
    "RING", "ring_modes", "Coverage", "mode_coverage", "mean_nearest_neighbour_distance",
    # GAN training
    "mlp", "GANState", "GANTrainer", "gan_trace", "LAB_TARGETS", "lab_target", "LAB_BOX",
    "RING_CONFIG", "COLLAPSE_CONFIG", "CGAN_CONFIG",
    # autoencoders
    "Autoencoder", "VAE", "gaussian_kl", "kl_normal", "reparameterize", "vae_loss",
    # CycleGAN
    "cycle_consistency_loss", "cyclegan_objective", "CycleState", "CycleGAN",
    # diffusion
    "NoiseSchedule", "linear_schedule", "q_sample", "forward_step", "forward_process", "reverse_step",
    "sinusoidal_embedding", "NoisePredictor", "noise_prediction_data", "sample_diffusion",
]

#: V(D*, G*) at the Nash equilibrium p_g = p_d, where D* = 1/2 everywhere: 2 log(1/2) = -log 4.
EQUILIBRIUM_VALUE = -math.log(4.0)
#: The generator's two losses: "minimax" (Algorithm 1 as printed) and "nonsaturating" (what is used).
GENERATOR_LOSSES = ("nonsaturating", "minimax")


# ------------------------------------------------------------------ input checks ---

def _array(name: str, value, *, ndim=None, shape: str = "", low: float | None = None,
           high: float | None = None) -> np.ndarray:
    """``value`` as a float64 array of finite real numbers (``real_array``), with ``ndim``
    dimensions and every entry in [low, high] when those are given; ``shape`` says in words
    what shape is expected."""
    arr = real_array(name, value, ndim, shape)
    if arr.size and ((low is not None and arr.min() < low) or (high is not None and arr.max() > high)):
        bounds = f"lie in [{low:g}, {high:g}]" if low is not None and high is not None else (
            f"be >= {low:g}" if low is not None else f"be <= {high:g}")
        raise ValueError(f"{name} must {bounds}, got values from {arr.min():.4g} to {arr.max():.4g}")
    return arr


def _probabilities(name: str, value) -> np.ndarray:
    """Discriminator outputs: numbers in [0, 1], at least one."""
    arr = _array(name, value, ndim=(0, 1, 2), shape="(m,): discriminator outputs D(x) in [0, 1]", low=0.0, high=1.0)
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one discriminator output, got an empty array")
    return arr


def _distribution(name: str, value) -> np.ndarray:
    """A probability vector: non-negative, summing to 1."""
    arr = _array(name, value, ndim=1, shape="(K,): a probability vector", low=0.0)
    if arr.size == 0 or not math.isclose(arr.sum(), 1.0, rel_tol=0, abs_tol=1e-6):
        raise ValueError(f"{name} must be a probability vector summing to 1, got sum {arr.sum():.6g}")
    return arr


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log y with 0 log 0 = 0 (the convention of every entropy and divergence)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


# --------------------------------------------------------------- the GAN game ---

def value_function(d_real, d_fake) -> float:
    """The GAN value V(D, G) on a batch: mean log D(x) over real samples plus mean
    log(1 - D(G(z))) over generated ones (D's outputs, probabilities in [0, 1]).

    D ascends V; the generator descends it. It is at most 0, and -log 4 at the
    equilibrium (D = 1/2 everywhere). A probability of exactly 0 (or 1 on a
    generated sample) gives -inf, as the formula does.
    """
    d_real, d_fake = _probabilities("d_real", d_real), _probabilities("d_fake", d_fake)
    with np.errstate(divide="ignore"):
        return float(np.mean(np.log(d_real)) + np.mean(np.log1p(-d_fake)))


def discriminator_loss(d_real, d_fake) -> float:
    """The discriminator's loss, -V(D, G): binary cross-entropy with label 1 for the real
    samples and 0 for the generated ones, each part averaged over its own batch."""
    return -value_function(d_real, d_fake)


def generator_loss(d_fake, kind: str = "nonsaturating") -> float:
    """The generator's loss on D's outputs for generated samples, D(G(z)).

    ``"minimax"``: mean log(1 - D(G(z))), the generator's part of V as Algorithm 1
    descends it; ``"nonsaturating"``: -mean log D(G(z)) (deck 000 writes
    -½ E log D(G(z)); the ½ only halves the gradient). Both are smallest when D
    calls every generated sample real.
    """
    kind = one_of("kind", kind, GENERATOR_LOSSES)
    d_fake = _probabilities("d_fake", d_fake)
    with np.errstate(divide="ignore"):
        if kind == "minimax":
            return float(np.mean(np.log1p(-d_fake)))
        return float(-np.mean(np.log(d_fake)))


def generator_logit_gradient(d_fake, kind: str = "nonsaturating") -> np.ndarray:
    """∂ℓ/∂a for each generated sample, where D = σ(a) and ℓ is that sample's generator loss.

    minimax: ℓ = log(1 - σ(a)), ∂ℓ/∂a = -σ(a) = -D: tiny when D(G(z)) ≈ 0, which is
    exactly where training starts (D easily spots early fakes): the loss *saturates*.
    non-saturating: ℓ = -log σ(a), ∂ℓ/∂a = -(1 - D): close to -1 there. Both are
    negative (raising a lowers the loss), so the generator moves its samples
    towards "real" either way; only the strength differs.
    """
    kind = one_of("kind", kind, GENERATOR_LOSSES)
    d_fake = _probabilities("d_fake", d_fake)
    return -d_fake if kind == "minimax" else -(1.0 - d_fake)


def optimal_discriminator(p_data, p_g) -> np.ndarray:
    """D*(x) = p_d(x) / (p_d(x) + p_g(x)), pointwise, for densities (or probabilities) at the same x.

    It maximizes p_d log D + p_g log(1 - D) at every x: the derivative
    p_d/D - p_g/(1 - D) vanishes there (deck 002). Where both densities are 0 no
    sample ever lands and D* is undefined: NaN.
    """
    p_data = _array("p_data", p_data, low=0.0)
    p_g = _array("p_g", p_g, low=0.0)
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data and p_g must have the same shape (one density each per x), got {p_data.shape} "
                         f"and {p_g.shape}")
    total = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), np.nan)


def value_at_optimal_discriminator(p_data, p_g) -> float:
    """V(D*, G) for two discrete distributions on the same K outcomes:
    Σ p_d log D* + Σ p_g log(1 - D*), with 0 log 0 = 0. Equal to 2·JSD(p_d‖p_g) - 2 log 2."""
    p_data, p_g = _distribution("p_data", p_data), _distribution("p_g", p_g)
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data and p_g must be distributions over the same outcomes, got shapes {p_data.shape} "
                         f"and {p_g.shape}")
    total = p_data + p_g
    safe = np.where(total > 0, total, 1.0)
    return float(np.sum(_xlogy(p_data, p_data / safe)) + np.sum(_xlogy(p_g, p_g / safe)))


def kl_divergence(p, q) -> float:
    """KL(p‖q) = Σ p log(p/q) in nats, for discrete distributions (inf where q = 0 < p)."""
    p, q = _distribution("p", p), _distribution("q", q)
    if p.shape != q.shape:
        raise ValueError(f"p and q must be distributions over the same outcomes, got shapes {p.shape} and {q.shape}")
    if np.any((q == 0) & (p > 0)):
        return math.inf
    return float(np.sum(_xlogy(p, p / np.where(q > 0, q, 1.0))))


def js_divergence(p, q) -> float:
    """The Jensen-Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = ½(p + q), in nats: between 0 and log 2."""
    p, q = _distribution("p", p), _distribution("q", q)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def inception_score(probs) -> float:
    """exp( mean_i KL(p(y|x_i) ‖ p(y)) ), p(y) = the mean of the rows: from 1 (every sample
    gets the same class distribution) to K (confident predictions spread evenly over K classes).

    ``probs``: (N, K) class probabilities a classifier gives N generated samples. Deck 002
    writes the score without the exp: that is its logarithm, between 0 and log K.
    """
    probs = _array("probs", probs, ndim=2, shape="(N, K): class probabilities", low=0.0)
    if probs.shape[0] == 0 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("every row of probs must be a probability vector (summing to 1)")
    marginal = probs.mean(axis=0)
    kl = np.sum(_xlogy(probs, probs / np.where(marginal > 0, marginal, 1.0)), axis=1)
    return float(np.exp(np.mean(kl)))


# --------------------------------------------------------------- mode coverage ---

#: The ring of 8 Gaussians of the VEEGAN and PacGAN experiments: radius 2, standard deviation 0.02.
RING = {"n_modes": 8, "radius": 2.0, "std": 0.02}


def ring_modes(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The centres of ``n_modes`` Gaussians evenly spaced on a circle, shape (n_modes, 2).

    The angles are 2πk/n for k = 0, ..., n - 1: the end point 2π is left out, since
    it is the same point as 0 (``np.linspace(0, 2π, 8)`` would give 7 modes, one twice).
    """
    n_modes = whole_number("n_modes", n_modes, 1, noun="integer", allow_float=False)
    radius = real_number("radius", radius, 0.0, low_open=True)
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])


@dataclass
class Coverage:
    """What :func:`mode_coverage` measured.

    ``modes_covered``: modes that are the nearest mode of at least one high-quality
    sample; ``high_quality``: the share of samples within ``threshold`` standard
    deviations of their nearest mode; ``hq_counts``: high-quality samples per mode;
    ``nearest_counts``: all samples per nearest mode (where the mass went, good or not).
    """

    modes_covered: int
    n_modes: int
    high_quality: float
    hq_counts: np.ndarray
    nearest_counts: np.ndarray
    n_samples: int

    def __str__(self) -> str:
        return (f"{self.modes_covered} / {self.n_modes} modes covered, {100 * self.high_quality:.1f}% high-quality "
                f"samples (of {self.n_samples})")


def mode_coverage(samples, modes=None, std: float = RING["std"], threshold: float = 3.0) -> Coverage:
    """Mode coverage as VEEGAN and PacGAN measure it on the ring of Gaussians.

    A sample is *high-quality* when it lies within ``threshold`` (3) standard
    deviations ``std`` of its nearest mode; a mode is *covered* when it is the
    nearest mode of at least one high-quality sample. Use 2,500 samples, as they do.
    ``modes`` defaults to :func:`ring_modes` (8 modes on the circle of radius 2).
    """
    samples = _array("samples", samples, ndim=2, shape="(N, 2)")
    modes = ring_modes() if modes is None else _array("modes", modes, ndim=2, shape="(K, 2): mode centres")
    if samples.shape[1] != modes.shape[1] or samples.shape[0] == 0:
        raise ValueError(f"samples must have shape (N, {modes.shape[1]}) with N >= 1, like the modes "
                         f"{modes.shape}; got {samples.shape}")
    std = real_number("std", std, 0.0, low_open=True, meaning="the modes' standard deviation")
    threshold = real_number("threshold", threshold, 0.0, low_open=True)
    distances = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= threshold * std
    k = len(modes)
    hq_counts = np.bincount(nearest[good], minlength=k)
    return Coverage(modes_covered=int(np.count_nonzero(hq_counts)), n_modes=k, high_quality=float(good.mean()),
                    hq_counts=hq_counts, nearest_counts=np.bincount(nearest, minlength=k), n_samples=len(samples))


def mean_nearest_neighbour_distance(samples, data) -> float:
    """The mean, over ``samples``, of the Euclidean distance to the nearest point of ``data``:
    small when every sample lies on the data's shape (it does not see missing parts)."""
    from scipy.spatial import cKDTree

    samples = _array("samples", samples, ndim=2, shape="(N, d)")
    data = _array("data", data, ndim=2, shape="(M, d)")
    if samples.shape[1] != data.shape[1] or not len(samples) or not len(data):
        raise ValueError(f"samples and data must be non-empty point sets of the same dimension, got shapes "
                         f"{samples.shape} and {data.shape}")
    return float(cKDTree(data).query(samples)[0].mean())


# ------------------------------------------------------------ small networks ---

def mlp(n_in: int, hidden: int, n_out: int, layers: int = 2, activation: str = "relu",
        output: str | None = None, batchnorm: bool = False) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden`` units (ReLU, or LeakyReLU with slope 0.2), each with
    batch norm before its activation if ``batchnorm``, then a linear output layer, optionally
    followed by ``output`` = "sigmoid" or "tanh"."""
    act = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "gelu": nn.GELU}[activation]
    sizes = [n_in] + [hidden] * layers
    modules: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(a, b), *([nn.BatchNorm1d(b)] if batchnorm else []), act()]
    modules.append(nn.Linear(sizes[-1], n_out))
    if output is not None:
        modules.append({"sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[output]())
    return nn.Sequential(*modules)


def _device(device) -> torch.device:
    from .device import get_device

    return torch.device(device) if device is not None else get_device()


def _threads(model: nn.Module, device: torch.device):
    """One CPU thread for these small models (coursekit.train's measured rule)."""
    from .train import cpu_threads

    return cpu_threads("auto", model, device)


# -------------------------------------------------------------------- the GAN ---

@dataclass
class GANState:
    """One iteration of Algorithm 1 (k discriminator steps, then one generator step).

    ``step``: generator updates so far; ``d_steps``: discriminator updates so far;
    ``d_loss``: -V on the last discriminator batch; ``g_loss``: the generator's loss
    on its batch; ``d_real`` / ``d_fake``: the mean of D(x) on real and of D(G(z)) on
    generated samples of the last discriminator batch; ``value``: the estimate of
    V(D, G) = -d_loss. The fields after those are what the GAN lab draws, filled
    only when the trace asks for a view (else None): ``samples`` G(z) for a fixed
    set of z, ``push`` the direction the generator's loss moves each sample
    (-∂ℓ/∂x), ``d_grid`` D on :attr:`GANTrainer.grid`, ``manifold`` G on a grid of
    z (equal-probability cells of the noise), ``coverage`` (ring targets).
    """

    step: int
    d_steps: int
    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float
    samples: np.ndarray | None = None
    push: np.ndarray | None = None
    d_grid: np.ndarray | None = None
    manifold: np.ndarray | None = None
    coverage: Coverage | None = None

    @property
    def value(self) -> float:
        return -self.d_loss


#: The lab's view box: every 2-D target lies inside [-LAB_BOX, LAB_BOX]².
LAB_BOX = 3.0
#: The GAN lab's targets.
LAB_TARGETS = ("ring", "moons", "spiral", "drawn")

#: The ring configuration of the notebook: 8 / 8 modes under seed 0 (unit 12 holds it to that).
RING_CONFIG = dict(z_dim=2, hidden=128, layers=2, loss="nonsaturating", k=1, lr_d=2e-3, lr_g=1e-3,
                   optimizer="adam", batch_size=256, decay_steps=1500)
#: The same networks with the generator learning 4x faster than the discriminator: it collapses.
COLLAPSE_CONFIG = dict(RING_CONFIG, lr_d=1e-3, lr_g=4e-3)
#: The conditional GAN on the 8x8 digits (64 pixels in [0, 1]), with batch norm in the generator (DCGAN).
CGAN_CONFIG = dict(z_dim=16, hidden=128, layers=2, loss="nonsaturating", k=1, lr_d=1e-3, lr_g=1e-3,
                   optimizer="adam", batch_size=128, output="sigmoid", batchnorm=True)


def lab_target(name: str, n: int = 2000, seed: int = 0, points=None):
    """Points of a GAN-lab target inside the lab's box, and the mode centres where the target has modes.

    ``"ring"``: the 8 Gaussians of :data:`RING` (radius 2, std 0.02); ``"moons"``: two moons,
    centred and scaled by 1.8; ``"spiral"``: two spiral arms scaled by 2.2; ``"drawn"``:
    ``points`` clicked by the user (at least one), used as the centres of small Gaussians
    (std 0.08). Returns ``(X, modes)`` with X of shape (n, 2) and modes (K, 2) or None.
    """
    name = one_of("name", name, LAB_TARGETS)
    n = whole_number("n", n, 1, noun="integer", allow_float=False)
    if name == "ring":
        X = datasets.eight_gaussians(n, radius=RING["radius"], std=RING["std"], seed=seed)
        return X, ring_modes(RING["n_modes"], RING["radius"])
    if name == "moons":
        X, _ = datasets.two_moons(n, noise=0.05, seed=seed)
        return (X - np.array([0.5, 0.25])) * 1.8, None
    if name == "spiral":
        X, _ = datasets.spiral(n, noise=0.03, seed=seed)
        return X * 2.2, None
    centres = _array("points", points if points is not None else np.zeros((0, 2)), ndim=2,
                     shape="(K, 2): clicked points")
    if len(centres) == 0 or centres.shape[1] != 2:
        raise ValueError(f"the 'drawn' target needs at least one clicked point, shape (K, 2); got {centres.shape}")
    rng = np.random.default_rng(seed)
    return centres[rng.integers(0, len(centres), size=n)] + 0.08 * rng.standard_normal((n, 2)), None


class GANTrainer:
    """A GAN trained by Algorithm 1 of Goodfellow et al. (deck 000), one iteration at a time.

    ``data``: real samples, shape (N, d); ``labels`` (N,) with ``n_classes`` makes it a
    conditional GAN, D(x|y) and G(z|y), the label entering both networks as a one-hot
    vector (deck 000). Networks: G maps z ~ N(0, I) of ``z_dim`` through ``layers``
    ReLU layers of ``hidden`` units to x (``output``: None for a linear output,
    "sigmoid" for pixels in [0, 1]); D maps x through LeakyReLU layers to one logit a,
    D(x) = σ(a). Losses from the logits: D's -V = softplus(-a_real) + softplus(a_fake)
    (means), the generator's "nonsaturating" softplus(-a_fake) or "minimax"
    -softplus(a_fake). ``optimizer`` "adam" (β₁ = 0.5, as DCGAN) or "sgd"; learning
    rates ``lr_d`` and ``lr_g``; ``decay_steps``: both rates fall linearly to 0 over
    that many generator steps (None: constant). ``k``: discriminator steps per
    generator step. ``modes`` (with ``mode_std``): mode centres for the coverage count.

    :meth:`step` runs one iteration and returns its :class:`GANState`; ``part="D"`` or
    ``"G"`` trains only one player once, as GAN Lab's step buttons do.
    """

    def __init__(self, data, labels=None, n_classes: int | None = None, *, z_dim: int = 2, hidden: int = 128,
                 layers: int = 2, loss: str = "nonsaturating", k: int = 1, lr_d: float = 2e-3, lr_g: float = 1e-3,
                 optimizer: str = "adam", batch_size: int = 256, decay_steps: int | None = None,
                 output: str | None = None, batchnorm: bool = False, modes=None, mode_std: float = RING["std"],
                 seed: int = 0, device=None, grid_size: int = 48, manifold_size: int = 15, view_samples: int = 500):
        data = _array("data", data, ndim=2, shape="(N, d): real samples")
        if len(data) == 0:
            raise ValueError("data must hold at least one real sample, got shape (0, d)")
        self.z_dim = whole_number("z_dim", z_dim, 1, noun="integer", allow_float=False)
        hidden = whole_number("hidden", hidden, 1, noun="integer", allow_float=False)
        layers = whole_number("layers", layers, 1, 6, noun="integer", allow_float=False)
        self.k = whole_number("k", k, 1, 20, noun="integer", allow_float=False,
                              meaning="discriminator steps per generator step")
        self.loss = one_of("loss", loss, GENERATOR_LOSSES)
        self.optimizer_name = one_of("optimizer", optimizer, ("adam", "sgd"))
        self.lr_d = real_number("lr_d", lr_d, 0.0, 10.0, low_open=True, meaning="the discriminator's learning rate")
        self.lr_g = real_number("lr_g", lr_g, 0.0, 10.0, low_open=True, meaning="the generator's learning rate")
        self.batch_size = whole_number("batch_size", batch_size, 1, noun="integer", allow_float=False)
        self.decay_steps = None if decay_steps is None else whole_number("decay_steps", decay_steps, 1,
                                                                         noun="integer", allow_float=False)
        self.seed = whole_number("seed", seed, 0, noun="integer", allow_float=False)
        self.n_classes = None
        if labels is not None or n_classes is not None:
            self.n_classes = whole_number("n_classes", n_classes, 2, noun="integer", allow_float=False)
            labels = _array("labels", labels, ndim=1, shape="(N,): integer class labels", low=0,
                            high=self.n_classes - 1)
            if len(labels) != len(data) or np.any(labels != np.round(labels)):
                raise ValueError(f"labels must hold one integer class per sample, shape ({len(data)},); "
                                 f"got shape {labels.shape}")
        self.device = _device(device)
        self.dim = data.shape[1]
        cond = self.n_classes or 0
        torch.manual_seed(self.seed)
        self.G = mlp(self.z_dim + cond, hidden, self.dim, layers, "relu", output, batchnorm).to(self.device)
        self.D = mlp(self.dim + cond, hidden, 1, layers, "leaky_relu").to(self.device)
        self.opt_d = self._optimizer(self.D, self.lr_d)
        self.opt_g = self._optimizer(self.G, self.lr_g)
        self.X = torch.as_tensor(data, dtype=torch.float32, device=self.device)
        self.y = None if labels is None else torch.as_tensor(labels, dtype=torch.int64, device=self.device)
        self.gen = torch.Generator(device=self.device).manual_seed(self.seed)
        self.modes = None if modes is None else _array("modes", modes, ndim=2, shape="(K, 2): mode centres")
        self.mode_std = real_number("mode_std", mode_std, 0.0, low_open=True)
        self.steps_done = 0
        self.d_steps_done = 0
        self._last_d = (math.nan, math.nan, math.nan)
        # What the lab draws (2-D data only): fixed noise, D's grid, the noise grid of the manifold
        view_gen = torch.Generator(device=self.device).manual_seed(self.seed + 1)
        self.view_z = torch.randn(view_samples, self.z_dim, generator=view_gen, device=self.device)
        ticks = np.linspace(-LAB_BOX, LAB_BOX, grid_size)
        self.grid = np.stack(np.meshgrid(ticks, ticks), axis=-1)                # (n, n, 2), grid[i, j] = (x_j, y_i)
        self._grid_t = torch.as_tensor(self.grid.reshape(-1, 2), dtype=torch.float32, device=self.device)
        # equal-probability cells: the z grid sits at quantiles of N(0, 1)
        from statistics import NormalDist

        q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.02, 0.98, manifold_size)])
        zgrid = np.zeros((manifold_size, manifold_size, self.z_dim))
        zgrid[..., 0], zgrid[..., min(1, self.z_dim - 1)] = np.meshgrid(q, q)
        self._manifold_z = torch.as_tensor(zgrid.reshape(-1, self.z_dim), dtype=torch.float32, device=self.device)
        self._manifold_shape = (manifold_size, manifold_size)

    def _optimizer(self, net: nn.Module, lr: float):
        if self.optimizer_name == "adam":
            return torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999))
        return torch.optim.SGD(net.parameters(), lr=lr)

    def set_learning_rates(self, lr_d: float | None = None, lr_g: float | None = None) -> None:
        """Change the learning rates without restarting (the lab's controls)."""
        if lr_d is not None:
            self.lr_d = real_number("lr_d", lr_d, 0.0, 10.0, low_open=True)
        if lr_g is not None:
            self.lr_g = real_number("lr_g", lr_g, 0.0, 10.0, low_open=True)
        self._apply_rates()

    def _apply_rates(self) -> None:
        scale = 1.0 if self.decay_steps is None else max(0.0, 1.0 - self.steps_done / self.decay_steps)
        for opt, lr in ((self.opt_d, self.lr_d), (self.opt_g, self.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    # ---- one batch of each kind ----------------------------------------------------------
    def _condition(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return x if y is None else torch.cat([x, F.one_hot(y, self.n_classes).to(x.dtype)], dim=1)

    def _noise(self, m: int):
        z = torch.randn(m, self.z_dim, generator=self.gen, device=self.device)
        y = None if self.n_classes is None else torch.randint(0, self.n_classes, (m,), generator=self.gen,
                                                              device=self.device)
        return z, y

    def _real(self, m: int):
        idx = torch.randint(0, len(self.X), (m,), generator=self.gen, device=self.device)
        return self.X[idx], None if self.y is None else self.y[idx]

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(self._condition(z, y))

    def logits(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.D(self._condition(x, y)).squeeze(1)

    def _g_loss_of_logits(self, a: torch.Tensor) -> torch.Tensor:
        return F.softplus(-a).mean() if self.loss == "nonsaturating" else -F.softplus(a).mean()

    # ---- Algorithm 1 ---------------------------------------------------------------------
    def d_step(self) -> float:
        """One discriminator update: ascend V on a batch of m real and m generated samples."""
        x, y_real = self._real(self.batch_size)
        z, y_fake = self._noise(self.batch_size)
        with torch.no_grad():
            fake = self.generate(z, y_fake)
        a_real, a_fake = self.logits(x, y_real), self.logits(fake, y_fake)
        loss = F.softplus(-a_real).mean() + F.softplus(a_fake).mean()       # = -V(D, G)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self.d_steps_done += 1
        with torch.no_grad():
            self._last_d = (loss.item(), torch.sigmoid(a_real).mean().item(), torch.sigmoid(a_fake).mean().item())
        return self._last_d[0]

    def g_step(self) -> float:
        """One generator update: descend its loss on a batch of m fresh noise samples (D fixed)."""
        z, y = self._noise(self.batch_size)
        loss = self._g_loss_of_logits(self.logits(self.generate(z, y), y))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()          # D's parameters get gradients too, but only G's optimizer steps
        self.opt_g.step()
        self.steps_done += 1
        if self.decay_steps is not None:
            self._apply_rates()
        return loss.item()

    def step(self, part: str = "both", view: bool = False) -> GANState:
        """One iteration: k discriminator steps, then one generator step (``part="both"``),
        or one step of only ``"D"`` or ``"G"``. ``view=True`` adds what the lab draws."""
        part = one_of("part", part, ("both", "D", "G"))
        with _threads(self.G, self.device):
            for _ in range(self.k if part == "both" else int(part == "D")):
                self.d_step()
            g_loss = self.g_step() if part != "D" else math.nan
            if part == "D":
                g_loss = self.generator_loss_now()
            state = GANState(self.steps_done, self.d_steps_done, *self._last_d[:1], g_loss, *self._last_d[1:])
            if view:
                self.add_view(state)
        return state

    def generator_loss_now(self, m: int = 256) -> float:
        """The generator's loss on a fresh batch, without training."""
        with torch.no_grad():
            z, y = self._noise(m)
            return self._g_loss_of_logits(self.logits(self.generate(z, y), y)).item()

    def initial_state(self, view: bool = True) -> GANState:
        """Step 0: losses measured on one batch each, no update."""
        with _threads(self.G, self.device), torch.no_grad():
            x, yr = self._real(self.batch_size)
            z, yf = self._noise(self.batch_size)
            a_real, a_fake = self.logits(x, yr), self.logits(self.generate(z, yf), yf)
            d_loss = (F.softplus(-a_real).mean() + F.softplus(a_fake).mean()).item()
            state = GANState(0, 0, d_loss, self._g_loss_of_logits(a_fake).item(),
                             torch.sigmoid(a_real).mean().item(), torch.sigmoid(a_fake).mean().item())
        self._last_d = (state.d_loss, state.d_real, state.d_fake)
        if view:
            with _threads(self.G, self.device):
                self.add_view(state)
        return state

    # ---- what the lab draws ----------------------------------------------------------------
    def add_view(self, state: GANState) -> GANState:
        """Fill the drawing fields of ``state`` (2-D unconditional data only)."""
        if self.dim != 2 or self.n_classes is not None:
            return state
        with torch.no_grad(), _evaluating(self.G):
            x = self.generate(self.view_z)
            manifold = self.generate(self._manifold_z).cpu().numpy().reshape(*self._manifold_shape, 2)
        x.requires_grad_(True)
        a = self.logits(x)
        # -∂ℓ/∂x for each sample's own loss: where the generator's update moves it
        per_sample = F.softplus(-a) if self.loss == "nonsaturating" else -F.softplus(a)
        (grad,) = torch.autograd.grad(per_sample.sum(), x)
        with torch.no_grad():
            state.samples = x.detach().cpu().numpy().astype(np.float64)
            state.push = -grad.cpu().numpy().astype(np.float64)
            state.d_grid = torch.sigmoid(self.logits(self._grid_t)).cpu().numpy().reshape(self.grid.shape[:2])
            state.manifold = manifold
        if self.modes is not None:
            state.coverage = mode_coverage(state.samples, self.modes, self.mode_std)
        return state

    def sample(self, n: int, seed: int = 123, labels=None) -> np.ndarray:
        """``n`` generated samples from noise drawn with ``seed`` (the same seed: the same z),
        for the given ``labels`` (conditional GAN) or none."""
        n = whole_number("n", n, 1, noun="integer", allow_float=False)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        z = torch.randn(n, self.z_dim, generator=gen, device=self.device)
        y = None
        if self.n_classes is not None:
            if labels is None:
                raise ValueError(f"a conditional GAN needs labels: one class in 0..{self.n_classes - 1} per sample")
            y = torch.as_tensor(np.broadcast_to(np.asarray(labels), (n,)).copy(), dtype=torch.int64,
                                device=self.device)
        with torch.no_grad(), _evaluating(self.G):
            return self.generate(z, y).cpu().numpy().astype(np.float64)

    def coverage(self, n: int = 2500, seed: int = 123) -> Coverage:
        """Mode coverage of ``n`` samples (the protocol's 2,500)."""
        if self.modes is None:
            raise ValueError("this GAN has no mode centres: pass modes=... (e.g. ring_modes()) to measure coverage")
        return mode_coverage(self.sample(n, seed), self.modes, self.mode_std)


class _evaluating:
    """``with _evaluating(net):`` evaluation mode inside the block (batch norm uses its running
    statistics, so a sample does not depend on the others drawn with it), the old mode after."""

    def __init__(self, net: nn.Module):
        self.net, self.was_training = net, net.training

    def __enter__(self):
        self.net.eval()

    def __exit__(self, *exc):
        self.net.train(self.was_training)
        return False


def gan_trace(trainer: GANTrainer, steps: int, view_every: int | None = None, part: str = "both"
              ) -> Iterator[GANState]:
    """Train ``trainer`` for ``steps`` iterations, yielding each :class:`GANState`.

    The first state is step 0 (before any update). Every ``view_every`` steps, and at
    the last one, the state also carries the view (samples, D on the grid, arrows,
    manifold, coverage); None: the first and last states only.
    """
    steps = whole_number("steps", steps, 0, noun="integer", allow_float=False)
    if view_every is not None:
        view_every = whole_number("view_every", view_every, 1, noun="integer", allow_float=False)
    yield trainer.initial_state(view=True)
    for i in range(1, steps + 1):
        view = i == steps or (view_every is not None and i % view_every == 0)
        yield trainer.step(part, view=view)


# ------------------------------------------------------------- autoencoders ---

class Autoencoder(nn.Module):
    """An autoencoder (自動編碼器) of deck 000's shape: encoder 64 → hidden → code, decoder
    code → hidden → 64 with a sigmoid (pixels in [0, 1]). ``forward`` returns the
    reconstruction x'; :meth:`encode` the code."""

    def __init__(self, n_in: int = 64, code: int = 2, hidden: int = 64):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, code))
        self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, n_in), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class VAE(nn.Module):
    """A variational autoencoder (變分自動編碼器): the encoder gives q(z|x) = N(μ, diag σ²), a code
    is drawn as z = μ + σ ε (the reparameterization), the decoder gives p(x|z) (Bernoulli
    pixels, a sigmoid output). ``forward`` returns one tensor [x', μ, log σ²] per row,
    shape (N, n_in + 2·code), which :func:`vae_loss` unpacks (so that
    :func:`coursekit.train.train` can train it like any model)."""

    def __init__(self, n_in: int = 64, code: int = 2, hidden: int = 64):
        super().__init__()
        self.n_in, self.code = n_in, code
        self.encoder = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 2 * code))
        self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, n_in), nn.Sigmoid())

    def encode(self, x: torch.Tensor):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.encode(x)
        eps = torch.randn_like(mu) if self.training else torch.zeros_like(mu)   # the mean code when evaluating
        return torch.cat([self.decode(mu + torch.exp(0.5 * logvar) * eps), mu, logvar], dim=1)


def gaussian_kl(mu, logvar) -> np.ndarray:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (σ_j² + μ_j² - 1 - log σ_j²), one value per row.

    ``mu`` and ``logvar`` (= log σ²): shape (N, d) or (d,)."""
    mu = _array("mu", mu, ndim=(1, 2), shape="(N, d) or (d,): means")
    logvar = _array("logvar", logvar, ndim=(1, 2), shape="of mu: log-variances")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {mu.shape} and {logvar.shape}")
    return 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1.0 - logvar, axis=-1)


def kl_normal(mu_q, var_q, mu_p, var_p):
    """KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) for one-dimensional Gaussians, elementwise:
    log(σ_p/σ_q) + (σ_q² + (μ_q - μ_p)²) / (2σ_p²) - ½."""
    mu_q, mu_p = _array("mu_q", mu_q), _array("mu_p", mu_p)
    var_q = _array("var_q", var_q, low=0.0)
    var_p = _array("var_p", var_p, low=0.0)
    if np.any(var_q == 0) or np.any(var_p == 0):
        raise ValueError("variances must be > 0")
    out = 0.5 * np.log(var_p / var_q) + (var_q + (mu_q - mu_p) ** 2) / (2.0 * var_p) - 0.5
    return float(out) if np.ndim(out) == 0 else out


def reparameterize(mu, logvar, eps):
    """z = μ + σ ε with σ = exp(½ log σ²): a sample of N(μ, σ²) written as a differentiable
    function of μ and σ, the randomness moved into ε ~ N(0, I)."""
    mu, logvar, eps = (_array(n, v) for n, v in (("mu", mu), ("logvar", logvar), ("eps", eps)))
    return mu + np.exp(0.5 * logvar) * eps


def vae_loss(out: torch.Tensor, x: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """-ELBO per example, averaged: reconstruction (binary cross-entropy summed over the pixels,
    -log p(x|z)) plus β·KL(q(z|x) ‖ N(0, I)), for :class:`VAE` output ``out``."""
    n_in = x.shape[1]
    code = (out.shape[1] - n_in) // 2
    if out.ndim != 2 or out.shape[1] != n_in + 2 * code or code < 1:
        raise ValueError(f"vae_loss expects the VAE's output [x', μ, log σ²] of shape (N, {n_in} + 2·code) for "
                         f"inputs of shape (N, {n_in}); got {tuple(out.shape)}")
    x_hat, mu, logvar = out[:, :n_in], out[:, n_in:n_in + code], out[:, n_in + code:]
    reconstruction = F.binary_cross_entropy(x_hat, x, reduction="sum") / x.shape[0]
    kl = 0.5 * torch.sum(logvar.exp() + mu ** 2 - 1.0 - logvar) / x.shape[0]
    return reconstruction + beta * kl


# ------------------------------------------------------------------- CycleGAN ---

def cycle_consistency_loss(x, x_cycled, y, y_cycled) -> float:
    """L_cyc = E_x ‖F(G(x)) - x‖₁ + E_y ‖G(F(y)) - y‖₁, estimated on batches.

    ``x`` (N, d) and ``x_cycled`` = F(G(x)); ``y`` (M, d) and ``y_cycled`` = G(F(y)).
    ‖·‖₁ sums the absolute differences over the d coordinates; E is the mean over rows.
    """
    x = _array("x", x, ndim=2, shape="(N, d): samples of domain X")
    y = _array("y", y, ndim=2, shape="(M, d): samples of domain Y")
    x_cycled = _array("x_cycled", x_cycled, ndim=2, shape=f"{x.shape}: F(G(x))")
    y_cycled = _array("y_cycled", y_cycled, ndim=2, shape=f"{y.shape}: G(F(y))")
    if x_cycled.shape != x.shape or y_cycled.shape != y.shape:
        raise ValueError(f"x_cycled must have the shape of x {x.shape} and y_cycled that of y {y.shape}; got "
                         f"{x_cycled.shape} and {y_cycled.shape}")
    return float(np.abs(x_cycled - x).sum(axis=1).mean() + np.abs(y_cycled - y).sum(axis=1).mean())


def cyclegan_objective(dy_real, dy_fake, dx_real, dx_fake, cycle_loss: float, lam: float = 10.0) -> float:
    """L(G, F, D_X, D_Y) = L_GAN(G, D_Y) + L_GAN(F, D_X) + λ L_cyc, with each L_GAN the value
    function of its pair: ``dy_real`` = D_Y(y), ``dy_fake`` = D_Y(G(x)), ``dx_real`` = D_X(x),
    ``dx_fake`` = D_X(F(y)). G and F minimize it, D_X and D_Y maximize it."""
    lam = real_number("lam", lam, 0.0, meaning="the weight λ of the cycle loss")
    cycle_loss = real_number("cycle_loss", cycle_loss, 0.0)
    return value_function(dy_real, dy_fake) + value_function(dx_real, dx_fake) + lam * cycle_loss


@dataclass
class CycleState:
    """One CycleGAN update: ``adversarial`` (the generators' two non-saturating losses),
    ``cycle`` (L_cyc on the batch), ``d_loss`` (both discriminators' -V)."""

    step: int
    adversarial: float
    cycle: float
    d_loss: float


class CycleGAN:
    """CycleGAN on two 2-D domains: G: X → Y and F: Y → X (ReLU MLPs), discriminators D_Y
    (is it a real y?) and D_X (a real x?). Each :meth:`step` trains both discriminators
    once, then both generators on non-saturating adversarial losses plus λ·L_cyc.
    ``lam = 0`` drops the cycle loss: then nothing ties G(x) to its own x."""

    def __init__(self, X, Y, lam: float = 5.0, hidden: int = 64, lr: float = 2e-3, batch_size: int = 256,
                 seed: int = 0, device=None):
        X = _array("X", X, ndim=2, shape="(N, d): samples of domain X")
        Y = _array("Y", Y, ndim=2, shape="(M, d): samples of domain Y")
        if X.shape[1] != Y.shape[1] or not len(X) or not len(Y):
            raise ValueError(f"X and Y must be non-empty and of the same dimension, got {X.shape} and {Y.shape}")
        self.lam = real_number("lam", lam, 0.0, meaning="the weight λ of the cycle loss")
        self.batch_size = whole_number("batch_size", batch_size, 1, noun="integer", allow_float=False)
        seed = whole_number("seed", seed, 0, noun="integer", allow_float=False)
        self.device = _device(device)
        d = X.shape[1]
        torch.manual_seed(seed)
        self.G, self.F = mlp(d, hidden, d).to(self.device), mlp(d, hidden, d).to(self.device)
        self.D_X = mlp(d, hidden, 1, activation="leaky_relu").to(self.device)
        self.D_Y = mlp(d, hidden, 1, activation="leaky_relu").to(self.device)
        self.opt_gen = torch.optim.Adam([*self.G.parameters(), *self.F.parameters()], lr=lr, betas=(0.5, 0.999))
        self.opt_dis = torch.optim.Adam([*self.D_X.parameters(), *self.D_Y.parameters()], lr=lr, betas=(0.5, 0.999))
        self.X = torch.as_tensor(X, dtype=torch.float32, device=self.device)
        self.Y = torch.as_tensor(Y, dtype=torch.float32, device=self.device)
        self.gen = torch.Generator(device=self.device).manual_seed(seed)
        self.steps_done = 0

    def _batch(self, data: torch.Tensor) -> torch.Tensor:
        return data[torch.randint(0, len(data), (self.batch_size,), generator=self.gen, device=self.device)]

    def step(self) -> CycleState:
        with _threads(self.G, self.device):
            x, y = self._batch(self.X), self._batch(self.Y)
            with torch.no_grad():
                g_x, f_y = self.G(x), self.F(y)
            d_loss = (F.softplus(-self.D_Y(y)).mean() + F.softplus(self.D_Y(g_x)).mean()
                      + F.softplus(-self.D_X(x)).mean() + F.softplus(self.D_X(f_y)).mean())
            self.opt_dis.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_dis.step()
            g_x, f_y = self.G(x), self.F(y)
            adversarial = F.softplus(-self.D_Y(g_x)).mean() + F.softplus(-self.D_X(f_y)).mean()
            cycle = (self.F(g_x) - x).abs().sum(dim=1).mean() + (self.G(f_y) - y).abs().sum(dim=1).mean()
            loss = adversarial + self.lam * cycle
            self.opt_gen.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_gen.step()
        self.steps_done += 1
        return CycleState(self.steps_done, adversarial.item(), cycle.item(), d_loss.item())

    def train(self, steps: int) -> list[CycleState]:
        steps = whole_number("steps", steps, 1, noun="integer", allow_float=False)
        return [self.step() for _ in range(steps)]

    def maps(self, x=None, y=None):
        """G(x), F(G(x)) for ``x`` (default: the X data) and F(y), G(F(y)) for ``y``, as NumPy arrays."""
        x = self.X if x is None else torch.as_tensor(np.asarray(x), dtype=torch.float32, device=self.device)
        y = self.Y if y is None else torch.as_tensor(np.asarray(y), dtype=torch.float32, device=self.device)
        with torch.no_grad():
            g_x, f_y = self.G(x), self.F(y)
            out = g_x, self.F(g_x), f_y, self.G(f_y)
        return tuple(t.cpu().numpy().astype(np.float64) for t in out)


# ------------------------------------------------------------------ diffusion ---

@dataclass(frozen=True)
class NoiseSchedule:
    """β_1, ..., β_T of a diffusion process (``betas[t - 1]`` = β_t), and what follows from them:
    α_t = 1 - β_t and ᾱ_t = α_1 α_2 ⋯ α_t, so that x_t | x_0 ~ N(√ᾱ_t x_0, (1 - ᾱ_t) I)."""

    betas: np.ndarray

    @property
    def T(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> np.ndarray:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> np.ndarray:
        return np.cumprod(self.alphas)


def linear_schedule(T: int = 50, beta_1: float = 1e-4, beta_T: float = 0.02) -> NoiseSchedule:
    """β_t rising linearly from ``beta_1`` to ``beta_T`` over T steps (DDPM's schedule)."""
    T = whole_number("T", T, 1, noun="integer", allow_float=False, meaning="the number of noising steps")
    beta_1 = real_number("beta_1", beta_1, 0.0, 1.0, low_open=True, high_open=True)
    beta_T = real_number("beta_T", beta_T, 0.0, 1.0, low_open=True, high_open=True)
    return NoiseSchedule(np.linspace(beta_1, beta_T, T))


def _betas(betas) -> np.ndarray:
    if isinstance(betas, NoiseSchedule):
        return betas.betas
    arr = _array("betas", betas, ndim=1, shape="(T,): the schedule β_1..β_T, each in (0, 1)", low=0.0,
                 high=1.0)
    if arr.size == 0 or np.any(arr == 0) or np.any(arr == 1):
        raise ValueError("betas must hold T >= 1 numbers strictly between 0 and 1")
    return arr


def q_sample(x0, t: int, eps, betas) -> np.ndarray:
    """x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε: a sample of q(x_t | x_0) in one step (t = 1..T; t = 0 gives x_0).

    ``betas``: a :class:`NoiseSchedule` or the array β_1..β_T; ``eps``: standard normal
    noise of the shape of ``x0``."""
    betas = _betas(betas)
    t = whole_number("t", t, 0, len(betas), noun="integer", meaning="the diffusion step")
    x0 = _array("x0", x0)
    eps = _array("eps", eps, shape=f"{x0.shape}, like x0")
    if eps.shape != x0.shape:
        raise ValueError(f"eps must have the shape of x0 {x0.shape}, got {eps.shape}")
    alpha_bar = float(np.prod(1.0 - betas[:t]))
    return math.sqrt(alpha_bar) * x0 + math.sqrt(1.0 - alpha_bar) * eps


def forward_step(x_prev, beta_t: float, eps) -> np.ndarray:
    """One noising step, x_t = √(1 - β_t) x_{t-1} + √β_t ε: a sample of q(x_t | x_{t-1})."""
    beta_t = real_number("beta_t", beta_t, 0.0, 1.0, low_open=True, high_open=True)
    x_prev, eps = _array("x_prev", x_prev), _array("eps", eps)
    if eps.shape != x_prev.shape:
        raise ValueError(f"eps must have the shape of x_prev {x_prev.shape}, got {eps.shape}")
    return math.sqrt(1.0 - beta_t) * x_prev + math.sqrt(beta_t) * eps


def forward_process(x0, schedule: NoiseSchedule, seed: int = 0) -> list[np.ndarray]:
    """x_0, x_1, ..., x_T by T noising steps one after the other (fresh noise each step)."""
    rng = np.random.default_rng(seed)
    xs = [_array("x0", x0)]
    for beta in schedule.betas:
        xs.append(forward_step(xs[-1], beta, rng.standard_normal(xs[-1].shape)))
    return xs


def reverse_step(x_t, t: int, eps_hat, schedule: NoiseSchedule, z=None) -> np.ndarray:
    """One sampling step of DDPM, x_{t-1} = (x_t - β_t/√(1 - ᾱ_t) ε̂) / √α_t + σ_t z, with
    σ_t² = β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t) (the variance of q(x_{t-1} | x_t, x_0)); no noise at t = 1."""
    t = whole_number("t", t, 1, schedule.T, noun="integer", meaning="the diffusion step")
    x_t, eps_hat = _array("x_t", x_t), _array("eps_hat", eps_hat)
    beta, alpha, abar = schedule.betas[t - 1], schedule.alphas[t - 1], schedule.alpha_bars[t - 1]
    mean = (x_t - beta / math.sqrt(1.0 - abar) * eps_hat) / math.sqrt(alpha)
    if t == 1:
        return mean
    abar_prev = schedule.alpha_bars[t - 2]
    sigma = math.sqrt(beta * (1.0 - abar_prev) / (1.0 - abar))
    z = np.zeros_like(x_t) if z is None else _array("z", z)
    return mean + sigma * z


def sinusoidal_embedding(t, dim: int = 32) -> torch.Tensor:
    """The sinusoidal embedding of time steps (as the Transformer's positional encoding):
    [sin(t ω_0), ..., sin(t ω_{h-1}), cos(t ω_0), ..., cos(t ω_{h-1})], ω_i = 10000^(-i/(h-1)), h = dim/2."""
    t = torch.as_tensor(t, dtype=torch.float32)
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / max(half - 1, 1))
    angles = t.reshape(-1, 1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class _Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + F.gelu(self.linear(h))


class NoisePredictor(nn.Module):
    """ε̂_θ(x_t, t): an MLP of ``blocks`` residual GELU blocks of ``width`` units, fed x_t and a
    sinusoidal embedding of t. Input rows are [x_t (d values), t]: shape (N, d + 1), so that
    :func:`coursekit.train.train` trains it on (input, noise) pairs; output ε̂, shape (N, d)."""

    def __init__(self, d: int = 2, width: int = 128, blocks: int = 3, time_dim: int = 32):
        super().__init__()
        self.d, self.time_dim = d, time_dim
        self.inp = nn.Linear(d + time_dim, width)
        self.blocks = nn.Sequential(*[_Residual(width) for _ in range(blocks)])
        self.out = nn.Linear(width, d)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x, t = inputs[:, :self.d], inputs[:, self.d]
        h = F.gelu(self.inp(torch.cat([x, sinusoidal_embedding(t, self.time_dim).to(x)], dim=1)))
        return self.out(self.blocks(h))


def noise_prediction_data(x0, schedule: NoiseSchedule, draws: int = 1, seed: int = 0):
    """The noise predictor's training set: for each data point, ``draws`` random times t ~ U{1..T}
    and noises ε; inputs [x_t, t] with x_t from the closed form, targets ε. Returns float32
    arrays ``(inputs (N·draws, d + 1), eps (N·draws, d))``."""
    x0 = _array("x0", x0, ndim=2, shape="(N, d): data points")
    draws = whole_number("draws", draws, 1, noun="integer", allow_float=False)
    rng = np.random.default_rng(seed)
    x0 = np.repeat(x0, draws, axis=0)
    t = rng.integers(1, schedule.T + 1, size=len(x0))
    eps = rng.standard_normal(x0.shape)
    abar = schedule.alpha_bars[t - 1][:, None]
    x_t = np.sqrt(abar) * x0 + np.sqrt(1.0 - abar) * eps
    return np.column_stack([x_t, t]).astype(np.float32), eps.astype(np.float32)


def sample_diffusion(model: nn.Module, schedule: NoiseSchedule, n: int = 1000, seed: int = 0,
                     keep: Sequence[int] = (), device=None):
    """Draw ``n`` samples: x_T ~ N(0, I), then T reverse steps with the model's noise estimate.

    Returns the samples x_0 (NumPy, (n, d)) and a dict {t: x_t} of the steps listed in ``keep``
    (T for the start)."""
    n = whole_number("n", n, 1, noun="integer", allow_float=False)
    device = next(model.parameters()).device if device is None else torch.device(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    betas = torch.as_tensor(schedule.betas, dtype=torch.float32, device=device)
    alphas, abars = 1.0 - betas, torch.cumprod(1.0 - betas, dim=0)
    x = torch.randn(n, model.d, generator=gen, device=device)
    kept = {schedule.T: x.cpu().numpy().astype(np.float64)} if schedule.T in keep else {}
    was_training = model.training
    model.eval()
    with _threads(model, device), torch.no_grad():
        for t in range(schedule.T, 0, -1):
            inputs = torch.cat([x, torch.full((n, 1), float(t), device=device)], dim=1)
            eps_hat = model(inputs)
            i = t - 1
            x = (x - betas[i] / torch.sqrt(1.0 - abars[i]) * eps_hat) / torch.sqrt(alphas[i])
            if t > 1:
                sigma = torch.sqrt(betas[i] * (1.0 - abars[i - 1]) / (1.0 - abars[i]))
                x = x + sigma * torch.randn(x.shape, generator=gen, device=device)
            if t - 1 in keep:
                kept[t - 1] = x.cpu().numpy().astype(np.float64)
    model.train(was_training)
    return x.cpu().numpy().astype(np.float64), kept
