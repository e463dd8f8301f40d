"""Unit 13 (reinforcement learning): the notebook, REINFORCE's time to its stated result, the gridworld stepper.

* the notebook, top to bottom in a fresh kernel as shipped: wall time (kernel start
  included) and the kernel's CPU time (user + system, what the notebook costs where
  other work shares the cores);
* REINFORCE with the notebook's settings on the CPU (the unit's world with exploring
  starts, batches of 10, Adam lr 0.02, seed 0): CPU and wall seconds until greedy
  rollouts reach the goal in 90 % of the cases (the notebook's stated target), the
  greedy evaluations included.

The gridworld stepper's step, in the kernel and in the browser, is in ``bench_widgets`` /
``bench_browser`` with every widget.
"""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import Row

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "13_reinforcement_learning.ipynb"
TARGET = 0.90
GROUP = "unit 13 RL"


def notebook_rows() -> list[Row]:
    """Run the notebook; a last cell added here reports the kernel's CPU time."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import os; print('KERNEL_CPU', sum(os.times()[:2]))"))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    start = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - start
    text = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    cpu = float(text.split("KERNEL_CPU")[1])
    return [Row(GROUP, f"{NOTEBOOK.name}, wall (kernel start included)", wall, "s", "<= 60 s", wall <= 60),
            Row(GROUP, f"{NOTEBOOK.name}, kernel CPU", cpu, "s", "<= 30 s", cpu <= 30,
                "user + system time of the kernel process")]


def reinforce_rows():
    from coursekit import rl

    world = rl.GridWorld(slip=0.1, random_start=True)
    rl.reinforce(world, episodes=10, device="cpu")   # warm-up: torch's first optimizer step
    run = rl.reinforce(world, episodes=600, batch=10, lr=0.02, seed=0, eval_every=50, eval_rollouts=3, device="cpu")
    i = run.first_reaching(TARGET)
    if i is None:
        return [Row(GROUP, f"REINFORCE to {TARGET:.0%} greedy success, CPU", float("nan"), "s", ok=False,
                    note=f"never reached: {run.success}")], run
    note = f"after {run.eval_episodes[i]} episodes (seed 0); final {run.success[-1]:.0%}"
    return [Row(GROUP, f"REINFORCE to {TARGET:.0%} greedy success, CPU time", run.cpu_seconds[i], "s", note=note),
            Row(GROUP, f"REINFORCE to {TARGET:.0%} greedy success, wall", run.wall_seconds[i], "s", note=note)], run


def run() -> list[Row]:
    rows, _ = reinforce_rows()
    rows += notebook_rows()
    return rows
