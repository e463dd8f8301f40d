"""A tiny scalar autograd engine: computational graphs and backpropagation, node by node (unit 05).

Every number is a :class:`Value` that remembers how it was made: its operation,
its parents and the *local derivative* ∂(this node)/∂(each parent), computed in
the forward pass from the chain rule's simple cases (∂(a·b)/∂a = b, tanh' =
1 - tanh², ...). ``out.backward()`` then visits the graph in reverse
topological order, and each node passes to each parent

    parent.grad += (∂node/∂parent) · node.grad

which is the chain rule: case 1 (a chain) multiplies local derivatives, case 2
(a node used twice) adds the contributions of the paths (deck 003).

:func:`graph_of` lists the nodes in topological order, :func:`backprop_trace`
replays the forward and backward passes one node at a time as plain records
(the backprop graph stepper shows them), and :func:`torch_gradients` recomputes
the gradients with ``torch.autograd`` for comparison. Presets: the deck's
two-input neuron, a small expression and a 2-2-1 network with a squared error.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Value", "GraphNode", "graph_of", "BackpropStep", "backprop_trace", "torch_gradients", "rebuild",
           "PRESETS", "preset", "expression_preset", "neuron_preset", "network_preset"]


_EXP_MAX = math.log(1.7976931348623157e308)   # the largest x whose exp(x) is a finite float64


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a real number or a Value, got {type(value).__name__}: {value!r:.60}")
    return float(value)


class Value:
    """A scalar in a computational graph.

    ``data``: the number; ``grad``: ∂(output)/∂(this), filled by :meth:`backward`;
    ``parents``: the Values it was computed from; ``local``: ∂(this)/∂(each parent),
    in the same order; ``op``: the operation's symbol; ``label``: a name for drawings.
    """

    __slots__ = ("data", "grad", "parents", "local", "op", "label")

    def __init__(self, data, label: str = "", *, parents: tuple["Value", ...] = (), local: tuple[float, ...] = (),
                 op: str = ""):
        self.data = _number(data, "data")
        self.grad = 0.0
        self.parents = tuple(parents)
        self.local = tuple(float(d) for d in local)
        self.op = op
        self.label = label

    # ---------------------------------------------------------- helpers
    @staticmethod
    def _lift(other) -> "Value":
        return other if isinstance(other, Value) else Value(_number(other, "the other operand"), label=f"{other:g}")

    def _make(self, data: float, parents, local, op: str) -> "Value":
        return Value(data, parents=parents, local=local, op=op)

    # ---------------------------------------------------------- operations
    def __add__(self, other):
        other = self._lift(other)
        return self._make(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __radd__(self, other):
        return self._lift(other) + self

    def __mul__(self, other):
        other = self._lift(other)
        return self._make(self.data * other.data, (self, other), (other.data, self.data), "×")

    def __rmul__(self, other):
        return self._lift(other) * self

    def __neg__(self):
        return self._make(-self.data, (self,), (-1.0,), "−")

    def __sub__(self, other):
        other = self._lift(other)
        return self._make(self.data - other.data, (self, other), (1.0, -1.0), "−")

    def __rsub__(self, other):
        return self._lift(other) - self

    def __truediv__(self, other):
        other = self._lift(other)
        if other.data == 0:
            raise ZeroDivisionError(f"division by a Value that is 0 ({other.label or 'unnamed'})")
        return self._make(self.data / other.data, (self, other),
                          (1.0 / other.data, -self.data / other.data ** 2), "÷")

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            raise TypeError("the exponent must be a plain number (x ** 2, x ** -1), not a Value")
        k = _number(exponent, "the exponent")
        if k == 0:                                         # x⁰ = 1 for every x: a constant, derivative 0
            return self._make(1.0, (self,), (0.0,), "^0")
        if self.data == 0 and k < 1:
            raise ZeroDivisionError(f"0 ** {k:g} has no derivative")
        if self.data < 0 and not k.is_integer():
            raise ValueError(f"a negative number to a non-integer power is not a real number: "
                             f"({self.data:g}) ** {k:g}; use an integer exponent or a positive base")
        return self._make(self.data ** k, (self,), (k * self.data ** (k - 1),), f"^{k:g}")

    def exp(self):
        if self.data > _EXP_MAX:
            raise ValueError(f"exp({self.data:g}) overflows a float64 (it exceeds about 1.8e308 once the "
                             f"argument passes {_EXP_MAX:.2f})")
        e = math.exp(self.data)
        return self._make(e, (self,), (e,), "exp")             # (e^x)' = e^x

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive number, got {self.data:g}")
        return self._make(math.log(self.data), (self,), (1.0 / self.data,), "ln")

    def tanh(self):
        t = math.tanh(self.data)
        return self._make(t, (self,), (1.0 - t * t,), "tanh")  # tanh' = 1 - tanh²

    def sigmoid(self):
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return self._make(s, (self,), (s * (1.0 - s),), "σ")    # σ' = σ(1 - σ) <= 1/4

    def relu(self):
        return self._make(max(0.0, self.data), (self,), (1.0 if self.data > 0 else 0.0,), "ReLU")

    # ---------------------------------------------------------- backward
    def backward(self) -> None:
        """Fill ``grad`` of every node of this Value's graph with ∂(this)/∂(node).

        The gradients are reset first, so calling it twice gives the same result.
        """
        order = _topological(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0                                   # ∂out/∂out
        for node in reversed(order):                      # every child before its parents
            for parent, local in zip(node.parents, node.local):
                parent.grad += local * node.grad          # the chain rule, one edge at a time

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"


def _topological(out: Value) -> list[Value]:
    """Every node that ``out`` depends on, each after all of its parents (depth-first, no recursion)."""
    order, seen = [], set()
    stack: list[tuple[Value, bool]] = [(out, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in reversed(node.parents):
            if id(parent) not in seen:
                stack.append((parent, False))
    return order


# --------------------------------------------------------------- the graph ---

@dataclass(frozen=True)
class GraphNode:
    """One node of a graph, by index in topological order: its label, operation, parents
    (indices), local derivatives ∂node/∂parent, value, final gradient and depth (the
    longest path from a leaf, for drawing)."""

    index: int
    label: str
    op: str
    parents: tuple[int, ...]
    local: tuple[float, ...]
    value: float
    grad: float
    depth: int

    @property
    def is_leaf(self) -> bool:
        return not self.parents


def graph_of(out: Value) -> list[GraphNode]:
    """The graph behind ``out`` as :class:`GraphNode` records in topological order (``out`` last),
    with the gradients of ``out.backward()``. Unlabelled inner nodes get labels from their op."""
    order = _topological(out)
    out.backward()
    index = {id(node): i for i, node in enumerate(order)}
    depths: list[int] = []
    nodes = []
    for i, node in enumerate(order):
        parents = tuple(index[id(p)] for p in node.parents)
        depth = 1 + max(depths[p] for p in parents) if parents else 0
        depths.append(depth)
        label = node.label or _default_label(node, [order[p] for p in parents])
        nodes.append(GraphNode(i, label, node.op, parents, node.local, node.data, node.grad, depth))
    return nodes


def _default_label(node: Value, parents: list[Value]) -> str:
    names = [p.label for p in parents]
    if not all(names):
        return node.op
    if len(parents) == 2:
        return f"{names[0]} {node.op} {names[1]}" if len(names[0]) + len(names[1]) <= 8 else node.op
    if len(parents) == 1:
        return f"{node.op}({names[0]})" if len(names[0]) <= 4 else node.op
    return node.op


# ----------------------------------------------------------------- the trace ---

@dataclass(frozen=True)
class BackpropStep:
    """One moment of the forward-then-backward walk over a graph.

    ``phase``: "start", "forward", "backward" or "done". ``node``: the node this step is
    about (None for start and done). ``values`` / ``grads``: what is known so far per node
    (None = not yet); a gradient is partial until every child of the node has sent its
    contribution. ``edges``: the edges active in this step, as (parent, child, local
    derivative, contribution = local × child's grad). ``message``: the step in words.
    """

    step: int
    phase: str
    node: int | None
    values: tuple[float | None, ...]
    grads: tuple[float | None, ...]
    edges: tuple[tuple[int, int, float, float], ...] = ()
    message: str = ""


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def backprop_trace(out: Value) -> list[BackpropStep]:
    """The forward pass one node at a time (in topological order: leaves show their value,
    an operation computes its value from its parents), then the backward pass one node at
    a time in reverse order (the output starts with gradient 1; each node sends
    local × grad along every edge to its parents), then "done"."""
    nodes = graph_of(out)
    n = len(nodes)
    values: list[float | None] = [None] * n
    grads: list[float | None] = [None] * n
    steps = [BackpropStep(0, "start", None, tuple(values), tuple(grads),
                          message="Step to run the forward pass, one node at a time.")]

    def add(phase, node, edges=(), message=""):
        steps.append(BackpropStep(len(steps), phase, node, tuple(values), tuple(grads), tuple(edges), message))

    for node in nodes:                                              # forward
        values[node.index] = node.value
        if node.is_leaf:
            add("forward", node.index, message=f"input {node.label} = {_fmt(node.value)}")
        else:
            args = ", ".join(_fmt(nodes[p].value) for p in node.parents)
            add("forward", node.index, [(p, node.index, l, math.nan) for p, l in zip(node.parents, node.local)],
                f"{node.label} = {node.op}({args}) = {_fmt(node.value)}")
    last = nodes[-1].index
    grads[last] = 1.0
    add("backward", last, message=f"start the backward pass: ∂{nodes[last].label}/∂{nodes[last].label} = 1")
    for node in reversed(nodes):                                    # backward
        if node.is_leaf:
            continue
        edges = []
        for p, local in zip(node.parents, node.local):
            contribution = local * grads[node.index]
            grads[p] = (grads[p] or 0.0) + contribution
            edges.append((p, node.index, local, contribution))
        top = nodes[last].label
        parts = "; ".join(f"∂{top}/∂{nodes[p].label} += {_fmt(l)} × {_fmt(grads[node.index])} = {_fmt(c)}"
                          for p, _, l, c in edges)
        add("backward", node.index, edges, f"{node.label} sends its gradient to its inputs: {parts}")
    add("done", None, message="backward pass done: every node holds ∂out/∂node")
    return steps


# ---------------------------------------------------------- new input values ---

_VALUE_OPS: dict[str, Callable] = {
    "+": lambda a, b: a + b, "×": lambda a, b: a * b, "÷": lambda a, b: a / b, "exp": lambda a: a.exp(),
    "ln": lambda a: a.log(), "tanh": lambda a: a.tanh(), "σ": lambda a: a.sigmoid(), "ReLU": lambda a: a.relu(),
}


def _replay(op: str, args: list, ops: dict[str, Callable]):
    """Apply the operation named ``op`` (a node's symbol) to ``args`` with the functions of ``ops``
    (Values here, tensors for torch); "−" and powers "^k" are the same for both."""
    if op == "−":
        return -args[0] if len(args) == 1 else args[0] - args[1]
    if op.startswith("^"):
        return args[0] ** float(op[1:])
    return ops[op](*args)


def rebuild(out: Value, leaf_values: dict[str, float]) -> Value:
    """The same graph as ``out``, computed again with new values for some leaves (by label):
    every operation is replayed in topological order. Leaves not named keep their values."""
    order = _topological(out)
    labels = {node.label for node in order if not node.parents}
    unknown = sorted(set(leaf_values) - labels)
    if unknown:
        raise ValueError(f"no leaf is labelled {unknown}; the leaves are {sorted(labels)}")
    new: dict[int, Value] = {}
    for node in order:
        if not node.parents:
            made = Value(leaf_values.get(node.label, node.data), node.label)
        else:
            made = _replay(node.op, [new[id(p)] for p in node.parents], _VALUE_OPS)
            made.label = node.label
        new[id(node)] = made
    return new[id(out)]


# ------------------------------------------------------------------- torch ---

def torch_gradients(out: Value) -> dict[int, float]:
    """∂out/∂leaf for every leaf of ``out``'s graph, recomputed by ``torch.autograd`` in float64
    from the same graph (the nodes' ops rebuilt as torch operations). Keys: node indices."""
    import torch

    ops = {
        "+": lambda a, b: a + b, "×": lambda a, b: a * b, "÷": lambda a, b: a / b, "exp": torch.exp,
        "ln": torch.log, "tanh": torch.tanh, "σ": torch.sigmoid, "ReLU": torch.relu,
    }
    order = _topological(out)
    nodes = graph_of(out)
    tensors: list = []
    leaves = {}
    for node, value in zip(nodes, order):
        if node.is_leaf:
            t = torch.tensor(value.data, dtype=torch.float64, requires_grad=True)
            leaves[node.index] = t
        else:
            t = _replay(node.op, [tensors[p] for p in node.parents], ops)
        tensors.append(t)
    tensors[-1].backward()
    return {i: float(t.grad) if t.grad is not None else 0.0 for i, t in leaves.items()}


# ------------------------------------------------------------------ presets ---

def expression_preset() -> Value:
    """f(x, y, z) = (x + y) · z at x = -2, y = 5, z = -4: f = -12, ∂f/∂x = ∂f/∂y = z = -4, ∂f/∂z = x + y = 3."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def neuron_preset() -> Value:
    """The deck's neuron with two inputs (deck 003: z = w₀ + x₁w₁ + x₂w₂, y = σ(z)) at
    w₀ = -3, x₁ = -1, w₁ = 2, x₂ = -2, w₂ = -3: z = 1, y = σ(1) ≈ 0.731."""
    x1, w1 = Value(-1.0, "x₁"), Value(2.0, "w₁")
    x2, w2 = Value(-2.0, "x₂"), Value(-3.0, "w₂")
    b = Value(-3.0, "w₀")
    p1, p2 = x1 * w1, x2 * w2
    p1.label, p2.label = "x₁w₁", "x₂w₂"
    s = p1 + p2
    s.label = "Σ"
    z = s + b
    z.label = "z"
    y = z.sigmoid()
    y.label = "y"
    return y


def network_preset(x=(1.0, -1.0), target: float = 1.0) -> Value:
    """A 2-2-1 network with sigmoid hidden units, a linear output ŷ and the squared error
    C = (ŷ - t)² on one example (fixed weights, for the stepper)."""
    x1, x2 = Value(x[0], "x₁"), Value(x[1], "x₂")
    weights = {"w₁₁": 0.5, "w₁₂": -0.4, "w₂₁": 0.3, "w₂₂": 0.8, "b₁": 0.1, "b₂": -0.2,
               "v₁": 1.2, "v₂": -0.7, "c": 0.05}
    w = {name: Value(value, name) for name, value in weights.items()}
    hidden = []
    for j, (wa, wb, b) in enumerate((("w₁₁", "w₂₁", "b₁"), ("w₁₂", "w₂₂", "b₂")), start=1):
        p1, p2 = x1 * w[wa], x2 * w[wb]
        p1.label, p2.label = f"x₁{wa}", f"x₂{wb}"
        z = p1 + p2 + w[b]
        z.label = f"z{'₁₂'[j - 1]}"
        h = z.sigmoid()
        h.label = f"h{'₁₂'[j - 1]}"
        hidden.append(h)
    q1, q2 = hidden[0] * w["v₁"], hidden[1] * w["v₂"]
    q1.label, q2.label = "h₁v₁", "h₂v₂"
    y_hat = q1 + q2 + w["c"]
    y_hat.label = "ŷ"
    error = y_hat - Value(target, "t")
    error.label = "ŷ − t"
    C = error ** 2
    C.label = "C"
    return C


PRESETS: dict[str, Callable[[], Value]] = {
    "expression (x + y)·z": expression_preset,
    "neuron σ(x₁w₁ + x₂w₂ + w₀)": neuron_preset,
    "2-2-1 network, squared error": network_preset,
}


def preset(name: str) -> Value:
    """A fresh graph of one of :data:`PRESETS`."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}; got {name!r}")
    return PRESETS[name]()
