"""The backprop graph stepper: a computational graph, forward then backward, one node at a time (unit 05).

The graph of a :class:`coursekit.autograd.Value` is drawn left to right: inputs
(leaves) on the left, each operation in the column of its depth, the output on
the right. Step walks :func:`coursekit.autograd.backprop_trace`:

* forward: the node's value appears above it (blue), and the edges it read from
  light up;
* backward: the output starts with gradient 1; then each node sends its gradient
  to its inputs, and every active edge shows the local derivative and what it
  carries, "×local = contribution" (red); a node's gradient (below it) is the sum
  of what its outgoing edges brought back;
* done: every leaf's gradient, next to the one ``torch.autograd`` computes for the
  same graph (:func:`coursekit.autograd.torch_gradients`), in a table under the plot.

Controls: the graph (a preset: the expression (x + y)·z, the deck's two-input
neuron, or a 2-2-1 network with a squared error), "new inputs" (random values for
the inputs and weights, a new run from step 0), and the transport controls of
every step-through widget. The widget holds no algorithm: the values, local
derivatives and gradients all come from the trace.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.collections import LineCollection

from .. import autograd
from .base import STATUS_COLORS, OnPlotStatus, StepWidget, button, control_row

FORWARD, BACKWARD = "#1f4e9c", "#c62828"
LEAF_FACE, OP_FACE, ACTIVE_FACE, ACTIVE_EDGE = "#e8eef7", "#f6f6f6", "#ffe9a8", "#f0a000"
MAX_INPUTS = 2  # the engine's operations have at most two operands


def graph_layout(nodes: list[autograd.GraphNode]) -> np.ndarray:
    """(x, y) for each node: x the column (an operation at its depth, a leaf one column left of
    its first use), y from a depth-first walk from the output (leaves in the order it meets
    them, an operation at the mean height of its inputs). Columns without nodes are removed."""
    n = len(nodes)
    children: list[list[int]] = [[] for _ in range(n)]
    for node in nodes:
        for p in node.parents:
            children[p].append(node.index)
    column = np.array([node.depth for node in nodes], dtype=float)
    for node in nodes:
        if node.is_leaf and children[node.index]:
            column[node.index] = min(nodes[c].depth for c in children[node.index]) - 1
    used = sorted(set(column))
    column = np.array([used.index(c) for c in column], dtype=float)

    y = np.full(n, np.nan)
    slot = 0
    stack: list[tuple[int, int | None]] = [(n - 1, None)]
    seen: set[int] = set()
    first_via: list[list[int]] = [[] for _ in range(n)]   # the inputs first reached through each node
    while stack:                                  # depth-first from the output, inputs in order
        i, via = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        if via is not None:
            first_via[via].append(i)
        if nodes[i].is_leaf:
            y[i] = slot
            slot += 1
        stack.extend((p, i) for p in reversed(nodes[i].parents))
    for node in nodes:                            # topological order: inputs are placed first
        if not node.is_leaf:                      # beside the inputs it brought in (a shared input pulls less)
            own = first_via[node.index] or list(node.parents)
            y[node.index] = float(np.mean([y[p] for p in own]))
    # nodes that share a column and a height: spread them apart
    for c in set(column):
        members = sorted((y[i], i) for i in range(n) if column[i] == c)
        for k in range(1, len(members)):          # push each node below the one above it if too close
            (y0, _), (y1, i1) = members[k - 1], members[k]
            if y1 - y0 < 0.9:
                y[i1] = y0 + 0.9
                members[k] = (y[i1], i1)
    return np.column_stack([column, y])


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.3g}"


class BackpropStepper(StepWidget):
    """Forward and backward passes over a computational graph, node by node.

    Readable from Python: ``graph_dropdown``, ``inputs_button``, ``root`` (the output
    Value), ``nodes`` (:class:`coursekit.autograd.GraphNode` list), ``positions``,
    ``trace`` (:class:`coursekit.autograd.BackpropStep` list), ``torch_grads``; the
    artists ``node_boxes`` (each node's label in a box), ``current_box`` (the node of the step, highlighted),
    ``value_texts``, ``grad_texts``,
    ``active_edges`` (a LineCollection), ``edge_labels``; ``status``, ``counter``, ``message``.
    """

    name = "backprop graph stepper"
    play_interval_ms = 400

    def __init__(self, graph="neuron σ(x₁w₁ + x₂w₂ + w₀)", seed: int = 0):
        if isinstance(graph, autograd.Value):
            root, choice = graph, None
        elif graph in autograd.PRESETS:
            root, choice = autograd.preset(graph), graph
        else:
            raise ValueError(f"graph must be a coursekit.autograd.Value or one of "
                             f"{', '.join(map(repr, autograd.PRESETS))}; got {graph!r}")
        super().__init__(figsize=(8.2, 4.8))
        self.rng = np.random.default_rng(seed)
        options = list(autograd.PRESETS) + ([] if choice else ["your graph"])
        self._custom = None if choice else root
        self.graph_dropdown = W.Dropdown(options=options, value=choice or "your graph",
                                         layout=W.Layout(width="280px"))
        self.inputs_button = button("new inputs", "random", width=110,
                                    tooltip="random values for the inputs and weights")
        self.rows = [control_row("graph", self.graph_dropdown, self.inputs_button)]
        for control in (self.compare_toggle, self.clear_button):
            control.layout.display = "none"       # one graph at a time: nothing to compare
        self.ax = self.fig.subplots()
        self.graph_dropdown.observe(lambda _: self.load(self._chosen_root()), names="value")
        self.inputs_button.on_click(lambda _: self.new_inputs())
        self.load(root)

    # ---- the graph ----------------------------------------------------------------------
    def _chosen_root(self) -> autograd.Value:
        name = self.graph_dropdown.value
        return self._custom if name == "your graph" else autograd.preset(name)

    def new_inputs(self) -> None:
        """Random values in [-2, 2] for every named leaf, then the run again from step 0."""
        leaves = [n.label for n in self.nodes if n.is_leaf and not _is_number(n.label)]
        values = {label: float(np.round(self.rng.uniform(-2, 2), 2)) for label in leaves}
        self.load(autograd.rebuild(self.root, values))

    def load(self, root: autograd.Value) -> None:
        """Show the graph of ``root`` from step 0."""
        self.root = root
        self.nodes = autograd.graph_of(root)
        self.positions = graph_layout(self.nodes)
        self.torch_grads = autograd.torch_gradients(root)
        self._build_view()
        self.set_trace(autograd.backprop_trace(root), compare=False)
        self.freeze_layout()
        self.redraw()

    def _build_view(self) -> None:
        ax, xy = self.ax, self.positions
        ax.clear()
        ax.set_axis_off()
        n_cols, n_rows = xy[:, 0].max() + 1, xy[:, 1].max() + 1
        ax.set_xlim(-0.6, n_cols + 0.9)           # room on the right for the status
        ax.set_ylim(n_rows - 0.35, -0.75)         # top to bottom
        # font size from the space per row and per column, in points
        width_in, height_in = self.fig.get_size_inches()
        row_pt = 72 * 0.9 * height_in / (n_rows + 0.4)
        col_pt = 72 * 0.95 * width_in / (n_cols + 1.5)
        size = float(np.clip(min(row_pt / 3.3, col_pt / 6.0), 6.5, 11.0))
        radius = 0.62 * size / row_pt + 0.03      # half a node's height, in rows (data units of y)
        for node in self.nodes:                   # the edges, static and faint
            for p in node.parents:
                ax.annotate("", xy=xy[node.index], xytext=xy[p],
                            arrowprops=dict(arrowstyle="-|>", color="0.72", lw=1.0, shrinkA=size + 2,
                                            shrinkB=size + 2))
        # a node is its label in a rounded box (static: drawn once); the node of the step gets a ring
        self.node_boxes = [ax.text(*xy[node.index], node.label if len(node.label) <= 7 else node.op, ha="center",
                                   va="center", fontsize=size, zorder=4,
                                   bbox=dict(boxstyle="round,pad=0.3", fc=LEAF_FACE if node.is_leaf else OP_FACE,
                                             ec="0.3" if node.is_leaf else "0.55", lw=1.1))
                           for node in self.nodes]
        self.current_box = ax.text(0, 0, "", ha="center", va="center", fontsize=size, zorder=6, visible=False,
                                   bbox=dict(boxstyle="round,pad=0.3", fc=ACTIVE_FACE, ec=ACTIVE_EDGE, lw=2.0))
        self._edge_gap_px = (size + 3) * self.fig.dpi / 72   # active edges stop short of the boxes
        self.value_texts = [ax.text(x, y - radius, "", ha="center", va="bottom", fontsize=size, color=FORWARD,
                                    zorder=5) for x, y in xy]
        self.grad_texts = [ax.text(x, y + radius, "", ha="center", va="top", fontsize=size, color=BACKWARD,
                                   zorder=5) for x, y in xy]
        self.active_edges = LineCollection([], linewidths=2.6, zorder=2)
        ax.add_collection(self.active_edges)
        self.edge_labels = [ax.text(0, 0, "", ha="center", va="center", fontsize=size, zorder=6,
                                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
                            for _ in range(MAX_INPUTS)]
        ax.text(0.0, 1.0, f"above each node its value (blue), below it the gradient ∂{self.nodes[-1].label}/∂node "
                "(red)", transform=ax.transAxes, color="0.25", fontsize=8, va="bottom")
        self.status = OnPlotStatus(ax, loc="upper right", fontsize=12)
        # drawn in this order over the static edges: edges in use, nodes, their labels and numbers, the status
        self.set_dynamic([self.active_edges, self.current_box, *self.value_texts,
                          *self.grad_texts, *self.edge_labels, *self.status.artists])

    # ---- one state ------------------------------------------------------------------------
    def updates(self, index: int) -> int:
        return index

    def render(self, state: autograd.BackpropStep) -> None:
        xy = self.positions
        self.current_box.set_visible(state.node is not None)
        if state.node is not None:
            self.current_box.set_position(xy[state.node])
            self.current_box.set_text(self.node_boxes[state.node].get_text())
        for i, text in enumerate(self.value_texts):      # an empty text is hidden: not drawn at all
            text.set_text(_fmt(state.values[i]))
            text.set_visible(state.values[i] is not None)
        for i, text in enumerate(self.grad_texts):
            text.set_text("" if state.grads[i] is None else f"∂ {_fmt(state.grads[i])}")
            text.set_visible(state.grads[i] is not None)
        color = FORWARD if state.phase == "forward" else BACKWARD
        self.active_edges.set_segments([self._shortened(xy[parent], xy[child]) for parent, child, _, _ in state.edges])
        self.active_edges.set_color(color)
        for k, label in enumerate(self.edge_labels):
            if state.phase == "backward" and k < len(state.edges):
                parent, child, local, contribution = state.edges[k]
                label.set_position((xy[parent] + xy[child]) / 2)
                label.set_text(f"×{local:.3g} = {contribution:.3g}")
                label.set_color(BACKWARD)
                label.set_visible(True)
            else:
                label.set_visible(False)
        last = len(self.trace) - 1
        n_nodes = len(self.nodes)
        if state.phase == "start":
            self.status.set("ready", f"{n_nodes} nodes", "info")
        elif state.phase == "forward":
            self.status.set(f"forward {self.index} / {n_nodes}", f"{self.nodes[state.node].label} = "
                            f"{_fmt(state.values[state.node])}", "running")
        elif state.phase == "backward":
            self.status.set(f"backward {self.index - n_nodes} / {last - n_nodes - 1}",
                            f"∂ at {self.nodes[state.node].label} = {_fmt(state.grads[state.node])}", "warn")
        else:
            worst = self.torch_difference()
            self.status.set("done", f"torch.autograd agrees (max diff {worst:.1e})" if worst < 1e-9
                            else f"differs from torch.autograd by {worst:.1e}", "ok" if worst < 1e-9 else "bad")
        self.message.value = self._sentence(state)

    def _shortened(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The segment from ``start`` to ``end`` without its last few points at both ends (in display
        space), so that a highlighted edge does not cross the labels of the nodes it joins."""
        to_display = self.ax.transData
        a, b = to_display.transform(start), to_display.transform(end)
        length = float(np.hypot(*(b - a)))
        if length <= 2 * self._edge_gap_px:
            return np.array([start, end])
        unit = (b - a) / length
        return to_display.inverted().transform(np.array([a + unit * self._edge_gap_px, b - unit * self._edge_gap_px]))

    def torch_difference(self) -> float:
        """The largest |ours - torch.autograd| over the leaves' gradients."""
        return max((abs(self.nodes[i].grad - g) for i, g in self.torch_grads.items()), default=0.0)

    def _sentence(self, state: autograd.BackpropStep) -> str:
        if state.phase != "done":
            return html.escape(state.message)
        leaves = list(self.torch_grads.items())
        cells = {"leaf": [f"<th>{html.escape(self.nodes[i].label)}</th>" for i, _ in leaves],
                 "this graph": [f"<td>{self.nodes[i].grad:.4g}</td>" for i, _ in leaves],
                 "torch.autograd": [f"<td>{g:.4g}</td>" for _, g in leaves]}
        rows = "".join(f"<tr><th style='text-align:left'>{name}</th>{''.join(row)}</tr>" for name, row in cells.items())
        color = STATUS_COLORS["ok"] if self.torch_difference() < 1e-9 else STATUS_COLORS["bad"]
        return (f"<span style='color:{color}'><b>{html.escape(state.message)}.</b> The gradients of the leaves, "
                f"from this graph and from torch.autograd:</span>"
                f"<table style='font-size:85%;border-collapse:collapse' cellpadding='3'>{rows}</table>")


def _is_number(label: str) -> bool:
    try:
        float(label)
    except ValueError:
        return False
    return True
