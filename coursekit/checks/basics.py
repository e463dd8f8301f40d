"""Exercise checks for unit 00 (getting started): repeatable randomness and data for PyTorch.

Like every check of the workbook, each one runs the student's function next to
a reference on the worked examples first, then on seeded random inputs, and
prints passed / not attempted yet / wrong with the smallest failing input and
a hint. None of them raises. (Unit 00's first exercise, ``credit_decision``,
is checked by :func:`coursekit.checks.perceptron.check_credit_decision`: it
is the perceptron's credit rule.)

The references have no side effects: the grader re-runs every check in its
own process, so a reference must not re-seed that process's random state.
The student's functions run in the notebook's kernel and come back through
:mod:`coursekit.grading.rpc`, which keeps a tensor's dtype, shape and values
but not its device: that is why the tensor exercise asks for a CPU tensor and
leaves ``.to(device)`` to the notebook's next cell. torch is imported inside
the functions, as in :mod:`coursekit.device`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import Case, CheckResult, check_function, compare_values, fmt, random_cases

# ---------------------------------------------------------- seeded_sample ---


def reference_seeded_sample(seed: int, n: int) -> np.ndarray:
    """n standard-normal numbers from the generator that ``set_seed(seed)`` returns,
    ``np.random.default_rng(seed)`` (made here directly: no global state is touched)."""
    return np.random.default_rng(seed).normal(size=n)


def check_seeded_sample(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(seed, n) -> n standard-normal numbers, the same ones every time for the same seed:
    ``set_seed(seed).normal(size=n)``."""
    examples = [
        Case((0, 3), label="seed 0, three numbers: the draws of the seeding section"),
        Case((0, 3), label="seed 0 again: the very same three numbers"),
        Case((1, 3), label="seed 1: other numbers"),
        Case((0, 6), label="seed 0, six numbers: the first three as before"),
        Case((2024, 1), label="one number"),
        Case((7, 0), label="n = 0: no numbers, an empty array"),
    ]

    def make(rng, size):
        return int(rng.integers(0, 2**31)), size

    # the same seed again after other seeds: a generator made once, outside the function, fails here
    repeats = [Case((1, 3), label="seed 1 again, after other seeds")]
    return check_function(
        fn, reference_seeded_sample, examples + random_cases(make, 16, seed) + repeats, name="seeded_sample",
        points=points, verbose=verbose, arg_names=["seed", "n"],
        hint="inside the function, call set_seed(seed) and draw the n numbers from the NumPy generator it "
             "returns (its .normal method, with size=n). NumPy's older global functions (np.random.randn, "
             "np.random.normal) and torch.randn are seeded too but draw other numbers, and a generator made "
             "once outside the function does not start again at each call.",
    )


# -------------------------------------------------------------- to_tensor ---


def reference_to_tensor(x):
    """x (a NumPy array) as a float32 torch tensor (on the CPU, where NumPy's data is)."""
    import torch

    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def _compare_tensors(expected, got) -> str | None:
    import torch

    if got is None:  # compare_values says "returned None"
        return compare_values(expected.numpy(), got)
    if not isinstance(got, torch.Tensor):
        return (f"expected a torch tensor, got {type(got).__name__}: {fmt(got)}. "
                "torch.as_tensor(x) or torch.from_numpy(x) makes one from a NumPy array")
    if got.dtype != torch.float32:
        return (f"expected a tensor of dtype torch.float32, got {got.dtype}: NumPy arrays are float64 "
                "(or int64) by default, PyTorch models compute in float32")
    # the shape and the values: compare_values
    return compare_values(expected.numpy(), got.detach().cpu().numpy())


def check_to_tensor(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(x) -> x as a torch tensor of dtype float32, with the shape and values of x."""
    batch = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    examples = [
        Case((batch,), label="a 2 x 3 batch of float64 numbers"),
        Case((np.array([0, 2, 1, 1]),), label="integer labels: they become float32 too"),
        Case((np.array(2.5),), label="a single number (a 0-d array): a tensor of shape ()"),
        Case((np.array([[0.1, -1e-8, 3e8]]),), label="small and large numbers"),
        Case((batch.T,), label="a transposed array (not contiguous in memory)"),
    ]

    def make(rng, size):
        shape = tuple(int(k) for k in rng.integers(1, 4, size=1 + size % 3))
        if size % 4 == 3:
            return (rng.integers(-5, 6, size=shape),)
        return (rng.normal(size=shape),)

    return check_function(
        fn, reference_to_tensor, examples + random_cases(make, 14, seed), name="to_tensor", points=points,
        verbose=verbose, arg_names=["x"], compare=_compare_tensors,
        hint="torch.as_tensor(x, dtype=torch.float32) does it in one call; or convert with torch.from_numpy(x) "
             "and change the dtype with .float(). Return the tensor itself, not a NumPy array, and do not round "
             "or reshape it.",
    )
