"""Widgets, version 2: the pieces every widget of the workbook is built from.

A widget is a class. It holds no algorithm of its own: it shows states that
the reference code computed (a *trace*, a list of plain dataclass records, or
the next state of a training run computed on demand), and everything it shows
is readable from Python, which is how the tests drive it without a browser.

Which class to subclass
-----------------------
* :class:`StepWidget`: a step-through of a fixed trace (PLA, gradient descent,
  convolution over an image, LSTM over a sequence, attention step by step).
  It brings the transport controls: Reset, Back, Step, Play/Pause, "to end",
  a speed choice, a step scrubber linked to Play, a step counter, and a
  compare mode. Implement :meth:`~StepWidget.render` (draw one state) and call
  :meth:`~StepWidget.set_trace` whenever data, parameters or the start point
  change: the new run always starts at step 0, and with "compare" on the
  previous run stays on the plot, faint (:meth:`~FigureWidget.draw_ghost`).
* :class:`LiveWidget`: a run that is computed as it goes (the network
  playground, the GAN lab: "train for one more step"). Implement
  :meth:`~LiveWidget.initial_state`, :meth:`~LiveWidget.advance` (one training
  step, returns the new state) and :meth:`~LiveWidget.render`. Play ticks in the
  browser and the kernel computes exactly one step per tick it receives, so
  playing never blocks the kernel for more than one step.
* :class:`FigureWidget`: no steps at all (an explorer: move a slider, see the
  softmax change). It has the figure, the control rows, the on-plot status,
  blitting, the message line and the static snapshot; draw in your own
  observers and end them with :meth:`~FigureWidget.redraw`.

The helpers every widget uses
-----------------------------
* :func:`make_figure`: an ipympl canvas (interactive, updated in place) at most
  :data:`MAX_WIDGET_WIDTH_IN` = 8.3 in wide at 100 dpi, so that it fits an
  840 px output area (JupyterLab at 1280 px with the file browser open) from
  inside the widget's box; static figures may use 8.4 in.
  Several panels go side by side only while they fit; otherwise into rows.
* :func:`control_row`: one row of controls, label on the left in a fixed
  width, controls of fixed pixel widths that never wrap at 840 px (it raises
  a ``ValueError`` when a row would be wider). Controls take no
  ``description``: the row's label names them.
* :class:`OnPlotStatus`: the state that is the lesson (step, loss or mistakes,
  converged / diverged) drawn large *on the plot*, coloured by kind.
* Blitting: register the artists that move from step to step with
  :meth:`~FigureWidget.set_dynamic`; a step then redraws only those over a
  saved background (median step well under 50 ms). Call
  :meth:`~FigureWidget.invalidate_background` when the static part changes and
  :meth:`~FigureWidget.freeze_layout` after each rebuild of it.

Saved notebooks
---------------
Static figures are images (``%matplotlib inline``); only widgets make live
canvases (always through :func:`make_figure`; importing ipympl here leaves the
notebook's backend alone). A widget's output survives a save in three ways,
checked in JupyterLab 4 + Chromium by ``tests/test_browser.py`` (save, shut the
kernel down, reload):

* ``make lab`` turns on JupyterLab's "save widget state" setting
  (``jupyterlab-settings/overrides.json``): a saved notebook keeps every
  widget's state, the ipympl canvas's last image included, so a reopened
  notebook shows each widget as it was left, never "Error displaying widget".
  That image is the canvas's ``_data_url``, and every frame a widget sends is
  followed by ``_data_url`` = that frame (:func:`_send_frame`): left to itself,
  ipympl 0.10's page saves the picture *before* the last frame (or an older one
  after quick clicks), under controls that show the last step;
* inside that picture, a line that only shows while no kernel is behind the
  widget says "run the cell to use this widget" (and ipywidgets' broken-chain
  icons, which would push labels onto second lines, are hidden);
* the output also carries a PNG of the figure and that line as text, which
  JupyterLab shows where it does not render the live view (an untrusted
  notebook, nbconvert, a viewer without widgets).

A new step-through widget, in outline
-------------------------------------
::

    class ConvStepper(StepWidget):
        name = "convolution stepper"            # what a saved notebook says where it cannot show it
        counter_noun = "position"               # the counter reads "position 3 / 24"

        def __init__(self, image, kernel):
            super().__init__(figsize=(8.2, 3.6))            # at most 8.4 in: fits 840 px
            self.ax_in, self.ax_out = self.fig.subplots(1, 2)
            self.stride = W.ToggleButtons(options=[1, 2], style={"button_width": "50px"})
            self.rows = [control_row("stride", self.stride)]  # label left, fixed widths
            self.window = self.ax_in.add_patch(...)           # made once, moved by render
            self.status = OnPlotStatus(self.ax_out)           # the state, large on the plot
            self.set_dynamic([self.window, *self.status.artists])
            self.stride.observe(lambda _: self.recompute(), names="value")
            self.recompute()

        def recompute(self):                    # data or parameters changed
            trace = conv.conv2d_trace(...)      # the reference code's trace: no algorithm here
            self.set_trace(trace)               # starts at step 0; compare mode keeps the old run
            self.freeze_layout()

        def describe_run(self):                 # the faint run's label in compare mode
            return f"stride {self.stride.value}"

        def draw_ghost(self, run):              # optional: the previous run, faint
            return [self.ax_out.plot(..., color=GHOST_COLOR, alpha=0.5, label=f"previous: {run.label}")[0]]

        def render(self, state):                # one state: move the artists, set the texts
            self.window.set_xy(...)
            self.status.set(f"position {self.index} / {self.last_index}", f"sum = {state.value:.2f}", "running")
            self.message.value = "..."          # the sentence under the plot

A live widget and an explorer, in outline
-----------------------------------------
::

    class GANLab(LiveWidget):
        name = "GAN lab"
        counter_noun = "step"                   # "step 120" (or "step 120 / 500" with max_steps = 500)

        def __init__(self):
            super().__init__(figsize=(8.2, 4.0))
            ...                                 # rows, artists, self.status, set_dynamic, as above
            self.make_compare_controls()        # optional: compare runs (then define draw_ghost)
            self.restart()                      # history = [initial_state()], drawn at step 0

        def initial_state(self):                # step 0 from the current controls (seeded)
            return generative.gan_init(...)

        def advance(self):                      # one training step after self.state; Play calls it
            return generative.gan_step(self.state, ...)   # once per tick the kernel receives

        def render(self, state):                # as in a step-through; self.history holds the run
            ...

    class SoftmaxExplorer(FigureWidget):        # no steps: controls in, picture out
        name = "softmax explorer"

        def __init__(self):
            super().__init__(figsize=(8.2, 3.2))
            self.rows = [control_row("scores", *self.sliders)]
            ...
            for slider in self.sliders:
                slider.observe(lambda _: self.update(), names="value")

        def update(self):
            with self.frame_first():            # the new frame reaches the page before the texts
                self.bars.set_heights(...)
                self.status.set("p(cat) = 0.71", kind="info")
                self.message.value = "..."
                self.redraw()

How tests drive a widget
------------------------
Click its buttons (``w.step_button.click()``, ``w.end_button.click()``), set
its controls (``w.scrubber.value = 5``, ``w.speed.value = ...``), simulate a
tick of Play (``w.play.value = k``), and read what it shows: ``w.index``,
``w.state``, ``w.counter.value``, ``w.status.text``, ``w.message.value``, the
artists' data, ``w.ghost_artists``.
"""
from __future__ import annotations

