"""The scalar autograd engine against torch.autograd on random expression graphs, and its node-by-node trace."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coursekit import autograd as A
from coursekit.autograd import Value

UNARY = ["exp", "tanh", "sigmoid", "relu", "log", "neg", "pow"]
BINARY = ["+", "*", "-", "/", "rsub", "radd", "rmul", "rdiv"]


def apply(op, a, b=None, k=None):
    """One operation on (Value, tensor) pairs: the engine and torch do the same thing."""
    (va, ta), (vb, tb) = a, (b if b is not None else (None, None))
    if op == "+":
        return va + vb, ta + tb
    if op == "*":
        return va * vb, ta * tb
    if op == "-":
        return va - vb, ta - tb
    if op == "/":
        return va / vb, ta / tb
    if op == "rsub":
        return 1.5 - va, 1.5 - ta
    if op == "radd":
        return 0.5 + va, 0.5 + ta
    if op == "rmul":
        return -2.0 * va, -2.0 * ta
    if op == "rdiv":
        return 3.0 / va, 3.0 / ta
    if op == "neg":
        return -va, -ta
    if op == "pow":
        return va ** k, ta ** k
    if op == "sigmoid":
        return va.sigmoid(), torch.sigmoid(ta)
    if op == "relu":
        return va.relu(), torch.relu(ta)
    return getattr(va, op)(), getattr(torch, op)(ta)


def random_graph(seed: int, n_leaves: int = 4, n_ops: int = 12):
    """A random expression DAG: operands are drawn from every node made so far, so nodes are
    reused (the chain rule's case 2). Ops are kept where they are defined and differentiable."""
    rng = np.random.default_rng(seed)
    leaves = []
    for i in range(n_leaves):
        x = float(rng.uniform(-2, 2))
        leaves.append((Value(x, f"x{i}"), torch.tensor(x, dtype=torch.float64, requires_grad=True)))
    pool = list(leaves)
    for _ in range(n_ops):
        a = pool[rng.integers(len(pool))]
        if rng.random() < 0.5:
            op, k = UNARY[rng.integers(len(UNARY))], None
            if op == "log" and a[0].data <= 0.1:
                op = "exp"
            if op == "exp" and a[0].data > 5:
                op = "tanh"
            if op == "relu" and abs(a[0].data) < 1e-3:
                op = "tanh"
            if op == "pow":
                k = float(rng.choice([2, 3, -1, 0.5]))
                if (k < 0 and abs(a[0].data) < 0.1) or (k == 0.5 and a[0].data <= 0.1):
                    k = 2.0
            if op == "rdiv" and abs(a[0].data) < 0.1:
                op = "rmul"
            pool.append(apply(op, a, k=k))
        else:
            op, b = BINARY[rng.integers(len(BINARY))], pool[rng.integers(len(pool))]
            if op == "/" and abs(b[0].data) < 0.1:
                op = "*"
            if op == "rdiv" and abs(a[0].data) < 0.1:
                op = "rmul"
            pool.append(apply(op, a, b))
        if abs(pool[-1][0].data) > 1e6:            # keep numbers tame: squash a runaway value
            pool[-1] = apply("tanh", pool[-1])
    # the output depends on several nodes: a sum of the last few
    out = pool[-1]
    for node in pool[-4:-1]:
        out = apply("+", out, node)
    return out, leaves


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_match_torch_autograd(seed):
    (out, out_t), leaves = random_graph(seed)
    assert out.data == pytest.approx(out_t.item(), rel=1e-12, abs=1e-12)
    out.backward()
    out_t.backward()
    for value, tensor in leaves:
        expected = tensor.grad.item() if tensor.grad is not None else 0.0
        assert value.grad == pytest.approx(expected, rel=1e-10, abs=1e-12), value.label
    # and torch_gradients rebuilds the same graph in torch
    rebuilt = A.torch_gradients(out)
    nodes = A.graph_of(out)
    for i, g in rebuilt.items():
        assert g == pytest.approx(nodes[i].grad, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("op", UNARY + BINARY)
def test_each_operation_and_its_local_derivative(op):
    a = (Value(0.7, "a"), torch.tensor(0.7, dtype=torch.float64, requires_grad=True))
    b = (Value(-1.3, "b"), torch.tensor(-1.3, dtype=torch.float64, requires_grad=True))
    out, out_t = apply(op, a, b if op in BINARY else None, k=3.0)
    out.backward()
    out_t.backward()
    assert out.data == pytest.approx(out_t.item(), rel=1e-14)
    for v, t in (a, b):
        assert v.grad == pytest.approx(t.grad.item() if t.grad is not None else 0.0, rel=1e-12, abs=1e-15)


def test_backward_is_idempotent_and_a_reused_node_adds_its_paths():
    x = Value(3.0, "x")
    y = x * x + x          # x used three times: dy/dx = 2x + 1
    y.backward()
    y.backward()
    assert x.grad == 7.0
    z = Value(-1.0, "z")
    w = (z * 2.0).tanh()
    w.backward()
    assert z.grad == pytest.approx(2 * (1 - math.tanh(-2.0) ** 2))   # chain rule case 1: multiply


def test_a_long_chain_needs_no_recursion():
    x = Value(0.1, "x")
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0 and len(A.graph_of(y)) > 15000


def test_expression_preset_gradients():
    f = A.expression_preset()
    nodes = {n.label: n for n in A.graph_of(f)}
    assert f.data == -12.0
    assert (nodes["x"].grad, nodes["y"].grad, nodes["z"].grad) == (-4.0, -4.0, 3.0)


def test_neuron_preset_against_closed_form():
    y = A.neuron_preset()
    nodes = {n.label: n for n in A.graph_of(y)}
    s = 1 / (1 + math.exp(-1.0))
    assert y.data == pytest.approx(s)
    d = s * (1 - s)                                        # σ'(z) at z = 1
    assert nodes["w₁"].grad == pytest.approx(d * -1.0)     # ∂y/∂w₁ = σ'(z) x₁
    assert nodes["x₂"].grad == pytest.approx(d * -3.0)     # ∂y/∂x₂ = σ'(z) w₂
    assert nodes["w₀"].grad == pytest.approx(d)


def test_network_preset_against_torch():
    C = A.network_preset()
    nodes = {n.label: n for n in A.graph_of(C) if n.is_leaf}
    W = torch.tensor([[0.5, -0.4], [0.3, 0.8]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.1, -0.2], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([1.2, -0.7], dtype=torch.float64, requires_grad=True)
    c = torch.tensor(0.05, dtype=torch.float64, requires_grad=True)
    x = torch.tensor([1.0, -1.0], dtype=torch.float64)
    loss = (torch.sigmoid(x @ W + b) @ v + c - 1.0) ** 2
    loss.backward()
    assert C.data == pytest.approx(loss.item(), rel=1e-12)
    assert nodes["w₁₂"].grad == pytest.approx(W.grad[0, 1].item(), rel=1e-12)
    assert nodes["w₂₁"].grad == pytest.approx(W.grad[1, 0].item(), rel=1e-12)
    assert nodes["b₂"].grad == pytest.approx(b.grad[1].item(), rel=1e-12)
    assert nodes["v₁"].grad == pytest.approx(v.grad[0].item(), rel=1e-12)
    assert nodes["c"].grad == pytest.approx(c.grad.item(), rel=1e-12)


@pytest.mark.parametrize("name", list(A.PRESETS))
def test_trace_walks_forward_then_backward_node_by_node(name):
    out = A.preset(name)
    nodes = A.graph_of(out)
    steps = A.backprop_trace(out)
    phases = [s.phase for s in steps]
    n, inner = len(nodes), sum(not node.is_leaf for node in nodes)
    assert phases == ["start"] + ["forward"] * n + ["backward"] * (1 + inner) + ["done"]
    assert [s.step for s in steps] == list(range(len(steps)))
    for i, s in enumerate(steps[1:n + 1]):                # forward: values appear in topological order
        assert s.node == i and s.values[i] == nodes[i].value
        assert all(v is None for v in s.values[i + 1:])
        assert all(v is not None for v in s.values[:i + 1])
        assert all(g is None for g in s.grads)
    for s in steps[n + 2:-1]:                             # backward: each edge carries local × child's grad
        for parent, child, local, contribution in s.edges:
            assert child == s.node and nodes[child].parents.count(parent) >= 1
            assert contribution == pytest.approx(local * s.grads[child])
    final = steps[-1].grads
    assert final == pytest.approx([node.grad for node in nodes])
    torch_grads = A.torch_gradients(out)
    assert all(final[i] == pytest.approx(g, rel=1e-12, abs=1e-15) for i, g in torch_grads.items())
    assert "∂" in steps[n + 2].message


def test_graph_depths_and_parents():
    nodes = A.graph_of(A.expression_preset())
    by_label = {n.label: n for n in nodes}
    assert by_label["x"].depth == 0 and by_label["q"].depth == 1 and by_label["f"].depth == 2
    assert nodes[-1].label == "f" and nodes[-1].parents == (by_label["q"].index, by_label["z"].index)
    assert nodes[-1].local == (-4.0, 3.0)


def test_errors_are_explained():
    with pytest.raises(TypeError, match="data must be a real number"):
        Value("3")
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="log needs a positive number"):
        Value(-1.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / Value(0.0)
    with pytest.raises(TypeError, match="other operand"):
        Value(1.0) + "2"
    with pytest.raises(ValueError, match="preset must be one of"):
        A.preset("lstm")
    with pytest.raises(ValueError, match="negative number to a non-integer power"):
        Value(-8.0) ** (1 / 3)                    # Python would return a complex number here
    with pytest.raises(ValueError, match=r"exp\(1000\) overflows"):
        Value(1000.0).exp()
    assert repr(Value(2.0, "a")) == "Value(a=2, grad=0)"


@pytest.mark.parametrize("seed", range(5))
def test_rebuild_replays_the_graph_with_new_leaf_values(seed):
    (out, _), _ = random_graph(seed)
    nodes_old = A.graph_of(out)
    inputs = {n.label: n.value for n in nodes_old if n.is_leaf and n.label.startswith("x")}
    rebuilt = A.rebuild(out, {label: value * 0.9 for label, value in inputs.items()})
    nodes_new = A.graph_of(rebuilt)
    assert [n.op for n in nodes_old] == [n.op for n in nodes_new]
    assert [n.label for n in nodes_old] == [n.label for n in nodes_new]
    assert [n.value for n in nodes_new if n.label in inputs] == pytest.approx([0.9 * v for v in inputs.values()])
    torch_grads = A.torch_gradients(rebuilt)
    assert all(math.isclose(nodes_new[i].grad, g, rel_tol=1e-10, abs_tol=1e-12) for i, g in torch_grads.items())
    assert A.rebuild(out, {}).data == pytest.approx(out.data, rel=1e-15)
    with pytest.raises(ValueError, match="no leaf is labelled"):
        A.rebuild(out, {"nope": 1.0})


def test_rebuild_the_neuron_at_new_inputs():
    y = A.rebuild(A.neuron_preset(), {"x₁": 0.5, "w₀": 0.0})
    assert y.data == pytest.approx(1 / (1 + math.exp(-(0.5 * 2.0 + (-2.0) * (-3.0)))))


@pytest.mark.parametrize("x", [0.0, -2.5, 3.0])
def test_power_zero_is_a_constant_and_the_largest_exp_is_finite(x):
    v, t = Value(x, "x"), torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out, out_t = v ** 0, t ** 0
    out.backward()
    out_t.backward()
    assert out.data == out_t.item() == 1.0 and v.grad == t.grad.item() == 0.0
    assert A.rebuild(out, {"x": x + 1}).data == 1.0 and A.torch_gradients(out) == {0: 0.0}
    big = Value(709.78).exp()
    assert math.isfinite(big.data) and big.data == pytest.approx(math.exp(709.78))
