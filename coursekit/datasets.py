"""The workbook's data: seeded toy generators, the shipped data files, real digits.

Every generator takes a ``seed`` and returns NumPy arrays: the same seed gives
the same data on every machine, another seed gives another draw. Points are
float64 arrays of shape (n, 2); labels are integer arrays of shape (n,).

Two label conventions, following the lectures:

* the perceptron and logistic-regression sets (``linearly_separable``,
  ``noisy_separable``, ``credit_approval``, ``heart_attack``) use
  y in {-1, +1}, as in deck 000 (o = +1, x = -1);
* the "what a linear classifier cannot do" sets and the nonlinear demos
  (``xor_quadrants``, ``ring``, ``three_modes``, ``two_moons``, ``spiral``)
  use y in {0, 1}, the class indices a softmax classifier or an MLP trains on.

Files shipped in the repository's ``datasets/`` folder are read through
:func:`load_file`, which checks each against ``datasets/MANIFEST.sha256`` so a
corrupted or edited data file is caught before it silently changes a lesson.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ._validate import real_number, whole_number

__all__ = [
    "CREDIT_FEATURES",
    "HEART_FEATURES",
    "HEART_WEIGHTS",
    "DATA_DIR",
    "MANIFEST_NAME",
    "DatasetError",
    "linearly_separable",
    "noisy_separable",
    "credit_approval",
    "xor_quadrants",
    "ring",
    "three_modes",
    "eight_gaussians",
    "two_moons",
    "spiral",
    "gaussian_blobs",
    "heart_attack",
    "regression_20",
    "load_digits",
    "load_file",
]

# ------------------------------------------------------- argument checks ---


def _check_int(name: str, value, minimum: int) -> int:
    """An int (or NumPy integer) >= minimum: sizes and seeds are not given as floats here."""
    return whole_number(name, value, minimum, noun="integer", allow_float=False)


def _rng(seed) -> np.random.Generator:
    seed = _check_int("seed", seed, 0)
    return np.random.default_rng(seed)


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray):
    """Mix the classes, so that the first k points are not all of one class."""
    order = rng.permutation(len(y))
    return X[order], y[order]


def _first_n_both_classes(draw, n: int):
    """The first n accepted points of a stream of batches, with both labels present.

    ``draw(m)`` draws m candidates and returns the accepted ones with their
    labels. If the first n all share one label (rare, for small n), the last
    of them is swapped for the first point of the other class.
    """
    Xs, ys, count = [], [], 0
    while count < n or len(np.unique(np.concatenate(ys))) < 2:
        X, y = draw(4 * n + 16)
        Xs.append(X)
        ys.append(y)
        count += len(y)
    X, y = np.concatenate(Xs), np.concatenate(ys)
    keep = np.arange(n)
    if np.all(y[:n] == y[0]):
        keep[-1] = np.flatnonzero(y != y[0])[0]
    return X[keep].astype(np.float64), y[keep].astype(np.int64)


# --------------------------------------------- perceptron (deck 000 unit 2) ---

# The largest margin accepted. With the line's offset limited as in
# _separable, each side keeps a band at least 0.7 (1 - margin) >= 0.35 wide
# beyond the margin, so points are found quickly on both sides.
_MAX_MARGIN = 0.5


def _separable(n: int, margin: float, rng: np.random.Generator):
    """Uniform points of [-1, 1]^2 at distance >= margin from a random line.

    The target line is w_f . (1, x1, x2) = 0 with a unit normal (w1, w2), so
    w_f . (1, x) is the *signed distance* of x from the line.
    """
    angle = rng.uniform(0.0, 2.0 * np.pi)
    normal = np.array([np.cos(angle), np.sin(angle)])
    # Over the square, normal . x ranges over [-h, h], with h = |cos| + |sin|.
    h = np.abs(normal).sum()
    # Keep the line far enough inside the square that both sides have room.
    w0 = rng.uniform(-0.3, 0.3) * (h - margin)
    w_f = np.array([w0, *normal])

    def draw(m):
        X = rng.uniform(-1.0, 1.0, size=(m, 2))
        distance = w_f[0] + X @ w_f[1:]
        keep = (np.abs(distance) >= margin) & (distance != 0)
        return X[keep], np.where(distance[keep] > 0, 1, -1)

    X, y = _first_n_both_classes(draw, n)
    return X, y, w_f


def linearly_separable(n: int = 40, margin: float = 0.1, seed: int = 0, return_weights: bool = False):
    """n points in [-1, 1]^2, labelled +1 / -1 by the side of a random line.

    Every point lies at geometric distance >= ``margin`` from the line, and
    both classes are present, so PLA converges. ``margin`` must be in
    [0, 0.5]; larger margins leave too little of the square on one side.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {-1, +1}; with
    ``return_weights=True`` also ``w_f`` (3,), the target line in
    bias-augmented form (w0, w1, w2) with ||(w1, w2)|| = 1, so that
    sign(w_f . (1, x1, x2)) = y and y * (w_f . (1, x1, x2)) >= margin.
    """
    n = _check_int("n", n, 2)
    margin = real_number("margin", margin, 0.0, _MAX_MARGIN)
    X, y, w_f = _separable(n, margin, _rng(seed))
    return (X, y, w_f) if return_weights else (X, y)


def noisy_separable(n: int = 40, margin: float = 0.1, noise: float = 0.1, seed: int = 0,
                    return_weights: bool = False):
    """``linearly_separable(n, margin, seed)`` with round(noise * n) labels flipped.

    The points and the clean labels are exactly those of ``linearly_separable``
    with the same arguments; then ``round(noise * n)`` distinct points, chosen
    at random, get the opposite label (Python's ``round``: halves go to the
    even integer). The data is then usually not separable: the pocket
    algorithm's case. ``noise`` must be in [0, 0.5]. With
    ``return_weights=True`` also returns the clean target line ``w_f``.
    """
    n = _check_int("n", n, 2)
    margin = real_number("margin", margin, 0.0, _MAX_MARGIN)
    noise = real_number("noise", noise, 0.0, 0.5)
    rng = _rng(seed)
    X, y, w_f = _separable(n, margin, rng)
    flip = rng.choice(n, size=round(noise * n), replace=False)
    y = y.copy()
    y[flip] = -y[flip]
    return (X, y, w_f) if return_weights else (X, y)


CREDIT_FEATURES = ("age (years)", "salary (thousand)")

# The bank's (hidden) rule works on standardized features z = (x - mean) / std,
# with the population's mean and spread (not the sample's, so the rule does not
# depend on which customers happen to be drawn).
_CREDIT_MEAN = np.array([45.0, 70.0])
_CREDIT_STD = np.array([14.0, 30.0])
_CREDIT_RULE = np.array([-0.3, 0.45, 1.0])  # (bias, age, salary): salary counts most
_CREDIT_GAP = 0.15  # minimum distance from the rule's line, in standardized units


def credit_approval(n: int = 40, seed: int = 0):
    """The credit-approval toy problem of deck 000: (age, salary) -> approve?

    Features (see ``CREDIT_FEATURES``): age in years (uniform in 20-70) and
    annual salary in thousands (15-150, growing with age on average). The
    label is +1 (approve) or -1 (deny) from a linear rule on the standardized
    features, and no customer lies within a small gap of the rule's line, so
    the set is linearly separable (in raw units too: standardizing is an
    affine map). Both classes are present.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {-1, +1}.
    """
    n = _check_int("n", n, 2)
    rng = _rng(seed)
    unit_rule = _CREDIT_RULE / np.linalg.norm(_CREDIT_RULE[1:])

    def draw(m):
        age = rng.uniform(20.0, 70.0, size=m)
        # Salaries rise with age until about 55 and vary a lot between people.
        typical = 30.0 + 1.6 * (np.minimum(age, 55.0) - 20.0)
        salary = np.clip(typical * rng.lognormal(0.0, 0.35, size=m), 15.0, 150.0)
        X = np.round(np.column_stack([age, salary]), 1)  # as a bank's form would record them
        score = unit_rule[0] + ((X - _CREDIT_MEAN) / _CREDIT_STD) @ unit_rule[1:]
        keep = np.abs(score) >= _CREDIT_GAP
        return X[keep], np.where(score[keep] > 0, 1, -1)

    return _first_n_both_classes(draw, n)


# ------------------------------------- what a linear classifier cannot do ---

def xor_quadrants(n: int = 200, noise: float = 0.0, seed: int = 0):
    """Points in [-1, 1]^2 labelled by the XOR of their coordinates' signs.

    y = 1 where x1 and x2 have opposite signs (2nd and 4th quadrants), y = 0
    where they agree (1st and 3rd). No line separates the classes. ``noise``
    (>= 0) is the standard deviation of Gaussian jitter added to the points
    *after* labelling, which blurs the borders at the axes.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {0, 1}.
    """
    n = _check_int("n", n, 4)
    noise = real_number("noise", noise, 0.0, 1.0)
    rng = _rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    X = X + noise * rng.standard_normal((n, 2))
    return X, y


def ring(n: int = 200, seed: int = 0):
    """An inner disc (y = 1, radius < 0.5) inside an outer ring (y = 0, radius 0.8-1.1).

    Half the points (rounded down) are in the disc, the rest in the ring, each
    uniform over its area; the points are shuffled. A linear classifier cannot
    put a closed curve between the classes; one feature r^2 = x1^2 + x2^2 can.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {0, 1}.
    """
    n = _check_int("n", n, 2)
    rng = _rng(seed)
    n_in = n // 2

    def annulus(m, r_low, r_high):
        # Uniform over the area: r^2 is uniform, not r.
        r = np.sqrt(rng.uniform(r_low**2, r_high**2, size=m))
        phi = rng.uniform(0.0, 2.0 * np.pi, size=m)
        return np.column_stack([r * np.cos(phi), r * np.sin(phi)])

    X = np.concatenate([annulus(n_in, 0.0, 0.5), annulus(n - n_in, 0.8, 1.1)])
    y = np.r_[np.ones(n_in, dtype=np.int64), np.zeros(n - n_in, dtype=np.int64)]
    return _shuffled(rng, X, y)


_MODE_CENTERS = 1.2 * np.array([[np.cos(a), np.sin(a)] for a in np.deg2rad([90.0, 210.0, 330.0])])
_MODE_STD = 0.2
_MODE_CLEARANCE = 0.75  # class 0 keeps this distance from every mode's centre


def three_modes(n: int = 300, seed: int = 0):
    """Class 1 in three separated blobs, class 0 everywhere else (deck 001's "three modes").

    Class 1 (half the points, rounded down): Gaussian blobs (std 0.2) around
    three centres on a circle of radius 1.2, spread as evenly as possible.
    Class 0: uniform over [-2.5, 2.5]^2 except within 0.75 of a centre, so it
    surrounds the blobs and fills the middle between them. Any line leaves a
    blob, or a good part of class 0, on the wrong side.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {0, 1}.
    """
    n = _check_int("n", n, 4)
    rng = _rng(seed)
    n_mode = n // 2
    which = np.arange(n_mode) % 3
    modes = _MODE_CENTERS[which] + _MODE_STD * rng.standard_normal((n_mode, 2))

    rest, count = [], 0
    while count < n - n_mode:
        batch = rng.uniform(-2.5, 2.5, size=(2 * n, 2))
        gap = np.linalg.norm(batch[:, None, :] - _MODE_CENTERS[None], axis=2).min(axis=1)
        batch = batch[gap >= _MODE_CLEARANCE]
        rest.append(batch)
        count += len(batch)
    others = np.concatenate(rest)[: n - n_mode]

    X = np.concatenate([modes, others])
    y = np.r_[np.ones(n_mode, dtype=np.int64), np.zeros(n - n_mode, dtype=np.int64)]
    return _shuffled(rng, X, y)


# ------------------------------------------------------- nonlinear demos ---

def eight_gaussians(n: int = 512, radius: float = 2.0, std: float = 0.05, seed: int = 0):
    """Samples of the GAN target: eight Gaussians on a circle.

    The modes sit at angles 0, 45, ..., 315 degrees on the circle of the
    given ``radius``; each sample picks a mode uniformly at random and adds
    isotropic Gaussian noise of standard deviation ``std``. A generator that
    covers only some of the eight has "mode collapse".

    Returns ``X`` (n, 2) float64 only (a GAN needs no labels).
    """
    n = _check_int("n", n, 1)
    radius = real_number("radius", radius, 0.0, 1e6, low_open=True)
    std = real_number("std", std, 0.0, 1e6)
    rng = _rng(seed)
    angles = 2.0 * np.pi * rng.integers(0, 8, size=n) / 8.0
    centres = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return centres + std * rng.standard_normal((n, 2))


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaved half circles.

    Class 0 (half the points, rounded down): the upper arc (cos t, sin t);
    class 1: the lower arc (1 - cos t, 0.5 - sin t), t uniform in [0, pi];
    then Gaussian jitter of standard deviation ``noise``; shuffled.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {0, 1}.
    """
    n = _check_int("n", n, 2)
    noise = real_number("noise", noise, 0.0, 1.0)
    rng = _rng(seed)
    n0 = n // 2
    t0 = rng.uniform(0.0, np.pi, size=n0)
    t1 = rng.uniform(0.0, np.pi, size=n - n0)
    X = np.concatenate([np.column_stack([np.cos(t0), np.sin(t0)]),
                        np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])])
    y = np.r_[np.zeros(n0, dtype=np.int64), np.ones(n - n0, dtype=np.int64)]
    X = X + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def spiral(n: int = 300, turns: float = 1.5, noise: float = 0.05, seed: int = 0):
    """Two interleaved spiral arms, one per class.

    Arm k (k = 0, 1) is r = t, angle = 2 pi turns t + k pi for t uniform in
    [0.05, 1]: the second arm is the first turned by half a circle. Class 0
    gets half the points (rounded down). Gaussian jitter of standard
    deviation ``noise`` is added; the points are shuffled.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {0, 1}.
    """
    n = _check_int("n", n, 2)
    turns = real_number("turns", turns, 0.0, 10.0, low_open=True)
    noise = real_number("noise", noise, 0.0, 1.0)
    rng = _rng(seed)
    y = np.r_[np.zeros(n // 2, dtype=np.int64), np.ones(n - n // 2, dtype=np.int64)]
    t = rng.uniform(0.05, 1.0, size=n)
    angle = 2.0 * np.pi * turns * t + np.pi * y
    X = np.column_stack([t * np.cos(angle), t * np.sin(angle)])
    X = X + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def gaussian_blobs(n: int = 200, spread: float = 0.35, seed: int = 0):
    """Two round Gaussian clouds: class 0 around (-0.5, -0.5), class 1 around (0.5, 0.5).

    Class 0 gets half the points (rounded down); each coordinate has standard
    deviation ``spread``. Up to ``spread`` ≈ 0.3 the clouds barely touch and one
    line separates them; larger spreads make them overlap (a noisy problem no
    classifier solves exactly). Shuffled.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {0, 1}.
    """
    n = _check_int("n", n, 2)
    spread = real_number("spread", spread, 0.0, 2.0, low_open=True)
    rng = _rng(seed)
    y = np.r_[np.zeros(n // 2, dtype=np.int64), np.ones(n - n // 2, dtype=np.int64)]
    X = (y[:, None] - 0.5) + spread * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


# ------------------------------------------- logistic regression (unit 03) ---

HEART_FEATURES = ("age (standardized)", "cholesterol (standardized)")
# The true risk model: P(y = +1 | x) = theta(w . (1, age_z, chol_z)).
HEART_WEIGHTS = np.array([-0.5, 1.5, 1.0])
_HEART_CORRELATION = 0.3  # older patients tend to have higher cholesterol


def heart_attack(n: int = 200, seed: int = 0, return_weights: bool = False):
    """A soft-classification toy set: heart-attack risk from age and cholesterol.

    The two features (``HEART_FEATURES``) are z-scores of age and cholesterol
    level (standard normal, correlation 0.3). Each label is *drawn* from the
    true logistic model

        P(y = +1 | x) = 1 / (1 + exp(-w_true . (1, x1, x2))),   w_true = HEART_WEIGHTS,

    so the same patient features can come with either label: the target is a
    probability, not a sign (deck 000: 'soft' binary classification).

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int in {-1, +1}; with
    ``return_weights=True`` also ``w_true`` (3,).
    """
    n = _check_int("n", n, 1)
    rng = _rng(seed)
    c = _HEART_CORRELATION
    z = rng.standard_normal((n, 2))
    X = np.column_stack([z[:, 0], c * z[:, 0] + np.sqrt(1.0 - c * c) * z[:, 1]])
    w_true = HEART_WEIGHTS.copy()
    p = 1.0 / (1.0 + np.exp(-(w_true[0] + X @ w_true[1:])))
    y = np.where(rng.uniform(size=n) < p, 1, -1).astype(np.int64)
    return (X, y, w_true) if return_weights else (X, y)


def regression_20():
    """The 20-point regression set of deck 003: x = 0.0, 0.5, ..., 9.5 and its y values.

    Read from the shipped file ``datasets/regression_20.csv`` (checksum-verified).
    Returns ``x`` and ``y``, float64 arrays of shape (20,).
    """
    data = np.loadtxt(load_file("regression_20.csv"), delimiter=",", skiprows=1, dtype=np.float64)
    if data.shape != (20, 2):
        raise DatasetError(f"regression_20.csv should hold 20 rows of (x, y), found shape {data.shape}")
    return data[:, 0].copy(), data[:, 1].copy()


# ------------------------------------------------------------ real digits ---

def load_digits(test_size: float = 0.25, seed: int = 0, as_torch: bool = False, scale: bool = True,
                flatten: bool = True):
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    A seeded, stratified train/test split (every digit keeps its share in
    both parts). Pixels are 0..16 in the raw data; ``scale=True`` divides by
    16 so they lie in [0, 1]. ``flatten=True`` gives rows of 64 pixels,
    ``flatten=False`` images of shape (8, 8).

    Returns ``(X_train, X_test, y_train, y_test)``: NumPy float64 / int64, or
    torch float32 / int64 tensors (on the CPU) with ``as_torch=True``.
    """
    test_size = real_number("test_size", test_size, 0.0, 1.0, low_open=True, high_open=True)
    seed = _check_int("seed", seed, 0)
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    digits = _sk_load_digits()
    X = digits.images.astype(np.float64) if not flatten else digits.data.astype(np.float64)
    if scale:
        X = X / 16.0
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    if as_torch:
        import torch

        return (torch.as_tensor(X_train, dtype=torch.float32), torch.as_tensor(X_test, dtype=torch.float32),
                torch.as_tensor(y_train, dtype=torch.int64), torch.as_tensor(y_test, dtype=torch.int64))
    return X_train, X_test, y_train, y_test


# ------------------------------------------------------ shipped data files ---

class DatasetError(ValueError):
    """A shipped data file is unknown, missing, or not the file the course was written for."""


# The repository's datasets/ folder, next to the package (a source checkout).
DATA_DIR = Path(__file__).resolve().parent.parent / "datasets"
MANIFEST_NAME = "MANIFEST.sha256"

# Files already verified in this process, keyed by path and (size, mtime):
# a file that changes on disk afterwards is verified again.
_verified: dict[Path, tuple[int, int]] = {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(data_dir: Path) -> dict[str, str]:
    path = data_dir / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(
            f"the checksum manifest {path} is missing; the data files ship with the workbook's "
            "source checkout (restore it with `git checkout -- datasets/`)")
    entries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64 or any(ch not in "0123456789abcdef" for ch in parts[0].lower()):
            raise DatasetError(f"{path}, line {number}: expected '<sha256 hex>  <file name>', got {line!r}")
        entries[parts[1].strip()] = parts[0].lower()
    return entries


def load_file(name: str) -> Path:
    """The path of the shipped data file ``datasets/<name>``, checked against the manifest.

    Raises :class:`DatasetError` (a ``ValueError``) when ``name`` is not listed
    in ``datasets/MANIFEST.sha256``, when the file is missing, or when its
    SHA-256 differs from the manifest's (then the file was edited or damaged:
    restore it with git). A file is hashed once per process unless it changes.
    """
    if not isinstance(name, str) or not name:
        raise DatasetError(f"name must be a file name such as 'regression_20.csv', got {name!r}")
    data_dir = Path(DATA_DIR)
    manifest = _manifest(data_dir)
    if name not in manifest:
        known = ", ".join(sorted(manifest)) or "none"
        raise DatasetError(f"{name!r} is not a shipped data file (not in {data_dir / MANIFEST_NAME}); "
                           f"known files: {known}")
    path = data_dir / name
    if not path.is_file():
        raise DatasetError(f"data file {path} is missing; restore it with `git checkout -- datasets/{name}`")
    stat = path.stat()
    stamp = (stat.st_size, stat.st_mtime_ns)
    key = path.resolve()
    if _verified.get(key) == stamp:
        return path
    actual = _sha256(path)
    expected = manifest[name]
    if actual != expected:
        _verified.pop(key, None)
        raise DatasetError(
            f"data file {path} does not match its checksum: expected sha256 {expected}, got {actual}. "
            f"The file was changed or damaged; restore it with `git checkout -- datasets/{name}`")
    _verified[key] = stamp
    return path