import contextlib
import html
import re
import sys
import types
from base64 import b64encode
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Iterable, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import ScaledTranslation
from PIL import Image

#: The width every widget and figure must fit: JupyterLab's output area at a
#: 1280 px wide window with the file browser open is about 848 px.
OUTPUT_WIDTH_PX = 840
FIGURE_DPI = 100
MAX_FIGURE_WIDTH_IN = OUTPUT_WIDTH_PX / FIGURE_DPI
#: A widget's canvas sits inside the widget's own box, about 15 px further in than a
#: static image (which the browser also shrinks to fit): seen at 1280×800, a canvas of
#: 8.4 in lost its right edge, 8.3 in fits.
MAX_WIDGET_WIDTH_IN = 8.3
#: Labels of control rows all have this width, so the controls line up.
LABEL_WIDTH_PX = 90
BUTTON_WIDTH_PX = 76
#: Play speeds: (label, milliseconds between two steps). Play sends a tick, the
#: kernel draws one step; while it draws, later ticks are merged into one.
SPEEDS = (("slow", 1000), ("normal", 400), ("fast", 150), ("fastest", 60))
#: How the on-plot status is coloured, by what the state means.
STATUS_COLORS = {"info": "0.15", "running": "#1f4e9c", "ok": "#1a7f37", "warn": "#b35900", "bad": "#c62828"}
#: Colour of the previous run in compare mode.
GHOST_COLOR = "0.55"


# ---- figures ------------------------------------------------------------------------------
def _whole_frame(canvas) -> bytes | None:
    """The PNG frame ipympl sends to the browser, always the whole figure.

    ipympl's own frames are "diffs" (only the changed pixels), and the browser
    keeps one <img> for them: a frame that arrives while the previous one is
    still loading replaces it, and a lost diff leaves ghosts of an earlier step
    on the plot. Blitted steps arrive unthrottled (quick clicks on Step, Play),
    so the widgets send whole frames, where a lost one is harmless. They are
    compressed lightly (zlib level 1): a few per cent more bytes on the local
    socket for about half the encoding time, the largest part of a step.
    """
    if not canvas._png_is_old:
        return None
    pixels = np.asarray(canvas.get_renderer().buffer_rgba())
    canvas.set_image_mode("full")
    canvas._png_is_old = False
    return _png(pixels)


