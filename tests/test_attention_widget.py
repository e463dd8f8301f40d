"""The attention explorer, driven from Python by its controls: what it shows is what the
reference code computes (coursekit.attention on the models' own queries and keys, and
the models' attention maps), it restarts at stage 1 on every change, and clicks pick
the query. Tiny untrained models: the explorer's logic does not depend on training."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.backend_bases import MouseButton, MouseEvent

from coursekit import attention as A
from coursekit import transformer as TR
from coursekit.widgets.attention import AttentionExplorer

DIGITS = [7, 2, 9, 2, 0, 5, 8, 1, 5, 3]


def tiny(seed):
    torch.manual_seed(seed)
    return TR.TinyTransformer(10, 19, d_model=16, num_heads=4, num_layers=2, d_ff=32).eval()


@pytest.fixture(scope="module")
def models():
    return {"trained": tiny(0), "untrained": tiny(1)}


@pytest.fixture
def explorer(models):
    return AttentionExplorer.for_sorting(models, digits=DIGITS)


def entropy(w):
    w = w[w > 0]
    return float(-(w * np.log(w)).sum())


def click(widget, ax, x, y):
    """A left click at data coordinates (x, y) of ``ax``, through matplotlib's event machinery."""
    widget.fig.canvas.draw()
    px, py = ax.transData.transform((x, y))
    event = MouseEvent("button_press_event", widget.fig.canvas, px, py, button=MouseButton.LEFT)
    widget.fig.canvas.callbacks.process("button_press_event", event)


def test_starts_at_stage_1_on_the_first_writing_position(explorer, models):
    assert explorer.index == 0 and explorer.state.name == "scores"
    assert explorer.query == 9 and explorer.layer == 1 and explorer.head == 0 and explorer.mask_on
    assert "stage 1 / 5" in explorer.counter.value and "stage 1 / 5" in explorer.status.text
    tokens = TR.sort_sequence(models["trained"], np.array(DIGITS))
    np.testing.assert_array_equal(explorer.tokens, tokens)
    assert explorer.labels == [str(t) for t in tokens]


def test_stages_show_the_reference_trace(explorer, models):
    Q, K, V = TR.attention_qkv(models["trained"], explorer.tokens)[1]
    expected = A.attention_trace(Q[0], K[0], V[0], 9, A.causal_mask(19))
    for i, stage in enumerate(expected):
        assert explorer.index == i and explorer.state.name == stage.name
        np.testing.assert_allclose(explorer.bar_values, stage.current)
        if stage.name == "masked":
            assert np.all(np.isneginf(explorer.bar_values[10:])) and explorer.hidden_marks.get_segments()
        explorer.step_button.click()
    assert explorer.index == 4 and explorer.step_button.disabled and "output" in explorer.status.text
    np.testing.assert_allclose(explorer.bar_values.sum(), 1.0)
    # the lines of the head view: one per key with weight above 1 %, wider for larger weights
    weights = expected[-1].weights
    keep = np.flatnonzero(weights > 0.01)
    assert len(explorer.lines.get_segments()) == len(keep)
    widths = np.asarray(explorer.lines.get_linewidths())
    assert np.all(np.diff(widths[np.argsort(weights[keep])]) >= 0)


def test_heat_maps_are_the_models_attention_maps(explorer, models):
    for head in range(4):
        explorer.head_toggle.value = head
        for name, model in models.items():
            maps = model.attention_maps(explorer.tokens)
            np.testing.assert_allclose(explorer.weights[name], maps[1, head], atol=1e-5)
            np.testing.assert_allclose(explorer.heat_images[name].get_array(), maps[1, head], atol=1e-5)
    explorer.layer_toggle.value = 0
    np.testing.assert_allclose(explorer.weights["untrained"], models["untrained"].attention_maps(explorer.tokens)[0, 3],
                               atol=1e-5)


def test_every_change_restarts_at_stage_1(explorer):
    changes = [lambda: setattr(explorer.head_toggle, "value", 2), lambda: setattr(explorer.layer_toggle, "value", 0),
               lambda: setattr(explorer.model_toggle, "value", "untrained"),
               lambda: setattr(explorer.mask_toggle, "value", False),
               lambda: setattr(explorer.temperature_slider, "value", 2.0), lambda: explorer.select_query(14)]
    for change in changes:
        explorer.end_button.click()
        assert explorer.index == 4
        change()
        assert explorer.index == 0, change
    assert explorer.model_name == "untrained" and "untrained" in explorer.status.text
    assert explorer.heat_titles["untrained"].get_text().endswith("◀")


