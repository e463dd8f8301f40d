"""The network playground: train a small network on 2-D data and watch it learn, live.

TensorFlow Playground's experience inside JupyterLab, trained by PyTorch
(:mod:`coursekit.playground` holds the engine; this widget holds none): pick a
data set, the input features and the network, press Play, and every tick of
Play trains one more epoch and redraws

* the decision surface P(class 1) as a heat map over [-6, 6]², with the
  training points (white rim) and, optionally, the test points (black rim);
  the epoch, the test accuracy and the loss drawn large on it, and a run that
  blows up labelled "diverged" (it stops; nothing is raised);
* a small heat map of every hidden unit (columns: layers; rows: units), each
  scaled to its own largest |output|: a blank tile is a unit that outputs 0
  everywhere (a dead ReLU);
* the training and test loss per epoch (in compare mode the previous run's
  test loss stays, faint).

What users of TensorFlow Playground ask for in its issue tracker and it lacks
is here: dropout and activation per layer, up to 6 layers of up to 8 units,
points of your own (click on the map; choose the class first), a stop
condition (test accuracy, training loss or a number of epochs), and the
accuracy next to the loss.
"""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.ticker import MaxNLocator

from .. import playground as P
from ..deepnets import ACTIVATIONS, INITS
from .base import GHOST_COLOR, LiveWidget, OnPlotStatus, PreviousRun, button, control_row

ORANGE, BLUE = "#f59322", "#0877bd"   # class 0, class 1 (TensorFlow Playground's colours)
# the surface in lighter shades of the same colours, so that the points (full colours) stand out on it
CMAP = LinearSegmentedColormap.from_list("playground", ["#f9be7a", "#eef0f1", "#6aa9d3"])
UNIT_CMAP = LinearSegmentedColormap.from_list("units", [ORANGE, "#e8eaeb", BLUE]).with_extremes(bad="white")
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.5)
STOP_RULES = (("never stop", ("never", 0)), ("test acc ≥ 95 %", ("test_acc", 0.95)),
              ("test acc ≥ 99 %", ("test_acc", 0.99)), ("train loss ≤ 0.05", ("train_loss", 0.05)),
              ("100 epochs", ("epochs", 100)), ("500 epochs", ("epochs", 500)))
TILE, GAP = P.UNIT_GRID, 4


def _fmt_pct(x: float) -> str:
    return "–" if not math.isfinite(x) else f"{100 * x:.1f} %"