def _send_frame(canvas, png: bytes) -> None:
    """Send a frame to the page, then make it the picture a saved notebook keeps.

    A saved notebook shows each canvas from its ``_data_url`` (the widget state
    JupyterLab writes into the file). ipympl 0.10's page sets that when a frame
    arrives, from its offscreen canvas, *before* the frame's <img> has loaded
    (``handle_binary`` assigns ``image.src``, which loads asynchronously, and reads
    ``offscreen_canvas.toDataURL()`` at once; only ``image.onload`` draws the frame
    there). So the saved picture is the one before the last frame, or older where
    frames came faster than the page decoded them (a new ``src`` cancels a pending
    load): a reopened notebook showed the stepper's controls at its last step over
    the picture of an earlier one. And the kernel stops sending ``_data_url`` once
    the page says it is there. Here every frame is followed by the state
    ``_data_url`` = this very frame: the page applies the frame (which sets its
    stale copy) before the state update that comes after it, so the last word is
    always the last frame. The bytes are those of the frame, already encoded; the
    kernel's part of a step grows by a base64 copy (well under 1 ms)."""
    canvas.send({"data": '{"type": "binary"}'}, buffers=[png])
    _keep_picture(canvas, png)


def _keep_picture(canvas, png: bytes) -> None:
    """Make ``png`` the canvas's ``_data_url``, in the kernel and in the page."""
    canvas._data_url = "data:image/png;base64," + b64encode(png).decode("ascii")
    if not canvas.syncing_data_url:
        # ipympl's send_state leaves _data_url out once a page is attached (the setter
        # above sent nothing): send it past that filter
        W.DOMWidget.send_state(canvas, "_data_url")


def _png(pixels: np.ndarray) -> bytes:
    with BytesIO() as png:
        Image.fromarray(pixels).save(png, format="png", compress_level=1)
        return png.getvalue()


def check_figure_width(width: float, what: str = "a figure", limit: float = MAX_FIGURE_WIDTH_IN) -> None:
    """Raise a ValueError when ``width`` (inches at 100 dpi) would not fit an 840 px output area."""
    if not width <= limit + 1e-9:
        raise ValueError(f"{what} must be at most {limit:g} in wide ({round(limit * FIGURE_DPI)} px at "
                         f"{FIGURE_DPI} dpi) to fit JupyterLab's output area; got {width:g} in. "
                         "Put panels into rows instead of one long row.")


def _import_ipympl():
    """ipympl's backend module, imported without changing the notebook's backend.

    Importing the ipympl package switches matplotlib to ipympl's backend
    (``ipympl/__init__.py`` calls ``matplotlib.use``): every later static figure
    of the notebook would become a live canvas that a saved notebook cannot show.
    The backend the notebook chose (``%matplotlib inline``) is put back at once.
    This module imports ipympl when it is itself imported (a notebook's first
    cell), so that switching back closes no figure a cell is still drawing."""
    import matplotlib
    from matplotlib import rcsetup

    before = matplotlib.rcParams._get_backend_or_none()
    from ipympl import backend_nbagg

    if matplotlib.rcParams._get_backend_or_none() != before:
        wanted = rcsetup._auto_backend_sentinel if before is None else before
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].switch_backend(wanted)
        else:
            dict.__setitem__(matplotlib.rcParams, "backend", wanted)
    return backend_nbagg


_import_ipympl()


def make_figure(width: float = 8.0, height: float = 3.8) -> Figure:
    """A matplotlib figure whose canvas is an ipympl widget, whatever ``%matplotlib``
    mode the notebook is in; at most 8.3 in (830 px) wide, no toolbar, no header."""
    new_figure_manager_given_figure = _import_ipympl().new_figure_manager_given_figure

    check_figure_width(width, "a widget's figure", MAX_WIDGET_WIDTH_IN)
    fig = Figure(figsize=(width, height), dpi=FIGURE_DPI, layout="constrained")
    new_figure_manager_given_figure(id(fig), fig)
    canvas = fig.canvas
    canvas.header_visible = False
    canvas.footer_visible = False
    canvas.toolbar_visible = False
    canvas.resizable = False
    canvas.capture_scroll = False
    canvas.get_diff_image = types.MethodType(_whole_frame, canvas)
    canvas.send_binary = types.MethodType(_send_frame, canvas)
    return fig


# ---- control rows -------------------------------------------------------------------------
_PX = re.compile(r"^\s*(\d+(?:\.\d+)?)px\s*$")
_GAP_PX = 4  # the margin ipywidgets puts around each control in a row


def _px(value) -> float | None:
    match = _PX.match(value or "") if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def control_width_px(control: W.Widget) -> float:
    """The width a control takes in a row, from its fixed layout (or button) width.

    Rows must not wrap at 840 px, so every control in a row has a width in px;
    a control without one is an error that names it."""
    if control.layout.display == "none":
        return 0.0  # hidden (the Play model's view): takes no room
    width = _px(control.layout.width)
    if width is not None:
        return width + _GAP_PX
    if isinstance(control, W.ToggleButtons):
        button = _px(getattr(control.style, "button_width", "")) if hasattr(control, "style") else None
        if button is not None:
            return len(control.options) * (button + _GAP_PX) + _GAP_PX
    if isinstance(control, W.Box):
        return sum(control_width_px(child) for child in control.children)
    raise ValueError(f"give every control of a row a fixed width in px (layout.width='120px', or "
                     f"style.button_width for ToggleButtons); {type(control).__name__} "
                     f"{getattr(control, 'description', '')!r} has layout.width={control.layout.width!r}")


