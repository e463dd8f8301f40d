"""The gate stepper's shipped models: the tasks' answers, the models doing their tasks (run
through the NumPy reference, independently of the PyTorch code that trained them), and,
marked slow, a retraining that must give the shipped numbers again."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from coursekit import datasets, rnn


@pytest.fixture(scope="module")
def presets():
    return rnn.load_gate_presets()


def test_task_answers():
    first, count, reset = (rnn.GATE_TASKS[k] for k in ("first", "count", "reset"))
    assert first.target(list("AxBByA")).tolist() == [1.0] * 6
    assert first.target(list("BAAA")).tolist() == [0.0] * 4
    assert count.target(list("abbaab")).tolist() == [1, 1, 1, 2, 3, 3]
    assert reset.target(list("aab|ba|a")).tolist() == [1, 2, 2, 0, 0, 1, 0, 1]
    with pytest.raises(ValueError, match="reads only the symbols a b"):
        count.encode(list("abc"))
    X, Y = first.sample(np.random.default_rng(0), 50)
    assert X.shape == Y.shape == (50, first.length) and set(X[:, 0]) <= {0, 1}
    assert np.all(Y == (X[:, :1] == 0))


def _accuracy(preset, cell, n=60, length=None, seed=7):
    X, Y = preset.task.sample(np.random.default_rng(seed), n, length)
    right = []
    for row, target in zip(X, Y):
        lstm_states, rnn_states = preset.traces([preset.task.alphabet[i] for i in row])
        states = lstm_states if cell == "lstm" else rnn_states
        y = np.array([s.y[0] for s in states[1:]])
        ok = (y > 0.5) == (target > 0.5) if preset.task.output == "probability" else np.round(y) == target
        right.append(ok[preset.task.loss_from:])
    return float(np.mean(right))


def test_the_lstm_does_each_task_and_the_rnn_forgets_the_first_symbol(presets):
    assert _accuracy(presets["first"], "lstm", length=40) == 1.0
    assert abs(_accuracy(presets["first"], "rnn", length=40) - 0.5) < 0.15      # chance: it never learned
    assert _accuracy(presets["count"], "lstm") > 0.95
    assert _accuracy(presets["reset"], "lstm") > 0.95
    assert _accuracy(presets["reset"], "rnn") < _accuracy(presets["reset"], "lstm")


def test_numpy_traces_are_the_trained_torch_networks(presets):
    """The shipped weights, put back into the PyTorch network that was trained, give the
    same answers as the NumPy reference traces that the widget shows."""
    for name, preset in presets.items():
        for cell in ("lstm", "rnn"):
            weights = getattr(preset, cell)
            net = rnn._GateNet(cell, len(preset.task.alphabet)).double()
            with torch.no_grad():
                net.ih.weight.copy_(torch.as_tensor(weights["U"].T))
                net.hh.weight.copy_(torch.as_tensor(weights["W"].T))
                net.ih.bias.copy_(torch.as_tensor(weights["b"]))
                net.head.weight.copy_(torch.as_tensor(weights["V"].T))
                net.head.bias.copy_(torch.as_tensor(weights["c"]))
            symbols = preset.task.example.split()
            with torch.no_grad():
                logits = net(torch.as_tensor(preset.task.encode(symbols))[None])[0].numpy()
            expected = 1 / (1 + np.exp(-logits)) if preset.task.output == "probability" else logits
            states = preset.traces(symbols)[0 if cell == "lstm" else 1]
            np.testing.assert_allclose([s.y[0] for s in states[1:]], expected, atol=1e-12)


def test_the_forget_gate_closes_on_the_marker(presets):
    lstm_states, _ = presets["reset"].traces(list("aab|ab|a"))
    at_bar = [s for s in lstm_states[1:] if s.symbol == "|"]
    elsewhere = [s for s in lstm_states[1:] if s.symbol != "|"]
    assert all(s.f.min() < 0.5 for s in at_bar)
    assert all(s.f.min() > 0.5 for s in elsewhere)


def test_the_shipped_file_is_checksummed():
    path = datasets.load_file(rnn.GATE_PRESETS_FILE)
    data = json.loads(path.read_text())
    assert set(data["models"]) == {f"{t}/{c}" for t in rnn.GATE_TASKS for c in ("lstm", "rnn")}
    assert data["training"] == json.loads(json.dumps(rnn.GATE_TRAINING))


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_models():
    shipped = json.loads(datasets.load_file(rnn.GATE_PRESETS_FILE).read_text())
    retrained = json.loads(json.dumps(rnn.train_gate_presets()))
    for name, model in shipped["models"].items():
        for key, value in model["weights"].items():
            np.testing.assert_allclose(retrained["models"][name]["weights"][key], value, atol=1e-4,
                                       err_msg=f"{name} {key}")
        for key, value in model["record"].items():
            assert retrained["models"][name]["record"][key] == pytest.approx(value, abs=1e-3), f"{name} {key}"
