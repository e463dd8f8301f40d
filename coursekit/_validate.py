"""Checks of single-number arguments, shared by the package's modules.

Each returns the checked value (an ``int`` or a ``float``) or raises an error
that names the argument, what it expected and what it got, e.g.
``steps must be a positive integer (the number of updates in a run), got 0``.
A bool is never a number here (``True == 1`` would otherwise slip through);
NumPy scalars and 0-d arrays are.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

INF = math.inf


def _scalar(value):
    """A 0-d NumPy array as its element; anything else unchanged."""
    return value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _fail(name: str, expected: str, meaning: str, value, wrong_type: bool, error: type[Exception]):
    got = f"{type(value).__name__}: {value!r:.80}" if wrong_type else f"{value}"
    raise error(f"{name} must be {expected}{f' ({meaning})' if meaning else ''}, got {got}")


def whole_number(name: str, value, low: int = 0, high: float = INF, meaning: str = "", *,
                 noun: str = "whole number", allow_float: bool = True,
                 wrong_type: type[Exception] = ValueError) -> int:
    """An integer in [low, high], returned as an int.

    ``allow_float``: a float with no fraction (``1e4``) counts too. ``noun`` names the
    kind in the message ("whole number", "integer"); ``meaning`` is added in
    parentheses. Something that is not a number raises ``wrong_type``, a number that
    is not whole or out of range a ValueError.
    """
    value = _scalar(value)
    if low == 1 and high == INF:
        expected = f"a positive {noun}"
    else:
        article = "an" if noun[:1] in "aeiou" else "a"
        expected = f"{article} {noun} >= {low}" if high == INF else f"{article} {noun} from {low} to {high}"
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (is_int or (allow_float and _is_real(value))):
        _fail(name, expected, meaning, value, True, wrong_type)
    if not (is_int or (math.isfinite(value) and int(value) == value)) or not low <= value <= high:
        _fail(name, expected, meaning, value, False, ValueError)
    return int(value)


def real_number(name: str, value, low: float = -INF, high: float = INF, meaning: str = "", *,
                low_open: bool = False, high_open: bool = False, finite: bool = True,
                wrong_type: type[Exception] = ValueError) -> float:
    """A real number in [low, high] (an end is left out with ``low_open`` / ``high_open``),
    returned as a float. NaN is never accepted; ±inf only with ``finite=False``.
    Something that is not a number raises ``wrong_type``, a number out of range a ValueError.
    """
    value = _scalar(value)
    if low > -INF and high < INF:
        expected = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low == 0 and low_open and high == INF:
        expected = "a positive number"
    elif low > -INF:
        expected = f"a number {'>' if low_open else '>='} {low}"
    elif high < INF:
        expected = f"a number {'<' if high_open else '<='} {high}"
    else:
        expected = "one finite number" if finite else "one number"
    if not _is_real(value):
        _fail(name, expected, meaning, value, True, wrong_type)
    number = float(value)
    in_range = (number > low if low_open else number >= low) and (number < high if high_open else number <= high)
    if math.isnan(number) or (finite and math.isinf(number)) or not in_range:
        _fail(name, expected, meaning, value, False, ValueError)
    return number


def real_array(name: str, value, ndim: int | tuple[int, ...], expected: str, *, finite: bool = True) -> np.ndarray:
    """``value`` as a NumPy array of real numbers with ``ndim`` dimensions (an int or a tuple of allowed ones).

    A float array keeps its dtype (float32 stays float32, so that a benchmark
    against float32 PyTorch compares like with like); integers and booleans
    become float64. ``expected`` describes the shape in words, e.g.
    ``"a 4-D array of shape (N, C, H, W)"``; a wrong shape or a non-finite
    entry is a ValueError that names it, and something that is not numbers a TypeError.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be {expected} of real numbers, got values of type {array.dtype}")
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if array.ndim not in allowed:
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    if finite and not np.all(np.isfinite(array)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} must contain finite numbers only, but {name}[{', '.join(map(str, where))}] "
                         f"is {array[where]}")
    return array
