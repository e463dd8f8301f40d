"""Convolutional networks (卷積神經網路), unit 07.

What a CNN computes, in NumPy first, then the networks in PyTorch:

* **convolution as CNNs use it** (卷積; strictly a cross-correlation: the
  filter is *not* flipped) in two forms: the loop version that is the lesson
  (:func:`cross_correlate` slides the window cell by cell; :func:`conv_trace`
  records every window, its element-wise products and their sum, which the
  notebook's figures and the convolution explorer show) and a vectorized
  version (:func:`conv2d`, through :func:`im2col`), both with stride, zero
  padding, several input channels and several filters, forward and backward;
* the output size ``⌊(W + 2p − f)/s⌋ + 1`` (:func:`output_size`), with an
  error naming the sizes when a filter does not fit;
* max and average pooling (池化) with their backward passes, global average
  pooling, flatten;
* layers that follow ``coursekit.nn``'s protocol (``params``,
  ``forward(x) -> (out, cache)``, ``backward(dout, cache) -> (dx, grads)``,
  batch first, NCHW like PyTorch): :class:`Conv2D`, :class:`MaxPool2D`,
  :class:`AvgPool2D`, :class:`GlobalAvgPool`, :class:`Flatten`;
* counting parameters and multiply-adds of a layer and of a network, and the
  classic architectures built in PyTorch (LeNet-5, AlexNet, VGG-16, ResNet-18),
  a residual block, a dense block;
* :class:`DigitsCNN`, the unit's small CNN for scikit-learn's 8×8 digits, with
  shipped trained weights (:func:`load_digits_cnn`) for units 08 and 12.

Arrays are batch first, ``(N, C, H, W)``; a kernel bank is ``(F, C, f_h, f_w)``
(filters, input channels, height, width), as ``torch.nn.functional.conv2d``
stores it. Every public function checks its input once and names what it
expected.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validate import real_array, real_number, whole_number
from .device import model_threads
from .nn import Layer

__all__ = [
    # sizes and the loop version
    "output_size", "ConvWindow", "PoolWindow", "cross_correlate", "convolve", "conv_trace", "pool_trace",
    # batched NumPy convolution and pooling
    "pad2d", "im2col", "col2im", "conv2d", "conv2d_backward", "conv2d_loop", "conv2d_loop_backward",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool", "global_avg_pool_backward",
    # layers
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool", "Flatten",
    # the deck's worked examples
    "IMAGE_6X6", "FILTER_1", "FILTER_2", "EDGE_ENHANCE", "POOL_4X4",
]

# ------------------------------------------------------- worked examples ---

# Deck 000 / 004: the 6×6 image and its two 3×3 filters; deck 000's edge-enhance kernel.
IMAGE_6X6 = np.array([[1, 0, 0, 0, 0, 1],
                      [0, 1, 0, 0, 1, 0],
                      [0, 0, 1, 1, 0, 0],
                      [1, 0, 0, 0, 1, 0],
                      [0, 1, 0, 0, 1, 0],
                      [0, 0, 1, 0, 1, 0]], dtype=float)
FILTER_1 = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)   # a "\" diagonal detector
FILTER_2 = np.array([[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]], dtype=float)   # a "|" vertical-line detector
EDGE_ENHANCE = np.array([[0, 0, 0], [-1, 1, 0], [0, 0, 0]], dtype=float)    # x[i, j] - x[i, j-1]
# Deck 001: the 4×4 single depth slice for 2×2 max pooling with stride 2.
POOL_4X4 = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)


# ------------------------------------------------------------ arguments ---

def _pair(name: str, value, low: int, meaning: str = "") -> tuple[int, int]:
    """An int or a pair of ints (height, width), each >= low, as a pair."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (whole_number(f"{name}[0]", value[0], low, meaning=meaning, allow_float=False),
                whole_number(f"{name}[1]", value[1], low, meaning=meaning, allow_float=False))
    number = whole_number(name, value, low, meaning=meaning, allow_float=False,
                          noun="integer (or a pair of them)")
    return number, number


def output_size(n, f, padding=0, stride=1, *, exact: bool = False, what: str = "width") -> int:
    """The size of a convolution's (or pooling's) output along one axis:

    ``⌊(n + 2·padding − f) / stride⌋ + 1``

    for an input of size ``n``, a filter of size ``f``. The floor is the rule
    (PyTorch, Keras): a window that would stick out past the padded input is
    not computed. A filter larger than the padded input is an error that names
    the sizes; with ``exact=True`` so is a stride that does not tile the
    padded input exactly (some rows or columns would be skipped).
    """
    n = whole_number(f"input {what} n", n, 1, allow_float=False, noun="integer")
    f = whole_number("filter size f", f, 1, allow_float=False, noun="integer")
    p = whole_number("padding p", padding, 0, allow_float=False, noun="integer")
    s = whole_number("stride s", stride, 1, allow_float=False, noun="integer")
    span = n + 2 * p - f
    if span < 0:
        raise ValueError(f"a filter of {what} f = {f} does not fit in an input of {what} n = {n} with padding "
                         f"p = {p}: n + 2p = {n + 2 * p} < f = {f}")
    if exact and span % s:
        raise ValueError(f"stride s = {s} does not tile an input of {what} n = {n} with padding p = {p} and "
                         f"filter size f = {f}: (n + 2p - f)/s = {span}/{s} is not whole, so the last "
                         f"{span % s} row(s)/column(s) are never covered by a window")
    return span // s + 1


def _out_hw(H: int, W: int, kernel, stride, padding) -> tuple[int, int]:
    (fh, fw), (sh, sw), (ph, pw) = kernel, stride, padding
    return (output_size(H, fh, ph, sh, what="height"), output_size(W, fw, pw, sw, what="width"))


def pad2d(x: np.ndarray, padding, value: float = 0.0) -> np.ndarray:
    """``x`` with ``padding`` rows / columns of ``value`` added around its last two axes (zero padding by default)."""
    ph, pw = _pair("padding", padding, 0)
    if ph == pw == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)]
    return np.pad(x, widths, constant_values=value)


# ------------------------------------------------- the loop version (lesson) ---

