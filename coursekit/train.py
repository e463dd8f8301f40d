"""The one PyTorch training loop of the workbook (units 04-13).

Every notebook that trains a PyTorch model calls :func:`train`::

    history = train(model, (X_train, y_train), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 1e-3),
                    epochs=20, batch_size=64, val_data=(X_val, y_val), patience=5)
    plot_history(history)

What it does for the student:

* picks the device with :func:`coursekit.device.get_device` (or takes ``device=``) and
  moves the model and every batch there; NumPy data become tensors of the model's dtype;
* seeds Python, NumPy and torch (:func:`coursekit.device.set_seed`) and shuffles with its
  own seeded generator, so two runs from the same model give the same history;
* shows one progress bar over the epochs (tqdm's notebook bar in JupyterLab, a text
  line elsewhere; ``progress=False`` turns it off);
* records per epoch the training and validation loss and accuracy and the seconds the
  epoch took (:class:`History`);
* stops early when the monitored loss has not improved for ``patience`` epochs and
  then restores the weights of the best epoch;
* turns shape and dtype mistakes between the model's output, the targets and the loss
  into a ``ValueError`` that names both shapes and dtypes and says what the loss expects;
* computes small models on the CPU with one thread (the workbook's thread policy,
  :func:`coursekit.device.threads_for`).

A model with several inputs (an encoder-decoder reading a source and a shifted target)
takes them as ``model(*X)``: give X as a tuple, ``data = ((src, tgt_in), tgt)``, or let a
DataLoader yield batches ``((src, tgt_in), tgt)``.

:func:`train_one_epoch` is the loop's body, public so that widgets (the network
playground of unit 06) can train one epoch per tick with the same code.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ._validate import real_number, whole_number
from .device import cpu_threads, get_device, set_seed

__all__ = ["History", "train", "train_one_epoch", "evaluate", "predict", "plot_history", "batches",
           "as_tensors", "check_loss_inputs"]


def _torch():
    import torch

    return torch


# ------------------------------------------------------------------ history ---

@dataclass
class History:
    """What :func:`train` measured, one entry per epoch (epoch 1 is the first).

    ``train_loss`` / ``train_acc`` are averages over the epoch's batches, taken while
    training (as Keras reports them); ``val_loss`` / ``val_acc`` are measured on the
    validation data after the epoch, in evaluation mode (empty without validation
    data). An accuracy is NaN where the task has none (regression). ``best_epoch`` is
    the epoch (1-based) with the lowest monitored loss; ``stopped_early`` says whether
    patience ended the run; ``restored_best`` whether the weights were reset to it.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    restored_best: bool = False
    monitor: str = "train_loss"

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def best(self) -> dict[str, float]:
        """The measurements of the best epoch."""
        if self.best_epoch is None:
            return {}
        i = self.best_epoch - 1
        out = {"epoch": self.best_epoch, "train_loss": self.train_loss[i], "train_acc": self.train_acc[i]}
        if self.val_loss:
            out.update(val_loss=self.val_loss[i], val_acc=self.val_acc[i])
        return out

    def last(self) -> dict[str, float]:
        """The measurements of the last epoch."""
        if not self.train_loss:
            return {}
        out = {"epoch": self.epochs, "train_loss": self.train_loss[-1], "train_acc": self.train_acc[-1]}
        if self.val_loss:
            out.update(val_loss=self.val_loss[-1], val_acc=self.val_acc[-1])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"train_loss": list(self.train_loss), "val_loss": list(self.val_loss),
                "train_acc": list(self.train_acc), "val_acc": list(self.val_acc), "seconds": list(self.seconds),
                "best_epoch": self.best_epoch, "stopped_early": self.stopped_early,
                "restored_best": self.restored_best, "monitor": self.monitor}

    def __str__(self) -> str:
        if not self.train_loss:
            return "History(no epochs)"
        parts = [_summary(self.last())]
        if self.best_epoch is not None and self.best_epoch != self.epochs:
            parts.append(f"best {_summary(self.best())}" + (" (weights restored)" if self.restored_best else ""))
        if self.stopped_early:
            parts.append("stopped early")
        parts.append(f"{sum(self.seconds):.1f} s ({np.mean(self.seconds):.3f} s per epoch)")
        return "; ".join(parts)


