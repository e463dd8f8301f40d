"""The network playground, driven from Python through its controls: what it shows is the engine's run.

The expected runs come from coursekit.playground directly (the same seeded engine, built from a config
written here), so a widget that wired a control wrongly shows a different run than expected."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from coursekit import playground as P
from coursekit.widgets.playground import NetworkPlayground


@pytest.fixture
def widget():
    w = NetworkPlayground(n_points=200)
    w.fig.canvas.draw()
    return w


def losses_shown(w):
    return np.asarray(w.train_line.get_ydata()), np.asarray(w.test_line.get_ydata())


def test_starts_at_epoch_0_with_the_untrained_network(widget):
    assert widget.state.epoch == 0 and len(widget.history) == 1
    assert "epoch 0" in widget.counter.value and widget.status.headline.get_text() == "epoch 0"
    expected = P.Playground(P.PlaygroundConfig(n_points=200))
    np.testing.assert_allclose(widget.surface_image.get_array(), expected.surface, rtol=1e-6)
    assert widget.state.test_loss == pytest.approx(expected.state.test_loss, rel=1e-6)


def test_step_trains_one_epoch_and_shows_it(widget):
    before = np.array(widget.surface_image.get_array())
    widget.step_button.click()
    widget.step_button.click()
    expected = P.Playground(P.PlaygroundConfig(n_points=200))
    expected.run(2)
    assert widget.state.epoch == 2 and "epoch 2" in widget.counter.value
    assert widget.state.train_loss == pytest.approx(expected.state.train_loss, rel=1e-5)
    train, test = losses_shown(widget)
    np.testing.assert_allclose(train, [s.train_loss for s in expected.history], rtol=1e-5)
    np.testing.assert_allclose(test, [s.test_loss for s in expected.history], rtol=1e-5)
    assert not np.allclose(widget.surface_image.get_array(), before)
    assert "epoch 2" in widget.status.text and "test acc" in widget.status.text


def test_play_ticks_train_one_epoch_each(widget):
    widget.play_button.value = True                # Play (the page's timer then ticks)
    for k in range(1, 4):
        widget.play.value = k      # what a tick of Play in the browser does
    assert widget.state.epoch == 3
    widget.play_button.value = False               # Pause; a tick the page held back arrives after it
    widget.play.value = 4
    assert widget.state.epoch == 3 and widget.counter.value.endswith("epoch 3</b>")


def test_the_spiral_run_reaches_95_percent_through_the_controls():
    w = NetworkPlayground()
    w.dataset.value = "spiral"
    for key, button in w.feature_buttons.items():
        button.value = key in ("x1", "x2", "sin x1", "sin x2")
    w.layers.value = 2
    for i in range(2):
        w.units[i].value = 8
        w.activations[i].value = "relu"
    w.optimizer.value, w.lr.value = "adam", 0.03
    w.stop_rule.value = ("test_acc", 0.95)
    expected = P.PlaygroundConfig(dataset="spiral", features=("x1", "x2", "sin x1", "sin x2"), hidden=(8, 8),
                                  activation="relu", optimizer="adam", lr=0.03)
    assert w.run.config == expected
    w.play_button.value = True
    for k in range(1, 21):
        if not w.player.playing:
            break
        w.play.value = k
    assert not w.player.playing                    # the stop condition paused Play
    assert w.state.test_acc >= 0.95 and w.state.epoch <= 20
    assert w.status.kind == "ok"


def test_l2_with_a_huge_rate_shows_weights_near_zero(widget):
    widget.regularization.value = "L2"
    widget.reg_rate.value = 10.0
    assert widget.state.epoch == 0                 # a change restarts
    for _ in range(20):
        widget.step_button.click()
    assert widget.state.weight_norm < 1e-3
    assert "L2 term" in widget.message.value and "largest |w|" in widget.message.value


def test_learning_rate_10_with_sigmoid_units_shows_diverged():
    w = NetworkPlayground(P.PlaygroundConfig(dataset="spiral", hidden=(8, 8), activation="sigmoid",
                                             optimizer="momentum", lr=10.0))
    w.play_button.value = True
    for k in range(1, 31):
        w.play.value = k
    assert w.run.diverged
    assert not w.player.playing
    assert w.status.kind == "bad" and w.status.headline.get_text().startswith("diverged at epoch")
    assert "diverged" in w.message.value
    epochs = w.state.epoch
    w.step_button.click()                          # nothing more happens, nothing is raised
    assert w.state.epoch == epochs
    w.reset_button.click()
    assert w.state.epoch == 0 and not w.run.diverged


def test_the_network_controls_shape_the_network(widget):
    widget.layers.value = 3
    widget.units[2].value = 5
    widget.activations[2].value = "relu"
    widget.dropouts[1].value = 0.2
    widget.batch_norm.value = True
    c = widget.run.config
    assert c.hidden == (4, 2, 5) and c.activation == ("tanh", "tanh", "relu") and c.dropout == (0.0, 0.2, 0.0)
    assert c.batch_norm
    assert not widget.units[2].disabled and widget.units[3].disabled
    assert [m.shape[0] for m in widget.run.unit_maps] == [4, 2, 5]
    assert widget.ax_units.get_yticklabels()[2].get_text() == "layer 3"
    widget.layers.value = 0
    assert widget.run.config.hidden == () and widget.run.unit_maps == []


def test_unit_maps_show_each_unit_scaled_to_its_largest_output(widget):
    widget.step_button.click()
    mosaic = np.asarray(widget.units_image.get_array())
    first = widget.run.unit_maps[0][0]
    tile = mosaic[:P.UNIT_GRID, :P.UNIT_GRID]
    np.testing.assert_allclose(tile, np.flipud(first) / np.abs(first).max(), rtol=1e-6)
    assert np.nanmax(np.abs(mosaic)) <= 1.0 + 1e-9


def test_features_and_the_last_one_standing(widget):
    widget.feature_buttons["x1^2"].value = True
    assert widget.run.config.features == ("x1", "x2", "x1^2")
    for button in widget.feature_buttons.values():
        button.value = False
    assert widget.run.config.features == ("x1",)   # a network needs an input


def test_clicks_add_points_of_the_chosen_class(widget):
    n = len(widget.run.y_train)
    click = SimpleNamespace(inaxes=widget.ax, xdata=2.0, ydata=-1.5, button=1)
    widget._on_click(click)                        # "off": a click adds nothing
    assert len(widget.run.y_train) == n
    widget.click_label.value = 1
    widget.step_button.click()
    widget._on_click(click)
    assert len(widget.run.y_train) == n + 1 and widget.run.y_train[-1] == 1
    assert widget.state.epoch == 0                 # new data: a new run
    assert len(widget.train_points.get_offsets()) == n + 1
    widget.clear_points.click()
    assert len(widget.run.y_train) == 0 and len(widget.train_points.get_offsets()) == 0
    widget._on_click(SimpleNamespace(inaxes=widget.ax, xdata=-3.0, ydata=-3.0, button=1))
    widget.click_label.value = 0
    widget._on_click(SimpleNamespace(inaxes=widget.ax, xdata=3.0, ydata=3.0, button=1))
    widget.step_button.click()
    assert widget.state.epoch == 1 and set(widget.run.y_train) == {0, 1}


def test_data_controls_redraw_the_data(widget):
    before = widget.run.X_train.copy()
    widget.dataset.value = "xor"
    assert widget.run.config.dataset == "xor" and not np.array_equal(widget.run.X_train, before)
    X, y = P.make_points("xor", 200, 0.0, 0)
    assert {tuple(p) for p in widget.run.X_train} | {tuple(p) for p in widget.run.X_test} == {tuple(p) for p in X}
    widget.train_pct.value = 30
    assert len(widget.run.y_train) == 60
    widget.noise.value = 0.2
    assert widget.run.config.noise == 0.2
    seed = widget.run.config.data_seed
    widget.regenerate.click()
    assert widget.run.config.data_seed == seed + 1


def test_test_points_and_discretize(widget):
    assert len(widget.test_points.get_offsets()) == 0
    widget.show_test.value = True
    assert len(widget.test_points.get_offsets()) == len(widget.run.y_test)
    widget.discretize.value = True
    assert set(np.unique(widget.surface_image.get_array())) <= {0.0, 1.0}


def test_compare_keeps_the_previous_test_loss_faint(widget):
    for _ in range(3):
        widget.step_button.click()
    widget.compare_toggle.value = True
    widget.lr.value = 0.3
    assert len(widget.ghost_artists) == 1
    line = widget.ghost_artists[0]
    assert len(line.get_xdata()) == 4 and "previous" in line.get_label()


def test_the_epoch_axis_doubles(widget):
    for _ in range(17):
        widget.step_button.click()
    assert widget.ax_loss.get_xlim() == (0, 32)


def test_nan_in_the_network_is_shown_not_raised(widget):
    import torch

    with torch.no_grad():
        widget.run.weights[0][0, 0] = math.nan
    widget.step_button.click()
    assert widget.run.diverged and widget.status.kind == "bad"
    widget.fig.canvas.draw()                       # drawing a diverged state works too


def test_batch_norm_lifts_a_batch_of_one_to_two(widget):
    widget.batch_size.value = 1
    widget.step_button.click()
    widget.batch_norm.value = True                 # a batch of one has no variance: the slider's minimum is 2
    assert widget.batch_size.min == widget.batch_size.value == widget.run.config.batch_size == 2
    assert widget.run.config.batch_norm and widget.state.epoch == 0
    widget.step_button.click()
    assert widget.state.epoch == 1
    widget.batch_norm.value = False
    assert widget.batch_size.min == 1 and widget.batch_size.value == 2
    widget.batch_size.value = 1
    assert widget.run.config.batch_size == 1


def test_a_training_set_too_small_to_train_says_so(widget):
    widget.batch_norm.value = True
    widget.clear_points.click()
    widget._on_click(SimpleNamespace(inaxes=widget.ax, xdata=-3.0, ydata=-3.0, button=1))
    widget.step_button.click()                     # one point with batch norm: nothing happens, and it says why
    assert widget.state.epoch == 0 and "Nothing to train on yet" in widget.message.value
    assert "two training points" in widget.message.value
    widget._on_click(SimpleNamespace(inaxes=widget.ax, xdata=3.0, ydata=3.0, button=1))
    widget.step_button.click()
    assert widget.state.epoch == 1 and "Nothing to train on" not in widget.message.value
