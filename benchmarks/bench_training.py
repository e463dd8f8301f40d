"""Unit 06: seconds per epoch of the notebook's digits experiments (CPU, and GPU where lent); the
notebook's time is in ``bench_notebooks``.

The network playground's epoch + redraw at 500 points and 2 × 8 units (one epoch of training, 25
mini-batches of 10, its evaluation, the blitted redraw and the PNG frame ipympl sends) is measured with
every widget: in the kernel by ``bench_widgets``, click-to-canvas in JupyterLab by ``bench_browser``.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from coursekit import datasets, deepnets, train as T

from . import Row, gpu_devices, no_gpu_row


def digits_rows(device) -> list[Row]:
    """Seconds per epoch of the notebook's two set-ups and its deepest network."""
    X_train, _, y_train, _ = datasets.load_digits()
    setups = [
        ("set-up A: 2×100 sigmoid, batch 20", lambda: deepnets.mlp(64, [100, 100], 10, activation="sigmoid",
                                                                           init="xavier_uniform"), X_train, y_train, 20),
        ("set-up A: 9×100 ReLU, batch 20",
         lambda: deepnets.mlp(64, [100] * 9, 10, activation="relu", init="xavier_uniform"), X_train, y_train, 20),
        ("set-up B: 200 digits, 2×256 ReLU, batch 32", lambda: deepnets.mlp(64, [256, 256], 10),
         X_train[:200], y_train[:200], 32),
    ]
    rows = []
    for label, make, X, y, batch in setups:
        model = make()
        cpu0 = time.process_time()
        history = T.train(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                          epochs=5, batch_size=batch, device=device, progress=False)
        cpu = (time.process_time() - cpu0) / 5
        rows.append(Row(f"digits ({device.type})", label, float(np.median(history.seconds)), "s/epoch",
                        note=f"CPU {cpu:.3f} s per epoch"))
    return rows


def run() -> list[Row]:
    rows = digits_rows(torch.device("cpu"))
    for device in gpu_devices():
        rows += digits_rows(torch.device(device))
    if not gpu_devices():
        rows.append(no_gpu_row("digits (cuda)", "seconds per epoch, the set-ups above", "s/epoch"))
    return rows