@dataclass
class _Window:
    """A window position: ``row, col`` is the output cell it fills, ``top, left``
    its corner in the (padded) input, ``window`` what it sees there."""

    step: int
    row: int
    col: int
    top: int
    left: int
    window: np.ndarray


@dataclass
class ConvWindow(_Window):
    """One position of the sliding window: what the convolution explorer shows at a step.

    ``window`` is the receptive field (``(f_h, f_w)`` or ``(C, f_h, f_w)``) in the
    *padded* input, ``products`` its element-wise products with the kernel,
    ``value`` their sum plus the bias, and ``output`` the feature map so far
    (NaN where no window has been yet).
    """

    products: np.ndarray
    value: float
    output: np.ndarray


@dataclass
class PoolWindow(_Window):
    """One position of a pooling window: ``value`` is its max (or mean); for max
    pooling ``argmax`` is where the max sits inside the window, as (row, col)."""

    value: float
    argmax: tuple[int, int] | None
    output: np.ndarray


def _check_image_kernel(image, kernel):
    """A single image (H, W) with a kernel (f_h, f_w), or (C, H, W) with (C, f_h, f_w)."""
    x = real_array("image", image, (2, 3), "(H, W), or (C, H, W) with channels", dtype=None)
    k = real_array("kernel", kernel, x.ndim, "(f_h, f_w)" if x.ndim == 2 else "(C, f_h, f_w), like the image (C, H, W)",
                   dtype=None)
    if x.ndim == 3 and k.shape[0] != x.shape[0]:
        raise ValueError(f"kernel must span all {x.shape[0]} channels of the image (filters extend the full depth "
                         f"of the input), got kernel shape {k.shape} for image shape {x.shape}")
    return x, k


def _windows(xp: np.ndarray, fh: int, fw: int, sh: int, sw: int, Ho: int, Wo: int) -> Iterator[tuple]:
    """Window by window, left to right, top to bottom: (i, j, top, left, receptive field)."""
    for i in range(Ho):
        for j in range(Wo):
            top, left = i * sh, j * sw
            yield i, j, top, left, xp[..., top:top + fh, left:left + fw]


def cross_correlate(image, kernel, stride=1, padding=0, bias: float = 0.0) -> np.ndarray:
    """The feature map of one filter on one image, computed window by window.

    ``out[i, j] = Σ_{a, b} x[i·s + a, j·s + b] · w[a, b] + bias`` (summed over
    the channels too for a (C, H, W) image and a (C, f_h, f_w) kernel), on the
    zero-padded image. This is what deep-learning libraries call convolution:
    the kernel is *not* flipped (see :func:`convolve`).
    """
    x, k = _check_image_kernel(image, kernel)
    stride, padding = _pair("stride", stride, 1), _pair("padding", padding, 0)
    bias = real_number("bias", bias)
    fh, fw = k.shape[-2:]
    Ho, Wo = _out_hw(x.shape[-2], x.shape[-1], (fh, fw), stride, padding)
    out = np.empty((Ho, Wo), dtype=np.result_type(x, k, np.float64))
    for i, j, _, _, window in _windows(pad2d(x, padding), fh, fw, *stride, Ho, Wo):
        out[i, j] = np.sum(window * k) + bias
    return out


def convolve(image, kernel, stride=1, padding=0, bias: float = 0.0) -> np.ndarray:
    """True (signal-processing) convolution, as deck 001's formula writes it:
    ``(f * g)[x, y] = Σ f[n₁, n₂] g[x − n₁, y − n₂]`` — the kernel turned by
    180° before sliding. For a kernel that is symmetric under that turn (both
    filters of the 6×6 example) it equals :func:`cross_correlate`."""
    x, k = _check_image_kernel(image, kernel)
    return cross_correlate(x, k[..., ::-1, ::-1], stride, padding, bias)


def conv_trace(image, kernel, stride=1, padding=0, bias: float = 0.0) -> list[ConvWindow]:
    """Every window of :func:`cross_correlate`, in order, as :class:`ConvWindow` records.

    The last record's ``output`` is the finished feature map.
    """
    x, k = _check_image_kernel(image, kernel)
    stride, padding = _pair("stride", stride, 1), _pair("padding", padding, 0)
    bias = real_number("bias", bias)
    fh, fw = k.shape[-2:]
    Ho, Wo = _out_hw(x.shape[-2], x.shape[-1], (fh, fw), stride, padding)
    output = np.full((Ho, Wo), np.nan)
    trace = []
    for step, (i, j, top, left, window) in enumerate(_windows(pad2d(x, padding), fh, fw, *stride, Ho, Wo)):
        products = window * k
        value = float(products.sum() + bias)
        output[i, j] = value
        trace.append(ConvWindow(step, i, j, top, left, window.copy(), products, value, output.copy()))
    return trace


def pool_trace(feature_map, size=2, stride=None, mode: str = "max") -> list[PoolWindow]:
    """Every window of a max (``mode="max"``) or average (``"avg"``) pooling of one 2-D map, in order."""
    x = real_array("feature_map", feature_map, 2, "(H, W): one feature map", dtype=None)
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    size = _pair("size", size, 1)
    stride = size if stride is None else _pair("stride", stride, 1)
    Ho, Wo = _out_hw(*x.shape, size, stride, (0, 0))
    output = np.full((Ho, Wo), np.nan)
    trace = []
    for step, (i, j, top, left, window) in enumerate(_windows(x, *size, *stride, Ho, Wo)):
        if mode == "max":
            a = int(np.argmax(window))
            value, where = float(window.flat[a]), divmod(a, size[1])
        else:
            value, where = float(window.mean()), None
        output[i, j] = value
        trace.append(PoolWindow(step, i, j, top, left, window.copy(), value, where, output.copy()))
    return trace


# ------------------------------------------------ batched convolution: checks ---

_X_EXPECTED = "(N, C, H, W), a batch of N images with C channels"
_W_EXPECTED = "(F, C, f_h, f_w), F filters spanning the C input channels"


