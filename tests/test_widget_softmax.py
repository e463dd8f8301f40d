"""The softmax explorer, driven by its controls; what it shows checked against torch."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from coursekit.widgets.base import OUTPUT_WIDTH_PX, row_width_px
from coursekit.widgets.softmax import MAX_CLASSES, SoftmaxExplorer, parse_logits


@pytest.fixture
def widget():
    return SoftmaxExplorer()


def heights(bars, n):
    return np.array([bar.get_height() for bar in bars[:n]])


def torch_view(z, T, r):
    """softmax(z/T), -ln p_r and ∂CE/∂(z/T) from torch.autograd."""
    s = torch.tensor(np.asarray(z, float) / T, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(s[None], torch.tensor([r]))
    loss.backward()
    return torch.softmax(s.detach(), 0).numpy(), loss.item(), s.grad.numpy()


def assert_shows(w, z, T, r):
    p, loss, grad = torch_view(z, T, r)
    C = len(z)
    assert np.allclose(heights(w.softmax_bars, C), p, atol=1e-12)
    assert np.allclose(heights(w.gradient_bars, C), grad, atol=1e-12)
    assert np.allclose(heights(w.argmax_bars, C), np.eye(C)[int(np.argmax(z))])
    assert w.loss == pytest.approx(loss, rel=1e-12, abs=1e-12)
    assert f"CE = {loss:.4g}" in w.status.text
    assert all(not bar.get_visible() for bar in w.softmax_bars[C:])


def test_opens_on_deck_000s_example(widget):
    assert [n.layout.visibility for n in widget.slider_names] == [None] * 4 + ["hidden"] * 2
    z = [2.0, 4.0, 2.0, 1.0]
    assert widget.logits.tolist() == z and widget.target == 0 and widget.temperature == 1.0
    assert_shows(widget, z, 1.0, 0)
    assert np.allclose(heights(widget.softmax_bars, 4), [0.1025, 0.7573, 0.1025, 0.0377], atol=5e-5)
    assert np.allclose(heights(widget.normalization_bars, 4), [0.2222, 0.4444, 0.2222, 0.1111], atol=5e-5)
    assert [label.get_text() for label in widget.value_labels[:4]] == ["0.102", "0.757", "0.102", "0.038"]
    assert widget.gradient_bars[0].get_height() < 0 and widget.gradient_bars[0].get_facecolor() != \
        widget.gradient_bars[1].get_facecolor()                       # the target's bar stands out


def test_a_slider_moves_one_logit(widget):
    widget.sliders[3].value = 5.0
    assert widget.logits.tolist() == [2.0, 4.0, 2.0, 5.0]
    assert widget.vector_text.value == "2, 4, 2, 5"
    assert_shows(widget, [2.0, 4.0, 2.0, 5.0], 1.0, 0)
    assert "most likely class is 3" in widget.message.value


def test_temperature_sharpens_and_flattens(widget):
    widget.temperature_slider.value = 0.1
    assert_shows(widget, [2, 4, 2, 1], widget.temperature, 0)
    assert widget.probabilities.max() > 0.999
    widget.temperature_slider.value = 10 ** 1.5
    assert_shows(widget, [2, 4, 2, 1], widget.temperature, 0)
    assert np.ptp(widget.probabilities) < 0.05


def test_target_class_changes_loss_and_gradient(widget):
    widget.target_buttons.value = 1
    assert_shows(widget, [2, 4, 2, 1], 1.0, 1)
    assert widget.loss == pytest.approx(-math.log(0.7573132), rel=1e-6)
    assert widget.status.kind == "ok"                 # better than equal logits (ln 4)
    widget.target_buttons.value = 3
    assert widget.status.kind == "warn"


def test_typed_vector_sets_the_number_of_classes(widget):
    widget.vector_text.value = "0.5, -1, 3"
    assert widget.classes == 3 and widget.target_buttons.options == (0, 1, 2)
    assert [s.layout.visibility for s in widget.sliders] == [None] * 3 + ["hidden"] * (MAX_CLASSES - 3)
    assert widget.slider_rows[1].layout.display == "none" and widget.slider_names[2].layout.visibility is None
    assert_shows(widget, [0.5, -1.0, 3.0], 1.0, 0)
    assert widget.normalized is None and "undefined" in widget.normalization_note.get_text()
    assert all(not bar.get_visible() for bar in widget.normalization_bars)
    widget.vector_text.value = "1 2 3 4 5 6"
    assert widget.classes == 6 and all(bar.get_visible() for bar in widget.softmax_bars)
    assert widget.slider_rows[1].layout.display is None and widget.sliders[5].value == 6.0
    assert_shows(widget, [1, 2, 3, 4, 5, 6], 1.0, 0)


def test_logits_of_1000_are_exact_and_the_naive_formula_is_shown_failing(widget):
    widget.preset_buttons["±1000"].click()
    widget.target_buttons.value = 1
    assert widget.logits.tolist() == [1000.0, -1000.0, 0.0]
    assert widget.probabilities.tolist() == [1.0, 0.0, 0.0]
    assert widget.loss == 2000.0                       # -ln p_1 = 1000 - (-1000), exactly
    assert widget.gradient.tolist() == [1.0, -1.0, 0.0]
    assert "overflows" in widget.message.value and "nan" in widget.message.value
    assert all(s.disabled for s in widget.sliders)     # the sliders cannot show ±1000
    widget.preset_buttons["deck 000"].click()
    assert not any(s.disabled for s in widget.sliders[:4]) and "overflows" not in widget.message.value


def test_equal_logits_give_ln_c_marked_on_the_loss_meter(widget):
    widget.preset_buttons["equal"].click()
    assert widget.loss == pytest.approx(math.log(4))
    assert widget.equal_line.get_xdata()[0] == pytest.approx(math.log(4))
    assert widget.loss_bar.get_width() == pytest.approx(math.log(4))
    assert "ln 4" in widget.equal_label.get_text()


def test_bad_text_is_reported_and_changes_nothing(widget):
    widget.vector_text.value = "1, two, 3"
    assert "numbers separated by commas" in widget.message.value and widget.classes == 4
    widget.vector_text.value = "1"
    assert "2 to 6 numbers" in widget.message.value and widget.classes == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no overflow warning may reach the output area
        widget.vector_text.value = "1e308, -1e308"
    assert "between -1e+06 and 1e+06" in widget.message.value and widget.classes == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"logits": [1.0]}, "2 to 6 numbers"), ({"logits": [1, 2, 3, 4, 5, 6, 7]}, "2 to 6 numbers"),
    ({"logits": [1.0, float("nan")]}, "finite"), ({"target": 4}, "target must be"),
    ({"temperature": 0.0}, "temperature must be"), ({"temperature": 100.0}, "temperature must be"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SoftmaxExplorer(**kwargs)


def test_parse_logits_accepts_brackets_and_spaces():
    assert parse_logits("[1, -2.5  3e2]").tolist() == [1.0, -2.5, 300.0]


def test_rows_fit_and_the_widget_displays_itself(widget):
    assert all(row_width_px(row) <= OUTPUT_WIDTH_PX for row in widget.rows)
    assert widget.fig.get_size_inches()[0] <= 8.4
    bundle = widget._repr_mimebundle_()
    assert "image/png" in bundle and "softmax explorer" in bundle["text/plain"]


def test_fewer_classes_keep_the_target_where_it_can(widget):
    widget.target_buttons.value = 2
    widget.vector_text.value = "1, 2, 3"
    assert widget.target == 2
    widget.vector_text.value = "1, 2"
    assert widget.target == 1 and widget.target_buttons.options == (0, 1)
    assert widget.rows[-1].children[-1] is widget.target_buttons          # the buttons shown are these
    widget.target_buttons.value = 0
    assert widget.loss == pytest.approx(torch_view([1, 2], 1.0, 0)[1])   # and they drive the loss
