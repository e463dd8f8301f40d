"""The GAN lab driven from Python: its controls, what it draws, and that it shows the trainer's states."""
from __future__ import annotations

import base64
import io
import math
import types

import numpy as np
import pytest
import torch
from PIL import Image

from coursekit import generative as gen
from coursekit.widgets.base import OUTPUT_WIDTH_PX, row_width_px
from coursekit.widgets.gan import DEFAULT_DRAWING, N_ARROWS, GANLab

SMALL = {"hidden": 16, "batch_size": 32}


def lab(**kwargs):
    options = dict(device="cpu", steps_per_frame=5, config=SMALL)
    options.update(kwargs)
    return GANLab(**options)


def test_starts_at_step_0_showing_the_trainers_view():
    w = lab()
    state = w.state
    assert w.steps_done == 0 and state.step == 0 and "step 0" in w.counter.value
    np.testing.assert_array_equal(np.asarray(w.heat.get_array()).reshape(state.d_grid.shape), state.d_grid)
    np.testing.assert_array_equal(w.fake_dots.get_offsets(), state.samples)
    assert len(w.real_dots.get_offsets()) == 500
    assert w.status.text.startswith("step 0") and "/ 8 modes" in w.status.text
    assert "ring of 8" in w.message.value and "log 4" in w.message.value


def test_play_ticks_train_steps_per_frame_iterations_each():
    w = lab()
    w.play.value = 1
    w.play.value = 2
    assert [s.step for s in w.history] == [0, 5, 10] and w.history[-1].d_steps == 10
    assert "step 10" in w.counter.value and w.status.text.startswith("step 10")
    # only the newest frame keeps its drawing; older ones keep their numbers
    assert w.history[0].samples is None and w.history[1].d_grid is None and w.history[2].samples is not None
    assert w.history[1].coverage.modes_covered >= 0
    np.testing.assert_array_equal(w.d_loss_line.get_xdata(), [0, 5, 10])
    np.testing.assert_allclose(w.g_loss_line.get_ydata(), [s.g_loss for s in w.history])
    w.frame_choice.value = 1
    w.step_button.click()
    assert w.state.step == 11


def test_the_lab_shows_exactly_the_trainers_run():
    w = lab(seed=2)
    for tick in range(1, 4):
        w.play.value = tick
    reference = gen.GANTrainer(gen.lab_target("ring", 4000, seed=2)[0], modes=gen.ring_modes(), seed=2,
                               device="cpu", view_samples=500, **dict(gen.RING_CONFIG, decay_steps=None, **SMALL))
    reference.initial_state()
    states = [reference.step(view=(i % 5 == 4)) for i in range(15)]
    assert w.state.g_loss == pytest.approx(states[-1].g_loss, rel=1e-6)
    np.testing.assert_allclose(w.state.samples, states[-1].samples, rtol=1e-5, atol=1e-6)


def test_train_d_and_train_g_update_one_player():
    w = lab()
    w.train_d_button.click()
    assert (w.state.step, w.state.d_steps) == (0, 1)
    w.train_g_button.click()
    assert (w.state.step, w.state.d_steps) == (1, 1)
    w.k_choice.value = 3                       # a new run, k = 3 D steps per G step
    assert w.steps_done == 0 and w.trainer.k == 3
    w.play.value = 1
    assert (w.state.step, w.state.d_steps) == (5, 15)


def test_every_control_starts_a_new_run_with_its_setting():
    w = lab()
    w.play.value = 1
    w.loss_toggle.value = "minimax"
    assert w.steps_done == 0 and w.trainer.loss == "minimax" and "minimax" in w.message.value
    assert w.g_eq_line.get_ydata()[0] == pytest.approx(-math.log(2))   # log(1 - 1/2)
    w.lr_g_choice.value = 0.01
    assert w.trainer.lr_g == 0.01 and w.steps_done == 0
    w.optimizer_toggle.value = "sgd"
    assert isinstance(w.trainer.opt_d, torch.optim.SGD)
    w.play.value = 1
    w.reset_button.click()
    assert w.steps_done == 0 and w.play.value == 0


def test_targets_switch_data_and_the_lower_plot():
    w = lab()
    assert w.ax_low.get_title().startswith("modes covered")
    w.target_toggle.value = "moons"
    moons, _ = gen.lab_target("moons", 4000, seed=0)
    np.testing.assert_allclose(w.real_dots.get_offsets(), moons[:500], rtol=1e-6)
    assert w.trainer.modes is None and w.ax_low.get_title().startswith("mean D")
    assert "D(x)" in w.status.text and w.lower_lines[1].get_visible()
    w.play.value = 1
    np.testing.assert_allclose(w.lower_lines[1].get_ydata(), [s.d_fake for s in w.history])
    w.target_toggle.value = "spiral"
    assert np.abs(w.real_dots.get_offsets()).max() <= gen.LAB_BOX


