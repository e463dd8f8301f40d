"""coursekit.datasets: every generator against properties computed here, independently.

Separability is decided exactly by a linear program (scipy): labels y are
strictly linearly separable iff some (w, b) has y_n (w . x_n + b) >= 1 for all
n. The learners of scikit-learn then show the same thing the way a student
would see it: a linear model fits or fails, a nonlinear one fits.
"""
from __future__ import annotations

import hashlib
import shutil
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.svm import SVC

from coursekit import datasets as D

# The 20-point set of deck 003, as curriculum.md lists it.
CURRICULUM_X = [i / 2 for i in range(20)]
CURRICULUM_Y = [0.1, 0.4, 0.9, 1.6, 2.2, 2.5, 2.8, 3.5, 3.9, 4.7,
                5.1, 5.3, 6.3, 6.5, 6.7, 7.5, 8.1, 8.5, 8.9, 9.5]


def strictly_separable(X, y) -> bool:
    """Is there (w, b) with y_n (w . x_n + b) >= 1 for every n? (an LP feasibility problem)"""
    y = np.where(np.asarray(y) > 0, 1.0, -1.0)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    # -y_n (w, b) . (x_n, 1) <= -1, with (w, b) free.
    res = linprog(np.zeros(Xb.shape[1]), A_ub=-(y[:, None] * Xb), b_ub=-np.ones(len(y)),
                  bounds=[(None, None)] * Xb.shape[1], method="highs")
    assert res.status in (0, 2), res.message  # 0: feasible, 2: infeasible
    return res.status == 0


# (generator, keyword arguments for a small draw, label set, returns labels?)
GENERATORS = [
    (D.linearly_separable, dict(n=30), {-1, 1}),
    (D.noisy_separable, dict(n=30, noise=0.2), {-1, 1}),
    (D.credit_approval, dict(n=30), {-1, 1}),
    (D.xor_quadrants, dict(n=60, noise=0.05), {0, 1}),
    (D.ring, dict(n=60), {0, 1}),
    (D.three_modes, dict(n=60), {0, 1}),
    (D.two_moons, dict(n=60), {0, 1}),
    (D.spiral, dict(n=60), {0, 1}),
    (D.heart_attack, dict(n=200), {-1, 1}),
]
IDS = [g[0].__name__ for g in GENERATORS]


# ------------------------------------------------------------ common shape ---

@pytest.mark.parametrize("make, kwargs, labels", GENERATORS, ids=IDS)
def test_shapes_dtypes_and_labels(make, kwargs, labels):
    X, y = make(seed=3, **kwargs)
    n = kwargs["n"]
    assert isinstance(X, np.ndarray) and X.shape == (n, 2) and X.dtype == np.float64
    assert isinstance(y, np.ndarray) and y.shape == (n,) and np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y).tolist()) == labels  # both classes present
    assert np.isfinite(X).all()


@pytest.mark.parametrize("make, kwargs, labels", GENERATORS, ids=IDS)
def test_same_seed_same_data_other_seed_other_data(make, kwargs, labels):
    X1, y1 = make(seed=11, **kwargs)
    X2, y2 = make(seed=11, **kwargs)
    X3, _ = make(seed=12, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


def test_eight_gaussians_determinism_and_shape():
    X = D.eight_gaussians(seed=5)
    assert X.shape == (512, 2) and X.dtype == np.float64
    np.testing.assert_array_equal(X, D.eight_gaussians(seed=5))
    assert not np.allclose(X, D.eight_gaussians(seed=6))


@pytest.mark.parametrize("call", [
    lambda: D.linearly_separable(n=1),
    lambda: D.linearly_separable(n=2.5),
    lambda: D.linearly_separable(margin=-0.1),
    lambda: D.linearly_separable(margin=0.9),      # no room on one side of some lines
    lambda: D.linearly_separable(margin=float("nan")),
    lambda: D.linearly_separable(seed=-1),
    lambda: D.linearly_separable(seed=1.5),
    lambda: D.noisy_separable(noise=0.6),
    lambda: D.noisy_separable(noise=-0.1),
    lambda: D.credit_approval(n=0),
    lambda: D.xor_quadrants(n=2),
    lambda: D.xor_quadrants(noise=-1),
    lambda: D.ring(n=True),
    lambda: D.three_modes(n=3),
    lambda: D.eight_gaussians(n=0),
    lambda: D.eight_gaussians(radius=0),
    lambda: D.eight_gaussians(std=-0.1),
    lambda: D.two_moons(noise="big"),
    lambda: D.spiral(turns=0),
    lambda: D.spiral(noise=-0.5),
    lambda: D.heart_attack(n=0),
    lambda: D.load_digits(test_size=0.0),
    lambda: D.load_digits(test_size=1.0),
    lambda: D.load_digits(seed=-3),
])
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError, match=r"must be"):
        call()


