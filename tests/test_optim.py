"""coursekit.optim against torch.optim, closed forms and np.linalg.lstsq."""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

from coursekit import datasets, linear, optim

STEPS = 60
P = 5


def gradient_sequence(seed=0, steps=STEPS, size=P):
    """A fixed sequence of gradients with mixed signs and scales (some tiny, some large)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(steps, size)) * rng.choice([1e-3, 1.0, 30.0], size=(steps, size))


def run_ours(opt, theta0, grads):
    theta, out = np.array(theta0, dtype=float), []
    for g in grads:
        theta = opt.step(theta, g)
        out.append(theta)
    return np.array(out)


def run_torch(make, theta0, grads):
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt, out = make([p]), []
    for g in grads:
        opt.zero_grad()
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


THETA0 = np.array([0.5, -1.0, 2.0, 0.0, 3.0])


@pytest.mark.parametrize("ours, theirs", [
    (lambda: optim.GD(0.05), lambda ps: torch.optim.SGD(ps, lr=0.05)),
    (lambda: optim.GD(0.05, weight_decay=0.1), lambda ps: torch.optim.SGD(ps, lr=0.05, weight_decay=0.1)),
    (lambda: optim.Momentum(0.01, alpha=0.9), lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9)),
    (lambda: optim.Momentum(0.01, alpha=0.5, weight_decay=0.01),
     lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.5, weight_decay=0.01)),
    (lambda: optim.Adagrad(0.3, eps=1e-10), lambda ps: torch.optim.Adagrad(ps, lr=0.3, eps=1e-10)),
    (lambda: optim.RMSProp(0.01, rho=0.99, eps=1e-8),
     lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99, eps=1e-8)),
    (lambda: optim.RMSProp(0.02, rho=0.9, eps=1e-6),
     lambda ps: torch.optim.RMSprop(ps, lr=0.02, alpha=0.9, eps=1e-6)),
    (lambda: optim.Adam(0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    (lambda: optim.Adam(0.1, beta1=0.8, beta2=0.99, eps=1e-6),
     lambda ps: torch.optim.Adam(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-6)),
], ids=["gd", "gd-weight-decay", "momentum", "momentum-weight-decay", "adagrad", "rmsprop", "rmsprop-2",
        "adam", "adam-2"])
def test_matches_torch_on_the_same_gradients(ours, theirs):
    grads = gradient_sequence()
    np.testing.assert_allclose(run_ours(ours(), THETA0, grads), run_torch(theirs, THETA0, grads),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("name, make_torch, eta", [
    ("momentum", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9), 0.01),
    ("adam", lambda ps: torch.optim.Adam(ps, lr=0.05), 0.05),
    ("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=0.01), 0.01),
    ("adagrad", lambda ps: torch.optim.Adagrad(ps, lr=0.5, eps=1e-10), 0.5),
])
def test_matches_torch_on_a_quadratic(name, make_torch, eta):
    """Each side computes the gradient of the same quadratic at its *own* parameters (autograd on the torch side)."""
    rng = np.random.default_rng(1)
    A = rng.normal(size=(P, P))
    A = A @ A.T / P + np.eye(P)
    b = rng.normal(size=P)
    ours = optim.make_optimizer(name, eta)
    theta = THETA0.copy()
    p = torch.nn.Parameter(torch.tensor(THETA0))
    opt = make_torch([p])
    At, bt = torch.tensor(A), torch.tensor(b)
    for _ in range(STEPS):
        theta = ours.step(theta, A @ theta - b)
        opt.zero_grad()
        (0.5 * p @ At @ p - bt @ p).backward()
        opt.step()
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=0, atol=1e-6)


def test_momentum_deck003_movement_gives_the_standard_parameters():
    grads = gradient_sequence(2)
    standard = run_ours(optim.Momentum(0.02, 0.9), THETA0, grads)
    movement = run_ours(optim.Momentum(0.02, 0.9, variant="deck003"), THETA0, grads)
    np.testing.assert_allclose(movement, standard, rtol=0, atol=1e-10)


def test_momentum_step_is_deck003s_movement():
    grads = gradient_sequence(3)
    opt = optim.Momentum(0.02, 0.7, variant="deck003")
    theta, m, expected = THETA0.copy(), np.zeros(P), THETA0.copy()
    for g in grads:
        theta, m = optim.momentum_step(theta, m, g, 0.02, 0.7)
        expected = opt.step(expected, g)
        np.testing.assert_allclose(theta, expected, atol=1e-12)
        np.testing.assert_allclose(m, opt.v, atol=1e-12)


def test_momentum_deck002_follows_its_formula_not_torch():
    """Deck 002: v = αg + (1-α)v. PyTorch's SGD computes v = μv + (1-dampening)g and,
    on the first step, v = g whatever the dampening, so the two differ: we check the deck's formula."""
    grads, alpha, eta = gradient_sequence(4), 0.3, 0.05
    theta, v = THETA0.copy(), np.zeros(P)
    expected = []
    for g in grads:
        v = alpha * g + (1 - alpha) * v
        theta = theta - eta * v
        expected.append(theta)
    np.testing.assert_allclose(run_ours(optim.Momentum(eta, alpha, variant="deck002"), THETA0, grads),
                               expected, atol=1e-10)
    torch_like = run_torch(lambda ps: torch.optim.SGD(ps, lr=eta, momentum=1 - alpha, dampening=1 - alpha),
                           THETA0, grads)
    assert not np.allclose(torch_like, expected, atol=1e-6)