def _summary(record: dict[str, float]) -> str:
    text = f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
    if not math.isnan(record["train_acc"]):
        text += f", acc {record['train_acc']:.4f}"
    if "val_loss" in record:
        text += f"; val loss {record['val_loss']:.4f}"
        if not math.isnan(record["val_acc"]):
            text += f", acc {record['val_acc']:.4f}"
    return text


# --------------------------------------------------------- data handling ---

def _model_dtype_and_device(model):
    torch = _torch()
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return torch.get_default_dtype(), torch.device("cpu")


def _to_tensor(value, name: str, float_dtype=None):
    """An array or tensor as a tensor: floats in ``float_dtype``, integers as int64 (labels)."""
    torch = _torch()
    if not isinstance(value, torch.Tensor):
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be an array or tensor of numbers, got {type(value).__name__} "
                             f"of dtype {arr.dtype}")
        value = torch.from_numpy(np.ascontiguousarray(arr))
    if value.is_floating_point():
        return value.to(float_dtype) if float_dtype is not None and value.dtype != float_dtype else value
    if value.dtype == torch.bool:
        return value
    return value.long() if value.dtype != torch.int64 else value


# A model with several inputs (an encoder-decoder's source and target, say) takes them as
# model(*X): X is then a tuple of arrays or tensors, one per input, each with one row per
# example. The helpers below treat one input and such a tuple alike.

def _is_array(value) -> bool:
    return hasattr(value, "shape") and len(getattr(value, "shape")) >= 1


def _is_inputs(X) -> bool:
    """One array or tensor, or a tuple (list) of them: the inputs of one model call."""
    return _is_array(X) or (isinstance(X, (tuple, list)) and len(X) > 0 and all(_is_array(x) for x in X))


def _to_inputs(X, name: str, float_dtype=None):
    """X as a tensor, or a tuple of tensors for a model with several inputs."""
    if isinstance(X, (tuple, list)) and X and all(_is_array(x) for x in X):
        return tuple(_to_tensor(x, f"{name}[{i}]", float_dtype) for i, x in enumerate(X))
    return _to_tensor(X, name, float_dtype)


def _map_inputs(fn, X):
    """``fn`` applied to X, or to each input of a tuple X (moving to a device, indexing a batch)."""
    return tuple(fn(x) for x in X) if isinstance(X, tuple) else fn(X)


def _first(X):
    return X[0] if isinstance(X, tuple) else X