def _check_conv(x, W, b, stride, padding):
    x = real_array("x", x, 4, _X_EXPECTED, dtype=None)
    W = real_array("W", W, 4, _W_EXPECTED, dtype=None)
    if W.shape[1] != x.shape[1]:
        raise ValueError(f"W must have shape (F, C, f_h, f_w) with C = {x.shape[1]} input channels as in x of shape "
                         f"{x.shape}, got W of shape {W.shape}")
    if b is not None:
        b = real_array("b", b, 1, f"(F,) = ({W.shape[0]},), one bias per filter", dtype=None)
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape (F,) = ({W.shape[0]},), one bias per filter, got {b.shape}")
    stride, padding = _pair("stride", stride, 1), _pair("padding", padding, 0)
    out_hw = _out_hw(x.shape[2], x.shape[3], W.shape[2:], stride, padding)
    return x, W, b, stride, padding, out_hw


def _check_dout(dout, expected_shape: tuple, what: str = "the layer's output") -> np.ndarray:
    dout = real_array("dout", dout, len(expected_shape), f"{expected_shape} ({what})", dtype=None)
    if dout.shape != tuple(expected_shape):
        raise ValueError(f"dout must have the shape of {what}, {tuple(expected_shape)}, got {dout.shape}")
    return dout


# ------------------------------------------------ batched convolution: loops ---

def conv2d_loop(x, W, b=None, stride=1, padding=0) -> np.ndarray:
    """A convolution layer's forward pass, one window position at a time.

    For each output cell (i, j), the receptive fields of all N images are
    multiplied with all F filters at once: ``out[:, :, i, j] = X_ij · W_flatᵀ + b``
    with ``X_ij`` the (N, C·f_h·f_w) windows. Returns (N, F, H_out, W_out).
    """
    x, W, b, stride, padding, (Ho, Wo) = _check_conv(x, W, b, stride, padding)
    N, F = x.shape[0], W.shape[0]
    fh, fw = W.shape[2:]
    W_flat = W.reshape(F, -1)
    out = np.empty((N, F, Ho, Wo), dtype=np.result_type(x, W))
    for i, j, _, _, window in _windows(pad2d(x, padding), fh, fw, *stride, Ho, Wo):
        out[:, :, i, j] = window.reshape(N, -1) @ W_flat.T
    if b is not None:
        out += b[None, :, None, None]
    return out


def conv2d_loop_backward(dout, x, W, stride=1, padding=0):
    """Gradients of :func:`conv2d_loop`, window by window: returns ``(dx, dW, db)``.

    Each window passed its pixels to every filter, so it receives the sum of the
    filters weighted by the upstream gradient there, ``dX_ij = dout[:, :, i, j] · W_flat``;
    each filter collects the windows weighted the same way, ``dW += dout[:, :, i, j]ᵀ · X_ij``.
    """
    x, W, _, stride, padding, (Ho, Wo) = _check_conv(x, W, None, stride, padding)
    N, F = x.shape[0], W.shape[0]
    dout = _check_dout(dout, (N, F, Ho, Wo))
    fh, fw = W.shape[2:]
    W_flat = W.reshape(F, -1)
    xp = pad2d(x, padding)
    dxp = np.zeros_like(xp, dtype=np.result_type(x, W, dout))
    dW = np.zeros(W_flat.shape, dtype=dxp.dtype)
    for i, j, top, left, window in _windows(xp, fh, fw, *stride, Ho, Wo):
        g = dout[:, :, i, j]                                   # (N, F)
        dW += g.T @ window.reshape(N, -1)
        dxp[:, :, top:top + fh, left:left + fw] += (g @ W_flat).reshape(N, -1, fh, fw)
    ph, pw = padding
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dW.reshape(W.shape), dout.sum(axis=(0, 2, 3))


# ------------------------------------------------ batched convolution: im2col ---

def im2col(x, kernel_size, stride=1, padding=0) -> np.ndarray:
    """Every receptive field of every image as one row: shape (N·H_out·W_out, C·f_h·f_w).

    Rows run over the output rows, then the output columns, then the images; a
    row holds the window's channels, then its rows, then its columns, the order
    of ``W.reshape(F, -1)``. A convolution is then one matrix product. (The layers
    keep the transpose of this matrix, one *column* per window, which makes the
    copies cheaper; this returns a view of it.)
    """
    x = real_array("x", x, 4, _X_EXPECTED, dtype=None)
    (fh, fw), stride, padding = _pair("kernel_size", kernel_size, 1), _pair("stride", stride, 1), \
        _pair("padding", padding, 0)
    Ho, Wo = _out_hw(x.shape[2], x.shape[3], (fh, fw), stride, padding)
    return _im2col(x, fh, fw, stride, padding, Ho, Wo).T