class NetworkPlayground(LiveWidget):
    """A live-training playground. Readable from Python: :attr:`run` (the :class:`coursekit.playground.Playground`,
    with its config, history, surface and unit maps), :attr:`history`, :attr:`state`, the controls
    (``dataset``, ``noise``, ``train_pct``, ``feature_buttons``, ``layers``, ``units``, ``activations``,
    ``dropouts``, ``init``, ``batch_norm``, ``lr``, ``optimizer``, ``batch_size``, ``regularization``,
    ``reg_rate``, ``stop_rule``, ``click_label``, ``show_test``, ``discretize``) and the artists
    (``surface_image``, ``units_image``, ``train_line``, ``test_line``, ``status``)."""

    name = "network playground"
    counter_noun = "epoch"
    play_interval_ms = 150

    def __init__(self, config: P.PlaygroundConfig | None = None, device=None, **changes):
        config = (config or P.PlaygroundConfig()).but(**changes)
        self.run = P.Playground(config, device=device)
        super().__init__(figsize=(8.2, 4.1))
        self._building = True
        self._make_controls(config)
        self.make_compare_controls()
        self._build_figure()
        self._building = False
        self.restart(compare=False)

    # ---- controls ----------------------------------------------------------------------------
    def _make_controls(self, c: P.PlaygroundConfig) -> None:
        px = lambda w: W.Layout(width=f"{w}px")  # noqa: E731
        self.dataset = W.ToggleButtons(options=[(label, key) for key, (label, _) in P.DATASETS.items()],
                                       value=c.dataset, style={"button_width": "64px"})
        self.noise = W.FloatSlider(value=c.noise, min=0.0, max=0.5, step=0.05, readout_format=".2f",
                                   continuous_update=False, layout=px(140))
        self.train_pct = W.IntSlider(value=round(100 * c.train_fraction), min=10, max=90, step=10,
                                     continuous_update=False, layout=px(140))
        self.regenerate = button("new data", "refresh", width=104, tooltip="draw the data set again (another seed)")
        self.click_label = W.ToggleButtons(options=[("off", -1), ("orange", 0), ("blue", 1)], value=-1,
                                           style={"button_width": "72px"},
                                           tooltip="click on the map to add a training point of this class")
        self.clear_points = button("clear", "eraser", width=70, tooltip="remove every point (then click some)")
        self.show_test = W.Checkbox(value=False, description="test points", indent=False, layout=px(110))
        self.discretize = W.Checkbox(value=False, description="discretize", indent=False, layout=px(100))
        self.feature_buttons = {
            key: W.ToggleButton(value=key in c.features, description=label, layout=px(70))
            for key, (label, _) in P.FEATURES.items()}
        self.layers = W.IntSlider(value=len(c.hidden), min=0, max=P.MAX_LAYERS, continuous_update=False,
                                  layout=px(170))
        self.init = W.Dropdown(options=[i for i in INITS if i != "zeros"], value=c.init, layout=px(130))
        self.batch_norm = W.Checkbox(value=c.batch_norm, description="batch norm", indent=False, layout=px(110))
        n = len(c.hidden)
        self.units = [W.BoundedIntText(value=c.hidden[i] if i < n else 4, min=1, max=P.MAX_UNITS, layout=px(96))
                      for i in range(P.MAX_LAYERS)]
        self.activations = [W.Dropdown(options=list(ACTIVATIONS), value=c.activation[i] if i < n else "tanh",
                                       layout=px(96)) for i in range(P.MAX_LAYERS)]
        self.dropouts = [W.Dropdown(options=DROPOUTS, value=c.dropout[i] if i < n else 0.0, layout=px(96))
                         for i in range(P.MAX_LAYERS)]
        self.lr = W.Dropdown(options=LEARNING_RATES, value=c.lr, layout=px(90))
        self.optimizer = W.Dropdown(options=[(label, key) for key, (label, _) in P.OPTIMIZERS.items()],
                                    value=c.optimizer, layout=px(130))
        self.batch_size = W.IntSlider(value=c.batch_size, min=2 if c.batch_norm else 1, max=50,
                                      continuous_update=False, layout=px(170))
        self.regularization = W.Dropdown(options=P.REGULARIZATIONS, value=c.regularization, layout=px(76))
        self.reg_rate = W.Dropdown(options=REG_RATES, value=c.reg_rate, layout=px(76))
        self.stop_rule = W.Dropdown(options=STOP_RULES, value=("test_acc", 0.99), layout=px(150))
        labels = lambda text, w: W.HTML(f"<span style='color:#555'>{text}</span>", layout=px(w))  # noqa: E731
        self.rows = [
            control_row("data", self.dataset, labels("noise", 40), self.noise, labels("train %", 50),
                        self.train_pct),
            control_row("", self.regenerate, labels("click adds", 70), self.click_label, self.clear_points,
                        self.show_test, self.discretize),
            control_row("features", *self.feature_buttons.values()),
            control_row("network", labels("hidden layers", 92), self.layers, labels("init", 30), self.init,
                        self.batch_norm),
            control_row("units", *self.units),
            control_row("activation", *self.activations),
            control_row("dropout", *self.dropouts),
            control_row("training", labels("rate η", 46), self.lr, self.optimizer, labels("batch", 40),
                        self.batch_size, labels("stop at", 50), self.stop_rule),
            control_row("penalty", self.regularization, labels("rate λ", 46), self.reg_rate),
        ]
        for control in [self.dataset, self.noise, self.train_pct]:
            control.observe(lambda _: self._on_data(), names="value")
        # before the network's observers: batch norm needs batches of two or more
        self.batch_norm.observe(lambda _: self._sync_batch_minimum(), names="value")
        network = [self.layers, self.init, self.batch_norm, self.lr, self.optimizer, self.batch_size,
                   self.regularization, self.reg_rate, *self.units, *self.activations, *self.dropouts,
                   *self.feature_buttons.values()]
        for control in network:
            control.observe(lambda _: self._on_network(), names="value")
        for control in (self.show_test, self.discretize):
            control.observe(lambda _: self._on_view(), names="value")
        self.regenerate.on_click(lambda _: self._new_seed())
        self.clear_points.on_click(lambda _: self._clear())
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self._sync_layer_controls()

    def config_from_controls(self) -> P.PlaygroundConfig:
        """The set-up the controls describe now."""
        n = self.layers.value
        features = tuple(k for k, b in self.feature_buttons.items() if b.value) or ("x1",)
        return self.run.config.but(
            dataset=self.dataset.value, noise=self.noise.value, train_fraction=self.train_pct.value / 100,
            features=features, hidden=tuple(u.value for u in self.units[:n]),
            activation=tuple(a.value for a in self.activations[:n]), dropout=tuple(d.value for d in self.dropouts[:n]),
            init=self.init.value, batch_norm=self.batch_norm.value, lr=self.lr.value, optimizer=self.optimizer.value,
            batch_size=self.batch_size.value, regularization=self.regularization.value, reg_rate=self.reg_rate.value)

    def _sync_batch_minimum(self) -> None:
        building, self._building = self._building, True   # one restart, by the batch-norm change itself
        try:
            self.batch_size.min = 2 if self.batch_norm.value else 1   # raising the minimum lifts a 1 to 2
        finally:
            self._building = building

    def _sync_layer_controls(self) -> None:
        for i in range(P.MAX_LAYERS):
            used = i < self.layers.value
            for control in (self.units[i], self.activations[i], self.dropouts[i]):
                control.disabled = not used
        if not any(b.value for b in self.feature_buttons.values()):
            self.feature_buttons["x1"].value = True   # a network needs at least one input

    def _on_data(self) -> None:
        if self._building:
            return
        self.run.configure(**{f: getattr(self.config_from_controls(), f) for f in ("dataset", "noise",
                                                                                   "train_fraction")})
        self._draw_points()
        self.restart()

    def _new_seed(self) -> None:
        self.run.configure(data_seed=self.run.config.data_seed + 1)
        self._draw_points()
        self.restart()

    def _clear(self) -> None:
        self.run.clear_points()
        self.click_label.value = 0 if self.click_label.value < 0 else self.click_label.value
        self._draw_points()
        self.restart()

    def _on_network(self) -> None:
        if self._building:
            return
        self._sync_layer_controls()
        self._layout_units()
        self.restart()

    def _on_view(self) -> None:
        self._draw_points()
        self.render(self.state)
        self.redraw()

    def add_point(self, x1: float, x2: float, label: int) -> None:
        """Add a training point (what a click on the map does) and restart."""
        self.run.add_point(x1, x2, label)
        self._draw_points()
        self.restart()

    def _on_click(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None or self.click_label.value < 0:
            return
        self.add_point(event.xdata, event.ydata, self.click_label.value)

    # ---- the figure --------------------------------------------------------------------------
    def _build_figure(self) -> None:
        fig = self.fig
        grid = fig.add_gridspec(2, 2, width_ratios=[1.0, 1.05], height_ratios=[1.15, 1.0])
        self.ax = fig.add_subplot(grid[:, 0])
        self.ax_units = fig.add_subplot(grid[0, 1])
        self.ax_loss = fig.add_subplot(grid[1, 1])
        d = P.DOMAIN
        self.surface_image = self.ax.imshow(np.full((P.GRID, P.GRID), 0.5), origin="lower", extent=(-d, d, -d, d),
                                            cmap=CMAP, vmin=0, vmax=1, interpolation="bilinear")
        self.ax.set_xlim(-d, d)
        self.ax.set_ylim(-d, d)
        self.ax.set_xlabel("x₁")
        self.ax.set_ylabel("x₂", labelpad=-4)
        self.ax.set_title("the network's P(blue): orange below ½, blue above", fontsize=9)
        self.train_points = self.ax.scatter([], [], s=18, linewidths=0.9, edgecolors="white", zorder=3)
        self.test_points = self.ax.scatter([], [], s=18, linewidths=0.9, edgecolors="black", zorder=3)
        self.status = OnPlotStatus(self.ax, loc="upper left", fontsize=13)
        self.units_image = self.ax_units.imshow(np.full((TILE, TILE), np.nan), cmap=UNIT_CMAP, vmin=-1, vmax=1,
                                                interpolation="nearest", aspect="equal")
        (self.train_line,) = self.ax_loss.plot([], [], color="0.55", lw=1.5, label="training loss")
        (self.test_line,) = self.ax_loss.plot([], [], color="black", lw=1.5, label="test loss")
        self.ax_loss.set_xlabel("epoch")
        # no tick at the right end: its label would stick out of the figure
        self.ax_loss.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, prune="upper"))
        self.ax_loss.set_ylim(0, 1.0)
        self.ax_loss.set_xlim(0, 16)
        self.ax_loss.axhline(math.log(2), color="0.8", lw=0.8, zorder=0)
        self.ax_loss.text(0.01, math.log(2), "ln 2: guessing ½", transform=self.ax_loss.get_yaxis_transform(),
                          ha="left", va="bottom", fontsize=7, color="0.5")
        self.ax_loss.legend(loc="upper right", fontsize=8, frameon=False)
        self._layout_units()
        self._draw_points()
        self.set_dynamic([self.surface_image, self.train_points, self.test_points, *self.status.artists,
                          self.units_image, self.train_line, self.test_line])

    def _layout_units(self) -> None:
        """Size the unit mosaic for the current network: one row of tiles per hidden layer, one
        column per unit (the panel is wide, so 6 layers of 8 units still get tiles of about 25 px)."""
        c = self.config_from_controls() if not self._building else self.run.config
        hidden = c.hidden or (1,)
        rows, cols = len(hidden), max(hidden)
        if getattr(self, "_mosaic_shape", None) == (rows, cols, bool(c.hidden)):
            return   # the same shape: nothing to lay out again (a layout costs a full draw)
        self._mosaic_shape = (rows, cols, bool(c.hidden))
        self._mosaic = np.full((rows * (TILE + GAP) - GAP, cols * (TILE + GAP) - GAP), np.nan)
        height, width = self._mosaic.shape
        self.units_image.set_data(self._mosaic)
        self.units_image.set_extent((-0.5, width - 0.5, height - 0.5, -0.5))
        ax = self.ax_units
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height - 0.5, -0.5)
        ax.set_anchor("S")   # square tiles leave room in the panel: keep the mosaic next to the loss plot
        ax.set_yticks([(TILE + GAP) * i + TILE / 2 - 0.5 for i in range(rows)],
                      [f"layer {i + 1}" for i in range(rows)] if c.hidden else [])
        ax.set_xticks([(TILE + GAP) * j + TILE / 2 - 0.5 for j in range(cols)],
                      [str(j + 1) for j in range(cols)] if c.hidden else [])
        ax.tick_params(length=0, labelsize=7, labeltop=True, labelbottom=False)
        ax.set_title("each hidden unit's output (columns: units)" if c.hidden else
                     "no hidden layer: a linear model of the features", fontsize=9)
        for side in ax.spines.values():
            side.set_visible(False)
        self.freeze_layout()
        self.invalidate_background()

    def _draw_points(self) -> None:
        r = self.run
        colors = lambda y: np.where(y == 1, BLUE, ORANGE)  # noqa: E731
        self.train_points.set_offsets(r.X_train if len(r.X_train) else np.zeros((0, 2)))
        self.train_points.set_facecolors(colors(r.y_train) if len(r.y_train) else [])
        show = self.show_test.value and len(r.X_test)
        self.test_points.set_offsets(r.X_test if show else np.zeros((0, 2)))
        self.test_points.set_facecolors(colors(r.y_test) if show else [])

    # ---- the run -----------------------------------------------------------------------------
    def describe_run(self) -> str:
        c = self.run.config
        return (f"{len(c.hidden)}×{max(c.hidden, default=0)} {c.activation[0] if c.activation else 'linear'}, "
                f"{P.OPTIMIZERS[c.optimizer][0]} η = {c.lr:g}")

    def initial_state(self) -> P.EpochState:
        config = self.config_from_controls()
        if config != self.run.config:
            self.run.configure(**{f: getattr(config, f) for f in config.__dataclass_fields__})
        else:
            self.run.reset()
        self._set_epoch_axis(16)
        return self.run.state

    def _set_epoch_axis(self, x_max: int) -> None:
        """The loss axis runs to ``x_max`` epochs; it doubles when the run passes it, so the costly full
        redraw (new tick labels, new layout) happens only now and then."""
        self._x_max = x_max
        self.ax_loss.set_xlim(0, x_max)
        self.freeze_layout()
        self.invalidate_background()

    def advance(self) -> P.EpochState:
        state = self.run.step()
        rule, value = self.stop_rule.value
        if self.run.should_stop(rule, value):
            self.player.pause()
        if state.epoch > self._x_max:
            self._set_epoch_axis(2 * self._x_max)
        return state

    def _on_tick(self, change) -> None:
        # Pause stops at once: while the kernel trains an epoch, the page holds Play's next tick back and
        # sends it when the kernel is free, after the Pause; such a late tick trains nothing
        if self.player.playing:
            super()._on_tick(change)

    def tick(self) -> None:
        if self.run.diverged:   # a diverged run stays as it is: Play stops
            self.player.pause()
            return
        super().tick()

    def draw_ghost(self, run: PreviousRun) -> list:
        epochs = [s.epoch for s in run.states]
        losses = [s.test_loss for s in run.states]
        (line,) = self.ax_loss.plot(epochs, losses, color=GHOST_COLOR, lw=1.2, ls="--",
                                    label=f"previous: {run.label}")
        self.ax_loss.legend(loc="upper right", fontsize=7, frameon=False)
        return [line]

    # ---- drawing one state ---------------------------------------------------------------------
    def render(self, state: P.EpochState) -> None:
        r = self.run
        surface = r.surface if not self.discretize.value else (r.surface > 0.5).astype(float)
        self.surface_image.set_data(surface)
        self._fill_mosaic(r.unit_maps)
        epochs = [s.epoch for s in self.history]
        self.train_line.set_data(epochs, [min(s.train_loss, 5.0) for s in self.history])
        self.test_line.set_data(epochs, [min(s.test_loss, 5.0) for s in self.history])
        if state.diverged:
            self.status.set(f"diverged at epoch {state.epoch}",
                            f"training loss {state.train_loss:.3g}: η = {r.config.lr:g} is too large", "bad")
        else:
            kind = "ok" if state.test_acc >= 0.95 else ("running" if self.player.playing else "info")
            self.status.set(f"epoch {state.epoch}",
                            f"test acc {_fmt_pct(state.test_acc)} · loss {state.test_loss:.3f}", kind)
        self.message.value = self._message(state)

    def _fill_mosaic(self, unit_maps) -> None:
        m = self._mosaic
        m[:] = np.nan
        for row, layer in enumerate(unit_maps):
            for col, tile in enumerate(layer):
                scale = float(np.abs(tile).max())
                y0, x0 = row * (TILE + GAP), col * (TILE + GAP)
                if y0 + TILE <= m.shape[0] and x0 + TILE <= m.shape[1]:
                    # flipud: the map's rows run from x₂ = -6 upwards, the mosaic's from the top down
                    m[y0:y0 + TILE, x0:x0 + TILE] = np.flipud(tile) / scale if scale > 0 else 0.0
        self.units_image.set_data(m)

    def _message(self, s: P.EpochState) -> str:
        c = self.run.config
        n_train, n_test = len(self.run.y_train), len(self.run.y_test)
        text = (f"epoch {s.epoch}: training loss {s.train_loss:.4f} (accuracy {_fmt_pct(s.train_acc)}), "
                f"test loss {s.test_loss:.4f} (accuracy {_fmt_pct(s.test_acc)}); {n_train} training and "
                f"{n_test} test points; largest |w| {s.weight_norm:.3g}")
        if c.regularization != "none" and c.reg_rate > 0:
            text += f"; {c.regularization} term {s.penalty:.4g}"
        if s.seconds:
            text += f"; last epoch {1000 * s.seconds:.0f} ms"
        if not self.run.can_train:
            need = "two training points (batch norm cannot normalize a single one)" if c.batch_norm else \
                "a training point"
            text += f". <b>Nothing to train on yet</b>: click on the map to add points; an epoch needs {need}"
        if s.diverged:
            text += (". <b style='color:#c62828'>The run diverged</b>: its loss left every sensible bound "
                     "(more than 100 × ln 2, or not a number). Lower the learning rate and press Reset.")
        return text
