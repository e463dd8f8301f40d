"""The unit-00 exercise checks (coursekit.checks.basics): right answers pass, missing ones are
"not attempted", plausible mistakes are "wrong" with a message that says what is wrong.

The expected values are computed here with NumPy and torch directly, not with the
references of coursekit.checks.basics.
"""
import numpy as np
import pytest
import torch

from coursekit import set_seed
from coursekit.checks import ERROR, NOT_ATTEMPTED, PASSED, WRONG
from coursekit.checks import basics as B


def not_attempted(*args):
    raise NotImplementedError()


def crashes(*args):
    return undefined_name  # noqa: F821 -- a NameError, like a student's typo


# ------------------------------------------------------------ seeded_sample ---

def sample_with_default_rng(seed, n):
    """Written without set_seed: set_seed's generator is NumPy's default_rng(seed)."""
    return np.random.default_rng(seed).standard_normal(n)


def sample_one_at_a_time(seed, n):
    rng = set_seed(seed)
    return [float(rng.normal()) for _ in range(n)]  # a list is a fine answer too


def sample_as_tensor(seed, n):
    return torch.from_numpy(set_seed(seed).normal(size=n))  # a tensor of the same numbers passes


_once = np.random.default_rng(0)


def sample_from_one_generator(seed, n):
    return _once.normal(size=n)  # made once, outside: the same seed does not repeat


def sample_from_the_global_functions(seed, n):
    set_seed(seed)
    return np.random.randn(n)  # seeded, but another generator


def sample_with_torch(seed, n):
    set_seed(seed)
    return torch.randn(n, dtype=torch.float64)


def sample_uniform(seed, n):
    return set_seed(seed).random(size=n)  # uniform on [0, 1), not standard normal


def sample_one_too_many(seed, n):
    return set_seed(seed).normal(size=n + 1)


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
@pytest.mark.parametrize("n", [0, 1, 5])
def test_reference_sample_is_what_set_seeds_generator_draws(seed, n):
    expected = np.random.default_rng(seed).standard_normal(n)
    np.testing.assert_array_equal(B.reference_seeded_sample(seed, n), expected)
    np.testing.assert_array_equal(B.reference_seeded_sample(seed, n), expected)  # and again: repeatable
    np.testing.assert_array_equal(set_seed(seed).normal(size=n), expected)  # what the exercise asks for


def test_reference_sample_leaves_the_global_random_state_alone():
    """The grader re-runs checks in its own process: the reference must not re-seed it."""
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    torch_before = torch.random.get_rng_state().clone()
    B.reference_seeded_sample(0, 5)
    assert np.array_equal(np.random.get_state()[1], before)
    assert torch.equal(torch.random.get_rng_state(), torch_before)


@pytest.mark.parametrize("solution", [sample_with_default_rng, sample_one_at_a_time, sample_as_tensor])
def test_seeded_sample_right_answers_pass(solution, capsys):
    result = B.check_seeded_sample(solution)
    assert result.status == PASSED and result.points == result.max_points == 1, result.message
    assert "passed all" in capsys.readouterr().out


@pytest.mark.parametrize("solution, words", [
    (sample_from_one_generator, "values differ"),
    (sample_from_the_global_functions, "values differ"),
    (sample_with_torch, "values differ"),
    (sample_uniform, "values differ"),
    (sample_one_too_many, "wrong shape"),
    (lambda seed, n: None, "returned None"),
])
def test_seeded_sample_mistakes_are_wrong_with_a_useful_message(solution, words):
    result = B.check_seeded_sample(solution, verbose=False)
    assert result.status == WRONG and result.points == 0, result.message
    assert words in result.message
    assert "Smallest failing input" in result.message and "Hint:" in result.message
    assert "set_seed(seed)" in result.message


def test_seeded_sample_message_shows_expected_and_got():
    result = B.check_seeded_sample(sample_from_the_global_functions, verbose=False)
    seed, n = result.failing_input.args
    expected = np.random.default_rng(seed).standard_normal(n)
    np.random.seed(seed)
    got = np.random.randn(n)
    assert "expected:" in result.message and "got:" in result.message
    assert f"{expected[0]:.4f}" in result.message and f"{got[0]:.4f}" in result.message


def test_a_generator_made_once_is_caught_by_a_repeated_seed():
    """The first call can even match; the repeated seed gives it away."""
    global _once
    _once = np.random.default_rng(0)  # its first draws equal set_seed(0)'s, the first example
    result = B.check_seeded_sample(sample_from_one_generator, verbose=False)
    assert result.status == WRONG
    # the first failure is the repeated seed (the hint says "again" in every wrong result: not evidence)
    assert result.failing_input.label.startswith("seed 0 again"), result.failing_input.label
    assert "Smallest failing input (seed 0 again" in result.message


