"""Transfer learning and robustness (遷移學習與強健性), unit 08.

* **Transfer**: features from a chosen layer of a trained network
  (:func:`extract_features`), a linear probe on them (:func:`linear_probe`),
  a copy of the network with a new head for fine-tuning or a frozen body
  (:func:`new_head`), a few labelled examples per class
  (:func:`few_per_class`), and the tables of deck 000's "factors of
  transferability" as data (:data:`TRANSFER_TABLES`).
* **Adversarial examples** (對抗樣本): the ε-balls of the L1, L2 and L∞ norms
  (:func:`ball_boundary`), projection onto them (:func:`project`), FGSM
  ``x + ε·sign(∇ₓ l)`` (:func:`fgsm`), PGD with a random start, steps and
  projection (:func:`pgd`), both with targeted variants, a random-noise
  baseline (:func:`random_sign_noise`), accuracy under attack for several ε
  (:func:`accuracy_under_attack`), and adversarial training through
  ``coursekit.train`` (:class:`AdversarialBatches`): min over θ of the max
  over the ball.
* **Looking inside**: saliency maps (:func:`saliency_map`), inputs optimized
  to excite a layer or a class (:func:`optimize_input`, :func:`deep_dream`),
  Gram-matrix style (:func:`gram_matrix`), and a ViT's view of an image as a
  sequence of patches (:func:`image_to_patches`).

Attacks work on batches of images in [0, 1] (``clip``) for any classifier
that returns logits; the loss is the cross-entropy unless another is given.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._validate import real_array, real_number, whole_number
from .device import model_threads

__all__ = [
    "NORMS", "norm", "ball_boundary", "project", "input_gradient", "fgsm", "pgd", "random_sign_noise",
    "accuracy", "accuracy_under_attack", "AdversarialBatches", "saliency_map", "extract_features",
    "linear_probe", "few_per_class", "new_head", "optimize_input", "deep_dream", "gram_matrix",
    "image_to_patches", "TRANSFER_TABLES", "error_reduction", "ROBUST_CNN_FILE", "ROBUST_EPS",
    "train_robust_digits_cnn", "load_robust_digits_cnn", "fgsm_step", "project_linf", "nearest_centroid_accuracy",
]

NORMS = ("1", "2", "inf")
CLIP = (0.0, 1.0)   # pixel range of the workbook's images



def _norm_name(p) -> str:
    name = str(p).lower().replace("∞", "inf").replace("l", "")
    if name in ("infinity", "linf"):
        name = "inf"
    if name not in NORMS:
        raise ValueError(f"norm must be 1, 2 or 'inf' (the L1, L2 or L∞ norm), got {p!r}")
    return name


# ------------------------------------------------------- norms and balls ---


def norm(delta: torch.Tensor, p="inf") -> torch.Tensor:
    """The Lp norm of each example's perturbation (all axes but the first): ``‖δ‖_p`` of shape (N,)."""
    p = _norm_name(p)
    flat = delta.reshape(delta.shape[0], -1)
    if p == "inf":
        return flat.abs().amax(dim=1)
    return flat.norm(p=int(p), dim=1)


