"""Device choice, CPU threads, seeding, timing and the workbook's health check.

Every notebook starts with ``device = get_device()``: a student on a laptop gets
the CPU, a student with an NVIDIA card gets CUDA, a Mac gets MPS, and nobody has
to edit code. ``COURSEKIT_DEVICE=cpu`` (or ``cuda``, ``cuda:1``, ``mps``)
overrides the choice, for example to compare timings.

CPU threads: the workbook's one policy is :func:`threads_for` (one thread for
small work), applied by :func:`cpu_threads` / :func:`model_threads` around every
coursekit loop that computes with a model; see the section below.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import random
import sys
import functools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from ._validate import whole_number

DEVICE_ENV = "COURSEKIT_DEVICE"


def _torch():
    import torch  # imported lazily: the pure-NumPy parts of the course need no torch

    return torch


def cuda_available() -> bool:
    return _torch().cuda.is_available()


def mps_available() -> bool:
    backends = getattr(_torch(), "backends", None)
    mps = getattr(backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(prefer: str | None = None):
    """The torch device to compute on: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or the environment variable ``COURSEKIT_DEVICE``) names a device
    explicitly; asking for one that is not there is an error, not a silent
    fall-back, so a timing labelled "GPU" is never secretly a CPU timing.
    """
    torch = _torch()
    wanted = prefer if prefer is not None else os.environ.get(DEVICE_ENV, "").strip()
    if not wanted or wanted == "auto":
        if cuda_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(wanted)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"{DEVICE_ENV}/prefer={wanted!r} is not a device name; "
            "expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from err
    if device.type == "cuda":
        if not cuda_available():
            raise RuntimeError(
                f"device {wanted!r} was requested but CUDA is not available on this machine; "
                f"unset {DEVICE_ENV} or set it to 'cpu'"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise RuntimeError(f"device {wanted!r} was requested but this machine has {count} CUDA device(s)")
    elif device.type == "mps" and not mps_available():
        raise RuntimeError(f"device 'mps' was requested but Apple MPS is not available; unset {DEVICE_ENV}")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {wanted!r}; expected 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return device


# ----------------------------------------------------------- CPU threads ---
# The workbook's thread policy, the same for students, instructors and CI.
#
# Every model of the workbook is small (at most a few hundred thousand parameters), and
# so are the arrays of its NumPy code. A second CPU thread gives such work almost nothing
# to split and costs a hand-off per operation; worse, the libraries' idle worker threads
# keep spinning for a while after each operation (torch's OpenMP threads, and NumPy's
# OpenBLAS threads, which OMP_WAIT_POLICY does not reach), so on a machine that also
# runs a browser, or other jobs, they take the core the real work needs. Measured on the
# course machines (2 shared cores): torch MLPs of 3e3 to 6.5e5 parameters trained 15-30x
# faster in wall time with one thread under load and 1.1-1.4x faster idle
# (benchmarks/bench_nn.py); coursekit.nn.fit on the digits (64-128-10) 20-35x faster in wall
# time and about 20x in CPU time with one BLAS thread under load (bench_nn's "thread policy" rows).
#
# So: work on the CPU with a model under SMALL_WORK_PARAMS parameters runs on ONE thread,
# torch's intra-op threads and NumPy's BLAS threads both (the latter through threadpoolctl);
# anything larger, or on a GPU, keeps the libraries' own settings. coursekit applies it
# inside its own loops only (training, evaluation, attacks, decoding, nn.fit, ...) and
# restores the previous settings afterwards, so a student's own code is left as it is.

SMALL_WORK_PARAMS = 1_000_000


def _parameter_count(model) -> int | None:
    """Parameters of a torch module, a coursekit.nn network or layer (``.params``), or an int."""
    if isinstance(model, (int, np.integer)) and not isinstance(model, bool):
        return int(model)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return sum(p.numel() for p in model.parameters())
    if callable(getattr(model, "n_parameters", None)):
        return int(model.n_parameters())
    params = getattr(model, "params", None)
    if isinstance(params, dict):
        return sum(int(np.size(v)) for v in params.values())
    return None


def _device_of(model):
    """Where a torch module's parameters are (None: the CPU, or no parameters)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        parameter = next(model.parameters(), None)
        return parameter.device if parameter is not None else None
    return None


