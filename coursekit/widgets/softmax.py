"""The softmax explorer: logits in, probabilities, loss and gradient out (unit 04).

Left: for each class, three bars side by side: softmax(z / T), the plain
normalization z / Σz (deck 000's comparison; only defined for z ≥ 0 with a
positive sum) and argmax as a one-hot vector. Top right: the cross-entropy
-ln p_r for the chosen target class r as a bar, with the value ln C of equal
logits marked. Bottom right: the gradient of the cross-entropy with respect to
the scaled logits z / T, p - onehot(r), which unit 05 derives: the target's bar
points down (raise its logit), every other class points up in proportion to
its probability.

Controls: one slider per logit (2 to 6 classes, in rows of three), a text box for typing a
vector (any size of numbers, e.g. "1000, -1000, 0"), presets, the temperature
T on a log scale, and the target class. Everything is computed by
:mod:`coursekit.linear` / :mod:`coursekit.nn` (log-sum-exp), so logits of ±1000
give exact results; the message line shows what the naive formula would give.
"""
from __future__ import annotations

import math
import re

import ipywidgets as W
import numpy as np

from .. import linear, nn
from .._validate import real_number, whole_number
from .base import OnPlotStatus, FigureWidget, button, control_row

MAX_CLASSES = 6
SLIDER_LIMIT = 10.0                    # the sliders' range; typed logits may be anything
LOGIT_LIMIT = 1e6                       # typed logits: ±1000 is the lesson, ±1e308 would overflow z - max z
T_RANGE = (10 ** -1.5, 10 ** 1.5)      # the temperature slider, log scale
LOSS_AXIS_MAX = 5.0                    # the loss meter's scale (ln 6 ≈ 1.79 fits with room)
PRESETS = {"deck 000": (2.0, 4.0, 2.0, 1.0), "±1000": (1000.0, -1000.0, 0.0), "equal": (0.0, 0.0, 0.0, 0.0)}
COLORS = {"softmax": "#1f77b4", "normalization": "#ff7f0e", "argmax": "0.55", "gradient": "#2ca02c",
          "target": "#d62728"}


def parse_logits(text: str) -> np.ndarray:
    """Logits typed as text, separated by commas or spaces ("2, 4, 2, 1"): 2 to 6 finite numbers."""
    parts = [p for p in re.split(r"[,\s;]+", str(text).strip().strip("[]()")) if p]
    try:
        values = np.array([float(p) for p in parts])
    except ValueError:
        raise ValueError(f"type the logits as numbers separated by commas, e.g. 2, 4, 2, 1; got {text!r}") from None
    return _check_logits(values)


def _check_logits(logits) -> np.ndarray:
    z = np.asarray(logits, dtype=float).reshape(-1)
    if not 2 <= z.size <= MAX_CLASSES:
        raise ValueError(f"logits must hold 2 to {MAX_CLASSES} numbers (one per class), got {z.size}")
    if not np.all(np.isfinite(z)):
        raise ValueError(f"logits must be finite numbers, got {z}")
    if np.max(np.abs(z)) > LOGIT_LIMIT:
        raise ValueError(f"logits must lie between -{LOGIT_LIMIT:g} and {LOGIT_LIMIT:g} (far beyond that, the "
                         f"differences z - max z divided by T overflow float64 themselves), got {_fmt_vector(z)}")
    return z


def _fmt_vector(z) -> str:
    return ", ".join(f"{v:g}" for v in z)


