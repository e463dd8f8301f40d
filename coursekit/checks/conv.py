"""Exercise checks for unit 07, convolutional networks.

Each check runs the student's function next to the reference in
:mod:`coursekit.conv`: the decks' worked examples first (the 6×6 image with
its two filters, deck 001's 4×4 pooling example, deck 002's padded 7×7 image),
then seeded random inputs. None of them raises.

Quiz answers are stored only as digests (:func:`coursekit.checks.answer_digest`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import conv
from .core import Case, CheckResult, check_answer, check_function, expect_number, random_cases

_DECK002_7X7 = np.array([[1, -2, -1, 5, 3, 2, 1], [1, 3, -1, 4, 3, 3, 1], [1, -2, 1, 6, 3, 3, 2],
                         [2, -2, 2, 5, 2, 1, 0], [0, 3, -2, 5, 4, 1, 2], [1, 2, -3, 1, 1, 2, -1],
                         [1, -2, -1, 1, 2, 1, 1]], dtype=float)


# ------------------------------------------------------------- exercises ---


def _output_size(n, f, p, s):
    return conv.output_size(n, f, p, s)


def check_output_size(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(n, f, p, s) -> ⌊(n + 2p − f)/s⌋ + 1, the output size along one axis."""
    examples = [
        Case((6, 3, 0, 1), label="the 6×6 image, a 3×3 filter, stride 1"),
        Case((6, 3, 0, 2), label="the 6×6 image at stride 2"),
        Case((7, 3, 1, 2), label="deck 002: 7×7 input, padding 1, stride 2"),
        Case((8, 3, 0, 2), label="deck 002: width 8, stride 2 (the floor matters: (8 - 3)/2 = 2.5)"),
        Case((32, 5, 0, 1), label="deck 001: 32×32 image, 5×5 filters"),
        Case((224, 2, 0, 2), label="2×2 pooling with stride 2 on 224×224"),
        Case((227, 11, 0, 4), label="AlexNet's first layer"),
    ]

    def make(rng, size):
        f = int(rng.integers(1, 8))
        p = int(rng.integers(0, 4))
        n = int(rng.integers(max(1, f - 2 * p), 40 + size))
        return n, f, p, int(rng.integers(1, 5))

    return check_function(
        fn, _output_size, examples + random_cases(make, 24, seed), name="output_size", points=points,
        verbose=verbose, arg_names=["n", "f", "p", "s"],
        compare=expect_number("the number of output positions", "return a single integer"),
        hint="pad both sides (n + 2p), count how far the filter can slide (n + 2p - f), divide by the stride "
             "rounding *down* (a window may not stick out: use //), and add 1 for the first position.",
    )


