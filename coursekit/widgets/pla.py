"""The PLA stepper: watch the perceptron learning algorithm (感知器學習演算法) work, one update at a time.

What you see on the left, at update ``t`` (the counter, the title w_t and the
messages all count updates: t = 0 is the start, w_0 = 0):

* the data: ``o`` for y = +1, ``x`` for y = -1; the side of the plane that
  w_t calls +1 is shaded blue, the side it calls -1 is shaded red;
* thin purple rings around every point that w_t still gets wrong;
* a thick black ring around the mistake that update t corrected (point ``n``);
* the dashed line: the boundary of ``w_{t-1}``, *before* the update; the solid
  line: the boundary of ``w_t = w_{t-1} + y_n x_n``, after it;
* three arrows for that update, using the (w1, w2) part of each vector
  (w0, the bias, moves the line but has no direction in the plane):
  ``w_{t-1}`` (grey), ``y_n x_n`` (orange, drawn from the tip of w_{t-1}) and
  ``w_t`` (blue). The blue arrow is the sum of the other two: that *is* the
  PLA update. When w grows long, all three arrows are scaled by the same
  factor so that they fit (the title says so);
* in "pocket" mode, the green line is the pocket weights ŵ: the best w seen
  so far (fewest mistakes on all the data), which is what the pocket
  algorithm returns.

The credit-approval data (age in years, salary in thousands) is standardized
before PLA sees it, z = (x - mean) / std, and is drawn in z: the bottom and
left axes are z, the top and right axes the original units.

On the right: how many points each w_t gets wrong, drawn up to the current
update only (PLA's count jumps up and down; pocket's best-so-far count never
goes up), and, large, where the run stands: the update, the mistakes, and
"converged" or "stopped at the update limit" at the end. PLA itself never
counts these; the widget counts them for you.

Controls: Reset / Back / Step / Play / "to end", the speed and the scrubber
move through the updates; the data set, PLA / pocket and naive / random cycle
start a new run at t = 0; with "compare" on, the previous run's mistake curve
(and its final line, on the same data) stays on the plot, faint. Click on the
left plot to add a point with the label chosen under "click adds" (the run is
recomputed from t = 0). Try adding a point that makes the data inseparable:
PLA then never halts and stops at its update limit, while pocket still keeps
a good line.

The widget has no algorithm of its own: every number it shows comes from
:func:`coursekit.perceptron.perceptron_trace`.
"""
from __future__ import annotations

import html
from dataclasses import replace

import ipywidgets as W
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrow, Patch, Polygon

from coursekit import perceptron as P
from coursekit.widgets.base import GHOST_COLOR, OnPlotStatus, PreviousRun, StepWidget, control_row

DATASETS = ("separable", "noisy", "credit approval")
GIVEN = "your data"  # the dropdown entry for data passed in as X=, y=
ALGORITHMS = ("pla", "pocket")
CYCLES = ("naive", "random")

# colours, chosen to stay apart for the common kinds of colour blindness
POS, NEG = "tab:blue", "tab:red"
BEFORE, UPDATE, AFTER, POCKET = "0.45", "tab:orange", "tab:blue", "tab:green"
WRONG = "tab:purple"  # rings around the points w_t still gets wrong
REGION_ALPHA = 0.16