@pytest.mark.parametrize("solution", [sample_uniform, sample_from_the_global_functions, sample_one_too_many])
def test_other_mistakes_fail_before_the_repeated_seed(solution):
    """A solution wrong for another reason fails at the very first example, not at the repeated seed,
    so the assertion above does tell the two apart."""
    result = B.check_seeded_sample(solution, verbose=False)
    assert result.status == WRONG and "again" in result.message  # the hint's word: in every wrong result
    assert result.failing_input.label.startswith("seed 0, three numbers")
    assert not result.failing_input.label.startswith("seed 0 again")


# ---------------------------------------------------------------- to_tensor ---

def tensor_via_list(x):
    """Written without as_tensor: Python numbers -> float32 tensor."""
    return torch.tensor(np.asarray(x).tolist(), dtype=torch.float32)


def tensor_via_from_numpy(x):
    return torch.from_numpy(np.asarray(x)).float()


def tensor_via_numpy_float32(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float32))


def forgot_the_dtype(x):
    return torch.from_numpy(np.asarray(x))


def returned_numpy(x):
    return np.asarray(x, dtype=np.float32)


def flattened(x):
    return torch.as_tensor(x, dtype=torch.float32).reshape(-1)


def rounded(x):
    return torch.as_tensor(np.round(x), dtype=torch.float32)


def half_precision(x):
    return torch.as_tensor(x, dtype=torch.float16)


@pytest.mark.parametrize("x", [np.array([[1.0, 2.0], [3.0, 4.5]]), np.arange(5), np.zeros((2, 1, 3)),
                               np.array(7.25), np.arange(6.0).reshape(2, 3).T])
def test_reference_tensor_is_float32_with_the_same_values(x):
    got = B.reference_to_tensor(x)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and got.device.type == "cpu"
    assert tuple(got.shape) == x.shape
    np.testing.assert_array_equal(got.numpy(), x.astype(np.float32))


@pytest.mark.parametrize("solution", [tensor_via_list, tensor_via_from_numpy, tensor_via_numpy_float32])
def test_to_tensor_right_answers_pass(solution, capsys):
    result = B.check_to_tensor(solution)
    assert result.status == PASSED and result.points == result.max_points == 1, result.message
    assert "passed all" in capsys.readouterr().out


@pytest.mark.parametrize("solution, words", [
    (forgot_the_dtype, "expected a tensor of dtype torch.float32, got torch.float64"),
    (half_precision, "got torch.float16"),
    (returned_numpy, "expected a torch tensor, got ndarray"),
    (flattened, "wrong shape"),
    (rounded, "values differ"),
    (lambda x: None, "returned None"),
])
def test_to_tensor_mistakes_are_wrong_with_a_useful_message(solution, words):
    result = B.check_to_tensor(solution, verbose=False)
    assert result.status == WRONG and result.points == 0, result.message
    assert words in result.message
    assert "Smallest failing input" in result.message and "Hint:" in result.message


def test_integer_input_must_become_float32_too():
    result = B.check_to_tensor(lambda x: torch.as_tensor(x) if x.dtype.kind == "i" else
                               torch.as_tensor(x, dtype=torch.float32), verbose=False)
    assert result.status == WRONG and "torch.int64" in result.message


def test_to_tensor_check_survives_the_graders_round_trip():
    """The grader runs the student's function in the kernel and gets its result back through
    coursekit.grading.rpc (JSON): a float32 tensor comes back as a float32 tensor and still passes,
    a float64 one still fails."""
    from coursekit.grading import rpc

    def through_rpc(solution):
        return lambda x: rpc.decode(rpc.encode(solution(x)))

    assert B.check_to_tensor(through_rpc(tensor_via_from_numpy), verbose=False).status == PASSED
    assert B.check_to_tensor(through_rpc(forgot_the_dtype), verbose=False).status == WRONG
    assert B.check_to_tensor(through_rpc(returned_numpy), verbose=False).status == WRONG
    assert B.check_seeded_sample(lambda s, n: rpc.decode(rpc.encode(sample_with_default_rng(s, n))),
                                 verbose=False).status == PASSED


# ----------------------------------------------------------- both checks ---

CHECKS = [B.check_seeded_sample, B.check_to_tensor]


@pytest.mark.parametrize("check", CHECKS)
def test_not_attempted(check, capsys):
    result = check(not_attempted)
    assert result.status == NOT_ATTEMPTED and result.points == 0
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", CHECKS)
def test_crashing_function_is_an_error(check):
    result = check(crashes, verbose=False)
    assert result.status == ERROR and "NameError" in result.message


@pytest.mark.parametrize("check", CHECKS)
def test_not_a_function_is_an_error(check):
    result = check(42, verbose=False)
    assert result.status == ERROR and "expected a function" in result.message


@pytest.mark.parametrize("check", CHECKS)
def test_checks_do_not_depend_on_the_seed_for_correct_answers(check):
    solution = sample_with_default_rng if check is B.check_seeded_sample else tensor_via_list
    for seed in (1, 2, 3):
        assert check(solution, seed=seed, verbose=False).passed