def threads_for(model=None, device=None) -> int | None:
    """The number of CPU threads coursekit computes ``model`` with: 1 for small work on the
    CPU (fewer than :data:`SMALL_WORK_PARAMS` parameters), None (the libraries' own
    setting) for larger models, unknown sizes and work on a GPU.

    ``model``: a torch module, a coursekit.nn network or layer, or a parameter count;
    ``device``: where it computes (default: where a torch model's parameters are; the CPU
    for NumPy code).
    """
    if device is None:
        device = _device_of(model)
    if device is not None and str(getattr(device, "type", device)).split(":")[0] != "cpu":
        return None
    n = _parameter_count(model)
    return 1 if n is not None and n < SMALL_WORK_PARAMS else None


_BLAS = {"libraries": (), "modules": -1, "usable": True}


def _blas_libraries() -> tuple:
    """threadpoolctl's controllers of the loaded BLAS libraries (NumPy's OpenBLAS, SciPy's, MKL),
    looked up again only after new imports: a look-up costs about 1 ms, while getting and
    setting a library's thread count directly costs a microsecond. Empty where they cannot
    be reached (see :func:`_blas_unusable`)."""
    if _BLAS["usable"] and _BLAS["modules"] != len(sys.modules):
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS["libraries"] = tuple(ThreadpoolController().select(user_api="blas").lib_controllers)
            _BLAS["modules"] = len(sys.modules)
        except Exception:
            _blas_unusable()
    return _BLAS["libraries"]


def _blas_unusable() -> None:
    """BLAS threads are then left as they are: threadpoolctl reaches the libraries through ctypes,
    which the grading sandbox refuses (coursekit.grading.sandbox); torch's threads still follow."""
    _BLAS.update(libraries=(), usable=False)


@contextmanager
def cpu_threads(threads="auto", model=None, device=None):
    """Compute with ``threads`` CPU threads inside the block (torch's intra-op threads and
    NumPy's BLAS threads), then restore both settings.

    ``threads``: a positive int; "auto", the workbook's policy :func:`threads_for`
    (``model``, ``device``): one thread for small work on the CPU, else unchanged; or None
    (leave both settings). It only ever changes what it restores: a thread count you set
    yourself (``torch.set_num_threads``) holds again after the block.
    """
    if isinstance(threads, str) and threads == "auto":
        wanted = threads_for(model, device)
    elif threads is None:
        wanted = None
    else:
        wanted = whole_number("threads", threads, 1, meaning="CPU threads, or 'auto' or None", allow_float=False)
    if wanted is None:
        yield
        return
    torch = sys.modules.get("torch")   # only where torch is in use: NumPy code needs no torch import
    before = torch.get_num_threads() if torch is not None else None
    if before is not None and before != wanted:
        torch.set_num_threads(wanted)
    blas = []   # (library, its setting before)
    try:
        for lib in _blas_libraries():
            n = lib.get_num_threads()
            if n != wanted:
                lib.set_num_threads(wanted)
                blas.append((lib, n))
    except Exception:
        _blas_unusable()
    try:
        yield
    finally:
        for lib, n in blas:
            try:
                lib.set_num_threads(n)
            except Exception:
                _blas_unusable()
        if before is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)


def model_threads(fn):
    """Decorate ``fn(model, ...)`` to run under ``cpu_threads("auto", model)``: the thread policy
    for functions that run a model many times outside a training loop (attacks, decoding,
    evaluation, input optimization)."""
    @functools.wraps(fn)
    def wrapped(model, *args, **kwargs):
        with cpu_threads("auto", model):
            return fn(model, *args, **kwargs)
    return wrapped


def set_seed(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy and torch (every CUDA device too) and return a NumPy Generator.

    Results are then the same on every run of a notebook on the same machine.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = _torch()
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)


@dataclass
class Timer:
    """Wall-clock timer; on CUDA it synchronizes first so GPU work is counted."""

    label: str = ""
    seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def _sync(self):
        if "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
            sys.modules["torch"].cuda.synchronize()

    def __enter__(self):
        self._sync()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self._sync()
        self.seconds = time.perf_counter() - self._start
        return False

    def __str__(self):
        return f"{self.label + ': ' if self.label else ''}{self.seconds:.3f} s"


@contextmanager
def timed(label: str = "", verbose: bool = True):
    """``with timed("training"):`` prints how long the block took."""
    timer = Timer(label)
    with timer:
        yield timer
    if verbose:
        print(timer)


