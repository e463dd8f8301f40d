"""Neural networks in NumPy, layer by layer (units 04 and 05; decks 000, 001, 002, 003, 004).

One convention throughout: a batch of N examples is a matrix whose *rows* are
the examples, and a dense layer computes

    h = x W + b,      x: (N, n_in),  W: (n_in, n_out),  b: (n_out,),  h: (N, n_out)

as PyTorch stores data and as deck 002 writes it (h̄ = xW + b). Decks 003 and
004 write one example as a column, z = W a + b with W of shape (n_out, n_in):
the same numbers with W transposed (:func:`forward_columns` shows it). Deck
000's w_ij^(ℓ), with i the input (i = 0 the bias) and j the output, is the row
convention's W with the bias as row 0.

The layer protocol (every layer here, and the layers of later units: conv,
pooling, dropout, batch norm, RNN cells):

* ``layer.params``: a dict of NumPy arrays, e.g. ``{"W": (n_in, n_out), "b": (n_out,)}``,
  empty for an activation;
* ``layer.forward(x) -> (out, cache)``: ``cache`` holds what backward needs;
* ``layer.backward(dout, cache) -> (dx, grads)``: ``dout`` = ∂L/∂out, the upstream
  gradient; ``dx`` = ∂L/∂x; ``grads`` a dict with the keys of ``params``.

:class:`Sequential` chains layers and follows the same protocol itself, so
networks nest. Its ``step(optimizer, grads)`` updates every parameter with one
of :mod:`coursekit.optim`'s optimizers, which work on one flat vector.

:func:`backprop` is the δ recursion of deck 003 written out with the names of
the formulas (δᴸ = σ'(zᴸ) ⊙ ∇C, δˡ = σ'(zˡ) ⊙ δˡ⁺¹(Wˡ⁺¹)ᵀ, ∂C/∂Wˡ = (aˡ⁻¹)ᵀδˡ);
:func:`gradient_check` compares any gradient with centred differences.
Everything computes in float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from . import linear
from ._validate import index_array, real_number, whole_number

__all__ = [
    # activations and their derivatives
    "sigmoid", "sigmoid_prime", "tanh", "tanh_prime", "relu", "relu_prime", "leaky_relu", "leaky_relu_prime",
    "elu", "elu_prime", "softplus", "softplus_prime", "softplus_by_sigmoids", "ACTIVATIONS", "activation",
    # layers
    "Layer", "Linear", "Activation", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softplus",
    "Maxout", "Softmax", "Sequential", "mlp",
    # losses
    "softmax_cross_entropy", "squared_error", "hinge_loss", "LOSSES",
    # the δ recursion and Jacobians
    "forward_pass", "backprop", "forward_columns", "deck000_backprop", "dense_jacobian", "numerical_jacobian",
    # gradient checking
    "numerical_gradient", "relative_error", "read_relative_error", "GradientCheck", "gradient_check",
    "check_layer", "check_model",
    # counting and training
    "count_parameters", "one_hot", "fit", "accuracy",
]


# ------------------------------------------------------------- validation ---

def _array(value, name: str, expected: str = "an array of real numbers", finite: bool = True) -> np.ndarray:
    """``value`` as a float64 array; a clear error for text, complex numbers, ragged lists,
    and (with ``finite``) NaN or inf. The passes of a layer skip the finiteness check: a
    diverging run is a result to look at, not an error."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {expected}, got a ragged {type(value).__name__}") from None
    if hasattr(value, "detach"):  # a torch tensor
        arr = value.detach().cpu().numpy()
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be {expected}, got {type(value).__name__} of dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} must hold finite numbers, but {bad} of its {arr.size} entries "
                         f"(shape {arr.shape}) are nan or inf")
    return arr


def _same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape}, got shape {b.shape}")


# ---------------------------------------------------------- activations ---
# Each activation is a pair (f, f'), both elementwise on arrays of any shape.

def sigmoid(z):
    """σ(z) = 1/(1 + e^{-z}), overflow-safe (the logistic θ of unit 03)."""
    return linear.theta(z)


def sigmoid_prime(z):
    """σ'(z) = σ(z)(1 - σ(z)); at most 1/4, reached at z = 0 (why deep sigmoid nets' gradients vanish)."""
    s = linear.theta(z)
    return s * (1.0 - s)


def tanh(z):
    """tanh(z) = (e^z - e^{-z})/(e^z + e^{-z}) = 2σ(2z) - 1 (deck 000)."""
    return np.tanh(z)


def tanh_prime(z):
    """tanh'(z) = 1 - tanh²(z); at most 1, at z = 0."""
    return 1.0 - np.tanh(z) ** 2


def relu(z):
    """ReLU(z) = max(0, z)."""
    return np.maximum(0.0, z)


