"""The shipped digits-CNN weights are what their script makes.

Retrains both networks exactly as ``scripts/make_digits_cnn_weights.py`` does (on the
CPU, seed 0) and compares with the shipped files: identical on the machines the course
is built on; within a small tolerance, with the same test predictions, on a CPU whose
floating-point kernels round differently.
"""
from __future__ import annotations

import numpy as np
import pytest

from coursekit import conv, robustness
from coursekit.datasets import load_digits, load_file


@pytest.mark.slow
@pytest.mark.parametrize("name, make, load, epochs, least_accuracy", [
    (conv.DIGITS_CNN_FILE, conv.train_digits_cnn, conv.load_digits_cnn, 8, 0.98),
    (robustness.ROBUST_CNN_FILE, robustness.train_robust_digits_cnn, robustness.load_robust_digits_cnn, 20, 0.95),
])
def test_retraining_reproduces_the_shipped_weights(tmp_path, name, make, load, epochs, least_accuracy):
    model, history, accuracy = make(device="cpu")
    path = tmp_path / name
    conv.save_weights(model, path)
    retrained, shipped = np.load(path), np.load(load_file(name))
    assert retrained.shape == shipped.shape
    np.testing.assert_allclose(retrained, shipped, rtol=1e-3, atol=1e-4)
    assert accuracy >= least_accuracy and history.epochs == epochs
    _, X_test, _, y_test = load_digits(seed=0)
    shipped_model = load(device="cpu")
    np.testing.assert_array_equal(conv.predict_digits(model, X_test), conv.predict_digits(shipped_model, X_test))
    assert np.isclose(np.mean(conv.predict_digits(shipped_model, X_test) == y_test), accuracy)
