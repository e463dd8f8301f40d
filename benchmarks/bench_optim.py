"""Each NumPy optimizer's time per step against the same update in torch.optim,
on a vector of 10^6 parameters (float64 in both, as the course's NumPy code
computes; torch on the CPU, updating in place)."""
from __future__ import annotations

import numpy as np
import torch

from coursekit import optim

from . import Row, latency_ms

N_PARAMS = 1_000_000

# (label, our optimizer, torch optimizer factory), with the same hyperparameters
PAIRS = [
    ("GD", lambda: optim.GD(eta=0.01), lambda p: torch.optim.SGD([p], lr=0.01)),
    ("momentum", lambda: optim.Momentum(eta=0.01, alpha=0.9), lambda p: torch.optim.SGD([p], lr=0.01, momentum=0.9)),
    ("Adagrad", lambda: optim.Adagrad(eta=0.1), lambda p: torch.optim.Adagrad([p], lr=0.1)),
    ("RMSProp", lambda: optim.RMSProp(eta=0.01, rho=0.99, eps=1e-8),
     lambda p: torch.optim.RMSprop([p], lr=0.01, alpha=0.99, eps=1e-8)),
    ("Adam", lambda: optim.Adam(eta=0.001), lambda p: torch.optim.Adam([p], lr=0.001)),
]


def run() -> list[Row]:
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=N_PARAMS)
    grad = rng.normal(size=N_PARAMS)
    rows = []
    for label, ours_factory, torch_factory in PAIRS:
        ours, theta = ours_factory(), theta0.copy()

        def ours_step():
            nonlocal theta
            theta = ours.step(theta, grad)

        p = torch.nn.Parameter(torch.from_numpy(theta0.copy()))
        p.grad = torch.from_numpy(grad)
        opt = torch_factory(p)
        ours_ms, _ = latency_ms(ours_step, n=30)
        torch_ms, _ = latency_ms(opt.step, n=30)
        ratio = ours_ms / torch_ms
        rows.append(Row("optimizers (1e6 params)", f"{label}: NumPy step / torch.optim step", ratio, "x",
                        note=f"{ours_ms:.2f} ms vs {torch_ms:.2f} ms"))
    return rows