# ------------------------------------------------------- linearly separable ---

@pytest.mark.parametrize("n, margin, seed", [(2, 0.1, 0), (5, 0.3, 1), (40, 0.1, 0), (200, 0.05, 7),
                                             (60, 0.5, 2), (30, 0.0, 4)])
def test_linearly_separable_margin_and_target_line(n, margin, seed):
    X, y, w_f = D.linearly_separable(n=n, margin=margin, seed=seed, return_weights=True)
    assert X.shape == (n, 2) and w_f.shape == (3,)
    assert set(y.tolist()) == {-1, 1}
    assert np.all(np.abs(X) <= 1.0)
    assert np.isclose(np.hypot(w_f[1], w_f[2]), 1.0)
    # Geometric distance of each point from the line w0 + w1 x1 + w2 x2 = 0, computed here.
    distance = np.abs(w_f[0] + w_f[1] * X[:, 0] + w_f[2] * X[:, 1]) / np.hypot(w_f[1], w_f[2])
    assert distance.min() >= margin
    Xb = np.hstack([np.ones((n, 1)), X])
    np.testing.assert_array_equal(np.sign(Xb @ w_f), y)
    assert np.all(y * (Xb @ w_f) >= margin)
    # Same data with and without the weights.
    X2, y2 = D.linearly_separable(n=n, margin=margin, seed=seed)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("seed", range(5))
def test_linearly_separable_is_separable(seed):
    X, y = D.linearly_separable(n=60, margin=0.05, seed=seed)
    assert strictly_separable(X, y)
    clf = Perceptron(max_iter=10_000, tol=None, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0


@pytest.mark.parametrize("n, noise, seed", [(40, 0.1, 0), (40, 0.0, 1), (40, 0.5, 2), (20, 0.125, 3),
                                            (30, 0.25, 4), (7, 0.3, 5)])
def test_noisy_separable_flips_exactly_round_noise_n(n, noise, seed):
    X_clean, y_clean, w_clean = D.linearly_separable(n=n, margin=0.1, seed=seed, return_weights=True)
    X, y, w_f = D.noisy_separable(n=n, margin=0.1, noise=noise, seed=seed, return_weights=True)
    np.testing.assert_array_equal(X, X_clean)
    np.testing.assert_array_equal(w_f, w_clean)
    assert np.count_nonzero(y != y_clean) == round(noise * n)
    assert set(y.tolist()) <= {-1, 1}


def test_noisy_separable_is_usually_not_separable():
    verdicts = [strictly_separable(*D.noisy_separable(n=60, noise=0.1, seed=s)) for s in range(5)]
    assert not any(verdicts)


# ------------------------------------------------------------- credit data ---

@pytest.mark.parametrize("seed", range(4))
def test_credit_approval_ranges_and_separability(seed):
    X, y = D.credit_approval(n=80, seed=seed)
    age, salary = X[:, 0], X[:, 1]
    assert 20 <= age.min() and age.max() <= 70
    assert 15 <= salary.min() and salary.max() <= 150
    assert set(y.tolist()) == {-1, 1}
    assert strictly_separable(X, y)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    assert Perceptron(max_iter=10_000, tol=None, random_state=0).fit(Z, y).score(Z, y) == 1.0
    # Richer customers are approved more often (salary weighs most in the rule).
    assert salary[y == 1].mean() > salary[y == -1].mean()


def test_credit_features_name_the_columns():
    assert D.CREDIT_FEATURES == ("age (years)", "salary (thousand)")


def test_credit_approval_small_n_has_both_classes():
    for seed in range(30):
        assert set(D.credit_approval(n=2, seed=seed)[1].tolist()) == {-1, 1}
        assert set(D.linearly_separable(n=2, seed=seed)[1].tolist()) == {-1, 1}


# ------------------------------------------- not linearly separable, but learnable ---

HARD_CASES = [
    (D.xor_quadrants, dict(n=200)),
    (D.xor_quadrants, dict(n=200, noise=0.02)),
    (D.ring, dict(n=200)),
    (D.three_modes, dict(n=300)),
]


@pytest.mark.parametrize("make, kwargs", HARD_CASES, ids=["xor", "xor-noisy", "ring", "three_modes"])
@pytest.mark.parametrize("seed", [0, 1])
def test_linear_models_fail_nonlinear_models_succeed(make, kwargs, seed):
    X, y = make(seed=seed, **kwargs)
    assert not strictly_separable(X, y)
    linear = LogisticRegression().fit(X, y).score(X, y)
    assert linear <= 0.8, f"a linear model reached {linear:.3f}"
    nonlinear = SVC(kernel="rbf", C=100.0).fit(X, y).score(X, y)
    assert nonlinear >= 0.97, f"an RBF SVM reached only {nonlinear:.3f}"


def test_xor_labels_follow_the_sign_rule_without_noise():
    X, y = D.xor_quadrants(n=500, noise=0.0, seed=2)
    assert np.all(np.abs(X) <= 1.0)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))


