"""The widget pattern of coursekit.widgets.base, on two toy widgets and on the real ones.

A toy step-through (a counter walking a list) and a toy live widget (a random
walk computed on demand) show what every widget gets from the base classes:
the transport controls, the step counter, restarts at step 0, compare mode,
Play ticks, control rows that fit 840 px, and a static snapshot for saved
notebooks.
"""
from __future__ import annotations

import base64
import html
import io
import json
import re

import ipywidgets as W
import numpy as np
import pytest
from PIL import Image

from browser_util import STEP_LABEL
from coursekit.widgets import base
from coursekit.widgets.base import (GHOST_COLOR, OUTPUT_WIDTH_PX, FigureWidget, LiveWidget, OnPlotStatus,
                                    StepWidget, control_row, make_figure, row_width_px)


class Walk(StepWidget):
    """Shows x_t of a list of numbers as a point and a curve."""

    name = "walk"

    def __init__(self, values, **kw):
        super().__init__(figsize=(6.0, 3.0))
        self.ax = self.fig.subplots()
        self.curve, = self.ax.plot([], [])
        self.status = OnPlotStatus(self.ax)
        self.set_dynamic([self.curve, *self.status.artists])
        self.parameter = W.IntSlider(value=1, min=1, max=5, layout=W.Layout(width="200px"))
        self.rows = [control_row("scale", self.parameter)]
        self.parameter.observe(lambda _: self.set_trace(np.asarray(values) * self.parameter.value), names="value")
        self.set_trace(values)

    def describe_run(self):
        return f"scale {self.parameter.value}"

    def render(self, state):
        self.curve.set_data(range(self.index + 1), self.trace[:self.index + 1])
        self.status.set(f"step {self.index}", f"x = {state}", "running")

    def draw_ghost(self, run):
        line, = self.ax.plot(range(len(run.states)), run.states, color=GHOST_COLOR, alpha=0.5,
                             label=f"previous: {run.label}")
        return [line]


class RandomWalk(LiveWidget):
    """A random walk, one step per tick, computed on demand."""

    name = "random walk"
    max_steps = 5

    def __init__(self):
        super().__init__(figsize=(6.0, 3.0))
        self.ax = self.fig.subplots()
        self.curve, = self.ax.plot([], [])
        self.set_dynamic([self.curve])
        self.rng = np.random.default_rng(0)
        self.restart()

    def initial_state(self):
        return 0.0

    def advance(self):
        return self.state + float(self.rng.normal())

    def render(self, state):
        self.curve.set_data(range(len(self.history)), self.history)


class Explorer(FigureWidget):
    """No steps: a slider sets the height of a bar."""

    name = "explorer"

    def __init__(self):
        super().__init__(figsize=(4.0, 3.0))
        self.ax = self.fig.subplots()
        self.ax.set_ylim(0, 2.2)
        self.bar = self.ax.bar([0, 1], [1, 1])
        self.slider = W.FloatSlider(value=1.0, min=0.0, max=2.0, layout=W.Layout(width="300px"))
        self.rows = [control_row("weight", self.slider)]
        self.slider.observe(self.update, names="value")
        self.set_dynamic(list(self.bar))
        self.freeze_layout()

    def update(self, change=None):
        self.bar[1].set_height(self.slider.value)
        self.redraw()


def test_step_widget_transport_counter_and_restart():
    w = Walk([3, 1, 4, 1, 5])
    assert (w.index, w.last_index, w.state) == (0, 4, 3)
    assert w.counter.value == "<b>step 0 / 4</b>" and w.back_button.disabled and not w.step_button.disabled
    w.step_button.click()
    w.step_button.click()
    assert w.index == 2 and w.scrubber.value == 2 and w.status.text == "step 2\nx = 4"
    w.back_button.click()
    assert w.index == 1
    w.scrubber.value = 4
    assert w.index == 4 and w.step_button.disabled and w.end_button.disabled
    w.reset_button.click()
    assert w.index == 0
    w.end_button.click()
    assert w.index == 4 and w.counter.value == "<b>step 4 / 4</b>"
    w.parameter.value = 2  # a change of parameters: a new run, from step 0
    assert w.index == 0 and list(w.trace) == [6, 2, 8, 2, 10] and w.scrubber.max == 4
    w.set_trace([1, 2])
    assert w.scrubber.max == w.play.max == 1 and w.counter.value == "<b>step 0 / 1</b>"
    with pytest.raises(ValueError, match="at least one state"):
        w.set_trace([])