def row_width_px(row: W.Box) -> float:
    """The width of a row made by :func:`control_row`, in px."""
    return sum(control_width_px(child) for child in row.children)


def control_row(label: str, *controls: W.Widget, label_width: int = LABEL_WIDTH_PX) -> W.HBox:
    """One row of controls: ``label`` on the left in a fixed width, then the controls.

    Every control needs a fixed width in px, and the row must fit 840 px: it
    never wraps, so labels never float above their controls. ``label=""``
    keeps the indentation (the controls line up with the rows above)."""
    name = W.HTML(f"<b>{html.escape(label)}</b>" if label else "",
                  layout=W.Layout(width=f"{label_width}px", min_width=f"{label_width}px"))
    name.add_class("coursekit-row-label")
    row = W.HBox([name, *controls], layout=W.Layout(flex_flow="row nowrap", align_items="center",
                                                    overflow="hidden"))
    row.add_class("coursekit-row")
    width = row_width_px(row)
    if width > OUTPUT_WIDTH_PX:
        raise ValueError(f"the control row {label!r} is {width:.0f} px wide; rows must fit {OUTPUT_WIDTH_PX} px: "
                         "narrow its controls or split it into two rows")
    return row


def button(description: str, icon: str = "", width: int = BUTTON_WIDTH_PX, tooltip: str = "") -> W.Button:
    """A button of the standard width."""
    return W.Button(description=description, icon=icon, tooltip=tooltip or description,
                    layout=W.Layout(width=f"{width}px"))


# ---- the state, large on the plot --------------------------------------------------------
_LOCATIONS = {
    "upper left": (0.03, 0.97, "left", "top"), "upper right": (0.97, 0.97, "right", "top"),
    "lower left": (0.03, 0.03, "left", "bottom"), "lower right": (0.97, 0.03, "right", "bottom"),
    "upper center": (0.5, 0.97, "center", "top"), "center": (0.5, 0.5, "center", "center"),
}


class OnPlotStatus:
    """The state that is the lesson, drawn large on an axes: a bold headline
    ("update 5 / 13", "converged", "diverged at step 37") and a smaller detail
    line ("7 mistakes", "loss 0.0312"), in a box coloured by ``kind``:
    info (grey), running (blue), ok (green), warn (orange), bad (red).

    Both lines are one matplotlib Text each; a :class:`FigureWidget` blits them
    with the other moving artists (pass :attr:`artists` to ``set_dynamic``)."""

    def __init__(self, ax, loc: str = "upper right", fontsize: float = 14):
        if loc not in _LOCATIONS:
            raise ValueError(f"loc must be one of {tuple(_LOCATIONS)}, got {loc!r}")
        x, y, ha, va = _LOCATIONS[loc]
        self.loc = loc
        box = dict(boxstyle="round,pad=0.35", facecolor="white", alpha=0.88, linewidth=1.5)
        self.headline = ax.text(x, y, "", transform=ax.transAxes, ha=ha, va=va, fontsize=fontsize,
                                fontweight="bold", bbox=box, zorder=20, clip_on=False)
        # The detail sits right under (or above) the headline's box, aligned with it: a plain
        # text shifted by the box's height in points (placing it relative to the headline
        # itself would lay the headline out twice at every step).
        shift = (1.75 * fontsize + 1) / 72 * (1 if va == "bottom" else -1)
        offset = ScaledTranslation(0, shift, ax.figure.dpi_scale_trans)
        self.detail = ax.text(x, y, "", transform=ax.transAxes + offset, ha=ha, va=va, fontsize=fontsize * 0.72,
                              zorder=20, clip_on=False,
                              bbox=dict(boxstyle="round,pad=0.2", facecolor="white", alpha=0.75, linewidth=0))
        self.kind = "info"

    @property
    def artists(self) -> list:
        return [self.headline, self.detail]

    @property
    def text(self) -> str:
        """What it says: headline, and the detail on a second line if there is one."""
        detail = self.detail.get_text()
        return self.headline.get_text() + (f"\n{detail}" if detail else "")

    def set(self, headline: str, detail: str = "", kind: str = "info") -> None:
        if kind not in STATUS_COLORS:
            raise ValueError(f"kind must be one of {tuple(STATUS_COLORS)}, got {kind!r}")
        color = STATUS_COLORS[kind]
        self.kind = kind
        self.headline.set_text(headline)
        self.headline.set_color(color)
        self.headline.get_bbox_patch().set_edgecolor(color)
        self.detail.set_text(detail)
        self.detail.set_visible(bool(detail))
        self.detail.set_color(color)