def relu_prime(z, at_zero: float = 0.0):
    """ReLU'(z) = 1 for z > 0, 0 for z < 0. At the kink z = 0 the derivative does not exist;
    PyTorch uses 0 (the default here), deck 002 writes 1 (``at_zero=1``)."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, np.where(z < 0, 0.0, at_zero))


def leaky_relu(z, slope: float = 0.1):
    """Leaky ReLU max(slope·z, z) for 0 <= slope < 1; the decks use slope 0.1 (PyTorch's default is 0.01)."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, slope * z)


def leaky_relu_prime(z, slope: float = 0.1):
    """1 for z > 0, ``slope`` for z <= 0 (PyTorch's choice at the kink)."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, slope)


def elu(z, alpha: float = 1.0):
    """ELU: z for z > 0, α(e^z - 1) for z <= 0 (deck 003); smooth at 0 when α = 1."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_prime(z, alpha: float = 1.0):
    """1 for z > 0, α e^z for z <= 0."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def softplus(z):
    """softplus(z) = ln(1 + e^z), a smooth ReLU, computed as logaddexp(0, z): exact for |z| = 1000."""
    return np.logaddexp(0.0, z)


def softplus_prime(z):
    """softplus'(z) = σ(z)."""
    return linear.theta(z)


def softplus_by_sigmoids(z, terms: int = 60):
    """Deck 003's picture of softplus as a stack of shifted sigmoids: Σ_{i=1}^{terms} σ(z - i + ½).

    Each term switches on one unit further right, so the sum rises by about 1 per unit
    of z like ln(1 + e^z); on [-5, 5] the two differ by at most about 0.011 (``terms`` >= 15).
    """
    terms = whole_number("terms", terms, 1, meaning="how many shifted sigmoids to add")
    z = np.asarray(z, dtype=float)
    shifts = np.arange(1, terms + 1) - 0.5
    out = linear.theta(z[..., None] - shifts).sum(axis=-1)
    return float(out) if out.ndim == 0 else out


# name -> (f, f'), the derivative as a function of z
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "elu": (elu, elu_prime),
    "softplus": (softplus, softplus_prime),
    "identity": (lambda z: np.asarray(z, dtype=float), lambda z: np.ones_like(np.asarray(z, dtype=float))),
}


def activation(name: str) -> tuple[Callable, Callable]:
    """The pair (σ, σ') for a name of :data:`ACTIVATIONS`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}; got {name!r}")
    return ACTIVATIONS[name]


# ------------------------------------------------------------------ layers ---

class Layer:
    """The protocol: ``params``, ``forward(x) -> (out, cache)``, ``backward(dout, cache) -> (dx, grads)``.

    Subclasses set ``params`` (a dict of float64 arrays; {} when there are none) and
    implement both passes. ``layer(x)`` is ``layer.forward(x)[0]``.
    """

    params: dict[str, np.ndarray]

    def __init__(self):
        self.params = {}

    def forward(self, x):  # pragma: no cover - every layer overrides it
        raise NotImplementedError

    def backward(self, dout, cache):  # pragma: no cover
        raise NotImplementedError

    def __call__(self, x) -> np.ndarray:
        return self.forward(x)[0]

    def _dout(self, dout, out_shape) -> np.ndarray:
        """The upstream gradient, checked against the shape of the forward output."""
        dout = _array(dout, "dout (the upstream gradient ∂L/∂out)", finite=False)
        if dout.shape != tuple(out_shape):
            raise ValueError(f"dout (the upstream gradient ∂L/∂out) must have the shape of this layer's output "
                             f"{tuple(out_shape)}, got shape {dout.shape}")
        return dout

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _init_weights(rng: np.random.Generator, n_in: int, n_out: int, init: str) -> np.ndarray:
    if init == "he":         # Var = 2/n_in: keeps the variance of ReLU activations (He et al.)
        return rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_in, n_out))
    if init == "xavier":     # Var = 2/(n_in + n_out) (Glorot and Bengio), for tanh and sigmoid
        return rng.normal(0.0, math.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))
    if init == "uniform":    # PyTorch's nn.Linear default: U(-1/√n_in, 1/√n_in)
        bound = 1.0 / math.sqrt(n_in)
        return rng.uniform(-bound, bound, size=(n_in, n_out))
    if init == "normal":     # small random numbers, std 0.01 (the decks' "random & small")
        return rng.normal(0.0, 0.01, size=(n_in, n_out))
    if init == "zeros":
        return np.zeros((n_in, n_out))
    raise ValueError(f"init must be 'he', 'xavier', 'uniform', 'normal' or 'zeros'; got {init!r}")


class Linear(Layer):
    """A dense (fully connected, affine) layer, h = x W + b.

    ``W`` has shape (n_in, n_out): column j holds the weights into output unit j.
    ``x`` has shape (N, n_in), or (..., n_in) for any leading axes (a sequence of
    vectors, say); ``h`` then has shape (..., n_out).

    Give ``W`` (and ``b``) explicitly, or let ``init`` draw W from a seeded ``rng``
    ("he" by default, "xavier", "uniform" as PyTorch, "normal" (std 0.01), "zeros");
    b starts at 0.
    """

    def __init__(self, n_in: int | None = None, n_out: int | None = None, *, W=None, b=None, init: str = "he",
                 rng: np.random.Generator | int | None = 0, bias: bool = True):
        super().__init__()
        if W is not None:
            W = _array(W, "W", "a 2-D array of weights, shape (n_in, n_out)")
            if W.ndim != 2:
                raise ValueError(f"W must be a 2-D array of weights, shape (n_in, n_out), got shape {W.shape}")
            if (n_in is not None and n_in != W.shape[0]) or (n_out is not None and n_out != W.shape[1]):
                raise ValueError(f"W of shape {W.shape} does not match n_in = {n_in}, n_out = {n_out}")
            W = W.copy()
        else:
            n_in = whole_number("n_in", n_in, 1, meaning="the number of inputs of the layer", allow_float=False)
            n_out = whole_number("n_out", n_out, 1, meaning="the number of outputs", allow_float=False)
            gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
            W = _init_weights(gen, n_in, n_out, init)
        self.params["W"] = W
        if bias:
            if b is None:
                b = np.zeros(W.shape[1])
            b = _array(b, "b", "a 1-D array of biases, shape (n_out,)").reshape(-1).copy()
            if b.shape != (W.shape[1],):
                raise ValueError(f"b must have shape (n_out,) = ({W.shape[1]},) to match W of shape {W.shape}, "
                                 f"got shape {b.shape}")
            self.params["b"] = b
        elif b is not None:
            raise ValueError("b was given although bias=False")

    @property
    def n_in(self) -> int:
        return self.params["W"].shape[0]

    @property
    def n_out(self) -> int:
        return self.params["W"].shape[1]

    def forward(self, x):
        x = _array(x, "x", f"an array of inputs of shape (N, {self.n_in})", finite=False)
        if x.ndim == 0 or x.shape[-1] != self.n_in:
            raise ValueError(f"x must have shape (N, n_in) = (N, {self.n_in}): one row of {self.n_in} inputs per "
                             f"example, to match W of shape {self.params['W'].shape}; got shape {x.shape}")
        h = x @ self.params["W"]
        if "b" in self.params:
            h = h + self.params["b"]
        return h, x

    def backward(self, dout, cache):
        x = cache
        dh = self._dout(dout, x.shape[:-1] + (self.n_out,))
        x2, dh2 = x.reshape(-1, self.n_in), dh.reshape(-1, self.n_out)   # leading axes act as one batch axis
        grads = {"W": x2.T @ dh2}                  # ∂L/∂W_ij = Σ_n x_ni ∂L/∂h_nj
        if "b" in self.params:
            grads["b"] = dh2.sum(axis=0)           # every example adds its ∂L/∂h
        dx = dh @ self.params["W"].T               # ∂L/∂x = ∂L/∂h Wᵀ
        return dx, grads

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}{'' if 'b' in self.params else ', bias=False'})"


class Activation(Layer):
    """An elementwise activation a = σ(z) with no parameters; backward is dz = da ⊙ σ'(z)."""

    name = "activation"

    def __init__(self, f: Callable, f_prime: Callable, name: str | None = None):
        super().__init__()
        self.f, self.f_prime = f, f_prime
        if name:
            self.name = name

    def forward(self, x):
        z = _array(x, "x (the pre-activations z)", finite=False)
        return self.f(z), z

    def backward(self, dout, cache):
        z = cache
        da = self._dout(dout, z.shape)
        return da * self.f_prime(z), {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()" if type(self) is not Activation else f"Activation({self.name!r})"


class _OutputDerivative(Activation):
    """An activation whose derivative is a function of its output a = σ(z): backward needs
    only a, so forward caches a instead of z."""

    da_dz: Callable = None  # type: ignore[assignment]

    def forward(self, x):
        a = self.f(_array(x, "x (the pre-activations z)", finite=False))
        return a, a

    def backward(self, dout, cache):
        a = cache
        return self._dout(dout, a.shape) * type(self).da_dz(a), {}


class Sigmoid(_OutputDerivative):
    name = "sigmoid"
    da_dz = staticmethod(lambda a: a * (1.0 - a))          # σ' = σ(1 - σ)

    def __init__(self):
        super().__init__(sigmoid, sigmoid_prime)


class Tanh(_OutputDerivative):
    name = "tanh"
    da_dz = staticmethod(lambda a: 1.0 - a * a)            # tanh' = 1 - tanh²

    def __init__(self):
        super().__init__(tanh, tanh_prime)


class ReLU(Activation):
    """max(0, z); the gradient at z = 0 is 0, as in PyTorch."""

    name = "relu"

    def __init__(self):
        super().__init__(relu, relu_prime)

    def forward(self, x):
        z = _array(x, "x (the pre-activations z)", finite=False)
        return np.maximum(z, 0.0), z

    def backward(self, dout, cache):
        z = cache
        return self._dout(dout, z.shape) * (z > 0), {}


class LeakyReLU(Activation):
    """max(slope·z, z); ``slope`` 0.1 as in the decks (PyTorch's default is 0.01)."""

    name = "leaky_relu"

    def __init__(self, slope: float = 0.1):
        self.slope = real_number("slope", slope, 0.0, 1.0, high_open=True, meaning="the slope for z < 0")
        super().__init__(lambda z: leaky_relu(z, self.slope), lambda z: leaky_relu_prime(z, self.slope))

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope:g})"