def _span(size: int, offset: int, stride: int, pad: int, out: int):
    """For kernel offset ``offset``: the output positions i whose input pixel i·stride + offset − pad
    lies inside the image (not in the padding), as (first i, last i, first pixel); None if there are none."""
    first = max(0, -(-(pad - offset) // stride))
    last = min(out - 1, (size - 1 + pad - offset) // stride)
    return None if last < first else (first, last, first * stride + offset - pad)


def _offset_blocks(H: int, W_: int, fh: int, fw: int, stride, padding, Ho: int, Wo: int):
    """For each kernel offset (a, b): the output cells whose input pixel is inside the image, and those
    pixels, as (a, b, output rows and columns, input rows and columns) slices."""
    (sh, sw), (ph, pw) = stride, padding
    for a in range(fh):
        rows = _span(H, a, sh, ph, Ho)
        for b in range(fw):
            columns = _span(W_, b, sw, pw, Wo)
            if rows is None or columns is None:
                continue   # this offset only ever sees padding
            (i0, i1, r0), (j0, j1, c0) = rows, columns
            yield (a, b, (slice(i0, i1 + 1), slice(j0, j1 + 1)),
                   (slice(r0, r0 + (i1 - i0) * sh + 1, sh), slice(c0, c0 + (j1 - j0) * sw + 1, sw)))


def _im2col(x, fh, fw, stride, padding, Ho, Wo):
    """The windows as *columns*: (C·f_h·f_w, H_out·W_out·N), built with one strided copy per kernel
    offset (a, b); zero padding is simply the part of a column no copy writes to. The images are the
    innermost axis (the layers hand each other arrays stored that way), so every copy moves runs of N
    numbers at a time."""
    N, C, H, W_ = x.shape
    xc = x.transpose(1, 2, 3, 0)                           # (C, H, W, N): a view
    cols = np.zeros((C, fh, fw, Ho, Wo, N), dtype=x.dtype)
    for a, b, (out_i, out_j), (in_i, in_j) in _offset_blocks(H, W_, fh, fw, stride, padding, Ho, Wo):
        cols[:, a, b, out_i, out_j, :] = xc[:, in_i, in_j, :]
    return cols.reshape(C * fh * fw, Ho * Wo * N)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0) -> np.ndarray:
    """The adjoint of :func:`im2col`: add each row back onto the pixels it came from.

    Where windows overlap, a pixel receives the sum of its copies' values: the
    gradient of a pixel that fed several windows. Returns an array of ``x_shape``.
    """
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {x_shape}")
    N, C, H, W_ = (whole_number("x_shape", v, 1, allow_float=False) for v in x_shape)
    (fh, fw), stride, padding = _pair("kernel_size", kernel_size, 1), _pair("stride", stride, 1), \
        _pair("padding", padding, 0)
    Ho, Wo = _out_hw(H, W_, (fh, fw), stride, padding)
    cols = real_array("cols", cols, 2, f"(N·H_out·W_out, C·f_h·f_w) = ({N * Ho * Wo}, {C * fh * fw})", dtype=None)
    if cols.shape != (N * Ho * Wo, C * fh * fw):
        raise ValueError(f"cols must have shape (N·H_out·W_out, C·f_h·f_w) = ({N * Ho * Wo}, {C * fh * fw}), "
                         f"got {cols.shape}")
    return _col2im(cols.T, (N, C, H, W_), fh, fw, stride, padding, Ho, Wo)


def _col2im(cols, x_shape, fh, fw, stride, padding, Ho, Wo):
    """Columns (C·f_h·f_w, H_out·W_out·N) back onto an (N, C, H, W) array, one strided addition per
    kernel offset; what fell on the padding is dropped. (The result is stored images-innermost, as
    :func:`_im2col` reads it fastest.)"""
    N, C, H, W_ = x_shape
    d = cols.reshape(C, fh, fw, Ho, Wo, N)
    dxc = np.zeros((C, H, W_, N), dtype=cols.dtype)
    for a, b, (out_i, out_j), (in_i, in_j) in _offset_blocks(H, W_, fh, fw, stride, padding, Ho, Wo):
        dxc[:, in_i, in_j, :] += d[:, a, b, out_i, out_j, :]
    return dxc.transpose(3, 0, 1, 2)


def _conv2d_im2col(x, W, b, stride, padding, Ho, Wo):
    N, F = x.shape[0], W.shape[0]
    cols = _im2col(x, *W.shape[2:], stride, padding, Ho, Wo)
    out = W.reshape(F, -1) @ cols                         # (F, Ho·Wo·N): one matrix product
    if b is not None:
        out += b[:, None]
    return out.reshape(F, Ho, Wo, N).transpose(3, 0, 1, 2), cols


def _conv2d_im2col_backward(dout, x_shape, W, cols, stride, padding):
    F = W.shape[0]
    Ho, Wo = dout.shape[2:]
    g = dout.transpose(1, 2, 3, 0).reshape(F, -1)        # (F, Ho·Wo·N), columns in the order of cols
    dW = (g @ cols.T).reshape(W.shape)
    dx = _col2im(W.reshape(F, -1).T @ g, x_shape, *W.shape[2:], stride, padding, Ho, Wo)
    return dx, dW, g.sum(axis=1)


def conv2d(x, W, b=None, stride=1, padding=0) -> np.ndarray:
    """A convolution layer's forward pass via im2col: (N, C, H, W) → (N, F, H_out, W_out).

    The same numbers as :func:`conv2d_loop` and ``torch.nn.functional.conv2d``.
    """
    x, W, b, stride, padding, (Ho, Wo) = _check_conv(x, W, b, stride, padding)
    return _conv2d_im2col(x, W, b, stride, padding, Ho, Wo)[0]


def conv2d_backward(dout, x, W, stride=1, padding=0):
    """Gradients of :func:`conv2d` with respect to x, W and b: returns ``(dx, dW, db)``.

    With the windows as rows of ``X_col`` and ``g`` the upstream gradient as an
    (N·H_out·W_out, F) matrix: ``dW = gᵀ X_col``, ``db = Σ g``, and
    ``dX_col = g W_flat``, which :func:`col2im` adds back onto the pixels.
    """
    x, W, _, stride, padding, (Ho, Wo) = _check_conv(x, W, None, stride, padding)
    dout = _check_dout(dout, (x.shape[0], W.shape[0], Ho, Wo))
    cols = _im2col(x, *W.shape[2:], stride, padding, Ho, Wo)
    return _conv2d_im2col_backward(dout, x.shape, W, cols, stride, padding)


# --------------------------------------------------------------- pooling ---

def _check_pool(x, size, stride, padding, what="x"):
    x = real_array(what, x, (2, 3, 4), "(..., H, W), e.g. (N, C, H, W)", dtype=None)
    size = _pair("size", size, 1)
    stride = size if stride is None else _pair("stride", stride, 1)
    padding = _pair("padding", padding, 0)
    if padding[0] > size[0] // 2 or padding[1] > size[1] // 2:
        raise ValueError(f"padding must be at most half the pooling size (as in PyTorch), got padding {padding} "
                         f"for size {size}")
    out_hw = _out_hw(x.shape[-2], x.shape[-1], size, stride, padding)
    return x, size, stride, padding, out_hw


def _pool_windows(xp, size, stride, out_hw):
    """(..., H_out, W_out, k_h·k_w): every pooling window of the padded map, flattened."""
    (kh, kw), (sh, sw), (Ho, Wo) = size, stride, out_hw
    windows = sliding_window_view(xp, (kh, kw), axis=(-2, -1))[..., :Ho * sh:sh, :Wo * sw:sw, :, :]
    return windows.reshape(*windows.shape[:-2], kh * kw)


def _scatter(per_offset, x_shape, size, stride, padding, out_hw, dtype):
    """Add, for each offset k inside the window, ``per_offset(k)`` (shape (..., H_out, W_out)) back onto the pixels."""
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = size, stride, padding, out_hw
    H, W_ = x_shape[-2:]
    dxp = np.zeros((*x_shape[:-2], H + 2 * ph, W_ + 2 * pw), dtype=dtype)
    for k in range(kh * kw):
        a, c = divmod(k, kw)
        dxp[..., a:a + sh * Ho:sh, c:c + sw * Wo:sw] += per_offset(k)
    return dxp[..., ph:ph + H, pw:pw + W_]


def max_pool2d(x, size=2, stride=None, padding=0) -> np.ndarray:
    """Max pooling over the last two axes (a map, a stack of maps, or a batch).

    ``stride`` defaults to ``size`` (non-overlapping windows); padding pads with
    −∞, so a padded cell never wins (as in PyTorch).
    """
    x, size, stride, padding, out_hw = _check_pool(x, size, stride, padding)
    return _pool_windows(pad2d(x, padding, -np.inf), size, stride, out_hw).max(axis=-1)


def max_pool2d_backward(dout, x, size=2, stride=None, padding=0) -> np.ndarray:
    """Gradient of :func:`max_pool2d`: each window's upstream gradient goes to the
    pixel that was its max (the first one, on a tie), and nowhere else."""
    x, size, stride, padding, out_hw = _check_pool(x, size, stride, padding)
    dout = _check_dout(dout, (*x.shape[:-2], *out_hw))
    winner = _pool_windows(pad2d(x, padding, -np.inf), size, stride, out_hw).argmax(axis=-1)
    return _scatter(lambda k: dout * (winner == k), x.shape, size, stride, padding, out_hw,
                    np.result_type(x, dout))


def avg_pool2d(x, size=2, stride=None, padding=0) -> np.ndarray:
    """Average pooling over the last two axes; padded zeros count in the mean (PyTorch's default)."""
    x, size, stride, padding, out_hw = _check_pool(x, size, stride, padding)
    return _pool_windows(pad2d(x, padding), size, stride, out_hw).mean(axis=-1)


def avg_pool2d_backward(dout, x, size=2, stride=None, padding=0) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: each window shares its upstream gradient equally among its k_h·k_w cells."""
    x, size, stride, padding, out_hw = _check_pool(x, size, stride, padding)
    dout = _check_dout(dout, (*x.shape[:-2], *out_hw))
    share = dout / (size[0] * size[1])
    return _scatter(lambda k: share, x.shape, size, stride, padding, out_hw, np.result_type(x, dout))


def global_avg_pool(x) -> np.ndarray:
    """Global average pooling: each feature map becomes one number, (N, C, H, W) → (N, C)."""
    x = real_array("x", x, 4, _X_EXPECTED, dtype=None)
    return x.mean(axis=(2, 3))


def global_avg_pool_backward(dout, x_shape) -> np.ndarray:
    """Gradient of :func:`global_avg_pool`: every pixel of map c gets dout[:, c] / (H·W)."""
    N, C, H, W_ = x_shape
    dout = _check_dout(dout, (N, C), "the pooled output (N, C)")
    return np.broadcast_to((dout / (H * W_))[:, :, None, None], (N, C, H, W_)).copy()


# ---------------------------------------------------------------- layers ---
# The protocol of coursekit.nn.Layer: ``params`` (a dict of arrays, {} when none),
# ``forward(x) -> (out, cache)``, ``backward(dout, cache) -> (dx, grads)`` with
# ``grads`` keyed like ``params``; they stack in coursekit.nn.Sequential.

class Conv2D(Layer):
    """A convolution layer: F filters of size f_h × f_w over C input channels, plus one bias per filter.

    ``params = {"W": (F, C, f_h, f_w), "b": (F,)}``, W drawn with He's normal
    rule (std = √(2 / fan_in), fan_in = C·f_h·f_w, for ReLU networks) from ``rng``
    (a seed or a NumPy Generator, as for ``coursekit.nn.Linear``), b = 0.
    ``method="im2col"`` (default) computes with one matrix product;
    ``method="loop"`` window by window (the same numbers, slower).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=0, *,
                 rng: np.random.Generator | int | None = 0, method: str = "im2col"):
        super().__init__()
        C = whole_number("in_channels", in_channels, 1, allow_float=False, noun="integer")
        F = whole_number("out_channels", out_channels, 1, allow_float=False, noun="integer")
        fh, fw = _pair("kernel_size", kernel_size, 1)
        if method not in ("im2col", "loop"):
            raise ValueError(f"method must be 'im2col' or 'loop', got {method!r}")
        self.stride, self.padding, self.method = _pair("stride", stride, 1), _pair("padding", padding, 0), method
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        fan_in = C * fh * fw
        self.params = {"W": gen.normal(0.0, np.sqrt(2.0 / fan_in), size=(F, C, fh, fw)), "b": np.zeros(F)}

    def __repr__(self):
        F, C, fh, fw = self.params["W"].shape
        return f"Conv2D({C}, {F}, kernel_size=({fh}, {fw}), stride={self.stride}, padding={self.padding})"

    def forward(self, x):
        # x is checked here; W, b, stride and padding were checked when the layer was made
        W, b = self.params["W"], self.params["b"]
        x = real_array("x", x, 4, _X_EXPECTED, dtype=None)
        if x.shape[1] != W.shape[1]:
            raise ValueError(f"x must have C = {W.shape[1]} channels (this layer's in_channels), got x of shape "
                             f"{x.shape}")
        Ho, Wo = _out_hw(x.shape[2], x.shape[3], W.shape[2:], self.stride, self.padding)
        if self.method == "loop":
            return conv2d_loop(x, W, b, self.stride, self.padding), (x, None, (Ho, Wo))
        out, cols = _conv2d_im2col(x, W, b, self.stride, self.padding, Ho, Wo)
        return out, (x, cols, (Ho, Wo))

    def backward(self, dout, cache):
        x, cols, (Ho, Wo) = cache
        W = self.params["W"]
        if self.method == "loop":
            dx, dW, db = conv2d_loop_backward(dout, x, W, self.stride, self.padding)
        else:
            expected = (x.shape[0], W.shape[0], Ho, Wo)
            if not (isinstance(dout, np.ndarray) and dout.shape == expected and dout.dtype.kind == "f"):
                dout = _check_dout(dout, expected)   # converts, or raises naming the shape it expected
            dx, dW, db = _conv2d_im2col_backward(dout, x.shape, W, cols, self.stride, self.padding)
        return dx, {"W": dW, "b": db}


class _Pool(Layer):
    _forward = staticmethod(max_pool2d)
    _backward = staticmethod(max_pool2d_backward)

    def __init__(self, size=2, stride=None, padding=0):
        super().__init__()
        self.size = _pair("size", size, 1)
        self.stride = self.size if stride is None else _pair("stride", stride, 1)
        self.padding = _pair("padding", padding, 0)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, stride={self.stride}, padding={self.padding})"

    def forward(self, x):
        x = real_array("x", x, 4, _X_EXPECTED, dtype=None)
        return type(self)._forward(x, self.size, self.stride, self.padding), x

    def backward(self, dout, cache):
        return type(self)._backward(dout, cache, self.size, self.stride, self.padding), {}


