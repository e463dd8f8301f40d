"""The network playground's engine: 2-D data, input features, a PyTorch network trained epoch by epoch.

The experience of TensorFlow Playground, computed by PyTorch: a two-class data
set in the square [-6, 6]², the input features x₁, x₂, x₁², x₂², x₁x₂, sin x₁,
sin x₂, a fully connected network of 0–6 hidden layers of 1–8 units (per layer:
units, activation, dropout; batch norm on or off; an initialization rule), and a
training set-up (optimizer, learning rate, batch size, L1 / L2 penalty). A
:class:`Playground` holds one run; :meth:`Playground.step` trains one epoch and
appends an :class:`EpochState` (losses, accuracies, divergence) to
:attr:`Playground.history`; :attr:`Playground.surface` is the network's
P(class 1) on a grid over the square and :attr:`Playground.unit_maps` the output
of every hidden unit on a coarser grid. The widget
(:mod:`coursekit.widgets.playground`) shows these; the tests read them.

Set-up, stated once: the output is one logit, P(class 1) = σ(logit); the loss is
the binary cross-entropy (its value for a network that always says ½ is
ln 2 ≈ 0.693); the L1 / L2 terms are λΣ|w| and (λ/2)Σw² over the weights, not
the biases (deck 002: "apply on weights only"). Losses and accuracies shown are
the data loss without the penalty, on the training and test points.

A run counts as **diverged** (training stops there and says so; nothing is
raised) when its loss or a weight is no longer finite, when its training loss
passes :data:`DIVERGED_LOSS` (100 × ln 2, a hundred times the loss of guessing ½
everywhere), or when its training loss has been above :data:`UNSTABLE_FACTOR`
(1.5) times its starting level for :data:`UNSTABLE_EPOCHS` (3) epochs in a row:
the steps throw the network past every minimum, and it ends up worse than it
started. The starting level is the untrained network's loss, at least ln 2.
With cross-entropy a too-large step rarely makes the loss infinite (its gradient
with respect to the output is at most 1, and sigmoid or tanh units are
bounded); it makes the loss jump up and stay up. How the rule was chosen: in
360 seeded runs (5 data sets, sigmoid / tanh / ReLU, SGD / momentum / Adam, two
seeds, 25 epochs each) at η = 0.03 and η = 0.3 it flagged none; at η = 1 it
flagged 8 of 90, runs that ended at 52–92 % test accuracy; at η = 10 it
flagged 57 of 90. With plain SGD, sigmoid units often survive η = 10 (their
slope is at most ¼, which shrinks every step), with momentum or Adam they do not.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch
from torch import nn

from . import datasets, deepnets
from .train import cpu_threads, train_one_epoch
from ._validate import one_of, real_number, whole_number

__all__ = ["DOMAIN", "DATASETS", "FEATURES", "OPTIMIZERS", "REGULARIZATIONS", "MAX_LAYERS", "MAX_UNITS",
           "DIVERGED_LOSS", "UNSTABLE_FACTOR", "UNSTABLE_EPOCHS", "make_points", "feature_matrix", "PlaygroundConfig", "EpochState", "Playground"]

DOMAIN = 6.0          # the square [-6, 6]² in which the data and the heat map live
MAX_LAYERS, MAX_UNITS = 6, 8
DIVERGED_LOSS = 100 * math.log(2)
UNSTABLE_FACTOR, UNSTABLE_EPOCHS = 1.5, 3
GRID = 100            # the decision surface is drawn from GRID × GRID points
UNIT_GRID = 20        # each hidden unit's small map: UNIT_GRID × UNIT_GRID (every 5th grid point)


# ------------------------------------------------------------------ data ---

def _circle(n, noise, seed):
    X, y = datasets.ring(n, seed)                    # disc of radius 0.5 inside a ring 0.8–1.1
    X = X + noise * np.random.default_rng(seed + 1).standard_normal(X.shape)
    return 5.0 * X, y


def _xor(n, noise, seed):
    X, y = datasets.xor_quadrants(n, noise, seed)
    return 5.0 * X, y


def _gauss(n, noise, seed):
    X, y = datasets.gaussian_blobs(n, spread=0.2 + 0.6 * noise, seed=seed)
    return 4.0 * X, y


def _moons(n, noise, seed):
    X, y = datasets.two_moons(n, noise, seed)
    return 3.0 * (X - np.array([0.5, 0.25])), y     # centred: x from -4.5 to 4.5


def _spiral(n, noise, seed):
    X, y = datasets.spiral(n, turns=1.5, noise=noise, seed=seed)
    return 5.0 * X, y


#: name -> (label, generator(n, noise, seed) -> X in the square, y in {0, 1})
DATASETS = {
    "circle": ("circle", _circle),
    "xor": ("XOR", _xor),
    "gauss": ("Gauss", _gauss),
    "moons": ("moons", _moons),
    "spiral": ("spiral", _spiral),
}

#: name -> (label, function of the two coordinates); computed in the square's units, as TensorFlow Playground does
FEATURES = {
    "x1": ("x₁", lambda x1, x2: x1),
    "x2": ("x₂", lambda x1, x2: x2),
    "x1^2": ("x₁²", lambda x1, x2: x1 * x1),
    "x2^2": ("x₂²", lambda x1, x2: x2 * x2),
    "x1x2": ("x₁x₂", lambda x1, x2: x1 * x2),
    "sin x1": ("sin x₁", lambda x1, x2: np.sin(x1)),
    "sin x2": ("sin x₂", lambda x1, x2: np.sin(x2)),
}

OPTIMIZERS = {
    "sgd": ("SGD", lambda params, lr: torch.optim.SGD(params, lr=lr)),
    "momentum": ("momentum 0.9", lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)),
    "adagrad": ("Adagrad", lambda params, lr: torch.optim.Adagrad(params, lr=lr)),
    "rmsprop": ("RMSProp", lambda params, lr: torch.optim.RMSprop(params, lr=lr)),
    "adam": ("Adam", lambda params, lr: torch.optim.Adam(params, lr=lr)),
}

REGULARIZATIONS = ("none", "L1", "L2")


def make_points(dataset: str, n: int = 500, noise: float = 0.0, seed: int = 0):
    """n points of a playground data set, in the square [-6, 6]²: ``(X, y)`` with X (n, 2), y in {0, 1}.

    ``noise`` (0 to 0.5) is the standard deviation of Gaussian jitter in the generators' own unit
    scale (the square is about 5 of those units across each half), or the spread of the Gaussian
    clouds. The generators are those of :mod:`coursekit.datasets`, seeded.
    """
    one_of("dataset", dataset, tuple(DATASETS))
    n = whole_number("n", n, 4, noun="integer", meaning="the number of points")
    noise = real_number("noise", noise, 0.0, 0.5)
    X, y = DATASETS[dataset][1](n, noise, whole_number("seed", seed, 0, noun="integer"))
    return np.clip(X, -DOMAIN, DOMAIN), y.astype(np.int64)


def feature_matrix(X, features: Sequence[str]) -> np.ndarray:
    """The chosen input features of points X (n, 2): shape (n, len(features)), float32."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2): one point (x₁, x₂) per row, got {X.shape}")
    if not features:
        raise ValueError("features must name at least one input feature")
    for f in features:
        one_of("feature", f, tuple(FEATURES))
    return np.column_stack([FEATURES[f][1](X[:, 0], X[:, 1]) for f in features]).astype(np.float32)