def test_momentum_deck000_uses_the_weight_itself():
    grads, eta, alpha, lam = gradient_sequence(5), 0.01, 0.05, 0.1
    w = THETA0.copy()
    expected = []
    for g in grads:
        w = w - eta * g + alpha * w - lam * eta * w
        expected.append(w)
    ours = run_ours(optim.Momentum(eta, alpha, variant="deck000", weight_decay=lam), THETA0, grads)
    np.testing.assert_allclose(ours, expected, atol=1e-10)
    # with a zero gradient it *grows* the weights by (1 + α - λη) each step: no memory of past updates
    zero = run_ours(optim.Momentum(eta, alpha, variant="deck000", weight_decay=lam), THETA0, np.zeros((10, P)))
    np.testing.assert_allclose(zero[-1], THETA0 * (1 + alpha - lam * eta) ** 10)


def test_adagrad_deck_variants_follow_their_formulas():
    """PyTorch's Adagrad adds ε outside the root, θ -= η g/(√G + ε) (our "standard", checked against torch
    above). Deck 002 puts ε inside: η g/√(ε + G). Deck 003 writes η_t/σ_t with η_t = η/√(t+1) and σ_t
    the RMS of past gradients: the same step up to where ε sits."""
    grads, eta, eps = gradient_sequence(6), 0.3, 1e-6
    theta2, theta3, G = THETA0.copy(), THETA0.copy(), np.zeros(P)
    exp2, exp3 = [], []
    for t, g in enumerate(grads):
        G = G + g * g
        theta2 = theta2 - eta * g / np.sqrt(eps + G)
        theta3 = theta3 - (eta / math.sqrt(t + 1)) / (np.sqrt(G / (t + 1)) + eps) * g
        exp2.append(theta2)
        exp3.append(theta3)
    np.testing.assert_allclose(run_ours(optim.Adagrad(eta, eps, "deck002"), THETA0, grads), exp2, atol=1e-10)
    deck003 = run_ours(optim.Adagrad(eta, eps, "deck003"), THETA0, grads)
    np.testing.assert_allclose(deck003, exp3, atol=1e-10)
    np.testing.assert_allclose(deck003, run_ours(optim.Adagrad(eta, eps), THETA0, grads), atol=1e-3)


def test_adagrad_printed_sigma0_steps_uphill_for_a_negative_gradient():
    """The slide's σ⁰ = g⁰: with g⁰ < 0 the first step is -η (uphill); with σ⁰ = |g⁰| it is +η."""
    g0 = np.array([-2.0, 3.0])
    printed = optim.Adagrad(0.1, variant="deck003_printed").step([0.0, 0.0], g0)
    correct = optim.Adagrad(0.1, variant="deck003").step([0.0, 0.0], g0)
    np.testing.assert_allclose(printed, [-0.1, -0.1], atol=1e-9)
    np.testing.assert_allclose(correct, [0.1, -0.1], atol=1e-9)


def test_weight_decay_standard_and_deck004():
    grads, eta, lam = gradient_sequence(7), 0.05, 0.01
    w4, ws = THETA0.copy(), THETA0.copy()
    e4, es = [], []
    for g in grads:
        w4 = 0.99 * (w4 - eta * g)              # deck 004, λ = 0.01
        ws = (1 - eta * lam) * ws - eta * g     # deck 003 and PyTorch
        e4.append(w4)
        es.append(ws)
    np.testing.assert_allclose(run_ours(optim.GD(eta, weight_decay=lam, weight_decay_variant="deck004"),
                                        THETA0, grads), e4, atol=1e-10)
    np.testing.assert_allclose(run_ours(optim.GD(eta, weight_decay=lam), THETA0, grads), es, atol=1e-10)


