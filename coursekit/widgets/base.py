"""The step-through pattern every widget of the workbook follows.

A widget is built from a *trace*: the list of plain state records that the
reference algorithm produced (``coursekit.perceptron.perceptron_trace`` and friends).
The widget holds no algorithm of its own; it shows ``trace[index]``.

* ``Back`` / ``Step`` / ``Play`` / ``Reset`` move ``index``. ``Play`` is an
  ``ipywidgets.Play``: the browser ticks, the kernel draws one step per tick,
  so playing never blocks the kernel.
* Figures are ipympl canvases updated in place: the artists that move from
  step to step are registered with :meth:`StepWidget.set_dynamic`; a full draw
  saves everything else as a background image, and a step restores that image
  and redraws only the moving artists (blitting). Figures stay interactive:
  clicks reach the widget's handlers.
* Everything shown is readable from Python (``index``, ``state``, the
  artists), which is how the tests drive a widget without a browser.
"""
from __future__ import annotations

import types
from io import BytesIO
from typing import Any, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure
from PIL import Image


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
    # ipympl reads the last frame from here when it keeps a static copy (no browser attached)
    canvas._last_buff = pixels.view(np.uint32).squeeze(2).copy()
    with BytesIO() as png:
        Image.fromarray(pixels).save(png, format="png", compress_level=1)
        return png.getvalue()


def make_figure(width: float = 9.0, height: float = 4.0) -> Figure:
    """A matplotlib figure whose canvas is an ipympl widget, whatever
    ``%matplotlib`` mode the notebook is in."""
    from ipympl.backend_nbagg import new_figure_manager_given_figure

    fig = Figure(figsize=(width, height), layout="constrained")
    new_figure_manager_given_figure(id(fig), fig)
    canvas = fig.canvas
    canvas.header_visible = False
    canvas.footer_visible = False
    canvas.toolbar_visible = False
    canvas.resizable = False
    canvas.capture_scroll = False
    canvas.get_diff_image = types.MethodType(_whole_frame, canvas)
    return fig


class StepWidget:
    """Base class: a trace, the step controls, and a figure drawn from a state.

    Subclasses implement :meth:`render` (draw one state on ``self.fig``) and may
    add their own controls to :attr:`controls` or :attr:`extra` before calling
    :meth:`layout`.
    """

    play_interval_ms = 500

    def __init__(self, trace: Sequence[Any] = (), figsize=(9.0, 4.0)):
        self.trace: list[Any] = []
        self.fig = make_figure(*figsize)
        self.back_button = W.Button(description="Back", icon="step-backward", layout=W.Layout(width="80px"))
        self.step_button = W.Button(description="Step", icon="step-forward", layout=W.Layout(width="80px"))
        self.reset_button = W.Button(description="Reset", icon="undo", layout=W.Layout(width="80px"))
        self.play = W.Play(value=0, min=0, max=0, step=1, interval=self.play_interval_ms,
                           show_repeat=False, description="Play")
        self.step_label = W.HTML()
        self.message = W.HTML()
        self.back_button.on_click(lambda _: self.back())
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.play.observe(self._on_index, names="value")
        self.controls: list[W.Widget] = [self.back_button, self.step_button, self.play, self.reset_button,
                                         self.step_label]
        self.extra: list[W.Widget] = []
        self._box: W.Widget | None = None
        self._dynamic: list = []
        self._background = None
        self._background_size = None
        self.fig.canvas.mpl_connect("draw_event", self._on_draw)
        if trace:
            self.set_trace(trace)

    # ---- the trace and the index -------------------------------------------------
    @property
    def index(self) -> int:
        return int(self.play.value)

    @property
    def state(self):
        return self.trace[self.index] if self.trace else None

    @property
    def last_index(self) -> int:
        return max(len(self.trace) - 1, 0)

    def set_trace(self, trace: Sequence[Any], index: int = 0) -> None:
        """Show a new trace (new data or new parameters), starting at ``index``."""
        self.trace = list(trace)
        if not self.trace:
            raise ValueError("a widget needs a trace with at least one state")
        self.play.playing = False
        index = min(max(index, 0), self.last_index)
        with self.play.hold_trait_notifications():
            self.play.max = self.last_index
            self.play.value = index
        self.show(index)

    def step(self) -> None:
        if self.index < self.last_index:
            self.play.value = self.index + 1

    def back(self) -> None:
        if self.index > 0:
            self.play.value = self.index - 1

    def reset(self) -> None:
        self.play.playing = False
        if self.index != 0:
            self.play.value = 0
        else:
            self.show(0)

    def _on_index(self, change) -> None:
        self.show(int(change["new"]))

    def show(self, index: int) -> None:
        """Draw ``trace[index]``: the one place where a widget redraws."""
        if not self.trace:
            return
        state = self.trace[index]
        self.render(state)
        self.step_label.value = self.describe_step(index)
        self.back_button.disabled = index == 0
        self.step_button.disabled = index >= self.last_index
        self.redraw()

    # ---- drawing: full draws and blitted steps ------------------------------------
    def set_dynamic(self, artists) -> None:
        """Declare the artists that change from step to step (they are drawn by
        blitting over a saved background) and forget the old background."""
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
            if artist.get_visible():
                self.fig.draw_artist(artist)

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

    def describe_step(self, index: int) -> str:
        return f"<b>step {index} / {self.last_index}</b>"

    def render(self, state) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    # ---- display -----------------------------------------------------------------
    def layout(self) -> W.Widget:
        """The whole widget: controls, any extra rows, the message line and the figure."""
        rows = [W.HBox(self.controls), *self.extra, self.message, self.fig.canvas]
        return W.VBox(rows)

    @property
    def box(self) -> W.Widget:
        if self._box is None:
            self._box = self.layout()
        return self._box

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)