class ELU(Activation):
    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = real_number("alpha", alpha, 0.0, low_open=True, meaning="the ELU's scale for z <= 0")
        super().__init__(lambda z: elu(z, self.alpha), lambda z: elu_prime(z, self.alpha))

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha:g})"


class Softplus(Activation):
    name = "softplus"

    def __init__(self):
        super().__init__(softplus, softplus_prime)


class PReLU(Layer):
    """Parametric ReLU (deck 003): max(0, z) + a·min(0, z), with the slope ``a`` learned.

    ``params["a"]`` has shape (1,) (one slope shared by all units, PyTorch's default);
    its gradient is Σ ∂L/∂out · min(0, z).
    """

    def __init__(self, a: float = 0.25):
        super().__init__()
        self.params["a"] = np.array([real_number("a", a, meaning="the initial slope for z < 0")])

    def forward(self, x):
        z = _array(x, "x (the pre-activations z)", finite=False)
        return np.where(z > 0, z, self.params["a"][0] * z), z

    def backward(self, dout, cache):
        z = cache
        dout = self._dout(dout, z.shape)
        negative = np.minimum(z, 0.0)
        return np.where(z > 0, dout, self.params["a"][0] * dout), {"a": np.array([np.sum(dout * negative)])}

    def __repr__(self) -> str:
        return f"PReLU(a={self.params['a'][0]:g})"