def test_drawing_points_by_clicking():
    w = lab()
    event = types.SimpleNamespace(inaxes=w.ax, xdata=1.0, ydata=-1.5, button=1)
    w._on_press(event)                    # a click on the data plane: the "draw" target with one more point
    assert w.target == "drawn" and len(w.drawn_points) == len(DEFAULT_DRAWING) + 1
    assert np.allclose(w.drawn_points[-1], [1.0, -1.5]) and "Click on the left plot" in w.message.value
    w._on_press(types.SimpleNamespace(inaxes=w.ax_loss, xdata=1.0, ydata=1.0, button=1))   # elsewhere: nothing
    assert len(w.drawn_points) == len(DEFAULT_DRAWING) + 1
    w.clear_button_points.click()
    assert len(w.drawn_points) == 0 and "No points" in w.message.value
    steps = w.steps_done
    w.play.value = 5
    assert w.steps_done == steps and not w.player.playing      # nothing to learn from: no training
    w.add_point(0.5, 0.5)
    assert w.steps_done == 0 and len(w.trainer.X) == 4000
    with pytest.raises(ValueError, match="inside the box"):
        w.add_point(10.0, 0.0)


def test_show_toggles_hide_layers():
    w = lab()
    for name, artist in (("D heat map", w.heat), ("arrows", w.arrows), ("manifold", w.manifold_lines),
                         ("real", w.real_dots)):
        w.show_toggles[name].value = False
        assert not artist.get_visible()
        w.show_toggles[name].value = True
        assert artist.get_visible()


def test_arrows_show_the_generators_push():
    w = lab()
    w.play.value = 1
    state = w.state
    u, v = w.arrows.U, w.arrows.V
    push = state.push[:N_ARROWS]
    np.testing.assert_allclose(np.c_[u, v], push * 0.5 / np.linalg.norm(push, axis=1).max(), rtol=1e-6)
    np.testing.assert_allclose(w.arrows.get_offsets(), state.samples[:N_ARROWS])
    segments = w.manifold_lines.get_segments()
    assert len(segments) == 2 * state.manifold.shape[0]


def test_collapse_warning_and_success_status():
    w = lab()
    state = w.state
    crowded = np.zeros(8, dtype=int)
    crowded[2] = 500
    state.step = 400
    state.coverage = gen.Coverage(1, 8, 0.01, np.eye(8, dtype=int)[2] * 5, crowded, 500)
    w._set_status(state)
    assert w.status.kind == "warn" and "crowd near 1 modes" in w.status.text
    state.coverage = gen.Coverage(8, 8, 0.6, np.full(8, 40), np.full(8, 62), 500)
    w._set_status(state)
    assert w.status.kind == "ok" and "8 / 8 modes" in w.status.text
    state.d_loss = math.nan
    w._set_status(state)
    assert w.status.kind == "bad"


def test_compare_keeps_the_previous_runs_losses_faint():
    w = lab()
    w.play.value = 1
    w.compare_toggle.value = True
    w.loss_toggle.value = "minimax"
    assert len(w.ghost_artists) == 3 and "nonsaturating" in w.ghost_artists[0].get_label()
    w.clear_button.click()
    assert w.ghost_artists == []


def test_fits_840_px_and_leaves_a_snapshot():
    w = lab()
    width, _ = w.fig.get_size_inches() * w.fig.dpi
    assert width <= OUTPUT_WIDTH_PX
    rows = [child for child in w.box.children if "coursekit-row" in child._dom_classes]
    assert len(rows) == 5 and all(row_width_px(row) <= OUTPUT_WIDTH_PX for row in rows)
    bundle = w._repr_mimebundle_()
    assert bundle["text/plain"] == "GAN lab: run the cell to use this widget"
    image = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert image.size[0] <= OUTPUT_WIDTH_PX


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="target must be one of"):
        GANLab(target="circle", device="cpu")
    with pytest.raises(ValueError, match="learning rates"):
        GANLab(lr_d=0.5, device="cpu")
    with pytest.raises(ValueError, match="k must be"):
        GANLab(k=9, device="cpu")
    with pytest.raises(ValueError, match="steps_per_frame"):
        GANLab(steps_per_frame=7, device="cpu")