# ---- Play: ticks from the browser, one step at a time in the kernel ------------------------
class PlayControls:
    """Play / Pause and a speed choice, driven by a hidden ``ipywidgets.Play``.

    The browser's Play model ticks (its timer runs in the page, next to a view
    that is displayed but hidden), and each tick changes ``play.value``; the
    kernel reacts to each value it receives. While the kernel is busy the page
    merges the ticks it could not send into one, so a slow step never queues up
    work. Play's own stop button (which rewinds to the start) is never shown:
    the visible Play/Pause button pauses where it is, Reset rewinds.
    """

    def __init__(self, interval_ms: int = 400, max_value: int = 0):
        self.play = W.Play(value=0, min=0, max=max_value, step=1, interval=interval_ms, show_repeat=False,
                           layout=W.Layout(display="none"))
        self.play_button = W.ToggleButton(value=False, description="Play", icon="play", tooltip="Play / Pause",
                                          layout=W.Layout(width=f"{BUTTON_WIDTH_PX}px"))
        speeds = list(SPEEDS)
        if interval_ms not in dict(SPEEDS).values():
            speeds.append((f"{interval_ms} ms", interval_ms))
        self.speed = W.Dropdown(options=speeds, value=interval_ms, tooltip="time between two steps",
                                layout=W.Layout(width="96px"))
        # Play/Pause drives the page's Play model directly (it starts at once); the kernel
        # pauses by setting the button (a second, kernel-side link would race with this one)
        self.link = W.jslink((self.play_button, "value"), (self.play, "playing"))
        W.dlink((self.speed, "value"), (self.play, "interval"))
        self.play_button.observe(self._on_playing, names="value")

    def _on_playing(self, change) -> None:
        playing = bool(change["new"])
        self.play_button.description = "Pause" if playing else "Play"
        self.play_button.icon = "pause" if playing else "play"

    def pause(self) -> None:
        self.play_button.value = False

    @property
    def playing(self) -> bool:
        return bool(self.play_button.value)


# A widget restored from a saved notebook has no kernel behind it: ipywidgets then
# puts a "broken chain" icon in front of every control, which pushes labels onto
# a second line. Inside a workbook widget the icon goes, and one line says what
# the picture is. The style travels in the widget's own state, so it also
# applies where the notebook is reopened.
_SNAPSHOT_CSS = """<style>
.coursekit-widget .jupyter-widgets-disconnected::before,
.coursekit-widget.jupyter-widgets-disconnected::before { content: none !important; display: none !important; }
.coursekit-widget .coursekit-snapshot { min-height: 0 !important; height: auto !important; margin: 0 !important; }
.coursekit-widget .coursekit-snapshot .widget-html-content { height: auto !important; line-height: 1.4; }
.coursekit-snapshot-note { display: none; }
.coursekit-widget.jupyter-widgets-disconnected .coursekit-snapshot-note {
  display: block; padding: 2px 8px; margin-bottom: 4px; border-left: 4px solid #b35900; background: #fff4e5; }
</style>"""


def _snapshot_note(name: str) -> W.HTML:
    """Invisible while the widget is live; in a reopened notebook: "run the cell to use this widget"."""
    note = W.HTML(_SNAPSHOT_CSS + f"<div class='coursekit-snapshot-note'>A saved picture of the "
                  f"{html.escape(name)}: <b>run the cell to use this widget</b>.</div>",
                  layout=W.Layout(width=f"{OUTPUT_WIDTH_PX - 10}px"))
    note.add_class("coursekit-snapshot")
    return note


@dataclass(frozen=True)
class PreviousRun:
    """A run kept for compare mode: its states, its label ("GD, η = 0.03") and
    whatever else a widget needs to draw it (``extra``, e.g. the data it ran on)."""

    states: Sequence[Any]
    label: str
    extra: Any = None


