"""coursekit.regularization against PyTorch (dropout, batch norm, weight decay, label smoothing) and closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coursekit import datasets, linear, optim, regularization as R

rng = np.random.default_rng(0)


# -------------------------------------------------------------- dropout ---

def torch_dropout_mask(shape, p, seed=0):
    """The mask torch's inverted dropout used: where its output is nonzero (input all ones)."""
    torch.manual_seed(seed)
    out = torch.nn.functional.dropout(torch.ones(shape, dtype=torch.float64), p, training=True)
    return (out != 0).double().numpy(), out.numpy()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_inverted_dropout_matches_torch_in_both_modes(p):
    h = rng.normal(size=(30, 40))
    mask, scaled_ones = torch_dropout_mask(h.shape, p)
    assert np.allclose(scaled_ones[mask == 1], 1 / (1 - p))     # torch scales the kept units by 1/(1-p) too
    torch.manual_seed(0)
    theirs = torch.nn.functional.dropout(torch.tensor(h), p, training=True).numpy()
    np.testing.assert_allclose(R.dropout_forward(h, p, True, "inverted", mask=mask), theirs, atol=1e-12)
    theirs_eval = torch.nn.functional.dropout(torch.tensor(h), p, training=False).numpy()
    np.testing.assert_allclose(R.dropout_forward(h, p, False, "inverted"), theirs_eval)