def test_sqrt_decay_against_its_closed_form():
    eta, T = 0.5, 80
    assert optim.sqrt_decay(eta, 0) == eta
    np.testing.assert_allclose(optim.sqrt_decay(eta, np.arange(T)), eta / np.sqrt(np.arange(1, T + 1)))
    # constant gradient 1: θ_T = θ_0 - η Σ_{t=0}^{T-1} 1/√(t+1)
    thetas = run_ours(optim.GD(eta, decay="sqrt"), [0.0], np.ones((T, 1)))
    partial_sums = np.cumsum(1 / np.sqrt(np.arange(1, T + 1)))
    np.testing.assert_allclose(thetas[:, 0], -eta * partial_sums, atol=1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        optim.sqrt_decay(eta, -1)


def test_sqrt_decay_matches_torch_sgd_with_a_lambda_lr_schedule():
    """GD(decay="sqrt") against torch.optim.SGD driven by LambdaLR(1/√(t+1)), on the same 80 gradients."""
    grads, eta = gradient_sequence(10, steps=80), 0.05
    p = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=eta)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / math.sqrt(t + 1))
    theirs, rates = [], []
    for g in grads:
        rates.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        schedule.step()
        theirs.append(p.detach().numpy().copy())
    ours = optim.GD(eta, decay="sqrt")
    np.testing.assert_allclose([ours.lr(t) for t in range(len(grads))], rates, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run_ours(ours, THETA0, grads), theirs, rtol=0, atol=1e-6)
    # and it really differs from a fixed rate (the comparison would catch a missing decay)
    assert not np.allclose(run_ours(optim.GD(eta), THETA0, grads), theirs, atol=1e-3)


def test_normalized_gd_moves_exactly_eta():
    rng = np.random.default_rng(8)
    for _ in range(20):
        theta, g = rng.normal(size=3), rng.normal(size=3) * rng.uniform(0.01, 100)
        new = optim.GD(0.25, normalized=True).step(theta, g)
        assert np.linalg.norm(new - theta) == pytest.approx(0.25)
        assert (new - theta) @ g < 0


def test_iterations_per_epoch():
    assert optim.iterations_per_epoch(2000, 500) == 4  # deck 000's example
    assert optim.iterations_per_epoch(20, 1) == 20     # deck 003: SGD on 20 examples
    for N in range(1, 40):
        for B in range(1, 45):
            assert optim.iterations_per_epoch(N, B) == math.ceil(N / B)
    for bad in [(0, 1), (10, 0), (10, 2.5), (True, 1)]:
        with pytest.raises(ValueError, match="positive integer"):
            optim.iterations_per_epoch(*bad)


@pytest.mark.parametrize("N, B", [(20, 1), (20, 4), (20, 6), (7, 7), (7, 10), (2000, 500)])
def test_batch_schedule_visits_every_example_once_per_epoch(N, B):
    per_epoch = math.ceil(N / B)
    schedule = optim.batch_schedule(N, B, seed=3)
    batches = [next(schedule) for _ in range(3 * per_epoch)]
    for e in range(3):
        chunk = batches[e * per_epoch:(e + 1) * per_epoch]
        assert {epoch for epoch, _ in chunk} == {e}
        assert sorted(np.concatenate([idx for _, idx in chunk]).tolist()) == list(range(N))
        assert all(len(idx) == min(B, N) for _, idx in chunk[:-1])
    again = optim.batch_schedule(N, B, seed=3)
    assert all(np.array_equal(idx, next(again)[1]) for _, idx in batches)
    if N > 2:
        other = optim.batch_schedule(N, B, seed=4)
        assert not all(np.array_equal(idx, next(other)[1]) for _, idx in batches)