class Maxout(Layer):
    """Maxout (decks 001, 003): each output is the largest of k affine pieces,
    out_j = max_k (x W[k] + b[k])_j.

    ``W``: (k, n_in, n_out), ``b``: (k, n_out). With k = 2 and one piece fixed at 0 it is a
    ReLU; learned pieces let the unit learn its own convex, piecewise-linear activation.
    The gradient flows only through the winning piece.
    """

    def __init__(self, n_in: int, n_out: int, k: int = 2, *, init: str = "he",
                 rng: np.random.Generator | int | None = 0):
        super().__init__()
        n_in = whole_number("n_in", n_in, 1, allow_float=False)
        n_out = whole_number("n_out", n_out, 1, allow_float=False)
        self.k = whole_number("k", k, 1, meaning="the number of affine pieces per unit", allow_float=False)
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.params["W"] = np.stack([_init_weights(gen, n_in, n_out, init) for _ in range(self.k)])
        self.params["b"] = np.zeros((self.k, n_out))

    def forward(self, x):
        W, b = self.params["W"], self.params["b"]
        x = _array(x, "x", f"an array of inputs of shape (N, {W.shape[1]})", finite=False)
        if x.ndim != 2 or x.shape[1] != W.shape[1]:
            raise ValueError(f"x must have shape (N, n_in) = (N, {W.shape[1]}), got shape {x.shape}")
        Z = np.einsum("ni,kij->nkj", x, W) + b       # (N, k, n_out): every piece of every unit
        winner = np.argmax(Z, axis=1)                 # (N, n_out): which piece is the max
        out = np.take_along_axis(Z, winner[:, None, :], axis=1)[:, 0, :]
        return out, (x, winner)

    def backward(self, dout, cache):
        x, winner = cache
        dout = self._dout(dout, winner.shape)
        dZ = np.zeros((x.shape[0], self.k, dout.shape[1]))
        np.put_along_axis(dZ, winner[:, None, :], dout[:, None, :], axis=1)   # only the winner gets gradient
        grads = {"W": np.einsum("ni,nkj->kij", x, dZ), "b": dZ.sum(axis=0)}
        dx = np.einsum("nkj,kij->ni", dZ, self.params["W"])
        return dx, grads

    def __repr__(self) -> str:
        _, n_in, n_out = self.params["W"].shape
        return f"Maxout({n_in}, {n_out}, k={self.k})"


class Softmax(Layer):
    """Softmax over the last axis as a layer, p = softmax(z).

    Its Jacobian is ∂p_i/∂z_j = p_i(δ_ij - p_j), so backward is
    dz = p ⊙ (dp - Σ_j dp_j p_j). Paired with cross-entropy, the two collapse into
    p - onehot (:func:`softmax_cross_entropy`), which is what training uses.
    """

    def forward(self, x):
        z = _array(x, "x (the logits z)", finite=False)
        p = linear.softmax(z, axis=-1)
        return p, p

    def backward(self, dout, cache):
        p = cache
        dp = self._dout(dout, p.shape)
        return p * (dp - np.sum(dp * p, axis=-1, keepdims=True)), {}


class Sequential(Layer):
    """Layers applied one after the other; itself a layer (it nests).

    ``forward(x) -> (out, caches)``, ``backward(dout, caches) -> (dx, grads)``, where
    ``grads`` has the keys of :meth:`parameters`: ``"<layer index>.<name>"``, e.g.
    ``"0.W"``, ``"0.b"``, ``"2.W"`` (``"1.0.W"`` inside a nested Sequential).
    """

    def __init__(self, layers: Iterable[Layer]):
        super().__init__()
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not (hasattr(layer, "forward") and hasattr(layer, "backward") and hasattr(layer, "params")):
                raise ValueError(f"layer {i} ({layer!r}) does not follow the layer protocol: it needs "
                                 "params, forward(x) -> (out, cache) and backward(dout, cache) -> (dx, grads)")

    # the parameters, by name ------------------------------------------------
    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.parameters()

    @params.setter
    def params(self, value):  # Layer.__init__ assigns {}; a Sequential's parameters live in its layers
        pass

    def parameters(self) -> dict[str, np.ndarray]:
        """Every parameter array by name, ``"<layer>.<name>"``: the arrays themselves, not copies."""
        return {f"{i}.{name}": array for i, layer in enumerate(self.layers) for name, array in layer.params.items()}

    def n_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters().values()))

    def get_flat(self) -> np.ndarray:
        """All parameters as one vector θ (the order of :meth:`parameters`)."""
        params = list(self.parameters().values())
        return np.concatenate([p.ravel() for p in params]) if params else np.zeros(0)

    def set_flat(self, theta) -> None:
        """Write a vector θ (as from :meth:`get_flat`) back into the layers' arrays, in place."""
        params = list(self.parameters().values())
        theta = _array(theta, "theta", "a 1-D vector of all parameters")
        if theta.shape != (sum(p.size for p in params),):
            raise ValueError(f"theta must have shape ({sum(p.size for p in params)},), one entry per parameter, "
                             f"got shape {theta.shape}")
        start = 0
        for p in params:
            p[...] = theta[start:start + p.size].reshape(p.shape)
            start += p.size

    def flatten_grads(self, grads: dict[str, np.ndarray]) -> np.ndarray:
        """The gradient dict from :meth:`backward` as one vector, aligned with :meth:`get_flat`."""
        names = self.parameters()
        missing = [n for n in names if n not in grads]
        if missing:
            raise ValueError(f"grads lacks the gradients of {missing}; expected the keys {list(names)}")
        for name, p in names.items():
            if np.shape(grads[name]) != p.shape:
                raise ValueError(f"grads[{name!r}] must have the shape of the parameter {p.shape}, "
                                 f"got shape {np.shape(grads[name])}")
        return np.concatenate([np.ravel(grads[n]) for n in names]) if names else np.zeros(0)

    def step(self, optimizer, grads: dict[str, np.ndarray]) -> None:
        """One update θ ← optimizer.step(θ, ∇θ) with a :mod:`coursekit.optim` optimizer, in place."""
        self.set_flat(optimizer.step(self.get_flat(), self.flatten_grads(grads)))

    # the two passes ---------------------------------------------------------
    def forward(self, x):
        caches = []
        out = x
        for layer in self.layers:
            out, cache = layer.forward(out)
            caches.append(cache)
        return out, caches

    def backward(self, dout, caches):
        if len(caches) != len(self.layers):
            raise ValueError(f"caches must be the list returned by forward, one per layer ({len(self.layers)}), "
                             f"got {len(caches)}")
        grads: dict[str, np.ndarray] = {}
        for i in reversed(range(len(self.layers))):   # the chain rule, from the output back to the input
            dout, layer_grads = self.layers[i].backward(dout, caches[i])
            for name, g in layer_grads.items():
                grads[f"{i}.{name}"] = g
        return dout, {name: grads[name] for name in self.parameters() if name in grads}

    def predict(self, x) -> np.ndarray:
        """Class predictions: argmax of the outputs (one output: output > 0)."""
        out = self(x)
        return (out[..., 0] > 0).astype(int) if out.shape[-1] == 1 else np.argmax(out, axis=-1)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)  # {self.n_parameters()} parameters"


