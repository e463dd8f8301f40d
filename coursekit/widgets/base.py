"""The step-through pattern every widget of the workbook follows.

A widget is built from a *trace*: the list of plain state records that the
reference algorithm produced (``coursekit.perceptron.pla_trace`` and friends).
The widget holds no algorithm of its own; it shows ``trace[index]``.

* ``Back`` / ``Step`` / ``Play`` / ``Reset`` move ``index``. ``Play`` is an
  ``ipywidgets.Play``: the browser ticks, the kernel draws one step per tick,
  so playing never blocks the kernel.
* Figures are ipympl canvases updated in place (artists get new data, then
  ``draw_idle``), so they stay interactive: clicks reach ``on_click``.
* Everything shown is readable from Python (``index``, ``state``, the
  artists), which is how the tests drive a widget without a browser.
"""
from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as W
from matplotlib.figure import Figure


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
        self.fig.canvas.draw_idle()

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
