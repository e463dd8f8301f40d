"""The GAN training lab: train a GAN live and watch both players (after GAN Lab).

Left, on the data plane: the discriminator's output D(x) as a background heat
map (green where D says "real", purple where it says "generated"), the real
samples (green), the generated samples G(z) (purple), the direction the
generator's loss pushes each generated sample (arrows: -∂ℓ/∂x), and the
generator's manifold: a grid of equal-probability cells of the noise z mapped
through G (where G squeezes cells together, p_g is dense). For the ring of 8
Gaussians the modes are marked and the plot says, large, how many of them the
generator covers. Right: both losses over the steps (with their values at the
equilibrium D = 1/2), and the modes covered (ring) or the mean D(x) on real and
D(G(z)) on generated samples (other targets).

Controls: the target (the ring of 8 Gaussians, GAN Lab's "ring" being one
continuous ellipse; two moons; a spiral; points you draw by clicking), the two
learning rates, k (discriminator steps per generator step), the generator's
loss (non-saturating or minimax), the optimizer (Adam or SGD), how many
training steps each frame shows, what to draw, and the transport: Reset,
Step, Play/Pause, the speed, and GAN Lab's "train D" and "train G" buttons that
update one player once. Every change of a control starts a new run at step 0
(with "compare" on, the previous run's losses and last samples stay faint).

The widget holds no algorithm: each step is :meth:`coursekit.generative.GANTrainer.step`
(Algorithm 1 in PyTorch, on the device :func:`coursekit.device.get_device` picks).
"""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap

from .. import generative as gen
from .._validate import one_of
from .base import GHOST_COLOR, LiveWidget, OnPlotStatus, PreviousRun, button, control_row

REAL, FAKE, ARROW, MANIFOLD = "#1b7837", "#762a83", "#40004b", "#9970ab"
LR_CHOICES = (0.0001, 0.0003, 0.001, 0.002, 0.003, 0.01, 0.03, 0.1, 0.3)
STEPS_PER_FRAME = (1, 5, 10, 25, 50)
TARGET_OPTIONS = [("ring of 8", "ring"), ("two moons", "moons"), ("spiral", "spiral"), ("draw", "drawn")]
LOSS_OPTIONS = [("non-saturating", "nonsaturating"), ("minimax", "minimax")]
SHOW = ("D heat map", "arrows", "manifold", "real")
#: The drawing the "draw" target starts from: a small smile (click to add points, "clear" to start over).
DEFAULT_DRAWING = np.array([[-1.2, 1.0], [1.2, 1.0]] + [[1.6 * math.cos(a), -0.4 + 1.0 * math.sin(a)]
                                                          for a in np.linspace(-2.6, -0.54, 7)])
N_REAL_SHOWN = 500
N_ARROWS = 160
GRID_SIZE = 32
#: GAN Lab's colours for D: purple where D says "generated", green where it says "real", lightened
#: towards white so that the samples stand out on top
HEAT_CMAP = ListedColormap(0.45 * colormaps["PRGn"](np.linspace(0.0, 1.0, 256)) + 0.55)


