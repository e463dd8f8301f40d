"""Unit 12 (generative models): the ring GAN's time to 8 / 8 modes, the GAN lab's
frame of ten steps + redraw in the kernel, and the diffusion model's training time. The lab's single
training step + redraw, in the kernel and in the browser, is in ``bench_widgets`` / ``bench_browser``
with every widget; the notebook's time in ``bench_notebooks``."""
from __future__ import annotations

import statistics
import time

import torch

from coursekit import datasets
from coursekit import generative as gen

from . import Row, gpu_devices, no_gpu_row

GROUP = "unit 12"


def seconds_to_all_modes(device: str, steps: int = 1500, every: int = 50) -> tuple[float, int, float, float]:
    """Train the ring configuration; return (CPU or wall seconds until 8 / 8 holds at every later
    check, that step, the first 8 / 8's seconds, the final % high-quality)."""
    X, modes = gen.lab_target("ring", 10_000, seed=0)
    trainer = gen.GANTrainer(X, modes=modes, seed=0, device=device, **gen.RING_CONFIG)
    clock = time.process_time if device == "cpu" else time.perf_counter
    checks, start = [], clock()
    for state in gen.gan_trace(trainer, steps):
        if state.step % every == 0:
            if device != "cpu":
                torch.cuda.synchronize()
            checks.append((state.step, trainer.coverage(2500).modes_covered, clock() - start))
    misses = [i for i, (_, m, _) in enumerate(checks) if m < 8]
    settled = misses[-1] + 1 if misses else 0
    first = next((s for _, m, s in checks if m == 8), float("nan"))
    step, _, seconds = checks[settled] if settled < len(checks) else (steps, 0, float("inf"))
    return seconds, step, first, trainer.coverage(2500).high_quality


def ring_rows() -> list[Row]:
    rows = []
    for device in ["cpu"] + gpu_devices():
        seconds, step, first, hq = seconds_to_all_modes(device)
        unit = "CPU s" if device == "cpu" else "s"
        rows.append(Row(GROUP, f"ring GAN: 8 / 8 modes on {device} (to stay)", seconds, unit, "<= 30 s", seconds <= 30,
                        f"8/8 at every check from step {step}; first 8/8 after {first:.1f} s; "
                        f"{100 * hq:.0f}% high-quality at step 1500"))
    if not gpu_devices():
        rows.append(no_gpu_row(GROUP, "ring GAN: 8 / 8 modes on cuda (to stay)"))
    return rows


def lab_rows(n: int = 40, frames: tuple[int, ...] = (10,)) -> list[Row]:
    """The GAN lab's step + redraw in the kernel: what one Play tick costs, with the PNG frame sent to
    the browser, at the default ten training steps per frame (one per frame: ``bench_widgets``); wall
    time (what a student waits for, inflated on a busy machine) and the kernel's CPU time."""
    from coursekit.widgets.gan import GANLab

    rows = []
    for per_frame in frames:
        lab = GANLab(steps_per_frame=per_frame)
        canvas = lab.fig.canvas
        canvas._handle_message(canvas, {"type": "initialized"}, [])   # as when a browser is attached
        canvas.draw()
        wall, cpu = [], []
        for tick in range(1, n + 4):
            w0, c0 = time.perf_counter(), time.process_time()
            lab.play.value = tick
            canvas.get_diff_image()
            if tick > 3:   # warm-up: the first frames draw in full
                wall.append(1000 * (time.perf_counter() - w0))
                cpu.append(1000 * (time.process_time() - c0))
        what = "1 training step + redraw" if per_frame == 1 else f"frame of {per_frame} steps + redraw"
        budget = per_frame == 1
        for clock, samples in (("", wall), (" CPU", cpu)):
            median, worst = statistics.median(samples), max(samples)
            rows.append(Row(GROUP, f"GAN lab: {what}{clock}, median", median, "ms", "<= 50 ms" if budget else "",
                            median <= 50 if budget else None, f"on {lab.trainer.device}"))
            rows.append(Row(GROUP, f"GAN lab: {what}{clock}, worst", worst, "ms", "<= 150 ms" if budget else "",
                            worst <= 150 if budget else None, f"over {n} ticks (axis rescales included)"))
    return rows


def diffusion_rows() -> list[Row]:
    """The notebook's diffusion model: 1,500 AdamW steps of the noise predictor on two moons (CPU)."""
    from coursekit.train import train

    X, _ = datasets.two_moons(8000, noise=0.05, seed=0)
    mean, std = X.mean(axis=0), X.std(axis=0)
    schedule = gen.linear_schedule(50, 1e-4, 0.02)
    inputs, noise = gen.noise_prediction_data((X - mean) / std, schedule, draws=12, seed=0)
    torch.manual_seed(0)
    model = gen.NoisePredictor()
    start = time.process_time()
    train(model, (inputs, noise), torch.nn.MSELoss(), torch.optim.AdamW(model.parameters(), lr=1e-3), epochs=4,
          batch_size=256, device="cpu", progress=False)
    seconds = time.process_time() - start
    samples, _ = gen.sample_diffusion(model, schedule, n=2000, seed=0)
    distance = gen.mean_nearest_neighbour_distance(samples * std + mean, X)
    return [Row(GROUP, "diffusion: training, 1,500 steps", seconds, "CPU s", note=f"mean NN distance {distance:.4f}")]


def run() -> list[Row]:
    return ring_rows() + lab_rows() + diffusion_rows()
