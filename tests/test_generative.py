"""coursekit.generative against closed forms, SciPy, torch.autograd and torch.distributions.

Tiny configurations only: the notebook's own asserts hold its trained demos (the
ring's 8 / 8 modes, the collapse, the conditional GAN, CycleGAN, diffusion)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, norm

from coursekit import datasets, generative as gen


def random_distribution(rng, k, zeros=0):
    p = rng.uniform(0.05, 1.0, size=k)
    p[rng.choice(k, size=zeros, replace=False)] = 0.0
    return p / p.sum()


# ------------------------------------------------------------------ the GAN game ---

@pytest.mark.parametrize("seed", range(5))
def test_value_and_losses_match_torch_binary_cross_entropy(seed):
    rng = np.random.default_rng(seed)
    d_real, d_fake = rng.uniform(0.01, 0.99, size=7), rng.uniform(0.01, 0.99, size=4)
    bce_real = F.binary_cross_entropy(torch.tensor(d_real), torch.ones(7, dtype=torch.float64)).item()
    bce_fake = F.binary_cross_entropy(torch.tensor(d_fake), torch.zeros(4, dtype=torch.float64)).item()
    assert gen.discriminator_loss(d_real, d_fake) == pytest.approx(bce_real + bce_fake, rel=1e-12)
    assert gen.value_function(d_real, d_fake) == pytest.approx(-(bce_real + bce_fake), rel=1e-12)
    nonsat = F.binary_cross_entropy(torch.tensor(d_fake), torch.ones(4, dtype=torch.float64)).item()
    assert gen.generator_loss(d_fake, "nonsaturating") == pytest.approx(nonsat, rel=1e-12)
    assert gen.generator_loss(d_fake, "minimax") == pytest.approx(-bce_fake, rel=1e-12)


def test_value_at_equilibrium_is_minus_log_4():
    assert gen.value_function(np.full(5, 0.5), np.full(3, 0.5)) == pytest.approx(-math.log(4))
    assert gen.EQUILIBRIUM_VALUE == pytest.approx(2 * math.log(0.5))


@pytest.mark.parametrize("kind", gen.GENERATOR_LOSSES)
def test_generator_logit_gradient_matches_autograd(kind):
    logits = torch.linspace(-8, 8, 41, dtype=torch.float64, requires_grad=True)
    d = torch.sigmoid(logits)
    per_sample = torch.log1p(-d) if kind == "minimax" else -torch.log(d)
    (grad,) = torch.autograd.grad(per_sample.sum(), logits)
    ours = gen.generator_logit_gradient(d.detach().numpy(), kind)
    np.testing.assert_allclose(ours, grad.numpy(), rtol=1e-9, atol=1e-12)
    # and the batch loss's gradient is the mean of the per-sample ones
    batch = torch.log1p(-torch.sigmoid(logits)).mean() if kind == "minimax" else -F.logsigmoid(logits).mean()
    (batch_grad,) = torch.autograd.grad(batch, logits)
    np.testing.assert_allclose(ours / len(ours), batch_grad.numpy(), rtol=1e-7, atol=1e-12)


def test_minimax_saturates_where_nonsaturating_does_not():
    early = np.array([1e-3, 1e-2])       # D easily spots the early fakes
    assert np.all(np.abs(gen.generator_logit_gradient(early, "minimax")) < 0.011)
    assert np.all(np.abs(gen.generator_logit_gradient(early, "nonsaturating")) > 0.98)


@pytest.mark.parametrize("seed", range(6))
def test_optimal_discriminator_maximizes_the_pointwise_value(seed):
    rng = np.random.default_rng(seed)
    p_d, p_g = rng.uniform(0.01, 2.0, size=5), rng.uniform(0.01, 2.0, size=5)
    d_star = gen.optimal_discriminator(p_d, p_g)
    grid = np.linspace(1e-4, 1 - 1e-4, 20001)
    objective = p_d[:, None] * np.log(grid) + p_g[:, None] * np.log1p(-grid)     # one row per x
    np.testing.assert_allclose(d_star, grid[objective.argmax(axis=1)], atol=1e-4)
    assert np.all(objective.max(axis=1) <= p_d * np.log(d_star) + p_g * np.log1p(-d_star) + 1e-12)


def test_optimal_discriminator_edges():
    np.testing.assert_array_equal(gen.optimal_discriminator([0.3, 0.0, 0.2], [0.3, 0.4, 0.0]), [0.5, 0.0, 1.0])
    assert np.isnan(gen.optimal_discriminator([0.0], [0.0])[0])       # no sample lands there: undefined
    with pytest.raises(ValueError, match="same shape"):
        gen.optimal_discriminator([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match=">= 0"):
        gen.optimal_discriminator([-0.1], [0.1])


@pytest.mark.parametrize("seed, zeros", [(0, 0), (1, 0), (2, 1), (3, 2), (4, 0)])
def test_value_at_optimum_is_twice_jsd_minus_2_log_2(seed, zeros):
    rng = np.random.default_rng(seed)
    p_d, p_g = random_distribution(rng, 6, zeros), random_distribution(rng, 6)
    jsd = jensenshannon(p_d, p_g) ** 2          # SciPy returns the square root of the divergence (in nats)
    assert gen.js_divergence(p_d, p_g) == pytest.approx(jsd, rel=1e-9)
    value = gen.value_at_optimal_discriminator(p_d, p_g)
    assert value == pytest.approx(2 * jsd - 2 * math.log(2), rel=1e-9)
    # the deck's JSD - 2 log 2 is off by JSD (nonzero whenever the distributions differ)
    assert abs(value - (jsd - 2 * math.log(2))) == pytest.approx(jsd)
    # and it is V at D* computed directly
    d_star = p_d / (p_d + p_g)
    direct = sum(p * math.log(d) for p, d in zip(p_d, d_star) if p > 0) + sum(
        q * math.log(1 - d) for q, d in zip(p_g, d_star) if q > 0)
    assert value == pytest.approx(direct, rel=1e-12)


def test_value_at_optimum_bounds():
    p = np.array([0.2, 0.3, 0.5])
    assert gen.value_at_optimal_discriminator(p, p) == pytest.approx(-math.log(4))
    disjoint = gen.value_at_optimal_discriminator([1.0, 0.0], [0.0, 1.0])
    assert disjoint == pytest.approx(0.0)            # JSD = log 2 at most
    assert gen.js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.log(2))


@pytest.mark.parametrize("seed", range(4))
def test_kl_divergence_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    p, q = random_distribution(rng, 5, seed % 2), random_distribution(rng, 5)
    assert gen.kl_divergence(p, q) == pytest.approx(entropy(p, q), rel=1e-12)
    assert gen.kl_divergence(q, np.r_[p[:4], 0.0] / p[:4].sum()) == math.inf or p[4] == 0


def test_distributions_are_checked():
    with pytest.raises(ValueError, match="summing to 1"):
        gen.js_divergence([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="same outcomes"):
        gen.kl_divergence([0.5, 0.5], [1.0])


@pytest.mark.parametrize("seed", range(4))
def test_inception_score_matches_a_direct_computation(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(50, 4)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    marginal = probs.mean(axis=0)
    expected = math.exp(np.mean([entropy(row, marginal) for row in probs]))
    assert gen.inception_score(probs) == pytest.approx(expected, rel=1e-10)


def test_inception_score_limits():
    one_hot = np.eye(4)[np.arange(40) % 4]
    assert gen.inception_score(one_hot) == pytest.approx(4.0)          # confident and diverse: K
    assert gen.inception_score(np.tile([0.1, 0.2, 0.7], (10, 1))) == pytest.approx(1.0)  # all alike: 1
    assert math.log(gen.inception_score(one_hot)) == pytest.approx(math.log(4))  # deck 002's formula: log K


# ---------------------------------------------------------------- mode coverage ---

def test_ring_modes_are_8_distinct_points_like_the_dataset():
    modes = gen.ring_modes()
    assert modes.shape == (8, 2) and len(np.unique(modes.round(9), axis=0)) == 8
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 2.0)
    # the common bug: linspace(0, 2π, 8) repeats its first point at 2π and has 7 distinct modes
    buggy = np.linspace(0, 2 * np.pi, 8)
    assert len(np.unique(np.c_[np.cos(buggy), np.sin(buggy)].round(9), axis=0)) == 7
    # coursekit.datasets.eight_gaussians draws around exactly these 8 centres
    X = datasets.eight_gaussians(4000, radius=2.0, std=0.0, seed=0)
    assert set(map(tuple, np.unique(X.round(9), axis=0))) == set(map(tuple, modes.round(9)))


def test_mode_coverage_counts_as_veegan_does():
    modes = gen.ring_modes()
    perfect = gen.mode_coverage(datasets.eight_gaussians(2500, std=0.02, seed=1))
    assert perfect.modes_covered == 8 and perfect.high_quality > 0.98   # 3σ holds 98.9% of a 2-D Gaussian
    assert perfect.n_samples == 2500 and perfect.hq_counts.sum() == round(2500 * perfect.high_quality)
    one_mode = gen.mode_coverage(modes[3] + 0.01 * np.random.default_rng(0).normal(size=(100, 2)))
    assert one_mode.modes_covered == 1 and one_mode.hq_counts[3] == one_mode.nearest_counts[3] == 100
    between = gen.mode_coverage(1.9 * np.array([[np.cos(np.pi / 8), np.sin(np.pi / 8)]]).repeat(10, axis=0))
    assert between.modes_covered == 0 and between.high_quality == 0.0 and between.nearest_counts.sum() == 10
    # the threshold is 3 standard deviations of the modes: 0.06 for the ring's std of 0.02
    edge = gen.mode_coverage(np.array([[2.059, 0.0], [2.061, 0.0]]))
    assert edge.hq_counts[0] == 1 and edge.high_quality == 0.5
    assert "1 / 8 modes covered" in str(one_mode)


def test_mean_nearest_neighbour_distance():
    data = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert gen.mean_nearest_neighbour_distance(np.array([[0.0, 0.5], [1.0, -2.0]]), data) == pytest.approx(1.25)
    with pytest.raises(ValueError, match="same dimension"):
        gen.mean_nearest_neighbour_distance(np.zeros((2, 3)), data)


# ----------------------------------------------------------------- GAN training ---

def tiny_trainer(**kwargs):
    X, modes = gen.lab_target("ring", 400, seed=0)
    options = dict(z_dim=2, hidden=16, layers=1, batch_size=32, device="cpu", modes=modes, grid_size=12,
                   manifold_size=5, view_samples=40)
    options.update(kwargs)
    return gen.GANTrainer(X, **options)


def test_gan_trace_records_algorithm_1():
    trainer = tiny_trainer(k=3)
    trace = list(gen.gan_trace(trainer, 4, view_every=2))
    assert [s.step for s in trace] == [0, 1, 2, 3, 4]
    assert [s.d_steps for s in trace] == [0, 3, 6, 9, 12]         # k = 3 D steps per G step
    assert [s.samples is not None for s in trace] == [True, False, True, False, True]
    view = trace[-1]
    assert view.samples.shape == (40, 2) and view.push.shape == (40, 2)
    assert view.d_grid.shape == (12, 12) and np.all((view.d_grid >= 0) & (view.d_grid <= 1))
    assert view.manifold.shape == (5, 5, 2) and isinstance(view.coverage, gen.Coverage)
    assert all(np.isfinite([s.d_loss, s.g_loss, s.d_real, s.d_fake]).all() for s in trace)
    assert view.value == -view.d_loss


def test_gan_training_is_seeded():
    a = [s.g_loss for s in gen.gan_trace(tiny_trainer(seed=3), 5)]
    b = [s.g_loss for s in gen.gan_trace(tiny_trainer(seed=3), 5)]
    c = [s.g_loss for s in gen.gan_trace(tiny_trainer(seed=4), 5)]
    assert a == b and a != c


def test_step_parts_train_one_player():
    trainer = tiny_trainer()
    g_before = [p.detach().clone() for p in trainer.G.parameters()]
    d_before = [p.detach().clone() for p in trainer.D.parameters()]
    state = trainer.step("D")
    assert (state.step, state.d_steps) == (0, 1)
    assert all(torch.equal(a, b) for a, b in zip(g_before, trainer.G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d_before, trainer.D.parameters()))
    d_now = [p.detach().clone() for p in trainer.D.parameters()]
    state = trainer.step("G")
    assert (state.step, state.d_steps) == (1, 1)
    assert all(torch.equal(a, b) for a, b in zip(d_now, trainer.D.parameters()))   # D fixed while G learns
    assert not all(torch.equal(a, b) for a, b in zip(g_before, trainer.G.parameters()))
    with pytest.raises(ValueError, match="part"):
        trainer.step("both players")


@pytest.mark.parametrize("loss", gen.GENERATOR_LOSSES)
def test_push_arrows_are_minus_the_gradient_of_each_samples_loss(loss):
    trainer = tiny_trainer(loss=loss)
    state = trainer.initial_state(view=True)
    x = torch.tensor(state.samples, dtype=torch.float32, requires_grad=True)
    d = torch.sigmoid(trainer.D(x).squeeze(1))
    own_loss = -torch.log(d) if loss == "nonsaturating" else torch.log1p(-d)
    (grad,) = torch.autograd.grad(own_loss.sum(), x)
    np.testing.assert_allclose(state.push, -grad.numpy(), rtol=1e-4, atol=1e-6)
    # both losses push samples uphill on D: the arrows point where D(x) grows
    (d_grad,) = torch.autograd.grad(torch.sigmoid(trainer.D(x)).sum(), x)
    assert np.all(np.sum(state.push * d_grad.numpy(), axis=1) >= -1e-9)


def test_d_grid_is_d_on_the_grid_points():
    trainer = tiny_trainer()
    state = trainer.initial_state(view=True)
    i, j = 3, 9
    point = torch.tensor(trainer.grid[i, j], dtype=torch.float32)[None]
    assert state.d_grid[i, j] == pytest.approx(torch.sigmoid(trainer.D(point)).item(), rel=1e-5)
    assert trainer.grid[i, j, 0] == trainer.grid[0, j, 0] and trainer.grid[i, j, 1] == trainer.grid[i, 0, 1]


def test_decay_lowers_the_learning_rates_linearly():
    trainer = tiny_trainer(decay_steps=4, lr_d=0.01, lr_g=0.02)
    for _ in range(2):
        trainer.step()
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(0.005)
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(0.01)
    trainer.set_learning_rates(lr_g=0.04)
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(0.02)


def test_sgd_option_and_coverage_needs_modes():
    trainer = tiny_trainer(optimizer="sgd", modes=None)
    assert isinstance(trainer.opt_g, torch.optim.SGD)
    with pytest.raises(ValueError, match="mode centres"):
        trainer.coverage()


def test_conditional_gan_takes_labels():
    X, _, y, _ = datasets.load_digits()
    trainer = gen.GANTrainer(X[:200], y[:200], 10, z_dim=4, hidden=16, layers=1, batch_size=16, output="sigmoid",
                             device="cpu")
    state = trainer.step()
    assert state.samples is None and trainer.add_view(state).samples is None   # images: no 2-D view
    out = trainer.sample(6, labels=[0, 1, 2, 3, 4, 5])
    assert out.shape == (6, 64) and np.all((out >= 0) & (out <= 1))
    assert np.array_equal(trainer.sample(3, seed=1, labels=7), trainer.sample(3, seed=1, labels=7))
    with pytest.raises(ValueError, match="needs labels"):
        trainer.sample(3)
    with pytest.raises(ValueError, match="labels"):
        gen.GANTrainer(X[:10], y[:9], 10, device="cpu")


def test_gan_trainer_checks_its_arguments():
    X, _ = gen.lab_target("moons", 50)
    with pytest.raises(ValueError, match="loss must be one of"):
        gen.GANTrainer(X, loss="wasserstein", device="cpu")
    with pytest.raises(ValueError, match="k must be"):
        gen.GANTrainer(X, k=0, device="cpu")
    with pytest.raises(ValueError, match="lr_g"):
        gen.GANTrainer(X, lr_g=-1, device="cpu")
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        gen.GANTrainer(np.zeros(5), device="cpu")


def test_lab_targets_fit_the_box():
    for name in ("ring", "moons", "spiral"):
        X, modes = gen.lab_target(name, 1000, seed=2)
        assert X.shape == (1000, 2) and np.abs(X).max() < gen.LAB_BOX
        assert (modes is not None) == (name == "ring")
    X, _ = gen.lab_target("drawn", 300, points=[[1.0, 1.0], [-1.0, 0.5]])
    assert np.all(np.min(np.linalg.norm(X[:, None] - np.array([[1.0, 1.0], [-1.0, 0.5]]), axis=2), axis=1) < 0.5)
    with pytest.raises(ValueError, match="clicked point"):
        gen.lab_target("drawn", 10)


def test_configs_name_the_papers_ring():
    assert gen.RING == {"n_modes": 8, "radius": 2.0, "std": 0.02}
    # the collapse changes only the learning rates: G now learns faster than D
    changed = {k for k in gen.RING_CONFIG if gen.RING_CONFIG[k] != gen.COLLAPSE_CONFIG[k]}
    assert changed == {"lr_d", "lr_g"} and gen.COLLAPSE_CONFIG["lr_g"] > gen.COLLAPSE_CONFIG["lr_d"]


# ------------------------------------------------------------------ autoencoders ---

@pytest.mark.parametrize("seed", range(3))
def test_gaussian_kl_matches_torch_distributions(seed):
    rng = np.random.default_rng(seed)
    mu, logvar = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(6, 3, dtype=torch.float64), torch.ones(6, 3, dtype=torch.float64))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1).numpy()
    np.testing.assert_allclose(gen.gaussian_kl(mu, logvar), expected, rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_kl_of_two_gaussians_matches_torch_distributions(seed):
    rng = np.random.default_rng(seed)
    mu_q, mu_p = rng.normal(size=5), rng.normal(size=5)
    var_q, var_p = rng.uniform(0.1, 3, size=5), rng.uniform(0.1, 3, size=5)
    q = torch.distributions.Normal(torch.tensor(mu_q), torch.tensor(np.sqrt(var_q)))
    p = torch.distributions.Normal(torch.tensor(mu_p), torch.tensor(np.sqrt(var_p)))
    np.testing.assert_allclose(gen.kl_normal(mu_q, var_q, mu_p, var_p),
                               torch.distributions.kl_divergence(q, p).numpy(), rtol=1e-12)
    assert gen.kl_normal(0.3, 2.0, 0.3, 2.0) == pytest.approx(0.0, abs=1e-15)


def test_reparameterization_has_the_right_distribution_and_gradient():
    mu, logvar = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    eps = np.random.default_rng(0).normal(size=(200_000, 2))
    z = gen.reparameterize(mu, logvar, eps)
    np.testing.assert_allclose(z.mean(axis=0), mu, atol=0.01)
    np.testing.assert_allclose(z.var(axis=0), np.exp(logvar), rtol=0.01)
    # differentiable in μ and log σ²: dz/dμ = 1, dz/dlogvar = ½σε (torch's rsample is the same construction)
    mu_t = torch.tensor(mu, requires_grad=True)
    lv_t = torch.tensor(logvar, requires_grad=True)
    e = torch.tensor(eps[:1])
    z_t = mu_t + torch.exp(0.5 * lv_t) * e
    z_t.sum().backward()
    np.testing.assert_allclose(mu_t.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(lv_t.grad.numpy(), 0.5 * np.exp(0.5 * logvar) * eps[0])
    np.testing.assert_allclose(z_t.detach().numpy()[0], gen.reparameterize(mu, logvar, eps[0]))


def test_vae_loss_is_bce_plus_kl():
    torch.manual_seed(0)
    vae = gen.VAE(n_in=8, code=2, hidden=5)
    x = torch.rand(4, 8)
    out = vae(x)
    assert out.shape == (4, 12)
    x_hat, mu, logvar = out[:, :8], out[:, 8:10], out[:, 10:]
    bce = F.binary_cross_entropy(x_hat, x, reduction="none").sum(dim=1)
    kl = gen.gaussian_kl(mu.detach().numpy().astype(float), logvar.detach().numpy().astype(float))
    assert gen.vae_loss(out, x).item() == pytest.approx((bce.detach().numpy() + kl).mean(), rel=1e-5)
    vae.eval()
    assert torch.equal(vae(x), vae(x))                       # the mean code: deterministic
    assert torch.allclose(vae(x)[:, :8], vae.decode(vae.encode(x)[0]))
    with pytest.raises(ValueError, match="VAE's output"):
        gen.vae_loss(torch.zeros(4, 9), x)


def test_autoencoder_shapes():
    ae = gen.Autoencoder(n_in=64, code=2)
    x = torch.rand(5, 64)
    assert ae.encode(x).shape == (5, 2) and ae(x).shape == (5, 64)
    assert torch.all((ae(x) >= 0) & (ae(x) <= 1))


# -------------------------------------------------------------------------- CycleGAN ---

def test_cycle_loss_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(7, 2))
    xc, yc = x + rng.normal(size=(5, 2)), y + rng.normal(size=(7, 2))
    direct = (sum(abs(a - b) for row_a, row_b in zip(xc, x) for a, b in zip(row_a, row_b)) / 5
              + sum(abs(a - b) for row_a, row_b in zip(yc, y) for a, b in zip(row_a, row_b)) / 7)
    assert gen.cycle_consistency_loss(x, xc, y, yc) == pytest.approx(direct, rel=1e-12)
    torch_l1 = (F.l1_loss(torch.tensor(xc), torch.tensor(x), reduction="sum").item() / 5
                + F.l1_loss(torch.tensor(yc), torch.tensor(y), reduction="sum").item() / 7)
    assert gen.cycle_consistency_loss(x, xc, y, yc) == pytest.approx(torch_l1, rel=1e-12)
    with pytest.raises(ValueError, match="shape of x"):
        gen.cycle_consistency_loss(x, xc[:4], y, yc)


def test_cyclegan_objective_adds_the_three_terms():
    d = np.array([0.7, 0.6])
    f = np.array([0.2, 0.4, 0.1])
    value = gen.cyclegan_objective(d, f, f[:2], d, cycle_loss=0.3, lam=10)
    assert value == pytest.approx(gen.value_function(d, f) + gen.value_function(f[:2], d) + 3.0)


def test_cyclegan_trains_and_maps():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(64, 2)), rng.normal(size=(64, 2)) + 3
    model = gen.CycleGAN(X, Y, lam=5.0, hidden=8, batch_size=16, device="cpu")
    states = model.train(3)
    assert [s.step for s in states] == [1, 2, 3] and all(s.cycle >= 0 for s in states)
    g_x, fg_x, f_y, gf_y = model.maps()
    assert g_x.shape == fg_x.shape == (64, 2) and f_y.shape == gf_y.shape == (64, 2)
    # the recorded cycle loss is the NumPy formula on the same batch's maps (checked on all data here)
    assert gen.cycle_consistency_loss(X, fg_x, Y, gf_y) >= 0


# ------------------------------------------------------------------------- diffusion ---

def test_linear_schedule_and_alpha_bars():
    s = gen.linear_schedule(50, 1e-4, 0.02)
    assert s.T == 50 and s.betas[0] == pytest.approx(1e-4) and s.betas[-1] == pytest.approx(0.02)
    np.testing.assert_allclose(np.diff(s.betas), (0.02 - 1e-4) / 49)
    assert s.alpha_bars[-1] == pytest.approx(np.prod(1 - s.betas))
    assert 0.55 < s.alpha_bars[-1] < 0.62           # T = 50 leaves most of x_0: why the data is standardized first


def test_forward_process_matches_the_closed_form_by_simulation():
    schedule = gen.linear_schedule(20, 1e-3, 0.2)
    x0 = np.array([[1.5, -0.7]]).repeat(20_000, axis=0)
    xs = gen.forward_process(x0, schedule, seed=0)
    for t in (1, 5, 20):
        abar = schedule.alpha_bars[t - 1]
        np.testing.assert_allclose(xs[t].mean(axis=0), math.sqrt(abar) * x0[0], atol=0.02)
        np.testing.assert_allclose(xs[t].var(axis=0), 1 - abar, rtol=0.04)
        # q_sample draws from the same distribution in one step
        one_step = gen.q_sample(x0, t, np.random.default_rng(t).normal(size=x0.shape), schedule)
        np.testing.assert_allclose(one_step.mean(axis=0), xs[t].mean(axis=0), atol=0.03)
        np.testing.assert_allclose(one_step.var(axis=0), xs[t].var(axis=0), rtol=0.05)


def test_q_sample_formula_and_edges():
    betas = np.array([0.1, 0.2, 0.3])
    assert gen.q_sample(np.array([2.0]), 3, np.array([-1.0]), betas)[0] == pytest.approx(
        math.sqrt(0.9 * 0.8 * 0.7) * 2 - math.sqrt(1 - 0.9 * 0.8 * 0.7))
    assert gen.q_sample(np.array([2.0]), 0, np.array([5.0]), betas)[0] == 2.0
    with pytest.raises(ValueError, match="t must be"):
        gen.q_sample(np.array([2.0]), 4, np.array([5.0]), betas)
    with pytest.raises(ValueError, match="shape of x0"):
        gen.q_sample(np.zeros(2), 1, np.zeros(3), betas)


def test_reverse_step_with_the_true_noise_is_the_posterior_mean():
    schedule = gen.linear_schedule(10, 1e-3, 0.3)
    rng = np.random.default_rng(0)
    x0, eps = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    for t in (1, 4, 10):
        x_t = gen.q_sample(x0, t, eps, schedule)
        # DDPM's posterior q(x_{t-1} | x_t, x_0): mean coef1 x_0 + coef2 x_t
        beta, abar = schedule.betas[t - 1], schedule.alpha_bars[t - 1]
        abar_prev = schedule.alpha_bars[t - 2] if t > 1 else 1.0
        coef1 = math.sqrt(abar_prev) * beta / (1 - abar)
        coef2 = math.sqrt(1 - beta) * (1 - abar_prev) / (1 - abar)
        np.testing.assert_allclose(gen.reverse_step(x_t, t, eps, schedule), coef1 * x0 + coef2 * x_t, atol=1e-12)
    # the noise added is σ_t z with σ_t² the posterior variance
    z = np.ones((4, 2))
    t = 4
    gap = gen.reverse_step(x_t, t, eps, schedule, z) - gen.reverse_step(x_t, t, eps, schedule)
    var = schedule.betas[t - 1] * (1 - schedule.alpha_bars[t - 2]) / (1 - schedule.alpha_bars[t - 1])
    np.testing.assert_allclose(gap, math.sqrt(var))


def test_sinusoidal_embedding():
    emb = gen.sinusoidal_embedding(torch.tensor([0.0, 3.0]), dim=8)
    freqs = 10000.0 ** (-np.arange(4) / 3)
    np.testing.assert_allclose(emb[1].numpy(), np.r_[np.sin(3 * freqs), np.cos(3 * freqs)], rtol=1e-6)
    np.testing.assert_allclose(emb[0].numpy(), np.r_[np.zeros(4), np.ones(4)])


def test_noise_prediction_data_follows_the_closed_form():
    schedule = gen.linear_schedule(50)
    x0 = np.random.default_rng(1).normal(size=(30, 2))
    inputs, eps = gen.noise_prediction_data(x0, schedule, draws=3, seed=0)
    assert inputs.shape == (90, 3) and eps.shape == (90, 2) and inputs.dtype == np.float32
    t = inputs[:, 2].astype(int)
    assert t.min() >= 1 and t.max() <= 50
    expected = np.array([gen.q_sample(x, ti, e, schedule) for x, ti, e in zip(np.repeat(x0, 3, axis=0), t, eps)])
    np.testing.assert_allclose(inputs[:, :2], expected, rtol=1e-5, atol=1e-5)


def test_noise_predictor_and_sampler_shapes():
    torch.manual_seed(0)
    net = gen.NoisePredictor(d=2, width=16, blocks=2, time_dim=8)
    assert net(torch.zeros(5, 3)).shape == (5, 2)
    schedule = gen.linear_schedule(6)
    samples, kept = gen.sample_diffusion(net, schedule, n=7, seed=0, keep=(6, 3, 0))
    assert samples.shape == (7, 2) and sorted(kept) == [0, 3, 6]
    np.testing.assert_array_equal(kept[0], samples)
    again, _ = gen.sample_diffusion(net, schedule, n=7, seed=0)
    np.testing.assert_array_equal(samples, again)
    # with a network that predicts no noise, the sampler is the reverse_step formula with z from the generator
    zero = gen.NoisePredictor(d=2, width=4, blocks=1, time_dim=4)
    for p in zero.out.parameters():
        torch.nn.init.zeros_(p)
    gen_ = torch.Generator().manual_seed(3)
    x = torch.randn(2, 2, generator=gen_).numpy().astype(np.float64)
    for t in range(6, 0, -1):
        z = torch.randn(2, 2, generator=gen_).numpy() if t > 1 else None
        x = gen.reverse_step(x, t, np.zeros((2, 2)), schedule, z)
    ours, _ = gen.sample_diffusion(zero, schedule, n=2, seed=3)
    np.testing.assert_allclose(ours, x, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_gan_trains_on_the_gpu_like_on_the_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine")
    trainer = tiny_trainer(device="cuda")
    state = list(gen.gan_trace(trainer, 3, view_every=1))[-1]
    assert trainer.G[0].weight.device.type == "cuda" and state.samples.shape == (40, 2)
    assert np.isfinite([state.d_loss, state.g_loss]).all() and isinstance(state.coverage, gen.Coverage)