def _as_data(X, y):
    """Check raw 2-D data given by the user: X of shape (N, 2), y in {-1, +1}."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2) (two features to draw in the plane), got {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError("labels y must be +1 or -1")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must contain finite numbers")
    return X, y.astype(int)


def line_segment(w, limits):
    """The part of the line w0 + w1 x1 + w2 x2 = 0 inside the box ``limits``
    = (x1min, x1max, x2min, x2max), as two lists (x1s, x2s); empty when w has
    no direction (w1 = w2 = 0: then there is no line)."""
    w0, w1, w2 = (float(v) for v in w)
    a, b, c, d = limits
    if abs(w1) < 1e-12 and abs(w2) < 1e-12:
        return [], []
    if abs(w2) >= abs(w1):  # the steeper of the two parametrizations is the stable one
        x1 = np.array([a, b])
        return list(x1), list(-(w0 + w1 * x1) / w2)
    x2 = np.array([c, d])
    return list(-(w0 + w2 * x2) / w1), list(x2)


def half_plane(w, limits, sign):
    """The polygon of the box ``limits`` where sign(w^T x) == sign (+1 or -1):
    the box clipped by one half-plane (one step of Sutherland-Hodgman).
    Returns an (k, 2) array, possibly empty."""
    a, b, c, d = limits
    box = np.array([[a, c], [b, c], [b, d], [a, d]])
    f = sign * (w[0] + box @ np.asarray(w[1:], dtype=float))
    out = []
    for i in range(4):
        p, q, fp, fq = box[i], box[(i + 1) % 4], f[i], f[(i + 1) % 4]
        if fp > 0:
            out.append(p)
        if (fp > 0) != (fq > 0) and fp != fq:
            out.append(p + (q - p) * fp / (fp - fq))  # where the edge crosses the line
    return np.array(out) if out else np.empty((0, 2))


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(t: int) -> str:
    return str(t).translate(_SUBSCRIPTS)


def _fmt(v) -> str:
    return "(" + ", ".join(f"{x:+.2f}" for x in np.asarray(v, dtype=float)) + ")"


def updates_of(trace) -> list:
    """The states of a PLA run, one per update: t = 0, 1, ..., T.

    :func:`coursekit.perceptron.perceptron_trace` ends with one more record that
    says why PLA stopped (a clean full cycle, or the update limit) for the same
    w_T; the widget folds it into the last update, so that the last step is the
    last update and the counter, the title w_t and the messages agree."""
    trace = list(trace)
    if len(trace) >= 2 and trace[-1].halted and trace[-1].t == trace[-2].t:
        return trace[:-2] + [trace[-1]]
    return trace


def mistakes_of(w, X, y) -> np.ndarray:
    """Which points w gets wrong: sign(w^T x) != y (sign(0) = 0 is wrong too)."""
    return np.sign(w[0] + X @ np.asarray(w[1:], dtype=float)) != y


class PLAStepper(StepWidget):
    """Step through cyclic PLA (or the pocket algorithm) on 2-D data.

    ``PLAStepper(dataset="separable", algorithm="pla", cycle="naive", seed=0,
    max_updates=200)``; or ``PLAStepper(X=X, y=y)`` to show your own 2-D data
    (X of shape (N, 2), y in {-1, +1}). ``seed`` picks both the data set and
    the random cycle.

    Readable from Python: ``index`` (= the update t), ``state`` (a
    :class:`coursekit.perceptron.PerceptronState`), ``X``, ``y``, the artists
    (``boundary_line``, ``highlight``, ``wrong_rings``, ``mistake_curve``, ...),
    ``status`` (the large text on the plot), ``counter``, ``message``.
    """

    name = "PLA stepper"
    counter_noun = "update"
    play_interval_ms = 400

    def __init__(self, dataset: str = "separable", algorithm: str = "pla", cycle: str = "naive",
                 seed: int = 0, max_updates: int = 200, *, X=None, y=None, n: int = 40):
        if (X is None) != (y is None):
            raise ValueError("give both X and y (or neither)")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        if cycle not in CYCLES:
            raise ValueError(f"cycle must be one of {CYCLES}, got {cycle!r}")
        if int(max_updates) != max_updates or max_updates < 1:
            raise ValueError(f"max_updates must be a positive integer, got {max_updates!r}")
        self.seed, self.max_updates, self.n_points = int(seed), int(max_updates), int(n)
        self._given = _as_data(X, y) if X is not None else None
        options = list(DATASETS) + ([GIVEN] if self._given is not None else [])
        if X is not None:
            dataset = GIVEN
        elif dataset == "credit":
            dataset = "credit approval"
        if dataset not in options:
            raise ValueError(f"dataset must be one of {tuple(options)}, got {dataset!r}")

        super().__init__(figsize=(8.2, 4.3))
        self.dataset_dropdown = W.Dropdown(options=options, value=dataset, layout=W.Layout(width="160px"))
        self.algorithm_toggle = W.ToggleButtons(options=[("PLA", "pla"), ("pocket", "pocket")], value=algorithm,
                                                style={"button_width": "76px"})
        self.cycle_toggle = W.ToggleButtons(options=[("naive", "naive"), ("random", "random")], value=cycle,
                                            style={"button_width": "76px"})
        self.label_toggle = W.ToggleButtons(options=[("+1 (o)", 1), ("-1 (x)", -1)], value=1,
                                            style={"button_width": "76px"})
        self.rows = [
            control_row("data", self.dataset_dropdown,
                        W.HTML("<b>algorithm</b>", layout=W.Layout(width="74px")), self.algorithm_toggle,
                        W.HTML("<b>cycle</b>", layout=W.Layout(width="44px")), self.cycle_toggle),
            control_row("click adds", self.label_toggle,
                        W.HTML("<span style='color:#555'>click on the left plot to add a point with this label"
                               "</span>", layout=W.Layout(width="420px"))),
        ]
        self._build_figure()
        self.dataset_dropdown.observe(lambda _: self._load_dataset(), names="value")
        self.cycle_toggle.observe(lambda _: self._recompute(), names="value")
        self.algorithm_toggle.observe(lambda _: self._recompute(), names="value")
        self._click_id = self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self._load_dataset()

    # ---- what the controls say -------------------------------------------------
    @property
    def dataset(self) -> str:
        return self.dataset_dropdown.value

    @property
    def algorithm(self) -> str:
        return self.algorithm_toggle.value

    @property
    def cycle(self) -> str:
        return self.cycle_toggle.value

    def describe_run(self) -> str:
        return f"{self.algorithm.upper() if self.algorithm == 'pla' else 'pocket'}, {self.cycle} cycle"

    # ---- the figure: every artist is made once, then moved ---------------------
    def _build_figure(self) -> None:
        gs = self.fig.add_gridspec(1, 2, width_ratios=[1.2, 1.0])
        ax = self.ax = self.fig.add_subplot(gs[0, 0])
        self.mistake_ax = self.fig.add_subplot(gs[0, 1])
        ax.set_aspect("equal", adjustable="box")  # so w really looks perpendicular to its line
        self.positive_region = ax.add_patch(Polygon(np.empty((0, 2)), closed=True, color=POS, alpha=REGION_ALPHA,
                                                    lw=0))
        self.negative_region = ax.add_patch(Polygon(np.empty((0, 2)), closed=True, color=NEG, alpha=REGION_ALPHA,
                                                    lw=0))
        self.positive_points = ax.scatter([], [], marker="o", facecolors="none", edgecolors=POS, s=36, zorder=3)
        self.negative_points = ax.scatter([], [], marker="x", color=NEG, s=36, zorder=3)
        self.wrong_rings = ax.scatter([], [], marker="o", s=120, facecolors="none", edgecolors=WRONG,
                                      linewidths=1.2, zorder=4)
        self.highlight = ax.scatter([], [], marker="o", s=300, facecolors="none", edgecolors="black",
                                    linewidths=2.2, zorder=4)
        self.previous_boundary_line, = ax.plot([], [], ls="--", color=BEFORE, lw=1.5, zorder=2)
        self.boundary_line, = ax.plot([], [], ls="-", color=AFTER, lw=2.2, zorder=2)
        self.pocket_line, = ax.plot([], [], ls="-", color=POCKET, lw=2.5, alpha=0.85, zorder=2)
        arrow = dict(x=0.0, y=0.0, dx=0.0, dy=0.0, length_includes_head=True, zorder=5)
        self.w_before_arrow = ax.add_patch(FancyArrow(**arrow, color=BEFORE))
        self.update_arrow = ax.add_patch(FancyArrow(**arrow, color=UPDATE))
        self.w_arrow = ax.add_patch(FancyArrow(**arrow, color=AFTER))
        self.w_text = ax.title
        self.w_text.set_fontsize(10)
        self._secondary: list = []
        self._legend_artist = None

        m = self.mistake_ax
        self.mistake_curve, = m.plot([], [], "-o", color=AFTER, ms=2.5, lw=1.2, label="mistakes of $w_t$")
        self.pocket_curve, = m.plot([], [], drawstyle="steps-post", color=POCKET, lw=2.0,
                                    label="pocket: fewest so far")
        self.current_marker, = m.plot([], [], "o", ms=11, mfc="none", mec=NEG, mew=2.0, zorder=5,
                                      label="this update")
        m.set_xlabel("update $t$")
        m.set_ylabel("points misclassified")
        m.grid(alpha=0.3)
        self.status = OnPlotStatus(m, loc="upper right", fontsize=13)

        # Blitting: the artists that change from step to step are "animated": a
        # full draw leaves them out, saves the rest (axes, ticks, legends) as a
        # background image, then draws them on top; a step restores that
        # background and redraws only these few artists.
        self.set_dynamic([self.positive_region, self.negative_region, self.previous_boundary_line,
                          self.boundary_line, self.pocket_line, self.positive_points, self.negative_points,
                          self.wrong_rings, self.w_before_arrow, self.update_arrow, self.w_arrow, self.highlight,
                          self.w_text, self.mistake_curve, self.pocket_curve, self.current_marker,
                          *self.status.artists])

    def _legend(self) -> None:
        handles = [Line2D([], [], ls="", marker="o", mfc="none", color=POS, label="$y=+1$"),
                   Line2D([], [], ls="", marker="x", color=NEG, label="$y=-1$"),
                   Line2D([], [], ls="", marker="o", ms=9, mfc="none", mec=WRONG, mew=1.2,
                          label="wrong now ($w_t$)"),
                   Line2D([], [], ls="", marker="o", ms=12, mfc="none", mec="black", mew=2,
                          label="corrected by update $t$"),
                   Line2D([], [], ls="--", color=BEFORE, label="line of $w_{t-1}$ (before)"),
                   Line2D([], [], ls="-", color=AFTER, lw=2, label="line of $w_t$ (after)"),
                   Patch(color=BEFORE, label="$w_{t-1}$"), Patch(color=UPDATE, label="$y_n x_n$"),
                   Patch(color=AFTER, label="$w_t = w_{t-1} + y_n x_n$")]
        if self.algorithm == "pocket":
            handles.insert(6, Line2D([], [], color=POCKET, lw=2.5, label="pocket $\\hat w$"))
        handles += [self.mistake_curve, self.current_marker]
        if self.algorithm == "pocket":
            handles.append(self.pocket_curve)
        handles += [a for a in self.ghost_artists if isinstance(a, Line2D) and a.get_label().startswith("previous")]
        if self._legend_artist is not None:
            self._legend_artist.remove()
        # one legend, below the plots, where it never covers a point, a curve or the status
        self._legend_artist = self.fig.legend(handles=handles, loc="outside lower center", ncols=4,
                                              fontsize=8, frameon=False, columnspacing=1.2, handletextpad=0.5)

    # ---- data ---------------------------------------------------------------------
    def _raw_dataset(self, name):
        from coursekit import datasets  # imported here: the widget module loads without it

        if name == "separable":
            return datasets.linearly_separable(n=self.n_points, margin=0.1, seed=self.seed)[:2]
        if name == "noisy":
            return datasets.noisy_separable(n=self.n_points, margin=0.1, noise=0.1, seed=self.seed)
        if name == "credit approval":
            return datasets.credit_approval(n=self.n_points, seed=self.seed)
        return self._given

    def _load_dataset(self) -> None:
        """Load the chosen data set, fix its axis limits, draw it, run PLA on it."""
        X, y = _as_data(*self._raw_dataset(self.dataset))
        for sec in self._secondary:
            sec.remove()
        self._secondary = []
        if self.dataset == "credit approval":
            # Age is in years (20-70) and salary in thousands (tens to hundreds) while
            # x_0 = 1: on raw numbers every update moves w_0 by only 1 and PLA needs
            # thousands of updates. So the algorithm gets standardized features
            # z = (x - mean) / std, and we *draw* in z too, because only there is the
            # arrow w perpendicular to its line; the top and right axes give the
            # original units. Clicked points are in z (fixed mean/std, so adding a
            # point moves no other point).
            from coursekit import datasets

            self.feature_mean, self.feature_scale = X.mean(axis=0), X.std(axis=0)
            X = (X - self.feature_mean) / self.feature_scale
            names = tuple(getattr(datasets, "CREDIT_FEATURES", ("age (years)", "salary (thousands)")))
            self.feature_names = tuple(f"{name.split(' (')[0]}, standardized" for name in names)
            mu, sd = self.feature_mean, self.feature_scale
            top = self.ax.secondary_xaxis("top", functions=(lambda z: mu[0] + sd[0] * z,
                                                            lambda v: (v - mu[0]) / sd[0]))
            right = self.ax.secondary_yaxis("right", functions=(lambda z: mu[1] + sd[1] * z,
                                                                lambda v: (v - mu[1]) / sd[1]))
            top.set_xlabel(names[0], fontsize=9)
            right.set_ylabel(names[1], fontsize=9)
            self._secondary = [top, right]
        else:
            self.feature_mean, self.feature_scale = np.zeros(2), np.ones(2)
            self.feature_names = ("$x_1$", "$x_2$")
        self.X, self.y = X, y
        self.ax.set_xlabel(self.feature_names[0])
        self.ax.set_ylabel(self.feature_names[1])
        self._fit_limits()
        self._recompute()

    def _fit_limits(self) -> None:
        """Limits: the data and the origin (arrows start there), padded, then fixed,
        so nothing jumps while stepping."""
        lo = np.minimum(self.X.min(axis=0), 0.0)
        hi = np.maximum(self.X.max(axis=0), 0.0)
        pad = 0.12 * np.maximum(hi - lo, 1e-9)
        self.limits = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
        self.ax.set_xlim(*self.limits[:2])
        self.ax.set_ylim(*self.limits[2:])
        span = min(self.limits[1] - self.limits[0], self.limits[3] - self.limits[2])
        self._arrow_style = dict(width=0.008 * span, head_width=0.035 * span, head_length=0.05 * span)

    @property
    def X_raw(self) -> np.ndarray:
        """The data in its original units (differs from ``X`` for credit approval only)."""
        return self.feature_mean + self.feature_scale * self.X

    def _draw_points(self) -> None:
        self.positive_points.set_offsets(self.X[self.y == 1].reshape(-1, 2))
        self.negative_points.set_offsets(self.X[self.y == -1].reshape(-1, 2))

    def _recompute(self) -> None:
        """Run the reference PLA on the current data and show the new run from t = 0."""
        self.invalidate_background()  # the static part changes: the next draw must be a full one
        trace = updates_of(P.perceptron_trace(P.add_bias(self.X), self.y, cycle=self.cycle, seed=self.seed,
                                              max_updates=self.max_updates))
        self._draw_points()
        pocket = self.algorithm == "pocket"
        self.pocket_line.set_visible(pocket)
        self.pocket_curve.set_visible(pocket)
        self._t = np.array([s.t for s in trace])
        self._mistakes = np.array([s.mistakes for s in trace])
        self._pocket_mistakes = np.array([s.pocket_mistakes for s in trace])
        self.set_trace(trace)  # also keeps the previous run, faint, in compare mode
        self._run_data = (self.X.copy(), self.y.copy())  # what this run ran on, for compare mode
        self._fit_mistake_axes()
        self._legend()
        self.freeze_layout()
        self.redraw()

    def _fit_mistake_axes(self) -> None:
        """The mistake plot's limits hold the whole run (and any previous one), with
        room at the top for the status, so nothing moves while stepping."""
        m = self.mistake_ax
        runs = [self.trace] + ([self._ghost_run.states] if self.ghost_artists else [])
        t_max = max(max(s.t for s in run) for run in runs)
        top = max(max(s.mistakes for s in run) for run in runs)
        m.set_xlim(-0.5 - 0.02 * t_max, max(t_max, 1) * 1.03 + 0.5)  # room for the ring at either end
        m.set_ylim(-0.5, max(top, 1) * 1.55 + 0.5)
        m.set_title(f"mistakes on all N = {len(self.y)} points", fontsize=10)

    # ---- compare mode: the previous run, faint --------------------------------------
    def current_run(self) -> PreviousRun:
        return PreviousRun(self.trace, f"{self.run_label} ({self.trace[-1].t} updates)",
                           extra=self._run_data)

    def draw_ghost(self, run: PreviousRun) -> list:
        self._ghost_run = run
        t = [s.t for s in run.states]
        curve, = self.mistake_ax.plot(t, [s.mistakes for s in run.states], "-", color=GHOST_COLOR, lw=1.2,
                                      alpha=0.6, zorder=1, label=f"previous: {run.label}")
        artists = [curve]
        X, y = run.extra
        if X.shape == self.X.shape and np.array_equal(X, self.X) and np.array_equal(y, self.y):
            # the same data: its final line is comparable with this run's
            line, = self.ax.plot(*line_segment(run.states[-1].w, self.limits), ls="-", color=GHOST_COLOR,
                                 lw=2.0, alpha=0.5, zorder=1)
            artists.append(line)
        return artists

    def clear_ghost(self) -> None:
        super().clear_ghost()
        self._fit_mistake_axes()
        self._legend()
        self.redraw()

    # ---- clicks -------------------------------------------------------------------
    def _on_click(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None or event.ydata is None:
            return  # a click on the mistakes plot, the legend or outside: nothing to add
        if getattr(event, "button", 1) not in (1, None):
            return  # left button only
        self.add_point(event.xdata, event.ydata, self.label_toggle.value)

    def add_point(self, x1: float, x2: float, label: int) -> None:
        """Add the point (x1, x2) (in the plotted coordinates) with label +1 or -1,
        recompute PLA and go back to t = 0."""
        if label not in (1, -1):
            raise ValueError(f"label must be +1 or -1, got {label!r}")
        point = np.array([[float(x1), float(x2)]])
        if not np.all(np.isfinite(point)):
            raise ValueError("the new point must have finite coordinates")
        self.X = np.vstack([self.X, point])
        self.y = np.append(self.y, int(label))
        a, b, c, d = self.limits
        if not (a <= x1 <= b and c <= x2 <= d):
            self._fit_limits()  # only a point given in code can land outside the plot
        self._recompute()
        self.message.value = (f"added point #{len(self.y) - 1} at ({x1:.2f}, {x2:.2f}) with y = {label:+d}; "
                              f"PLA was run again on the {len(self.y)} points: back to t = 0. "
                              f"The new run has {self.trace[-1].t} updates.")

    # ---- drawing one state --------------------------------------------------------
    def _set_arrow(self, arrow, start, vector) -> None:
        length = float(np.hypot(*vector))
        arrow.set_visible(length > 1e-12)
        if length > 1e-12:
            arrow.set_data(x=start[0], y=start[1], dx=vector[0], dy=vector[1], **self._arrow_style)

    def updates(self, index: int) -> int:
        return int(self.trace[index].t)

    def render(self, state: P.PerceptronState) -> None:
        picked = state.n is not None  # t > 0: update t corrected point n
        w_before = state.w_before if picked else state.w
        update = state.update if picked else np.zeros_like(state.w)
        wrong = mistakes_of(state.w, self.X, self.y)

        self.highlight.set_offsets(self.X[[state.n]] if picked else np.empty((0, 2)))
        self.wrong_rings.set_offsets(self.X[wrong].reshape(-1, 2))
        self.boundary_line.set_data(*line_segment(state.w, self.limits))
        self.previous_boundary_line.set_data(*(line_segment(w_before, self.limits) if picked else ([], [])))
        self.positive_region.set_xy(half_plane(state.w, self.limits, +1))
        self.negative_region.set_xy(half_plane(state.w, self.limits, -1))
        if self.algorithm == "pocket":
            self.pocket_line.set_data(*line_segment(state.pocket_w, self.limits))

        # one common scale for the three arrows keeps w_{t-1} + y x = w_t visible
        reach = 0.45 * min(self.limits[1] - self.limits[0], self.limits[3] - self.limits[2])
        longest = max(np.hypot(*w_before[1:]), np.hypot(*state.w[1:]), 1e-12)
        self.arrow_scale = min(1.0, reach / longest)
        s = self.arrow_scale
        self._set_arrow(self.w_before_arrow, (0.0, 0.0), s * w_before[1:] if picked else (0.0, 0.0))
        self._set_arrow(self.update_arrow, s * w_before[1:], s * update[1:])
        self._set_arrow(self.w_arrow, (0.0, 0.0), s * state.w[1:])

        # plain text, no $math$: mathtext would be parsed anew at every step
        t = state.t
        if picked:
            title = f"w{_sub(t)} = w{_sub(t - 1)} + y{_sub_n()}x{_sub_n()} = {_fmt(state.w)}"
        else:
            title = f"w{_sub(t)} = {_fmt(state.w)}"
        if s < 1.0:
            title += f"   (arrows ×{s:.2g})"
        self.w_text.set_text(title)  # one line: every glyph costs time at every step

        i = self.index if self.trace[self.index] is state else self.trace.index(state)
        self.mistake_curve.set_data(self._t[:i + 1], self._mistakes[:i + 1])
        self.pocket_curve.set_data(self._t[:i + 1], self._pocket_mistakes[:i + 1])
        self.current_marker.set_data([t], [state.mistakes])
        self._set_status(state)
        self.message.value = self.describe_state(state)

    def _set_status(self, state: P.PerceptronState) -> None:
        pocket = f"; pocket ŵ: {state.pocket_mistakes}" if self.algorithm == "pocket" else ""
        mistakes = f"{state.mistakes} mistake{'s' if state.mistakes != 1 else ''}"
        if state.halted and state.converged:
            self.status.set("converged ✓", f"{mistakes} after {state.t} updates{pocket}", "ok")
        elif state.halted:
            self.status.set("stopped at the update limit", f"{state.t} updates, {mistakes} left{pocket}",
                            "bad" if self.algorithm == "pla" else "warn")
        else:
            self.status.set(f"update {state.t} / {self.trace[-1].t}", mistakes + pocket, "running")

    def describe_state(self, state: P.PerceptronState) -> str:
        """The message under the plot: what happened at this update, in words."""
        pocket = ""
        if self.algorithm == "pocket":
            pocket = f" The pocket holds ŵ with {state.pocket_mistakes} mistake(s)."
        t = state.t
        if state.n is None:
            text = (f"t = 0: w₀ = {_fmt(state.w)}. With w = 0, sign(wᵀx) = 0 for every point, "
                    f"so all {len(self.y)} points are mistakes. Press Step.")
        else:
            n, y_n = state.n, int(self.y[state.n])
            score = float(state.w_before @ P.add_bias(self.X[[n]])[0])
            text = (f"update {t}: point #{n} was misclassified by w{_sub(t - 1)} (y = {y_n:+d}, "
                    f"w·x = {score:+.2f}); w{_sub(t)} = w{_sub(t - 1)} + y x = {_fmt(state.w)}; "
                    f"now {state.mistakes} mistake(s).")
        if state.halted and state.converged:
            text += (f" PLA halts: no mistakes in a full cycle, after {t} updates; "
                     f"w_PLA = w{_sub(t)} separates the data.")
        elif state.halted:
            text += (f" PLA stopped at the update limit ({self.max_updates} updates) with {state.mistakes} "
                     f"mistake(s) left (not separable?).")
        return html.escape(text + pocket)

    def describe_step(self, index: int) -> str:
        return (f"<b>update {self.updates(index)} / {self.updates(self.last_index)}</b> &nbsp; "
                f"{self.describe_run()}")


def _sub_n() -> str:
    return "ₙ"