# ---- the common part ------------------------------------------------------------------
class FigureWidget:
    """A figure, rows of controls, a message line, the on-plot status and blitting.

    Subclasses build their controls with :func:`control_row` and append them to
    :attr:`rows`, draw on :attr:`fig` (made with :func:`make_figure`), register
    the moving artists with :meth:`set_dynamic`, and finish each change with
    :meth:`redraw`. ``name`` is what a saved notebook says where it cannot show
    the widget."""

    name = "widget"

    def __init__(self, figsize=(8.0, 3.8)):
        self.fig = make_figure(*figsize)
        self.rows: list[W.Widget] = []
        self.message = W.HTML(layout=W.Layout(width=f"{OUTPUT_WIDTH_PX - 10}px", min_height="2.6em"))
        self.message.add_class("coursekit-message")
        self.ghost_artists: list = []
        self.compare_toggle: W.ToggleButton | None = None
        self.clear_button: W.Button | None = None
        self._box: W.Widget | None = None
        self._dynamic: list = []
        self._background = None
        self._background_size = None
        self.fig.canvas.mpl_connect("draw_event", self._on_draw)

    # ---- compare mode: the previous run, faint -----------------------------------------------
    def make_compare_controls(self) -> list[W.Widget]:
        """The "compare" toggle and its "clear" button (created once)."""
        if self.compare_toggle is None:
            self.compare_toggle = W.ToggleButton(value=False, description="compare", icon="clone",
                                                 tooltip="keep the previous run on the plot, faint",
                                                 layout=W.Layout(width="100px"))
            self.clear_button = button("clear", "eraser", width=72, tooltip="remove the previous run")
            self.clear_button.disabled = True
            self.clear_button.on_click(lambda _: self.clear_ghost())
            self.compare_toggle.observe(lambda change: None if change["new"] else self.clear_ghost(), names="value")
        return [self.compare_toggle, self.clear_button]

    @property
    def comparing(self) -> bool:
        return self.compare_toggle is not None and bool(self.compare_toggle.value)

    run_label = ""

    def describe_run(self) -> str:
        """A short name of the run the controls describe now ("Adam, η = 0.01"): the
        label of the faint previous run in compare mode."""
        return ""

    def current_run(self) -> PreviousRun | None:
        """The run shown now, as compare mode will keep it (override in live widgets)."""
        return None

    def draw_ghost(self, run: PreviousRun) -> list:
        """Draw ``run.states`` faintly on the plot (colour :data:`GHOST_COLOR`, labelled
        ``"previous: " + run.label``) and return the artists. Override to support
        compare mode; the base class removes them again."""
        return []

    def keep_as_ghost(self, run) -> None:
        """Replace the faint previous run by ``run``: there is never more than one."""
        self._remove_ghost()
        if run is None:
            return
        artists = list(self.draw_ghost(run))
        for artist in artists:
            artist.set_gid("ghost")
        self.ghost_artists = artists
        if self.clear_button is not None:
            self.clear_button.disabled = not artists
        self.invalidate_background()

    def start_new_run(self, had_run: bool, compare: bool | None) -> None:
        """Before a new run replaces the one shown: keep that one faint if compare mode
        is on (``compare=None`` follows the toggle), else remove any faint run."""
        keep = self.comparing if compare is None else compare
        if keep and had_run:
            self.keep_as_ghost(self.current_run())
        elif not keep and self.ghost_artists:
            self._remove_ghost()
            self.invalidate_background()

    def clear_ghost(self) -> None:
        """Remove the previous run from the plot (the "clear" button)."""
        had = bool(self.ghost_artists)
        self._remove_ghost()
        if had:
            self.invalidate_background()
            self.redraw()

    def _remove_ghost(self) -> None:
        for artist in self.ghost_artists:
            try:
                artist.remove()
            except (ValueError, NotImplementedError, AttributeError):
                pass  # already gone with its axes (cleared), or a legend that was replaced
        self.ghost_artists = []
        if self.clear_button is not None:
            self.clear_button.disabled = True

    # ---- drawing: full draws and blitted steps ------------------------------------------
    def set_dynamic(self, artists: Iterable) -> None:
        """Declare the artists that change from step to step (they are drawn by
        blitting over a saved background) and forget the old background."""
        for artist in self._dynamic:
            artist.set_animated(False)
        self._dynamic = list(artists)
        for artist in self._dynamic:
            artist.set_animated(True)
        self.invalidate_background()

    def invalidate_background(self) -> None:
        """The static part changed (new data, new axes limits): the next draw is a full one."""
        self._background = None

    def freeze_layout(self) -> None:
        """Lay the figure out once, then keep that layout.

        Constrained layout re-measures every tick label on each draw, about half
        the cost of a step; nothing that changes while stepping needs a new
        layout, so call this after each rebuild of the static part.
        """
        self.fig.set_layout_engine("constrained")
        self.fig.get_layout_engine().execute(self.fig)
        self.fig.set_layout_engine("none")

    def _on_draw(self, event) -> None:
        """After each full draw: keep the static background, add the moving artists."""
        canvas = self.fig.canvas
        if canvas.is_saving() or not self._dynamic:
            return  # savefig draws animated artists itself
        self._background = canvas.copy_from_bbox(self.fig.bbox)
        self._background_size = tuple(self.fig.bbox.size)
        self._draw_dynamic()

    def _draw_dynamic(self) -> None:
        for artist in self._dynamic:
            if artist.get_visible() and artist.figure is not None:
                self.fig.draw_artist(artist)

    @contextlib.contextmanager
    def frame_first(self, *widgets: W.Widget):
        """Hold back the changes of ``widgets`` (and of the message line) until the block
        ends, so that the browser gets the new frame of the figure first and draws it
        while the texts and buttons follow: wrap each update in it, ending with
        :meth:`redraw`."""
        with contextlib.ExitStack() as stack:
            for widget in (self.message, *widgets):
                stack.enter_context(widget.hold_sync())
            yield

    def redraw(self) -> None:
        """Blit the moving artists over the saved background, or ask for a full
        draw when there is no background yet (or the figure's pixel size changed)."""
        canvas = self.fig.canvas
        if self._background is None or self._background_size != tuple(self.fig.bbox.size):
            canvas.draw_idle()
            return
        canvas.restore_region(self._background)
        self._draw_dynamic()
        canvas.blit(self.fig.bbox)

    # ---- display, and what a saved notebook keeps -------------------------------------------
    def top_rows(self) -> list[W.Widget]:
        """Rows above the widget's own rows (none here)."""
        return []

    def bottom_rows(self) -> list[W.Widget]:
        """Rows between the widget's own rows and the figure (a StepWidget's transport)."""
        return []

    def layout(self) -> W.Widget:
        """The whole widget: the control rows, the figure, and the message line under it."""
        box = W.VBox([_snapshot_note(self.name), *self.top_rows(), *self.rows, *self.bottom_rows(),
                      self.fig.canvas, self.message],
                     layout=W.Layout(max_width=f"{OUTPUT_WIDTH_PX}px", overflow="hidden"))
        box.add_class("coursekit-widget")
        return box

    @property
    def box(self) -> W.Widget:
        if self._box is None:
            self._box = self.layout()
        return self._box

    def snapshot_png(self) -> bytes:
        """The figure as it is now, as PNG bytes.

        A full Agg draw (which also refreshes the background that steps blit onto),
        but not ipympl's, which would push a frame to a page that shows no view of
        the canvas yet (the page asks for its first frame once it does)."""
        canvas = self.fig.canvas
        FigureCanvasAgg.draw(canvas)
        canvas._png_is_old = True  # the browser still needs this picture, as a frame of its own
        return _png(np.asarray(canvas.get_renderer().buffer_rgba()))

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.box._repr_mimebundle_(**kwargs))
        # What JupyterLab shows where the live widget cannot be rendered (an untrusted
        # notebook, nbconvert, a viewer without widgets): the figure and one clear line.
        bundle["text/plain"] = f"{self.name}: run the cell to use this widget"
        png = self.snapshot_png()
        bundle["image/png"] = b64encode(png).decode("ascii")
        # and the canvas's saved picture until its first frame: what a notebook run
        # without a browser (nbclient, nbval) keeps in its widget state
        _keep_picture(self.fig.canvas, png)
        return bundle


