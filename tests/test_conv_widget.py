"""The convolution explorer, driven from Python by its controls: what it shows is what
coursekit.conv computes (and, for the deck's example, what the deck prints)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.backend_bases import MouseEvent

from coursekit import conv
from coursekit.widgets.conv import KERNELS, YOURS, ConvExplorer


@pytest.fixture
def widget():
    return ConvExplorer()   # not drawn: the tests read the artists, not the pixels (the benchmark draws)


def torch_map(image, kernel, stride, padding):
    x = torch.tensor(np.asarray(image, float))[None, None]
    return F.conv2d(x, torch.tensor(np.asarray(kernel, float))[None, None], stride=stride, padding=padding)[0, 0].numpy()


def shown_map(w):
    return np.asarray(w.output_image.get_array().filled(np.nan), float)


def click(w, ax, x, y):
    px, py = ax.transData.transform((x, y))
    event = MouseEvent("button_press_event", w.fig.canvas, px, py, button=1)
    w._on_click(event)


def test_default_run_is_the_deck_example_window_by_window(widget):
    w = widget
    expected = torch_map(conv.IMAGE_6X6, conv.FILTER_1, 1, 0)
    # position 0 (nothing computed), 16 windows, then 4 pooling windows
    assert w.output_shape == (4, 4) and len(w.trace) == 1 + 16 + 4
    assert w.index == 0 and "position 0 / 20" in w.counter.value and "window 0 / 16" in w.status.text
    assert np.isnan(shown_map(w)).all() and "of the 4×4 feature map" in w.message.value
    w.step_button.click()
    assert "window 1 of 16" in w.counter.value and "window 1 / 16" in w.status.text
    for _ in range(3):
        w.step_button.click()
    state = w.state
    assert (state.row, state.col) == (0, 3) and w.window_box.get_xy() == (2.5, -0.5)
    np.testing.assert_array_equal(state.window, conv.IMAGE_6X6[0:3, 3:6])
    np.testing.assert_array_equal([float(t.get_text()) for t in w.product_texts], (state.window * conv.FILTER_1).ravel())
    assert w.products_title.get_text() == f"Σ = {expected[0, 3]:.0f}"
    shown = shown_map(w)
    np.testing.assert_array_equal(shown[0], expected[0])          # the first row is filled ...
    assert np.isnan(shown[1:]).all()                              # ... nothing else yet
    assert [w.output_texts[0][j].get_text() for j in range(4)] == ["3", "-1", "-3", "-1"]
    assert w.current_cell.get_xy() == (2.5, -0.5)
    assert "⌊(6 + 2·0 − 3)/1⌋ + 1 = 4" in w.formula_text.get_text()


def test_to_end_fills_the_map_and_pools_it(widget):
    w = widget
    w.jump_to_cell(3, 3)
    np.testing.assert_array_equal(shown_map(w), torch_map(conv.IMAGE_6X6, conv.FILTER_1, 1, 0))
    w.end_button.click()
    pooled = np.asarray(w.pool_image.get_array(), float)
    np.testing.assert_array_equal(pooled, [[3, 0], [3, 1]])   # the deck's 2×2 max pooling of filter 1's map
    assert "pooling 4 / 4" in w.status.text and w.status.kind == "ok"
    w.pool_toggle.value = "avg"
    w.end_button.click()
    np.testing.assert_allclose(np.asarray(w.pool_image.get_array(), float),
                               F.avg_pool2d(torch.tensor(w.feature_map)[None, None], 2)[0, 0].numpy())
    w.pool_toggle.value = "none"
    assert len(w.trace) == 1 + 16 and w.pool_image is None


def test_stride_and_padding_change_the_shape_and_restart(widget):
    w = widget
    w.step_button.click()
    w.stride_toggle.value = 2
    assert w.index == 0 and w.output_shape == (2, 2) and len(w.trace) == 1 + 4 + 1
    assert "⌊(6 + 2·0 − 3)/2⌋ + 1 = 2" in w.formula_text.get_text()
    w.end_button.click()
    np.testing.assert_array_equal(w.feature_map, [[3, -3], [-3, 0]])   # the deck's stride-2 map
    w.padding_toggle.value = 1
    assert w.output_shape == (3, 3) and "⌊(6 + 2·1 − 3)/2⌋ + 1 = 3" in w.formula_text.get_text()
    np.testing.assert_array_equal(w.feature_map, torch_map(conv.IMAGE_6X6, conv.FILTER_1, 2, 1))
    assert w.window_box.get_xy() == (-0.5, -0.5)   # window 1 starts in the padding's corner


def test_kernels_from_the_list_typed_and_flipped(widget):
    w = widget
    w.kernel_toggle.value = "filter 2"
    np.testing.assert_array_equal(w.kernel, conv.FILTER_2)
    np.testing.assert_array_equal(w.feature_map, torch_map(conv.IMAGE_6X6, conv.FILTER_2, 1, 0))
    w.kernel_boxes[4].value = 3.0                     # typing into the grid makes it "your 3×3"
    assert w.kernel_toggle.value == YOURS and w.kernel[1, 1] == 3.0
    np.testing.assert_array_equal(w.feature_map, torch_map(conv.IMAGE_6X6, w.kernel, 1, 0))
    w.set_kernel(np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(w.feature_map, torch_map(conv.IMAGE_6X6, np.arange(9.0).reshape(3, 3), 1, 0))
    # flip: a true convolution. The symmetric deck filters do not change; edge enhance does
    w.kernel_toggle.value = "edge enhance"
    plain = w.feature_map.copy()
    w.flip_toggle.value = True
    np.testing.assert_array_equal(w.feature_map, conv.convolve(conv.IMAGE_6X6, conv.EDGE_ENHANCE))
    assert not np.array_equal(w.feature_map, plain)
    w.kernel_toggle.value = "filter 1"
    np.testing.assert_array_equal(w.feature_map, torch_map(conv.IMAGE_6X6, conv.FILTER_1, 1, 0))


def test_clicks_toggle_pixels_and_jump_to_cells(widget):
    w = widget
    w.step_button.click()
    click(w, w.input_ax, 2, 0)                         # pixel (0, 2): 0 → 1
    assert w.input_toggle.value == "drawing" and w.index == 0
    drawn = conv.IMAGE_6X6.copy()
    drawn[0, 2] = 1
    np.testing.assert_array_equal(w.image, drawn)
    np.testing.assert_array_equal(w.feature_map, torch_map(drawn, conv.FILTER_1, 1, 0))
    click(w, w.output_ax, 1, 2)                        # cell (2, 1)
    assert (w.state.row, w.state.col) == (2, 1) and w.index == 1 + 9   # position 0 comes first
    w.padding_toggle.value = 1
    click(w, w.input_ax, 0, 0)                         # a padding cell: nothing to toggle
    np.testing.assert_array_equal(w.image, drawn)


def test_a_digit_and_several_filters_side_by_side(widget):
    from sklearn.datasets import load_digits

    w = widget
    w.digit_dropdown.value = 7
    digits = load_digits()
    expected = digits.images[np.argmax(digits.target == 7)] / 16
    assert w.input_toggle.value == "digit"
    np.testing.assert_allclose(w.image, expected)
    w.padding_toggle.value = 1
    assert w.output_shape == (8, 8) and w.output_texts == []   # an 8×8 map is shown by colour only
    for name, ax in w.map_axes.items():
        np.testing.assert_allclose(ax.images[0].get_array(), torch_map(expected, KERNELS[name], 1, 1), atol=1e-12)


def test_compare_keeps_the_previous_map_faint(widget):
    w = widget
    w.compare_toggle.value = True
    previous = w.feature_map.copy()
    w.stride_toggle.value = 2
    assert len(w.ghost_artists) == 1
    np.testing.assert_array_equal(w.ghost_artists[0].get_array(), previous)
    assert "filter 1" in w.ghost_ax.get_title() and "stride 1" in w.ghost_ax.get_title()
    w.clear_button.click()
    assert w.ghost_artists == []


def test_arguments_snapshot_and_errors():
    w = ConvExplorer(image=np.eye(5), kernel=np.ones((3, 3)), stride=2, pooling="none")
    assert w.input_toggle.value == "drawing" and w.kernel_toggle.value == YOURS
    np.testing.assert_array_equal(w.feature_map, torch_map(np.eye(5), np.ones((3, 3)), 2, 0))
    bundle = w._repr_mimebundle_()
    assert "image/png" in bundle and "run the cell" in bundle["text/plain"]
    with pytest.raises(ValueError, match="image must be one of"):
        ConvExplorer(image="cat")
    with pytest.raises(ValueError, match="between 3×3 and 12×12"):
        ConvExplorer(image=np.zeros((20, 20)))
    with pytest.raises(ValueError, match="kernel must be one of"):
        ConvExplorer(kernel="blur")
    with pytest.raises(ValueError, match="outside the 5×5 image"):
        w.toggle_pixel(5, 0)
