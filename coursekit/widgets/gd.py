"""The gradient-descent explorer: watch an optimizer walk down a loss surface.

Left: the contours of C(w, b) = (1/N) Σ (w xₙ + b - yₙ)² on deck 003's 20-point
set, labelled with their values (or a one-dimensional function,
f(θ) = θ⁴ - 2θ² + θ/2, drawn so that both of its valleys fill the view), the
trajectory θ⁰, θ¹, ..., θᵗ drawn on it, the current point θᵗ and the
least-squares minimum (w*, b*). Where a run leaves the view, a triangle on
the view's edge points to where it went. Right: the loss curve C(θᵗ) up to
the current step, and, large, where the run stands: the step, the loss, and
"converged" or "diverged".

Controls: the optimizer (GD, SGD, mini-batch with its batch size, momentum,
Adagrad, RMSProp, Adam), the learning rate η as a choice of teaching values
(:data:`ETA_CHOICES`, with 0.03 just below the stability limit 2/λ_max ≈ 0.0316
of C(w, b) and 0.035 just above it) or any value typed into the box next to
it, the surface, the transport controls of every step-through widget, and the
start point, picked by clicking on the left plot. Every change computes a new
run with :mod:`coursekit.optim` (the widget holds no algorithm) and starts it at
step 0; with "compare" on, the previous run stays on both plots, faint.

A run whose loss explodes is shown as it is: the view keeps its bounds and
the plot says "diverged". A run counts as diverged once its loss is inf / nan,
above 1e10, or more than 100 times its starting scale and still rising
(:func:`coursekit.optim.divergence_limit`): at η = 0.032, just above the
stability limit, that happens after about 100 steps; at η = 0.035 after 13.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np
from matplotlib.lines import Line2D

from .. import optim
from .._validate import one_of, real_number, whole_number
from .base import GHOST_COLOR, OnPlotStatus, PreviousRun, StepWidget, control_row

W_RANGE = (-1.0, 3.0)     # the view of C(w, b): w* ≈ 0.996 and b* = 0.02 sit inside
B_RANGE = (-6.0, 6.0)
THETA_RANGE = (-2.0, 2.0)  # the view of the 1-D function: both valleys, and the hump between them
F_RANGE = (-2.0, 4.0)      # f's values there that matter: the valleys (-1.5, -0.5) and the hump (0.13)
DEFAULT_START = {"2d": (-0.5, -5.0), "1d": (1.6,)}
OPTIONS = [("GD (full batch)", "gd"), ("SGD (batch 1)", "sgd"), ("mini-batch", "minibatch"),
           ("momentum (α = 0.9)", "momentum"), ("Adagrad", "adagrad"), ("RMSProp", "rmsprop"), ("Adam", "adam")]
#: The learning rates the η control offers: the values the unit's lessons use. On C(w, b)
#: plain GD converges below 2/λ_max ≈ 0.0316 and diverges above it; 0.03 zig-zags across
#: the valley and converges slowly, 0.035 diverges within 13 steps.
ETA_CHOICES = (0.001, 0.003, 0.005, 0.01, 0.02, 0.03, 0.035, 0.05, 0.1, 0.3, 0.8, 1.0)
ETA_RANGE = (1e-4, 10 ** 0.5)  # what the typed value may be
CONVERGED_GRAD = 1e-3  # converged: the full gradient is below this fraction of its size at the start
TRAJECTORY, CURRENT, EDGE = "tab:orange", "tab:red", "tab:red"


def _check_eta(eta) -> float:
    eta = real_number("eta", eta, 0, low_open=True, meaning="the learning rate η")
    low, high = ETA_RANGE
    if not low <= eta <= high:
        raise ValueError(f"eta must lie in the η control's range [{low:g}, {high:.4g}], got {eta!r}")
    return eta


def _check_start(function: str, start) -> np.ndarray:
    names = "θ" if function == "1d" else "(w, b)"
    size = len(DEFAULT_START[function])
    try:
        point = np.array(start, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        point = None
    if point is None or point.shape != (size,) or not np.all(np.isfinite(point)):
        raise ValueError(f"start must be {size} finite number{'s' if size > 1 else ''} {names} for function "
                         f"{function!r}, got {start!r}")
    return point


def edge_markers(xy: np.ndarray, limits) -> tuple[np.ndarray, np.ndarray]:
    """Where the points of ``xy`` that lie outside the box ``limits`` = (x0, x1, y0, y1)
    meet its edge, and on which side they left it (0 left, 1 right, 2 bottom, 3 top:
    the side they are farthest beyond, in units of the box's size). Non-finite
    points are dropped; points inside give nothing."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    x0, x1, y0, y1 = limits
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    beyond = np.column_stack([(x0 - xy[:, 0]) / (x1 - x0), (xy[:, 0] - x1) / (x1 - x0),
                              (y0 - xy[:, 1]) / (y1 - y0), (xy[:, 1] - y1) / (y1 - y0)])
    outside = beyond.max(axis=1) > 0
    clipped = np.column_stack([np.clip(xy[outside, 0], x0, x1), np.clip(xy[outside, 1], y0, y1)])
    return clipped, beyond[outside].argmax(axis=1)


class GDExplorer(StepWidget):
    """Gradient descent and its variants on C(w, b) of the 20-point set, or on a 1-D function.

    Readable from Python: ``optimizer_dropdown``, ``eta`` (the learning rate in use),
    ``eta_choice`` and ``eta_text`` (its two controls), ``batch_slider``,
    ``function_toggle``, ``start``, ``trace`` (the :class:`coursekit.optim.OptimState`
    list), ``trajectory_line``, ``current_point``, ``edge_artists`` and ``loss_line``
    (the artists), ``status`` (the large text on the loss plot), ``counter``, ``message``.
    """

    name = "gradient-descent explorer"
    play_interval_ms = 150

    def __init__(self, optimizer: str = "gd", eta: float = 0.01, batch_size: int = 5, function: str = "2d",
                 steps: int = 150, seed: int = 0, start=None):
        # Check every argument before building anything: a control would otherwise clamp a bad
        # value silently (η = -1 would become 1e-4) or fail with a trait error of ipywidgets.
        if function not in DEFAULT_START:
            raise ValueError(f"function must be '2d' (C(w, b)) or '1d' (f(θ)), got {function!r}")
        steps = whole_number("steps", steps, 1, noun="integer", meaning="the number of updates in a run")
        optimizer = one_of("optimizer", optimizer.lower() if isinstance(optimizer, str) else optimizer,
                                  tuple(optim.OPTIMIZERS))
        eta = _check_eta(eta)
        problems = {"2d": optim.regression_20_problem(), "1d": optim.double_well()}
        n = problems["2d"].n_examples
        batch_size = whole_number("batch_size", batch_size, 1, n, noun="integer", meaning="the number of examples")
        start = _check_start(function, DEFAULT_START[function] if start is None else start)
        super().__init__(figsize=(8.2, 3.9))
        self.steps, self.seed = steps, seed
        self.problems = problems
        self.optimizer_dropdown = W.Dropdown(options=OPTIONS, value=optimizer, layout=W.Layout(width="190px"))
        self.eta_choice = W.Dropdown(options=[(f"{v:g}", v) for v in ETA_CHOICES],
                                     value=eta if eta in ETA_CHOICES else None, layout=W.Layout(width="86px"))
        self.eta_text = W.BoundedFloatText(value=eta, min=ETA_RANGE[0], max=ETA_RANGE[1], step=0.001,
                                           layout=W.Layout(width="96px"))
        self.batch_slider = W.IntSlider(value=batch_size, min=1, max=n, continuous_update=False,
                                        layout=W.Layout(width="180px"))
        self.function_toggle = W.ToggleButtons(options=[("C(w, b), 20 points", "2d"), ("1-D function", "1d")],
                                               value=function, style={"button_width": "140px"})
        self.rows = [
            control_row("optimizer", self.optimizer_dropdown,
                        W.HTML("<b>batch size</b>", layout=W.Layout(width="80px")), self.batch_slider),
            control_row("η", self.eta_choice,
                        W.HTML("or type", layout=W.Layout(width="52px")), self.eta_text,
                        W.HTML("<b>&nbsp;&nbsp;surface</b>", layout=W.Layout(width="72px")), self.function_toggle),
        ]
        self.ax, self.ax_loss = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})
        self.start = start
        self.optimizer_dropdown.observe(lambda _: self.recompute(), names="value")
        self.batch_slider.observe(lambda _: self.recompute(), names="value")
        self.eta_choice.observe(self._on_eta_choice, names="value")
        self.eta_text.observe(self._on_eta_text, names="value")
        self.function_toggle.observe(lambda _: self._on_function(), names="value")
        self._click_id = self.fig.canvas.mpl_connect("button_press_event", self._on_press)
        self._legend_artist = None
        self._build_view()
        self.recompute()

    # ---- what is being optimized ----------------------------------------------------
    @property
    def function(self) -> str:
        return self.function_toggle.value

    @property
    def problem(self) -> optim.Problem:
        return self.problems[self.function]

    @property
    def optimizer_name(self) -> str:
        return self.optimizer_dropdown.value

    @property
    def eta(self) -> float:
        """The learning rate of the run shown: a choice from the list, or a typed value."""
        return float(self.eta_text.value)

    def set_eta(self, eta: float) -> None:
        """Set η (any value in the allowed range; the list shows it when it is one of its choices)."""
        self.eta_text.value = _check_eta(eta)

    def _on_eta_choice(self, change) -> None:
        if change["new"] is not None and change["new"] != self.eta_text.value:
            self.eta_text.value = change["new"]  # recomputes through _on_eta_text

    def _on_eta_text(self, change) -> None:
        value = float(change["new"])
        self.eta_choice.value = value if value in ETA_CHOICES else None  # blank: a typed value
        self.recompute()

    @property
    def batch_size(self) -> int | None:
        """The batch size of the current run: None is the full batch."""
        if self.function == "1d":
            return None  # a plain function has no examples to sample
        return {"sgd": 1, "minibatch": int(self.batch_slider.value)}.get(self.optimizer_name)

    def describe_run(self) -> str:
        label = dict((value, name) for name, value in OPTIONS)[self.optimizer_name]
        return f"{label}, η = {self.eta:g}"

    def make_trace(self) -> list[optim.OptimState]:
        """The run for the current controls, computed by :func:`coursekit.optim.optimize`."""
        opt = optim.make_optimizer(self.optimizer_name, self.eta)
        return optim.optimize(self.problem, opt, self.start, self.steps, batch_size=self.batch_size, seed=self.seed)

    # ---- the static picture -----------------------------------------------------------
    def _xy(self, states) -> np.ndarray:
        """Where states are drawn on the left plot: (w, b), or (θ, f(θ)) for the 1-D function."""
        params = np.array([s.params for s in states], dtype=float)
        if self.function == "2d":
            return params
        return np.column_stack([params[:, 0], [s.loss for s in states]])

    @property
    def view(self) -> tuple[float, float, float, float]:
        return (*W_RANGE, *B_RANGE) if self.function == "2d" else (*THETA_RANGE, *F_RANGE)

    def _build_view(self) -> None:
        ax, axl = self.ax, self.ax_loss
        self._remove_ghost()  # a run on the other surface cannot be compared with this one
        ax.clear()
        axl.clear()
        if self.function == "2d":
            p = self.problem
            w = np.linspace(*W_RANGE, 161)
            b = np.linspace(*B_RANGE, 161)
            Wg, Bg = np.meshgrid(w, b)
            # C on the grid, vectorized: mean over the points of (w x + b - y)²
            r = Wg[..., None] * p.x + Bg[..., None] - p.y
            Cg = np.mean(r * r, axis=-1)
            levels = np.geomspace(0.03, Cg.max(), 16)
            contours = ax.contour(Wg, Bg, Cg, levels=levels, cmap="viridis", linewidths=0.8)
            ax.clabel(contours, levels=levels[1::3], fontsize=7, fmt=lambda v: f"{v:.2g}", inline_spacing=2)
            self.w_star, self.b_star = optim.least_squares_solution(p.x, p.y)
            self.minimum_loss = p.loss(np.array([self.w_star, self.b_star]))
            (self.star_marker,) = ax.plot([self.w_star], [self.b_star], marker="*", color="crimson", markersize=12,
                                          linestyle="none", label="least squares (w*, b*)")
            ax.set_xlabel("w")
            ax.set_ylabel("b")
            ax.set_title("C(w, b) on the 20 points (contour values): click to start", fontsize=9)
            axl.set_yscale("log")
            axl.set_title("loss C(wᵗ, bᵗ) on all 20 points", fontsize=9)
        else:
            theta = np.linspace(*THETA_RANGE, 400)
            fvals = np.array([self.problem.loss([t]) for t in theta])
            ax.plot(theta, fvals, color="0.3", linewidth=1.2)
            ax.set_xlabel("θ")
            ax.set_ylabel("f(θ)")
            ax.set_title(f"{self.problem.name}: click to start", fontsize=9)
            ax.grid(alpha=0.3)
            self.minimum_loss = float(fvals.min())  # the deeper valley, near θ ≈ -1.06
            axl.set_yscale("linear")
            axl.set_title("loss f(θᵗ)", fontsize=9)
        ax.set_xlim(*self.view[:2])
        ax.set_ylim(*self.view[2:])
        ax.set_autoscale_on(False)
        (self.trajectory_line,) = ax.plot([], [], "-o", color=TRAJECTORY, markersize=3, linewidth=1.2,
                                          label="trajectory θ⁰ … θᵗ")
        (self.current_point,) = ax.plot([], [], "o", color=CURRENT, markersize=8, markeredgecolor="white",
                                        label="θᵗ, this step")
        # triangles on the view's edge where the run has left it, pointing the way it went
        self.edge_artists = [ax.scatter([], [], marker=m, s=70, color=EDGE, zorder=6, clip_on=False)
                             for m in ("<", ">", "v", "^")]
        (self.loss_line,) = axl.plot([], [], color=TRAJECTORY, linewidth=1.5)
        (self.loss_point,) = axl.plot([], [], "o", color=CURRENT, markersize=6)
        axl.set_xlabel("step t")
        axl.set_xlim(0, self.steps)
        axl.grid(alpha=0.3)
        axl.set_autoscale_on(False)
        self.status = OnPlotStatus(axl, loc="upper right", fontsize=13)
        self._legend()
        # Blitting: the artists that change from step to step are "animated"; a full
        # draw paints the static rest (contours, axes, ticks) once, keeps it as a
        # background, and a step only restores it and redraws these few artists.
        self.set_dynamic([self.trajectory_line, self.current_point, *self.edge_artists, self.loss_line,
                          self.loss_point, *self.status.artists])

    def _legend(self) -> None:
        """One legend below both plots, where no run ever goes."""
        handles = [self.trajectory_line, self.current_point,
                   Line2D([], [], ls="", marker=">", color=EDGE, label="the run left the view this way")]
        if self.function == "2d":
            handles.insert(0, self.star_marker)
        handles += [a for a in self.ghost_artists if isinstance(a, Line2D) and a.get_label().startswith("previous")]
        if self._legend_artist is not None:
            self._legend_artist.remove()
        self._legend_artist = self.fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8,
                                              frameon=False, columnspacing=1.5)

    # ---- recomputing ----------------------------------------------------------------
    def recompute(self, compare: bool | None = None) -> None:
        """Run the optimizer again (a control or the start changed) and show the new run from step 0
        (``compare=False``: without keeping the previous run, even in compare mode)."""
        self.batch_slider.disabled = self.optimizer_name != "minibatch" or self.function == "1d"
        trace = self.make_trace()
        self._points = self._xy(trace)
        self._steps = np.array([s.step for s in trace])
        self._losses = np.array([s.loss for s in trace])
        grad0 = np.linalg.norm(self.problem.grad(trace[0].params))
        self._converged_at = next((s.step for s in trace if not s.diverged and
                                   np.linalg.norm(self.problem.grad(s.params)) <= CONVERGED_GRAD * max(grad0, 1e-12)),
                                  None)
        self.invalidate_background()  # the loss axis changes: the next draw must be a full one
        self.set_trace(trace, compare=compare)  # keeps the previous run, faint, in compare mode
        self._fit_loss_axis()
        self._legend()
        self.freeze_layout()
        self.redraw()

    def _fit_loss_axis(self) -> None:
        """Limits of the loss plot: this run and any faint previous one, with room above for the status."""
        losses = [self._losses] + ([np.array([s.loss for s in self._ghost_states])] if self.ghost_artists else [])
        finite = np.concatenate([v[np.isfinite(v)] for v in losses])
        low, high = float(finite.min()), float(finite.max())
        if self.function == "2d":
            self.ax_loss.set_ylim(max(low, 1e-6) / 2, max(high, 2 * low) * 30)
        else:
            pad = 0.1 * max(high - low, 1.0)
            self.ax_loss.set_ylim(low - pad, high + 6 * pad)

    def _on_function(self) -> None:
        self.start = np.array(DEFAULT_START[self.function], dtype=float)
        self._build_view()
        self.recompute(compare=False)  # a run on the other surface cannot be compared with this one

    # ---- compare mode: the previous run, faint ----------------------------------------
    def draw_ghost(self, run: PreviousRun) -> list:
        self._ghost_states = list(run.states)
        xy = self._xy(run.states)
        path, = self.ax.plot(xy[:, 0], xy[:, 1], "-", color=GHOST_COLOR, lw=1.6, alpha=0.55, zorder=1.5,
                             label=f"previous: {run.label}")
        end, = self.ax.plot(xy[-1:, 0], xy[-1:, 1], "o", color=GHOST_COLOR, ms=6, alpha=0.7, zorder=1.5)
        curve, = self.ax_loss.plot([s.step for s in run.states], [s.loss for s in run.states], "-",
                                   color=GHOST_COLOR, lw=1.4, alpha=0.7, zorder=1)
        return [path, end, curve]

    def clear_ghost(self) -> None:
        super().clear_ghost()
        self._fit_loss_axis()
        self._legend()
        self.redraw()

    # ---- the start point ------------------------------------------------------------
    def set_start(self, w: float, b: float | None = None) -> None:
        """Start the run at (w, b) on C(w, b), or at θ = w on the 1-D function (from step 0)."""
        start = [w] if self.function == "1d" else [w, b]
        if any(v is None for v in start) or not np.all(np.isfinite(np.array(start, dtype=float))):
            raise ValueError(f"the start must be finite numbers ({'θ' if self.function == '1d' else 'w, b'}), "
                             f"got {start!r}")
        self.start = np.array(start, dtype=float)
        self.recompute()

    def _on_press(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None or event.ydata is None:
            return
        if getattr(event, "button", 1) not in (1, None):
            return
        if self.function == "1d":
            self.set_start(event.xdata)
        else:
            self.set_start(event.xdata, event.ydata)

    # ---- one state ----------------------------------------------------------------------
    @property
    def diverged_at(self) -> int | None:
        """The step where the current run diverges, or None."""
        return self.trace[-1].step if self.trace and self.trace[-1].diverged else None

    @property
    def converged_at(self) -> int | None:
        """The first step where the full gradient is below 1/1000 of its size at the start, or None."""
        return self._converged_at

    def render(self, state: optim.OptimState) -> None:
        i = self.index if self.trace[self.index] is state else self.trace.index(state)
        xy = self._points
        self.trajectory_line.set_data(xy[:i + 1, 0], xy[:i + 1, 1])
        self.current_point.set_data(xy[i:i + 1, 0], xy[i:i + 1, 1])
        where, side = edge_markers(xy[:i + 1], self.view)
        for k, artist in enumerate(self.edge_artists):
            artist.set_offsets(where[side == k].reshape(-1, 2))
        self.loss_line.set_data(self._steps[:i + 1], self._losses[:i + 1])
        self.loss_point.set_data(self._steps[i:i + 1], self._losses[i:i + 1])
        self._set_status(state)
        self.message.value = self.describe_state(state)

    def _set_status(self, state: optim.OptimState) -> None:
        loss = f"loss {state.loss:.4g}"
        if state.diverged:
            self.status.set("diverged ✗", f"at step {state.step}: {loss}", "bad")
        elif self._converged_at is not None and state.step >= self._converged_at:
            where = ""
            if self.function == "1d":
                where = " (global min)" if state.loss <= self.minimum_loss + 1e-3 else " (a local min)"
            self.status.set("converged ✓", f"step {self._converged_at}: {loss}{where}", "ok")
        else:
            detail = loss + (f" (min {self.minimum_loss:.3g})" if self.function == "2d" else "")
            self.status.set(f"step {state.step} / {self.trace[-1].step}", detail, "running")

    def describe_state(self, state: optim.OptimState) -> str:
        """The message under the plot: the run, the step's parameters and loss, in words."""
        names = ("w", "b") if self.function == "2d" else ("θ",)
        where = ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, state.params))
        text = f"{self.describe_run()}, step {state.step}: {where}, loss = {state.loss:.4g}"
        if self.batch_size is not None and state.batch is not None:
            text += f", epoch {state.epoch}, next batch of {len(state.batch)}"
        if self.diverged_at is not None:
            limit = optim.divergence_limit(self.problem, self.trace[0].loss)
            text += (f". <b style='color:#c62828'>This run diverged at step {self.diverged_at}</b>: its loss passed "
                     f"{limit:.3g} (the run stops there); η is too large for this surface.")
        elif self.function == "1d" and self.optimizer_name in ("sgd", "minibatch"):
            text += ". (A plain function has no examples to sample: SGD and mini-batch are full-batch GD here.)"
        return text
