"""The gradient-descent explorer, driven from Python: every control changes what is shown as it should.

The expected runs are computed here, independently of the widget's own
wiring, by calling coursekit.optim with the optimizer classes directly.
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from coursekit import optim
from coursekit.widgets.gd import DEFAULT_START, OPTIONS, GDExplorer

STEPS = 60


def expected_trace(name, eta, start, function="2d", batch=5, steps=STEPS, seed=0):
    problem = optim.regression_20_problem() if function == "2d" else optim.double_well()
    opt = {"gd": optim.GD, "sgd": optim.GD, "minibatch": optim.GD, "momentum": lambda e: optim.Momentum(e, 0.9),
           "adagrad": optim.Adagrad, "rmsprop": optim.RMSProp, "adam": optim.Adam}[name](eta)
    batch_size = None if function == "1d" else {"sgd": 1, "minibatch": batch}.get(name)
    return optim.optimize(problem, opt, start, steps, batch_size=batch_size, seed=seed)


def shown(widget):
    """What the widget shows: the trajectory points and the loss curve."""
    tx, ty = widget.trajectory_line.get_data()
    lx, ly = widget.loss_line.get_data()
    return np.column_stack([tx, ty]), np.asarray(lx), np.asarray(ly)


def assert_shows(widget, trace, function="2d"):
    i = widget.index
    points, steps, losses = shown(widget)
    assert len(points) == len(steps) == len(losses) == i + 1
    params = np.array([s.params for s in trace[:i + 1]])
    expected_points = params if function == "2d" else np.column_stack([params[:, 0], [s.loss for s in trace[:i + 1]]])
    np.testing.assert_allclose(points, expected_points, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(steps, np.arange(i + 1))
    np.testing.assert_allclose(losses, [s.loss for s in trace[:i + 1]], rtol=1e-12)
    cx, cy = widget.current_point.get_data()
    np.testing.assert_allclose([cx[0], cy[0]], expected_points[-1])


@pytest.fixture
def widget():
    w = GDExplorer(steps=STEPS)
    w.fig.canvas.draw()
    return w


def test_default_run_is_gd_from_the_default_start(widget):
    trace = expected_trace("gd", 0.01, DEFAULT_START["2d"])
    assert len(widget.trace) == len(trace) == STEPS + 1
    for ours, theirs in zip(widget.trace, trace):
        np.testing.assert_allclose(ours.params, theirs.params, atol=1e-12)
    assert widget.index == 0
    assert_shows(widget, trace)
    assert [v for _, v in widget.optimizer_dropdown.options] == ["gd", "sgd", "minibatch", "momentum", "adagrad",
                                                                 "rmsprop", "adam"]
    assert [v for _, v in widget.function_toggle.options] == ["2d", "1d"]
    state = widget.state
    for field in ("step", "params", "loss", "grad"):
        assert hasattr(state, field)
    np.testing.assert_allclose(state.grad, optim.regression_20_problem().grad(state.params))


def test_step_back_reset_play(widget):
    trace = expected_trace("gd", 0.01, DEFAULT_START["2d"])
    for _ in range(5):
        widget.step_button.click()
    assert widget.index == 5
    assert_shows(widget, trace)
    widget.back_button.click()
    assert widget.index == 4
    assert_shows(widget, trace)
    widget.play.value = 37  # what Play does on each tick of the browser
    assert_shows(widget, trace)
    widget.reset_button.click()
    assert widget.index == 0
    assert_shows(widget, trace)
    assert widget.back_button.disabled
    widget.play.value = widget.last_index
    assert widget.step_button.disabled
    widget.step_button.click()
    assert widget.index == STEPS


@pytest.mark.parametrize("name, eta", [("gd", 0.02), ("sgd", 0.004), ("minibatch", 0.01), ("momentum", 0.005),
                                       ("adagrad", 0.8), ("rmsprop", 0.05), ("adam", 0.1)])
def test_each_optimizer_shows_its_own_trace(widget, name, eta):
    widget.eta_slider.value = eta
    widget.optimizer_dropdown.value = name
    widget.play.value = 23
    trace = expected_trace(name, widget.eta_slider.value, DEFAULT_START["2d"])
    assert_shows(widget, trace)
    np.testing.assert_allclose(widget.trace[-1].params, trace[-1].params, atol=1e-12)
    assert widget.batch_slider.disabled == (name != "minibatch")
    if name in ("sgd", "minibatch"):
        assert "epoch" in widget.message.value


def test_eta_slider_is_logarithmic_and_recomputes(widget):
    assert type(widget.eta_slider).__name__ == "FloatLogSlider"
    widget.play.value = 10
    before = shown(widget)[0].copy()
    widget.eta_slider.value = 0.001
    assert widget.index == 10
    trace = expected_trace("gd", widget.eta_slider.value, DEFAULT_START["2d"])
    assert_shows(widget, trace)
    assert not np.allclose(shown(widget)[0], before)


def test_batch_slider_changes_the_minibatch_run(widget):
    widget.optimizer_dropdown.value = "minibatch"
    widget.play.value = 12
    for batch in (2, 7, 20):
        widget.batch_slider.value = batch
        trace = expected_trace("minibatch", 0.01, DEFAULT_START["2d"], batch=batch)
        assert_shows(widget, trace)
        assert all(len(s.batch) <= batch for s in widget.trace[:-1])


def test_function_toggle_switches_to_the_1d_function(widget):
    widget.function_toggle.value = "1d"
    widget.play.value = 15
    np.testing.assert_allclose(widget.start, DEFAULT_START["1d"])
    trace = expected_trace("gd", 0.01, DEFAULT_START["1d"], function="1d")
    assert_shows(widget, trace, function="1d")
    widget.optimizer_dropdown.value = "sgd"  # no examples: full-batch, and the widget says so
    assert_shows(widget, expected_trace("sgd", 0.01, DEFAULT_START["1d"], function="1d"), function="1d")
    assert "no examples" in widget.message.value
    widget.function_toggle.value = "2d"
    assert widget.ax.get_xlabel() == "w"
    assert_shows(widget, expected_trace("sgd", 0.01, DEFAULT_START["2d"]))


def click(widget, ax, x, y, button=1):
    px, py = ax.transData.transform((x, y))
    event = MouseEvent("button_press_event", widget.fig.canvas, px, py, button=button)
    widget.fig.canvas.callbacks.process("button_press_event", event)


def test_click_on_the_contours_sets_the_start(widget):
    widget.optimizer_dropdown.value = "adam"
    widget.play.value = 8
    click(widget, widget.ax, 2.5, 4.0)
    np.testing.assert_allclose(widget.start, [2.5, 4.0], atol=1e-9)
    trace = expected_trace("adam", 0.01, widget.start)
    np.testing.assert_allclose(widget.trace[0].params, [2.5, 4.0], atol=1e-9)
    assert_shows(widget, trace)
    click(widget, widget.ax_loss, 30, 1.0)          # the loss plot is not a start picker
    click(widget, widget.ax, 0.0, 0.0, button=3)    # nor is a right click
    np.testing.assert_allclose(widget.start, [2.5, 4.0], atol=1e-9)
    widget.function_toggle.value = "1d"
    widget.fig.canvas.draw()
    click(widget, widget.ax, -1.5, 0.0)
    assert widget.start.shape == (1,) and widget.start[0] == pytest.approx(-1.5, abs=1e-9)
    assert_shows(widget, expected_trace("adam", 0.01, [widget.start[0]], function="1d"), function="1d")


def test_set_start_rejects_bad_points(widget):
    with pytest.raises(ValueError, match="finite"):
        widget.set_start(np.nan, 0.0)
    with pytest.raises(ValueError, match="finite"):
        widget.set_start(1.0)  # (w, b) needs both


def test_a_diverging_run_is_shown_as_diverging(widget):
    limits = (widget.ax.get_xlim(), widget.ax.get_ylim())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow warnings either
        widget.eta_slider.value = 0.05  # above 2/λ_max ≈ 0.0316
        widget.play.value = widget.last_index
    assert widget.trace[-1].diverged and len(widget.trace) < STEPS + 1
    assert widget.status_text.get_text() == "diverged"
    assert "diverged at step" in widget.message.value
    assert (widget.ax.get_xlim(), widget.ax.get_ylim()) == limits
    widget.fig.canvas.draw()  # drawing far-away points is fine
    assert (widget.ax.get_xlim(), widget.ax.get_ylim()) == limits
    widget.back_button.click()
    assert widget.status_text.get_text() == ""
    widget.eta_slider.value = 0.01
    assert not widget.trace[-1].diverged and "diverged" not in widget.message.value


def test_eta_just_above_the_stability_limit_is_shown_as_diverging():
    """η = 0.032 is just above 2/λ_max ≈ 0.03163: the loss only grows about 4.7 % per step (to about 1.5e5 at
    step 150, far below 1e10), and the widget must still say "diverged"; just below the limit it must not."""
    widget = GDExplorer()  # the default 150 steps
    widget.fig.canvas.draw()
    limits = (widget.ax.get_xlim(), widget.ax.get_ylim())
    assert not widget.trace[-1].diverged and len(widget.trace) == 151          # the default run converges
    assert widget.status_text.get_text() == "" and "diverged" not in widget.message.value
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        widget.eta_slider.value = 0.032
        widget.play.value = widget.last_index
    expected = optim.optimize(optim.regression_20_problem(), optim.GD(0.032), DEFAULT_START["2d"], 150)
    assert expected[-1].diverged and widget.diverged_at == expected[-1].step < 150
    assert widget.state.diverged and widget.status_text.get_text() == "diverged"
    assert f"diverged at step {widget.diverged_at}" in widget.message.value
    assert_shows(widget, expected)
    assert widget.state.loss > 100 * widget.trace[0].loss
    widget.fig.canvas.draw()
    assert (widget.ax.get_xlim(), widget.ax.get_ylim()) == limits                # the view keeps its bounds
    for eta in (0.0316, 0.031):                                                  # just below the limit
        widget.eta_slider.value = eta
        widget.play.value = widget.last_index
        assert len(widget.trace) == 151 and not any(s.diverged for s in widget.trace)
        assert widget.status_text.get_text() == "" and "diverged" not in widget.message.value
    # the optimizers at the learning rates the notebook suggests do not diverge either
    for name, eta in [("sgd", 0.004), ("minibatch", 0.01), ("momentum", 0.005), ("adagrad", 1.0),
                      ("rmsprop", 0.05), ("adam", 0.1)]:
        widget.optimizer_dropdown.value = name
        widget.eta_slider.value = eta
        assert widget.diverged_at is None, (name, eta)


@pytest.mark.parametrize("kwargs, message", [
    ({"eta": -1}, r"eta must be a positive number \(the learning rate η\), got -1"),
    ({"eta": 0}, "eta must be a positive number"),
    ({"eta": float("nan")}, "eta must be a positive number"),
    ({"eta": "fast"}, "eta must be a positive number"),
    ({"eta": 5.0}, r"eta must lie in the η slider's range \[0.0001, 3.162\], got 5.0"),
    ({"batch_size": 0}, r"batch_size must be an integer from 1 to 20 \(the number of examples\), got 0"),
    ({"batch_size": 21}, "batch_size must be an integer from 1 to 20"),
    ({"batch_size": 2.5}, "batch_size must be an integer"),
    ({"optimizer": "x"}, "optimizer must be one of 'gd', 'sgd', 'minibatch', 'momentum', 'adagrad', 'rmsprop', "
                         "'adam'; got 'x'"),
    ({"optimizer": None}, "optimizer must be one of"),
    ({"function": "3d"}, "function must be '2d'"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"steps": True}, "steps must be a positive integer"),
    ({"start": [1.0, 2.0, 3.0]}, r"start must be 2 finite numbers \(w, b\) for function '2d'"),
    ({"start": [np.inf, 0.0]}, "start must be 2 finite numbers"),
    ({"start": "here"}, "start must be 2 finite numbers"),
    ({"function": "1d", "start": [1.0, 2.0]}, "start must be 1 finite number θ for function '1d'"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GDExplorer(**kwargs)


def test_the_dropdown_offers_exactly_the_optimizers_make_optimizer_knows():
    """The optimizer argument is checked against optim.OPTIMIZERS, the dropdown shows OPTIONS: the same names."""
    assert [value for _, value in OPTIONS] == list(optim.OPTIMIZERS)


def test_good_arguments_are_taken_as_given():
    w = GDExplorer(optimizer="Adam", eta=0.1, batch_size=20, steps=30, function="1d", start=[-1.5])
    assert (w.optimizer_name, w.eta_slider.value, w.batch_slider.value, w.steps) == ("adam", 0.1, 20, 30)
    np.testing.assert_allclose(w.start, [-1.5])
    assert_shows(w, expected_trace("adam", 0.1, [-1.5], function="1d", steps=30), function="1d")


def test_status_line_reports_the_run_and_the_current_state(widget):
    """The line under the figure names the optimizer and η, and gives the step's (w, b) and loss
    (the browser test reads the trajectory from it)."""
    widget.optimizer_dropdown.value = "adam"
    trace = expected_trace("adam", 0.01, DEFAULT_START["2d"])
    said = []
    for i in range(4):
        s = trace[i]
        assert widget.message.value.startswith(
            f"Adam, η = 0.01, step {i}: w = {s.params[0]:.4g}, b = {s.params[1]:.4g}, loss = {s.loss:.4g}")
        said.append(widget.message.value)
        widget.step_button.click()
    assert len(set(said)) == 4
    widget.function_toggle.value = "1d"
    assert widget.message.value.startswith("Adam, η = 0.01, step 4: θ = ")


def test_step_latency_is_reported(widget, capsys):
    """Measured and printed, not asserted (the machine is shared)."""
    blit, full = [], []
    for _ in range(20):
        t = time.perf_counter()
        widget.step()
        blit.append(time.perf_counter() - t)
    for _ in range(20):
        t = time.perf_counter()
        widget.step()
        widget.fig.canvas.draw()
        full.append(time.perf_counter() - t)
    with capsys.disabled():
        print(f"\nGDExplorer step (blitted): median {1000 * np.median(blit):.1f} ms, worst {1000 * max(blit):.1f} ms;"
              f" step + fig.canvas.draw(): median {1000 * np.median(full):.1f} ms, worst {1000 * max(full):.1f} ms")


def test_widget_displays_itself(widget):
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    children = widget.box.children
    assert widget.fig.canvas in children
