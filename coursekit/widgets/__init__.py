"""Interactive widgets, one module per widget, all built on :mod:`coursekit.widgets.base`."""