class MaxPool2D(_Pool):
    """Max pooling of each feature map (no parameters); ``stride`` defaults to ``size``."""


class AvgPool2D(_Pool):
    """Average pooling of each feature map (no parameters); ``stride`` defaults to ``size``."""

    _forward = staticmethod(avg_pool2d)
    _backward = staticmethod(avg_pool2d_backward)


class GlobalAvgPool(Layer):
    """Global average pooling, (N, C, H, W) → (N, C): one number per feature map."""

    def forward(self, x):
        x = real_array("x", x, 4, _X_EXPECTED, dtype=None)
        return global_avg_pool(x), x.shape

    def backward(self, dout, cache):
        return global_avg_pool_backward(dout, cache), {}


class Flatten(Layer):
    """(N, C, H, W) → (N, C·H·W): the last feature volume becomes one vector per image for the dense layers."""

    def forward(self, x):
        x = real_array("x", x, (2, 3, 4, 5), "(N, ...), batch first, e.g. (N, C, H, W)", dtype=None)
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, dout, cache):
        N = cache[0]
        dout = _check_dout(dout, (N, int(np.prod(cache[1:]))), "the flattened output (N, C·H·W)")
        return dout.reshape(cache), {}


# ============================================================ PyTorch part ===
# Counting, the classic architectures, residual and dense blocks, and the
# unit's digits CNN. torch is imported here, not at the top: the NumPy part
# above (and the exercise checks that use it) needs no torch.