class SoftmaxExplorer(FigureWidget):
    """Softmax vs plain normalization vs argmax, the cross-entropy and its gradient.

    Readable from Python: ``logits`` (z), ``temperature`` (T), ``target`` (r), and what is
    shown: ``probabilities`` (softmax(z/T)), ``normalized`` (z/Σz, or None where undefined),
    ``argmax`` (one-hot), ``loss`` (-ln p_r), ``gradient`` (p - onehot(r)); the controls
    ``sliders`` (in ``slider_rows``), ``vector_text``, ``preset_buttons``, ``temperature_slider``,
    ``target_buttons``; the artists ``softmax_bars``, ``normalization_bars``,
    ``argmax_bars``, ``gradient_bars``, ``loss_bar``; ``status`` and ``message``.
    """

    name = "softmax explorer"

    def __init__(self, logits=PRESETS["deck 000"], target: int = 0, temperature: float = 1.0):
        z = _check_logits(logits)
        target = whole_number("target", target, 0, z.size - 1, noun="integer", meaning="the true class",
                              allow_float=False)
        temperature = real_number("temperature", temperature, T_RANGE[0], T_RANGE[1],
                                  meaning="T of softmax(z / T), on the slider's log scale")
        super().__init__(figsize=(8.2, 3.7))
        self._updating = False
        self._z = z
        self._classes_drawn = None
        self.sliders = [W.FloatSlider(value=0.0, min=-SLIDER_LIMIT, max=SLIDER_LIMIT, step=0.1, readout_format=".1f",
                                      continuous_update=True, layout=W.Layout(width="200px"))
                        for _ in range(MAX_CLASSES)]
        self.slider_names = [W.HTML(f"z<sub>{i}</sub>", layout=W.Layout(width="26px")) for i in range(MAX_CLASSES)]
        self.slider_rows = [control_row(label, *[w for i in range(start, start + 3)
                                                 for w in (self.slider_names[i], self.sliders[i])])
                            for label, start in (("logits z", 0), ("", 3))]
        self.vector_text = W.Text(value=_fmt_vector(z), continuous_update=False, placeholder="e.g. 2, 4, 2, 1",
                                  layout=W.Layout(width="250px"))
        self.preset_buttons = {name: button(name, width=86, tooltip=f"logits {_fmt_vector(v)}")
                               for name, v in PRESETS.items()}
        self.temperature_slider = W.FloatLogSlider(value=temperature, base=10, min=math.log10(T_RANGE[0]),
                                                   max=math.log10(T_RANGE[1]), step=0.05, readout_format=".3g",
                                                   continuous_update=True, layout=W.Layout(width="300px"))
        self.target_buttons = self._target_buttons(z.size, target)
        self.rows = [
            *self.slider_rows,
            control_row("or type", self.vector_text, *self.preset_buttons.values()),
            control_row("temperature", self.temperature_slider,
                        W.HTML("<b>&nbsp;target class r</b>", layout=W.Layout(width="118px")), self.target_buttons),
        ]
        for i, slider in enumerate(self.sliders):
            slider.observe(lambda change, i=i: self._on_slider(i, change), names="value")
        self.vector_text.observe(self._on_text, names="value")
        for name, values in PRESETS.items():
            self.preset_buttons[name].on_click(lambda _, values=values: self.set_logits(values))
        self.temperature_slider.observe(lambda _: self.update(), names="value")
        self._build_axes()
        self.set_logits(z)

    # ---- the values shown, all from coursekit.linear / coursekit.nn ------------------------
    @property
    def logits(self) -> np.ndarray:
        return self._z.copy()

    @property
    def classes(self) -> int:
        return self._z.size

    @property
    def temperature(self) -> float:
        return float(self.temperature_slider.value)

    @property
    def target(self) -> int:
        return int(self.target_buttons.value)

    @property
    def scaled_logits(self) -> np.ndarray:
        return self._z / self.temperature

    @property
    def probabilities(self) -> np.ndarray:
        return linear.softmax(self.scaled_logits)

    @property
    def normalized(self) -> np.ndarray | None:
        """z / Σz, defined (as a probability vector) only for z ≥ 0 with a positive sum."""
        z = self._z
        return z / z.sum() if np.all(z >= 0) and z.sum() > 0 else None

    @property
    def argmax(self) -> np.ndarray:
        return nn.one_hot([int(np.argmax(self._z))], self.classes)[0]

    @property
    def loss(self) -> float:
        return nn.softmax_cross_entropy(self.scaled_logits[None, :], [self.target])[0] + 0.0

    @property
    def gradient(self) -> np.ndarray:
        """∂CE/∂(z/T) = softmax(z/T) - onehot(r) (one example, so the batch mean divides by 1)."""
        return nn.softmax_cross_entropy(self.scaled_logits[None, :], [self.target])[1][0]

    # ---- controls ---------------------------------------------------------------------
    def _target_buttons(self, classes: int, target: int) -> W.ToggleButtons:
        buttons = W.ToggleButtons(options=list(range(classes)), value=target, style={"button_width": "34px"})
        buttons.observe(lambda _: self.update(), names="value")
        return buttons

    def set_logits(self, logits) -> None:
        """Show new logits (2 to 6 numbers, any size): the sliders follow where they can."""
        z = _check_logits(logits)
        self._z = z
        self._updating = True
        try:
            if self.target_buttons.options != tuple(range(z.size)):
                # new buttons rather than new options: the page does not redraw ToggleButtons whose
                # options shrink to a prefix of the old ones (0, 1, 2, 3 -> 0, 1, 2), and changed
                # options would reset the choice there to 0
                row = self.rows[-1]
                self.target_buttons = self._target_buttons(z.size, min(self.target, z.size - 1))
                row.children = (*row.children[:-1], self.target_buttons)
            self.vector_text.value = _fmt_vector(z)
            in_range = bool(np.all(np.abs(z) <= SLIDER_LIMIT))
            self.slider_rows[1].layout.display = None if z.size > 3 else "none"   # z₃..z₅ only when needed
            for i, slider in enumerate(self.sliders):
                slider.layout.visibility = self.slider_names[i].layout.visibility = None if i < z.size else "hidden"
                slider.disabled = not in_range
                if i < z.size:
                    slider.value = float(np.clip(z[i], -SLIDER_LIMIT, SLIDER_LIMIT))
        finally:
            self._updating = False
        self.update()

    def _on_slider(self, i: int, change) -> None:
        if self._updating or i >= self.classes:
            return
        z = self._z.copy()
        z[i] = float(change["new"])
        self._z = z
        self._updating = True
        try:
            self.vector_text.value = _fmt_vector(z)
        finally:
            self._updating = False
        self.update()

    def _on_text(self, change) -> None:
        if self._updating:
            return
        try:
            z = parse_logits(change["new"])
        except ValueError as err:
            self.message.value = f"<span style='color:#c62828'>{err}</span>"
            return
        self.set_logits(z)

    # ---- drawing --------------------------------------------------------------------------
    def _build_axes(self) -> None:
        grid = self.fig.add_gridspec(2, 2, width_ratios=[1.45, 1.0], height_ratios=[1.0, 2.2])
        self.ax_p = self.fig.add_subplot(grid[:, 0])
        self.ax_loss = self.fig.add_subplot(grid[0, 1])
        self.ax_grad = self.fig.add_subplot(grid[1, 1])
        x = np.arange(MAX_CLASSES)
        width = 0.27
        self.softmax_bars = self.ax_p.bar(x - width, np.zeros(MAX_CLASSES), width, color=COLORS["softmax"],
                                          label="softmax(z / T)")
        self.normalization_bars = self.ax_p.bar(x, np.zeros(MAX_CLASSES), width, color=COLORS["normalization"],
                                                label="z / Σz")
        self.argmax_bars = self.ax_p.bar(x + width, np.zeros(MAX_CLASSES), width, color=COLORS["argmax"],
                                         label="argmax")
        self.value_labels = [self.ax_p.text(i - width, 0, "", ha="center", va="bottom", fontsize=7,
                                            color=COLORS["softmax"]) for i in x]
        self.normalization_note = self.ax_p.text(0.5, 0.6, "", transform=self.ax_p.transAxes, ha="center",
                                                 fontsize=8, color=COLORS["normalization"])
        self.ax_p.set_ylim(0, 1.2)
        self.ax_p.set_ylabel("probability")
        self.ax_p.legend(loc="upper left", fontsize=7, ncols=3, frameon=False)
        self.ax_p.set_title("three ways to turn scores into a distribution", fontsize=9)

        self.loss_bar = self.ax_loss.barh([0], [0.0], height=0.45, color=COLORS["target"])[0]
        self.equal_line = self.ax_loss.axvline(0, color="0.2", ls="--", lw=1.2)
        self.equal_label = self.ax_loss.text(0, 0.42, "", fontsize=7, ha="left", va="center", color="0.2")
        self.ax_loss.set_xlim(0, LOSS_AXIS_MAX)
        self.ax_loss.set_ylim(-0.35, 1.45)
        self.ax_loss.set_yticks([])
        self.ax_loss.set_title("cross-entropy −ln p_r (nats)", fontsize=9)

        self.gradient_bars = self.ax_grad.bar(x, np.zeros(MAX_CLASSES), 0.6, color=COLORS["gradient"])
        self.ax_grad.axhline(0, color="0.3", lw=0.8)
        self.ax_grad.set_ylim(-1.1, 1.1)
        self.ax_grad.set_title("gradient ∂CE/∂(z/T) = p − onehot(r)", fontsize=9)
        # the state that is the lesson, large: the loss for the target class
        self.status = OnPlotStatus(self.ax_loss, loc="upper right", fontsize=11)
        self.set_dynamic([*self.softmax_bars, *self.normalization_bars, *self.argmax_bars, *self.value_labels,
                          self.normalization_note, self.loss_bar, self.equal_line, self.equal_label,
                          *self.gradient_bars, *self.status.artists])

    def _set_class_axes(self) -> None:
        """Tick labels and limits for the current number of classes (the static part)."""
        C = self.classes
        for i in range(C, MAX_CLASSES):   # hidden first: the layout must not make room for unused classes
            for artist in (self.softmax_bars[i], self.normalization_bars[i], self.argmax_bars[i],
                           self.gradient_bars[i], self.value_labels[i]):
                artist.set_visible(False)
        for ax in (self.ax_p, self.ax_grad):
            ax.set_xlim(-0.6, C - 0.4)
            ax.set_xticks(range(C), [f"class {i}" if C <= 4 else str(i) for i in range(C)], fontsize=8)
        self._classes_drawn = C
        self.invalidate_background()
        self.freeze_layout()

    def update(self) -> None:
        """Recompute everything shown from the controls and redraw."""
        if self._classes_drawn != self.classes:
            self._set_class_axes()
        C, r = self.classes, self.target
        p, q, hard, g = self.probabilities, self.normalized, self.argmax, self.gradient
        loss = self.loss + 0.0  # no "-0" when p_r rounds to 1
        for i in range(MAX_CLASSES):
            shown = i < C
            for bars, values in ((self.softmax_bars, p), (self.argmax_bars, hard), (self.gradient_bars, g)):
                bars[i].set_visible(shown)
                bars[i].set_height(float(values[i]) if shown else 0.0)
            self.normalization_bars[i].set_visible(shown and q is not None)
            self.normalization_bars[i].set_height(float(q[i]) if shown and q is not None else 0.0)
            self.gradient_bars[i].set_color(COLORS["target"] if i == r else COLORS["gradient"])
            self.value_labels[i].set_visible(shown)
            if shown:
                self.value_labels[i].set_position((i - 0.27, float(p[i]) + 0.01))
                self.value_labels[i].set_text(f"{p[i]:.3f}" if C <= 4 else f"{p[i]:.2f}")
        self.normalization_note.set_text("" if q is not None else "z / Σz: undefined here\n(needs z ≥ 0, Σz > 0)")
        ln_c = math.log(C)
        self.loss_bar.set_width(min(loss, LOSS_AXIS_MAX))
        self.equal_line.set_xdata([ln_c, ln_c])
        self.equal_label.set_position((ln_c + 0.05, 0.42))
        self.equal_label.set_text(f"equal logits: ln {C} = {ln_c:.3f}")
        kind = "ok" if loss < ln_c else "warn"   # better or worse than knowing nothing (equal logits)
        self.status.set(f"CE = {loss:.4g}" + (" ▸" if loss > LOSS_AXIS_MAX else ""), "", kind)
        self.message.value = self._sentence(p, loss)
        self.redraw()

    def _sentence(self, p: np.ndarray, loss: float) -> str:
        s = self.scaled_logits
        with np.errstate(over="ignore", invalid="ignore"):
            naive = np.exp(s) / np.sum(np.exp(s))
        T, r = self.temperature, self.target
        head = (f"softmax(z / T) at T = {T:.3g}: the most likely class is {int(np.argmax(p))} "
                f"(p = {p.max():.3f}); the target r = {r} gets p_r = {p[r]:.4g}, so CE = −ln p_r = {loss:.4g}.")
        if not np.all(np.isfinite(naive)):
            shown = ", ".join("nan" if not np.isfinite(v) else f"{v:.3g}" for v in naive)
            head += (f" <b>The naive e^z / Σe^z overflows here</b> ([{shown}]); subtracting max z first keeps every "
                     f"exponent ≤ 0 and gives the exact values: CE = max(z/T) − z_r/T + ln Σ e^(z/T − max) = {loss:.6g}.")
        return head