def test_play_pauses_where_it_is_and_speed_sets_the_tick():
    w = Walk([3, 1, 4, 1, 5])
    assert w.play.layout.display == "none", "Play's own buttons (its stop rewinds) are never shown"
    link = w.player.link  # Play/Pause drives the page's Play model
    assert link.source == (w.play_button, "value") and link.target == (w.play, "playing")
    w.play_button.value = True
    assert w.player.playing and w.play_button.icon == "pause" and w.play_button.description == "Pause"
    w.play.value = 3  # ticks from the browser
    w.play_button.value = False
    assert not w.player.playing and w.index == 3 and w.play_button.description == "Play"
    for label, interval in base.SPEEDS:
        w.speed.value = interval
        assert w.play.interval == interval
    w.play_button.value = True
    w.set_trace([0, 1, 2])  # a new run pauses Play
    assert not w.player.playing


def test_compare_keeps_exactly_one_previous_run_and_clear_removes_it():
    w = Walk([3, 1, 4, 1, 5])

    def ghosts():
        return [a for a in w.ax.get_children() if a.get_gid() == "ghost"]

    w.parameter.value = 2
    assert ghosts() == [] and w.clear_button.disabled
    w.compare_toggle.value = True
    w.parameter.value = 3
    assert len(ghosts()) == 1 and ghosts()[0].get_label() == "previous: scale 2"
    np.testing.assert_array_equal(ghosts()[0].get_ydata(), [6, 2, 8, 2, 10])
    w.parameter.value = 4
    assert len(ghosts()) == 1 and ghosts()[0].get_label() == "previous: scale 3"
    w.clear_button.click()
    assert ghosts() == [] and w.clear_button.disabled
    w.parameter.value = 5
    assert len(ghosts()) == 1
    w.compare_toggle.value = False  # turning compare off removes the previous run
    assert ghosts() == []
    w.parameter.value = 1
    assert ghosts() == []


def test_live_widget_computes_one_step_per_tick():
    w = RandomWalk()
    assert w.history == [0.0] and w.counter.value == "<b>step 0 / 5</b>"
    rng = np.random.default_rng(0)
    expected = [0.0]
    for tick in (1, 2, 5):  # the browser may merge ticks while the kernel is busy: still one step each
        w.play.value = tick
        expected.append(expected[-1] + rng.normal())
    np.testing.assert_allclose(w.history, expected)
    assert w.steps_done == 3 and w.counter.value == "<b>step 3 / 5</b>"
    w.step_button.click()
    assert w.steps_done == 4
    np.testing.assert_allclose(w.curve.get_ydata(), w.history)
    w.play_button.value = True
    w.play.value = 6
    w.play.value = 7  # past max_steps: no more steps, Play pauses
    assert w.steps_done == 5 and not w.player.playing
    w.reset_button.click()
    assert w.history == [0.0] and w.play.value == 0 and w.steps_done == 0


def test_control_rows_have_fixed_widths_and_fit_840_px():
    a = W.Dropdown(options=["x"], layout=W.Layout(width="200px"))
    t = W.ToggleButtons(options=["a", "b", "c"], style={"button_width": "60px"})
    row = control_row("data", a, t)
    label = row.children[0]
    assert label.layout.width == f"{base.LABEL_WIDTH_PX}px" and "data" in label.value
    assert row.layout.flex_flow == "row nowrap"
    assert row_width_px(row) == base.LABEL_WIDTH_PX + 4 + 204 + 3 * 64 + 4
    with pytest.raises(ValueError, match="fixed width in px"):
        control_row("x", W.IntSlider())
    with pytest.raises(ValueError, match="rows must fit 840 px"):
        control_row("x", *[W.Button(layout=W.Layout(width="100px")) for _ in range(8)])


def test_figures_fit_840_px():
    assert make_figure(8.3, 3).get_size_inches()[0] * make_figure(8.3, 3).dpi == pytest.approx(OUTPUT_WIDTH_PX - 10)
    # a canvas sits inside the widget's box: 8.4 in lost its right edge at 1280×800
    with pytest.raises(ValueError, match="at most 8.3 in wide"):
        make_figure(8.4, 4.0)
    # no ipympl toolbar over the tick labels, no header line above the plot
    canvas = make_figure(6, 3).canvas
    assert not canvas.toolbar_visible and not canvas.header_visible and not canvas.footer_visible


def test_check_verdicts_read_without_an_emoji_font(capsys):
    """Where the browser has no emoji font the glyphs are empty boxes: each verdict says its word too."""
    from coursekit import checks

    cases = [checks.Case((x,)) for x in (1.0, 2.0)]

    def not_yet(x):
        raise NotImplementedError()

    for fn, words in [(lambda x: 2 * x, "\u2705 passed"), (lambda x: x, "\u274c wrong"),
                      (not_yet, "\u23f3 not attempted")]:
        checks.check_function(fn, lambda x: 2 * x, cases, name="double")
        assert capsys.readouterr().out.startswith(words)


@pytest.mark.parametrize("make", [lambda: Walk([1, 2]), RandomWalk,
                                  lambda: __import__("coursekit.widgets.pla", fromlist=["x"]).PLAStepper(),
                                  lambda: __import__("coursekit.widgets.gd", fromlist=["x"]).GDExplorer(steps=20),
                                  lambda: __import__("coursekit.widgets.lstm", fromlist=["x"]).LSTMGateStepper()])
def test_every_widget_fits_840_px_and_leaves_a_snapshot(make):
    w = make()
    # the browser tests find every widget by its counter (browser_util.STEP_LABEL), never by its sentence
    def text(value):
        return html.unescape(re.sub(r"<[^>]+>", "", value))

    shown = w.updates(w.index) if isinstance(w, StepWidget) else w.steps_done
    counter = STEP_LABEL.search(text(w.counter.value))
    assert counter and int(counter.group(1)) == shown, w.counter.value
    assert not STEP_LABEL.search(text(w.message.value)), w.message.value
    width, height = w.fig.get_size_inches() * w.fig.dpi
    assert width <= OUTPUT_WIDTH_PX
    rows = [child for child in w.box.children if "coursekit-row" in child._dom_classes]
    assert len(rows) >= 1
    for row in rows:
        assert row_width_px(row) <= OUTPUT_WIDTH_PX
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == f"{w.name}: run the cell to use this widget"
    image = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert image.size == (round(width), round(height))
    assert len(np.unique(np.asarray(image).reshape(-1, image.mode.__len__()), axis=0)) > 10, "the snapshot is the figure, not a blank"


def test_figure_widget_without_steps():
    e = Explorer()
    e.fig.canvas.draw()
    e.slider.value = 1.5
    assert e.bar[1].get_height() == 1.5
    assert e.box.children[1] is e.rows[0] and e.fig.canvas in e.box.children
    assert "run the cell to use this widget" in e.box.children[0].value  # shown only in a saved notebook


def test_on_plot_status_kinds():
    fig = make_figure(4, 3)
    status = OnPlotStatus(fig.subplots(), loc="upper left")
    status.set("converged ✓", "0 mistakes", "ok")
    assert status.text == "converged ✓\n0 mistakes" and status.headline.get_color() == base.STATUS_COLORS["ok"]
    status.set("update 3")
    assert status.text == "update 3" and not status.detail.get_visible()
    with pytest.raises(ValueError, match="kind must be one of"):
        status.set("x", kind="great")
    with pytest.raises(ValueError, match="loc must be one of"):
        OnPlotStatus(fig.axes[0], loc="middle")


# ---- what a saved notebook keeps: the last frame ------------------------------------------
class SavingPage:
    """What ipympl 0.10's page does with a canvas's messages, as far as saving goes.

    It keeps ``_data_url`` in its model of the canvas, and JupyterLab writes that
    into a saved notebook ("save widget state"). A frame (a binary message) sets it
    from the page's offscreen canvas *before* the frame itself has been drawn there
    (the <img> loads asynchronously): to the picture shown until then. A state
    update that carries ``_data_url`` sets it to the update's value. The page
    handles a canvas's messages in the order the kernel sent them, and answers a
    request to draw (``draw_idle``) once the kernel is idle: :meth:`idle`."""

    def __init__(self, canvas, monkeypatch):
        self.canvas = canvas
        self.saved = canvas.get_state()["_data_url"]  # the state the model was opened with
        self.shown = None                            # the last frame drawn in the page
        self.frames: list[bytes] = []
        self.draw_requested = False
        monkeypatch.setattr(canvas.comm, "send", self.receive)
        canvas._handle_message(canvas, {"type": "initialized"}, [])  # the page is there
        self.idle()

    def receive(self, data=None, metadata=None, buffers=None):
        if data["method"] == "custom":
            kind = json.loads(data["content"]["data"])["type"]
            if kind == "binary":
                self.saved = self.shown    # handle_binary: offscreen_canvas.toDataURL(), still the old picture
                self.shown = bytes(buffers[0])
                self.frames.append(self.shown)
            elif kind == "draw":
                self.draw_requested = True
        elif data["method"] == "update" and "_data_url" in data["state"]:
            self.saved = data["state"]["_data_url"]

    def idle(self):
        """The kernel has handled a message: the page asks for the draw it was told of."""
        if self.draw_requested:
            self.draw_requested = False
            self.canvas._handle_message(self.canvas, {"type": "draw"}, [])


def pixels(png: bytes | str) -> np.ndarray:
    """RGBA pixels of PNG bytes or a ``data:image/png;base64,...`` URL."""
    if isinstance(png, str):
        prefix = "data:image/png;base64,"
        assert png.startswith(prefix), f"not a PNG data URL the page can load: {png[:40]!r}"
        png = base64.b64decode(png[len(prefix):])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def fresh_render(fig) -> np.ndarray:
    """The figure drawn from scratch by Agg (savefig draws the moving artists too)."""
    with io.BytesIO() as png:
        fig.savefig(png, format="png", dpi=fig.dpi)
        return pixels(png.getvalue())


def differing(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of pixels where two pictures of the same size differ."""
    assert a.shape == b.shape
    return float((a != b).any(axis=-1).mean())


def use_step_widget(w, page):
    w.parameter.value = 2      # a control: a new run from step 0
    page.idle()
    w.step_button.click()
    page.idle()
    w.step_button.click()      # quick clicks: the page may not have drawn the first yet
    w.step_button.click()


def live_widget():
    w = RandomWalk()
    w.ax.set(xlim=(0, 5), ylim=(-4, 4))  # the walk's first steps stay in view
    return w


def use_live_widget(w, page):
    for _ in range(3):
        w.step_button.click()
        page.idle()


def use_explorer(w, page):
    for value in (1.4, 1.9, 0.3):
        w.slider.value = value
        page.idle()


def use_lstm(w, page):
    """The case seen in unit 09: another task, a typed sequence, to its end."""
    w.preset_dropdown.value = "reset"
    page.idle()
    w.sequence_text.value = "a a b | a"
    page.idle()
    w.end_button.click()


@pytest.mark.parametrize("make, use", [
    (lambda: Walk([3, 1, 4, 1, 5]), use_step_widget),
    (live_widget, use_live_widget),
    (Explorer, use_explorer),
    (lambda: __import__("coursekit.widgets.lstm", fromlist=["x"]).LSTMGateStepper("first"), use_lstm),
], ids=["step widget", "live widget", "figure widget", "LSTM gate stepper"])
def test_a_saved_notebook_keeps_the_last_frame(make, use, monkeypatch):
    w = make()
    canvas = w.fig.canvas
    bundle = w._repr_mimebundle_()   # shown in a notebook: saved before any frame, it keeps the snapshot
    assert np.array_equal(pixels(canvas.get_state()["_data_url"]), pixels(base64.b64decode(bundle["image/png"])))
    page = SavingPage(canvas, monkeypatch)
    canvas.draw()                    # the page's first request: a full draw
    use(w, page)
    assert len(page.frames) >= 3, "every change should send a frame"
    last, before = pixels(page.frames[-1]), pixels(page.frames[-2])
    assert differing(last, before) > 1e-3, "the last change should change the picture"
    np.testing.assert_array_equal(pixels(page.saved), last,
                                  err_msg="the saved notebook would keep an earlier picture than the last one")
    assert canvas.get_state()["_data_url"] == page.saved  # the kernel's copy (embedding, nbclient) too
    # and that last frame is the widget's current state, as a fresh draw shows it (blitting puts
    # the moving artists over the axes' spines, so a few pixels may differ), unlike the one before
    fresh = fresh_render(w.fig)
    assert differing(last, fresh) < 0.005 and differing(before, fresh) > 3 * differing(last, fresh)
