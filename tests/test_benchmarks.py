"""The benchmarks' widget list: every widget of the workbook is in it, and it drives them (no timings asserted)."""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil

import pytest

import coursekit.widgets
from benchmarks import bench_browser, bench_widgets, no_gpu_row
from coursekit.widgets.base import FigureWidget


def workbook_widgets() -> set[str]:
    """The concrete widget classes of coursekit.widgets (FigureWidget subclasses defined there, not in base)."""
    names = set()
    for info in pkgutil.iter_modules(coursekit.widgets.__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"coursekit.widgets.{info.name}")
        names |= {name for name, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, FigureWidget) and cls.__module__ == module.__name__}
    return names


def test_the_benchmarks_list_every_widget_of_the_workbook():
    built = {cls for cls in workbook_widgets() if any(f"{cls}(" in spec.code or f"{cls}." in spec.code
                                                      for spec in bench_widgets.WIDGETS)}
    assert workbook_widgets() >= {"GANLab", "GridworldStepper", "PLAStepper"}
    assert built == workbook_widgets()
    assert len({spec.group for spec in bench_widgets.WIDGETS}) == len(bench_widgets.WIDGETS)
    assert inspect.signature(bench_browser.run).parameters["widgets"].default is None   # run(widgets)


@pytest.mark.parametrize("group", ["PLA stepper (02)", "softmax explorer (04)"])
def test_kernel_rows_drive_a_widget_by_its_buttons(group):
    spec = next(s for s in bench_widgets.WIDGETS if s.group == group)
    widget = bench_widgets.build(spec)
    before = widget.history[-1] if hasattr(widget, "history") else getattr(widget, "index", None)
    rows = bench_widgets.kernel_rows(spec, widget, n=3)
    assert [r.group for r in rows] == [group] * 4 and all(r.value > 0 and r.unit == "ms" for r in rows)
    if spec.noun is not None:   # the steps happened: a Step widget moved (or went round to Reset), a live one trained
        after = widget.history[-1] if hasattr(widget, "history") else widget.index
        assert after is not before and after != before
    with pytest.raises(LookupError, match="no button 'Nope'"):
        bench_widgets.find_button(widget, "Nope")


def test_a_gpu_row_without_a_gpu_says_so():
    row = no_gpu_row("unit 12", "ring GAN: 8 / 8 modes on cuda")
    assert math.isnan(row.value) and row.note == "no GPU here" and row.ok is None