import torch  # noqa: E402
from torch import nn  # noqa: E402

__all__ += [
    "conv_params", "conv_macs", "linear_params", "count_parameters", "LayerCount", "layer_table",
    "lenet5", "alexnet", "vgg16", "resnet18", "ResidualBlock", "DenseBlock", "small_resnet", "trace_shapes",
    "residual_paths", "DigitsCNN", "digits_images", "digits_split", "train_digits_cnn", "load_digits_cnn", "save_weights",
    "load_weights", "predict_digits", "DIGITS_CNN_FILE",
]


# --------------------------------------------------------------- counting ---


def conv_params(in_channels, out_channels, kernel_size, *, bias: bool = True, groups: int = 1) -> int:
    """Parameters of a convolution layer: F filters of (C/groups)·f_h·f_w weights, plus F biases.

    Weights are shared across positions, so the count does not depend on the
    image size. With ``groups = g`` each filter sees only C/g channels (AlexNet
    split its layers over two GPUs this way, g = 2).
    """
    C = whole_number("in_channels", in_channels, 1, allow_float=False, noun="integer")
    F = whole_number("out_channels", out_channels, 1, allow_float=False, noun="integer")
    g = whole_number("groups", groups, 1, allow_float=False, noun="integer")
    fh, fw = _pair("kernel_size", kernel_size, 1)
    if C % g or F % g:
        raise ValueError(f"groups = {g} must divide in_channels = {C} and out_channels = {F}")
    return F * (C // g) * fh * fw + (F if bias else 0)


def conv_macs(in_channels, out_channels, kernel_size, output_hw, *, groups: int = 1) -> int:
    """Multiply-adds of a convolution layer on one image: every output value
    (F·H_out·W_out of them) is a dot product of (C/groups)·f_h·f_w terms.

    Papers' "FLOPs" for CNNs usually count these multiply-adds (one multiply
    and one add each): the floating-point operations are about twice as many.
    """
    weights = conv_params(in_channels, out_channels, kernel_size, bias=False, groups=groups)
    Ho, Wo = _pair("output_hw", output_hw, 1)
    return weights * Ho * Wo


def linear_params(n_in, n_out, *, bias: bool = True) -> int:
    """Parameters of a fully connected layer: n_in·n_out weights plus n_out biases."""
    n_in = whole_number("n_in", n_in, 1, allow_float=False, noun="integer")
    n_out = whole_number("n_out", n_out, 1, allow_float=False, noun="integer")
    return n_in * n_out + (n_out if bias else 0)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters of a PyTorch model (weights and biases, batch-norm scales and shifts)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass
class LayerCount:
    """One row of :func:`layer_table`: a layer, its output shape (one image) and its counts."""

    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int


def layer_table(model: nn.Module, input_shape: Sequence[int]) -> list[LayerCount]:
    """Every leaf layer of ``model`` with its output shape, parameters and multiply-adds for one image.

    ``input_shape`` is one image's shape, e.g. ``(3, 224, 224)``. The model is
    run once on zeros of that shape on its own device: build it under
    ``torch.device("meta")`` to count a big network without allocating its
    weights. Multiply-adds are counted for convolution and linear layers (the
    rest is comparatively free).
    """
    rows: list[LayerCount] = []
    hooks = []

    def record(name):
        def hook(module, inputs, output):
            own = sum(p.numel() for p in module.parameters(recurse=False))
            per_image = output[0] if output.dim() > 1 else output
            macs = 0
            if isinstance(module, nn.Conv2d):
                C, (kh, kw) = module.in_channels // module.groups, module.kernel_size
                macs = per_image.numel() * C * kh * kw
            elif isinstance(module, nn.Linear):
                macs = per_image.numel() * module.in_features
            rows.append(LayerCount(name, type(module).__name__, tuple(per_image.shape), own, macs))
        return hook

    for name, module in model.named_modules():
        if not any(True for _ in module.children()):
            hooks.append(module.register_forward_hook(record(name)))
    try:
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
        model.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    return rows


# ---------------------------------------------------------- architectures ---


def lenet5(num_classes: int = 10) -> nn.Sequential:
    """LeNet-5 (LeCun et al. 1998) for 32×32 grey images, in its common dense form:
    C1 6@5×5, S2 2×2 average, C3 16@5×5 (every map sees all six maps; the
    paper connected each to only some), S4, then 120, 84 and 10 units, tanh."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, num_classes))


def alexnet(grouped: bool = True, num_classes: int = 1000) -> nn.Sequential:
    """AlexNet (Krizhevsky et al. 2012) for 227×227×3 images.

    ``grouped=True``: conv2, conv4 and conv5 in two groups, as the network was
    split over two GPUs (each filter sees half the channels); ``False``: every
    filter sees all channels. Local response normalization after conv1 and conv2.
    """
    g = 2 if grouped else 1
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=g), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=g), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=g), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes))


def vgg16(num_classes: int = 1000) -> nn.Sequential:
    """VGG-16 (Simonyan & Zisserman 2014, configuration D) for 224×224×3 images:
    thirteen 3×3 convolutions in five stages (64, 128, 256, 512, 512 filters,
    each stage ending in 2×2 max pooling), then 4096, 4096 and 1000 units."""
    layers: list[nn.Module] = []
    C = 3
    for width, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(repeats):
            layers += [nn.Conv2d(C, width, 3, padding=1), nn.ReLU()]
            C = width
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
               nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, num_classes)]
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """A residual block (殘差區塊): ``ReLU(F(x) + shortcut(x))``.

    ``F`` is two 3×3 convolutions, each with batch norm, ReLU between them; the
    first has the block's stride. When the shape changes (a stride above 1, or
    a new number of channels) the shortcut is a 1×1 convolution with that
    stride (a *projection*, with batch norm); otherwise it is the identity, so
    a block whose F learns 0 passes x through unchanged.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """F(x), the part the block learns."""
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.residual(x) + self.shortcut(x))


