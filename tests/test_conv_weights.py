"""The shipped digits-CNN weights (datasets/digits_cnn.npy) are what their script makes.

Retrains the network exactly as ``scripts/make_digits_cnn_weights.py`` does (on the CPU,
seed 0) and compares with the shipped file: identical on the machines the course is
built on; within a small tolerance, with the same test predictions, on a CPU whose
floating-point kernels round differently.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from coursekit import conv
from coursekit.datasets import load_digits, load_file


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_digits_cnn(tmp_path):
    model, history, accuracy = conv.train_digits_cnn(device="cpu")
    path = tmp_path / conv.DIGITS_CNN_FILE
    conv.save_weights(model, path)
    retrained = np.load(path)
    shipped = np.load(load_file(conv.DIGITS_CNN_FILE))
    assert retrained.shape == shipped.shape
    np.testing.assert_allclose(retrained, shipped, rtol=1e-3, atol=1e-4)
    assert accuracy >= 0.98 and history.epochs == 8
    _, X_test, _, y_test = load_digits(seed=0)
    shipped_model = conv.load_digits_cnn(device="cpu")
    np.testing.assert_array_equal(conv.predict_digits(model, X_test), conv.predict_digits(shipped_model, X_test))
    assert np.isclose(np.mean(conv.predict_digits(shipped_model, X_test) == y_test), accuracy)