class GANLab(LiveWidget):
    """A GAN trained live, one frame (``steps_per_frame`` iterations of Algorithm 1) per Play tick.

    Readable from Python: the controls (``target_toggle``, ``lr_d_choice``, ``lr_g_choice``,
    ``k_choice``, ``loss_toggle``, ``optimizer_toggle``, ``frame_choice``, ``show_toggles``,
    ``train_d_button``, ``train_g_button``, ``clear_button_points``), ``trainer`` (the
    :class:`coursekit.generative.GANTrainer`), ``history`` (one :class:`~coursekit.generative.GANState`
    per frame; the latest keeps its view), ``drawn_points``, and the artists: ``heat``,
    ``real_dots``, ``fake_dots``, ``arrows``, ``manifold_lines``, ``d_loss_line``,
    ``g_loss_line``, ``lower_lines``, ``status``.
    """

    name = "GAN lab"
    play_interval_ms = 150
    counter_noun = "step"

    def __init__(self, target: str = "ring", lr_d: float = 0.002, lr_g: float = 0.001, k: int = 1,
                 loss: str = "nonsaturating", optimizer: str = "adam", steps_per_frame: int = 10,
                 seed: int = 0, device=None, config: dict | None = None):
        one_of("target", target, gen.LAB_TARGETS)
        one_of("loss", loss, gen.GENERATOR_LOSSES)
        one_of("optimizer", optimizer, ("adam", "sgd"))
        for name, value in (("lr_d", lr_d), ("lr_g", lr_g)):
            if value not in LR_CHOICES:
                raise ValueError(f"{name} must be one of the lab's learning rates {LR_CHOICES}, got {value!r}")
        if k not in range(1, 6):
            raise ValueError(f"k must be 1, 2, 3, 4 or 5 (discriminator steps per generator step), got {k!r}")
        if steps_per_frame not in STEPS_PER_FRAME:
            raise ValueError(f"steps_per_frame must be one of {STEPS_PER_FRAME}, got {steps_per_frame!r}")
        super().__init__(figsize=(8.3, 4.1))
        self.seed, self.device = seed, device
        # the networks and batch of the notebook's ring configuration, without its learning-rate decay
        self.config = dict(gen.RING_CONFIG, decay_steps=None, **(config or {}))
        self.drawn_points = DEFAULT_DRAWING.copy()
        self.target_toggle = W.ToggleButtons(options=TARGET_OPTIONS, value=target, style={"button_width": "100px"})
        self.clear_button_points = button("clear", "eraser", width=70, tooltip="remove the drawn points")
        self.loss_toggle = W.ToggleButtons(options=LOSS_OPTIONS, value=loss, style={"button_width": "124px"})
        self.optimizer_toggle = W.ToggleButtons(options=[("Adam", "adam"), ("SGD", "sgd")], value=optimizer,
                                                style={"button_width": "58px"})
        lr_options = [(f"{v:g}", v) for v in LR_CHOICES]
        self.lr_d_choice = W.Dropdown(options=lr_options, value=lr_d, layout=W.Layout(width="82px"))
        self.lr_g_choice = W.Dropdown(options=lr_options, value=lr_g, layout=W.Layout(width="82px"))
        self.k_choice = W.Dropdown(options=list(range(1, 6)), value=k, layout=W.Layout(width="52px"))
        self.frame_choice = W.Dropdown(options=[(f"{n}", n) for n in STEPS_PER_FRAME], value=steps_per_frame,
                                       layout=W.Layout(width="60px"), tooltip="training steps per frame")
        self.show_toggles = {name: W.ToggleButton(value=True, description=name, layout=W.Layout(width="104px"))
                             for name in SHOW}
        self.train_d_button = button("train D", width=80, tooltip="one discriminator step")
        self.train_g_button = button("train G", width=80, tooltip="one generator step")

        def label(text, width):
            return W.HTML(f"<b style='white-space: nowrap'>{text}</b>", layout=W.Layout(width=f"{width}px"))

        self.rows = [
            control_row("target", self.target_toggle, self.clear_button_points),
            control_row("rates η", label("D", 18), self.lr_d_choice, label("G", 18), self.lr_g_choice,
                        label("&nbsp;k (D steps per G step)", 170), self.k_choice,
                        label("&nbsp;optimizer", 80), self.optimizer_toggle),
            control_row("G's loss", self.loss_toggle, label("&nbsp;&nbsp;steps per frame", 134), self.frame_choice),
            control_row("show", *self.show_toggles.values(), self.counter),
        ]
        self.make_compare_controls()
        grid = self.fig.add_gridspec(2, 2, width_ratios=[1.0, 0.95], height_ratios=[1, 1])
        self.ax = self.fig.add_subplot(grid[:, 0])
        self.ax_loss = self.fig.add_subplot(grid[0, 1])
        self.ax_low = self.fig.add_subplot(grid[1, 1])
        self._build_axes()

        for control in (self.target_toggle, self.loss_toggle, self.optimizer_toggle, self.lr_d_choice,
                        self.lr_g_choice, self.k_choice):
            control.observe(lambda _: self.restart(), names="value")
        for toggle in self.show_toggles.values():
            toggle.observe(lambda _: self._on_show(), names="value")
        self.clear_button_points.on_click(lambda _: self.clear_points())
        self.train_d_button.on_click(lambda _: self.train_part("D"))
        self.train_g_button.on_click(lambda _: self.train_part("G"))
        self.fig.canvas.mpl_connect("button_press_event", self._on_press)
        self.restart()

    # ---- the transport row: GAN Lab's "train D" / "train G" next to Step ------------------------
    def bottom_rows(self) -> list[W.Widget]:
        return [control_row("", self.reset_button, self.step_button, self.play_button, self.speed,
                            self.train_d_button, self.train_g_button, self.compare_toggle, self.clear_button,
                            self.play)]

    # ---- the static picture -------------------------------------------------------------------
    def _build_axes(self) -> None:
        ax, box = self.ax, gen.LAB_BOX
        ax.set_xlim(-box, box)
        ax.set_ylim(-box, box)
        ax.set_aspect("equal")
        ax.set_xticks([-2, 0, 2])
        ax.set_yticks([-2, 0, 2])
        ax.tick_params(labelsize=8)
        # D on a grid of cells (as GAN Lab's 30 x 30), an opaque mesh in light colours: drawing a mesh of
        # cells costs about a tenth of resampling a semi-transparent image each frame
        centres = np.linspace(-box, box, GRID_SIZE)
        self.heat = ax.pcolormesh(centres, centres, np.full((GRID_SIZE, GRID_SIZE), 0.5), shading="nearest",
                                  cmap=HEAT_CMAP, vmin=0.0, vmax=1.0, zorder=0, rasterized=True)
        self.manifold_lines = LineCollection([], colors=MANIFOLD, linewidths=0.6, alpha=0.8, zorder=1)
        ax.add_collection(self.manifold_lines)
        self.fake_dots = ax.scatter([], [], s=6, c=FAKE, alpha=0.7, linewidths=0, zorder=2, label="generated")
        # the real samples on top: a mode the generator misses shows as green without purple around it
        self.real_dots = ax.scatter([], [], s=5, c=REAL, alpha=0.9, linewidths=0, zorder=3, label="real")
        self.arrows = ax.quiver(np.zeros(N_ARROWS), np.zeros(N_ARROWS), np.zeros(N_ARROWS), np.zeros(N_ARROWS),
                                color=ARROW, angles="xy", scale_units="xy", scale=1.0, width=0.004,
                                headwidth=3.5, headlength=4, alpha=0.75, zorder=4)
        self.status = OnPlotStatus(ax, loc="upper left", fontsize=12)
        self.legend = ax.legend(handles=[self.real_dots, self.fake_dots], loc="lower right", fontsize=7,
                                markerscale=2.5, framealpha=0.8)
        ax.set_title("D(x): green = 'real', purple = 'generated'", fontsize=9)

        axl = self.ax_loss
        axl.set_title("losses (dotted: their values at the equilibrium)", fontsize=9)
        axl.tick_params(labelsize=7)
        (self.d_loss_line,) = axl.plot([], [], color="#2166ac", lw=1.2, label="D: −V")
        (self.g_loss_line,) = axl.plot([], [], color=FAKE, lw=1.2, label="G")
        self.d_eq_line = axl.axhline(math.log(4), color="#2166ac", ls=":", lw=0.9)
        self.g_eq_line = axl.axhline(math.log(2), color=FAKE, ls=":", lw=0.9)
        axl.legend(loc="upper right", fontsize=7, ncols=2)
        self.ax_low.tick_params(labelsize=7)
        self.ax_low.set_xlabel("step", fontsize=8)
        self.lower_lines = [self.ax_low.plot([], [], color=c, lw=1.2, label=lab)[0]
                            for c, lab in ((REAL, "D(x) real"), (FAKE, "D(G(z))"))]
        # blitting: everything that changes from frame to frame, in drawing order (the heat map first)
        self.set_dynamic([self.heat, self.manifold_lines, self.fake_dots, self.real_dots, self.arrows,
                          self.legend, self.d_loss_line, self.g_loss_line, *self.lower_lines,
                          *self.status.artists])

    def _style_for_run(self) -> None:
        """What depends on the target and the loss: mode marks, the lower plot, the equilibrium lines."""
        ring = self.target == "ring"
        low = self.ax_low
        if ring:
            low.set_title("modes covered (of 8)", fontsize=9)
            low.set_ylim(-0.3, 8.5)
            low.set_yticks([0, 2, 4, 6, 8])
            self.lower_lines[0].set_label("modes covered")
            self.lower_lines[1].set_visible(False)
        else:
            low.set_title("mean D on real and generated samples", fontsize=9)
            low.set_ylim(0.0, 1.0)
            low.set_yticks([0, 0.5, 1])
            self.lower_lines[0].set_label("D(x) real")
            self.lower_lines[1].set_visible(True)
        if low.get_legend() is not None:
            low.get_legend().remove()
        if not ring:   # one curve needs no legend: the title names it
            low.legend(handles=self.lower_lines, loc="lower right", fontsize=7, ncols=2, framealpha=0.8)
        # the generator's loss at the equilibrium D = 1/2: log 2 (non-saturating) or log(1/2) (minimax)
        self.g_eq_line.set_ydata([math.log(2) if self.loss == "nonsaturating" else -math.log(2)] * 2)
        self._x_max = 200
        self._fit_axes(force=True)

    # ---- the run the controls describe ----------------------------------------------------------
    @property
    def target(self) -> str:
        return self.target_toggle.value

    @property
    def loss(self) -> str:
        return self.loss_toggle.value

    @property
    def steps_per_frame(self) -> int:
        return int(self.frame_choice.value)

    def describe_run(self) -> str:
        name = dict((v, k) for k, v in TARGET_OPTIONS)[self.target]
        return (f"{name}, {self.optimizer_toggle.value}, lr D {self.lr_d_choice.value:g} / G "
                f"{self.lr_g_choice.value:g}, k = {self.k_choice.value}, {self.loss}")

    def make_trainer(self) -> gen.GANTrainer:
        if self.target == "drawn" and len(self.drawn_points) == 0:
            raise ValueError("the 'draw' target has no points: click on the plot to add some")
        X, modes = gen.lab_target(self.target, 4000, seed=self.seed, points=self.drawn_points)
        config = dict(self.config, lr_d=self.lr_d_choice.value, lr_g=self.lr_g_choice.value,
                      k=self.k_choice.value, loss=self.loss, optimizer=self.optimizer_toggle.value)
        return gen.GANTrainer(X, modes=modes, seed=self.seed, device=self.device, view_samples=500,
                              grid_size=GRID_SIZE, **config)

    def initial_state(self) -> gen.GANState:
        self.trainer = self.make_trainer()
        self._real_shown = self.trainer.X[:N_REAL_SHOWN].cpu().numpy()
        self.real_dots.set_offsets(self._real_shown)
        self._style_for_run()
        self.invalidate_background()
        return self.trainer.initial_state(view=True)

    def restart(self, compare: bool | None = None) -> None:
        if self.target == "drawn" and len(self.drawn_points) == 0:
            self.player.pause()
            self.message.value = "No points: click on the left plot to draw the target, point by point."
            return
        super().restart(compare)

    def advance(self) -> gen.GANState:
        """One frame: ``steps_per_frame`` iterations of Algorithm 1, the last one with its view."""
        n = self.steps_per_frame
        for _ in range(n - 1):
            self.trainer.step()
        return self._keep(self.trainer.step(view=True))

    def train_part(self, part: str) -> None:
        """GAN Lab's "train D" / "train G": one update of one player, then draw."""
        self.player.pause()
        state = self.trainer.step(part, view=True)
        self.history.append(self._keep(state))
        self.show()

    def _keep(self, state: gen.GANState) -> gen.GANState:
        """Only the newest state keeps its drawing (samples, grid, arrows): the history stays small."""
        if self.history:
            last = self.history[-1]
            if last.coverage is not None:
                last.coverage = _CoverageCount(last.coverage.modes_covered)
            last.samples = last.push = last.d_grid = last.manifold = None
        return state

    # ---- drawing one state -----------------------------------------------------------------------
    def describe_step(self) -> str:
        state = self.state
        return f"<b>step {state.step}</b> &nbsp;(D steps {state.d_steps})" if state else ""

    def render(self, state: gen.GANState) -> None:
        show = {name: toggle.value for name, toggle in self.show_toggles.items()}
        if state.d_grid is not None:
            self.heat.set_array(state.d_grid.ravel())
            self.fake_dots.set_offsets(state.samples)
            m = min(N_ARROWS, len(state.samples))
            push = state.push[:m]
            # arrows scaled so that the longest is 0.5 wide: they show directions and relative strength
            scale = 0.5 / max(float(np.linalg.norm(push, axis=1).max()), 1e-12)
            self.arrows.set_offsets(state.samples[:m])
            self.arrows.set_UVC(push[:, 0] * scale, push[:, 1] * scale)
            segments = list(state.manifold) + list(state.manifold.transpose(1, 0, 2))
            self.manifold_lines.set_segments(segments)
        self.heat.set_visible(show["D heat map"])
        self.arrows.set_visible(show["arrows"])
        self.manifold_lines.set_visible(show["manifold"])
        self.real_dots.set_visible(show["real"])
        steps = np.array([s.step for s in self.history])
        self.d_loss_line.set_data(steps, [s.d_loss for s in self.history])
        self.g_loss_line.set_data(steps, [s.g_loss for s in self.history])
        if self.target == "ring":
            self.lower_lines[0].set_data(steps, [s.coverage.modes_covered if s.coverage else np.nan
                                                 for s in self.history])
        else:
            self.lower_lines[0].set_data(steps, [s.d_real for s in self.history])
            self.lower_lines[1].set_data(steps, [s.d_fake for s in self.history])
        self._fit_axes()
        self._set_status(state)
        self.message.value = self.describe_state(state)

    def _fit_axes(self, force: bool = False) -> None:
        """Grow the step axis by doubling, and the loss axis to the losses seen (a full redraw then)."""
        steps = self.history[-1].step if self.history else 0
        losses = [v for s in self.history for v in (s.d_loss, s.g_loss) if np.isfinite(v)]
        low = min([0.0, *losses])
        high = max([2.0, *losses])
        y0, y1 = self.ax_loss.get_ylim()
        grow_x = steps > self._x_max
        grow_y = force or high > y1 or low < y0
        if not (grow_x or grow_y):
            return
        while steps > self._x_max:
            self._x_max *= 2
        for ax in (self.ax_loss, self.ax_low):
            ax.set_xlim(0, self._x_max)
        if grow_y:
            self.ax_loss.set_ylim(low - 0.1 * (high - low) if low < 0 else 0.0, high * 1.25)
        self.invalidate_background()

    def _set_status(self, state: gen.GANState) -> None:
        headline = f"step {state.step}"
        if not np.isfinite(state.d_loss) or not np.isfinite(state.g_loss):
            self.status.set(headline, "the losses are not finite: lower the learning rates", "bad")
            return
        if self.target == "ring" and state.coverage is not None:
            c = state.coverage
            detail = f"{c.modes_covered} / 8 modes · {100 * c.high_quality:.0f}% high-quality"
            # where the samples went, good or not: modes holding at least a quarter of a fair share
            reached = int(np.sum(c.nearest_counts >= 0.25 * c.n_samples / c.n_modes))
            if c.modes_covered == 8:
                kind = "ok"
            elif state.step >= 300 and reached <= 3:
                kind, detail = "warn", detail + f"\nmode collapse: the samples crowd near {reached} modes"
            else:
                kind = "running"
            self.status.set(headline, detail, kind)
        else:
            self.status.set(headline, f"D(x) {state.d_real:.2f} · D(G(z)) {state.d_fake:.2f}", "running")

    def describe_state(self, state: gen.GANState | None) -> str:
        if state is None:
            return ""
        text = (f"{self.describe_run()}: step {state.step} ({state.d_steps} D steps), D's loss −V = "
                f"{state.d_loss:.3f} (log 4 = 1.386 at the equilibrium), G's loss {state.g_loss:.3f}.")
        if self.target == "ring" and state.coverage is not None:
            text += (f" Modes covered: {state.coverage.modes_covered} / 8 among the 500 samples drawn "
                     "(a mode counts when a sample lies within 3σ = 0.06 of it).")
        if self.target == "drawn":
            text += " Click on the left plot to add a point (a new run starts)."
        if self.trainer.device.type != "cpu":
            text += f" Training on {self.trainer.device}."
        return text

    # ---- visibility, drawing points ---------------------------------------------------------------
    def _on_show(self) -> None:
        if self.state is not None:
            self.render(self.state)
            self.redraw()

    def add_point(self, x: float, y: float) -> None:
        """Add a point to the drawing (switching to the "draw" target) and start a new run."""
        if not (np.isfinite(x) and np.isfinite(y)) or max(abs(x), abs(y)) > gen.LAB_BOX:
            raise ValueError(f"a drawn point must lie inside the box ±{gen.LAB_BOX:g}, got ({x!r}, {y!r})")
        self.drawn_points = np.vstack([self.drawn_points, [[x, y]]])
        if self.target != "drawn":
            self.target_toggle.value = "drawn"      # restarts
        else:
            self.restart()

    def clear_points(self) -> None:
        """Forget the drawn points; the "draw" target waits for clicks."""
        self.drawn_points = np.zeros((0, 2))
        if self.target == "drawn":
            self.player.pause()
            self.message.value = "No points: click on the left plot to draw the target, point by point."

    def _on_press(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None or getattr(event, "button", 1) not in (1, None):
            return
        self.add_point(float(event.xdata), float(event.ydata))

    def tick(self) -> None:
        if self.target == "drawn" and len(self.drawn_points) == 0:
            self.player.pause()
            return
        super().tick()

    # ---- compare mode: the previous run's losses and samples, faint ------------------------------------
    def current_run(self) -> PreviousRun:
        last = self.history[-1] if self.history else None
        samples = None if last is None or last.samples is None else last.samples.copy()
        return PreviousRun([(s.step, s.d_loss, s.g_loss) for s in self.history], self.run_label, samples)

    def draw_ghost(self, run: PreviousRun) -> list:
        if not run.states:
            return []
        steps, d_loss, g_loss = np.array(run.states).T
        artists = [self.ax_loss.plot(steps, d_loss, color=GHOST_COLOR, lw=1, alpha=0.6,
                                     label=f"previous: {run.label}")[0],
                   self.ax_loss.plot(steps, g_loss, color=GHOST_COLOR, lw=1, alpha=0.6, ls="--")[0]]
        if run.extra is not None:
            artists.append(self.ax.scatter(run.extra[:, 0], run.extra[:, 1], s=4, c=GHOST_COLOR, alpha=0.45,
                                           linewidths=0, zorder=1))
        return artists


class _CoverageCount:
    """What an older frame keeps of its coverage: the count the lower plot draws."""

    def __init__(self, modes_covered: int):
        self.modes_covered = modes_covered
