"""The gradient-descent explorer: watch an optimizer walk down a loss surface.

Left: the contours of C(w, b) = (1/N) Σ (w xₙ + b - yₙ)² on deck 003's 20-point
set (or a one-dimensional function, f(θ) = θ⁴ - 2θ² + θ/2, with two valleys),
the trajectory θ⁰, θ¹, ..., θᵗ drawn on it and the least-squares minimum
(w*, b*) marked. Right: the loss curve C(θᵗ) up to the current step.

Controls: the optimizer (GD, SGD, mini-batch with its batch size, momentum,
Adagrad, RMSProp, Adam), the learning rate η on a log slider, the surface,
Back / Step / Play / Reset, and the start point, picked by clicking on the
left plot. Every change recomputes the run with :mod:`coursekit.optim` (the
widget holds no algorithm); a run whose loss explodes is shown as it is: the
view keeps its bounds and says "diverged". A run counts as diverged once its loss
is inf / nan, above 1e10, or more than 100 times its starting scale and still rising
(:func:`coursekit.optim.divergence_limit`): at η = 0.032, just above the stability
limit 2/λ_max ≈ 0.0316, that happens after about 100 steps.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np

from .. import optim
from .._validate import real_number, whole_number
from .base import StepWidget

W_RANGE = (-1.0, 3.0)     # the view of C(w, b): w* ≈ 0.996 and b* = 0.02 sit inside
B_RANGE = (-6.0, 6.0)
THETA_RANGE = (-2.2, 2.2)  # the view of the 1-D function
DEFAULT_START = {"2d": (-0.5, -5.0), "1d": (2.0,)}
OPTIONS = [("GD (full batch)", "gd"), ("SGD (batch 1)", "sgd"), ("mini-batch", "minibatch"),
           ("momentum (α = 0.9)", "momentum"), ("Adagrad", "adagrad"), ("RMSProp", "rmsprop"), ("Adam", "adam")]
ETA_LOG_RANGE = (-4.0, 0.5)  # the η slider runs from 10⁻⁴ to 10^0.5 ≈ 3.16


def _check_eta(eta) -> float:
    eta = real_number("eta", eta, 0, low_open=True, meaning="the learning rate η")
    low, high = 10 ** ETA_LOG_RANGE[0], 10 ** ETA_LOG_RANGE[1]
    if not low <= eta <= high:
        raise ValueError(f"eta must lie in the η slider's range [{low:g}, {high:.4g}], got {eta!r}")
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


class GDExplorer(StepWidget):
    """Gradient descent and its variants on C(w, b) of the 20-point set, or on a 1-D function.

    Readable from Python: ``optimizer_dropdown``, ``eta_slider``, ``batch_slider``,
    ``function_toggle``, ``start``, ``trace`` (the :class:`coursekit.optim.OptimState`
    list), ``trajectory_line`` and ``loss_line`` (the artists), ``status_text``.
    """

    play_interval_ms = 200

    def __init__(self, optimizer: str = "gd", eta: float = 0.01, batch_size: int = 5, function: str = "2d",
                 steps: int = 150, seed: int = 0, start=None):
        # Check every argument before building anything: a control would otherwise clamp a bad
        # value silently (η = -1 would become 1e-4) or fail with a trait error of ipywidgets.
        if function not in DEFAULT_START:
            raise ValueError(f"function must be '2d' (C(w, b)) or '1d' (f(θ)), got {function!r}")
        steps = whole_number("steps", steps, 1, noun="integer", meaning="the number of updates in a run")
        optimizer = optim._choice("optimizer", optimizer.lower() if isinstance(optimizer, str) else optimizer,
                                  tuple(optim.OPTIMIZERS))
        eta = _check_eta(eta)
        problems = {"2d": optim.regression_20_problem(), "1d": optim.double_well()}
        n = problems["2d"].n_examples
        batch_size = whole_number("batch_size", batch_size, 1, n, noun="integer", meaning="the number of examples")
        start = _check_start(function, DEFAULT_START[function] if start is None else start)
        super().__init__(figsize=(8.8, 3.8))
        self.steps, self.seed = steps, seed
        self.problems = problems
        self.optimizer_dropdown = W.Dropdown(options=OPTIONS, value=optimizer, description="optimizer",
                                             layout=W.Layout(width="260px"))
        self.eta_slider = W.FloatLogSlider(value=eta, base=10, min=ETA_LOG_RANGE[0], max=ETA_LOG_RANGE[1], step=0.05,
                                           description="η", readout_format=".4f", continuous_update=False)
        self.batch_slider = W.IntSlider(value=batch_size, min=1, max=n, description="batch size",
                                        continuous_update=False)
        self.function_toggle = W.ToggleButtons(options=[("C(w, b), 20 points", "2d"), ("1-D function", "1d")],
                                               value=function)
        self.extra = [W.HBox([self.optimizer_dropdown, self.eta_slider, self.batch_slider]), self.function_toggle]
        self.ax, self.ax_loss = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})
        self.start = start
        for control in (self.optimizer_dropdown, self.eta_slider, self.batch_slider):
            control.observe(lambda _: self.recompute(), names="value")
        self.function_toggle.observe(lambda _: self._on_function(), names="value")
        self._click_id = self.fig.canvas.mpl_connect("button_press_event", self._on_press)
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
    def batch_size(self) -> int | None:
        """The batch size of the current run: None is the full batch."""
        if self.function == "1d":
            return None  # a plain function has no examples to sample
        return {"sgd": 1, "minibatch": int(self.batch_slider.value)}.get(self.optimizer_name)

    def make_trace(self) -> list[optim.OptimState]:
        """The run for the current controls, computed by :func:`coursekit.optim.optimize`."""
        opt = optim.make_optimizer(self.optimizer_name, self.eta_slider.value)
        return optim.optimize(self.problem, opt, self.start, self.steps, batch_size=self.batch_size, seed=self.seed)

    # ---- the static picture -----------------------------------------------------------
    def _build_view(self) -> None:
        ax, axl = self.ax, self.ax_loss
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
            ax.contour(Wg, Bg, Cg, levels=np.geomspace(0.03, Cg.max(), 16), cmap="viridis", linewidths=0.8)
            w_star, b_star = optim.least_squares_solution(p.x, p.y)
            ax.plot([w_star], [b_star], marker="*", color="crimson", markersize=12, linestyle="none",
                    label="least squares (w*, b*)")
            ax.set_xlim(*W_RANGE)
            ax.set_ylim(*B_RANGE)
            ax.set_xlabel("w")
            ax.set_ylabel("b")
            ax.set_title("C(w, b) on the 20 points: click to start", fontsize=10)
            axl.set_yscale("log")
            axl.set_title("loss C(wᵗ, bᵗ) on all 20 points", fontsize=10)
        else:
            theta = np.linspace(*THETA_RANGE, 400)
            fvals = np.array([self.problem.loss([t]) for t in theta])
            ax.plot(theta, fvals, color="0.3", linewidth=1.2)
            ax.set_xlim(*THETA_RANGE)
            ax.set_ylim(fvals.min() - 0.5, fvals.max() + 0.5)
            ax.set_xlabel("θ")
            ax.set_ylabel("f(θ)")
            ax.set_title(f"{self.problem.name}: click to start", fontsize=10)
            axl.set_yscale("linear")
            axl.set_title("loss f(θᵗ)", fontsize=10)
        ax.set_autoscale_on(False)
        (self.trajectory_line,) = ax.plot([], [], "-o", color="tab:orange", markersize=3, linewidth=1.2,
                                          label="trajectory")
        (self.current_point,) = ax.plot([], [], "o", color="tab:red", markersize=7)
        self.status_text = ax.text(0.03, 0.96, "", transform=ax.transAxes, va="top", fontsize=11,
                                   color="crimson", fontweight="bold")
        (self.loss_line,) = axl.plot([], [], color="tab:orange", linewidth=1.5)
        (self.loss_point,) = axl.plot([], [], "o", color="tab:red", markersize=5)
        axl.set_xlabel("step t")
        axl.set_xlim(0, self.steps)
        axl.set_autoscale_on(False)
        if self.function == "2d":
            ax.legend(loc="lower right", fontsize=8)
        # Blitting: the artists that change from step to step are "animated"; a full
        # draw paints the static rest (contours, axes, ticks) once, keeps it as a
        # background, and a step only restores it and redraws these few artists.
        self.set_dynamic([self.trajectory_line, self.current_point, self.status_text, self.loss_line,
                          self.loss_point])

    # ---- recomputing ----------------------------------------------------------------
    def recompute(self) -> None:
        """Run the optimizer again (a control changed) and show the new run at the same step."""
        self.batch_slider.disabled = self.optimizer_name != "minibatch" or self.function == "1d"
        trace = self.make_trace()
        params = np.array([s.params for s in trace])
        if self.function == "2d":
            self._xy = params
        else:
            self._xy = np.column_stack([params[:, 0], [s.loss for s in trace]])
        self._steps = np.array([s.step for s in trace])
        self._losses = np.array([s.loss for s in trace])
        finite = self._losses[np.isfinite(self._losses)]
        low, high = float(finite.min()), float(finite.max())
        if self.function == "2d":
            self.ax_loss.set_ylim(max(low, 1e-6) / 2, max(high, 2 * low) * 2)
        else:
            pad = 0.1 * max(high - low, 1.0)
            self.ax_loss.set_ylim(low - pad, high + pad)
        self.freeze_layout()
        self.invalidate_background()  # the loss axis changed: the next draw must be a full one
        self.set_trace(trace, self.index)

    def _on_function(self) -> None:
        self.start = np.array(DEFAULT_START[self.function], dtype=float)
        self._build_view()
        self.recompute()

    # ---- the start point ------------------------------------------------------------
    def set_start(self, w: float, b: float | None = None) -> None:
        """Start the run at (w, b) on C(w, b), or at θ = w on the 1-D function."""
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

    def render(self, state: optim.OptimState) -> None:
        i = self.index
        self.trajectory_line.set_data(self._xy[:i + 1, 0], self._xy[:i + 1, 1])
        self.current_point.set_data(self._xy[i:i + 1, 0], self._xy[i:i + 1, 1])
        self.loss_line.set_data(self._steps[:i + 1], self._losses[:i + 1])
        self.loss_point.set_data(self._steps[i:i + 1], self._losses[i:i + 1])
        self.status_text.set_text("diverged" if state.diverged else "")
        names = ("w", "b") if self.function == "2d" else ("θ",)
        where = ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, state.params))
        label = dict((value, name) for name, value in OPTIONS)[self.optimizer_name]
        text = f"{label}, η = {self.eta_slider.value:.4g}, step {state.step}: {where}, loss = {state.loss:.4g}"
        if self.batch_size is not None and state.batch is not None:
            text += f", epoch {state.epoch}, next batch of {len(state.batch)}"
        if self.diverged_at is not None:
            limit = optim.divergence_limit(self.problem, self.trace[0].loss)
            text += (f". <b style='color:crimson'>This run diverged at step {self.diverged_at}</b>: its loss passed "
                     f"{limit:.3g} (the run stops there); η is too large for this surface.")
        elif self.function == "1d" and self.optimizer_name in ("sgd", "minibatch"):
            text += ". (A plain function has no examples to sample: SGD and mini-batch are full-batch GD here.)"
        self.message.value = text
