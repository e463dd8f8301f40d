"""Device choice, seeding, timing and the workbook's health check.

Every notebook starts with ``device = get_device()``: a student on a laptop gets
the CPU, a student with an NVIDIA card gets CUDA, a Mac gets MPS, and nobody has
to edit code. ``COURSEKIT_DEVICE=cpu`` (or ``cuda``, ``cuda:1``, ``mps``)
overrides the choice, for example to compare timings.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

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