# ---- step-through of a fixed trace ---------------------------------------------------------
class StepWidget(FigureWidget):
    """A trace, the transport controls, and a figure drawn from one state.

    Subclasses implement :meth:`render` (draw one state on ``self.fig``) and may
    override :meth:`updates` / :meth:`describe_step` (what the counter says),
    :meth:`draw_ghost` (compare mode). They add their own rows of controls to
    :attr:`rows` with :func:`control_row` and call :meth:`set_trace` with each new
    run: it always restarts at step 0, keeping the previous run faint when
    "compare" is on.
    """

    play_interval_ms = 400
    #: the noun of the counter: "step 3 / 40", "update 3 / 13", "epoch 3 / 20"
    counter_noun = "step"

    def __init__(self, trace: Sequence[Any] = (), figsize=(8.0, 3.8)):
        super().__init__(figsize)
        self.trace: list[Any] = []
        self._setting = False
        self.reset_button = button("Reset", "fast-backward", tooltip="back to step 0")
        self.back_button = button("Back", "step-backward", tooltip="one step back")
        self.step_button = button("Step", "step-forward", tooltip="one step forward")
        self.end_button = button("to end", "fast-forward", width=86, tooltip="jump to the last step")
        self.player = PlayControls(self.play_interval_ms)
        self.play, self.play_button, self.speed = self.player.play, self.player.play_button, self.player.speed
        self.scrubber = W.IntSlider(value=0, min=0, max=0, step=1, readout=False, continuous_update=True,
                                    layout=W.Layout(width="440px"))
        self.counter = W.HTML(layout=W.Layout(width="290px"))
        self.counter.add_class("coursekit-counter")
        W.link((self.play, "value"), (self.scrubber, "value"))
        W.link((self.play, "max"), (self.scrubber, "max"))
        self.reset_button.on_click(lambda _: self.reset())
        self.back_button.on_click(lambda _: self.back())
        self.step_button.on_click(lambda _: self.step())
        self.end_button.on_click(lambda _: self.to_end())
        self.play.observe(self._on_index, names="value")
        self.make_compare_controls()
        if trace:
            self.set_trace(trace)

    def bottom_rows(self) -> list[W.Widget]:
        return [
            control_row("", self.reset_button, self.back_button, self.step_button, self.play_button,
                        self.end_button, self.speed, self.compare_toggle, self.clear_button, self.play),
            control_row(self.counter_noun, self.scrubber, self.counter),
        ]

    # ---- the trace and the index ---------------------------------------------------------
    @property
    def index(self) -> int:
        return int(self.play.value)

    @property
    def state(self):
        return self.trace[self.index] if self.trace else None

    @property
    def last_index(self) -> int:
        return max(len(self.trace) - 1, 0)

    def set_trace(self, trace: Sequence[Any], compare: bool | None = None) -> None:
        """Show a new run (new data, parameters or start point) from step 0.

        With compare on (``compare=None`` follows the toggle), the run shown
        until now stays on the plot, faint, replacing any earlier one."""
        trace = list(trace)
        if not trace:
            raise ValueError("a widget needs a trace with at least one state")
        self.player.pause()
        self.start_new_run(bool(self.trace), compare)
        self.trace = trace
        self.run_label = self.describe_run()
        self._setting = True
        try:
            self.play.value = 0
            self.play.max = self.last_index
        finally:
            self._setting = False
        self.show(0)

    def current_run(self) -> PreviousRun:
        return PreviousRun(self.trace, self.run_label)

    def step(self) -> None:
        if self.index < self.last_index:
            self.play.value = self.index + 1

    def back(self) -> None:
        if self.index > 0:
            self.play.value = self.index - 1

    def reset(self) -> None:
        self.player.pause()
        if self.index != 0:
            self.play.value = 0
        else:
            self.show(0)

    def to_end(self) -> None:
        self.player.pause()
        if self.index != self.last_index:
            self.play.value = self.last_index

    def _on_index(self, change) -> None:
        if not self._setting:
            self.show(int(change["new"]))

    def show(self, index: int) -> None:
        """Draw ``trace[index]``: the one place where a step-through widget redraws."""
        if not self.trace:
            return
        with self.frame_first(self.counter, self.back_button, self.reset_button, self.step_button,
                              self.end_button):
            self.render(self.trace[index])
            self.counter.value = self.describe_step(index)
            at_end = index >= self.last_index
            self.back_button.disabled = self.reset_button.disabled = index == 0
            self.step_button.disabled = self.end_button.disabled = at_end
            self.redraw()

    # ---- what the counter says ---------------------------------------------------------------
    def updates(self, index: int) -> int:
        """How many updates the state at ``index`` has made (the counter's number); the
        titles and messages of the subclass must count the same way."""
        return index

    def describe_step(self, index: int) -> str:
        return f"<b>{self.counter_noun} {self.updates(index)} / {self.updates(self.last_index)}</b>"

    def render(self, state) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


