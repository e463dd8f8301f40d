"""Unit 13 (reinforcement learning): REINFORCE's time to its stated result.

REINFORCE with the notebook's settings on the CPU (the unit's world with exploring starts,
batches of 10, Adam lr 0.02, seed 0): CPU and wall seconds until greedy rollouts reach the
goal in 90 % of the cases (the notebook's stated target), the greedy evaluations included.

The notebook's time is in ``bench_notebooks``; the gridworld stepper's step, in the kernel
and in the browser, in ``bench_widgets`` / ``bench_browser`` with every widget.
"""
from __future__ import annotations

from . import Row

TARGET = 0.90
GROUP = "unit 13 RL"


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
    return reinforce_rows()[0]
