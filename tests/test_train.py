"""coursekit.train: repeatability, early stopping, shape errors, learning, devices, plotting."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from coursekit import datasets, set_seed
from coursekit import train as T


def toy_data(n=64, seed=0):
    """A linearly separable 2-D set with a margin, labels 0/1 (as int64 tensors)."""
    X, y = datasets.linearly_separable(n=n, margin=0.2, seed=seed)
    return torch.tensor(X, dtype=torch.float32), torch.tensor((y > 0).astype(np.int64))


def small_model(seed=0, n_in=2, n_out=2, hidden=8):
    set_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, n_out))


def fit(model, data, epochs=5, lr=0.05, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("device", "cpu")
    return T.train(model, data, torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=lr),
                   epochs=epochs, **kwargs)


def test_same_seed_gives_an_identical_history():
    X, y = toy_data()
    h1 = fit(small_model(), (X, y), epochs=4, batch_size=8, val_data=(X[:16], y[:16]))
    h2 = fit(small_model(), (X, y), epochs=4, batch_size=8, val_data=(X[:16], y[:16]))
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        assert getattr(h1, key) == getattr(h2, key), key
    assert h1.epochs == 4 and len(h1.seconds) == 4 and all(s > 0 for s in h1.seconds)
    h3 = fit(small_model(), (X, y), epochs=4, batch_size=8, seed=1)
    assert h3.train_loss != h1.train_loss                      # another seed shuffles differently


def test_a_tiny_model_learns_a_separable_toy_set():
    X, y = toy_data(n=80)
    model = small_model()
    history = fit(model, (X, y), epochs=30, lr=0.5, batch_size=16)
    assert history.train_loss[-1] < history.train_loss[0] / 3
    result = T.evaluate(model, (X, y), torch.nn.CrossEntropyLoss())
    assert result["accuracy"] >= 0.97 and result["examples"] == 80
    # evaluate's numbers, recomputed by hand
    with torch.no_grad():
        out = model(X)
    assert result["loss"] == pytest.approx(torch.nn.functional.cross_entropy(out, y).item(), rel=1e-6)
    assert result["accuracy"] == pytest.approx((out.argmax(1) == y).float().mean().item())
    assert torch.equal(T.predict(model, X, classes=True), out.argmax(1))
    assert torch.allclose(T.predict(model, X.numpy()), out)


def test_history_loss_is_the_mean_over_the_epochs_batches():
    X, y = toy_data(n=20)
    model = small_model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    history = fit(model, (X, y), epochs=1, batch_size=7, shuffle=False)
    model.load_state_dict(state)                              # replay the epoch by hand
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    total = 0.0
    for start in range(0, 20, 7):
        loss = torch.nn.functional.cross_entropy(model(X[start:start + 7]), y[start:start + 7])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(X[start:start + 7])
    assert history.train_loss[0] == pytest.approx(total / 20, rel=1e-6)


def test_early_stopping_restores_the_best_epochs_weights():
    X, y = toy_data()
    # validation labels are the opposite of the training labels: the better the model fits the
    # training data, the worse its validation loss, so epoch 1 stays the best
    val = (X, 1 - y)
    model = small_model()
    history = fit(model, (X, y), epochs=20, lr=0.5, batch_size=16, val_data=val, patience=3)
    assert history.best_epoch == 1 and history.stopped_early and history.epochs == 4 and history.restored_best
    assert history.val_loss[1] > history.val_loss[0]
    reference = small_model()
    fit(reference, (X, y), epochs=1, lr=0.5, batch_size=16, val_data=val)    # one epoch, same seed
    for name, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    assert T.evaluate(model, val, torch.nn.CrossEntropyLoss())["loss"] == pytest.approx(history.val_loss[0], rel=1e-6)
    kept = small_model()
    h = fit(kept, (X, y), epochs=20, lr=0.5, batch_size=16, val_data=val, patience=3, restore_best=False)
    assert not h.restored_best
    assert T.evaluate(kept, val, torch.nn.CrossEntropyLoss())["loss"] == pytest.approx(h.val_loss[-1], rel=1e-6)


def test_without_patience_all_epochs_run_and_best_epoch_is_reported():
    X, y = toy_data()
    h = fit(small_model(), (X, y), epochs=3, val_data=(X, 1 - y))
    assert h.epochs == 3 and not h.stopped_early and not h.restored_best and h.best_epoch == 1
    assert h.monitor == "val_loss" and "best epoch 1" in str(h)
    assert h.best()["val_loss"] == h.val_loss[0] and h.last()["epoch"] == 3


def test_shape_mismatch_between_output_and_targets_is_named():
    X = torch.randn(8, 3)
    model = torch.nn.Linear(3, 1)
    with pytest.raises(ValueError, match=r"MSELoss cannot compare the model's output \(shape \(8, 1\), dtype float32\) "
                                         r"with the targets \(shape \(8,\), dtype float32\).*unsqueeze"):
        T.train(model, (X, torch.randn(8)), torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), 0.1), 1,
                progress=False, device="cpu")
    model = torch.nn.Linear(3, 4)
    with pytest.raises(ValueError, match=r"CrossEntropyLoss .*shape \(8, 4\).*targets \(shape \(8,\), dtype float32\)"
                                         r".*y.long\(\)"):
        T.train(model, (X, torch.zeros(8, dtype=torch.float32)), torch.nn.CrossEntropyLoss(),
                torch.optim.SGD(model.parameters(), 0.1), 1, progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"class indices must lie in 0..3 for 4 output scores, got values from 2 to 9"):
        T.train(model, (X, torch.arange(8) + 2), torch.nn.CrossEntropyLoss(),
                torch.optim.SGD(model.parameters(), 0.1), 1, progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"the model could not take a batch of inputs with shape \(8, 5\)"):
        T.train(model, (torch.randn(8, 5), torch.zeros(8, dtype=torch.long)), torch.nn.CrossEntropyLoss(),
                torch.optim.SGD(model.parameters(), 0.1), 1, progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"X and y must hold the same number of examples"):
        T.train(model, (X, torch.zeros(7, dtype=torch.long)), torch.nn.CrossEntropyLoss(),
                torch.optim.SGD(model.parameters(), 0.1), 1, progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss.*floating-point targets"):
        T.check_loss_inputs(torch.zeros(4, 1), torch.zeros(4, 1, dtype=torch.long), torch.nn.BCEWithLogitsLoss())


def test_bad_arguments_are_explained():
    X, y = toy_data(n=8)
    model = small_model()
    with pytest.raises(ValueError, match="optimizer must be a torch.optim optimizer"):
        T.train(model, (X, y), torch.nn.CrossEntropyLoss(), "adam", 1, progress=False)
    with pytest.raises(ValueError, match="epochs must be"):
        fit(model, (X, y), epochs=-1)
    with pytest.raises(ValueError, match="data must be a pair"):
        fit(model, 42)
    with pytest.raises(ValueError, match="patience must be a positive"):
        fit(model, (X, y), patience=0)
    with pytest.raises(ValueError, match="reduction='mean'"):
        T.train(model, (X, y), torch.nn.CrossEntropyLoss(reduction="none"), torch.optim.SGD(model.parameters(), 0.1),
                1, progress=False, device="cpu")


def test_numpy_data_and_an_optimizer_factory_are_accepted():
    X, y = datasets.linearly_separable(n=40, margin=0.2, seed=1)
    model = small_model()
    history = T.train(model, (X, (y > 0).astype(np.int32)), torch.nn.CrossEntropyLoss(),
                      lambda params: torch.optim.Adam(params, lr=0.05), epochs=10, progress=False, device="cpu")
    assert history.train_acc[-1] > 0.9
    assert next(model.parameters()).dtype == torch.float32    # float64 NumPy inputs follow the model's dtype


def test_a_dataloader_gives_the_same_history_as_the_pair():
    X, y = toy_data(n=40)
    h_pair = fit(small_model(), (X, y), epochs=3, batch_size=10, shuffle=False)
    loader = DataLoader(TensorDataset(X, y), batch_size=10, shuffle=False)
    h_loader = fit(small_model(), loader, epochs=3, val_data=loader)
    assert h_pair.train_loss == pytest.approx(h_loader.train_loss, rel=1e-6)
    assert h_loader.val_acc and not math.isnan(h_loader.val_acc[0])


def test_regression_has_no_accuracy_and_binary_logits_do():
    X = torch.linspace(-1, 1, 32).unsqueeze(1)
    model = torch.nn.Linear(1, 1)
    h = T.train(model, (X, 3 * X), torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), 0.3), 20,
                batch_size=8, progress=False, device="cpu")
    assert math.isnan(h.train_acc[0]) and h.train_loss[-1] < 0.01
    model = torch.nn.Linear(1, 1)
    h = T.train(model, (X, (X > 0).float()), torch.nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), 1.0),
                20, batch_size=8, progress=False, device="cpu")
    assert h.train_acc[-1] >= 0.95


def test_train_one_epoch_is_reusable_step_by_step():
    X, y = toy_data(n=30)
    model = small_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    gen = torch.Generator().manual_seed(0)
    first = T.train_one_epoch(model, (X, y), torch.nn.CrossEntropyLoss(), opt, batch_size=10, generator=gen)
    assert set(first) == {"loss", "accuracy", "examples", "seconds"} and first["examples"] == 30
    for _ in range(10):
        last = T.train_one_epoch(model, (X, y), torch.nn.CrossEntropyLoss(), opt, batch_size=10, generator=gen)
    assert last["loss"] < first["loss"]
    batches = [(X[:15], y[:15]), (X[15:], y[15:])]             # any iterable of (X, y) batches
    assert T.train_one_epoch(model, batches, torch.nn.CrossEntropyLoss(), opt)["examples"] == 30


def test_train_evaluate_and_predict_compute_small_models_on_one_thread(monkeypatch):
    """The workbook's thread policy (coursekit.device.cpu_threads) around training, evaluation and prediction."""
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = small_model()

        def forward(self, x):
            seen.append(torch.get_num_threads())
            return self.net(x)

    before = torch.get_num_threads()
    X, y = toy_data(n=16)
    model = Spy()
    fit(model, (X, y), epochs=1, batch_size=8)
    T.evaluate(model, (X, y), torch.nn.CrossEntropyLoss())
    T.predict(model, X)
    assert seen and set(seen) == {1} and torch.get_num_threads() == before
    seen.clear()
    fit(model, (X, y), epochs=1, threads=None)                # None: torch's own setting
    assert set(seen) == {before}
    with pytest.raises(ValueError, match="threads"):
        fit(model, (X, y), epochs=1, threads=0)