def test_dropout_backward_matches_autograd():
    h = rng.normal(size=(5, 7))
    mask = R.dropout_mask(h.shape, 0.3, rng=1)
    dout = rng.normal(size=h.shape)
    ht = torch.tensor(h, requires_grad=True)
    (ht * torch.tensor(mask) / 0.7 * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(R.dropout_backward(dout, 0.3, mask), ht.grad.numpy())


def test_inverted_and_scale_at_test_are_equal_in_expectation():
    p, n = 0.4, 20000
    h = np.tile([1.0, -2.0, 3.0], (n, 1))   # the same activations, n independent masks
    g = np.random.default_rng(3)
    inverted = R.dropout_forward(h, p, True, "inverted", rng=g).mean(axis=0)
    unscaled = R.dropout_forward(h, p, True, "scale_at_test", rng=g).mean(axis=0)
    # standard error of each mean: |h| √(p(1-p)/n)/(1-p) ≤ 3·0.0035/0.6: 5 standard errors below 0.09
    np.testing.assert_allclose(inverted, R.dropout_forward(h[:1], p, False, "inverted")[0], atol=0.09)
    np.testing.assert_allclose(unscaled, R.dropout_forward(h[:1], p, False, "scale_at_test")[0], atol=0.06)
    # deck 002's version: training averages μ·h with μ = 1 - p, testing gives h
    deck = R.dropout_forward(h, p, True, "deck002", rng=g).mean(axis=0)
    np.testing.assert_allclose(deck, (1 - p) * h[0], atol=0.06)
    assert not np.allclose(R.dropout_forward(h[:1], p, False, "deck002")[0], (1 - p) * h[0], atol=0.5)


def test_dropout_through_a_sigmoid_worked_example():
    mean_z, mean_a = R.dropout_mean_exact([1.0, 1.0], [2.0, 3.0], 0.5, "sigmoid")
    assert mean_z == pytest.approx(0.5 * 5)
    expected = np.mean(linear.theta(np.array([0.0, 2.0, 3.0, 5.0])))   # the four masks, each with probability 1/4
    assert mean_a == pytest.approx(expected) and round(mean_a, 3) == 0.832
    assert round(float(linear.theta(2.5)), 3) == 0.924
    z_inv, _ = R.dropout_mean_exact([1.0, 1.0], [2.0, 3.0], 0.5, "sigmoid", inverted=True)
    assert z_inv == pytest.approx(5.0)


def test_dropout_layer_draws_a_new_mask_each_pass_and_passes_through_in_eval():
    layer = R.Dropout(0.5, seed=0)
    x = np.ones((4, 50))
    (a, ca), (b, _) = layer.forward(x), layer.forward(x)
    assert not np.array_equal(a, b) and set(np.unique(a)) <= {0.0, 2.0}
    dx, grads = layer.backward(np.ones_like(x), ca)
    assert grads == {} and np.array_equal(dx, a)
    layer.training = False
    out, cache = layer.forward(x)
    assert np.array_equal(out, x) and np.array_equal(layer.backward(x, cache)[0], x)


def test_dropout_arguments():
    with pytest.raises(ValueError, match="p must be a number in"):
        R.dropout_forward(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        R.dropout_forward(np.ones(3), 0.5, mode="keras")
    with pytest.raises(ValueError, match="mask must have the shape of h"):
        R.dropout_forward(np.ones((2, 3)), 0.5, mask=np.ones(3))


# ----------------------------------------------------------- batch norm ---

def test_batchnorm_matches_torch_in_training_and_evaluation():
    D = 6
    bn = torch.nn.BatchNorm1d(D, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(rng.normal(size=D)))
        bn.bias.copy_(torch.tensor(rng.normal(size=D)))
    gamma, beta = bn.weight.detach().numpy().copy(), bn.bias.detach().numpy().copy()
    mean, var = np.zeros(D), np.ones(D)
    for step in range(5):   # five training batches move the running averages
        z = rng.normal(size=(8, D)) * 3 + 2
        zt = torch.tensor(z, requires_grad=True)
        bn.train()
        out_t = bn(zt)
        dout = rng.normal(size=z.shape)
        out_t.backward(torch.tensor(dout))
        out, cache, mean, var = R.batchnorm_forward(z, gamma, beta, mean, var, training=True)
        np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-10)
        dz, grads = R.batchnorm_backward(dout, cache)
        np.testing.assert_allclose(dz, zt.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(grads["gamma"], bn.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(grads["beta"], bn.bias.grad.numpy(), atol=1e-10)
        bn.zero_grad()
        np.testing.assert_allclose(mean, bn.running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(var, bn.running_var.numpy(), atol=1e-12)
    bn.eval()
    z = rng.normal(size=(3, D))
    zt = torch.tensor(z, requires_grad=True)
    out_t = bn(zt)
    out_t.sum().backward()
    out, cache, mean2, _ = R.batchnorm_forward(z, gamma, beta, mean, var, training=False)
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(R.batchnorm_backward(np.ones_like(z), cache)[0], zt.grad.numpy(), atol=1e-10)
    assert np.array_equal(mean2, mean)   # evaluation leaves the running averages alone


def test_training_statistics_differ_from_running_averages():
    z = np.array([[100.0], [102.0]])   # far from the running mean 0
    train, *_ = R.batchnorm_forward(z, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1), training=True)
    test, *_ = R.batchnorm_forward(z, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1), training=False)
    np.testing.assert_allclose(train.ravel(), [-1, 1], atol=1e-4)
    np.testing.assert_allclose(test.ravel(), z.ravel() / math.sqrt(1 + 1e-5))


def test_running_average_is_deck002s_rule():
    theta = 0.9   # deck 002: μ̃ ← θμ̃ + (1-θ)μ_B
    assert R.running_average(5.0, 1.0, momentum=1 - theta) == pytest.approx(theta * 5 + (1 - theta) * 1)


def test_batchnorm_layer_and_errors():
    layer = R.BatchNorm(3)
    out, cache = layer.forward(rng.normal(size=(4, 3)))
    assert set(layer.params) == {"gamma", "beta"}
    dx, grads = layer.backward(np.ones((4, 3)), cache)
    np.testing.assert_allclose(dx, 0, atol=1e-10)   # a shift of every output by the same amount is normalized away
    assert set(grads) == {"gamma", "beta"}
    with pytest.raises(ValueError, match="at least 2 examples"):
        layer.forward(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"gamma must have shape \(D,\) = \(3,\)"):
        R.batchnorm_forward(np.ones((2, 3)), np.ones(2), np.zeros(3), np.zeros(3), np.ones(3))


# --------------------------------------------------------- weight decay ---

def test_weight_decay_step_matches_torch_sgd_and_optim():
    w0, grads = rng.normal(size=5), rng.normal(size=(10, 5))
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.SGD([p], lr=0.1, weight_decay=0.05)
    ours, gd, w_gd = w0.copy(), optim.GD(0.1, weight_decay=0.05), w0.copy()
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        ours = R.weight_decay_step(ours, g, 0.1, 0.05)
        w_gd = gd.step(w_gd, g)
    np.testing.assert_allclose(ours, p.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours, w_gd, atol=1e-12)


def test_deck004_rule_and_the_second_reading_numbers():
    w = np.array([1.0])
    standard, deck = w.copy(), w.copy()
    for _ in range(100):
        standard = R.weight_decay_step(standard, np.zeros(1), 0.1, 0.01)
        deck = R.deck004_weight_decay_step(deck, np.zeros(1), 0.1)
    assert round(float(deck[0]), 3) == 0.366 and deck[0] == pytest.approx(0.99 ** 100)
    assert round(float(standard[0]), 3) == 0.905 and standard[0] == pytest.approx(0.999 ** 100)
    np.testing.assert_allclose(R.deck004_weight_decay_step(w, np.array([2.0]), 0.1),
                               optim.GD(0.1, weight_decay=0.01, weight_decay_variant="deck004").step(w, [2.0]))


def test_l2_penalty_forms_and_their_gradients_against_autograd():
    Ws = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]
    for form, c in (("deck003", 0.5), ("deck002", 1.0)):
        value, grads = R.l2_penalty(Ws, 0.3, form)
        ts = [torch.tensor(W, requires_grad=True) for W in Ws]
        omega = c * 0.3 * sum((t ** 2).sum() for t in ts)
        omega.backward()
        assert value == pytest.approx(float(omega.detach()))
        for g, t in zip(grads, ts):
            np.testing.assert_allclose(g, t.grad.numpy())
    # deck 002 prints the gradient as 2W: it is 2λW
    _, (g,) = R.l2_penalty([np.ones((2, 2))], 0.3, "deck002")
    assert np.allclose(g, 0.6) and not np.allclose(g, 2.0)


# -------------------------------------------------------- early stopping ---

@pytest.mark.parametrize("losses, patience, expected", [
    ([1.0, 0.8, 0.7, 0.72, 0.75, 0.9], 2, (2, 4)),
    ([1.0, 0.9, 0.8, 0.7], 3, (3, 3)),
    ([0.5, 0.5, 0.5, 0.5], 2, (0, 2)),
    ([1.0, 0.6, 0.65, 0.55, 0.7, 0.71, 0.72], 2, (3, 5)),
    ([0.3], 1, (0, 0)),
])
def test_early_stopping(losses, patience, expected):
    assert R.early_stopping(losses, patience) == expected


# ---------------------------------------- label smoothing, mixup, CutMix ---

@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.3])
def test_label_smoothing_matches_torch_cross_entropy(alpha):
    logits, y = rng.normal(size=(7, 5)) * 3, rng.integers(0, 5, size=7)
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(y), label_smoothing=alpha)
    assert R.smoothed_cross_entropy(logits, y, alpha) == pytest.approx(float(theirs), rel=1e-10)
    targets = R.smooth_labels(y, 5, alpha)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0)
    assert targets.max() == pytest.approx(1 - alpha + alpha / 5)