def as_tensors(data, model=None, name: str = "data"):
    """``(X, y)`` as tensors: X in the model's floating dtype (float32 for a default model),
    integer labels and tokens as int64, float targets in the model's dtype. Arrays or tensors
    accepted; X may be a tuple of them, the inputs of a model called as ``model(*X)``."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(f"{name} must be a pair (X, y) of arrays or tensors (X may be a tuple of them, one per "
                         f"input of the model), or a DataLoader; got {type(data).__name__}")
    dtype = _model_dtype_and_device(model)[0] if model is not None else _torch().get_default_dtype()
    X = _to_inputs(data[0], f"{name}: X", dtype)
    y = _to_tensor(data[1], f"{name}: y", dtype)
    for i, x in enumerate(X if isinstance(X, tuple) else (X,)):
        what = f"X[{i}]" if isinstance(X, tuple) else "X"
        if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
            raise ValueError(f"{name}: {what} and y must hold the same number of examples (first axis), got "
                             f"{what} of shape {tuple(x.shape)} and y of shape {tuple(y.shape)}")
    if y.shape[0] == 0:
        raise ValueError(f"{name} holds no examples (X has shape {tuple(_first(X).shape)})")
    return X, y


def _is_pair(data) -> bool:
    """``(X, y)`` with y an array and X an array or a tuple of them (not a list of two batches)."""
    return isinstance(data, (tuple, list)) and len(data) == 2 and _is_array(data[1]) and _is_inputs(data[0])


def batches(X, y, batch_size: int, shuffle: bool = True, generator=None):
    """Mini-batches ``(X[idx], y[idx])`` covering every example once, in a random order drawn
    from ``generator`` (a seeded ``torch.Generator``) when ``shuffle``; the last batch is
    smaller when ``batch_size`` does not divide N. A tuple X (several inputs) is cut alike."""
    torch = _torch()
    N = y.shape[0]
    order = torch.randperm(N, generator=generator).to(y.device) if shuffle else None
    for start in range(0, N, batch_size):
        if order is None:
            part = slice(start, start + batch_size)
        else:
            part = order[start:start + batch_size]
        yield _map_inputs(lambda x: x[part], X), y[part]


# -------------------------------------------------- checking loss inputs ---

_ELEMENTWISE = ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
                "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                "binary_cross_entropy_with_logits")
_CLASS_INDEX = ("CrossEntropyLoss", "NLLLoss", "cross_entropy", "nll_loss")


def _loss_name(loss_fn) -> str:
    return getattr(loss_fn, "__name__", None) or type(loss_fn).__name__


def _describe(t) -> str:
    if isinstance(t, tuple):   # the inputs of a model with several
        return "inputs of " + " and ".join(_describe(x) for x in t)
    return f"shape {tuple(t.shape)}, dtype {str(t.dtype).replace('torch.', '')}"


def check_loss_inputs(out, y, loss_fn) -> None:
    """Raise a ValueError naming both shapes and dtypes where ``loss_fn(out, y)`` would fail
    or, worse, silently broadcast (MSELoss of (N, 1) against (N,) compares every pair)."""
    torch = _torch()
    name = _loss_name(loss_fn)
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"the model must return a tensor, got {type(out).__name__}")
    head = f"{name} cannot compare the model's output ({_describe(out)}) with the targets ({_describe(y)})"
    if out.ndim >= 1 and y.ndim >= 1 and out.shape[0] != y.shape[0]:
        raise ValueError(f"{head}: they hold different numbers of examples ({out.shape[0]} vs {y.shape[0]})")
    if name in _ELEMENTWISE and out.shape != y.shape:
        hint = ""
        if out.ndim == 2 and out.shape[1] == 1 and tuple(y.shape) == (out.shape[0],):
            hint = "; reshape the targets to (N, 1) with y.unsqueeze(1) (or squeeze the output)"
        raise ValueError(f"{head}: an elementwise loss needs equal shapes, else it broadcasts every output "
                         f"against every target{hint}")
    if name in _ELEMENTWISE and not y.is_floating_point():
        raise ValueError(f"{head}: it needs floating-point targets; convert them with y.float()")
    if name in _CLASS_INDEX:
        if out.ndim < 2:
            raise ValueError(f"{head}: it expects one row of C class scores per example, shape (N, C)")
        if y.is_floating_point() and y.shape != out.shape:
            raise ValueError(f"{head}: it expects class indices of dtype int64 and shape (N,) = ({out.shape[0]},) "
                             f"(or class probabilities of shape {tuple(out.shape)}); convert labels with y.long()")
        if not y.is_floating_point():
            if y.shape != out.shape[:1] + out.shape[2:]:
                raise ValueError(f"{head}: it expects one class index per example, shape ({out.shape[0]},)")
            C = out.shape[1]
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= C):
                raise ValueError(f"{head}: class indices must lie in 0..{C - 1} for {C} output scores, got "
                                 f"values from {int(y.min())} to {int(y.max())}")


def _forward(model, xb):
    try:
        return model(*xb) if isinstance(xb, tuple) else model(xb)
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"the model could not take a batch of inputs with {_describe(xb)}: {err}") from err


def _loss(loss_fn, out, yb, check: bool = True):
    if check:  # the first batch of a pass: later batches have the same shapes and dtypes
        check_loss_inputs(out, yb, loss_fn)
    try:
        loss = loss_fn(out, yb)
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"{_loss_name(loss_fn)} cannot compare the model's output ({_describe(out)}) with the "
                         f"targets ({_describe(yb)}): {err}") from err
    if loss.ndim != 0:
        raise ValueError(f"{_loss_name(loss_fn)} returned a tensor of shape {tuple(loss.shape)}, not one number; "
                         "use a loss with reduction='mean'")
    return loss


def _correct(out, y, loss_fn):
    """How many predictions in a batch are right, or None where accuracy means nothing (regression)."""
    name = _loss_name(loss_fn)
    if out.ndim == 2 and out.shape[1] > 1:
        if not y.is_floating_point() and y.ndim == 1:                    # class indices
            return (out.argmax(dim=1) == y).sum()
        if name in _CLASS_INDEX and y.shape == out.shape:                # class probabilities
            return (out.argmax(dim=1) == y.argmax(dim=1)).sum()
    if name in ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits", "BCELoss", "binary_cross_entropy"):
        threshold = 0.5 if name in ("BCELoss", "binary_cross_entropy") else 0.0   # probabilities or logits
        right = (out > threshold) == (y > 0.5)
        return right.reshape(out.shape[0], -1).all(dim=1).sum()          # every label of a row right
    return None


# ------------------------------------------------------------ the loops ---

def _batch_source(data, batch_size, shuffle, generator, model):
    """An iterable of (X, y) batches: a DataLoader or list of batches as given, a pair cut into batches."""
    if _is_pair(data):
        X, y = as_tensors(data, model)
        return batches(X, y, batch_size or y.shape[0], shuffle, generator)
    if isinstance(data, Iterable):
        return data
    raise ValueError(f"data must be a pair (X, y) of arrays or tensors, a DataLoader, or an iterable of (X, y) "
                     f"batches; got {type(data).__name__}")


def train_one_epoch(model, loader_or_batches, loss_fn, optimizer, device=None, *, batch_size: int | None = None,
                    shuffle: bool = True, generator=None, threads="auto") -> dict[str, float]:
    """One pass over the data: for each batch, forward, loss, backward, one optimizer step.

    ``loader_or_batches``: a DataLoader, any iterable of ``(X, y)`` batches, or a pair
    ``(X, y)`` that is cut into batches of ``batch_size`` (full batch when None), shuffled
    with ``generator``. Batches are moved to ``device`` (default: where the model is).
    Returns ``{"loss", "accuracy", "examples", "seconds"}``: the mean loss and accuracy over
    the epoch's examples (accuracy NaN for regression). ``threads``: see
    :func:`coursekit.device.cpu_threads`.
    """
    torch = _torch()
    dtype, model_device = _model_dtype_and_device(model)
    device = torch.device(device) if device is not None else model_device
    with cpu_threads(threads, model, device):
        return _one_epoch(model, loader_or_batches, loss_fn, optimizer, device, dtype, batch_size, shuffle,
                          generator)


def _one_epoch(model, loader_or_batches, loss_fn, optimizer, device, dtype, batch_size, shuffle, generator):
    torch = _torch()
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct_sum = None
    n = 0
    start = time.perf_counter()
    for xb, yb in _batch_source(loader_or_batches, batch_size, shuffle, generator, model):
        xb = _map_inputs(lambda x: x.to(device, non_blocking=True), _to_inputs(xb, "a batch of inputs", dtype))
        yb = _to_tensor(yb, "a batch of targets", dtype).to(device, non_blocking=True)
        out = _forward(model, xb)
        loss = _loss(loss_fn, out, yb, check=n == 0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        size = yb.shape[0]
        n += size
        with torch.no_grad():   # sums stay on the device: one synchronization per epoch, not per batch
            loss_sum += loss.detach().double() * size
            correct = _correct(out.detach(), yb, loss_fn)
            if correct is not None:
                correct_sum = correct if correct_sum is None else correct_sum + correct
    if n == 0:
        raise ValueError("the data gave no batches: an empty DataLoader or dataset?")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {"loss": float(loss_sum) / n, "accuracy": float(correct_sum) / n if correct_sum is not None else math.nan,
            "examples": n, "seconds": time.perf_counter() - start}


def evaluate(model, data, loss_fn=None, device=None, batch_size: int = 1024, threads="auto") -> dict[str, float]:
    """Loss and accuracy of ``model`` on ``data`` (a pair (X, y) or a DataLoader), in evaluation
    mode and without gradients: ``{"loss", "accuracy", "examples"}`` (loss NaN without ``loss_fn``,
    accuracy NaN for regression). The model's train/eval mode is restored afterwards.
    ``threads``: see :func:`coursekit.device.cpu_threads`."""
    torch = _torch()
    dtype, model_device = _model_dtype_and_device(model)
    device = torch.device(device) if device is not None else model_device
    was_training = model.training
    model.eval()
    loss_sum, correct_sum, n, has_acc = 0.0, 0.0, 0, False
    try:
        with torch.no_grad(), cpu_threads(threads, model, device):
            for xb, yb in _batch_source(data, batch_size, False, None, model):
                xb = _map_inputs(lambda x: x.to(device), _to_inputs(xb, "a batch of inputs", dtype))
                yb = _to_tensor(yb, "a batch of targets", dtype).to(device)
                out = _forward(model, xb)
                size = yb.shape[0]
                if loss_fn is not None:
                    loss_sum += float(_loss(loss_fn, out, yb, check=n == 0)) * size
                correct = _correct(out, yb, loss_fn)
                if correct is not None:
                    correct_sum += float(correct)
                    has_acc = True
                n += size
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("the data gave no batches: an empty DataLoader or dataset?")
    return {"loss": loss_sum / n if loss_fn is not None else math.nan,
            "accuracy": correct_sum / n if has_acc else math.nan, "examples": n}


def predict(model, X, device=None, batch_size: int = 1024, classes: bool = False, threads="auto"):
    """The model's outputs for inputs ``X`` (array or tensor; a tuple of them for a model called as
    ``model(*X)``), in evaluation mode, as a CPU tensor; ``classes=True`` returns the predicted
    class of each row instead (argmax; one output: > 0). ``threads``: see
    :func:`coursekit.device.cpu_threads`."""
    torch = _torch()
    dtype, model_device = _model_dtype_and_device(model)
    device = torch.device(device) if device is not None else model_device
    X = _to_inputs(X, "X", dtype)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad(), cpu_threads(threads, model, device):
            for start in range(0, _first(X).shape[0], batch_size):
                part = _map_inputs(lambda x: x[start:start + batch_size].to(device), X)
                outs.append(_forward(model, part).cpu())
    finally:
        model.train(was_training)
    out = torch.cat(outs) if outs else torch.zeros(0)
    if classes:
        return out.argmax(dim=1) if out.ndim == 2 and out.shape[1] > 1 else (out.reshape(-1) > 0).long()
    return out


def _make_optimizer(optimizer, model):
    torch = _torch()
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        made = optimizer(model.parameters())
        if isinstance(made, torch.optim.Optimizer):
            return made
    raise ValueError("optimizer must be a torch.optim optimizer over the model's parameters, e.g. "
                     "torch.optim.Adam(model.parameters(), lr=1e-3), or a function params -> optimizer; "
                     f"got {type(optimizer).__name__}")


def _progress_bar(epochs: int, progress):
    if not progress:
        return None
    if progress == "text":
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm  # the notebook bar in JupyterLab, a text line in a terminal
    return tqdm(total=epochs, desc="training", unit="epoch", leave=True)


def train(model, data, loss_fn, optimizer, epochs: int, batch_size: int = 32, val_data=None, seed: int = 0,
          device=None, progress=True, patience: int | None = None, restore_best: bool = True,
          shuffle: bool = True, min_delta: float = 0.0, threads="auto") -> History:
    """Train ``model`` on ``data`` for ``epochs`` passes and return its :class:`History`.

    ``data`` / ``val_data``: a pair ``(X, y)`` of tensors or NumPy arrays, or a DataLoader
    (whose own batch size and shuffling then apply); X may be a tuple of arrays or tensors,
    the inputs of a model called as ``model(*X)``. ``loss_fn``: a loss with mean reduction,
    e.g. ``torch.nn.CrossEntropyLoss()``. ``optimizer``: a ``torch.optim`` optimizer over the
    model's parameters (or a function ``params -> optimizer``). ``device``: default
    :func:`coursekit.device.get_device`; the model is moved there. ``seed``: seeds every
    generator and the shuffling. ``progress``: True (tqdm, notebook bar in Jupyter), "text",
    or False. ``patience``: stop when the validation loss (the training loss without
    validation data) has not improved by more than ``min_delta`` for that many epochs;
    with ``restore_best`` the model then gets the weights of its best epoch back.
    ``threads``: CPU threads (torch's and BLAS's) while training: "auto", the workbook's
    policy (one for models under 1 M parameters, see :func:`coursekit.device.threads_for`),
    an int, or None (the libraries' own settings).
    """
    torch = _torch()
    epochs = whole_number("epochs", epochs, 0, meaning="passes over the training data", allow_float=False)
    batch_size = whole_number("batch_size", batch_size, 1, meaning="examples per update", allow_float=False)
    seed = whole_number("seed", seed, 0, allow_float=False)
    if patience is not None:
        patience = whole_number("patience", patience, 1, meaning="epochs without improvement before stopping",
                                allow_float=False)
    min_delta = real_number("min_delta", min_delta, 0.0)
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a loss such as torch.nn.CrossEntropyLoss(), got {loss_fn!r}")
    device = torch.device(device) if device is not None else get_device()
    set_seed(seed)
    model.to(device)
    optimizer = _make_optimizer(optimizer, model)
    generator = torch.Generator().manual_seed(seed)   # the shuffling, on the CPU: the same order on any device
    if _is_pair(data):
        X, y = as_tensors(data, model, "data")
        X, y = _map_inputs(lambda x: x.to(device), X), y.to(device)
        train_source = lambda: batches(X, y, batch_size, shuffle, generator)  # noqa: E731
    else:
        train_source = lambda: _batch_source(data, batch_size, shuffle, generator, model)  # noqa: E731
    if val_data is not None and _is_pair(val_data):
        X_val, y_val = as_tensors(val_data, model, "val_data")
        val_data = (_map_inputs(lambda x: x.to(device), X_val), y_val.to(device))

    history = History(monitor="val_loss" if val_data is not None else "train_loss")
    best_loss, best_state, waited = math.inf, None, 0
    bar = _progress_bar(epochs, progress)
    threads_context = cpu_threads(threads, model, device)
    threads_context.__enter__()
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            record = train_one_epoch(model, train_source(), loss_fn, optimizer, device, threads=None)
            history.train_loss.append(record["loss"])
            history.train_acc.append(record["accuracy"])
            if val_data is not None:
                val = evaluate(model, val_data, loss_fn, device)
                history.val_loss.append(val["loss"])
                history.val_acc.append(val["accuracy"])
            history.seconds.append(time.perf_counter() - start)
            monitored = history.val_loss[-1] if val_data is not None else history.train_loss[-1]
            if monitored < best_loss - min_delta:
                best_loss, history.best_epoch, waited = monitored, epoch, 0
                if patience is not None and restore_best:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(_summary(history.last()).split(": ", 1)[1], refresh=False)
            if patience is not None and waited >= patience:
                history.stopped_early = epoch < epochs
                break
    finally:
        threads_context.__exit__(None, None, None)
        if bar is not None:
            bar.close()
    if best_state is not None and history.best_epoch != history.epochs:
        model.load_state_dict(best_state)
        history.restored_best = True
    return history


# ------------------------------------------------------------- plotting ---

def plot_history(history: History, axes=None, title: str | None = None):
    """Loss and accuracy per epoch, training and validation, with the best epoch marked.

    Draws two panels side by side (accuracy only when there is one); returns the figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(history, History):
        raise ValueError(f"history must be the History returned by train, got {type(history).__name__}")
    has_acc = any(not math.isnan(a) for a in history.train_acc)
    if axes is None:
        fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(8.0 if has_acc else 4.5, 3.0), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes)
        fig = axes[0].figure
    epochs = np.arange(1, history.epochs + 1)
    panels = [("loss", history.train_loss, history.val_loss)]
    if has_acc and len(axes) > 1:
        panels.append(("accuracy", history.train_acc, history.val_acc))
    for ax, (what, train_values, val_values) in zip(axes, panels):
        ax.plot(epochs, train_values, label=f"training {what}")
        if val_values:
            ax.plot(epochs, val_values, label=f"validation {what}")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="0.6", ls="--", lw=1, label=f"best epoch ({history.best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