def test_minibatch_trace_uses_the_schedule_and_mean_batch_gradients():
    problem = optim.regression_20_problem()
    trace = optim.optimize(problem, optim.GD(0.002), [0.0, 0.0], 25, batch_size=6, seed=1)
    assert len(trace) == 26
    schedule = optim.batch_schedule(20, 6, seed=1)
    theta = np.zeros(2)
    for state in trace[:-1]:
        epoch, idx = next(schedule)
        assert state.epoch == epoch and np.array_equal(state.batch, idx)
        x, y = problem.x[idx], problem.y[idx]
        g = np.array([2 * np.mean((theta[0] * x + theta[1] - y) * x), 2 * np.mean(theta[0] * x + theta[1] - y)])
        np.testing.assert_allclose(state.params, theta, atol=1e-12)
        np.testing.assert_allclose(state.grad, g, atol=1e-12)
        theta = theta - 0.002 * g
    np.testing.assert_allclose(trace[-1].params, theta, atol=1e-12)
    sgd = optim.optimize(problem, optim.GD(0.001), [0.0, 0.0], 45, batch_size=1)
    assert [s.epoch for s in sgd[:-1]] == [t // 20 for t in range(45)]


def test_least_squares_gradient_matches_autograd():
    x, y = datasets.regression_20()
    rng = np.random.default_rng(9)
    for _ in range(10):
        params = rng.normal(size=2) * 3
        pt = torch.tensor(params, requires_grad=True)
        C = torch.mean((pt[0] * torch.tensor(x) + pt[1] - torch.tensor(y)) ** 2)
        C.backward()
        np.testing.assert_allclose(optim.least_squares_gradient(params, x, y), pt.grad.numpy(), atol=1e-10)
        assert optim.LeastSquares(x, y).loss(params) == pytest.approx(C.item())
        np.testing.assert_allclose(optim.least_squares_gd_step(params, x, y, 0.01),
                                   params - 0.01 * pt.grad.numpy(), atol=1e-12)


def test_gd_converges_to_the_least_squares_solution():
    x, y = datasets.regression_20()
    A = np.column_stack([x, np.ones_like(x)])
    (w_star, b_star), *_ = np.linalg.lstsq(A, y, rcond=None)
    assert w_star == pytest.approx(float(Fraction(3311, 3325)), abs=1e-12)
    assert b_star == pytest.approx(0.02, abs=1e-12)
    np.testing.assert_allclose(optim.least_squares_solution(x, y), [w_star, b_star], atol=1e-12)
    trace = optim.optimize(optim.regression_20_problem(), optim.GD(0.03), [-1.0, 3.0], 3000)
    assert not trace[-1].diverged
    np.testing.assert_allclose(trace[-1].params, [w_star, b_star], atol=1e-6)
    losses = [s.loss for s in trace]
    assert all(b <= a + 1e-15 for a, b in zip(losses, losses[1:]))  # below 2/λ_max: the loss never rises


def test_too_large_eta_is_flagged_as_diverged_without_warnings():
    """λ_max of the Hessian of C(w, b) is about 63.2, so GD diverges for η > 2/λ_max ≈ 0.0316."""
    x, _ = datasets.regression_20()
    H = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    limit = 2 / np.linalg.eigvalsh(H).max()
    problem = optim.regression_20_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        # heavy-ball momentum with α = 0.9 is stable up to η = 2(1 + α)/λ_max
        for name, eta in [("gd", 1.2 * limit), ("momentum", 1.2 * 1.9 * limit)]:
            trace = optim.optimize(problem, optim.make_optimizer(name, eta), [0.0, 0.0], 500)
            assert trace[-1].diverged and len(trace) < 501
            assert not any(s.diverged for s in trace[:-1])
            assert np.all(np.isfinite(trace[-1].params))
        ok = optim.optimize(problem, optim.GD(0.9 * limit), [0.0, 0.0], 500)
        assert len(ok) == 501 and not any(s.diverged for s in ok)
        huge = optim.optimize(problem, optim.GD(1e6), [0.0, 0.0], 50)
        assert huge[-1].diverged


def stability_limit():
    x, _ = datasets.regression_20()
    H = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return 2 / np.linalg.eigvalsh(H).max()


def test_a_run_just_above_the_stability_limit_is_flagged_as_diverged():
    """At η = 0.032 (limit 2/λ_max ≈ 0.03163) the loss grows only ×(1 - ηλ_max)² ≈ 1.045 per step: it never
    reaches 1e10 in 150 steps, so only the relative bound (100 × the run's starting scale) catches it."""
    problem, start = optim.regression_20_problem(), [-0.5, -5.0]
    limit = stability_limit()
    assert limit == pytest.approx(0.031634, abs=1e-6) and 0.0316 < limit < 0.032
    loss0 = problem.loss(start)
    bound = optim.divergence_limit(problem, loss0)
    assert bound == pytest.approx(optim.DIVERGED_GROWTH * max(loss0, problem.loss_scale))
    assert problem.loss_scale == pytest.approx(np.mean(datasets.regression_20()[1] ** 2))  # C(0, 0)

    trace = optim.optimize(problem, optim.GD(0.032), start, 150)
    assert trace[-1].diverged and 50 < trace[-1].step < 150
    assert trace[-1].loss > bound >= max(s.loss for s in trace[:-1])
    assert not any(s.diverged for s in trace[:-1])
    # the absolute bound alone misses it: 151 states, the loss far above its start but below 1e10
    absolute_only = optim.optimize(problem, optim.GD(0.032), start, 150, max_growth=None)
    assert len(absolute_only) == 151 and not absolute_only[-1].diverged
    assert 1e3 * loss0 > absolute_only[-1].loss > 100 * loss0
    # converging runs are not flagged: just below the limit, the widget's default, and the other optimizers
    for opt in (optim.GD(0.0316), optim.GD(0.031), optim.GD(0.01), optim.Momentum(0.005, 0.9),
                optim.Adagrad(1.0), optim.RMSProp(0.05), optim.Adam(0.1)):
        for p0 in (start, [1.0, 0.0], optim.least_squares_solution(problem.x, problem.y) + 0.01):
            run = optim.optimize(problem, opt, p0, 150)
            assert len(run) == 151 and not any(s.diverged for s in run), (opt, p0)
    below = optim.optimize(problem, optim.GD(0.0316), start, 3000)
    assert not below[-1].diverged and below[-1].loss < 0.022  # creeping down to C(w*, b*) ≈ 0.02085


def test_a_run_that_leaves_the_view_and_comes_back_is_not_diverged():
    """RMSProp's first step is about 10η long: at η = 1 it jumps far beyond 100× the loss scale, but then
    comes back. Only a loss that is above the bound *and still rising* counts as diverged."""
    problem = optim.regression_20_problem()
    start = optim.least_squares_solution(problem.x, problem.y)  # w*, b*: any move is uphill
    run = optim.optimize(problem, optim.RMSProp(1.0), start, 150)
    limit = optim.divergence_limit(problem, run[0].loss)
    assert max(s.loss for s in run) > limit                     # it does leave the view ...
    assert len(run) == 151 and not run[-1].diverged             # ... and is not stopped
    long_run = optim.optimize(problem, optim.RMSProp(1.0), start, 2000, max_growth=None)
    assert long_run[-1].loss < limit                            # it stays bounded: not running away


def test_divergence_bounds_are_validated_and_can_be_loosened():
    problem = optim.regression_20_problem()
    for bad in (1, 0.5, -3, "big", True):
        with pytest.raises(ValueError, match="max_growth"):
            optim.optimize(problem, optim.GD(0.01), [0.0, 0.0], 5, max_growth=bad)
    assert optim.divergence_limit(problem, 1.0, max_growth=None) == optim.DIVERGED_LOSS
    assert optim.divergence_limit(problem, 1e12) == optim.DIVERGED_LOSS   # the absolute guard still applies
    looser = optim.optimize(problem, optim.GD(0.032), [-0.5, -5.0], 150, max_growth=1e4)
    assert len(looser) == 151 and not looser[-1].diverged
    # a plain function has a positive scale too: a start at f(θ) = 0 is not "diverged" at once
    well = optim.double_well()
    assert well.loss([0.0]) == 0.0 and optim.divergence_limit(well, 0.0) == optim.DIVERGED_GROWTH * well.loss_scale
    assert not optim.optimize(well, optim.Momentum(0.01, 0.9), [0.0], 150)[-1].diverged
    assert optim.optimize(well, optim.GD(0.2), [2.0], 150)[-1].diverged


def test_logistic_problem_uses_the_linear_reference():
    X, y = datasets.heart_attack(n=60, seed=2)
    Xb = np.column_stack([np.ones(len(X)), X])
    problem = optim.LogisticProblem(Xb, y)
    trace = optim.optimize(problem, optim.GD(0.5), np.zeros(3), 40)
    w_ref, history = linear.train_logistic(Xb, y, eta=0.5, steps=40)
    np.testing.assert_allclose(trace[-1].params, w_ref, atol=1e-12)
    np.testing.assert_allclose([s.loss for s in trace], history, atol=1e-12)


def test_taylor_sin_within_the_remainder_bound():
    x0 = math.pi / 4
    xs = np.linspace(x0 - 2, x0 + 2, 41)
    for order in range(0, 11):
        err = np.abs(optim.taylor_sin(xs, order) - np.sin(xs))
        bound = np.abs(xs - x0) ** (order + 1) / math.factorial(order + 1)
        assert np.all(err <= bound + 1e-12)
    assert optim.taylor_sin(x0, 0) == pytest.approx(1 / math.sqrt(2))
    # first order: the tangent line 1/√2 + (x - π/4)/√2
    np.testing.assert_allclose(optim.taylor_sin(xs, 1), (1 + xs - x0) / math.sqrt(2), atol=1e-12)


def test_taylor_sin_coefficients_against_the_closed_form_autograd_and_the_deck():
    """c_k = sin⁽ᵏ⁾(a)/k!, checked against the closed form sin⁽ᵏ⁾(a) = sin(a + kπ/2), against derivatives
    taken by torch.autograd (repeated differentiation), and against deck 003's printed series."""
    for a in (math.pi / 4, 0.0, 1.3, -2.0):
        c = optim.taylor_sin_coefficients(10, a)
        closed = [math.sin(a + k * math.pi / 2) / math.factorial(k) for k in range(11)]
        np.testing.assert_allclose(c, closed, rtol=0, atol=1e-15)
        x = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        value, by_autograd = torch.sin(x), []
        for k in range(8):
            by_autograd.append(value.item() / math.factorial(k))
            (value,) = torch.autograd.grad(value, x, create_graph=True)
        np.testing.assert_allclose(c[:8], by_autograd, rtol=0, atol=1e-14)
        # the polynomial evaluates the same coefficients
        xs = np.linspace(a - 1, a + 1, 7)
        np.testing.assert_allclose(optim.taylor_sin(xs, 10, a), np.polyval(c[::-1], xs - a), atol=1e-12)
    # deck 003: sin x = 1/√2 + (x-π/4)/√2 - (x-π/4)²/(2√2) - (x-π/4)³/(6√2) + (x-π/4)⁴/(24√2) + ...
    signs = [1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1]
    printed = [s / (math.factorial(k) * math.sqrt(2)) for k, s in enumerate(signs)]
    np.testing.assert_allclose(optim.taylor_sin_coefficients(10), printed, rtol=1e-15, atol=0)
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(ValueError, match="order"):
            optim.taylor_sin_coefficients(bad)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="eta"):
        optim.GD(-1)
    with pytest.raises(ValueError, match="eta"):
        optim.Adam("fast")
    with pytest.raises(ValueError, match="variant"):
        optim.Momentum(0.1, variant="nesterov")
    with pytest.raises(ValueError, match="shape"):
        optim.GD(0.1).step(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        optim.optimize(optim.regression_20_problem(), optim.GD(0.1), [0.0, 0.0, 0.0], 5)
    with pytest.raises(ValueError, match="batch_size=None"):
        optim.optimize(optim.double_well(), optim.GD(0.1), [0.0], 5, batch_size=1)
    with pytest.raises(ValueError, match="name"):
        optim.make_optimizer("lbfgs", 0.1)
    with pytest.raises(ValueError, match="alpha"):
        optim.Momentum(0.1, alpha=1.5)


def test_double_well_derivative_matches_autograd():
    f = optim.double_well()
    for theta in np.linspace(-2.5, 2.5, 41):
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        value = t ** 4 - 2 * t ** 2 + t / 2
        value.backward()
        assert f.loss([theta]) == pytest.approx(value.item(), rel=1e-14, abs=1e-14)
        np.testing.assert_allclose(f.grad([theta]), [t.grad.item()], rtol=1e-13, atol=1e-13)


def test_double_well_minima():
    f = optim.double_well()
    left = optim.optimize(f, optim.GD(0.02), [-2.0], 400)[-1].params[0]
    right = optim.optimize(f, optim.GD(0.02), [2.0], 400)[-1].params[0]
    roots = np.roots([4, 0, -4, 0.5])
    minima = sorted(r.real for r in roots if abs(r.imag) < 1e-12 and 12 * r.real ** 2 - 4 > 0)
    assert left == pytest.approx(minima[0], abs=1e-6) and right == pytest.approx(minima[1], abs=1e-6)
    assert f.loss([left]) < f.loss([right])