def test_ring_geometry():
    X, y = D.ring(n=201, seed=4)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.count_nonzero(y == 1) == 100 and np.count_nonzero(y == 0) == 101
    assert r[y == 1].max() < 0.5
    assert 0.8 <= r[y == 0].min() and r[y == 0].max() <= 1.1
    # Uniform over the disc's area: about a quarter of it lies within half its radius.
    assert 0.15 < np.mean(r[y == 1] < 0.25) < 0.35
    assert not np.all(y[:100] == 1)  # shuffled


def test_three_modes_structure():
    X, y = D.three_modes(n=600, seed=0)
    modes = X[y == 1]
    km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(modes)
    sizes = np.bincount(km.labels_)
    assert sizes.min() >= 99 and sizes.max() <= 101
    centres = km.cluster_centers_
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i + 1, 3)]
    spread = max(np.sqrt(((modes[km.labels_ == k] - centres[k]) ** 2).sum(1)).mean() for k in range(3))
    assert min(gaps) > 6 * spread  # three well separated blobs
    # Class 0 surrounds the blobs and also fills the middle between them.
    others = X[y == 0]
    assert np.min(np.linalg.norm(others[:, None] - centres[None], axis=2)) > 0.5
    assert np.any(np.linalg.norm(others, axis=1) < 0.5)
    assert np.any(np.linalg.norm(others, axis=1) > 2.0)


# ----------------------------------------------------------- nonlinear demos ---

def test_eight_gaussians_modes():
    radius, std = 3.0, 0.1
    X = D.eight_gaussians(n=4000, radius=radius, std=std, seed=1)
    angles = np.arange(8) * np.pi / 4
    centres = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    d = np.linalg.norm(X[:, None] - centres[None], axis=2)
    nearest = d.argmin(axis=1)
    assert d.min(axis=1).max() < 6 * std
    counts = np.bincount(nearest, minlength=8)
    assert np.all(np.abs(counts - 500) < 5 * np.sqrt(4000 * (1 / 8) * (7 / 8)))
    # The spread around each centre is std in each coordinate.
    residual = X - centres[nearest]
    assert np.allclose(residual.std(axis=0), std, rtol=0.1)


def test_two_moons_lie_on_their_arcs_without_noise():
    X, y = D.two_moons(n=101, noise=0.0, seed=3)
    assert np.count_nonzero(y == 0) == 50 and np.count_nonzero(y == 1) == 51
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.all(upper[:, 1] >= 0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5)
    Xn, _ = D.two_moons(n=101, noise=0.1, seed=3)
    assert 0.05 < np.abs(Xn - X).std() < 0.15  # the jitter has the requested size


