"""The convolution explorer: watch a filter slide over an image, window by window, then pool the map.

Top, large: where the run stands ("window 5 / 16", the sum just computed),
and the output-size formula with this run's numbers filled in. Then, left to
right:

* the **input**, with its zero padding in grey and the window (the receptive
  field, 感受野) of the current step outlined in orange. Click a pixel to
  toggle it between 0 and 1: any image becomes "your drawing";
* the **kernel** (濾波器) and, under the same layout, the **element-wise
  products** of the window with the kernel (red for negative, blue for
  positive), with their sum;
* the **feature map** (特徵圖) filling up cell by cell; the current cell is
  outlined. Click a cell to jump to its window.

Bottom: the map after 2×2 **pooling** (max or average; stepping continues
through the pooling windows after the last convolution window), and the
finished maps of the deck's three kernels on the same input, stride and
padding, side by side (several filters make several maps: one layer's output
channels).

Controls: the input (the 6×6 example of decks 000 and 004, a digit from
scikit-learn's 8×8 digits, or your drawing), the kernel (filter 1, filter 2,
edge enhance, or any 3×3 typed into the grid), stride, padding, pooling, and
"flip" (a true convolution turns the kernel by 180° first, as deck 001's
formula does: with the symmetric deck filters nothing changes, with edge
enhance the map changes). With "compare" on, the previous run's finished map
stays at the bottom right, faint, to compare strides, paddings or kernels.

The widget has no convolution of its own: every number comes from
:func:`coursekit.conv.conv_trace` and :func:`coursekit.conv.pool_trace`.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Rectangle

from .. import conv
from .._validate import real_array
from .base import GHOST_COLOR, OnPlotStatus, PreviousRun, StepWidget, control_row

INPUTS = (("6×6 example", "example"), ("digit", "digit"), ("your drawing", "drawing"))
KERNELS = {"filter 1": conv.FILTER_1, "filter 2": conv.FILTER_2, "edge enhance": conv.EDGE_ENHANCE}
YOURS = "your 3×3"
POOLS = (("none", "none"), ("max 2×2", "max"), ("avg 2×2", "avg"))
WINDOW, CURRENT = "tab:orange", "black"
MAX_TEXT_CELLS = 10   # values are written into the cells of an input up to this size
MAX_MAP_TEXT = 6      # ... and of a feature map up to this size (each text costs ~1 ms of every step)


def _digit_images() -> dict[int, np.ndarray]:
    """The first image of each digit 0-9 in scikit-learn's digits, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return {d: digits.images[np.argmax(digits.target == d)] / 16.0 for d in range(10)}


def _fmt(value: float) -> str:
    value = float(value) + 0.0   # no "-0"
    if abs(value) < 5e-3:
        return "0"
    return f"{value:.0f}" if value.is_integer() else f"{value:.2f}".rstrip("0")


def _ink(value: float, span: float) -> str:
    """Text colour that reads on a cell of the RdBu map: white on the dark ends, black elsewhere."""
    return "white" if abs(value) > 0.55 * span else "black"


def _write_values(ax, values: np.ndarray, span: float, fontsize: float = 8) -> None:
    """Write every value into its cell (static texts)."""
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, _fmt(v), ha="center", va="center", fontsize=fontsize, color=_ink(v, span))


def _cell_texts(ax, shape, fontsize=9):
    """One (empty) text per cell of an image of ``shape``, centred in the cell."""
    return [[ax.text(j, i, "", ha="center", va="center", fontsize=fontsize) for j in range(shape[1])]
            for i in range(shape[0])]


def _grid(ax, shape) -> None:
    """White lines between the cells, as one collection (tick-based grids make hundreds of artists)."""
    rows, cols = shape
    ys, xs = np.arange(rows + 1) - 0.5, np.arange(cols + 1) - 0.5
    segments = [[(xs[0], y), (xs[-1], y)] for y in ys] + [[(x, ys[0]), (x, ys[-1])] for x in xs]
    ax.add_collection(LineCollection(segments, colors="white", linewidths=1.0))
    ax.set_xticks([])
    ax.set_yticks([])