_ACTIVATION_LAYERS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU,
                      "softplus": Softplus}


def mlp(sizes: Iterable[int], activation: str = "relu", *, init: str | None = None,
        rng: np.random.Generator | int | None = 0) -> Sequential:
    """A fully connected network, e.g. ``mlp([2, 16, 16, 1])``: Linear, activation, ..., Linear.

    The last layer is linear (scores or a regression output: put the softmax in the
    loss). ``init`` defaults to "he" for ReLU-like activations and "xavier" for sigmoid / tanh.
    """
    sizes = [whole_number("sizes", s, 1, allow_float=False) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least the input and output sizes, e.g. [2, 16, 1], got {sizes}")
    if activation not in _ACTIVATION_LAYERS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, _ACTIVATION_LAYERS))}; got {activation!r}")
    if init is None:
        init = "xavier" if activation in ("sigmoid", "tanh") else "he"
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(Linear(n_in, n_out, init=init, rng=gen))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATION_LAYERS[activation]())
    return Sequential(layers)


# ------------------------------------------------------------------ losses ---
# A loss takes the network's output and the targets and returns (L, ∂L/∂out):
# the value and the gradient that starts the backward pass.

def one_hot(y, C: int) -> np.ndarray:
    """Integer labels (N,) as rows of a one-hot matrix (N, C)."""
    C = whole_number("C", C, 1, meaning="the number of classes", allow_float=False)
    if np.ndim(y) != 1:
        raise ValueError(f"y must be a 1-D array of class indices 0..{C - 1}, got shape {np.shape(y)}")
    y = index_array("y", y, C, meaning=f"one class index per example, for C = {C} classes")
    Y = np.zeros((y.size, C))
    Y[np.arange(y.size), y] = 1.0
    return Y


def softmax_cross_entropy(scores, y):
    """Mean softmax cross-entropy over the batch and its gradient: (L, (softmax(S) - Y)/N).

    ``scores``: (N, C) logits; ``y``: integer labels (N,) or target distributions (N, C)
    (one-hot rows, or soft labels summing to 1). Stable for logits of ±1000
    (log-sum-exp, as :func:`coursekit.linear.log_softmax`).
    """
    S = _array(scores, "scores", "an (N, C) array of logits", finite=False)
    if S.ndim != 2 or S.shape[0] < 1:
        raise ValueError(f"scores must have shape (N, C) with N >= 1: one row of C logits per example, "
                         f"got shape {S.shape}")
    y_arr = np.asarray(y)
    if y_arr.ndim == 2:
        Y = _array(y_arr, "y (target distributions)")
        _same_shape(S, Y, "scores", "y (target distributions, one row per example)")
        if np.any(Y < 0) or not np.allclose(Y.sum(axis=1), 1.0):
            raise ValueError("y given as a matrix must hold one probability distribution per row "
                             "(non-negative, summing to 1), e.g. one-hot rows")
        logp = linear.log_softmax(S, axis=1)
        N = S.shape[0]
        return float(-np.sum(Y * logp) / N), (np.exp(logp) - Y) / N
    return linear.cross_entropy_and_grad(S, y)


def squared_error(pred, target):
    """Squared error C = (1/N) Σ_n ‖ŷ_n - y_n‖² and its gradient 2(ŷ - y)/N.

    Summed over the outputs of an example (deck 000's e_n = (y_n - s)² for one output),
    averaged over the N examples. PyTorch's ``mse_loss`` averages over the outputs too:
    for K outputs it is this divided by K. ``pred`` and ``target`` must have the same shape.
    """
    P = _array(pred, "pred", "an (N, K) array of outputs", finite=False)
    T = _array(target, "target", "an array of targets with the shape of pred")
    _same_shape(P, T, "pred", "target")
    if P.ndim == 0 or P.shape[0] < 1:
        raise ValueError(f"pred must hold at least one example, shape (N, ...) with N >= 1, got shape {P.shape}")
    N = P.shape[0]
    r = P - T
    return float(np.sum(r * r) / N), 2.0 * r / N