class TwoInputs(torch.nn.Module):
    """y = f(a + W b): a model called as model(a, b), as an encoder-decoder takes a source and a target."""

    def __init__(self, seed=0):
        super().__init__()
        set_seed(seed)
        self.mix = torch.nn.Linear(3, 2, bias=False)
        self.head = small_model(seed)

    def forward(self, a, b):
        return self.head(a + self.mix(b))


def two_input_data(n=48, seed=0):
    X, y = toy_data(n=n, seed=seed)
    b = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed))
    return X, b, y


def test_a_tuple_X_is_the_inputs_of_a_model_with_several():
    a, b, y = two_input_data()
    loss_fn = torch.nn.CrossEntropyLoss()
    model = TwoInputs()
    history = T.train(model, ((a, b.numpy()), y), loss_fn, torch.optim.SGD(model.parameters(), lr=0.05), epochs=3,
                      batch_size=8, val_data=((a[:16], b[:16]), y[:16]), progress=False, device="cpu")
    assert history.epochs == 3 and history.train_loss[-1] < history.train_loss[0]
    # the same run by hand: the same shuffling (seed 0), batch by batch, model(a_batch, b_batch)
    reference = TwoInputs()
    opt = torch.optim.SGD(reference.parameters(), lr=0.05)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        for idx in torch.randperm(48, generator=generator).split(8):
            opt.zero_grad()
            loss_fn(reference(a[idx], b[idx]), y[idx]).backward()
            opt.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q)
    with torch.no_grad():
        expected_out = reference(a, b)
    torch.testing.assert_close(T.predict(model, (a, b), batch_size=10), expected_out)
    result = T.evaluate(model, ((a, b), y), loss_fn, batch_size=10)
    assert result["examples"] == 48 and math.isclose(result["loss"], float(loss_fn(expected_out, y)), rel_tol=1e-5)
    assert result["accuracy"] == pytest.approx(float((expected_out.argmax(1) == y).double().mean()))
    # a DataLoader of ((a, b), y) batches works alike
    loader = DataLoader(TensorDataset(a, b, y), batch_size=16)
    batches = [((xa, xb), yb) for xa, xb, yb in loader]
    assert T.evaluate(model, batches, loss_fn)["examples"] == 48
    assert T.train_one_epoch(model, batches, loss_fn, torch.optim.SGD(model.parameters(), lr=0.01))["examples"] == 48