# ---------------------------------------------------------------- config ---

@dataclass(frozen=True)
class PlaygroundConfig:
    """Everything that defines a run. ``hidden`` lists the units per hidden layer; ``activation`` and
    ``dropout`` are one value per hidden layer (a single value is repeated)."""

    dataset: str = "circle"
    n_points: int = 500
    noise: float = 0.0
    train_fraction: float = 0.5
    data_seed: int = 0
    features: tuple = ("x1", "x2")
    hidden: tuple = (4, 2)
    activation: tuple | str = "tanh"
    dropout: tuple | float = 0.0
    batch_norm: bool = False
    init: str = "xavier_uniform"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.0
    seed: int = 0

    def __post_init__(self):
        one_of("dataset", self.dataset, tuple(DATASETS))
        whole_number("n_points", self.n_points, 4, 5000, noun="integer")
        real_number("noise", self.noise, 0.0, 0.5)
        real_number("train_fraction", self.train_fraction, 0.1, 0.9)
        hidden = tuple(self.hidden)
        if len(hidden) > MAX_LAYERS:
            raise ValueError(f"hidden may list at most {MAX_LAYERS} layers, got {len(hidden)}")
        for h in hidden:
            whole_number("units per layer", h, 1, MAX_UNITS, noun="integer")
        object.__setattr__(self, "hidden", hidden)
        for name in ("activation", "dropout"):
            value = getattr(self, name)
            values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * len(hidden)
            if len(values) != len(hidden):
                raise ValueError(f"{name} must be one value or one per hidden layer ({len(hidden)}), got {len(values)}")
            object.__setattr__(self, name, values)
        for a in self.activation:
            one_of("activation", a, tuple(deepnets.ACTIVATIONS))
        for p in self.dropout:
            real_number("dropout", p, 0.0, 0.9)
        object.__setattr__(self, "features", tuple(self.features))
        feature_matrix(np.zeros((1, 2)), self.features)
        one_of("init", self.init, deepnets.INITS)
        one_of("optimizer", self.optimizer, tuple(OPTIMIZERS))
        real_number("lr", self.lr, 0.0, 100.0, low_open=True, meaning="the learning rate")
        whole_number("batch_size", self.batch_size, 1, noun="integer")
        if self.batch_norm and self.batch_size < 2:
            raise ValueError("batch norm needs batches of at least 2 examples (it normalizes each unit by the "
                             f"batch's mean and variance); got batch_size {self.batch_size}")
        one_of("regularization", self.regularization, REGULARIZATIONS)
        real_number("reg_rate", self.reg_rate, 0.0, 100.0)

    def but(self, **changes) -> "PlaygroundConfig":
        """A copy with some fields changed (and checked)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class EpochState:
    """The run after ``epoch`` epochs of training (epoch 0: the initial network).

    Losses are binary cross-entropies without the penalty; ``penalty`` is the L1 / L2 term;
    ``weight_norm`` the largest |w| over all weights (biases excluded); ``seconds`` the time the
    epoch's training took; ``diverged`` marks the state where the run left every sensible bound.
    """

    epoch: int
    train_loss: float
    test_loss: float
    train_acc: float
    test_acc: float
    penalty: float = 0.0
    weight_norm: float = 0.0
    seconds: float = 0.0
    diverged: bool = False


# ------------------------------------------------------------------- run ---

class Playground:
    """One run of the playground: data, features, network, optimizer, and its history.

    ``step()`` trains one epoch (shuffled mini-batches of the training points) and evaluates;
    after a divergence it does nothing more. ``add_point`` puts a point of your own into the
    training set. Everything shown by the widget is readable here.
    """

    def __init__(self, config: PlaygroundConfig | None = None, device=None, points=None, **changes):
        self.config = (config or PlaygroundConfig()).but(**changes) if changes else (config or PlaygroundConfig())
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self._own_points: list[tuple[float, float, int]] = []
        self._given = points
        self._make_grid()
        self.rebuild_data()

    # ---- data -------------------------------------------------------------------
    def _make_grid(self):
        axis = np.linspace(-DOMAIN, DOMAIN, GRID)
        g1, g2 = np.meshgrid(axis, axis)
        self.grid_points = np.column_stack([g1.ravel(), g2.ravel()])   # row r, column c: x₂ = axis[r], x₁ = axis[c]

    def rebuild_data(self):
        """Draw the data set again (after a change of data set, noise, split or seed) and restart."""
        c = self.config
        if self._given is not None:
            X, y = (np.asarray(a) for a in self._given)
        else:
            X, y = make_points(c.dataset, c.n_points, c.noise, c.data_seed)
        order = np.random.default_rng(c.data_seed + 12345).permutation(len(y))
        n_train = max(1, int(round(c.train_fraction * len(y))))
        self.X_train, self.y_train = X[order[:n_train]], y[order[:n_train]]
        self.X_test, self.y_test = X[order[n_train:]], y[order[n_train:]]
        self.reset()

    def add_point(self, x1: float, x2: float, label: int) -> None:
        """Add a training point of your own at (x₁, x₂) with class ``label`` (0 or 1), and restart."""
        x1 = real_number("x1", x1, -DOMAIN, DOMAIN)
        x2 = real_number("x2", x2, -DOMAIN, DOMAIN)
        label = whole_number("label", label, 0, 1, noun="integer", meaning="the class")
        self.X_train = np.vstack([self.X_train, [[x1, x2]]])
        self.y_train = np.append(self.y_train, label).astype(np.int64)
        self.reset()

    def clear_points(self) -> None:
        """Start from an empty training set (then add points by clicking)."""
        self.X_train, self.y_train = np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        self.reset()

    def configure(self, **changes) -> None:
        """Change the set-up; data fields redraw the data, every change restarts the run."""
        old = self.config
        self.config = old.but(**changes)
        data_fields = ("dataset", "n_points", "noise", "train_fraction", "data_seed")
        if any(getattr(old, f) != getattr(self.config, f) for f in data_fields):
            self._given = None
            self.rebuild_data()
        else:
            self.reset()

    # ---- the network ------------------------------------------------------------
    def _tensors(self, X, y=None):
        feats = torch.from_numpy(feature_matrix(X, self.config.features) if len(X) else
                                 np.zeros((0, len(self.config.features)), np.float32)).to(self.device)
        if y is None:
            return feats
        return feats, torch.as_tensor(y, dtype=torch.float32, device=self.device)

    def reset(self) -> None:
        """A fresh network (seeded) and optimizer; history back to epoch 0."""
        c = self.config
        self.model = deepnets.mlp(len(c.features), list(c.hidden), 1, activation=list(c.activation), init=c.init,
                                  dropout=list(c.dropout), batch_norm=c.batch_norm, seed=c.seed).to(self.device)
        self.optimizer = OPTIMIZERS[c.optimizer][1](self.model.parameters(), c.lr)
        self.weights = [layer.weight for layer in deepnets.linear_layers(self.model)]
        self.train_x, self.train_y = self._tensors(self.X_train, self.y_train)
        self.test_x, self.test_y = self._tensors(self.X_test, self.y_test)
        self.grid_x = self._tensors(self.grid_points)
        self._batch_gen = torch.Generator().manual_seed(c.seed)
        self.history: list[EpochState] = []
        self.surface = np.full((GRID, GRID), 0.5)
        self.unit_maps: list[np.ndarray] = []
        with cpu_threads("auto", self.model, self.device):
            self.history.append(self._evaluate(0, 0.0))

    @property
    def epoch(self) -> int:
        return self.history[-1].epoch

    @property
    def state(self) -> EpochState:
        return self.history[-1]

    @property
    def can_train(self) -> bool:
        """Whether an epoch has a batch to train on: a training point, two with batch norm (a batch
        of one has no variance to normalize by)."""
        return len(self.train_y) >= (2 if self.config.batch_norm else 1)

    @property
    def diverged(self) -> bool:
        return self.history[-1].diverged

    def penalty(self) -> torch.Tensor:
        """The L1 term λΣ|w| or the L2 term (λ/2)Σw² over every weight matrix (not the biases)."""
        c = self.config
        if c.regularization == "none" or c.reg_rate == 0:
            return torch.zeros((), device=self.device)
        if c.regularization == "L1":
            return c.reg_rate * sum(w.abs().sum() for w in self.weights)
        return 0.5 * c.reg_rate * sum((w * w).sum() for w in self.weights)

    def _loss(self, logits, y):
        return nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), y) + self.penalty()

    def _batches(self):
        n, B = len(self.train_y), self.config.batch_size
        order = torch.randperm(n, generator=self._batch_gen).to(self.device)
        for start in range(0, n, B):
            idx = order[start:start + B]
            if self.config.batch_norm and len(idx) < 2:
                continue  # batch norm cannot normalize a batch of one
            yield self.train_x[idx], self.train_y[idx]

    def step(self) -> EpochState:
        """Train one epoch and evaluate; returns the new state (the last one again once diverged)."""
        if self.diverged or not self.can_train:
            return self.state
        # one CPU thread for the tiny network (coursekit.train.cpu_threads: on 2 cores an epoch of 25 Adam
        # steps on a 2×8 network took about 160 ms of CPU time with two threads, about 11 ms with one)
        with cpu_threads("auto", self.model, self.device):
            start = time.perf_counter()
            train_one_epoch(self.model, self._batches(), self._loss, self.optimizer, self.device, threads=None)
            seconds = time.perf_counter() - start
            state = self._evaluate(self.epoch + 1, seconds)
        self.history.append(state)
        return state

    def run(self, epochs: int) -> EpochState:
        """Train ``epochs`` epochs (or until the run diverges)."""
        for _ in range(whole_number("epochs", epochs, 0, noun="integer")):
            if self.diverged:
                break
            self.step()
        return self.state

    @torch.no_grad()
    def _evaluate(self, epoch: int, seconds: float) -> EpochState:
        model = self.model
        model.eval()

        def loss_acc(x, y):
            if len(y) == 0:
                return float("nan"), float("nan")
            logits = model(x).squeeze(1)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
            return float(loss), float(((logits > 0).float() == y).float().mean())

        train_loss, train_acc = loss_acc(self.train_x, self.train_y)
        test_loss, test_acc = loss_acc(self.test_x, self.test_y)
        penalty = float(self.penalty())
        finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
        weight_norm = max(float(w.abs().max()) for w in self.weights) if finite else float("inf")
        has_data = len(self.train_y) > 0
        exploded = not finite or (has_data and (not math.isfinite(train_loss) or train_loss > DIVERGED_LOSS))
        diverged = exploded or (has_data and self._stays_above_start(train_loss))
        if not diverged:
            self._draw_maps()
        return EpochState(epoch, train_loss, test_loss, train_acc, test_acc, penalty, weight_norm, seconds, diverged)

    @property
    def start_level(self) -> float:
        """The loss of the untrained network (epoch 0), at least ln 2: what "worse than it started" means."""
        first = self.history[0].train_loss if self.history else math.log(2)
        return max(first, math.log(2)) if math.isfinite(first) else math.log(2)

    def above_start(self, loss: float) -> bool:
        """Whether a training loss is above :data:`UNSTABLE_FACTOR` times the starting level."""
        return loss > UNSTABLE_FACTOR * self.start_level

    def _stays_above_start(self, loss: float) -> bool:
        recent = [s.train_loss for s in self.history[1:]][-(UNSTABLE_EPOCHS - 1):] + [loss]
        return len(recent) >= UNSTABLE_EPOCHS and all(self.above_start(v) for v in recent)

    def _draw_maps(self):
        """P(class 1) on the grid, and every hidden unit's output on the coarse grid, from one forward pass."""
        h = self.grid_x
        maps, step = [], GRID // UNIT_GRID
        for module in self.model:
            h = module(h)
            if isinstance(module, tuple(type(f()) for f in deepnets.ACTIVATIONS.values())):
                units = h.T.reshape(-1, GRID, GRID)[:, ::step, ::step]
                maps.append(units.detach().cpu().numpy())
        self.surface = torch.sigmoid(h).reshape(GRID, GRID).detach().cpu().numpy()
        self.unit_maps = maps

    def predict_proba(self, X) -> np.ndarray:
        """P(class 1) for points X (n, 2) under the current network."""
        self.model.eval()
        with torch.no_grad():
            return torch.sigmoid(self.model(self._tensors(np.asarray(X, dtype=float)))).squeeze(1).cpu().numpy()

    def should_stop(self, rule: str, value: float) -> bool:
        """The stop condition: ``"test_acc"`` (stop once the test accuracy is ≥ value), ``"train_loss"``
        (once the training loss is ≤ value), ``"epochs"`` (once ``value`` epochs are done), ``"never"``."""
        s = self.state
        if s.diverged:
            return True
        if rule == "never":
            return False
        if rule == "test_acc":
            return s.test_acc >= value
        if rule == "train_loss":
            return s.train_loss <= value
        if rule == "epochs":
            return s.epoch >= value
        raise ValueError(f"rule must be 'never', 'test_acc', 'train_loss' or 'epochs'; got {rule!r}")