def hinge_loss(scores, y):
    """Binary hinge loss (1/N) Σ max(0, 1 - yₙ sₙ) with labels yₙ = ±1 and its gradient.

    ``scores``: (N,) or (N, 1); 0/1 labels are read as -1/+1. This is the loss of
    micrograd's two-moons demo (the unit 05 anchor). At the kink 1 - ys = 0 the
    gradient is taken as 0.
    """
    S = _array(scores, "scores", "an (N,) or (N, 1) array of scores", finite=False)
    s = S.reshape(-1) if S.ndim == 2 and S.shape[1] == 1 else S
    if s.ndim != 1 or s.size < 1:
        raise ValueError(f"scores must have shape (N,) or (N, 1) with N >= 1, got shape {S.shape}")
    y_arr = _array(y, "y", "labels ±1 (or 0/1)")
    if y_arr.shape != s.shape:
        raise ValueError(f"y must have shape ({s.size},), one label per score, got shape {y_arr.shape}")
    if np.all(np.isin(y_arr, (0.0, 1.0))):
        y_arr = 2.0 * y_arr - 1.0
    elif not np.all(np.isin(y_arr, (-1.0, 1.0))):
        raise ValueError("y must hold labels -1/+1 (or 0/1)")
    N = s.size
    margin = 1.0 - y_arr * s
    grad = np.where(margin > 0, -y_arr, 0.0) / N
    return float(np.mean(np.maximum(0.0, margin))), grad.reshape(S.shape)


LOSSES: dict[str, Callable] = {"cross_entropy": softmax_cross_entropy, "squared_error": squared_error,
                               "hinge": hinge_loss}


def accuracy(out, y) -> float:
    """Fraction of correct predictions from network outputs: argmax of (N, C) scores, or the
    sign of (N,) / (N, 1) scores against labels 0/1 or ±1."""
    out = np.asarray(out, dtype=float)
    y = np.asarray(y)
    if out.ndim == 0 or y.size != out.shape[0]:
        raise ValueError(f"y must hold one label per row of out (N,) or (N, C); got out of shape {out.shape} "
                         f"and y of shape {y.shape}")
    if out.ndim == 2 and out.shape[1] > 1:
        return float(np.mean(np.argmax(out, axis=1) == y))
    s = out.reshape(-1)
    positive = y.reshape(-1) > 0
    return float(np.mean((s > 0) == positive))


# ------------------------------------------------------ the δ recursion ---

def _weights_and_biases(Ws, bs):
    Ws = [_array(W, f"Ws[{i}]") for i, W in enumerate(Ws)]
    bs = [_array(b, f"bs[{i}]").reshape(-1) for i, b in enumerate(bs)]
    if len(Ws) != len(bs) or not Ws:
        raise ValueError(f"Ws and bs must list the same number (>= 1) of layers, got {len(Ws)} and {len(bs)}")
    for l, (W, b) in enumerate(zip(Ws, bs), start=1):
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"layer {l}: W must be (n_in, n_out) and b (n_out,), got {W.shape} and {b.shape}")
        if l > 1 and W.shape[0] != Ws[l - 2].shape[1]:
            raise ValueError(f"layer {l}: W has {W.shape[0]} rows but layer {l - 1} has {Ws[l - 2].shape[1]} outputs")
    return Ws, bs


def forward_pass(x, Ws, bs, activation: str = "sigmoid", output_activation: str | None = None):
    """The forward pass of a fully connected network in the row convention:
    z^l = a^{l-1} W^l + b^l, a^l = σ(z^l), with a^0 = x.

    ``output_activation`` is the last layer's σ (default: the same as the hidden layers;
    "identity" for a linear output). Returns ``(zs, activations)``: lists of z^1..z^L
    and a^0..a^L.
    """
    Ws, bs = _weights_and_biases(Ws, bs)
    a = _array(x, "x")
    if a.ndim == 1:
        a = a[None, :]
    if a.shape[-1] != Ws[0].shape[0]:
        raise ValueError(f"x must have {Ws[0].shape[0]} features per row to match W^1 of shape {Ws[0].shape}, "
                         f"got shape {a.shape}")
    sigma, _ = _pair(activation)
    sigma_out, _ = _pair(output_activation or activation)
    zs, activations = [], [a]
    for l, (W, b) in enumerate(zip(Ws, bs), start=1):
        z = activations[-1] @ W + b
        zs.append(z)
        activations.append((sigma_out if l == len(Ws) else sigma)(z))
    return zs, activations


def _pair(name: str) -> tuple[Callable, Callable]:
    # the parameters named `activation` below shadow the function activation()
    return activation(name)


def backprop(x, Ws, bs, dC_da, activation: str = "sigmoid", output_activation: str | None = None):
    """Gradients of a cost C by the δ recursion of deck 003, in the row convention.

    ``dC_da``: a function a^L -> ∇C(a^L) (the cost's gradient with respect to the network
    output, e.g. ``lambda y: 2 * (y - target) / N``). With δ^l = ∂C/∂z^l:

        δ^L = σ'(z^L) ⊙ ∇C(a^L)
        δ^l = σ'(z^l) ⊙ δ^{l+1} (W^{l+1})ᵀ          (deck 003: σ'(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1} for columns)
        ∂C/∂W^l = (a^{l-1})ᵀ δ^l,   ∂C/∂b^l = Σ_n δ^l_n

    Returns ``(dWs, dbs, deltas)``, each a list over layers 1..L.
    """
    zs, activations = forward_pass(x, Ws, bs, activation, output_activation)
    _, sigma_prime = _pair(activation)
    _, sigma_prime_out = _pair(output_activation or activation)
    L = len(zs)
    deltas = [None] * L
    grad_out = _array(dC_da(activations[-1]), "dC_da(a^L)")
    _same_shape(activations[-1], grad_out, "the network output a^L", "dC_da(a^L)")
    deltas[L - 1] = sigma_prime_out(zs[L - 1]) * grad_out                    # δ^L
    for l in range(L - 2, -1, -1):
        deltas[l] = sigma_prime(zs[l]) * (deltas[l + 1] @ Ws[l + 1].T)       # δ^l from δ^{l+1}
    dWs = [activations[l].T @ deltas[l] for l in range(L)]                   # a^{l-1}ᵀ δ^l
    dbs = [deltas[l].sum(axis=0) for l in range(L)]
    return dWs, dbs, deltas


