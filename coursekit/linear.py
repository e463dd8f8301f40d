"""Linear classifiers and their losses (deck 001, deck 000 unit 2).

Two families live here:

* **Logistic regression** (邏輯斯迴歸, deck 000): a binary, *soft* classifier
  h(x) = θ(wᵀx) with labels y ∈ {-1, +1} and bias-augmented inputs
  x = (1, x₁, ..., x_d), exactly the conventions of :mod:`coursekit.perceptron`.
* **Multiclass linear classifiers** (deck 001): scores f(x, W) = Wx + b for C
  classes, judged by the multiclass SVM (hinge) loss or the softmax
  cross-entropy, plus L2 / L1 / elastic-net regularization.

Batch convention. The slides write one example as a column, s = Wx + b with
W of shape (C, D). Code stacks N examples as the *rows* of X, shape (N, D), so
the N score vectors are the rows of S = X Wᵀ + b, shape (N, C). Every
function below takes W as (C, D) (the slides' shape) and X, S row-wise.

Numerical safety: θ, softmax, log-softmax and cross-entropy never compute
``exp`` of a large positive number, so logits of ±1000 give exact results
instead of ``inf``/``nan``.
"""
from __future__ import annotations

import numpy as np

from ._validate import real_number
from .device import cpu_threads

__all__ = [
    # logistic regression
    "theta", "logistic_error", "logistic_gradient", "train_logistic", "logistic_predict_proba",
    "logistic_predict", "least_squares",
    # scores
    "scores", "add_bias_column", "bias_trick",
    # losses
    "svm_loss_i", "svm_losses", "svm_loss", "svm_loss_grad", "svm_loss_and_grad",
    "softmax", "log_softmax", "cross_entropy_losses", "cross_entropy", "cross_entropy_grad",
    "cross_entropy_and_grad", "softmax_loss_and_grad",
    # regularization
    "l2", "l2_grad", "l1", "l1_grad", "elastic_net", "elastic_net_grad", "regularization",
    "full_loss", "full_loss_and_grad",
    # training
    "SoftmaxClassifier", "train_softmax_classifier", "accuracy",
]


# ------------------------------------------------------------- validation ---

def _matrix(A, name: str, shape_text: str) -> np.ndarray:
    A = np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape {shape_text}, got shape {A.shape}")
    return A


def _pm1_labels(y, N: int) -> np.ndarray:
    """Labels for logistic regression: shape (N,), every entry -1 or +1."""
    y = np.asarray(y, dtype=float)
    if y.shape != (N,):
        raise ValueError(f"y must have shape (N,) = ({N},), one label per row of X, got shape {y.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("y must hold labels -1 or +1 (logistic regression as in deck 000); "
                         "for 0/1 labels pass 2*y - 1")
    return y


def _class_labels(y, N: int, C: int) -> np.ndarray:
    """Integer class labels: shape (N,), each in 0..C-1."""
    y_arr = np.asarray(y)
    if y_arr.shape != (N,):
        raise ValueError(f"y must have shape (N,) = ({N},), one class index per row of S, got shape {y_arr.shape}")
    if y_arr.size and not np.all(np.equal(np.mod(y_arr, 1), 0)):
        raise ValueError(f"y must hold integer class indices 0..{C - 1}, got {y_arr[:5]}...")
    y_int = y_arr.astype(int)
    if y_int.size and (y_int.min() < 0 or y_int.max() >= C):
        raise ValueError(f"class indices in y must lie in 0..{C - 1} (S has C = {C} columns), "
                         f"got values from {y_int.min()} to {y_int.max()}")
    return y_int


def _scores_and_labels(S, y):
    S = _matrix(S, "S", "(N, C): one row of C class scores per example")
    if S.shape[1] < 1:
        raise ValueError(f"S must have at least one class column, got shape {S.shape}")
    return S, _class_labels(y, S.shape[0], S.shape[1])


