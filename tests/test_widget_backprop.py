"""The backprop graph stepper, driven by its controls; what it shows checked against the graph and torch."""
from __future__ import annotations

import math

import numpy as np
import pytest

from coursekit import autograd
from coursekit.widgets.backprop import BackpropStepper, graph_layout

NEURON = "neuron σ(x₁w₁ + x₂w₂ + w₀)"


@pytest.fixture
def widget():
    return BackpropStepper(NEURON)


def shown_values(w):
    return [t.get_text() for t in w.value_texts]


def shown_grads(w):
    return [t.get_text() for t in w.grad_texts]


def test_starts_empty_at_step_0(widget):
    n = len(widget.nodes)
    assert widget.index == 0 and widget.state.phase == "start"
    assert shown_values(widget) == [""] * n and shown_grads(widget) == [""] * n
    assert widget.counter.value == f"<b>step 0 / {widget.last_index}</b>"
    assert widget.last_index == 1 + n + (1 + sum(not node.is_leaf for node in widget.nodes))


def test_forward_steps_show_values_node_by_node(widget):
    for k, node in enumerate(widget.nodes, start=1):
        widget.step_button.click()
        assert widget.state.phase == "forward" and widget.state.node == node.index
        values = shown_values(widget)
        assert float(values[node.index]) == pytest.approx(node.value, rel=2e-3)
        assert all(v == "" for v in values[k:])                          # later nodes not yet computed
        assert widget.current_box.get_visible() and widget.current_box.get_position() == tuple(widget.positions[node.index])
        assert widget.current_box.get_text() == widget.node_boxes[node.index].get_text()
        assert [t.get_visible() for t in widget.value_texts] == [i < k for i in range(len(widget.nodes))]
        if node.parents:                                                 # the edges it read from light up
            assert len(widget.active_edges.get_segments()) == len(node.parents)
    assert float(shown_values(widget)[-1]) == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-3)
    assert "forward" in widget.status.text


def test_backward_steps_carry_local_times_gradient(widget):
    n = len(widget.nodes)
    widget.scrubber.value = n + 1                                        # the output gets gradient 1
    assert shown_grads(widget)[-1] == "∂ 1" and widget.state.phase == "backward"
    while widget.index < widget.last_index - 1:
        widget.step_button.click()
        state = widget.state
        assert len(widget.active_edges.get_segments()) == len(state.edges)
        for label, (parent, child, local, contribution) in zip(widget.edge_labels, state.edges):
            assert label.get_visible() and label.get_text() == f"×{local:.3g} = {contribution:.3g}"
            assert contribution == pytest.approx(local * state.grads[child])
    widget.step_button.click()
    assert widget.state.phase == "done" and widget.step_button.disabled
    for node, text in zip(widget.nodes, shown_grads(widget)):
        assert float(text.split()[-1]) == pytest.approx(node.grad, rel=2e-3, abs=1e-12)


def test_done_compares_with_torch_on_screen(widget):
    widget.end_button.click()
    torch_grads = autograd.torch_gradients(widget.root)
    assert widget.torch_difference() < 1e-12
    assert "done" in widget.status.text and "torch.autograd agrees" in widget.status.text
    assert "torch.autograd" in widget.message.value
    for i, g in torch_grads.items():
        assert f"{g:.4g}" in widget.message.value and widget.nodes[i].label in widget.message.value


def test_choosing_another_graph_restarts_at_step_0(widget):
    widget.step_button.click()
    widget.step_button.click()
    widget.graph_dropdown.value = "2-2-1 network, squared error"
    assert widget.index == 0 and len(widget.nodes) == len(autograd.graph_of(autograd.network_preset()))
    assert widget.root.data == pytest.approx(autograd.network_preset().data)
    widget.end_button.click()
    assert widget.torch_difference() < 1e-12


def test_new_inputs_recompute_the_graph(widget):
    before = [n.value for n in widget.nodes if n.is_leaf]
    widget.end_button.click()
    widget.inputs_button.click()
    after_nodes = widget.nodes
    after = [n.value for n in after_nodes if n.is_leaf]
    assert widget.index == 0 and after != before
    expected = autograd.rebuild(autograd.neuron_preset(), {n.label: n.value for n in after_nodes if n.is_leaf})
    assert widget.root.data == pytest.approx(expected.data, rel=1e-12)
    widget.end_button.click()
    assert widget.torch_difference() < 1e-12


def test_play_ticks_and_back_and_reset(widget):
    widget.play.value = 3                          # what a tick of Play does
    assert widget.index == 3 and widget.state.node == 2
    widget.back_button.click()
    assert widget.index == 2
    widget.reset_button.click()
    assert widget.index == 0 and shown_values(widget) == [""] * len(widget.nodes)


def test_a_graph_of_your_own():
    a, b = autograd.Value(1.5, "a"), autograd.Value(-0.5, "b")
    out = (a * b + a).tanh()
    w = BackpropStepper(out)
    assert w.graph_dropdown.value == "your graph"
    w.end_button.click()
    assert w.torch_difference() < 1e-12
    w.graph_dropdown.value = "expression (x + y)·z"
    w.graph_dropdown.value = "your graph"
    assert [n.label for n in w.nodes if n.is_leaf] == ["a", "b"]
    with pytest.raises(ValueError, match="graph must be"):
        BackpropStepper("a transformer")


@pytest.mark.parametrize("name", list(autograd.PRESETS))
def test_layout_places_inputs_left_of_their_uses_and_nodes_apart(name):
    nodes = autograd.graph_of(autograd.preset(name))
    xy = graph_layout(nodes)
    for node in nodes:
        for p in node.parents:
            assert xy[p, 0] < xy[node.index, 0]
    assert xy[-1, 0] == xy[:, 0].max()
    for i in range(len(nodes)):
        for j in range(i):
            if xy[i, 0] == xy[j, 0]:
                assert abs(xy[i, 1] - xy[j, 1]) >= 0.9 - 1e-9


def test_widget_displays_itself(widget):
    bundle = widget._repr_mimebundle_()
    assert "image/png" in bundle and "backprop graph stepper" in bundle["text/plain"]
    assert widget.fig.get_size_inches()[0] <= 8.4
    assert widget.compare_toggle.layout.display == "none"
