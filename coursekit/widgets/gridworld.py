"""The gridworld stepper: watch an agent (智能體) act in a small world, move by move.

Left, the world of :class:`coursekit.rl.GridWorld`: walls (dark grey), the
goal G (+1, gold), the pit P (-1, black), the start S. Each free cell is
coloured by its value V(s), the expected return from there (red below 0,
blue above), with the number written in its corner; the arrows from its
centre are the policy: each arrow's length is the probability of that move
(one long arrow: a sure choice; four equal short ones: a coin toss). The
agent is the orange disc, its path so far the orange line; a move that
slipped on the floor is marked with a cross.

Right, top: the return so far, Σ γ^τ r_{τ+1} after t moves, with the reward
of each move; large, where the episode stands (step t / T, the return, and
"reached the goal", "fell into the pit" or "cut off"). Right, bottom: how
the policy was learned: value iteration's largest change per sweep, or
REINFORCE's share of greedy rollouts that reach the goal over the training
episodes, with the episode shown marked.

Controls:

* **policy**: the optimal policy from value iteration (the values are V*),
  or the policy network trained by REINFORCE (the values are V^π of that
  policy, from the Bellman equations solved directly);
* **training**: which point of REINFORCE's training to show (a slider over
  the snapshots taken during training): watch the arrows line up;
* **ε** (both policies) and the softmax **temperature T** (REINFORCE): the
  agent follows the policy but explores, π_b(a|s) = (1 - ε) softmax(ln π / T) + ε/4;
  the arrows and the values show that behaviour policy;
* **new episode**: the same policy, the next seed (slips and exploration differ);
* a **click** on a free cell turns it into a wall (and a wall back into a free
  cell): value iteration is redone at once; REINFORCE's policy keeps what it
  learned on the old walls until **retrain** trains it again on the new world;
* the transport controls of every step-through widget step through the episode.

The widget holds no algorithm: the world, the episodes, the values and the
training come from :mod:`coursekit.rl`.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Rectangle

from .. import rl
from .._validate import real_number, whole_number
from .base import GHOST_COLOR, OnPlotStatus, PreviousRun, StepWidget, button, control_row

MODES = (("value iteration", "vi"), ("REINFORCE", "reinforce"))
GOAL, PIT, WALL, AGENT = "#f2c230", "0.08", "0.35", "tab:orange"
VALUE_CMAP = "RdBu"
ARROW_MAX = 0.36  # the length of an arrow of probability 1, in cells
ARROW_START = 0.06  # arrows start this far from the cell's centre: four short ones still read as arrows
ARROW_MIN_PROB = 0.03  # shorter arrows are left out (they would be dots)


def draw_world(ax, env: rl.GridWorld, values=None, policy=None, *, fontsize: float = 8) -> dict:
    """Draw ``env`` on ``ax``: walls, goal, pit, start, the values as a heat map with the
    numbers, and the policy π(a|s) as arrows whose lengths are the probabilities.

    Used by the widget and for the unit's static figures. Returns the artists
    (``image``, ``quiver``, ``value_texts``) so a widget can update them."""
    ax.set_xlim(-0.5, env.cols - 0.5)
    ax.set_ylim(env.rows - 0.5, -0.5)  # row 0 at the top, as the layout is written
    ax.set_aspect("equal")
    ax.set_xticks(range(env.cols))
    ax.set_yticks(range(env.rows))
    ax.tick_params(length=0, labelsize=7, colors="0.5")
    for spine in ax.spines.values():
        spine.set_color("0.6")
    image = ax.imshow(np.zeros((env.rows, env.cols)), cmap=VALUE_CMAP, norm=TwoSlopeNorm(0.0, -1.0, 1.0),
                      zorder=0)
    cells = _cell_patches(ax, env)
    X, Y = np.meshgrid(np.arange(env.cols), np.arange(env.rows))
    cx = np.repeat(X.ravel(), 4) + ARROW_START * np.tile(rl.MOVES[:, 1], env.n_states)
    cy = np.repeat(Y.ravel(), 4) + ARROW_START * np.tile(rl.MOVES[:, 0], env.n_states)
    quiver = ax.quiver(cx, cy, np.zeros_like(cx, dtype=float), np.zeros_like(cy, dtype=float), angles="xy",
                       scale_units="xy", scale=1, width=0.009, headwidth=3.2, headlength=2.8, headaxislength=2.5,
                       color="0.1", zorder=3)
    texts = {s: ax.text(*_corner(env, s), "", fontsize=fontsize - 1, color="0.15", ha="left", va="top", zorder=4)
             for s in np.flatnonzero(env.free)}
    artists = {"image": image, "quiver": quiver, "value_texts": texts, "cells": cells}
    update_world(artists, env, values, policy)
    return artists


def _corner(env: rl.GridWorld, s: int) -> tuple[float, float]:
    r, c = env.position(s)
    return c - 0.46, r - 0.44


def _cell_patches(ax, env: rl.GridWorld) -> list:
    patches = []
    for s in range(env.n_states):
        r, c = env.position(s)
        kind = env.kind(s)
        if kind in ("wall", "goal", "pit"):
            color = {"wall": WALL, "goal": GOAL, "pit": PIT}[kind]
            patches.append(ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=color, edgecolor="white",
                                                  lw=1.0, zorder=1)))
        if kind == "goal":
            patches.append(ax.text(c, r, f"G\n{env.goal_reward:+g}", ha="center", va="center", fontsize=10,
                                   fontweight="bold", color="0.1", zorder=2))
        elif kind == "pit":
            patches.append(ax.text(c, r, f"P\n{env.pit_reward:+g}", ha="center", va="center", fontsize=10,
                                   fontweight="bold", color="white", zorder=2))
        elif kind == "start":
            patches.append(ax.text(c + 0.44, r + 0.42, "S", ha="right", va="bottom", fontsize=9,
                                   fontweight="bold", color="0.25", zorder=4))
    # thin white grid lines between cells
    for r in range(env.rows + 1):
        patches.append(ax.axhline(r - 0.5, color="white", lw=1.0, zorder=1.5))
    for c in range(env.cols + 1):
        patches.append(ax.axvline(c - 0.5, color="white", lw=1.0, zorder=1.5))
    return patches


def arrow_vectors(env: rl.GridWorld, policy) -> tuple[np.ndarray, np.ndarray]:
    """The (U, V) of every arrow (4 per state, in the order of :data:`coursekit.rl.ACTIONS`), in
    data units: length ARROW_MAX × π(a|s); masked where there is no arrow (walls, terminal
    states, probability below ARROW_MIN_PROB)."""
    pi = rl.as_policy(env, policy)
    length = ARROW_MAX * pi
    show = (pi >= ARROW_MIN_PROB) & env.free[:, None]
    U = length * rl.MOVES[:, 1][None, :]   # column change: x
    V = length * rl.MOVES[:, 0][None, :]   # row change: y (the y axis points down)
    mask = ~show.ravel()
    return np.ma.masked_array(U.ravel(), mask), np.ma.masked_array(V.ravel(), mask)


def update_world(artists: dict, env: rl.GridWorld, values=None, policy=None) -> None:
    """Show new values and a new policy on a world drawn by :func:`draw_world`."""
    grid = np.ma.masked_array(np.zeros(env.n_states), mask=True)
    if values is not None:
        values = np.asarray(values, dtype=float)
        grid = np.ma.masked_array(values, mask=~env.free)
    artists["image"].set_data(grid.reshape(env.rows, env.cols))
    dark = np.zeros(env.n_states, dtype=bool) if values is None else np.abs(values) > 0.55
    for s, text in artists["value_texts"].items():
        text.set_text("" if values is None else f"{values[s]:+.2f}")
        text.set_color("white" if dark[s] else "0.15")  # readable on dark cells
    if policy is None:
        zeros = np.ma.masked_all(4 * env.n_states)
        artists["quiver"].set_UVC(zeros, zeros)
    else:
        artists["quiver"].set_UVC(*arrow_vectors(env, policy))
    artists["quiver"].set_facecolor(np.where(np.repeat(dark, 4)[:, None], (1.0, 1.0, 1.0, 1.0), (0.1, 0.1, 0.1, 1.0)))


class GridworldStepper(StepWidget):
    """Step through an episode of an agent in a :class:`coursekit.rl.GridWorld`.

    ``GridworldStepper(env=None, reinforce_run=None, mode="vi", gamma=0.9,
    epsilon=0.0, temperature=1.0, snapshot=-1, seed=0)``: ``env`` defaults to the unit's
    world with slip 0.1; ``reinforce_run`` is a :class:`coursekit.rl.ReinforceRun`
    trained on that world (trained here, with the unit's settings, when REINFORCE is
    first chosen without one); ``snapshot`` is the index of the REINFORCE snapshot shown.

    Readable from Python: ``env``, ``mode``, ``episode`` (a
    :class:`coursekit.rl.Episode`), ``index`` and ``state`` (an
    :class:`coursekit.rl.EpisodeStep`), ``behaviour`` (the table π_b(a|s) the agent
    acts with and the arrows show), ``values`` (the heat map), ``snapshot_episode``,
    the artists (``agent_marker``, ``path_line``, ``return_curve``, ``world["quiver"]``),
    ``status``, ``counter``, ``message``.
    """

    name = "gridworld stepper"
    counter_noun = "step"
    play_interval_ms = 400

    def __init__(self, env: rl.GridWorld | None = None, reinforce_run: rl.ReinforceRun | None = None, *,
                 mode: str = "vi", gamma: float = rl.GAMMA, epsilon: float = 0.0, temperature: float = 1.0,
                 snapshot: int = -1, seed: int = 0, train_episodes: int = 600):
        modes = [m for _, m in MODES]
        if mode not in modes:
            raise ValueError(f"mode must be one of {tuple(modes)}, got {mode!r}")
        if env is not None and not isinstance(env, rl.GridWorld):
            raise ValueError(f"env must be a coursekit.rl.GridWorld, got {type(env).__name__}")
        if reinforce_run is not None and not isinstance(reinforce_run, rl.ReinforceRun):
            raise ValueError(f"reinforce_run must be the ReinforceRun returned by coursekit.rl.reinforce, "
                             f"got {type(reinforce_run).__name__}")
        self.gamma = real_number("gamma", gamma, 0.0, 1.0, "the discount factor γ")
        epsilon = real_number("epsilon", epsilon, 0.0, 1.0, "the probability of a random move")
        temperature = real_number("temperature", temperature, 0.1, 5.0, "the softmax temperature T")
        self.seed = whole_number("seed", seed, 0, allow_float=False)
        self.train_episodes = whole_number("train_episodes", train_episodes, 1, allow_float=False)
        self.env = env if env is not None else rl.GridWorld(slip=0.1)
        self.original_layout = self.env.layout
        self.run = reinforce_run
        if reinforce_run is not None and reinforce_run.snapshots[0].shape[0] != self.env.n_states:
            raise ValueError("reinforce_run was trained on a world of another size")
        self.trained_layout = self.env.layout if reinforce_run is not None else None
        n_snapshots = len(reinforce_run.snapshots) if reinforce_run is not None else 1
        if not -n_snapshots <= snapshot < n_snapshots:
            raise ValueError(f"snapshot must index one of the {n_snapshots} snapshots of the run, got {snapshot}")

        super().__init__(figsize=(8.2, 4.3))
        self.mode_toggle = W.ToggleButtons(options=list(MODES), value=mode, style={"button_width": "120px"})
        self.new_episode_button = button("new episode", "random", width=120, tooltip="the same policy, the next seed")
        self.training_slider = W.IntSlider(value=snapshot % n_snapshots, min=0, max=n_snapshots - 1,
                                           readout=False, continuous_update=False, layout=W.Layout(width="250px"))
        self.training_label = W.HTML(layout=W.Layout(width="330px"))
        self.retrain_button = button("retrain", "refresh", width=90, tooltip="train REINFORCE on the world shown")
        self.epsilon_slider = W.FloatSlider(value=epsilon, min=0.0, max=1.0, step=0.05, readout_format=".2f",
                                            continuous_update=False, layout=W.Layout(width="250px"))
        self.temperature_slider = W.FloatSlider(value=temperature, min=0.1, max=5.0, step=0.1, readout_format=".1f",
                                                continuous_update=False, layout=W.Layout(width="250px"))
        self.rows = [
            control_row("policy", self.mode_toggle, self.new_episode_button,
                        W.HTML("<span style='color:#555'>click a cell: wall on / off</span>",
                               layout=W.Layout(width="200px"))),
            control_row("training", self.training_slider, self.training_label, self.retrain_button),
            control_row("explore ε", self.epsilon_slider,
                        W.HTML("<b>temperature T</b>", layout=W.Layout(width="110px")), self.temperature_slider),
        ]
        self._build_figure()
        self._quiet = False  # True while the widget itself sets its controls
        for control in (self.mode_toggle, self.training_slider, self.epsilon_slider, self.temperature_slider):
            control.observe(self._on_control, names="value")
        self.new_episode_button.on_click(lambda _: self.new_episode())
        self.retrain_button.on_click(lambda _: self.retrain())
        self._click_id = self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self._load_world()

    # ---- what the controls say -------------------------------------------------------
    def _on_control(self, change) -> None:
        if not self._quiet:
            self.recompute()

    @property
    def mode(self) -> str:
        return self.mode_toggle.value

    @property
    def epsilon(self) -> float:
        return float(self.epsilon_slider.value)

    @property
    def temperature(self) -> float:
        return float(self.temperature_slider.value)

    @property
    def snapshot_episode(self) -> int | None:
        """How many training episodes the REINFORCE policy shown had seen (None for value iteration)."""
        if self.mode != "reinforce" or self.run is None:
            return None
        return int(self.run.eval_episodes[self.training_slider.value])

    @property
    def episode(self) -> rl.Episode:
        return self._episode

    def describe_run(self) -> str:
        if self.mode == "vi":
            what = "value iteration"
        else:
            what = f"REINFORCE after {self.snapshot_episode} episodes, T = {self.temperature:g}"
        return f"{what}, ε = {self.epsilon:g}, seed {self.seed}"

    # ---- the figure ------------------------------------------------------------------
    def _build_figure(self) -> None:
        gs = self.fig.add_gridspec(2, 2, width_ratios=[1.05, 1.0], height_ratios=[1.0, 0.8])
        self.ax = self.fig.add_subplot(gs[:, 0])
        self.ax_return = self.fig.add_subplot(gs[0, 1])
        self.ax_learn = self.fig.add_subplot(gs[1, 1])
        a = self.ax_return
        self.return_curve, = a.plot([], [], "-o", color=AGENT, ms=3.5, lw=1.8)
        self.reward_dots, = a.plot([], [], "s", color="0.35", ms=3.5)
        self.return_marker, = a.plot([], [], "o", ms=10, mfc="none", mec="tab:red", mew=2, zorder=5)
        a.axhline(0.0, color="0.75", lw=0.8, zorder=0)
        a.set_xlabel("step t", fontsize=8, labelpad=1)
        a.tick_params(labelsize=7)
        a.grid(alpha=0.3)
        self.status = OnPlotStatus(a, loc="upper left", fontsize=12)
        self.ax_learn.tick_params(labelsize=7)
        self._learn_artists: list = []
        self._laid_out_for = None

    def _load_world(self) -> None:
        """Draw the (new) world's cells, the agent's artists on it, and recompute everything."""
        self.ax.cla()
        self._world = draw_world(self.ax, self.env)
        self.path_line, = self.ax.plot([], [], "-", color=AGENT, lw=3, alpha=0.8, solid_capstyle="round",
                                       zorder=5)
        self.slip_marks, = self.ax.plot([], [], "x", color="tab:red", ms=9, mew=2.2, zorder=6)
        self.agent_marker, = self.ax.plot([], [], "o", ms=19, mfc=AGENT, mec="0.1", mew=1.8, zorder=7)
        self.reward_text = self.ax.text(0, 0, "", ha="left", va="bottom", fontsize=8, fontweight="bold",
                                        zorder=8, bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none",
                                                            alpha=0.85))
        self.set_dynamic([self.path_line, self.slip_marks, self.agent_marker, self.reward_text, self.return_curve,
                          self.reward_dots, self.return_marker, *self.status.artists])
        self.vi_trace = rl.value_iteration(self.env, self.gamma)
        self.recompute(compare=False)

    @property
    def world(self) -> dict:
        """The artists of the world: ``image`` (values), ``quiver`` (policy), ``value_texts``."""
        return self._world

    # ---- the policy shown and its values ---------------------------------------------------
    def _ensure_run(self) -> None:
        if self.run is None:
            self.message.value = "training REINFORCE on this world (a few seconds) ..."
            self._train()

    def _train(self) -> None:
        world = self.env.with_layout(self.env.layout, random_start=True)
        self.run = rl.reinforce(world, self.train_episodes, gamma=self.gamma, seed=self.seed, eval_rollouts=3)
        self.trained_layout = self.env.layout
        self._quiet = True
        try:
            self.training_slider.max = len(self.run.snapshots) - 1
            self.training_slider.value = self.training_slider.max
            self.mode_toggle.value = "reinforce"
        finally:
            self._quiet = False

    def policy(self) -> np.ndarray:
        """The policy π(a|s) the controls select, before exploration."""
        if self.mode == "vi":
            return rl.as_policy(self.env, self.vi_trace[-1].policy)
        self._ensure_run()
        pi = self.run.snapshots[self.training_slider.value]
        return rl.softmax_policy(np.log(np.maximum(pi, 1e-300)), self.temperature)

    def recompute(self, compare: bool | None = None) -> None:
        """A control changed: new behaviour policy, its values, a new episode from step 0."""
        reinforce = self.mode == "reinforce"
        if reinforce:
            self._ensure_run()
        self.training_slider.disabled = not reinforce
        self.temperature_slider.disabled = not reinforce
        self.retrain_button.disabled = not reinforce
        self.behaviour = rl.epsilon_soft(self.env, self.policy(), self.epsilon)
        if not reinforce and self.epsilon == 0:
            self.values = self.vi_trace[-1].V  # V*: the values of the optimal policy
        else:
            self.values = rl.policy_value(self.env, self.behaviour, self.gamma)
        update_world(self._world, self.env, self.values, self.behaviour)
        self._draw_learning()
        self._set_titles()
        self._play_episode(compare)

    def _set_titles(self) -> None:
        if self.mode == "vi":
            title = "optimal policy (value iteration)" + (f", ε = {self.epsilon:g}" if self.epsilon else "")
            values = "$V^*$" if self.epsilon == 0 else "$V$ of this ε-greedy policy"
        else:
            stale = "" if self.trained_layout == self.env.layout else " (trained on the old walls)"
            title = f"REINFORCE policy after {self.snapshot_episode} episodes{stale}"
            values = "$V^\\pi$ of this policy"
            success = self.run.success[self.training_slider.value]
            self.training_label.value = (f"after <b>{self.snapshot_episode}</b> episodes: greedy reaches G in "
                                         f"<b>{success:.0%}</b>")
        if self.mode == "vi":
            self.training_label.value = "<span style='color:#777'>(the training of REINFORCE)</span>"
        self.ax.set_title(f"{title}\ncolour and numbers: {values}; arrows: $\\pi(a|s)$", fontsize=8.5)

    def _draw_learning(self) -> None:
        for artist in self._learn_artists:
            artist.remove()
        ax = self.ax_learn
        if self.mode == "vi":
            deltas = [max(s.delta, 1e-16) for s in self.vi_trace[1:]]  # an exact 0 has no place on a log scale
            ax.set_yscale("log")
            self._learn_artists = ax.plot(range(1, len(deltas) + 1), deltas, "-o", ms=2.5, color="tab:blue")
            ax.set_xlabel("sweep k", fontsize=8, labelpad=1)
            ax.set_ylabel("max |V_k − V_k−1|", fontsize=8)
            ax.set_ylim(min(deltas) / 3, max(deltas) * 3)
            ax.set_xlim(0, len(deltas) + 1)
            ax.set_title(f"value iteration: {len(deltas)} sweeps to converge", fontsize=8.5)
        else:
            ax.set_yscale("linear")
            x, y = self.run.eval_episodes, self.run.success
            i = self.training_slider.value
            self._learn_artists = [*ax.plot(x, y, "-", color="tab:blue", lw=1.6),
                                   ax.axvline(x[i], color="tab:red", lw=1.5),
                                   *ax.plot([x[i]], [y[i]], "o", ms=8, mfc="none", mec="tab:red", mew=2)]
            ax.set_xlabel("training episodes", fontsize=8, labelpad=1)
            ax.set_ylabel("greedy success", fontsize=8)
            ax.set_ylim(-0.05, 1.05)
            ax.set_xlim(-0.02 * max(x[-1], 1), 1.03 * max(x[-1], 1))
            ax.set_title("REINFORCE: share of greedy rollouts reaching G", fontsize=8.5)
        ax.grid(alpha=0.3)

    # ---- episodes -----------------------------------------------------------------------
    def new_episode(self) -> None:
        """The same policy, the next seed."""
        self.seed += 1
        self._play_episode()

    def _play_episode(self, compare: bool | None = None) -> None:
        self._episode = rl.run_episode(self.env, self.behaviour, seed=self.seed, start=self.env.start_state,
                                       gamma=self.gamma)
        steps = self._episode.steps
        self._xy = np.array([(s.position[1], s.position[0]) for s in steps], dtype=float)
        self._returns = np.array([s.return_so_far for s in steps])
        self._rewards = np.array([np.nan] + [s.reward for s in steps[1:]])
        self.invalidate_background()
        self.set_trace(steps, compare=compare)
        self._fit_return_axis()
        if self._laid_out_for != (self.env.layout, self.mode):
            # the margins depend on the world and on the learning plot's labels, not on the episode:
            # laying the figure out again (a third of a full draw) only when they change
            self.freeze_layout()
            self._laid_out_for = (self.env.layout, self.mode)
        self.redraw()

    def _fit_return_axis(self) -> None:
        runs = [self._returns] + ([np.array([s.return_so_far for s in self._ghost_states])]
                                  if self.ghost_artists else [])
        values = np.concatenate(runs + [self._rewards[1:], [0.0]])
        low, high = float(np.min(values)), float(np.max(values))
        span = max(high - low, 0.2)
        self.ax_return.set_ylim(low - 0.08 * span, high + 0.75 * span)  # room above for the status
        T = max(len(r) for r in runs) - 1
        self.ax_return.set_xlim(-0.5, max(T, 1) + 0.5)
        self.ax_return.set_title(f"this episode: return so far (orange, γ = {self.gamma:g}), rewards (grey)",
                                 fontsize=8.5)

    # ---- compare mode: the previous episode, faint ------------------------------------------
    def current_run(self) -> PreviousRun:
        return PreviousRun(self.trace, f"{self.run_label}: {self._describe_outcome(self.trace[-1])}",
                           extra=self.env.layout)

    def draw_ghost(self, run: PreviousRun) -> list:
        self._ghost_states = list(run.states)
        artists = []
        if run.extra == self.env.layout:
            xy = np.array([(s.position[1], s.position[0]) for s in run.states], dtype=float)
            artists += self.ax.plot(xy[:, 0], xy[:, 1], "-", color=GHOST_COLOR, lw=2.5, alpha=0.6, zorder=4.5)
        artists += self.ax_return.plot([s.t for s in run.states], [s.return_so_far for s in run.states], "-",
                                       color=GHOST_COLOR, lw=1.5, alpha=0.7, zorder=1,
                                       label=f"previous: {run.label[:40]}")
        return artists

    def clear_ghost(self) -> None:
        super().clear_ghost()
        self._fit_return_axis()
        self.redraw()

    # ---- clicks: walls on and off ----------------------------------------------------
    def _on_click(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None or event.ydata is None:
            return
        if getattr(event, "button", 1) not in (1, None):
            return
        self.toggle_wall(int(round(event.ydata)), int(round(event.xdata)))

    def toggle_wall(self, row: int, col: int) -> None:
        """Turn the free cell (row, col) into a wall or the wall into a free cell; value iteration
        is redone and a new episode starts at step 0."""
        try:
            self.env = self.env.toggle_wall(row, col)
        except ValueError as err:
            self.message.value = html.escape(str(err))
            return
        self._load_world()
        kind = self.env.kind(self.env.state_of(row, col))
        note = ""
        if self.mode == "reinforce" and self.trained_layout != self.env.layout:
            note = " REINFORCE's policy was trained on the old walls: press retrain to train it on this world."
        self.message.value = html.escape(f"cell ({row}, {col}) is now {'a wall' if kind == 'wall' else 'free'}; "
                                         f"value iteration was redone.{note}")

    def retrain(self) -> None:
        """Train REINFORCE again on the world as it is now (a few seconds)."""
        self.message.value = "training REINFORCE on this world (a few seconds) ..."
        self._train()
        self.recompute(compare=False)
        self.message.value = html.escape(f"REINFORCE trained for {self.run.episodes} episodes on this world: "
                                         f"greedy reaches the goal in {self.run.success[-1]:.0%} of rollouts.")

    # ---- drawing one state --------------------------------------------------------------
    def render(self, state: rl.EpisodeStep) -> None:
        t = state.t
        xy = self._xy[:t + 1]
        self.path_line.set_data(xy[:, 0], xy[:, 1])
        slipped = [i for i in range(1, t + 1) if self.trace[i].slipped]
        self.slip_marks.set_data(self._xy[slipped, 0] if slipped else [], self._xy[slipped, 1] if slipped else [])
        self.agent_marker.set_data([xy[-1, 0]], [xy[-1, 1]])
        if t > 0:
            self.reward_text.set_position((xy[-1, 0] - 0.46, xy[-1, 1] + 0.45))  # the cell's bottom left corner
            self.reward_text.set_text(f"{state.reward:+g}")
            self.reward_text.set_visible(True)
        else:
            self.reward_text.set_visible(False)
        steps = np.arange(t + 1)
        self.return_curve.set_data(steps, self._returns[:t + 1])
        self.reward_dots.set_data(steps[1:], self._rewards[1:t + 1])
        self.return_marker.set_data([t], [self._returns[t]])
        self._set_status(state)
        self.message.value = self.describe_state(state)

    def _describe_outcome(self, state: rl.EpisodeStep) -> str:
        return {"goal": "reached the goal", "pit": "fell into the pit",
                "time limit": f"cut off after {state.t} moves"}.get(state.outcome, f"step {state.t}")

    def _set_status(self, state: rl.EpisodeStep) -> None:
        detail = f"return so far G = {state.return_so_far:+.3f}"
        if state.outcome == "goal":
            self.status.set("reached the goal ✓", f"{detail} after {state.t} moves", "ok")
        elif state.outcome == "pit":
            self.status.set("fell into the pit ✗", f"{detail} after {state.t} moves", "bad")
        elif state.outcome == "time limit":
            self.status.set(f"cut off after {state.t} moves", detail, "warn")
        else:
            self.status.set(f"step {state.t} / {self.last_index}", detail, "running")

    def describe_state(self, state: rl.EpisodeStep) -> str:
        """The sentence under the plot: what the agent did at this step."""
        r, c = state.position
        if state.t == 0:
            text = (f"t = 0: the agent starts at S, cell ({r}, {c}). {self.describe_run()}. "
                    f"This episode takes {self.last_index} moves: press Step.")
        else:
            wanted = rl.ACTIONS[state.action]
            went = f" but slipped {rl.ACTIONS[state.direction]}" if state.slipped else ""
            text = (f"step {state.t}: the agent chose {wanted}{went}, landed on ({r}, {c}) and got "
                    f"r = {state.reward:+g}; return so far G = {state.return_so_far:+.3f}.")
        if state.outcome != "running":
            text += f" The episode ends: {self._describe_outcome(state)}."
        return html.escape(text)