def forward_columns(x, Ws_col, bs, activation: str = "sigmoid"):
    """Decks 003 / 004's column convention: one example as a column, z^l = W^l a^{l-1} + b^l
    with W^l of shape (n_out, n_in). Returns the output a^L as a column vector (n_L,).

    ``forward_columns(x, [W.T for W in Ws], bs)`` equals the row convention's output.
    """
    a = _array(x, "x").reshape(-1)
    sigma, _ = _pair(activation)
    for l, (W, b) in enumerate(zip(Ws_col, bs), start=1):
        W = _array(W, f"W^{l}")
        b = _array(b, f"b^{l}").reshape(-1)
        if W.ndim != 2 or W.shape[1] != a.shape[0] or b.shape != (W.shape[0],):
            raise ValueError(f"layer {l}: W^{l} must have shape (n_out, n_in) with n_in = {a.shape[0]} and b^{l} "
                             f"shape (n_out,), got {W.shape} and {b.shape}")
        a = sigma(W @ a + b)
    return a


def deck000_backprop(x, y: float, Ws):
    """Deck 000's backprop for one example: tanh hidden layers, a linear output s_1^(L),
    squared error e_n = (y_n - s_1^(L))².

    ``Ws[l]`` has shape (d^(ℓ-1) + 1, d^(ℓ)) with row 0 the bias weights: w_ij^(ℓ) with i the
    input (x_0 = 1) and j the output, exactly the deck's indexing. Returns
    ``(e_n, grads, deltas)`` with δ_1^(L) = -2(y_n - s_1^(L)),
    δ_j^(ℓ) = Σ_k δ_k^(ℓ+1) w_jk^(ℓ+1) tanh'(s_j^(ℓ)) and ∂e_n/∂w_ij^(ℓ) = x_i^(ℓ-1) δ_j^(ℓ).
    """
    Ws = [_array(W, f"Ws[{l}]") for l, W in enumerate(Ws)]
    xs = [np.concatenate([[1.0], _array(x, "x").reshape(-1)])]     # x^(0) with x_0 = 1
    ss = []
    for l, W in enumerate(Ws, start=1):
        if W.ndim != 2 or W.shape[0] != xs[-1].size:
            raise ValueError(f"Ws[{l - 1}] must have shape (d^({l - 1}) + 1, d^({l})) = ({xs[-1].size}, ...) with "
                             f"row 0 the bias weights, got shape {W.shape}")
        s = xs[-1] @ W                                               # s_j^(ℓ) = Σ_i w_ij x_i
        ss.append(s)
        xs.append(np.concatenate([[1.0], np.tanh(s)]) if l < len(Ws) else s)
    if ss[-1].shape != (1,):
        raise ValueError(f"the output layer must have one unit (d^(L) = 1), got {ss[-1].size}")
    e = float((y - ss[-1][0]) ** 2)
    deltas = [None] * len(Ws)
    deltas[-1] = np.array([-2.0 * (y - ss[-1][0])])
    for l in range(len(Ws) - 2, -1, -1):
        # the sum over k skips row 0 of W^(ℓ+1): the bias x_0 does not depend on s^(ℓ)
        deltas[l] = (Ws[l + 1][1:] @ deltas[l + 1]) * (1.0 - np.tanh(ss[l]) ** 2)
    grads = [np.outer(xs[l], deltas[l]) for l in range(len(Ws))]
    return e, grads, deltas


def dense_jacobian(x, W, b, activation: str = "sigmoid") -> np.ndarray:
    """∂h/∂x of one dense layer h = σ(xW + b) at one example x: diag(σ'(h̄)) Wᵀ, shape (n_out, n_in) (deck 002)."""
    x = _array(x, "x").reshape(-1)
    W = _array(W, "W")
    b = _array(b, "b").reshape(-1)
    if W.ndim != 2 or W.shape[0] != x.size or b.shape != (W.shape[1],):
        raise ValueError(f"W must have shape (n_in, n_out) = ({x.size}, n_out) and b (n_out,), "
                         f"got {W.shape} and {b.shape}")
    _, sigma_prime = _pair(activation)
    h_bar = x @ W + b
    return np.diag(sigma_prime(h_bar)) @ W.T


def numerical_jacobian(f: Callable, x, h: float = 1e-6) -> np.ndarray:
    """The Jacobian ∂f/∂x of f: R^m -> R^n by centred differences, shape (n, m)."""
    x = _array(x, "x").reshape(-1).copy()
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((np.ravel(f(x + step)) - np.ravel(f(x - step))) / (2 * h))
    return np.stack(columns, axis=1)


# ---------------------------------------------------- gradient checking ---

