"""coursekit.device: device choice (with CUDA / MPS simulated), seeding, timing, doctor()."""
from __future__ import annotations

import random
import time
from importlib import metadata

import numpy as np
import pytest
import torch

from coursekit import device as dev


@pytest.fixture(autouse=True)
def no_override(monkeypatch):
    """Each test starts without COURSEKIT_DEVICE, whatever the shell that runs pytest set."""
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)


@pytest.fixture
def hardware(monkeypatch):
    """Pretend the machine has the given accelerators: hardware(cuda=..., mps=..., cuda_count=...)."""

    def pretend(cuda: bool = False, mps: bool = False, cuda_count: int = 1):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda_count if cuda else 0)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return pretend


# ------------------------------------------------------------- get_device ---

def test_no_accelerator_gives_cpu(hardware):
    hardware(cuda=False, mps=False)
    assert dev.get_device() == torch.device("cpu")
    assert dev.get_device("auto") == torch.device("cpu")


def test_unmocked_choice_matches_this_machine():
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert dev.get_device().type == expected


def test_cuda_is_preferred_then_mps(hardware):
    hardware(cuda=True, mps=True)
    assert dev.get_device() == torch.device("cuda")
    hardware(cuda=False, mps=True)
    assert dev.get_device() == torch.device("mps")


def test_override_cpu_even_with_cuda(hardware, monkeypatch):
    hardware(cuda=True)
    monkeypatch.setenv(dev.DEVICE_ENV, "cpu")
    assert dev.get_device() == torch.device("cpu")
    monkeypatch.setenv(dev.DEVICE_ENV, " auto ")
    assert dev.get_device() == torch.device("cuda")


def test_prefer_argument_beats_the_environment(hardware, monkeypatch):
    hardware(cuda=False)
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    assert dev.get_device(prefer="cpu") == torch.device("cpu")


def test_cuda_requested_without_cuda_is_an_error_not_a_fallback(hardware, monkeypatch):
    hardware(cuda=False)
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError, match=r"CUDA is not available.*COURSEKIT_DEVICE.*'cpu'"):
        dev.get_device()


def test_cuda_index_beyond_the_machine(hardware, monkeypatch):
    hardware(cuda=True, cuda_count=1)
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda:0")
    assert dev.get_device() == torch.device("cuda:0")
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda:3")
    with pytest.raises(RuntimeError, match=r"1 CUDA device"):
        dev.get_device()


def test_mps_requested_without_mps(hardware, monkeypatch):
    hardware(mps=False)
    monkeypatch.setenv(dev.DEVICE_ENV, "mps")
    with pytest.raises(RuntimeError, match="MPS is not available"):
        dev.get_device()


@pytest.mark.parametrize("garbage", ["gpu please", "cuda:x", "tpu", "meta"])
def test_garbage_override_is_a_value_error(monkeypatch, garbage):
    monkeypatch.setenv(dev.DEVICE_ENV, garbage)
    with pytest.raises(ValueError, match=r"expected .*'cpu'"):
        dev.get_device()


# ---------------------------------------------------------------- set_seed ---

def draws():
    return (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist(), torch.randn(2, 2).tolist())


def test_set_seed_repeats_python_numpy_and_torch_draws():
    rng1 = dev.set_seed(123)
    first, g1 = draws(), rng1.normal(size=4)
    rng2 = dev.set_seed(123)
    second, g2 = draws(), rng2.normal(size=4)
    assert first == second
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(g1, np.random.default_rng(123).normal(size=4))
    assert isinstance(rng1, np.random.Generator)
    dev.set_seed(124)
    assert draws() != first


def test_set_seed_accepts_large_and_numpy_seeds():
    dev.set_seed(2**40)  # larger than NumPy's legacy 32-bit seed range
    a = draws()
    dev.set_seed(np.int64(2**40))
    assert draws() == a


@pytest.mark.parametrize("bad", [-1, 1.5, "0", None, True])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        dev.set_seed(bad)


# ------------------------------------------------------------------ timing ---

def test_timer_measures_a_sleep():
    with dev.Timer("nap") as timer:
        time.sleep(0.05)
    assert 0.05 <= timer.seconds < 2.0  # generous upper bound: the machine is shared
    assert str(timer).startswith("nap: ") and str(timer).endswith(" s")


def test_timed_prints_and_returns_the_timer(capsys):
    with dev.timed("training") as timer:
        time.sleep(0.02)
    out = capsys.readouterr().out
    assert timer.seconds >= 0.02
    assert out.startswith("training: ") and out.strip().endswith(" s")
    with dev.timed("quiet", verbose=False) as quiet:
        time.sleep(0.01)
    assert capsys.readouterr().out == "" and quiet.seconds >= 0.01


