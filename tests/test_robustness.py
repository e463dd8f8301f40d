"""coursekit.robustness: attacks against direct torch.autograd computations, PGD in its
ball, accuracy under attack on the shipped digits CNN, adversarial training on a toy
problem where its effect is known, saliency in closed form, transfer helpers, the
deck's tables."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from coursekit import conv
from coursekit import robustness as R


def _small_model(seed=0, classes=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 5 * 5, classes))


def _batch(seed=0, n=6, classes=3):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 5, 5, generator=g), torch.randint(0, classes, (n,), generator=g)


@pytest.fixture(scope="module")
def digits():
    """The shipped digits CNN and 150 test images (seed-0 split)."""
    _, (X, y) = conv.digits_split()
    return conv.load_digits_cnn(device="cpu"), X[:150], y[:150]


# ----------------------------------------------------------------- FGSM ---


def test_fgsm_is_one_signed_gradient_step_computed_directly():
    model, (x, y) = _small_model(), _batch()
    eps, target = 0.1, (y + 1) % 3
    xr, xt = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    F.cross_entropy(model(xr), y).backward()
    F.cross_entropy(model(xt), target).backward()
    model.zero_grad(set_to_none=True)
    assert torch.equal(R.fgsm(model, x, y, eps), (x + eps * xr.grad.sign()).clamp(0, 1))
    # targeted: down the loss of the target labels
    assert torch.equal(R.fgsm(model, x, target, eps, targeted=True), (x - eps * xt.grad.sign()).clamp(0, 1))
    # without clipping every pixel moves by exactly ε (where the gradient is not 0)
    moved = (R.fgsm(model, x, y, eps, clip=None) - x).abs()
    assert torch.allclose(moved[xr.grad != 0], torch.tensor(eps))
    assert all(p.grad is None for p in model.parameters())   # the weights' gradients are untouched


def test_pgd_with_one_full_step_and_no_random_start_is_fgsm():
    model, (x, y) = _small_model(1), _batch(1)
    assert torch.allclose(R.pgd(model, x, y, 0.2, steps=1, step_size=0.2, random_start=False),
                          R.fgsm(model, x, y, 0.2))


@pytest.mark.parametrize("p, eps", [("inf", 0.1), (2, 0.5)])
def test_pgd_stays_in_the_ball_and_the_pixel_range(p, eps):
    model, (x, y) = _small_model(2), _batch(2, n=8)
    x_adv, losses = R.pgd(model, x, y, eps, steps=15, p=p, return_losses=True, seed=3)
    assert torch.all(R.norm(x_adv - x, p) <= eps + 1e-6)
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert losses[-1] > F.cross_entropy(model(x), y).item()      # it climbed the loss
    # targeted PGD lowers the target's loss
    target = (y + 1) % 3
    x_t = R.pgd(model, x, target, eps, steps=15, p=p, targeted=True)
    assert F.cross_entropy(model(x_t), target) < F.cross_entropy(model(x), target)
    assert torch.equal(R.pgd(model, x, y, eps, p=p, seed=4), R.pgd(model, x, y, eps, p=p, seed=4))


def test_projection_onto_the_balls():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 1, 4, 4, generator=g) * 0.5 + 0.25
    far = x + torch.randn(5, 1, 4, 4, generator=g)
    linf = R.project(far, x, 0.1, "inf", clip=None)
    assert torch.allclose(linf, x + (far - x).clamp(-0.1, 0.1))
    l2 = R.project(far, x, 0.3, 2, clip=None)
    delta = far - x
    expected = x + delta * (0.3 / delta.flatten(1).norm(dim=1)).clamp(max=1).reshape(-1, 1, 1, 1)
    assert torch.allclose(l2, expected)
    near = x + 0.01 * torch.ones_like(x)
    assert torch.allclose(R.project(near, x, 0.3, 2), near)          # inside the ball: unchanged
    with pytest.raises(ValueError, match="L2 and L∞"):
        R.project(far, x, 0.1, 1)
    with pytest.raises(ValueError, match="norm must be 1, 2 or 'inf'"):
        R.norm(delta, 3)


@pytest.mark.parametrize("p", [1, 2, "inf"])
def test_ball_boundaries_have_norm_eps(p):
    points = R.ball_boundary(p, eps=0.7, n=200)
    order = np.inf if p == "inf" else p
    np.testing.assert_allclose(np.linalg.norm(points, ord=order, axis=1), 0.7)
    assert points.shape == (200, 2)


def test_random_noise_is_a_corner_of_the_ball():
    x = torch.full((3, 1, 4, 4), 0.5)
    noisy = R.random_sign_noise(x, 0.2, seed=1)
    assert torch.allclose((noisy - x).abs(), torch.tensor(0.2)) and 0 < (noisy > x).float().mean() < 1


# ------------------------------------------- accuracy under attack ---


def test_accuracy_under_attack_never_rises_and_pgd_is_at_most_fgsm(digits):
    model, X, y = digits
    eps = [0.0, 0.05, 0.1, 0.2, 0.3]
    fgsm = R.accuracy_under_attack(model, X, y, R.fgsm, eps)
    pgd = R.accuracy_under_attack(model, X, y, R.pgd, eps, steps=10)
    noise = R.accuracy_under_attack(model, X, y, lambda m, x, t, e: R.random_sign_noise(x, e), eps)
    assert fgsm[0] == pgd[0] >= 0.98
    assert all(a >= b for a, b in zip(fgsm, fgsm[1:])) and all(a >= b for a, b in zip(pgd, pgd[1:]))
    assert all(p <= f for p, f in zip(pgd, fgsm))
    assert fgsm[-1] < 0.2 and pgd[-1] < 0.05 and noise[2] > 0.9   # random noise of the same size barely hurts


def test_the_shipped_robust_model_is_robust_where_the_standard_one_is_not(digits):
    """Adversarial training at ε = 0.2 (the shipped weights): PGD at the trained ε leaves the standard
    model almost nothing and the robust one most of its accuracy, for a little clean accuracy."""
    standard, X, y = digits
    robust = R.load_robust_digits_cnn(device="cpu")
    eps = R.ROBUST_EPS
    clean = [R.accuracy(m, X, y) for m in (standard, robust)]
    attacked = [R.accuracy(m, R.pgd(m, X, y, eps, steps=10), y) for m in (standard, robust)]
    assert attacked[0] < 0.1 and attacked[1] > 0.5 and clean[1] > 0.95 and clean[0] >= clean[1] - 0.05


def test_adversarial_training_raises_robust_accuracy_on_a_toy_problem():
    """Tsipras et al.'s toy: feature 0 equals the label ±1 with probability 0.9 (robust), 30 weak features
    are 0.25·y plus noise (useful together, but ε = 0.5 turns each into -0.25·y). A standard linear
    classifier leans on the weak features; adversarial training at ε = 0.5 moves its weight onto the
    robust one and keeps its accuracy under attack."""
    from coursekit.train import evaluate, train

    g = torch.Generator().manual_seed(0)
    n, d = 600, 30
    y = torch.randint(0, 2, (n,), generator=g)
    sign = (2 * y - 1).float()
    robust = sign * (torch.rand(n, generator=g) < 0.9).float() * 2 - sign * 1   # y with prob 0.9, else -y
    weak = 0.25 * sign[:, None] + 0.5 * torch.randn(n, d, generator=g)
    X = torch.cat([robust[:, None], weak], dim=1)
    eps = 0.5

    def trained(adversarial: bool):
        torch.manual_seed(0)
        model = nn.Linear(d + 1, 2)
        data = R.AdversarialBatches(model, X, y, eps, batch_size=100, attack=R.fgsm, clip=None) if adversarial \
            else (X, y)
        train(model, data, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.05), epochs=30,
              batch_size=100, device="cpu", progress=False)
        return model, data

    standard, _ = trained(False)
    robust_model, batches = trained(True)
    assert batches.epochs_served == 30 and len(batches) == 6
    attacked = lambda m: R.accuracy(m, R.fgsm(m, X, y, eps, clip=None), y)   # FGSM is exact for a linear model
    assert evaluate(standard, (X, y))["accuracy"] > 0.95 and attacked(standard) < 0.5
    assert attacked(robust_model) > 0.85
    def lean(m):   # |weight on the robust feature| / Σ |weights on the weak ones|, for the class difference
        w = (m.weight[1] - m.weight[0]).detach().abs()
        return float(w[0] / w[1:].sum())

    assert lean(robust_model) > 5 * lean(standard)   # its weight moved onto the robust feature


def test_adversarial_batches_mix_clean_and_attacked_examples():
    model, (x, y) = _small_model(3), _batch(3, n=10)
    mixed = list(R.AdversarialBatches(model, x, y, 0.1, batch_size=4, clean_share=0.5, steps=3))
    assert [len(b[0]) for b in mixed] == [8, 8, 4]
    xb, yb = mixed[0]
    assert torch.equal(yb[:4], yb[4:]) and torch.all(R.norm(xb[4:] - xb[:4]) <= 0.1 + 1e-6)
    with pytest.raises(ValueError, match="clean_share must be 0"):
        R.AdversarialBatches(model, x, y, 0.1, clean_share=0.3)


# ------------------------------------------------------ looking inside ---


def test_saliency_of_a_linear_model_is_its_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    x = torch.rand(4, 1, 4, 4)
    target = torch.tensor([0, 1, 2, 1])
    maps = R.saliency_map(model, x, target)
    expected = model[1].weight.detach().abs()[target].reshape(4, 4, 4)
    assert maps.shape == (4, 4, 4) and torch.allclose(maps, expected)


def test_feature_extraction_probe_and_heads(digits):
    model, X, y = digits
    features = R.extract_features(model, X, "conv2")
    assert features.shape == (150, 32 * 4 * 4)
    np.testing.assert_allclose(features, model.features(X, "conv2").flatten(1).detach().numpy(), atol=1e-6)
    assert R.extract_features(model, X, model.conv3).shape == (150, 64 * 2 * 2)
    with pytest.raises(ValueError, match="not a part of the model"):
        R.extract_features(model, X, "conv9")
    head = R.new_head(model, 5, freeze=True)
    assert head.fc.out_features == 5 and model.fc.out_features == 10
    assert [n for n, p in head.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert all(p.requires_grad for p in R.new_head(model, 5).parameters())
    flat = R.extract_features(model, X, "flatten")
    assert R.linear_probe(flat[:100], y[:100].numpy(), flat[100:], y[100:].numpy()) > 0.9


def test_few_per_class():
    y = np.repeat(np.arange(4), [5, 6, 7, 8])
    idx = R.few_per_class(y, 3, seed=1)
    assert np.bincount(y[idx]).tolist() == [3, 3, 3, 3] and np.array_equal(idx, R.few_per_class(y, 3, seed=1))
    assert not np.array_equal(idx, R.few_per_class(y, 3, seed=2))
    with pytest.raises(ValueError, match="class 0 has only 5"):
        R.few_per_class(y, 6)


def test_optimize_input_raises_its_objective(digits):
    model = digits[0]
    x0 = torch.full((1, 1, 8, 8), 0.5)
    x, values = R.optimize_input(model, x0, lambda m, z: m(z)[0, 3], steps=30, lr=0.05)
    assert values[-1] > values[0] and x.min() >= 0 and x.max() <= 1
    assert conv.predict_digits(model, x)[0] == 3
    dreamed, dream_values = R.deep_dream(model, digits[1][:1], "conv2", steps=10)
    assert dream_values[-1] > dream_values[0]


def test_gram_matrix_and_patches():
    f = torch.randn(2, 3, 4, 5)
    assert torch.allclose(R.gram_matrix(f), torch.einsum("nchw,ndhw->ncd", f, f) / 20)
    images = np.arange(2 * 8 * 8, dtype=float).reshape(2, 8, 8)
    patches = R.image_to_patches(images, 4)
    unfolded = F.unfold(torch.tensor(images[:, None]), kernel_size=4, stride=4).transpose(1, 2).numpy()
    np.testing.assert_array_equal(patches, unfolded)
    assert patches.shape == (2, 4, 16) and np.array_equal(patches[0, 1], images[0, :4, 4:].ravel())
    with pytest.raises(ValueError, match="must divide"):
        R.image_to_patches(images, 3)


# --------------------------------------------------- deck 000's tables ---


def test_error_reductions_of_deck_000_and_the_h3d_slip():
    table = R.TRANSFER_TABLES["optimized"]
    standard, optimized = table.rows["Deep Standard"], table.rows["Deep Optimized"]
    printed = table.rows["printed error reduction (%)"]
    computed = [100 * R.error_reduction(s, o) for s, o in zip(standard, optimized)]
    off = [c for c, mine, theirs in zip(table.columns, computed, printed) if round(mine) != theirs]
    assert off == ["H3D"] and round(computed[table.columns.index("H3D")], 1) == 3.1


def test_the_depth_tables_fc_layers_alone_exceed_its_total():
    fc = conv.linear_params(8 * 8 * 256, 4096) + conv.linear_params(4096, 4096) + conv.linear_params(4096, 1000)
    assert fc > R.TRANSFER_TABLES["depth"].rows["Deep8"][0] * 1e6 and round(fc / 1e6) == 88
    fine = R.TRANSFER_TABLES["fine_tuning"].rows
    assert all(after > before for before, after in zip(fine["FC7 features"], fine["fine-tuned"]))
