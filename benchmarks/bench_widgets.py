"""Step latency of each step-through widget (state update + redraw)."""
from __future__ import annotations

import importlib

from . import Row, widget_step_rows

# (group, module, class, constructor arguments)
WIDGETS = [
    ("PLA stepper", "coursekit.widgets.pla", "PLAStepper", {"dataset": "noisy", "algorithm": "pocket"}),
    ("GD explorer", "coursekit.widgets.gd", "GDExplorer", {}),
]


def run() -> list[Row]:
    rows = []
    for group, module, cls, kwargs in WIDGETS:
        widget = getattr(importlib.import_module(module), cls)(**kwargs)
        rows += widget_step_rows(group, widget, n=60)
    return rows