def test_smoothed_cross_entropy_is_exact_for_huge_logits():
    assert math.isfinite(R.smoothed_cross_entropy(np.array([[1000.0, -1000.0]]), [0], 0.1))


def test_mixup_mixes_inputs_and_labels_alike():
    x1, x2 = np.ones(4), np.zeros(4)
    x, y = R.mixup(x1, R.one_hot([1], 3)[0], x2, R.one_hot([2], 3)[0], 0.7)
    np.testing.assert_allclose(x, 0.7)
    np.testing.assert_allclose(y, [0, 0.7, 0.3])
    X, Y = rng.normal(size=(50, 3)), R.one_hot(rng.integers(0, 4, 50), 4)
    Xm, Ym, lam = R.mixup_batch(X, Y, alpha=0.4, rng=1)
    assert lam.shape == (50,) and np.all((0 <= lam) & (lam <= 1))
    np.testing.assert_allclose(Ym.sum(axis=1), 1.0)
    # every mixed row lies on the segment between its own row and its partner's
    assert np.all(Ym.max(axis=1) >= 0.5 - 1e-12)


def test_cutmix_box_covers_the_share_one_minus_lambda():
    g = np.random.default_rng(0)
    areas = []
    for _ in range(2000):
        top, left, h, w = R.cutmix_box(64, 64, 0.75, g)
        assert 0 <= top and top + h <= 64 and 0 <= left and left + w <= 64
        areas.append(h * w / 64 ** 2)
    assert max(areas) == pytest.approx(0.25, abs=0.02)   # uncut boxes: W√(1-λ) × H√(1-λ) = (1-λ)·WH
    assert np.mean(areas) < 0.25                           # boxes near an edge are cut