def _resnet_stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    return nn.Sequential(ResidualBlock(in_channels, out_channels, stride),
                         *[ResidualBlock(out_channels, out_channels) for _ in range(blocks - 1)])


def resnet18(num_classes: int = 1000) -> nn.Sequential:
    """ResNet-18 (He et al. 2016) for 224×224×3 images: a 7×7 stride-2 convolution
    and 3×3 max pooling, four stages of two residual blocks (64, 128, 256, 512
    channels; "spatial size halves, filters double"), global average pooling, one linear layer."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        _resnet_stage(64, 64, 2, 1), _resnet_stage(64, 128, 2, 2), _resnet_stage(128, 256, 2, 2),
        _resnet_stage(256, 512, 2, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))


def small_resnet(in_channels: int = 3, num_classes: int = 10, widths: Sequence[int] = (64, 128, 256),
                 stem: str = "imagenet") -> nn.Sequential:
    """A small ResNet: a stem, one stage of two residual blocks per width (the
    first stage keeps the size, each later one halves it and widens), global
    average pooling, a linear layer. ``stem="imagenet"`` is ResNet's 7×7
    stride-2 convolution plus 3×3 max pooling (deck 002's network, for
    224×224 input); ``stem="small"`` one 3×3 convolution, for tiny images such as 8×8 digits."""
    widths = list(widths)
    if stem == "imagenet":
        layers = [nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(widths[0]),
                  nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1)]
    elif stem == "small":
        layers = [nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    else:
        raise ValueError(f"stem must be 'imagenet' or 'small', got {stem!r}")
    C = widths[0]
    for k, width in enumerate(widths):
        layers.append(_resnet_stage(C, width, 2, 1 if k == 0 else 2))
        C = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C, num_classes)]
    return nn.Sequential(*layers)


class DenseBlock(nn.Module):
    """A DenseNet block (Huang et al. 2017): every layer sees the concatenation
    of the block's input and all earlier layers' outputs, and adds
    ``growth_rate`` new maps: C → C + L·growth_rate channels, same size."""

    def __init__(self, in_channels: int, growth_rate: int, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(in_channels + k * growth_rate), nn.ReLU(),
                          nn.Conv2d(in_channels + k * growth_rate, growth_rate, 3, padding=1, bias=False))
            for k in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)   # concatenate, where a residual block adds
        return x


def trace_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple]]:
    """The output shape of each top-level part of ``model`` on input ``x``, in order: [(name, shape), ...]."""
    shapes: list[tuple[str, tuple]] = []
    hooks = [child.register_forward_hook(lambda m, i, o, name=name: shapes.append((name, tuple(o.shape))))
             for name, child in model.named_children()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def residual_paths(n_blocks: int) -> dict[int, int]:
    """Deck 004's "a ResNet is an ensemble": with n residual blocks, a signal can take
    each block's branch or its shortcut, so there are 2ⁿ paths. Returns how many
    paths pass through k branches, for k = 0..n (counted by enumeration)."""
    n = whole_number("n_blocks", n_blocks, 0, allow_float=False, noun="integer")
    counts = Counter(sum(choice) for choice in itertools.product((0, 1), repeat=n))
    return {k: counts[k] for k in range(n + 1)}


# ------------------------------------------------------------ digits CNN ---

DIGITS_CNN_FILE = "digits_cnn.npy"


def digits_images(x) -> torch.Tensor:
    """Digits as a float32 batch (N, 1, 8, 8): accepts rows of 64 pixels (N, 64),
    images (N, 8, 8) or (N, 1, 8, 8), as NumPy arrays or tensors, pixels in [0, 1]."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(real_array("x", x, (2, 3, 4), "(N, 64), (N, 8, 8) or (N, 1, 8, 8): digits"),
                            dtype=torch.float32)
    if x.dim() == 2 and x.shape[1] == 64:
        x = x.reshape(-1, 1, 8, 8)
    elif x.dim() == 3 and tuple(x.shape[1:]) == (8, 8):
        x = x.unsqueeze(1)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise ValueError(f"x must hold 8×8 digits, shaped (N, 64), (N, 8, 8) or (N, 1, 8, 8), got {tuple(x.shape)}")
    return x.float()