def numerical_gradient(f: Callable[[np.ndarray], float], x, h: float = 1e-5) -> np.ndarray:
    """∂f/∂x by centred differences, (f(x + h eᵢ) - f(x - h eᵢ)) / 2h for every entry i.

    ``x`` is changed in place, one entry at a time, and restored: pass the very array
    that ``f`` reads (a layer's ``params["W"]``) to differentiate through it. Work in
    float64: in float32 the rounding error of f, divided by 2h, swamps the answer.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(f"x must be a float64 NumPy array (changed in place and restored), got "
                         f"{type(x).__name__}{' of dtype ' + str(x.dtype) if isinstance(x, np.ndarray) else ''}")
    h = real_number("h", h, 0.0, low_open=True, meaning="the step of the centred difference")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """max|a - b| / max(1e-8, max|a| + max|b|): the largest difference, relative to the size of the gradients.

    Scale-free: 1e-7 means the two agree to about seven digits of their largest entries,
    whatever the units. Measured against the whole array, not entry by entry, so entries
    that are tiny in both (where centred differences have only their rounding error left)
    do not dominate. The 1e-8 floor keeps two zero arrays from dividing by zero.
    """
    a = _array(a, "a")
    b = _array(b, "b")
    _same_shape(a, b, "a", "b")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a)) + np.max(np.abs(b))))


def read_relative_error(error: float) -> str:
    """The usual reading of a gradient check's relative error (CS231n's rule of thumb)."""
    if error <= 1e-7:
        return "good: the gradients agree"
    if error <= 1e-4:
        return ("usually fine: expected near a kink (ReLU, max), in deep networks and for tiny gradient "
                "entries; too high for a small smooth function")
    if error <= 1e-2:
        return "uncomfortable: probably a bug, unless kinks explain it"
    return "wrong: the gradient formula has a bug"


@dataclass
class GradientCheck:
    """The outcome of :func:`gradient_check`: both gradients, their relative error and its reading."""

    analytic: np.ndarray
    numeric: np.ndarray
    error: float

    @property
    def reading(self) -> str:
        return read_relative_error(self.error)

    @property
    def ok(self) -> bool:
        return self.error <= 1e-7

    def __str__(self) -> str:
        return f"relative error {self.error:.2e}: {self.reading}"


def gradient_check(f: Callable[[np.ndarray], float], x, analytic, h: float = 1e-5) -> GradientCheck:
    """Compare an analytic gradient of the scalar function ``f`` at ``x`` with centred differences.

    ``x``: a float64 array that ``f`` reads (changed in place and restored);
    ``analytic``: the gradient to test, shape of x. Returns a :class:`GradientCheck`.
    """
    numeric = numerical_gradient(f, x, h)
    analytic = _array(analytic, "analytic (the gradient to check)")
    _same_shape(numeric, analytic, "x", "analytic")
    return GradientCheck(analytic, numeric, relative_error(analytic, numeric))


def check_layer(layer: Layer, x, seed: int = 0, h: float = 1e-5) -> dict[str, GradientCheck]:
    """Gradient-check a layer's backward: ∂L/∂x and every ∂L/∂param, for L = Σ out ⊙ R with a
    fixed random R (so every output entry matters). Returns a check per name ("x", "W", ...)."""
    x = _array(x, "x").copy()
    out, cache = layer.forward(x)
    R = np.random.default_rng(seed).standard_normal(np.shape(out))
    dx, grads = layer.backward(R, cache)

    def L(_):
        return float(np.sum(layer.forward(x)[0] * R))

    checks = {"x": gradient_check(L, x, dx, h)}
    for name, p in layer.params.items():
        checks[name] = gradient_check(L, p, grads[name], h)
    return checks


def check_model(model: Layer, x, y, loss: Callable = softmax_cross_entropy, h: float = 1e-5) -> dict[str, GradientCheck]:
    """Gradient-check a whole network on a loss: every parameter's gradient from backprop
    against centred differences of ``loss(model(x), y)``."""
    x = _array(x, "x")
    out, caches = model.forward(x)
    _, dout = loss(out, y)
    _, grads = model.backward(dout, caches)

    def C(_):
        return loss(model.forward(x)[0], y)[0]

    return {name: gradient_check(C, p, grads[name], h) for name, p in model.params.items()}


# ------------------------------------------------- counting and training ---

def count_parameters(sizes: Iterable[int], bias: bool = True) -> int:
    """Weights (and biases) of a fully connected network with layer sizes d^(0)-d^(1)-...-d^(L):
    Σ_ℓ (d^(ℓ-1) + 1) d^(ℓ) with biases, Σ_ℓ d^(ℓ-1) d^(ℓ) without. A 3-5-1 network has 26."""
    sizes = [whole_number("sizes", s, 1, allow_float=False) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layer sizes, got {sizes}")
    return int(sum((n_in + (1 if bias else 0)) * n_out for n_in, n_out in zip(sizes, sizes[1:])))


def fit(model: Sequential, X, y, loss: Callable = softmax_cross_entropy, optimizer=None, steps: int = 100,
        batch_size: int | None = None, l2: float = 0.0, seed: int = 0) -> list[dict]:
    """Train a NumPy network with a :mod:`coursekit.optim` optimizer: each step is a forward
    pass, the loss and its gradient, the backward pass and one update.

    ``batch_size=None``: full batch; otherwise seeded mini-batches, every example once per
    epoch (:func:`coursekit.optim.batch_schedule`). ``l2``: adds λ Σ‖W‖² over the weight
    matrices (not the biases). Returns one record per step: ``step``, ``loss`` (with the
    penalty) and ``accuracy`` on the batch, measured before the update.
    """
    from . import optim

    X = _array(X, "X")
    y = np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must hold the same number of examples, got shapes {X.shape} and {y.shape}")
    steps = whole_number("steps", steps, 0, meaning="the number of updates")
    l2 = real_number("l2", l2, 0.0, meaning="the weight-decay strength λ")
    optimizer = optimizer if optimizer is not None else optim.GD(0.1)
    schedule = optim.batch_schedule(X.shape[0], batch_size, seed) if batch_size else None
    history = []
    for t in range(steps):
        idx = next(schedule)[1] if schedule is not None else slice(None)
        out, caches = model.forward(X[idx])
        value, dout = loss(out, y[idx])
        _, grads = model.backward(dout, caches)
        if l2:
            for name, p in model.params.items():
                if name.split(".")[-1] == "W":
                    value += l2 * float(np.sum(p * p))
                    grads[name] = grads[name] + 2.0 * l2 * p
        history.append({"step": t, "loss": value, "accuracy": accuracy(out, y[idx])})
        model.step(optimizer, grads)
    return history