def ball_boundary(p="2", eps: float = 1.0, n: int = 400) -> np.ndarray:
    """``n`` points on the boundary of the 2-D ball ``{v : ‖v‖_p = ε}``, in order around it: (n, 2).

    The L1 ball is a diamond, the L2 ball a circle, the L∞ ball a square: each
    direction (cos t, sin t) is scaled until its norm is ε.
    """
    p = _norm_name(p)
    eps = real_number("eps", eps, 0.0, low_open=True)
    n = whole_number("n", n, 4, allow_float=False)
    t = np.linspace(0.0, 2.0 * np.pi, n)
    directions = np.column_stack([np.cos(t), np.sin(t)])
    lengths = np.linalg.norm(directions, ord=np.inf if p == "inf" else int(p), axis=1)
    return eps * directions / lengths[:, None]


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: float, p="inf", clip=CLIP) -> torch.Tensor:
    """The point of the ε-ball around ``x`` (and of the pixel range ``clip``) nearest ``x_adv``, per example.

    L∞: clamp every pixel's change to [−ε, ε]. L2: shrink the change δ to
    length ε when it is longer (δ·ε/‖δ‖₂). Then clamp to the valid pixel range
    (``clip=None`` skips that); for L∞ the result is still in the ball. (For L2
    the clamp can only shorten δ: it stays in the ball.)
    """
    p = _norm_name(p)
    if p == "1":
        raise ValueError("projection is implemented for the L2 and L∞ balls (use p=2 or p='inf')")
    delta = x_adv - x
    if p == "inf":
        delta = delta.clamp(-eps, eps)
    else:
        length = norm(delta, "2").clamp_min(1e-12).reshape(-1, *[1] * (x.dim() - 1))
        delta = delta * torch.clamp(eps / length, max=1.0)
    out = x + delta
    return out.clamp(*clip) if clip is not None else out


# ------------------------------------------------ one step, in NumPy (exercises) ---


def fgsm_step(x, grad, eps: float, *, targeted: bool = False, clip=CLIP) -> np.ndarray:
    """FGSM on arrays, given the gradient ∇ₓl: ``x + ε·sign(grad)`` (``x − ε·sign(grad)`` when
    ``targeted``, ``grad`` then being the gradient of the target's loss), clipped to ``clip``."""
    x = real_array("x", x, (1, 2, 3, 4), dtype=None)
    grad = real_array("grad", grad, x.ndim, f"{x.shape}, that of x", dtype=None)
    if grad.shape != x.shape:
        raise ValueError(f"grad must have the shape of x, {x.shape}, got {grad.shape}")
    out = x + (-1.0 if targeted else 1.0) * _check_eps(eps) * np.sign(grad)
    return np.clip(out, *clip) if clip is not None else out


def project_linf(x_adv, x, eps: float, clip=CLIP) -> np.ndarray:
    """The projection onto the L∞ ball of radius ε around ``x`` (then onto the pixel range), on arrays:
    every pixel's change is clamped to [−ε, ε]."""
    x = real_array("x", x, (1, 2, 3, 4), dtype=None)
    x_adv = real_array("x_adv", x_adv, x.ndim, f"{x.shape}, that of x", dtype=None)
    if x_adv.shape != x.shape:
        raise ValueError(f"x_adv must have the shape of x, {x.shape}, got {x_adv.shape}")
    eps = _check_eps(eps)
    out = np.clip(x_adv, x - eps, x + eps)
    return np.clip(out, *clip) if clip is not None else out