class DigitsCNN(nn.Module):
    """Unit 07's small CNN for scikit-learn's 8×8 digits (pixels scaled to [0, 1]).

    ``conv1``: 3×3 convolution to 16 maps of 8×8, batch norm, ReLU;
    ``conv2``: 32 maps, then 2×2 max pooling to 4×4; ``conv3``: 64 maps, pooled
    to 2×2; ``flatten`` (256 values), dropout, ``fc`` to the class scores
    (logits). Input of shape (N, 1, 8, 8), (N, 8, 8) or (N, 64).
    :meth:`features` returns what a chosen layer computes (for transfer learning).
    """

    LAYERS = ("conv1", "conv2", "conv3", "flatten")

    def __init__(self, num_classes: int = 10, channels: Sequence[int] = (16, 32, 64), dropout: float = 0.25):
        super().__init__()
        c1, c2, c3 = channels
        self.conv1 = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2))
        self.conv3 = nn.Sequential(nn.Conv2d(c2, c3, 3, padding=1), nn.BatchNorm2d(c3), nn.ReLU(), nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c3 * 2 * 2, num_classes)

    def features(self, x: torch.Tensor, layer: str = "flatten") -> torch.Tensor:
        """The output of ``layer`` (one of :attr:`LAYERS`) for inputs ``x``."""
        if layer not in self.LAYERS:
            raise ValueError(f"layer must be one of {', '.join(self.LAYERS)}, got {layer!r}")
        x = x.reshape(-1, 1, 8, 8) if x.dim() in (2, 3) else x
        for name in self.LAYERS:
            x = getattr(self, name)(x)
            if name == layer:
                return x
        raise AssertionError("unreachable")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x, "flatten")))


def _state_tensors(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The tensors that define a trained model: parameters and batch-norm running statistics
    (not the integer step counters), in a fixed order."""
    return [(k, v) for k, v in model.state_dict().items() if v.is_floating_point()]


def save_weights(model: nn.Module, path) -> None:
    """Store a model's floating-point state as one flat float32 ``.npy`` vector.

    One plain array (no pickle, no zip timestamps): the same weights always give
    the same bytes, so the file's checksum in ``datasets/MANIFEST.sha256`` is
    reproducible, and loading runs no code.
    """
    flat = torch.cat([v.detach().cpu().float().reshape(-1) for _, v in _state_tensors(model)])
    np.save(path, flat.numpy().astype(np.float32), allow_pickle=False)


def load_weights(model: nn.Module, path) -> nn.Module:
    """Fill ``model`` with weights stored by :func:`save_weights`; returns the model."""
    flat = np.load(path, allow_pickle=False)
    tensors = _state_tensors(model)
    expected = sum(v.numel() for _, v in tensors)
    if flat.ndim != 1 or flat.size != expected:
        raise ValueError(f"{path} holds {flat.size} numbers in shape {flat.shape}; {type(model).__name__} "
                         f"needs a flat vector of {expected}: the file belongs to another architecture")
    state, start = {}, 0
    for name, v in tensors:
        state[name] = torch.from_numpy(flat[start:start + v.numel()].copy()).reshape(v.shape).to(v.dtype)
        start += v.numel()
    model.load_state_dict(state, strict=False)
    return model


def load_digits_cnn(device=None) -> DigitsCNN:
    """The unit-07 digits CNN with its shipped trained weights, in eval mode.

    Trained by :func:`train_digits_cnn` (``scripts/make_digits_cnn_weights.py``)
    on the training part of ``coursekit.datasets.load_digits()`` (seed 0, 1347
    images); the weights file is checked against ``datasets/MANIFEST.sha256``.
    ``device`` defaults to ``coursekit.device.get_device()``.
    """
    from .datasets import load_file
    from .device import get_device

    model = load_weights(DigitsCNN(), load_file(DIGITS_CNN_FILE))
    return model.to(get_device() if device is None else device).eval()


@model_threads
def predict_digits(model: nn.Module, x) -> np.ndarray:
    """The digit (class index) ``model`` predicts for each image of ``x`` (any shape
    :func:`digits_images` accepts, pixels in [0, 1]), as a NumPy int array."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        labels = model(digits_images(x).to(device)).argmax(dim=1).cpu().numpy()
    model.train(was_training)
    return labels


def digits_split(classes=None):
    """scikit-learn's digits as ((X_train, y_train), (X_test, y_test)) tensors of shape (N, 1, 8, 8),
    the seed-0 split of ``coursekit.datasets.load_digits``; with ``classes`` only those digits,
    relabelled 0..len(classes)-1 in the order given."""
    from .datasets import load_digits

    X_train, X_test, y_train, y_test = load_digits(seed=0, flatten=False, as_torch=True)
    parts = []
    for X, y in ((X_train, y_train), (X_test, y_test)):
        X = X.unsqueeze(1)
        if classes is not None:
            keep = torch.isin(y, torch.tensor(classes))
            X, y = X[keep], torch.tensor([classes.index(int(v)) for v in y[keep]], dtype=torch.int64)
        parts.append((X, y))
    return parts[0], parts[1]


def train_digits_cnn(classes: Sequence[int] | None = None, *, epochs: int = 8, batch_size: int = 64,
                     lr: float = 3e-3, seed: int = 0, device=None, progress=False):
    """Train a :class:`DigitsCNN` on the digits' training split with ``coursekit.train``.

    Adam (learning rate ``lr``), cross-entropy, ``epochs`` passes in batches of
    ``batch_size``, seeded: the same call gives the same weights on the same
    device. ``classes`` (e.g. ``[0, 1, 2, 3, 4]``) trains on those digits only,
    labelled 0..k-1. Returns ``(model, history, test_accuracy)``, the model in
    eval mode and the accuracy on the matching test images.
    """
    from .device import set_seed
    from .train import evaluate, train

    classes = None if classes is None else [whole_number("classes", c, 0, 9, allow_float=False) for c in classes]
    train_data, test_data = digits_split(classes)
    set_seed(whole_number("seed", seed, 0, allow_float=False, noun="integer"))
    model = DigitsCNN(num_classes=10 if classes is None else len(classes))
    history = train(model, train_data, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=lr),
                    epochs=epochs, batch_size=batch_size, seed=seed, device=device, progress=progress)
    model.eval()
    return model, history, evaluate(model, test_data)["accuracy"]