def _nonempty_batch(S, y):
    """Scores and labels for a *mean* loss: like _scores_and_labels, and N >= 1."""
    S, y = _scores_and_labels(S, y)
    if S.shape[0] < 1:
        raise ValueError(f"S must hold at least one example, shape (N, C) with N >= 1, got shape {S.shape}: "
                         "the mean loss of an empty batch is undefined")
    return S, y


def _weights(W, name: str = "W") -> np.ndarray:
    """Weights for a regularizer: a real, finite array of any shape (usually W of shape (C, D), or a vector w)."""
    expected = f"{name} must be a real-valued array of weights (W of shape (C, D), or any shape)"
    try:
        arr = np.asarray(W)
    except (TypeError, ValueError):  # ragged nested lists
        raise ValueError(f"{expected}, got a ragged {type(W).__name__}") from None
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{expected}, got {type(W).__name__} of dtype {arr.dtype}")
    arr = arr.astype(float)
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise ValueError(f"{name} must hold finite numbers, but {bad} of its {arr.size} entries (shape {arr.shape}) "
                         "are nan or inf")
    return arr


def _beta(beta) -> float:
    return real_number("beta (the weight of the L2 part of the elastic net)", beta, 0)


def _weights_and_data(w, X):
    X = _matrix(X, "X", "(N, d+1) with the constant feature x_0 = 1 in column 0")
    w = np.asarray(w, dtype=float)
    if w.shape != (X.shape[1],):
        raise ValueError(f"w must have shape (d+1,) = ({X.shape[1]},) to match X of shape {X.shape}, "
                         f"got shape {w.shape}")
    return w, X


# ------------------------------------------------------ logistic regression ---