# ---- a run computed as it goes ----------------------------------------------------------------
class LiveWidget(FigureWidget):
    """Training that runs as long as you let it: the next state is computed on demand.

    Subclasses implement :meth:`initial_state` (the state at step 0, from the
    current controls), :meth:`advance` (compute and return the state one step
    after ``self.state``) and :meth:`render`. The history of states is kept in
    :attr:`history` (so curves can be drawn and tests can read them); call
    :meth:`restart` whenever data or parameters change. ``max_steps`` (None:
    no limit) stops Play at that step.
    """

    play_interval_ms = 150
    counter_noun = "step"
    max_steps: int | None = None

    def __init__(self, figsize=(8.0, 3.8)):
        super().__init__(figsize)
        self.history: list[Any] = []
        self.reset_button = button("Reset", "fast-backward", tooltip="start again from step 0")
        self.step_button = button("Step", "step-forward", tooltip="one more step")
        # Play's value counts ticks; each tick the kernel receives is one step
        self.player = PlayControls(self.play_interval_ms, max_value=10 ** 9)
        self.play, self.play_button, self.speed = self.player.play, self.player.play_button, self.player.speed
        self.counter = W.HTML(layout=W.Layout(width="200px"))
        self.counter.add_class("coursekit-counter")
        self.reset_button.on_click(lambda _: self.restart())
        self.step_button.on_click(lambda _: self.tick())
        self.play.observe(self._on_tick, names="value")
        self._rewinding = False

    def bottom_rows(self) -> list[W.Widget]:
        controls = [self.reset_button, self.step_button, self.play_button, self.speed]
        if self.compare_toggle is not None:
            controls += [self.compare_toggle, self.clear_button]
        return [control_row("", *controls, self.counter, self.play)]

    @property
    def state(self):
        return self.history[-1] if self.history else None

    @property
    def steps_done(self) -> int:
        return max(len(self.history) - 1, 0)

    def restart(self, compare: bool | None = None) -> None:
        """Start again from step 0 with the current controls (keeping the run so far
        faint when compare is on)."""
        self.player.pause()
        self.start_new_run(bool(self.history), compare)
        self._rewinding = True
        try:
            self.play.value = 0
        finally:
            self._rewinding = False
        self.history = [self.initial_state()]
        self.run_label = self.describe_run()
        self.show()

    def current_run(self) -> PreviousRun:
        return PreviousRun(list(self.history), self.run_label)

    def _on_tick(self, change) -> None:
        if not self._rewinding:
            self.tick()

    def tick(self) -> None:
        """One step of the run: compute it, keep it, draw it."""
        if self.max_steps is not None and self.steps_done >= self.max_steps:
            self.player.pause()
            return
        self.history.append(self.advance())
        self.show()

    def show(self) -> None:
        with self.frame_first(self.counter):
            self.render(self.state)
            self.counter.value = self.describe_step()
            self.redraw()

    def describe_step(self) -> str:
        total = f" / {self.max_steps}" if self.max_steps is not None else ""
        return f"<b>{self.counter_noun} {self.steps_done}{total}</b>"

    def initial_state(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def advance(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def render(self, state) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError
