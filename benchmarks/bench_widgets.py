"""Step latency of every widget of the workbook in the kernel (state update + redraw + the PNG frame).

:data:`WIDGETS` lists them all, one :class:`WidgetSpec` each: the code that builds the widget (as a
notebook cell would), the buttons one step clicks, the budget. Two figures per widget: wall time
(what a student waits for, inflated on a busy machine) and the kernel's CPU time (what the widget
costs; the budget is judged on it where other work shares the cores). The browser's side, from the
click to the new frame on the canvas, is ``bench_browser.run(WIDGETS)`` on the same list.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from . import Row

STEPS = 60
WARMUP = 3


@dataclass(frozen=True)
class WidgetSpec:
    """One widget of the workbook, as the benchmarks build and drive it."""

    group: str              # the row group: the widget's name and unit
    code: str               # builds it: setup lines, then the widget as the last line (a notebook cell)
    noun: str | None        # the word of its step counter ("step 3 / 40"); None: it has no counter
    clicks: tuple[str, ...] = ("Step",)   # the buttons one step clicks, in turn (Reset at the end of a trace)
    median_ms: float = 50.0
    worst_ms: float = 150.0
    what: str = "step"      # what a click does, for the rows' names


PLAYGROUND_CONFIG = ("P.PlaygroundConfig(dataset='spiral', n_points=500, features=('x1', 'x2', 'sin x1', 'sin x2'), "
                     "hidden=(8, 8), activation='relu', optimizer='adam', lr=0.03, batch_size=10)")

WIDGETS = [
    WidgetSpec("PLA stepper (02)", "from coursekit.widgets.pla import PLAStepper\n"
                                   "PLAStepper(dataset='noisy', algorithm='pocket')", "update"),
    WidgetSpec("GD explorer (03)", "from coursekit.widgets.gd import GDExplorer\nGDExplorer()", "step"),
    WidgetSpec("softmax explorer (04)", "from coursekit.widgets.softmax import SoftmaxExplorer\nSoftmaxExplorer()",
               None, clicks=("equal", "deck 000"), what="preset"),
    WidgetSpec("backprop graph stepper (05)", "from coursekit.widgets.backprop import BackpropStepper\n"
                                              "BackpropStepper('2-2-1 network, squared error')", "step"),
    WidgetSpec("network playground (06)", "from coursekit import playground as P\n"
                                          "from coursekit.widgets.playground import NetworkPlayground\n"
                                          f"NetworkPlayground({PLAYGROUND_CONFIG})",
               "epoch", median_ms=100.0, worst_ms=300.0, what="epoch + redraw (500 points, 2×8 units)"),
    WidgetSpec("convolution explorer (07)", "from coursekit.widgets.conv import ConvExplorer\nConvExplorer()",
               "position"),
    WidgetSpec("LSTM gate stepper (09)", "from coursekit.widgets.lstm import LSTMGateStepper\n"
                                         "widget = LSTMGateStepper('first')\nwidget.new_sequence(40)\nwidget",
               "symbol"),
    WidgetSpec("attention explorer (11)", "import torch\nfrom coursekit import transformer as TR\n"
                                          "from coursekit.widgets.attention import AttentionExplorer\n"
                                          "torch.manual_seed(0)\n"
                                          "models = {'trained': TR.TinyTransformer(**TR.SORTER_CONFIG).eval(),\n"
                                          "          'untrained': TR.TinyTransformer(**TR.SORTER_CONFIG).eval()}\n"
                                          "AttentionExplorer.for_sorting(models)", "stage"),
    WidgetSpec("GAN lab (12)", "from coursekit.widgets.gan import GANLab\nGANLab(steps_per_frame=1)", "step",
               what="training step + redraw"),
    WidgetSpec("gridworld stepper (13)", "from coursekit import rl\nfrom coursekit.widgets.gridworld import "
                                         "GridworldStepper\n"
                                         "run = rl.reinforce(rl.GridWorld(slip=0.1, random_start=True), 600, "
                                         "eval_rollouts=3, device='cpu')\n"
                                         "GridworldStepper(rl.GridWorld(slip=0.1), run, mode='reinforce', "
                                         "snapshot=0)", "step"),
]


def build(spec: WidgetSpec):
    """The widget, built by running the spec's code: its last line is the widget."""
    *setup, last = spec.code.strip().splitlines()
    namespace: dict = {}
    exec("\n".join(setup), namespace)  # noqa: S102 - the benchmarks' own code
    return eval(last, namespace)  # noqa: S307


def find_button(widget, description: str):
    """The widget's button labelled ``description``: one of its attributes (``step_button``, a dict of
    preset buttons, ...) or in its rows of controls."""
    stack = list(vars(widget).values()) + list(widget.rows)
    if hasattr(widget, "bottom_rows"):
        stack += list(widget.bottom_rows())
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            stack[:0] = list(item.values())
        elif getattr(item, "description", None) == description and hasattr(item, "on_click"):
            return item
        elif hasattr(item, "children") and hasattr(item, "layout"):
            stack[:0] = list(item.children)
    raise LookupError(f"{type(widget).__name__} has no button {description!r}")


def step_action(spec: WidgetSpec, widget):
    """One step as a click does it: Reset at the end of a trace, then the next of the spec's buttons,
    then the PNG frame ipympl sends (unless the blit already encoded it)."""
    buttons = [find_button(widget, name) for name in spec.clicks]
    canvas = widget.fig.canvas
    clicks = [0]

    def step():
        if hasattr(widget, "last_index") and widget.index >= widget.last_index:
            widget.reset()
        buttons[clicks[0] % len(buttons)].click()
        clicks[0] += 1
        canvas.get_diff_image()

    return step


def attach(widget) -> None:
    """What a connected browser does first: ask for the full figure; from then on ipympl sends frames."""
    canvas = widget.fig.canvas
    canvas._handle_message(canvas, {"type": "initialized"}, [])
    canvas.draw()


def kernel_rows(spec: WidgetSpec, widget=None, n: int = STEPS) -> list[Row]:
    """Wall and CPU time of ``n`` steps of the widget in this process (after WARMUP steps)."""
    widget = build(spec) if widget is None else widget
    attach(widget)
    step = step_action(spec, widget)
    for _ in range(WARMUP):
        step()
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    rows = []
    for clock, samples in (("", wall), (" CPU", cpu)):
        median, worst = statistics.median(samples), max(samples)
        rows += [Row(spec.group, f"kernel {spec.what}{clock}, median", median, "ms", f"<= {spec.median_ms:g} ms",
                     median <= spec.median_ms),
                 Row(spec.group, f"kernel {spec.what}{clock}, worst", worst, "ms", f"<= {spec.worst_ms:g} ms",
                     worst <= spec.worst_ms, f"over {n} clicks")]
    return rows


def run(widgets: list[WidgetSpec] | None = None) -> list[Row]:
    rows = []
    for spec in WIDGETS if widgets is None else widgets:
        rows += kernel_rows(spec)
    return rows