def theta(s):
    """The logistic function θ(s) = 1 / (1 + e^{-s}) = e^s / (1 + e^s).

    Numerically safe: for s ≥ 0 it uses the first form, for s < 0 the second,
    so ``exp`` only ever sees -|s| ≤ 0 and cannot overflow. θ(-1000) = 0 and
    θ(1000) = 1 without warnings. Returns a float for a scalar input.
    """
    s_arr = np.asarray(s, dtype=float)
    e = np.exp(-np.abs(s_arr))                      # e^{-|s|} in (0, 1]
    out = np.where(s_arr >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return float(out) if out.ndim == 0 else out


def logistic_error(w, X, y) -> float:
    """In-sample cross-entropy error E_in(w) = (1/N) Σ ln(1 + exp(-yₙ wᵀxₙ)).

    X: (N, d+1) bias-augmented rows, w: (d+1,), y: (N,) in {-1, +1}.
    ln(1 + e^z) is computed as ``np.logaddexp(0, z)``, exact for large |z|.
    """
    w, X = _weights_and_data(w, X)
    y = _pm1_labels(y, X.shape[0])
    return float(np.mean(np.logaddexp(0.0, -y * (X @ w))))


def logistic_gradient(w, X, y) -> np.ndarray:
    """∇E_in(w) = (1/N) Σ θ(-yₙ wᵀxₙ)(-yₙ xₙ), shape (d+1,).

    Each point pushes w along -yₙxₙ, weighted by θ(-yₙwᵀxₙ): how wrong the
    model currently is about that point (≈ 1 for a confident mistake, ≈ 0 for
    a confident correct answer).
    """
    w, X = _weights_and_data(w, X)
    y = _pm1_labels(y, X.shape[0])
    weight = theta(-y * (X @ w))                    # (N,)
    return X.T @ (weight * -y) / X.shape[0]


def train_logistic(X, y, eta: float = 0.1, steps: int = 1000, w0=None):
    """Logistic regression by fixed-learning-rate gradient descent.

    w_{t+1} = w_t - η ∇E_in(w_t), starting from w0 (zeros by default).
    Returns ``(w, history)``: the final weights and an array of the
    ``steps + 1`` errors E_in(w_0), ..., E_in(w_steps).
    """
    X = _matrix(X, "X", "(N, d+1) with the constant feature x_0 = 1 in column 0")
    y = _pm1_labels(y, X.shape[0])
    if not np.isfinite(eta) or eta <= 0:
        raise ValueError(f"eta (learning rate) must be a positive number, got {eta!r}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    w, X = _weights_and_data(w, X)
    w = w.copy()
    history = [logistic_error(w, X, y)]
    with cpu_threads("auto", w.size):   # small products: one BLAS thread (the workbook's thread policy)
        for _ in range(int(steps)):
            w = w - eta * logistic_gradient(w, X, y)
            history.append(logistic_error(w, X, y))
    return w, np.array(history)


def logistic_predict_proba(w, X) -> np.ndarray:
    """h(x) = θ(wᵀx): the estimated probability that y = +1, one per row of X."""
    w, X = _weights_and_data(w, X)
    return theta(X @ w)


def logistic_predict(w, X) -> np.ndarray:
    """Hard labels in {-1, +1}: +1 where θ(wᵀx) ≥ 1/2, i.e. wᵀx ≥ 0."""
    w, X = _weights_and_data(w, X)
    return np.where(X @ w >= 0, 1, -1)


def least_squares(X, y) -> np.ndarray:
    """Linear regression's closed form w_lin = X^† y (pseudo-inverse), minimizing (1/N) Σ (wᵀxₙ - yₙ)².

    X: (N, d+1) bias-augmented rows; y: (N,) real targets. Unlike logistic
    regression, squared error has this one-step answer (deck 000's third
    linear model, next to classification and logistic regression).
    """
    X = _matrix(X, "X", "(N, d+1) with the constant feature x_0 = 1 in column 0")
    y = np.asarray(y, dtype=float)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({X.shape[0]},), one target per row of X, got shape {y.shape}")
    return np.linalg.lstsq(X, y, rcond=None)[0]


# ------------------------------------------------------------------ scores ---

def scores(W, X, b=None) -> np.ndarray:
    """Class scores of a linear classifier, f(x, W) = Wx + b.

    W: (C, D), one row (one template) per class; b: (C,) or None (no bias,
    e.g. after the bias trick). X: one example of shape (D,) gives the C
    scores, shape (C,); a batch of N examples as rows, shape (N, D), gives
    S = X Wᵀ + b of shape (N, C): row n holds the scores of example n.
    """
    W = _matrix(W, "W", "(C, D): one row of D weights per class")
    X = np.asarray(X, dtype=float)
    if X.ndim not in (1, 2) or X.shape[-1] != W.shape[1]:
        raise ValueError(f"X must have shape (D,) or (N, D) with D = {W.shape[1]} to match W of shape "
                         f"{W.shape}, got shape {X.shape}")
    S = X @ W.T
    if b is not None:
        b = np.asarray(b, dtype=float)
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape (C,) = ({W.shape[0]},), one bias per class, got shape {b.shape}")
        S = S + b
    return S


def add_bias_column(X) -> np.ndarray:
    """The bias trick on the data: append a constant 1 to every example.

    (N, D) -> (N, D+1), or one example (D,) -> (D+1,). Deck 001 puts the 1
    *last* (the bias becomes the last column of W); deck 000's perceptron puts
    x₀ = 1 first (:func:`coursekit.perceptron.add_bias`). Both are the same
    idea; only the position differs.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        return np.append(X, 1.0)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (D,) or (N, D), got shape {X.shape}")
    return np.hstack([X, np.ones((X.shape[0], 1))])


def bias_trick(W, b) -> np.ndarray:
    """The bias trick on the weights: W' = [W | b], shape (C, D+1).

    Then W'x' = Wx + b for x' = [x, 1] (:func:`add_bias_column`), so one
    matrix product does both.
    """
    W = _matrix(W, "W", "(C, D): one row of D weights per class")
    b = np.asarray(b, dtype=float)
    if b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape (C,) = ({W.shape[0]},), one bias per class, got shape {b.shape}")
    return np.hstack([W, b[:, None]])


# ------------------------------------------------- multiclass SVM (hinge) ---

def svm_loss_i(s, y, delta: float = 1.0) -> float:
    """The multiclass SVM loss of one example: L_i = Σ_{j≠y} max(0, s_j - s_y + Δ).

    s: the C scores of the example, shape (C,); y: its true class index.
    Each wrong class that comes within the margin Δ of the true class (or
    beats it) adds how far it intrudes.
    """
    s = np.asarray(s, dtype=float)
    if s.ndim != 1 or s.size < 1:
        raise ValueError(f"s must be a 1-D array of C class scores, got shape {s.shape}")
    return float(svm_losses(s[None, :], [y], delta)[0])


def _margins(S, y, delta):
    """max(0, s_j - s_y + Δ) for every example and class, 0 at the true class: (N, C)."""
    N = S.shape[0]
    correct = S[np.arange(N), y][:, None]            # s_{y_n}, as a column
    margins = np.maximum(0.0, S - correct + delta)
    margins[np.arange(N), y] = 0.0                  # the sum skips j = y
    return margins


def _svm_grad(margins, y):
    """∂L/∂S of the mean SVM loss from the margins of _margins (checked S and y, N >= 1)."""
    N = margins.shape[0]
    active = (margins > 0).astype(float)
    active[np.arange(N), y] = -active.sum(axis=1)
    return active / N


def svm_losses(S, y, delta: float = 1.0) -> np.ndarray:
    """Per-example SVM losses L_i for a batch of scores S (N, C): shape (N,)."""
    S, y = _scores_and_labels(S, y)
    return _margins(S, y, delta).sum(axis=1)


def svm_loss(S, y, delta: float = 1.0) -> float:
    """The data loss L = (1/N) Σ L_i with the multiclass SVM loss, vectorized.

    Equals ``torch.nn.functional.multi_margin_loss(S, y, margin=Δ)`` times C:
    PyTorch divides each example's sum by the number of classes.
    """
    S, y = _nonempty_batch(S, y)
    return float(np.mean(_margins(S, y, delta).sum(axis=1)))


def svm_loss_grad(S, y, delta: float = 1.0) -> np.ndarray:
    """∂L/∂S for L = svm_loss(S, y, Δ): shape (N, C).

    For a wrong class j: 1/N if its margin is violated (s_j - s_y + Δ > 0),
    else 0. For the true class: -(number of violating classes)/N, because
    s_y appears with a minus sign in every violated term. At a kink
    (margin exactly 0) the subgradient 0 is used.
    """
    S, y = _nonempty_batch(S, y)
    return _svm_grad(_margins(S, y, delta), y)


def svm_loss_and_grad(W, X, y, delta: float = 1.0):
    """The SVM data loss as a function of W and its gradient: (L, ∂L/∂W).

    S = X Wᵀ (use the bias trick for a bias), so ∂L/∂W = (∂L/∂S)ᵀ X, shape (C, D).
    """
    X = _matrix(X, "X", "(N, D): one example per row")
    S, y = _nonempty_batch(scores(W, X), y)
    margins = _margins(S, y, delta)
    return float(np.mean(margins.sum(axis=1))), _svm_grad(margins, y).T @ X


# --------------------------------------------------- softmax cross-entropy ---

def softmax(S, axis: int = -1) -> np.ndarray:
    """P(Y = k | x) = e^{s_k} / Σ_j e^{s_j} along ``axis`` (the class axis).

    Subtracting the largest score first leaves the result unchanged (the
    factor e^{-max} cancels) and keeps every exponent ≤ 0: no overflow.
    """
    S = np.asarray(S, dtype=float)
    shifted = S - np.max(S, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(S, axis: int = -1) -> np.ndarray:
    """ln softmax(S) = s_k - logsumexp(s), computed without forming e^{s}.

    logsumexp(s) = m + ln Σ_j e^{s_j - m} with m = max_j s_j. For s = (1000, -1000)
    it gives exactly (0, -2000), where the naive formula gives nan.
    """
    S = np.asarray(S, dtype=float)
    m = np.max(S, axis=axis, keepdims=True)
    shifted = S - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _cross_entropy_losses(S, y) -> np.ndarray:
    """cross_entropy_losses on checked S and y."""
    return -log_softmax(S, axis=1)[np.arange(S.shape[0]), y]


def cross_entropy_losses(S, y) -> np.ndarray:
    """Per-example softmax cross-entropy L_i = -ln P(Y = y_i | x_i): shape (N,).

    Natural log, as in ``torch.nn.functional.cross_entropy``.
    """
    S, y = _scores_and_labels(S, y)
    return _cross_entropy_losses(S, y)


def cross_entropy(S, y) -> float:
    """Mean softmax cross-entropy (1/N) Σ -ln softmax(s_n)[y_n] over the batch (N >= 1)."""
    S, y = _nonempty_batch(S, y)
    return float(np.mean(_cross_entropy_losses(S, y)))


def _one_hot(y, C):
    Y = np.zeros((len(y), C))
    Y[np.arange(len(y)), y] = 1.0
    return Y


def cross_entropy_grad(S, y) -> np.ndarray:
    """∂L/∂S for L = cross_entropy(S, y): (softmax(S) - onehot(y)) / N, shape (N, C).

    Raising the true class's score lowers the loss (gradient p_y - 1 < 0);
    raising any other score raises it (gradient p_j > 0).
    """
    S, y = _nonempty_batch(S, y)
    N, C = S.shape
    return (softmax(S, axis=1) - _one_hot(y, C)) / N


def cross_entropy_and_grad(S, y):
    """(cross_entropy(S, y), cross_entropy_grad(S, y)), sharing one softmax."""
    S, y = _nonempty_batch(S, y)
    return _cross_entropy_and_grad(S, y)


def _cross_entropy_and_grad(S, y):
    """cross_entropy_and_grad on checked S and y (N >= 1)."""
    N, C = S.shape
    logp = log_softmax(S, axis=1)
    loss = float(-np.mean(logp[np.arange(N), y]))
    return loss, (np.exp(logp) - _one_hot(y, C)) / N


def softmax_loss_and_grad(W, X, y):
    """The softmax data loss as a function of W and its gradient: (L, ∂L/∂W), ∂L/∂W = (∂L/∂S)ᵀ X."""
    X = _matrix(X, "X", "(N, D): one example per row")
    loss, dS = cross_entropy_and_grad(scores(W, X), y)
    return loss, dS.T @ X


# ----------------------------------------------------------- regularizers ---

# The private forms take weights already checked by _weights (and beta by _beta):
# the public functions check once and call them, and so does the training loop.

def _l2(W):
    return float(np.sum(W * W))


def _l2_grad(W):
    return 2.0 * W


def _l1(W):
    return float(np.sum(np.abs(W)))


def _l1_grad(W):
    return np.sign(W)


def _elastic_net(W, beta):
    return beta * _l2(W) + _l1(W)


def _elastic_net_grad(W, beta):
    return beta * _l2_grad(W) + _l1_grad(W)


def l2(W) -> float:
    """L2 regularization R(W) = Σ_k Σ_l W_{k,l}²: prefers many small weights.

    W: real, finite weights of any shape (W of shape (C, D), or a vector w).
    """
    return _l2(_weights(W))


def l2_grad(W) -> np.ndarray:
    """∂R/∂W = 2W for R = l2(W), the shape of W."""
    return _l2_grad(_weights(W))


def l1(W) -> float:
    """L1 regularization R(W) = Σ_k Σ_l |W_{k,l}|: pushes weights to exactly 0 (sparse W)."""
    return _l1(_weights(W))


def l1_grad(W) -> np.ndarray:
    """A (sub)gradient of l1: sign(W), with 0 where W = 0 (as torch.abs's gradient)."""
    return _l1_grad(_weights(W))


def elastic_net(W, beta: float = 1.0) -> float:
    """Elastic net (L1 + L2), as deck 001 writes it: R(W) = Σ_k Σ_l β W_{k,l}² + |W_{k,l}|, β >= 0."""
    return _elastic_net(_weights(W), _beta(beta))


def elastic_net_grad(W, beta: float = 1.0) -> np.ndarray:
    """∂R/∂W = 2βW + sign(W) for R = elastic_net(W, β)."""
    return _elastic_net_grad(_weights(W), _beta(beta))


_REGULARIZERS = {
    "l2": (lambda W, beta: _l2(W), lambda W, beta: _l2_grad(W)),
    "l1": (lambda W, beta: _l1(W), lambda W, beta: _l1_grad(W)),
    "elastic_net": (_elastic_net, _elastic_net_grad),
    "none": (lambda W, beta: 0.0, lambda W, beta: np.zeros_like(W)),
}


def _regularizer(reg: str):
    """(R, dR) for a regularizer's name, both taking checked (W, beta)."""
    if reg not in _REGULARIZERS:
        raise ValueError(f"reg must be one of {sorted(_REGULARIZERS)}, got {reg!r}")
    return _REGULARIZERS[reg]


def regularization(W, reg: str = "l2", beta: float = 1.0):
    """(R(W), ∂R/∂W) for reg in "l2", "l1", "elastic_net" or "none"; ∂R/∂W has the shape of W."""
    R, dR = _regularizer(reg)
    W, beta = _weights(W), _beta(beta)
    return R(W, beta), dR(W, beta)


_DATA_LOSSES = {"softmax": softmax_loss_and_grad, "svm": svm_loss_and_grad}


def full_loss_and_grad(W, X, y, lam: float, data_loss: str = "softmax", reg: str = "l2",
                       delta: float = 1.0, beta: float = 1.0):
    """The full loss L(W) = (1/N) Σ L_i + λ R(W) and its gradient ∂L/∂W.

    data_loss: "softmax" (cross-entropy) or "svm" (hinge, margin ``delta``);
    reg: "l2", "l1", "elastic_net" (with ``beta``) or "none". Scores are
    S = X Wᵀ; with the bias trick the bias column of W is regularized too,
    as in the deck's R(W), which sums over every entry.
    """
    if data_loss not in _DATA_LOSSES:
        raise ValueError(f"data_loss must be 'softmax' or 'svm', got {data_loss!r}")
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam (regularization strength λ) must be a number >= 0, got {lam!r}")
    if data_loss == "svm":
        loss, dW = svm_loss_and_grad(W, X, y, delta)
    else:
        loss, dW = softmax_loss_and_grad(W, X, y)
    R, dR = regularization(W, reg, beta)
    return loss + lam * R, dW + lam * dR


def full_loss(W, X, y, lam: float, data_loss: str = "softmax", reg: str = "l2",
              delta: float = 1.0, beta: float = 1.0) -> float:
    """L(W) = data loss + λ R(W); see :func:`full_loss_and_grad`."""
    return full_loss_and_grad(W, X, y, lam, data_loss, reg, delta, beta)[0]


# --------------------------------------------------------------- training ---

def accuracy(S_or_pred, y) -> float:
    """Fraction of correct predictions; accepts scores (N, C) or predicted labels (N,)."""
    P = np.asarray(S_or_pred)
    pred = P.argmax(axis=1) if P.ndim == 2 else P
    y = np.asarray(y)
    if pred.shape != y.shape:
        raise ValueError(f"predictions of shape {pred.shape} do not match labels of shape {y.shape}")
    return float(np.mean(pred == y))


class SoftmaxClassifier:
    """A trained linear classifier: W (C, D), b (C,), and the training history.

    ``history`` holds one record per epoch: the full training loss
    (cross-entropy + λR(W)) after the epoch, and the training accuracy.
    """

    def __init__(self, W, b, history):
        self.W = np.asarray(W, dtype=float)
        self.b = np.asarray(b, dtype=float)
        self.history = history

    def scores(self, X) -> np.ndarray:
        return scores(self.W, X, self.b)

    def predict(self, X) -> np.ndarray:
        return np.argmax(self.scores(X), axis=-1)

    def accuracy(self, X, y) -> float:
        return accuracy(self.predict(X), y)

    def templates(self, shape) -> np.ndarray:
        """The rows of W as images, shape (C, *shape): the visual viewpoint (one template per class).

        ``shape`` is the image shape of one example, e.g. (8, 8) for 64 pixels: its entries
        must multiply to D, the number of weights in a row of W (shape (C, D)).
        """
        C, D = self.W.shape
        dims = (shape,) if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool) else shape
        try:
            dims = tuple(dims)
            ok = all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims) and dims
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"shape must be an image shape of positive integers, e.g. (8, 8), got {shape!r}")
        dims = tuple(int(d) for d in dims)
        if int(np.prod(dims)) != D:
            side = int(round(D ** 0.5))
            hint = f", e.g. ({side}, {side})" if side * side == D else ""
            raise ValueError(f"cannot show the rows of W as images of shape {dims}: W has shape (C, D) = "
                             f"{self.W.shape}, so each template has D = {D} weights, but an image of shape {dims} "
                             f"has {int(np.prod(dims))} pixels; pass a shape whose entries multiply to {D}{hint}")
        return self.W.reshape((C, *dims))

    def __repr__(self):
        return f"SoftmaxClassifier(C={self.W.shape[0]}, D={self.W.shape[1]}, epochs={len(self.history)})"


