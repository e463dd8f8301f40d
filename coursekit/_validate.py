"""Checks of single arguments (numbers, arrays, choices), shared by the package's modules.

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


def one_of(name: str, value, options, meaning: str = ""):
    """``value`` if it is one of ``options``, else a ValueError that lists them all."""
    if value not in tuple(options):
        listed = ", ".join(map(repr, options))
        raise ValueError(f"{name} must be one of {listed}{f' ({meaning})' if meaning else ''}; got {value!r}")
    return value


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


def real_array(name: str, value, ndim: int | tuple[int, ...] | None = None, shape_text: str = "", *,
               dtype=np.float64, finite: bool = True) -> np.ndarray:
    """A real-valued array as ``dtype`` (``None`` keeps a float32 / float64 array as it
    is and makes anything else float64), with ``ndim`` dimensions (one number or a
    tuple of those allowed). ``shape_text`` says in words what shape is expected, for
    the message: ``X must be a 3-D array of shape (B, T, D) (batch, time, features), got
    shape (4, 5)``. Booleans, text and complex numbers are refused; so are nan and
    ±inf unless ``finite=False``.
    """
    expected = "an array of real numbers" if ndim is None else f"a {_dims(ndim)} array of real numbers"
    if shape_text:
        expected += f" of shape {shape_text}"
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested lists
        raise ValueError(f"{name} must be {expected}, got a ragged {type(value).__name__}") from None
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be {expected}, got {type(value).__name__} of dtype {raw.dtype}")
    if dtype is None:
        dtype = raw.dtype if raw.dtype in (np.float32, np.float64) else np.float64
    array = raw.astype(dtype, copy=False)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and array.ndim not in allowed:
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    if finite and not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(f"{name} must hold finite numbers, but {bad} of its {array.size} entries "
                         f"(shape {array.shape}) are nan or inf")
    return array


def index_array(name: str, value, size: int, meaning: str = "") -> np.ndarray:
    """Integer indices into something of length ``size``, each in 0..size-1, as int64."""
    expected = f"integer indices from 0 to {size - 1}{f' ({meaning})' if meaning else ''}"
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold {expected}, got a ragged {type(value).__name__}") from None
    if raw.dtype.kind not in "iu" and not (raw.dtype.kind == "f" and raw.size and np.all(raw == np.round(raw))):
        if not (raw.dtype.kind == "f" and raw.size == 0):
            raise ValueError(f"{name} must hold {expected}, got {type(value).__name__} of dtype {raw.dtype}")
    array = raw.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= size):
        raise ValueError(f"{name} must hold {expected}, got values from {array.min()} to {array.max()}")
    return array


def _dims(ndim) -> str:
    if isinstance(ndim, int):
        return f"{ndim}-D"
    return " or ".join(f"{n}-D" for n in ndim)