def nearest_centroid_accuracy(train_features, y_train, test_features, y_test) -> float:
    """The simplest linear probe: one prototype per class, the mean of its training features; a test
    example gets the class of the nearest prototype (Euclidean). Returns the test accuracy."""
    train_features = real_array("train_features", train_features, 2, "(N, D), one row per example")
    test_features = real_array("test_features", test_features, 2, "(N, D), one row per example")
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = np.unique(y_train)
    centroids = np.stack([train_features[y_train == c].mean(axis=0) for c in classes])
    distances = ((test_features[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    return float(np.mean(classes[distances.argmin(axis=1)] == y_test))


# --------------------------------------------------------------- attacks ---


def _loss_fn(loss_fn):
    return F.cross_entropy if loss_fn is None else loss_fn


def _check_eps(eps) -> float:
    return real_number("eps", eps, 0.0, meaning="the radius of the ball the perturbation stays in")


@model_threads
@torch.enable_grad()
def input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=None) -> torch.Tensor:
    """∇ₓ l(f(x), y): how the loss changes with each pixel, for a batch (the model's parameters are not touched)."""
    x = x.detach().clone().requires_grad_(True)
    loss = _loss_fn(loss_fn)(model(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    return grad


@model_threads
def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *, targeted: bool = False,
         loss_fn=None, clip=CLIP) -> torch.Tensor:
    """The fast gradient sign method (Goodfellow et al. 2015), one step to the corner of the L∞ ball.

    Untargeted (``y`` the true labels): ``x + ε·sign(∇ₓ l(f(x), y))``, up the
    loss. Targeted (``y`` the labels to reach): ``x − ε·sign(∇ₓ l(f(x), y))``,
    down the loss of the target. Clamped to the pixel range ``clip``.
    """
    eps = _check_eps(eps)
    step = eps * input_gradient(model, x, y, loss_fn).sign()
    x_adv = x - step if targeted else x + step
    return x_adv.clamp(*clip).detach() if clip is not None else x_adv.detach()


@model_threads
def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *, steps: int = 20,
        step_size: float | None = None, p="inf", random_start: bool = True, targeted: bool = False,
        loss_fn=None, clip=CLIP, seed: int = 0, return_losses: bool = False):
    """Projected gradient descent (ascent) (Madry et al. 2018) in the Lp ball of radius ε.

    From a random start in the ball (``random_start``), ``steps`` times: a step
    of length ``step_size`` (default 2.5·ε/steps) along ``sign(∇ₓ l)`` (L∞) or
    ``∇ₓ l / ‖∇ₓ l‖₂`` (L2), then :func:`project` back onto the ball and the
    pixel range. Targeted: steps go down the target's loss. ``seed`` fixes the
    random start. Returns the adversarial batch (and, with ``return_losses``,
    the mean loss after each step).
    """
    eps = _check_eps(eps)
    p = _norm_name(p)
    steps = whole_number("steps", steps, 1, allow_float=False)
    step_size = 2.5 * eps / steps if step_size is None else real_number("step_size", step_size, 0.0)
    sign = -1.0 if targeted else 1.0
    x = x.detach()
    x_adv = x.clone()
    if random_start and eps > 0:
        generator = torch.Generator(device="cpu").manual_seed(whole_number("seed", seed, 0, allow_float=False))
        noise = torch.rand(x.shape, generator=generator).to(x.device) * 2 - 1           # uniform in [-1, 1]
        if p == "2":   # a random direction, a random length in [0, ε]
            noise = noise / norm(noise, "2").clamp_min(1e-12).reshape(-1, *[1] * (x.dim() - 1))
            noise = noise * torch.rand(x.shape[0], generator=generator).to(x.device).reshape(
                -1, *[1] * (x.dim() - 1))
        x_adv = project(x + eps * noise, x, eps, p, clip)
    losses = []
    for _ in range(steps):
        grad = input_gradient(model, x_adv, y, loss_fn)
        if p == "inf":
            direction = grad.sign()
        else:
            direction = grad / norm(grad, "2").clamp_min(1e-12).reshape(-1, *[1] * (x.dim() - 1))
        x_adv = project(x_adv + sign * step_size * direction, x, eps, p, clip)
        if return_losses:
            with torch.no_grad():
                losses.append(float(_loss_fn(loss_fn)(model(x_adv), y)))
    return (x_adv.detach(), losses) if return_losses else x_adv.detach()


def random_sign_noise(x: torch.Tensor, eps: float, *, seed: int = 0, clip=CLIP) -> torch.Tensor:
    """A baseline beside FGSM: a random corner of the same L∞ ball, ``x + ε·(±1 at random)``."""
    eps = _check_eps(eps)
    generator = torch.Generator(device="cpu").manual_seed(whole_number("seed", seed, 0, allow_float=False))
    signs = torch.randint(0, 2, x.shape, generator=generator).to(x.device, x.dtype) * 2 - 1
    out = x + eps * signs
    return out.clamp(*clip) if clip is not None else out


@model_threads
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The share of examples that ``model`` classifies as ``y`` (evaluation mode, no gradients)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        right = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train(was_training)
    return right


@model_threads
def accuracy_under_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: Callable,
                          eps_values: Sequence[float], **attack_args) -> list[float]:
    """Accuracy on ``attack(model, x, y, eps, **attack_args)`` for each ε (ε = 0 is the clean accuracy)."""
    was_training = model.training
    model.eval()
    try:
        return [accuracy(model, x if eps == 0 else attack(model, x, y, eps, **attack_args), y) for eps in eps_values]
    finally:
        model.train(was_training)


class AdversarialBatches:
    """Training batches attacked against the model being trained: adversarial training through ``coursekit.train``.

    Each time ``coursekit.train`` asks for an epoch's batches, the data are
    shuffled (seeded) and cut into batches of ``batch_size``; each batch is
    attacked (``attack(model, x, y, eps, **attack_args)``, PGD by default) with
    the model's *current* weights, in evaluation mode. So training solves

        min over θ of  E[ max over x' in B_ε(x) of  l(f(x'; θ), y) ]

    (Madry et al.), with ``clean_share=0``. With ``clean_share=0.5`` each batch
    holds the clean examples and their adversarial versions, so the loss is the
    average of the clean and the adversarial loss: deck 002's recipe.
    """

    def __init__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor, eps: float, *, batch_size: int = 64,
                 attack: Callable = None, clean_share: float = 0.0, seed: int = 0, **attack_args):
        if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) or X.shape[0] != y.shape[0]:
            raise ValueError("X and y must be tensors holding the same number of examples")
        self.model, self.X, self.y = model, X, y
        self.eps = _check_eps(eps)
        self.batch_size = whole_number("batch_size", batch_size, 1, allow_float=False)
        self.attack = pgd if attack is None else attack
        self.clean_share = real_number("clean_share", clean_share, 0.0, 1.0)
        if self.clean_share not in (0.0, 0.5):
            raise ValueError("clean_share must be 0 (adversarial examples only) or 0.5 (clean and adversarial, "
                             f"one of each), got {clean_share}")
        self.attack_args = attack_args
        self.generator = torch.Generator().manual_seed(whole_number("seed", seed, 0, allow_float=False))
        self.epochs_served = 0

    def __len__(self) -> int:
        return -(-self.X.shape[0] // self.batch_size)

    def __iter__(self):
        device = next(self.model.parameters()).device
        order = torch.randperm(self.X.shape[0], generator=self.generator)
        self.epochs_served += 1
        for k, start in enumerate(range(0, len(order), self.batch_size)):
            idx = order[start:start + self.batch_size]
            xb, yb = self.X[idx].to(device), self.y[idx].to(device)
            was_training = self.model.training
            self.model.eval()
            args = dict(self.attack_args)
            if self.attack is pgd:
                args.setdefault("seed", self.epochs_served * 100_003 + k)   # a fresh random start per batch
            x_adv = self.attack(self.model, xb, yb, self.eps, **args)
            self.model.train(was_training)
            if self.clean_share:
                yield torch.cat([xb, x_adv]), torch.cat([yb, yb])
            else:
                yield x_adv, yb


# ----------------------------------------------------------- looking inside ---


@model_threads
def saliency_map(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """|∂ s_target / ∂x|: how strongly each pixel moves the score of ``target`` (default: the predicted class).

    Returns one map per image, the largest absolute gradient over the channels: (N, H, W).
    """
    was_training = model.training
    model.eval()
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        scores = model(x)
        if target is None:
            target = scores.argmax(dim=1)
        chosen = scores.gather(1, target.reshape(-1, 1)).sum()
        (grad,) = torch.autograd.grad(chosen, x)
    model.train(was_training)
    grad = grad.abs()
    return grad.amax(dim=1) if grad.dim() == 4 else grad


@model_threads
def extract_features(model: nn.Module, x, layer: str | nn.Module, batch_size: int = 512) -> np.ndarray:
    """What the layer ``layer`` (a submodule or its name in ``model.named_modules()``) outputs for each
    input, flattened to one row per example: a NumPy array (N, D) for a linear probe, PCA or plots."""
    if isinstance(layer, str):
        modules = dict(model.named_modules())
        if layer not in modules:
            raise ValueError(f"layer {layer!r} is not a part of the model; its parts are: "
                             f"{', '.join(name for name in modules if name)}")
        layer = modules[layer]
    captured = []
    hook = layer.register_forward_hook(lambda m, i, o: captured.append(o.detach().flatten(1).cpu()))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                model(torch.as_tensor(x[start:start + batch_size], dtype=torch.float32).to(device))
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(captured).numpy()


def linear_probe(train_features, y_train, test_features, y_test, *, C: float = 1.0) -> float:
    """Test accuracy of a logistic-regression classifier trained on frozen features (a *linear probe*).

    Features are standardized with the training set's mean and standard deviation first.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_features = real_array("train_features", train_features, 2, "(N, D), one row per example")
    test_features = real_array("test_features", test_features, 2, "(N, D), one row per example")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"train and test features must have the same width D, got {train_features.shape} and "
                         f"{test_features.shape}")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    probe.fit(train_features, np.asarray(y_train))
    return float(probe.score(test_features, np.asarray(y_test)))


def few_per_class(y, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of ``per_class`` examples of every class in ``y``, drawn without replacement (seeded), sorted."""
    y = np.asarray(y)
    per_class = whole_number("per_class", per_class, 1, allow_float=False)
    rng = np.random.default_rng(whole_number("seed", seed, 0, allow_float=False))
    chosen = []
    for label in np.unique(y):
        where = np.flatnonzero(y == label)
        if len(where) < per_class:
            raise ValueError(f"class {label} has only {len(where)} examples, fewer than per_class = {per_class}")
        chosen.append(rng.choice(where, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def new_head(model: nn.Module, num_classes: int, *, head: str = "fc", freeze: bool = False,
             seed: int = 0) -> nn.Module:
    """A copy of a trained ``model`` with a fresh output layer for ``num_classes`` classes.

    ``freeze=True`` stops gradients to everything but the new head (the frozen
    network is a feature extractor); ``False`` leaves every weight trainable
    (fine-tuning, best with a smaller learning rate so the features learnt on the
    source task are not forgotten). The original model is not changed.
    """
    model = copy.deepcopy(model)
    old = getattr(model, head, None)
    if not isinstance(old, nn.Linear):
        raise ValueError(f"model.{head} must be the nn.Linear output layer to replace, got {type(old).__name__}")
    for parameter in model.parameters():
        parameter.requires_grad_(not freeze)
    torch.manual_seed(whole_number("seed", seed, 0, allow_float=False))
    setattr(model, head, nn.Linear(old.in_features, whole_number("num_classes", num_classes, 1, allow_float=False)))
    return model.to(old.weight.device)


@model_threads
def optimize_input(model: nn.Module, x0: torch.Tensor, objective: Callable[[nn.Module, torch.Tensor], torch.Tensor],
                   *, steps: int = 100, lr: float = 0.05, clip=CLIP) -> tuple[torch.Tensor, list[float]]:
    """Gradient *ascent* on the input: change ``x`` (not the weights) to raise ``objective(model, x)``.

    The tool behind layer and class visualizations (what image excites this
    filter, or looks most like a 3 to the network?) and Deep Dream. Adam on the
    pixels, kept in the pixel range ``clip``. Returns the optimized input and
    the objective after each step.
    """
    steps = whole_number("steps", steps, 1, allow_float=False)
    was_training = model.training
    model.eval()
    x = x0.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=real_number("lr", lr, 0.0, low_open=True))
    values = []
    with torch.enable_grad():
        for _ in range(steps):
            value = objective(model, x)
            optimizer.zero_grad()
            (-value).backward()
            optimizer.step()
            with torch.no_grad():
                if clip is not None:
                    x.clamp_(*clip)
            values.append(float(value.detach()))
    model.train(was_training)
    return x.detach(), values


def deep_dream(model: nn.Module, x: torch.Tensor, layer: str, *, steps: int = 50, lr: float = 0.02):
    """Deep Dream on the digits CNN: amplify whatever ``layer`` (a name of ``model.features``) already
    sees in ``x`` by raising the mean square of its activations. Returns (dreamed image, objective per step)."""
    return optimize_input(model, x, lambda m, z: m.features(z, layer).pow(2).mean(), steps=steps, lr=lr)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Style as Gatys et al. measure it: the correlations between a layer's channels,
    ``G[c, d] = Σ_positions F[c, pos]·F[d, pos] / positions``, one (C, C) matrix per image."""
    N, C = features.shape[:2]
    flat = features.reshape(N, C, -1)
    return flat @ flat.transpose(1, 2) / flat.shape[-1]


def image_to_patches(images, patch: int) -> np.ndarray:
    """A ViT's first step: cut each image into non-overlapping ``patch``×``patch`` squares, left to
    right and top to bottom, each flattened into one token: (N, H, W) → (N, (H/patch)·(W/patch), patch²)."""
    images = real_array("images", images, 3, "(N, H, W), grey images")
    patch = whole_number("patch", patch, 1, allow_float=False)
    N, H, W = images.shape
    if H % patch or W % patch:
        raise ValueError(f"patch = {patch} must divide the image's height and width, got images of {H}×{W}")
    grid = images.reshape(N, H // patch, patch, W // patch, patch).transpose(0, 1, 3, 2, 4)
    return grid.reshape(N, (H // patch) * (W // patch), patch * patch)


# ---------------------------------------------- deck 000: factors of transfer ---


def error_reduction(baseline: float, improved: float) -> float:
    """The share of the baseline's errors that the improved method removes:
    ``(improved − baseline) / (100 − baseline)`` for accuracies in per cent."""
    return (improved - baseline) / (100.0 - baseline)


@dataclass(frozen=True)
class Table:
    """One of deck 000's tables: ``rows`` (the settings compared) × ``columns`` (the target tasks)."""

    title: str
    columns: tuple[str, ...]
    rows: dict[str, tuple[float | None, ...]]
    source: str = "deck 000 (Azizpour et al., Factors of Transferability, TPAMI 2015)"


TRANSFER_TABLES = {
    "fine_tuning": Table("Fine-tuning (Medium network, FC7 features)", ("MIT", "CUB", "Flower"),
                         {"FC7 features": (65.9, 62.9, 90.4), "fine-tuned": (66.3, 66.4, 91.4)}),
    "classifier": Table("Choice of classifier on the same features", ("VOC07", "MIT", "Pet"),
                        {"linear SVM": (72.8, 63.7, 79.6), "logistic regression": (71.7, 63.6, 79.5),
                         "neural network, ReLU": (None, 61.3, 81.9),
                         "neural network, exponentiated": (None, 63.0, 80.4),
                         "perceptron (no ReLU, no dropout)": (None, 59.6, 78.2)}),
    "adding_data": Table("Adding labelled data: VOC 2007 detection AP", ("bird", "cat", "dog"),
                         {"ConvNet": (38.5, 51.4, 46.0), "fine-tuned on VOC": (50.0, 60.7, 56.1),
                          "fine-tuned on VOC + CUB + Pet": (51.3, 63.0, 57.2)}),
    "source_task": Table("Source task (12 target tasks; Stanford 40 is missing for two rows)",
                         ("VOC07", "MIT", "SUN", "H3D", "UIUC", "Pet", "CUB", "Flower", "Act40", "Oxf.", "Scul.",
                          "UKB"),
                         {"ImageNet": (71.6, 64.9, 49.6, 73.8, 90.4, 78.4, 62.7, 90.5, 58.9, 71.2, 52.0, 93.0),
                          "Places": (68.5, 69.3, 55.7, 68.0, 88.8, 49.9, 42.2, 82.4, 53.0, 70.0, 44.2, 88.7),
                          "Hybrid": (72.7, 69.6, 56.0, 72.6, 90.2, 72.4, 58.3, 89.4, 58.2, 72.3, 52.3, 92.2),
                          "Concat": (73.8, 70.8, 56.2, 74.2, 90.4, 75.6, 60.3, 90.2, None, 72.1, 54.0, 93.2)}),
    "optimized": Table("Standard vs per-task optimized settings",
                       ("VOC07", "MIT", "SUN", "SunAtt", "UIUC", "H3D", "Pet", "CUB", "Flower", "VOCa.", "Act40",
                        "Phrase", "Holid.", "UKB", "Oxf.", "Paris", "Scul."),
                       {"best non-ConvNet": (71.1, 68.5, 37.5, 87.5, 90.2, 69.1, 59.2, 62.7, 90.2, 69.6, 45.7, 41.5,
                                             82.2, 89.4, 81.7, 78.2, 45.4),
                        "Deep Standard": (71.8, 64.9, 49.6, 91.4, 90.6, 73.8, 78.5, 62.8, 90.5, 69.2, 58.9, 77.3,
                                          86.2, 93.0, 73.0, 81.3, 53.7),
                        "Deep Optimized": (80.7, 71.3, 56.0, 92.5, 91.5, 74.6, 88.1, 67.1, 91.3, 74.3, 66.4, 82.3,
                                           90.0, 96.3, 79.0, 85.1, 67.9),
                        "printed error reduction (%)": (32, 18, 13, 13, 10, 4, 45, 12, 8, 17, 18, 22, 28, 47, 22,
                                                        20, 31)}),
    "width": Table("Network width at fixed depth: total weights N_T (millions)", ("N_T",),
                   {"Tiny (A)": (14,), "Small (C)": (29,), "Medium (E)": (59,), "Large (F)": (138,)}),
    "depth": Table("Network depth at (about) fixed size: total weights N_T (millions)", ("N_T", "output dim"),
                   {"Deep8": (85, 8 * 8 * 256), "Deep11": (86, 8 * 8 * 256), "Deep13": (86, 8 * 8 * 256),
                    "Deep16": (87, 8 * 8 * 256)}),
}


# ------------------------------------------- the adversarially trained CNN ---

ROBUST_CNN_FILE = "digits_cnn_robust.npy"
ROBUST_EPS = 0.2   # the L∞ radius the shipped robust model was trained at (pixels in [0, 1])


def train_robust_digits_cnn(*, eps: float = ROBUST_EPS, steps: int = 7, epochs: int = 20, lr: float = 3e-3,
                            clean_share: float = 0.0, seed: int = 0, device=None, progress=False):
    """Adversarial training of unit 07's :class:`~coursekit.conv.DigitsCNN` (Madry et al.'s min–max).

    Every batch is replaced by its PGD adversarial examples (L∞ ball of radius
    ``eps``, ``steps`` steps, random start) against the current weights;
    ``clean_share=0.5`` trains on clean and adversarial examples together
    (deck 002's recipe). Otherwise as :func:`coursekit.conv.train_digits_cnn`.
    Returns ``(model, history, clean test accuracy)``.
    """
    from . import conv
    from .device import set_seed
    from .train import evaluate, train

    (X_train, y_train), test_data = conv.digits_split()
    set_seed(whole_number("seed", seed, 0, allow_float=False))
    model = conv.DigitsCNN()
    batches = AdversarialBatches(model, X_train, y_train, eps, batch_size=64, clean_share=clean_share, seed=seed,
                                 steps=steps)
    history = train(model, batches, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=lr),
                    epochs=epochs, seed=seed, device=device, progress=progress)
    model.eval()
    return model, history, evaluate(model, test_data)["accuracy"]


def load_robust_digits_cnn(device=None):
    """The digits CNN adversarially trained at ε = :data:`ROBUST_EPS` (shipped weights, checksum-checked), in eval mode."""
    from . import conv
    from .datasets import load_file
    from .device import get_device

    model = conv.load_weights(conv.DigitsCNN(), load_file(ROBUST_CNN_FILE))
    return model.to(get_device() if device is None else device).eval()