def train_softmax_classifier(X, y, lam: float = 1e-3, eta: float = 0.5, epochs: int = 30,
                             batch_size: int = 32, seed: int = 0, num_classes: int | None = None,
                             reg: str = "l2") -> SoftmaxClassifier:
    """Train f(x) = Wx + b with softmax cross-entropy + λR(W) by mini-batch SGD (NumPy).

    Each epoch visits the training set once in a fresh random order (seeded),
    in batches of ``batch_size``; each batch makes one step
    W ← W - η (∂L_batch/∂W + λ ∂R/∂W), b ← b - η ∂L_batch/∂b.
    The bias is not regularized: it only shifts scores and does not make the
    classifier more complex. W starts as small random numbers (std 0.001).
    """
    X = _matrix(X, "X", "(N, D): one example per row")
    C = int(np.max(y)) + 1 if num_classes is None else int(num_classes)
    y = _class_labels(y, X.shape[0], C)
    for name, value in (("lam", lam), ("eta", eta)):
        if not np.isfinite(value) or value < 0 or (name == "eta" and value == 0):
            raise ValueError(f"{name} must be a {'positive' if name == 'eta' else 'non-negative'} number, "
                             f"got {value!r}")
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    _, reg_grad = _regularizer(reg)
    rng = np.random.default_rng(seed)
    N, D = X.shape
    W = 0.001 * rng.standard_normal((C, D))
    b = np.zeros(C)
    history = []
    with cpu_threads("auto", W.size + b.size):   # small products: one BLAS thread (the workbook's thread policy)
        for _ in range(int(epochs)):
            order = rng.permutation(N)
            for start in range(0, N, int(batch_size)):
                batch = order[start:start + int(batch_size)]
                # X and y are checked above, W and b are the loop's own: no checks per batch
                _, dS = _cross_entropy_and_grad(X[batch] @ W.T + b, y[batch])
                W = W - eta * (dS.T @ X[batch] + lam * reg_grad(W, 1.0))
                b = b - eta * dS.sum(axis=0)
            S = X @ W.T + b
            history.append({"loss": cross_entropy(S, y) + lam * regularization(W, reg)[0],
                            "train_accuracy": accuracy(S, y)})
    return SoftmaxClassifier(W, b, history)