def test_clicks_on_a_token_or_a_heat_map_row_pick_the_query(explorer):
    click(explorer, explorer.ax_tokens, 1.1, 13)             # the key column, row 13
    assert explorer.query == 13 and explorer.state.query == 13
    assert explorer.query_box.get_y() == pytest.approx(12.5) and explorer.query_label.get_text() == explorer.labels[13]
    click(explorer, explorer.ax_heat["untrained"], 4, 3.2)   # a row of the second heat map
    assert explorer.query == 3
    assert all(frame.get_y() == pytest.approx(2.5) for frame in explorer.row_frames.values())
    click(explorer, explorer.ax_bars, 0.5, 7)                # the bar plot does not pick queries
    assert explorer.query == 3
    with pytest.raises(ValueError, match="query must be a position from 0 to 18"):
        explorer.select_query(19)


def test_mask_off_lets_the_query_look_ahead(explorer):
    above = np.triu_indices(19, 1)                        # query i, key j > i: the future
    assert np.all(explorer.weights["trained"][above] == 0)
    explorer.mask_toggle.value = False
    assert explorer.mask_toggle.description == "mask off"
    assert np.all(explorer.weights["trained"][above] > 0)
    for _ in range(2):
        explorer.step_button.click()
    assert explorer.state.name == "masked" and not np.any(np.isneginf(explorer.bar_values))
    assert "model never ran like this" in explorer.message.value


def test_temperature_spreads_or_sharpens_the_weights(explorer):
    explorer.end_button.click()
    base = entropy(explorer.state.weights)
    explorer.temperature_slider.value = 4.0
    explorer.end_button.click()
    hot = entropy(explorer.state.weights)
    explorer.temperature_slider.value = 0.25
    explorer.end_button.click()
    cold = entropy(explorer.state.weights)
    assert cold < base < hot
    assert "temperature 0.25" in explorer.message.value or explorer.state.temperature == 0.25


def test_a_typed_or_random_sequence_replaces_the_tokens(explorer, models):
    explorer.sequence_text.value = "0 1 2 3 4 5 6 7 8 9"
    explorer.sequence_button.click()
    np.testing.assert_array_equal(explorer.tokens[:10], np.arange(10))
    assert explorer.index == 0 and explorer.query == 9
    before = explorer.tokens.copy()
    explorer.sequence_text.value = "1 2 3"
    explorer.sequence_button.click()
    assert "type 10 digits" in explorer.message.value and np.array_equal(explorer.tokens, before)
    explorer.random_button.click()
    assert not np.array_equal(explorer.tokens, before)
    assert explorer.sequence_text.value.replace(" ", "") == "".join(str(t) for t in explorer.tokens[:10])
    np.testing.assert_allclose(explorer.weights["trained"],
                               models["trained"].attention_maps(explorer.tokens)[1, 0], atol=1e-5)


def test_compare_keeps_the_previous_weights_faint(explorer):
    explorer.compare_toggle.value = True
    explorer.end_button.click()
    previous = explorer.state.weights
    explorer.head_toggle.value = 3
    assert explorer.ghost_artists and len(explorer.ghost_artists) == 19
    np.testing.assert_allclose([p.get_width() for p in explorer.ghost_artists], previous)
    explorer.clear_button.click()
    assert not explorer.ghost_artists


def test_what_a_saved_notebook_shows(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"].startswith("attention explorer") and bundle["image/png"]


def test_bad_arguments(models):
    with pytest.raises(ValueError, match="a dict of one or two models"):
        AttentionExplorer([models["trained"]], np.arange(5))
    other = TR.TinyTransformer(10, 19, d_model=16, num_heads=2, num_layers=2, d_ff=32)
    with pytest.raises(ValueError, match="the same layers and heads"):
        AttentionExplorer({"a": models["trained"], "b": other}, np.arange(5))
    with pytest.raises(ValueError, match="tokens must be one sequence"):
        AttentionExplorer({"a": models["trained"]}, np.zeros((2, 5), dtype=int))
    with pytest.raises(ValueError, match="head must be an? whole number from 0 to 3"):
        AttentionExplorer({"a": models["trained"]}, np.arange(5), head=4)
    one = AttentionExplorer({"only": models["trained"]}, np.arange(8), labels=list("abcdefgh"))
    assert one.query == 0 and one.labels[3] == "d" and not hasattr(one, "sequence_text")