class ConvExplorer(StepWidget):
    """Step a 3×3 kernel over an image, with stride, padding and pooling.

    ``ConvExplorer(image="example", kernel="filter 1", stride=1, padding=0, pooling="max")``;
    ``image`` may also be "digit" (with ``digit=0..9``), "drawing", or any 2-D array
    (it becomes "your drawing"); ``kernel`` one of :data:`KERNELS`' names, or a 3×3 array.

    Readable from Python: ``index``, ``state`` (a :class:`coursekit.conv.ConvWindow`
    or, while pooling, a :class:`coursekit.conv.PoolWindow`), ``image``, ``kernel``,
    ``feature_map`` (the finished map of this run), ``output_shape``, ``formula``,
    the artists (``window_box``, ``product_texts``, ``output_image``, ...),
    ``status``, ``counter``, ``message``.
    """

    name = "convolution explorer"
    counter_noun = "position"   # the counter reads "position 5 / 20": the 16 windows of the map, then 4 of pooling
    play_interval_ms = 400

    def __init__(self, image="example", kernel="filter 1", stride: int = 1, padding: int = 0,
                 pooling: str = "max", digit: int = 3, flip: bool = False):
        super().__init__(figsize=(8.3, 5.6))
        self._digits = None
        self._drawing = None
        self._laid_out = False
        if isinstance(image, str):
            if image not in dict((v, v) for _, v in INPUTS):
                raise ValueError(f"image must be one of {[v for _, v in INPUTS]} or a 2-D array, got {image!r}")
            source = image
        else:
            self._drawing = real_array("image", image, 2, "(H, W)")
            if min(self._drawing.shape) < 3 or max(self._drawing.shape) > 12:
                raise ValueError(f"image must be between 3×3 and 12×12 pixels to be drawn cell by cell, got "
                                 f"{self._drawing.shape}")
            source = "drawing"
        kernel_name, custom = (kernel, None) if isinstance(kernel, str) else (YOURS, kernel)
        if kernel_name not in (*KERNELS, YOURS):
            raise ValueError(f"kernel must be one of {list(KERNELS)} or a 3×3 array, got {kernel!r}")
        if pooling not in dict((v, v) for _, v in POOLS):
            raise ValueError(f"pooling must be one of {[v for _, v in POOLS]}, got {pooling!r}")

        self._quiet = True   # no recomputation while the controls are being set up
        self.input_toggle = W.ToggleButtons(options=INPUTS, value=source, style={"button_width": "112px"})
        self.digit_dropdown = W.Dropdown(options=list(range(10)), value=int(digit), layout=W.Layout(width="60px"))
        self.kernel_toggle = W.ToggleButtons(options=[*KERNELS, YOURS], value=kernel_name,
                                             style={"button_width": "124px"})
        start = np.asarray(custom, dtype=float) if custom is not None else KERNELS.get(kernel_name, conv.FILTER_1)
        if start.shape != (3, 3):
            raise ValueError(f"kernel must be 3×3, got shape {start.shape}")
        self.kernel_boxes = [W.FloatText(value=float(v), step=0.5, layout=W.Layout(width="54px"))
                             for v in start.ravel()]
        self.kernel_grid = W.GridBox(self.kernel_boxes, layout=W.Layout(
            grid_template_columns="repeat(3, 56px)", width="172px", grid_gap="1px"))
        self.stride_toggle = W.ToggleButtons(options=[1, 2, 3], value=int(stride), style={"button_width": "34px"})
        self.padding_toggle = W.ToggleButtons(options=[0, 1, 2], value=int(padding), style={"button_width": "34px"})
        self.pool_toggle = W.ToggleButtons(options=POOLS, value=pooling, style={"button_width": "82px"})
        self.flip_toggle = W.ToggleButton(value=bool(flip), description="flip", icon="refresh",
                                          tooltip="true convolution: turn the kernel by 180° first (deck 001)",
                                          layout=W.Layout(width="70px"))
        label = lambda text, width: W.HTML(f"<b>{text}</b>", layout=W.Layout(width=f"{width}px"))  # noqa: E731
        self.rows = [
            control_row("input", self.input_toggle, label("digit", 40), self.digit_dropdown,
                        W.HTML("<span style='color:#555'>click a pixel to toggle it</span>",
                               layout=W.Layout(width="190px"))),
            control_row("kernel", self.kernel_toggle, self.flip_toggle),
            control_row("", self.kernel_grid,
                        W.HTML("<span style='color:#555'>type any 3×3 kernel here</span>",
                               layout=W.Layout(width="190px"))),
            control_row("stride", self.stride_toggle, label("padding", 64), self.padding_toggle,
                        label("pooling", 62), self.pool_toggle),
        ]
        self._build_figure()
        self.input_toggle.observe(lambda _: self._on_input(), names="value")
        self.digit_dropdown.observe(lambda _: self._on_digit(), names="value")
        self.kernel_toggle.observe(lambda _: self._on_kernel_choice(), names="value")
        for box in self.kernel_boxes:
            box.observe(lambda _: self._on_kernel_typed(), names="value")
        for control in (self.stride_toggle, self.padding_toggle, self.pool_toggle, self.flip_toggle):
            control.observe(lambda _: self.recompute(), names="value")
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self._quiet = False
        self.recompute()

    # ---- what the controls say ----------------------------------------------------------
    @property
    def image(self) -> np.ndarray:
        source = self.input_toggle.value
        if source == "example":
            return conv.IMAGE_6X6
        if source == "digit":
            if self._digits is None:
                self._digits = _digit_images()
            return self._digits[self.digit_dropdown.value]
        if self._drawing is None:
            self._drawing = np.zeros((8, 8))
        return self._drawing

    @property
    def kernel(self) -> np.ndarray:
        """The kernel as typed in the grid (the chosen deck kernel fills the grid)."""
        return np.array([box.value for box in self.kernel_boxes], dtype=float).reshape(3, 3)

    @property
    def applied_kernel(self) -> np.ndarray:
        """What slides over the image: the kernel, turned by 180° when "flip" is on."""
        return self.kernel[::-1, ::-1] if self.flip_toggle.value else self.kernel

    @property
    def stride(self) -> int:
        return int(self.stride_toggle.value)

    @property
    def padding(self) -> int:
        return int(self.padding_toggle.value)

    @property
    def pooling(self) -> str:
        return self.pool_toggle.value

    def describe_kernel(self) -> str:
        return self.kernel_toggle.value + (", flipped" if self.flip_toggle.value else "")

    def describe_run(self) -> str:
        flip = ", flipped" if self.flip_toggle.value else ""
        return f"{self.kernel_toggle.value}{flip}, stride {self.stride}, padding {self.padding}"

    # ---- the figure: every artist made once per input, then moved --------------------------
    def _build_figure(self) -> None:
        fig = self.fig
        outer = fig.add_gridspec(3, 1, height_ratios=[0.42, 2.4, 1.45])
        self.status_ax = fig.add_subplot(outer[0])
        self.status_ax.axis("off")
        self.status = OnPlotStatus(self.status_ax, loc="upper left", fontsize=14)
        self.formula_text = self.status_ax.text(0.99, 0.92, "", transform=self.status_ax.transAxes, ha="right",
                                                va="top", fontsize=10)
        top = outer[1].subgridspec(1, 4, width_ratios=[1.35, 0.8, 0.8, 1.2], wspace=0.12)
        self.input_ax = fig.add_subplot(top[0])
        middle = top[1:3].subgridspec(1, 2, wspace=0.15)
        self.kernel_ax = fig.add_subplot(middle[0])
        self.products_ax = fig.add_subplot(middle[1])
        self.output_ax = fig.add_subplot(top[3])
        bottom = outer[2].subgridspec(1, 5, wspace=0.25)
        self.pool_ax = fig.add_subplot(bottom[0])
        self.map_axes = {name: fig.add_subplot(bottom[k + 1]) for k, name in enumerate(KERNELS)}
        self.ghost_ax = fig.add_subplot(bottom[4])
        self._static_artists: list = []
        self._ghost_image = None

    def _clear_static(self) -> None:
        for ax in (self.input_ax, self.kernel_ax, self.products_ax, self.output_ax, self.pool_ax,
                   *self.map_axes.values()):
            ax.clear()

    def _draw_run(self) -> None:
        """Draw what stays fixed during a run (input, kernel, the three deck maps) and make the moving artists."""
        self._clear_static()
        x, k = self.image, self.applied_kernel
        p = self.padding
        padded = conv.pad2d(x, p)
        self._padded = padded
        # the input: padding cells in grey, pixels in grey levels (white 0, black 1)
        ax = self.input_ax
        ax.imshow(padded, cmap="Greys", vmin=min(0.0, padded.min()), vmax=max(1.0, padded.max()))
        if p:
            ring = np.ones_like(padded, dtype=bool)
            ring[p:p + x.shape[0], p:p + x.shape[1]] = False
            ax.imshow(np.ma.masked_array(np.ones_like(padded), mask=~ring), cmap="Blues", vmin=0, vmax=6,
                      alpha=0.9)
        _grid(ax, padded.shape)
        integers = np.all(np.equal(np.mod(padded, 1), 0))
        if max(padded.shape) <= MAX_TEXT_CELLS and integers:
            for (i, j), v in np.ndenumerate(padded):
                ax.text(j, i, _fmt(v), ha="center", va="center", fontsize=8,
                        color="white" if v > 0.5 else "0.35")
        source = {"example": "the 6×6 example", "digit": f"digit {self.digit_dropdown.value} (8×8)",
                  "drawing": "your drawing"}[self.input_toggle.value]
        ax.set_title(f"input: {source}" + (f", padding {p}" if p else ""), fontsize=9)
        self.window_box = ax.add_patch(Rectangle((-0.5, -0.5), 3, 3, fill=False, ec=WINDOW, lw=3, zorder=5))

        # the kernel (fixed) and the products (moving)
        ax = self.kernel_ax
        limit = max(1.0, np.abs(k).max())
        ax.imshow(k, cmap="RdBu", norm=TwoSlopeNorm(0.0, -limit, limit))
        _grid(ax, k.shape)
        _write_values(ax, k, limit, fontsize=10)
        ax.set_title("kernel" + (" (flipped)" if self.flip_toggle.value else ""), fontsize=9)
        ax = self.products_ax
        self.products_image = ax.imshow(np.zeros((3, 3)), cmap="RdBu", norm=TwoSlopeNorm(0.0, -limit, limit))
        _grid(ax, (3, 3))
        self.product_texts = [t for row in _cell_texts(ax, (3, 3), 9) for t in row]
        ax.set_title("window ⊙ kernel", fontsize=9)
        self.products_title = ax.text(0.5, -0.06, "", transform=ax.transAxes, ha="center", va="top", fontsize=12,
                                      fontweight="bold")
        self._product_span = limit * max(1.0, np.abs(padded).max())

        # the feature map: NaN cells are still empty
        out = self.feature_map
        ax = self.output_ax
        span = max(1.0, np.abs(self._all_values).max())
        self._map_norm = TwoSlopeNorm(0.0, -span, span)
        self.output_image = ax.imshow(np.full(out.shape, np.nan), cmap="RdBu", norm=self._map_norm)
        ax.set_xlim(-0.5, out.shape[1] - 0.5)
        ax.set_ylim(out.shape[0] - 0.5, -0.5)
        _grid(ax, out.shape)
        self._write_map_values = max(out.shape) <= MAX_MAP_TEXT
        self.output_texts = _cell_texts(ax, out.shape, 9) if self._write_map_values else []
        self.current_cell = ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, ec=CURRENT, lw=2.5, zorder=5))
        ax.set_title(f"feature map {out.shape[0]}×{out.shape[1]}", fontsize=9)

        # pooling of the map (moving while the pooling windows are stepped)
        ax = self.pool_ax
        self.pool_image = None
        if self.pooled_map is not None:
            pooled = self.pooled_map
            self.pool_image = ax.imshow(np.full(pooled.shape, np.nan), cmap="RdBu", norm=self._map_norm)
            _grid(ax, pooled.shape)
            self.pool_texts = [t for row in _cell_texts(ax, pooled.shape, 8) for t in row]
            self.pool_window = self.output_ax.add_patch(Rectangle((-0.5, -0.5), 2, 2, fill=False, ec="tab:green",
                                                                  lw=3, zorder=6, visible=False))
            ax.set_title(f"{self.pooling} pooled {pooled.shape[0]}×{pooled.shape[1]}", fontsize=9)
        else:
            self.pool_texts, self.pool_window = [], None
            ax.axis("off")
            ax.text(0.5, 0.5, "pooling: none", ha="center", va="center", transform=ax.transAxes, fontsize=9,
                    color="0.4")

        # several filters, several maps: the deck's kernels on the same input, stride and padding
        for name, axis in self.map_axes.items():
            kernel = KERNELS[name][::-1, ::-1] if self.flip_toggle.value else KERNELS[name]
            other = conv.cross_correlate(x, kernel, self.stride, p)
            size = max(1.0, np.abs(other).max())
            axis.imshow(other, cmap="RdBu", norm=TwoSlopeNorm(0.0, -size, size))
            _grid(axis, other.shape)
            if max(other.shape) <= 6:
                _write_values(axis, np.round(other, 1), size, fontsize=7)
            axis.set_title(name, fontsize=9, fontweight="bold" if name == self.kernel_toggle.value else "normal")

        dynamic = [self.window_box, self.products_image, *self.product_texts, self.products_title,
                   self.output_image, self.current_cell, *[t for row in self.output_texts for t in row],
                   *self.status.artists]
        if self.pool_image is not None:
            dynamic += [self.pool_image, *self.pool_texts, self.pool_window]
        self.set_dynamic(dynamic)

    # ---- runs --------------------------------------------------------------------------
    def recompute(self, compare: bool | None = None) -> None:
        """A new run with the current controls: the reference traces, drawn from window 1."""
        if self._quiet:
            return
        x, k = self.image, self.applied_kernel
        try:
            Ho = conv.output_size(x.shape[0], 3, self.padding, self.stride, what="height")
            Wo = conv.output_size(x.shape[1], 3, self.padding, self.stride, what="width")
        except ValueError as err:   # cannot happen with a 3×3 kernel on ≥ 3×3 images, but say so if it does
            self.message.value = html.escape(str(err))
            return
        windows = conv.conv_trace(x, k, self.stride, self.padding)
        self.feature_map = windows[-1].output
        self.output_shape = (Ho, Wo)
        self.pooled_map, pools = None, []
        if self.pooling != "none" and min(Ho, Wo) >= 2:
            pools = conv.pool_trace(self.feature_map, 2, 2, self.pooling)
            self.pooled_map = pools[-1].output
        self._all_values = self.feature_map
        self.formula = (f"⌊(W + 2p − f)/s⌋ + 1 = ⌊({x.shape[1]} + 2·{self.padding} − 3)/{self.stride}⌋ + 1 = {Wo}"
                        + ("" if x.shape[0] == x.shape[1] else f"   (height: {Ho})"))
        self._conv_steps = len(windows)
        self._draw_run()
        self.formula_text.set_text(f"output size: {self.formula}\nfeature map {Ho}×{Wo}"
                                   + (f", pooled {self.pooled_map.shape[0]}×{self.pooled_map.shape[1]}"
                                      if self.pooled_map is not None else ""))
        # position 0: the window waits at its start, nothing computed yet; then one position per window
        self.set_trace([windows[0], *windows, *pools], compare)
        if not self._laid_out:   # the panels keep their places from run to run: lay them out once
            self.freeze_layout()
            self._laid_out = True
        self.redraw()

    def _on_input(self) -> None:
        self.recompute()

    def _on_digit(self) -> None:
        if self.input_toggle.value == "digit":
            self.recompute()
        else:
            self.input_toggle.value = "digit"   # its observer recomputes

    def _on_kernel_choice(self) -> None:
        name = self.kernel_toggle.value
        if name in KERNELS:
            self._quiet = True   # nine boxes change: recompute once
            for box, v in zip(self.kernel_boxes, KERNELS[name].ravel()):
                box.value = float(v)
            self._quiet = False
        self.recompute()

    def _on_kernel_typed(self) -> None:
        if self._quiet:
            return
        if self.kernel_toggle.value != YOURS and not np.array_equal(self.kernel, KERNELS[self.kernel_toggle.value]):
            self._quiet = True
            self.kernel_toggle.value = YOURS
            self._quiet = False
        self.recompute()

    def set_kernel(self, kernel) -> None:
        """Type a 3×3 kernel into the grid (as a student would), and run it."""
        kernel = np.asarray(kernel, dtype=float)
        if kernel.shape != (3, 3) or not np.all(np.isfinite(kernel)):
            raise ValueError(f"kernel must be a 3×3 array of finite numbers, got shape {kernel.shape}")
        self._quiet = True
        for box, v in zip(self.kernel_boxes, kernel.ravel()):
            box.value = float(v)
        self.kernel_toggle.value = YOURS
        self._quiet = False
        self.recompute()

    def toggle_pixel(self, row: int, col: int) -> None:
        """Flip pixel (row, col) of the input between 0 and 1 (any value above 0.5 counts as 1);
        the input becomes "your drawing" and the run starts again."""
        drawing = self.image.copy()
        if not (0 <= row < drawing.shape[0] and 0 <= col < drawing.shape[1]):
            raise ValueError(f"pixel ({row}, {col}) is outside the {drawing.shape[0]}×{drawing.shape[1]} image")
        drawing[row, col] = 0.0 if drawing[row, col] > 0.5 else 1.0
        self._drawing = drawing
        if self.input_toggle.value != "drawing":
            self._quiet = True
            self.input_toggle.value = "drawing"
            self._quiet = False
        self.recompute()

    def jump_to_cell(self, row: int, col: int) -> None:
        """Show the window that computes output cell (row, col)."""
        Ho, Wo = self.output_shape
        if not (0 <= row < Ho and 0 <= col < Wo):
            raise ValueError(f"cell ({row}, {col}) is outside the {Ho}×{Wo} feature map")
        self.play.value = 1 + row * Wo + col

    def _on_click(self, event) -> None:
        if event.xdata is None or event.ydata is None or getattr(event, "button", 1) not in (1, None):
            return
        row, col = int(round(event.ydata)), int(round(event.xdata))
        if event.inaxes is self.input_ax:
            row, col = row - self.padding, col - self.padding
            x = self.image
            if 0 <= row < x.shape[0] and 0 <= col < x.shape[1]:
                self.toggle_pixel(row, col)
        elif event.inaxes is self.output_ax:
            Ho, Wo = self.output_shape
            if 0 <= row < Ho and 0 <= col < Wo:
                self.jump_to_cell(row, col)

    # ---- compare mode: the previous run's finished map, faint --------------------------------
    def current_run(self) -> PreviousRun:
        return PreviousRun(self.trace, self.run_label, extra=self._shown_map)

    def draw_ghost(self, run: PreviousRun) -> list:
        ax = self.ghost_ax
        ax.clear()
        fmap = run.extra
        size = max(1.0, np.abs(fmap).max())
        image = ax.imshow(fmap, cmap="RdBu", norm=TwoSlopeNorm(0.0, -size, size), alpha=0.55)
        _grid(ax, fmap.shape)
        ax.set_title("previous:\n" + run.label.replace(", stride", "\nstride"), fontsize=7, color=GHOST_COLOR)
        return [image]

    def clear_ghost(self) -> None:
        super().clear_ghost()
        self._ghost_hint()
        self.invalidate_background()
        self.redraw()

    def _ghost_hint(self) -> None:
        """With no previous run kept, the last panel says how to get one."""
        if not self.ghost_artists:
            ax = self.ghost_ax
            ax.clear()
            ax.axis("off")
            ax.text(0.5, 0.5, "compare: turn it on,\nthen change a\ncontrol", ha="center", va="center",
                    transform=ax.transAxes, fontsize=7, color="0.5")

    def set_trace(self, trace, compare=None) -> None:
        super().set_trace(trace, compare)   # keeps the run shown until now (its map) when comparing
        self._shown_map = self.feature_map.copy()
        self._ghost_hint()

    # ---- drawing one state ----------------------------------------------------------------
    def describe_step(self, index: int) -> str:
        total = f"<b>position {index} / {self.last_index}</b> &nbsp; "
        if index == 0:
            return total + "ready: press Step"
        if index <= self._conv_steps:
            return total + f"window {index} of {self._conv_steps}"
        return total + f"pooling {index - self._conv_steps} of {self.last_index - self._conv_steps}"

    def render(self, state) -> None:
        if self.index == 0:
            self._render_start(state)
        elif isinstance(state, conv.ConvWindow):
            self._render_window(state)
        else:
            self._render_pool(state)

    def _render_start(self, first: conv.ConvWindow) -> None:
        """Position 0: the window at the top left, the products and the map still empty."""
        self._render_window(first)
        self._clear_products("")
        self._show_map(np.full(self.output_shape, np.nan))
        self.current_cell.set_visible(False)
        self.status.set(f"window 0 / {self._conv_steps}", "press Step to compute window 1", "info")
        self.message.value = html.escape(
            f"The {3}×{3} window starts at the top left of the {'padded ' if self.padding else ''}input. Each Step "
            f"multiplies the window with the kernel ({self.describe_kernel()}) element by element and adds the nine "
            f"products: one cell of the {self.output_shape[0]}×{self.output_shape[1]} feature map, then the window "
            f"moves {self.stride} pixel{'s' if self.stride > 1 else ''} to the right (or down to the next row).")

    def _clear_products(self, title: str) -> None:
        self.products_image.set_data(np.zeros((3, 3)))
        for text in self.product_texts:
            text.set_text("")
        self.products_title.set_text(title)

    def _show_map(self, output: np.ndarray) -> None:
        self.output_image.set_data(output)
        if self._write_map_values:
            span = self._map_norm.vmax
            for (i, j), v in np.ndenumerate(output):
                text = self.output_texts[i][j]
                text.set_text("" if np.isnan(v) else _fmt(round(v, 2)))
                text.set_color(_ink(v, span) if not np.isnan(v) else "black")

    def _render_window(self, state: conv.ConvWindow) -> None:
        self.window_box.set_xy((state.left - 0.5, state.top - 0.5))
        self.window_box.set_visible(True)
        self.products_image.set_data(state.products)
        for text, v in zip(self.product_texts, state.products.ravel()):
            text.set_text(_fmt(round(float(v), 2)))
            text.set_color(_ink(v, self._product_span))
        self.products_title.set_text(f"Σ = {_fmt(round(state.value, 3))}")
        self._show_map(state.output)
        self.current_cell.set_xy((state.col - 0.5, state.row - 0.5))
        self.current_cell.set_visible(True)
        if self.pool_image is not None:
            self.pool_image.set_data(np.full(self.pooled_map.shape, np.nan))
            for text in self.pool_texts:
                text.set_text("")
            self.pool_window.set_visible(False)
        done = state.step + 1 == self._conv_steps
        self.status.set(f"window {state.step + 1} / {self._conv_steps}",
                        f"cell ({state.row}, {state.col}) = Σ window ⊙ kernel = {_fmt(round(state.value, 3))}",
                        "ok" if done and self.pool_image is None else "running")
        self.message.value = html.escape(
            f"Window {state.step + 1}: rows {state.top}-{state.top + 2}, columns {state.left}-{state.left + 2} "
            f"of the {'padded ' if self.padding else ''}input, times the kernel ({self.describe_kernel()}), "
            f"element by element; the nine products add up to {_fmt(round(state.value, 3))}, which fills cell "
            f"({state.row}, {state.col}) of the {self.output_shape[0]}×{self.output_shape[1]} feature map. "
            f"The window moves {self.stride} pixel{'s' if self.stride > 1 else ''} at a time"
            + (": done, the map is complete." if done else "."))

    def _render_pool(self, state: conv.PoolWindow) -> None:
        self.window_box.set_visible(False)
        self.current_cell.set_visible(False)
        self._show_map(self.feature_map)
        self._clear_products("done")
        self.pool_window.set_xy((state.left - 0.5, state.top - 0.5))
        self.pool_window.set_visible(True)
        self.pool_image.set_data(state.output)
        for text, v in zip(self.pool_texts, state.output.ravel()):
            text.set_text("" if np.isnan(v) else _fmt(round(float(v), 2)))
            text.set_color("black" if np.isnan(v) else _ink(v, self._map_norm.vmax))
        k = state.step + 1
        total = self.last_index - self._conv_steps
        what = "max" if self.pooling == "max" else "mean"
        self.status.set(f"pooling {k} / {total}", f"{what} of the green 2×2 window = {_fmt(round(state.value, 3))}",
                        "ok" if k == total else "running")
        self.message.value = html.escape(
            f"Pooling window {k}: the {what} of the 2×2 block at rows {state.top}-{state.top + 1}, columns "
            f"{state.left}-{state.left + 1} of the feature map is {_fmt(round(state.value, 3))}. Pooling has no "
            "weights: it only keeps the strongest (or average) response of each block, and halves the map."
            + (" Done." if k == total else ""))