def test_cutmix_label_weight_is_the_share_left():
    x1, x2 = np.ones((8, 8)), np.zeros((8, 8))
    x, y, lam = R.cutmix(x1, np.array([1.0, 0.0]), x2, np.array([0.0, 1.0]), 0.6, rng=2)
    assert x.mean() == pytest.approx(lam)                  # ones are where x1 was kept
    np.testing.assert_allclose(y, [lam, 1 - lam])


def test_cutmix_batch_agrees_with_one_image_cutmix():
    g = np.random.default_rng(4)
    images, Y = g.random((200, 8, 8)), R.one_hot(g.integers(0, 10, 200), 10)
    X, T, lam = R.cutmix_batch(images, Y, alpha=1.0, rng=5)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    for n in range(200):
        kept = np.isclose(X[n], images[n])            # pixels of its own image (the rest come from a partner)
        assert kept.mean() >= lam[n] - 1e-12          # a partner's pixel may equal its own only by chance
    # the box areas follow the single-image rule: share 1 - λ, cut at the edges
    assert 0.3 < 1 - lam.mean() < 0.5                 # E[1 - λ] = 1/2 for Beta(1, 1), less after cutting


# ------------------------------------------------------ data augmentation ---

def test_shift_and_rotate_digits():
    X, _, y, _ = datasets.load_digits(flatten=False)
    img = X[0]
    right = R.shift_images(img, 0, 1)
    np.testing.assert_allclose(right[:, 1:], img[:, :-1])
    assert np.all(right[:, 0] == 0)
    np.testing.assert_allclose(R.shift_images(R.shift_images(img, -2, 3), 2, -3)[2:, :5], img[2:, :5])
    np.testing.assert_allclose(R.rotate_images(img, 0.0), img, atol=1e-12)
    np.testing.assert_allclose(R.rotate_images(img, 90.0), np.rot90(img), atol=1e-9)
    images, labels = R.augment_digits(X[:10], y[:10], copies=2, seed=0)
    assert images.shape == (30, 8, 8) and np.array_equal(labels[10:20], y[:10])
    assert np.array_equal(images[:10], X[:10]) and not np.allclose(images[10:20], X[:10])


def test_noise_is_seeded():
    X = np.zeros((3, 4))
    assert np.array_equal(R.add_noise(X, 0.5, seed=1), R.add_noise(X, 0.5, seed=1))
    assert R.add_noise(np.zeros((200, 200)), 0.5).std() == pytest.approx(0.5, rel=0.02)


# ------------------------------------------- in coursekit.nn's Sequential ---

def test_batchnorm_and_dropout_stack_in_coursekit_nn_sequential():
    from coursekit import nn

    g = np.random.default_rng(5)
    drop = R.Dropout(0.5, seed=1)
    model = nn.Sequential([nn.Linear(5, 4, init="he"), R.BatchNorm(4), nn.ReLU(), drop, nn.Linear(4, 3, init="he")])
    X, y = g.normal(size=(8, 5)), g.integers(0, 3, size=8)
    drop.training = False   # a gradient check needs the same network at every evaluation: no fresh masks
    checks = nn.check_model(model, X, y)
    assert {"1.gamma", "1.beta", "0.W", "4.W"} <= set(checks)
    assert max(c.error for c in checks.values()) < 1e-6
    drop.training = True
    out, caches = model.forward(X)
    dx, grads = model.backward(np.ones_like(out), caches)
    assert dx.shape == X.shape and set(grads) == set(model.parameters())
