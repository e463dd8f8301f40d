"""Deep feed-forward networks in PyTorch for unit 06's experiments and the network playground.

* :func:`mlp` builds a fully connected network from a list of hidden widths, with a
  choice per layer of activation and dropout, optional batch norm and an
  initialization rule (those of :mod:`coursekit.initialization`, through ``torch.nn.init``);
* :func:`layer_gradient_norms` measures ‖∂L/∂Wˡ‖ for every layer: the picture of
  vanishing gradients (梯度消失) in a deep sigmoid network;
* :func:`dead_fraction` counts ReLU units that output 0 for every input (dead ReLUs);
* :func:`square_error_loss` is deck 004's "mse" on softmax outputs, beside cross-entropy;
* :func:`soft_cross_entropy` takes probability targets (label smoothing, mixup, CutMix).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ._validate import real_number, whole_number

__all__ = ["ACTIVATIONS", "INITS", "mlp", "linear_layers", "layer_gradient_norms", "hidden_activations",
           "dead_fraction", "square_error_loss", "soft_cross_entropy", "count_parameters", "MixedBatches",
           "Deck004SGD", "SqrtDecaySGD"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),  # the decks' slope 0.1
    "elu": nn.ELU,
}

#: initialization rules: PyTorch's default for nn.Linear, or one of unit 06's rules (biases 0)
INITS = ("default", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "normal", "zeros")


def _per_layer(name: str, value, n: int, check) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"{name} must be one value or one per hidden layer ({n}), got {len(values)}")
    return [check(v) for v in values]


def _activation_name(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}; got {name!r}")
    return name


def _init_linear(layer: nn.Linear, init: str, activation: str, std: float, bias: float) -> None:
    if init == "default":
        if bias:
            nn.init.constant_(layer.bias, bias)
        return
    w = layer.weight  # shape (n_out, n_in): torch's fan_in is n_in, as in our (n_in, n_out) W
    if init == "xavier_normal":
        nn.init.xavier_normal_(w)
    elif init == "xavier_uniform":
        nn.init.xavier_uniform_(w)
    elif init in ("he_normal", "he_uniform"):
        relu_like = activation in ("relu", "leaky_relu", "elu")
        kind = nn.init.kaiming_normal_ if init == "he_normal" else nn.init.kaiming_uniform_
        # He's rule is for ReLU; for other units torch's gain for that unit replaces √2
        kind(w, nonlinearity="relu" if relu_like else ("tanh" if activation == "tanh" else "linear"))
    elif init == "normal":
        nn.init.normal_(w, 0.0, std)
    elif init == "zeros":
        nn.init.zeros_(w)
    nn.init.constant_(layer.bias, bias)


def mlp(n_in: int, hidden: Sequence[int], n_out: int, activation="relu", init: str = "default",
        dropout=0.0, batch_norm: bool = False, bias: float = 0.0, std: float = 0.01,
        seed: int | None = 0) -> nn.Sequential:
    """A fully connected network n_in → hidden[0] → ... → hidden[-1] → n_out (logits, no output activation).

    ``activation`` and ``dropout`` (the drop probability after each hidden layer's activation) are one
    value for every hidden layer or one per layer. ``batch_norm`` puts a BatchNorm1d between each hidden
    layer's affine map and its activation (as deck 002 places it). ``init`` is one of :data:`INITS`;
    ``bias`` is the initial value of the hidden layers' biases (a large negative one kills ReLUs);
    ``std`` the standard deviation of ``init="normal"``. ``seed`` seeds torch's generator first
    (``None``: leave it). An empty ``hidden`` gives a linear model.
    """
    n_in = whole_number("n_in", n_in, 1, noun="integer")
    n_out = whole_number("n_out", n_out, 1, noun="integer")
    hidden = [whole_number(f"hidden[{i}]", h, 1, noun="integer", meaning="units in a hidden layer")
              for i, h in enumerate(hidden)]
    activations = _per_layer("activation", activation, len(hidden), _activation_name)
    drops = _per_layer("dropout", dropout, len(hidden),
                       lambda p: real_number("dropout", p, 0.0, 1.0, high_open=True, meaning="a drop probability"))
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}; got {init!r}")
    bias = real_number("bias", bias)
    if seed is not None:
        torch.manual_seed(whole_number("seed", seed, 0, noun="integer"))
    layers: list[nn.Module] = []
    width = n_in
    for h, act, p in zip(hidden, activations, drops):
        linear = nn.Linear(width, h)
        _init_linear(linear, init, act, std, bias)
        layers.append(linear)
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(ACTIVATIONS[act]())
        if p > 0:
            layers.append(nn.Dropout(p))
        width = h
    out = nn.Linear(width, n_out)
    _init_linear(out, init, "linear", std, 0.0)
    layers.append(out)
    return nn.Sequential(*layers)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's nn.Linear layers, input side first."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_gradient_norms(model: nn.Module, X, y, loss_fn=None) -> list[float]:
    """‖∂L/∂Wˡ‖ (Frobenius) for each linear layer l (input side first), on one batch (X, y).

    The model is left unchanged (its gradients are cleared again). ``loss_fn`` defaults to
    cross-entropy on logits.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    model.zero_grad()
    loss = loss_fn(model(X), y)
    weights = [layer.weight for layer in linear_layers(model)]
    grads = torch.autograd.grad(loss, weights)
    return [float(g.norm()) for g in grads]


def hidden_activations(model: nn.Sequential, X) -> list[torch.Tensor]:
    """The output of every hidden activation module (ReLU, sigmoid, ...) on X, in order."""
    outs: list[torch.Tensor] = []
    act_types = tuple(type(ACTIVATIONS[k]()) for k in ACTIVATIONS)
    with torch.no_grad():
        h = X
        for module in model:
            h = module(h)
            if isinstance(module, act_types) and module is not model[-1]:
                outs.append(h)
    return outs


def dead_fraction(model: nn.Sequential, X) -> list[float]:
    """For each hidden layer: the share of its units that output 0 on every row of X.

    Such a ReLU unit gets zero gradient from every example (δ = 0, deck 003's "dead ReLU"), so its
    incoming weights never change again: it is dead for good.
    """
    return [float((a.abs().max(dim=0).values == 0).float().mean()) for a in hidden_activations(model, X)]


def square_error_loss(logits, y) -> torch.Tensor:
    """Deck 004's square error on a softmax output layer, as Keras's ``loss='mse'`` computes it:
    the mean over examples and classes of (softmax(z)ₘ - 1_{y,m})²."""
    p = torch.softmax(logits, dim=1)
    target = nn.functional.one_hot(y, p.shape[1]).to(p.dtype)
    return ((p - target) ** 2).mean()


def soft_cross_entropy(logits, targets) -> torch.Tensor:
    """Cross-entropy with probability targets (rows summing to 1) or class indices:
    -(1/N) Σₙ Σₘ tₙₘ ln softmax(zₙ)ₘ."""
    if targets.dtype in (torch.int64, torch.int32):
        return nn.functional.cross_entropy(logits, targets)
    return -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


class MixedBatches:
    """Mini-batches with mixup or CutMix applied, for :func:`coursekit.train.train` (an iterable of
    ``(X, Y)`` batches; iterating again gives a new epoch with a new order and new mixes).

    Each batch of B examples is mixed with a shuffled copy of itself by
    :func:`coursekit.regularization.mixup_batch` (``mode="mixup"``) or by
    :func:`coursekit.regularization.cutmix_batch` (``mode="cutmix"``, X of shape (N, H·W) with ``image_shape``).
    The targets Y are probability rows (one-hot mixed), for a cross-entropy with soft targets.
    """

    def __init__(self, X, y, n_classes: int, batch_size: int = 32, mode: str = "mixup", alpha: float = 0.4,
                 image_shape=(8, 8), seed: int = 0):
        from . import regularization

        if mode not in ("mixup", "cutmix"):
            raise ValueError(f"mode must be 'mixup' or 'cutmix'; got {mode!r}")
        self.X = np.asarray(X, dtype=np.float64)
        self.Y = regularization.one_hot(np.asarray(y), n_classes)
        self.batch_size = whole_number("batch_size", batch_size, 1, noun="integer")
        self.mode, self.alpha, self.image_shape = mode, real_number("alpha", alpha, 0.0, low_open=True), image_shape
        self.rng = np.random.default_rng(seed)
        self._reg = regularization

    def __iter__(self):
        order = self.rng.permutation(len(self.X))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            X, Y = self.X[idx], self.Y[idx]
            if self.mode == "mixup":
                X, Y, _ = self._reg.mixup_batch(X, Y, self.alpha, self.rng)
            else:
                X, Y = self._cutmix(X, Y)
            yield torch.from_numpy(X.astype(np.float32)), torch.from_numpy(Y.astype(np.float32))

    def _cutmix(self, X, Y):
        images, Y, _ = self._reg.cutmix_batch(X.reshape(len(X), *self.image_shape), Y, self.alpha, self.rng)
        return images.reshape(len(X), -1), Y


class Deck004SGD(torch.optim.SGD):
    """SGD followed by deck 004's weight decay: w ← keep·(w - η∂L/∂w) (keep = 0.99 on the slide) for the
    weight matrices (parameters with two or more dimensions); biases take the plain step. With
    ``momentum`` the step inside the parentheses is SGD's momentum step (deck 004 has none)."""

    def __init__(self, params, lr: float, keep: float = 0.99, momentum: float = 0.0):
        super().__init__(params, lr=lr, momentum=momentum)
        self.keep = real_number("keep", keep, 0.0, 1.0)

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim >= 2:
                    p.mul_(self.keep)
        return loss


class SqrtDecaySGD(torch.optim.SGD):
    """SGD with deck 003's decaying learning rate η_t = η/√(t+1), t counting the updates
    (the deck calls it a "1/t decay"; it falls like 1/√t, see :func:`coursekit.optim.sqrt_decay`)."""

    def __init__(self, params, lr: float, momentum: float = 0.0):
        super().__init__(params, lr=lr, momentum=momentum)
        self.base_lr, self.t = float(lr), 0

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            group["lr"] = self.base_lr / (self.t + 1) ** 0.5
        self.t += 1
        return super().step(closure)