def test_spiral_arms_without_noise():
    turns = 1.5
    X, y = D.spiral(n=300, turns=turns, noise=0.0, seed=8)
    r = np.hypot(X[:, 0], X[:, 1])
    assert 0.05 <= r.min() and r.max() <= 1.0
    # On arm k the polar angle is 2 pi turns r + k pi (mod 2 pi).
    expected = 2 * np.pi * turns * r + np.pi * y
    diff = np.angle(np.exp(1j * (np.arctan2(X[:, 1], X[:, 0]) - expected)))
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)
    assert SVC(kernel="rbf", C=100.0).fit(X, y).score(X, y) >= 0.97
    assert LogisticRegression().fit(X, y).score(X, y) <= 0.8


# --------------------------------------------------------------- heart attack ---

def test_heart_attack_features_are_standardized_and_labels_follow_the_logistic_model():
    X, y, w_true = D.heart_attack(n=40_000, seed=0, return_weights=True)
    assert w_true.shape == (3,)
    np.testing.assert_array_equal(w_true, D.HEART_WEIGHTS)
    assert len(D.HEART_FEATURES) == 2 and "cholesterol" in D.HEART_FEATURES[1]
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(X.std(axis=0), 1.0, atol=0.03)
    # Calibration: in each decile of the model's probability, the share of +1
    # labels matches the mean probability within 4 standard errors.
    p = 1.0 / (1.0 + np.exp(-(w_true[0] + X @ w_true[1:])))
    edges = np.quantile(p, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    for b in range(10):
        inside = bins == b
        share, mean_p = np.mean(y[inside] == 1), p[inside].mean()
        se = np.sqrt(mean_p * (1 - mean_p) / inside.sum())
        assert abs(share - mean_p) < 4 * se + 1e-3, (b, share, mean_p)
    # Maximum likelihood on many samples recovers the true weights.
    fit = LogisticRegression(C=1e6).fit(X, y)
    w_hat = np.r_[fit.intercept_, fit.coef_.ravel()]
    np.testing.assert_allclose(w_hat, w_true, atol=0.08)


def test_heart_attack_labels_are_noisy_not_a_sign():
    X, y = D.heart_attack(n=2000, seed=1)
    s = D.HEART_WEIGHTS[0] + X @ D.HEART_WEIGHTS[1:]
    disagree = np.mean(np.sign(s) != y)
    assert 0.1 < disagree < 0.4  # soft classification: the sign of the score often misses


# -------------------------------------------------------------- regression 20 ---

def test_regression_20_matches_the_curriculum_and_its_least_squares_fit():
    x, y = D.regression_20()
    assert x.shape == (20,) and y.shape == (20,) and x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(x, CURRICULUM_X)
    np.testing.assert_array_equal(y, CURRICULUM_Y)
    w, b = np.polyfit(x, y, deg=1)
    assert np.isclose(w, 3311 / 3325, rtol=0, atol=1e-12)
    assert np.isclose(b, 0.02, rtol=0, atol=1e-12)
    # The same fit in exact arithmetic, from the normal equations.
    xs = [Fraction(i, 2) for i in range(20)]
    ys = [Fraction(str(v)) for v in CURRICULUM_Y]
    mx, my = sum(xs) / 20, sum(ys) / 20
    w_exact = sum((a - mx) * (c - my) for a, c in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
    assert w_exact == Fraction(3311, 3325) and my - w_exact * mx == Fraction(1, 50)


def test_regression_20_goes_through_load_file(tmp_path, monkeypatch):
    data = tmp_path / "datasets"
    shutil.copytree(D.DATA_DIR, data)
    monkeypatch.setattr(D, "DATA_DIR", data)
    with open(data / "regression_20.csv", "a") as handle:
        handle.write("10.0,10.0\n")
    with pytest.raises(D.DatasetError, match="checksum"):
        D.regression_20()


# ------------------------------------------------------------------- digits ---

def test_load_digits_split_scale_and_stratification():
    X_train, X_test, y_train, y_test = D.load_digits(test_size=0.25, seed=0)
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert y_train.shape == (1347,) and y_test.shape == (450,)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0 and X_test.max() <= 1.0
    all_y = np.r_[y_train, y_test]
    assert set(all_y.tolist()) == set(range(10))
    for digit in range(10):
        total = np.count_nonzero(all_y == digit)
        assert abs(np.count_nonzero(y_test == digit) - 0.25 * total) <= 1
    # Unscaled: the raw 0..16 grey levels, the same split.
    raw_train, _, raw_y, _ = D.load_digits(test_size=0.25, seed=0, scale=False)
    assert raw_train.max() == 16.0 and np.all(raw_train == np.round(raw_train))
    np.testing.assert_allclose(raw_train / 16.0, X_train)
    np.testing.assert_array_equal(raw_y, y_train)


def test_load_digits_seed_images_and_torch():
    a = D.load_digits(seed=1)
    b = D.load_digits(seed=1)
    c = D.load_digits(seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[2], c[2])
    images = D.load_digits(seed=1, flatten=False)
    assert images[0].shape == (1347, 8, 8) and images[1].shape == (450, 8, 8)
    np.testing.assert_array_equal(images[0].reshape(-1, 64), a[0])
    tensors = D.load_digits(seed=1, as_torch=True, test_size=0.2)
    assert [t.dtype for t in tensors] == [torch.float32, torch.float32, torch.int64, torch.int64]
    assert tensors[0].shape[1] == 64 and len(tensors[0]) + len(tensors[1]) == 1797
    assert abs(len(tensors[1]) - 0.2 * 1797) <= 1


# ---------------------------------------------------------------- load_file ---

@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of datasets/, which the module then reads instead."""
    data = tmp_path / "datasets"
    shutil.copytree(D.DATA_DIR, data)
    monkeypatch.setattr(D, "DATA_DIR", data)
    return data


def test_manifest_lists_every_shipped_data_file_with_its_hash():
    names = {p.name for p in D.DATA_DIR.iterdir() if p.is_file()} - {D.MANIFEST_NAME, "README.md"}
    entries = dict(line.split()[::-1] for line in (D.DATA_DIR / D.MANIFEST_NAME).read_text().splitlines()
                   if line.strip())
    assert set(entries) == names and "regression_20.csv" in names
    for name, digest in entries.items():
        assert hashlib.sha256((D.DATA_DIR / name).read_bytes()).hexdigest() == digest


def test_load_file_good_file(data_copy):
    path = D.load_file("regression_20.csv")
    assert path == data_copy / "regression_20.csv"
    assert path.read_text().startswith("x,y\n")


def test_load_file_unknown_name(data_copy):
    with pytest.raises(D.DatasetError, match=r"'nope\.csv' is not a shipped data file.*regression_20\.csv"):
        D.load_file("nope.csv")
    with pytest.raises(D.DatasetError):
        D.load_file("../pyproject.toml")
    assert issubclass(D.DatasetError, ValueError)


def test_load_file_missing_file(data_copy):
    (data_copy / "regression_20.csv").unlink()
    with pytest.raises(D.DatasetError, match=r"regression_20\.csv is missing.*git"):
        D.load_file("regression_20.csv")


def test_load_file_altered_file_names_both_hashes(data_copy):
    path = data_copy / "regression_20.csv"
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(path.read_text().replace("9.5,9.5", "9.5,9.6"))
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(D.DatasetError) as info:
        D.load_file("regression_20.csv")
    message = str(info.value)
    assert "regression_20.csv" in message and expected in message and actual in message
    assert "git checkout" in message


def test_load_file_missing_manifest(data_copy):
    (data_copy / D.MANIFEST_NAME).unlink()
    with pytest.raises(D.DatasetError, match="manifest"):
        D.load_file("regression_20.csv")


def test_load_file_verifies_once_per_process_but_catches_later_edits(data_copy, monkeypatch):
    hashed = []
    real_sha256 = D._sha256
    monkeypatch.setattr(D, "_sha256", lambda path: hashed.append(path) or real_sha256(path))
    D.load_file("regression_20.csv")
    D.load_file("regression_20.csv")
    D.load_file("regression_20.csv")
    assert len(hashed) == 1
    with open(data_copy / "regression_20.csv", "a") as handle:
        handle.write("# edited\n")
    with pytest.raises(D.DatasetError, match="checksum"):
        D.load_file("regression_20.csv")
    assert len(hashed) == 2