def test_a_tuple_X_with_too_few_rows_or_the_wrong_inputs_is_named():
    a, b, y = two_input_data()
    model = TwoInputs()
    with pytest.raises(ValueError, match=r"X\[1\] and y must hold the same number of examples.*\(47, 3\)"):
        fit(model, ((a, b[:47]), y), epochs=1)
    with pytest.raises(ValueError, match="could not take a batch of inputs with inputs of shape"):
        fit(model, ((a, b[:, :2]), y), epochs=1)


def test_progress_bar_text_and_off(capsys):
    X, y = toy_data(n=16)
    fit(small_model(), (X, y), epochs=2, progress=False)
    assert capsys.readouterr().err == ""
    fit(small_model(), (X, y), epochs=2, progress="text")
    err = capsys.readouterr().err
    assert "training" in err and "2/2" in err and "train loss" in err


def test_plot_history_draws_loss_and_accuracy():
    import matplotlib
    matplotlib.use("Agg")
    X, y = toy_data(n=16)
    h = fit(small_model(), (X, y), epochs=3, val_data=(X, y))
    fig = T.plot_history(h, title="toy")
    assert len(fig.axes) == 2 and fig.get_size_inches()[0] <= 8.4
    loss_ax = fig.axes[0]
    assert np.allclose(loss_ax.lines[0].get_ydata(), h.train_loss)
    assert np.allclose(loss_ax.lines[1].get_ydata(), h.val_loss)
    with pytest.raises(ValueError, match="History"):
        T.plot_history({"train_loss": [1.0]})


@pytest.mark.gpu
def test_cuda_gives_the_cpu_accuracy_with_the_same_seed():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    Xtr, Xte, ytr, yte = datasets.load_digits(as_torch=True)
    results = {}
    for device in ("cpu", "cuda"):
        set_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
        T.train(model, (Xtr, ytr), torch.nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 1e-3), 10,
                batch_size=64, progress=False, device=device)
        results[device] = T.evaluate(model, (Xte, yte))["accuracy"]
    # the same shuffling and initial weights; float rounding differs between devices: within 1 percentage point
    assert abs(results["cpu"] - results["cuda"]) <= 0.01, results