def check_conv2d_single(fn: Callable, *, points: int = 3, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(image, kernel, stride, padding) -> the feature map of one 2-D filter (cross-correlation, no flip)."""
    examples = [
        Case((conv.IMAGE_6X6, conv.FILTER_1, 1, 0), label="the 6×6 image with filter 1, stride 1"),
        Case((conv.IMAGE_6X6, conv.FILTER_2, 2, 0), label="the 6×6 image with filter 2, stride 2"),
        Case((conv.IMAGE_6X6, conv.EDGE_ENHANCE, 1, 0), label="an asymmetric kernel: do not flip it"),
        Case((_DECK002_7X7, np.ones((3, 3)), 2, 1), label="deck 002: 7×7 input, padding 1, stride 2"),
        Case((np.arange(12.0).reshape(3, 4), np.array([[1.0, -1.0]]), 1, 0), label="a 1×2 kernel on a 3×4 image"),
    ]

    def make(rng, size):
        fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        p = int(rng.integers(0, 2))
        H, W = int(rng.integers(max(1, fh - 2 * p), 6 + size // 3)), int(rng.integers(max(1, fw - 2 * p), 7))
        image = rng.integers(-3, 4, size=(H, W)).astype(float)
        return image, rng.integers(-2, 3, size=(fh, fw)).astype(float), int(rng.integers(1, 3)), p

    return check_function(
        fn, lambda image, kernel, stride, padding: conv.cross_correlate(image, kernel, stride, padding),
        examples + random_cases(make, 24, seed), name="conv2d_single", points=points, verbose=verbose,
        arg_names=["image", "kernel", "stride", "padding"],
        hint="pad the image with zeros (np.pad(image, padding)), work out the output size with the formula, "
             "then for each output cell (i, j) take the window padded[i*stride : i*stride + f_h, "
             "j*stride : j*stride + f_w] and store np.sum(window * kernel). CNNs do not flip the kernel.",
    )


def check_max_pool(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(feature_map, size) -> max pooling with size × size windows and stride = size."""
    stride1 = conv.cross_correlate(conv.IMAGE_6X6, conv.FILTER_1)
    examples = [
        Case((conv.POOL_4X4, 2), label="deck 001's 4×4 example"),
        Case((stride1, 2), label="filter 1's feature map of the 6×6 image"),
        Case((-np.ones((4, 4)), 2), label="all values negative (do not start the max at 0)"),
        Case((np.arange(25.0).reshape(5, 5), 2), label="a 5×5 map: the last row and column are dropped"),
        Case((np.arange(36.0).reshape(6, 6), 3), label="3×3 windows"),
    ]

    def make(rng, size):
        k = int(rng.integers(1, 4))
        return rng.normal(size=(int(rng.integers(k, 7 + size // 4)), int(rng.integers(k, 8)))), k

    return check_function(
        fn, lambda feature_map, size: conv.max_pool2d(feature_map, size), examples + random_cases(make, 24, seed),
        name="max_pool", points=points, verbose=verbose, arg_names=["feature_map", "size"],
        hint="the output has (H - size)//size + 1 rows and (W - size)//size + 1 columns; cell (i, j) is the "
             "maximum of feature_map[i*size:(i+1)*size, j*size:(j+1)*size]. Windows that would stick out are "
             "dropped.",
    )


def check_conv_params(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(in_channels, out_channels, f) -> the parameters of a conv layer with f×f filters and biases."""
    examples = [
        Case((3, 6, 5), label="deck 001: six 5×5×3 filters"),
        Case((1, 2, 3), label="the two 3×3 filters of the 6×6 example"),
        Case((3, 96, 11), label="AlexNet's first layer"),
        Case((256, 384, 3), label="AlexNet's third layer"),
    ]

    def make(rng, size):
        return int(rng.integers(1, 9 * size)), int(rng.integers(1, 17 * size)), int(rng.choice([1, 3, 5, 7]))

    return check_function(
        fn, lambda in_channels, out_channels, f: conv.conv_params(in_channels, out_channels, f),
        examples + random_cases(make, 20, seed), name="conv_params", points=points, verbose=verbose,
        arg_names=["in_channels", "out_channels", "f"],
        compare=expect_number("the number of parameters", "return one integer"),
        hint="each filter spans all input channels: f·f·in_channels weights, plus one bias; there are "
             "out_channels filters. The image size does not appear: the weights are shared across positions.",
    )


# --------------------------------------------------------------- quizzes ---

_CS231N_LAYER_DIGEST = "8810c63c1c6b8fa2568cdcc23b9f85b2d1c777832a7a8143a74778d51c48535e"
_SHARING_DIGEST = "b34781bcd71aeeab099331e04b276dbdbc522a54a8ee3c9b53a24653c39e69ce"
_RESNET_PATHS_DIGEST = "2c624232cdd221771294dfbb310aca000a0df6ac8b66b696d90ef06fdefb64a3"


def _numbers(answer):
    """An answer of several numbers as a tuple of ints (lists, arrays and floats like 28.0 accepted)."""
    if isinstance(answer, (list, tuple, np.ndarray)):
        try:
            values = [float(a) for a in answer]
        except (TypeError, ValueError):
            return answer
        return tuple(int(v) if v.is_integer() else v for v in values)
    return answer


def check_cs231n_layer_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 001: six 5×5 filters (stride 1, no padding) on a 32×32×3 image: (output height, output depth, parameters)."""
    return check_answer(answer_fn, _CS231N_LAYER_DIGEST, convert=_numbers, name="answer_cs231n_layer", points=points,
                        verbose=verbose, expected_type="a tuple of three integers (height, depth, parameters)",
                        hint="height: the output-size formula; depth: one feature map per filter; parameters: each "
                             "filter extends the full depth of the input, and has a bias.")


def check_sharing_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: a 6×6 input to a 4×4 map. Weights when (fully connected, locally connected 3×3, shared 3×3)?"""
    return check_answer(answer_fn, _SHARING_DIGEST, convert=_numbers, name="answer_weight_sharing", points=points,
                        verbose=verbose, expected_type="a tuple of three integers, no biases",
                        hint="fully connected: every one of the 16 outputs sees all 36 inputs; locally connected: "
                             "each output sees only its 3×3 window, with its own weights; shared: one 3×3 filter "
                             "for all outputs.")


def check_resnet_paths_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004: a ResNet is an ensemble. How many paths lead through 3 residual blocks?"""
    return check_answer(answer_fn, _RESNET_PATHS_DIGEST, name="answer_resnet_paths", points=points, verbose=verbose,
                        expected_type="an integer",
                        hint="at each block a signal either goes through the residual branch F or takes the "
                             "shortcut: two choices per block.")
