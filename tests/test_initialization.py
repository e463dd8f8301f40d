"""coursekit.initialization against torch.nn.init (statistics on large samples) and closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coursekit import datasets, initialization as I

N_IN, N_OUT = 400, 300   # 120,000 weights per sample: the std is estimated within about 0.5 %


def torch_weights(init, n_in=N_IN, n_out=N_OUT, **kw):
    torch.manual_seed(0)
    w = torch.empty(n_out, n_in, dtype=torch.float64)   # torch stores (out, in)
    init(w, **kw)
    return w.numpy()


@pytest.mark.parametrize("scheme, torch_init, kw, uniform", [
    ("xavier_normal", torch.nn.init.xavier_normal_, {}, False),
    ("xavier_uniform", torch.nn.init.xavier_uniform_, {}, True),
    ("he_normal", torch.nn.init.kaiming_normal_, {"nonlinearity": "relu"}, False),
    ("he_uniform", torch.nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, True),
])
def test_statistics_match_torch_nn_init(scheme, torch_init, kw, uniform):
    ours = I.init_weights(N_IN, N_OUT, scheme, rng=0)
    theirs = torch_weights(torch_init, **kw)
    assert ours.shape == (N_IN, N_OUT)
    assert abs(ours.mean()) < 0.01 * ours.std()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.01)
    if uniform:  # same support: the largest draws come within a hair of the same limit
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=1e-3)
    else:        # normal: the same share beyond two standard deviations (4.55 %)
        assert np.mean(np.abs(ours) > 2 * ours.std()) == pytest.approx(0.0455, abs=0.003)


def test_closed_forms():
    assert I.xavier_std(3, 2) == pytest.approx(math.sqrt(0.4))
    assert I.xavier_limit(3, 2) == pytest.approx(math.sqrt(1.2))
    assert I.he_std(50) == pytest.approx(0.2)
    assert I.he_limit(6) == pytest.approx(1.0)
    # a uniform variable on [-a, a] has variance a²/3: the two Xavier forms agree in variance
    for n_in, n_out in [(3, 2), (64, 10), (784, 500)]:
        assert I.xavier_limit(n_in, n_out) ** 2 / 3 == pytest.approx(I.xavier_std(n_in, n_out) ** 2)


def test_uniform_limit_matches_torch_bound():
    w = torch_weights(torch.nn.init.xavier_uniform_, 3, 2)
    assert np.abs(w).max() <= I.xavier_limit(3, 2)


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "tanh", "relu"])
def test_gain_matches_torch(activation):
    assert I.gain(activation) == pytest.approx(torch.nn.init.calculate_gain(activation))


def test_leaky_relu_gain():
    assert I.gain("leaky_relu", 0.1) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.1))


def test_deck002_table_is_not_he():
    # deck 002 prints α·√(2/(n_in + n_out)); He is √(2/n_in). For its own 3 -> 2 example:
    assert I.deck002_he_std(3, 2, "relu") == pytest.approx(math.sqrt(2) * math.sqrt(2 / 5))
    assert I.deck002_he_std(3, 2, "relu") != pytest.approx(I.he_std(3))
    # the ×4 of the table belongs to the sigmoid: torch's tanh gain is 5/3, its sigmoid gain 1
    assert I.DECK002_ALPHA["tanh"] == 4 != pytest.approx(torch.nn.init.calculate_gain("tanh"))


def test_constant_and_zero_schemes():
    assert np.all(I.init_weights(3, 4, "constant", value=0.7) == 0.7)
    assert np.all(I.init_weights(3, 4, "zeros") == 0)
    with pytest.raises(ValueError, match="scheme must be one of"):
        I.init_weights(3, 4, "glorot")
    with pytest.raises(ValueError, match="n_in must be a positive integer"):
        I.init_weights(0, 4)


def test_signal_keeps_its_scale_with_the_right_rule():
    he = I.signal_scales(20, 100, "he_normal", "relu", n=500)
    small = I.signal_scales(20, 100, "normal", "relu", n=500, std=0.01)
    xavier_tanh = I.signal_scales(20, 100, "xavier_normal", "tanh", n=500)
    assert 0.5 < he[-1] / he[0] < 2.0               # He + ReLU: the scale holds over 20 layers
    assert small[-1] / small[0] < 1e-10             # tiny weights: the signal dies
    assert xavier_tanh[-1] > 0.1 * xavier_tanh[0]   # Xavier + tanh: it shrinks only slowly


def test_symmetry_is_never_broken_by_equal_weights():
    X, _, y, _ = datasets.load_digits()
    X, y = X[:100], y[:100]
    equal = I.symmetry_run(X, y, hidden=4, scheme="constant", steps=20)
    random = I.symmetry_run(X, y, hidden=4, scheme="xavier_uniform", steps=20)
    assert max(s.spread for s in equal) < 1e-12               # equal up to rounding, at every step
    assert equal[-1].loss < equal[0].loss                      # it still learns something ...
    assert random[-1].loss < equal[-1].loss                    # ... but less than distinct units
    assert random[0].spread > 0