# ------------------------------------------------------------------ doctor ---

def test_doctor_reports_findings_with_marks(capsys, hardware):
    hardware(cuda=False, mps=False)
    findings = dev.doctor()
    out = capsys.readouterr().out
    assert findings and all(isinstance(f.ok, bool) for f in findings)
    lines = out.strip().splitlines()
    finding_lines = lines[:-1]
    assert len(finding_lines) == len(findings)
    for finding, line in zip(findings, finding_lines):
        assert line.startswith("\u2713 " if finding.ok else "\u2717 ")
        assert finding.what in line
    assert any("Python" in f.what for f in findings)
    assert any(f.what.startswith("coursekit will compute on: cpu") for f in findings)
    assert any("GPU: none" in f.what for f in findings)
    bad = sum(not f.ok for f in findings)
    assert lines[-1] == ("All good." if bad == 0 else f"{bad} problem(s) found; see the advice after each \u2717.")


def test_doctor_flags_a_missing_package(capsys, monkeypatch):
    real_version = metadata.version

    def version(name):
        if name == "ipympl":
            raise metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(dev.metadata, "version", version)
    findings = dev.doctor()
    out = capsys.readouterr().out
    missing = [f for f in findings if f.what == "ipympl is not installed"]
    assert len(missing) == 1 and not missing[0].ok and "pip install" in missing[0].advice
    assert "\u2717 ipympl is not installed  -> " in out
    assert "problem(s) found" in out


def test_doctor_flags_a_version_other_than_the_pinned_one(capsys, monkeypatch):
    pinned = dev._pinned_versions()["numpy"]
    real_version = metadata.version
    monkeypatch.setattr(dev.metadata, "version", lambda name: "1.0.0" if name == "numpy" else real_version(name))
    findings = dev.doctor()
    out = capsys.readouterr().out
    numpy_line = [f for f in findings if f.what.startswith("numpy ")]
    assert len(numpy_line) == 1 and not numpy_line[0].ok
    assert numpy_line[0].what == f"numpy 1.0.0, the course is tested with {pinned}"
    assert numpy_line[0].advice == f"pip install 'numpy=={pinned}'"
    assert f"\u2717 numpy 1.0.0, the course is tested with {pinned}  -> pip install 'numpy=={pinned}'" in out


def test_doctor_names_the_gpu_and_its_memory(monkeypatch, hardware):
    class Props:
        name = "NVIDIA Imaginary 40GB"
        total_memory = 40 * 2**30

    hardware(cuda=True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: Props())
    findings = dev.doctor(verbose=False)
    assert any(f.ok and f.what == "GPU: NVIDIA Imaginary 40GB, 40.0 GiB" for f in findings)
    assert any(f.what == "coursekit will compute on: cuda" for f in findings)


def test_doctor_flags_a_broken_override(capsys, monkeypatch, hardware):
    hardware(cuda=False)
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    findings = dev.doctor(verbose=False)
    assert capsys.readouterr().out == ""
    broken = [f for f in findings if "override" in f.what]
    assert len(broken) == 1 and not broken[0].ok and dev.DEVICE_ENV in broken[0].advice


# --------------------------------------------------------------------- GPU ---

def small_mlp_and_chain(device):
    """A seeded float64 computation: a two-layer MLP's forward pass, then a chain of matmuls."""
    gen = torch.Generator().manual_seed(7)  # drawn on the CPU, then moved: the same numbers everywhere
    x = torch.randn(64, 32, generator=gen, dtype=torch.float64)
    W1 = torch.randn(32, 128, generator=gen, dtype=torch.float64) / 32**0.5
    b1 = torch.randn(128, generator=gen, dtype=torch.float64)
    W2 = torch.randn(128, 10, generator=gen, dtype=torch.float64) / 128**0.5
    chain = [torch.randn(64, 64, generator=gen, dtype=torch.float64) / 8 for _ in range(6)]
    x, W1, b1, W2 = (t.to(device) for t in (x, W1, b1, W2))
    logits = torch.tanh(x @ W1 + b1) @ W2
    probs = torch.softmax(logits, dim=1)
    product = torch.eye(64, dtype=torch.float64, device=device)
    for M in chain:
        product = product @ M.to(device)
    return probs.cpu(), product.cpu()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none on this machine")