# ---------------------------------------------------------------- doctor ----

@dataclass
class Finding:
    ok: bool
    what: str
    advice: str = ""

    def __str__(self):
        mark = "\u2713" if self.ok else "\u2717"
        return f"{mark} {self.what}" + (f"  -> {self.advice}" if (self.advice and not self.ok) else "")


def _pinned_versions() -> dict[str, str]:
    """The exact versions of constraints.txt, when the workbook is a source checkout."""
    path = Path(__file__).resolve().parent.parent / "constraints.txt"
    pins: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                name, version = line.split("==", 1)
                pins[name.strip().lower()] = version.strip()
    return pins


_CHECKED_PACKAGES = ["numpy", "torch", "matplotlib", "scikit-learn", "jupyterlab", "ipywidgets", "ipympl"]


def _package_findings(pins: dict[str, str]) -> list[Finding]:
    findings = []
    for name in _CHECKED_PACKAGES:
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            findings.append(Finding(False, f"{name} is not installed", "run `make lab` (or `pip install -e . -c constraints.txt`)"))
            continue
        want = pins.get(name)
        base = have.split("+", 1)[0]
        if want is None or base == want.split("+", 1)[0]:
            findings.append(Finding(True, f"{name} {have}" + (" (as pinned)" if want else "")))
        else:
            findings.append(Finding(False, f"{name} {have}, the course is tested with {want}",
                                    f"pip install '{name}=={want}'"))
    return findings


def _hardware_findings() -> list[Finding]:
    findings = [Finding(True, f"CPU: {os.cpu_count()} logical cores ({platform.machine()})")]
    try:
        torch = _torch()
    except ImportError:
        return findings
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        findings.append(Finding(True, f"GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB"))
    elif mps_available():
        findings.append(Finding(True, "GPU: Apple MPS"))
    else:
        findings.append(Finding(True, "GPU: none; every notebook runs on the CPU (training cells just take longer)"))
    try:
        findings.append(Finding(True, f"coursekit will compute on: {get_device()}"))
    except (RuntimeError, ValueError) as err:
        findings.append(Finding(False, f"device override {os.environ.get(DEVICE_ENV)!r} fails: {err}",
                                f"unset {DEVICE_ENV}"))
    return findings


def _frontend_findings() -> list[Finding]:
    findings = []
    try:
        import ipywidgets

        major = int(ipywidgets.__version__.split(".")[0])
        findings.append(Finding(major >= 8, f"ipywidgets {ipywidgets.__version__} (widgets need 8.x)",
                                "pip install 'ipywidgets>=8,<9'"))
    except ImportError:
        findings.append(Finding(False, "ipywidgets missing: widgets cannot show", "pip install 'ipywidgets>=8,<9'"))
    try:
        metadata.version("jupyterlab_widgets")
        findings.append(Finding(True, "widget front-end for JupyterLab (jupyterlab_widgets) installed"))
    except metadata.PackageNotFoundError:
        findings.append(Finding(False, "jupyterlab_widgets missing: JupyterLab will print 'Error displaying widget'",
                                "pip install jupyterlab_widgets, then restart JupyterLab"))
    # Looked up, not imported: importing ipympl switches the notebook's figures to live canvases.
    if importlib.util.find_spec("ipympl") is not None:
        findings.append(Finding(True, "ipympl installed: the widgets' figures are interactive"))
    else:
        findings.append(Finding(False, "ipympl missing: the widgets' figures will not be interactive",
                                "pip install ipympl"))
    return findings


def doctor(verbose: bool = True) -> list[Finding]:
    """Check the workbook's set-up: versions, CPU/GPU, the widget front-end.

    Prints one line per finding, each a check mark or a cross with what to do.
    Returns the findings, so a test (or a curious student) can inspect them.
    """
    findings = [Finding(sys.version_info >= (3, 10), f"Python {platform.python_version()}",
                        "the workbook needs Python 3.10 or newer")]
    findings += _package_findings(_pinned_versions())
    findings += _hardware_findings()
    findings += _frontend_findings()
    if verbose:
        for finding in findings:
            print(finding)
        bad = sum(not f.ok for f in findings)
        print("All good." if not bad else f"{bad} problem(s) found; see the advice after each \u2717.")
    return findings