def test_cuda_is_picked_and_matches_the_cpu():
    device = dev.get_device()
    assert device.type == "cuda"
    dev.set_seed(0)
    probs_gpu, product_gpu = small_mlp_and_chain(device)
    probs_cpu, product_cpu = small_mlp_and_chain(torch.device("cpu"))
    torch.testing.assert_close(probs_gpu, probs_cpu, rtol=0, atol=1e-6)
    torch.testing.assert_close(product_gpu, product_cpu, rtol=0, atol=1e-6)
    # Seeded CUDA draws repeat too.
    dev.set_seed(5)
    a = torch.rand(4, device=device)
    dev.set_seed(5)
    torch.testing.assert_close(a, torch.rand(4, device=device), rtol=0, atol=0)
    with dev.Timer() as timer:
        torch.ones(1000, 1000, device=device).sum()
    assert timer.seconds >= 0
    # doctor() names the real GPU and its memory.
    props = torch.cuda.get_device_properties(0)
    findings = dev.doctor(verbose=False)
    assert any(f.ok and f.what == f"GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB" for f in findings)


def test_doctor_does_not_switch_the_notebook_to_live_figures():
    """Importing ipympl turns a notebook's plain figures into live canvases (which a
    reopened notebook cannot show), so doctor() only looks the package up."""
    import subprocess
    import sys

    code = ("import sys, coursekit; coursekit.doctor(verbose=False); "
            "print('ipympl' in sys.modules, 'ipympl.backend_nbagg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ------------------------------------------------------- the thread policy ---

def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_threads_for_is_one_thread_for_small_work_on_the_cpu():
    small = torch.nn.Linear(10, 10)
    large = torch.nn.Linear(1000, 1000)                      # 1,001,000 parameters
    assert dev.threads_for(small) == 1
    assert dev.threads_for(large) is None                    # the libraries' own setting
    assert dev.threads_for(dev.SMALL_WORK_PARAMS - 1) == 1 and dev.threads_for(dev.SMALL_WORK_PARAMS) is None
    assert dev.threads_for(small, "cuda") is None and dev.threads_for(small, torch.device("cuda:1")) is None
    assert dev.threads_for(small, "cpu") == 1
    assert dev.threads_for(object()) is None                 # size unknown: leave the settings alone
    from coursekit import nn as cnn

    net = cnn.mlp([4, 8, 3], "relu", rng=0)                  # a NumPy network: counted by its arrays
    assert dev.threads_for(net) == 1
    assert dev._parameter_count(net) == 4 * 8 + 8 + 8 * 3 + 3


def test_cpu_threads_sets_torch_and_blas_threads_and_restores_both():
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(2, user_api="blas"):              # as a machine with two cores starts
        torch.set_num_threads(2)
        try:
            with dev.cpu_threads("auto", torch.nn.Linear(4, 4)):
                assert torch.get_num_threads() == 1
                assert _blas_threads() and set(_blas_threads()) == {1}
            assert torch.get_num_threads() == 2 and set(_blas_threads()) == {2}
            with dev.cpu_threads("auto", torch.nn.Linear(1000, 1000)):   # large: left alone
                assert torch.get_num_threads() == 2 and set(_blas_threads()) == {2}
            with dev.cpu_threads(None):
                assert torch.get_num_threads() == 2
            with dev.cpu_threads(1):
                assert torch.get_num_threads() == 1 and set(_blas_threads()) == {1}
                torch.set_num_threads(1)
            assert torch.get_num_threads() == 2 and set(_blas_threads()) == {2}
            with pytest.raises(ValueError, match="threads"):
                with dev.cpu_threads(0):
                    pass
            with pytest.raises(ValueError, match="threads"):
                with dev.cpu_threads("two"):
                    pass
            with pytest.raises(RuntimeError):                # restored when the block raises, too
                with dev.cpu_threads(1):
                    raise RuntimeError("student code failed")
            assert torch.get_num_threads() == 2 and set(_blas_threads()) == {2}
        finally:
            torch.set_num_threads(before)


def test_model_threads_runs_a_function_of_a_model_under_the_policy():
    seen = []

    @dev.model_threads
    def forward_count(model, x, *, times=1):
        """Run the model."""
        seen.append((torch.get_num_threads(), set(_blas_threads())))
        return model(x).shape, times

    before = torch.get_num_threads()
    assert forward_count(torch.nn.Linear(3, 2), torch.zeros(5, 3), times=2) == ((5, 2), 2)
    assert seen == [(1, {1})] and torch.get_num_threads() == before
    assert forward_count.__doc__ == "Run the model." and forward_count.__name__ == "forward_count"
