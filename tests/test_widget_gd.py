"""The gradient-descent explorer, driven from Python: every control changes what is shown as it should.

The expected runs are computed here, independently of the widget's own
wiring, by calling coursekit.optim with the optimizer classes directly.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from coursekit import optim
from coursekit.widgets.gd import DEFAULT_START, ETA_CHOICES, OPTIONS, GDExplorer, edge_markers

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
    assert widget.scrubber.value == 37 and widget.counter.value.startswith(f"<b>step 37 / {STEPS}</b>")
    widget.scrubber.value = 12  # dragging the scrubber
    assert widget.index == 12
    assert_shows(widget, trace)
    widget.reset_button.click()
    assert widget.index == 0
    assert_shows(widget, trace)
    assert widget.back_button.disabled
    widget.end_button.click()
    assert widget.index == widget.last_index == STEPS
    assert widget.step_button.disabled and widget.end_button.disabled
    widget.step_button.click()
    assert widget.index == STEPS


@pytest.mark.parametrize("name, eta", [("gd", 0.02), ("sgd", 0.004), ("minibatch", 0.01), ("momentum", 0.005),
                                       ("adagrad", 0.8), ("rmsprop", 0.05), ("adam", 0.1)])
def test_each_optimizer_shows_its_own_trace(widget, name, eta):
    widget.set_eta(eta)
    widget.optimizer_dropdown.value = name
    widget.play.value = 23
    trace = expected_trace(name, widget.eta, DEFAULT_START["2d"])
    assert_shows(widget, trace)
    np.testing.assert_allclose(widget.trace[-1].params, trace[-1].params, atol=1e-12)
    assert widget.batch_slider.disabled == (name != "minibatch")
    if name in ("sgd", "minibatch"):
        assert "epoch" in widget.message.value


def test_eta_is_a_choice_of_teaching_values_or_a_typed_value(widget):
    choices = [value for _, value in widget.eta_choice.options]
    assert choices == list(ETA_CHOICES) and {0.03, 0.035, 0.01, 0.001} <= set(choices)
    assert widget.eta_choice.value == widget.eta == 0.01
    widget.play.value = 10
    before = shown(widget)[0].copy()
    widget.eta_choice.value = 0.001  # a choice from the list
    assert widget.eta == widget.eta_text.value == 0.001
    assert widget.index == 0, "a new run starts at step 0"
    widget.play.value = 10
    assert_shows(widget, expected_trace("gd", 0.001, DEFAULT_START["2d"]))
    assert not np.allclose(shown(widget)[0], before)
    widget.eta_text.value = 0.0123  # typed: the list goes blank, the run uses the typed value
    assert widget.eta == 0.0123 and widget.eta_choice.value is None
    assert widget.index == 0
    widget.play.value = 10
    assert_shows(widget, expected_trace("gd", 0.0123, DEFAULT_START["2d"]))
    assert "η = 0.0123" in widget.message.value
    widget.eta_text.value = 0.03  # typing a value of the list selects it there
    assert widget.eta_choice.value == 0.03


def test_eta_003_converges_slowly_zigzagging_and_0035_is_flagged_diverged(widget):
    """2/λ_max ≈ 0.0316 on C(w, b): 0.03 is just below (each step overshoots the valley's floor in its steep
    direction, so θ zig-zags across it, while the flat direction shrinks by only 1 - 0.03 λ_min ≈ 0.984 per step),
    0.035 just above (the steep direction grows by |1 - 0.035 λ_max| ≈ 1.21 per step)."""
    problem = optim.regression_20_problem()
    H = 2 * np.array([[np.mean(problem.x ** 2), np.mean(problem.x)], [np.mean(problem.x), 1.0]])  # ∇²C
    lam, vec = np.linalg.eigh(H)
    w_star = np.array(optim.least_squares_solution(problem.x, problem.y))
    min_loss = problem.loss(w_star)

    widget = GDExplorer()  # the default 150 steps
    widget.eta_choice.value = 0.03
    assert 0.03 < 2 / lam[-1] < 0.035
    assert widget.diverged_at is None and len(widget.trace) == 151
    steep = np.array([(s.params - w_star) @ vec[:, -1] for s in widget.trace])
    assert np.all(np.sign(steep[1:60]) == -np.sign(steep[:59])), "θ zig-zags across the valley at every step"
    losses = np.array([s.loss for s in widget.trace])
    assert losses[-1] < 0.1 * losses[0] and losses[-1] > 2 * min_loss, "converging, but slowly: not there yet"
    widget.end_button.click()
    assert widget.status.kind == "running" and "min" in widget.status.text

    widget.eta_choice.value = 0.035
    assert widget.diverged_at is not None and widget.diverged_at < 20
    widget.end_button.click()
    assert widget.state.diverged and widget.status.text.startswith("diverged") and widget.status.kind == "bad"
    assert f"diverged at step {widget.diverged_at}" in widget.message.value


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
    assert widget.index == 0 and widget.counter.value.startswith("<b>step 0 /"), "a new start restarts at step 0"
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
        widget.eta_choice.value = 0.05  # above 2/λ_max ≈ 0.0316
        widget.play.value = widget.last_index
    assert widget.trace[-1].diverged and len(widget.trace) < STEPS + 1
    assert widget.status.text.startswith("diverged")
    assert "diverged at step" in widget.message.value
    assert (widget.ax.get_xlim(), widget.ax.get_ylim()) == limits
    widget.fig.canvas.draw()  # drawing far-away points is fine
    assert (widget.ax.get_xlim(), widget.ax.get_ylim()) == limits
    widget.back_button.click()
    assert not widget.status.text.startswith("diverged")
    widget.eta_choice.value = 0.01
    assert not widget.trace[-1].diverged and "diverged" not in widget.message.value


@pytest.mark.slow  # several full runs of 150 steps, each drawn
def test_eta_just_above_the_stability_limit_is_shown_as_diverging():
    """η = 0.032 is just above 2/λ_max ≈ 0.03163: the loss only grows about 4.7 % per step (to about 1.5e5 at
    step 150, far below 1e10), and the widget must still say "diverged"; just below the limit it must not."""
    widget = GDExplorer()  # the default 150 steps
    widget.fig.canvas.draw()
    limits = (widget.ax.get_xlim(), widget.ax.get_ylim())
    assert not widget.trace[-1].diverged and len(widget.trace) == 151          # the default run converges
    assert "diverged" not in widget.status.text and "diverged" not in widget.message.value
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        widget.eta_text.value = 0.032
        widget.play.value = widget.last_index
    expected = optim.optimize(optim.regression_20_problem(), optim.GD(0.032), DEFAULT_START["2d"], 150)
    assert expected[-1].diverged and widget.diverged_at == expected[-1].step < 150
    assert widget.state.diverged and widget.status.text.startswith("diverged")
    assert f"diverged at step {widget.diverged_at}" in widget.message.value
    assert_shows(widget, expected)
    assert widget.state.loss > 100 * widget.trace[0].loss
    widget.fig.canvas.draw()
    assert (widget.ax.get_xlim(), widget.ax.get_ylim()) == limits                # the view keeps its bounds
    for eta in (0.0316, 0.031):                                                  # just below the limit
        widget.eta_text.value = eta
        widget.play.value = widget.last_index
        assert len(widget.trace) == 151 and not any(s.diverged for s in widget.trace)
        assert "diverged" not in widget.status.text and "diverged" not in widget.message.value
    # the optimizers at the learning rates the notebook suggests do not diverge either
    for name, eta in [("sgd", 0.004), ("minibatch", 0.01), ("momentum", 0.005), ("adagrad", 1.0),
                      ("rmsprop", 0.05), ("adam", 0.1)]:
        widget.optimizer_dropdown.value = name
        widget.set_eta(eta)
        assert widget.diverged_at is None, (name, eta)


@pytest.mark.parametrize("kwargs, message", [
    ({"eta": -1}, r"eta must be a positive number \(the learning rate η\), got -1"),
    ({"eta": 0}, "eta must be a positive number"),
    ({"eta": float("nan")}, "eta must be a positive number"),
    ({"eta": "fast"}, "eta must be a positive number"),
    ({"eta": 5.0}, r"eta must lie in the η control's range \[0.0001, 3.162\], got 5.0"),
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
    assert (w.optimizer_name, w.eta, w.batch_slider.value, w.steps) == ("adam", 0.1, 20, 30)
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
    assert widget.message.value.startswith("Adam, η = 0.01, step 0: θ = 1.6, ")  # a new run: step 0


def test_widget_displays_itself(widget):
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    children = widget.box.children
    assert widget.fig.canvas in children


def test_every_change_restarts_at_step_0(widget):
    for change in (lambda: setattr(widget.optimizer_dropdown, "value", "momentum"),
                   lambda: setattr(widget.eta_choice, "value", 0.003),
                   lambda: setattr(widget.eta_text, "value", 0.004),
                   lambda: widget.set_start(2.0, 3.0),
                   lambda: setattr(widget.optimizer_dropdown, "value", "minibatch"),
                   lambda: setattr(widget.batch_slider, "value", 3),
                   lambda: setattr(widget.function_toggle, "value", "1d")):
        widget.scrubber.value = 34
        change()
        assert widget.index == 0 and widget.scrubber.value == 0
        assert len(widget.trajectory_line.get_xdata()) == 1 and widget.status.text.startswith("step 0 /")


def test_compare_keeps_exactly_one_faint_previous_run(widget):
    def ghosts():
        return [a for ax in (widget.ax, widget.ax_loss) for a in ax.get_children() if a.get_gid() == "ghost"]

    widget.optimizer_dropdown.value = "adam"
    assert ghosts() == []
    widget.compare_toggle.value = True
    adam = expected_trace("adam", 0.01, DEFAULT_START["2d"])
    widget.optimizer_dropdown.value = "momentum"
    kept = ghosts()
    assert len(kept) == 3 and all(a.get_alpha() < 1 for a in kept)  # path, its end, its loss curve
    path = next(a for a in kept if a.get_label().startswith("previous"))
    assert path.get_label() == "previous: Adam, η = 0.01"
    np.testing.assert_allclose(np.column_stack(path.get_data()), [s.params for s in adam], atol=1e-12)
    assert "previous: Adam, η = 0.01" in [t.get_text() for t in widget.fig.legends[0].get_texts()]
    for eta in (0.003, 0.02, 0.005):
        widget.eta_choice.value = eta
        assert len(ghosts()) == 3, "never more than one previous run"
    assert next(a for a in ghosts() if a.get_label().startswith("previous")).get_label() == \
        "previous: momentum (α = 0.9), η = 0.02"
    widget.clear_button.click()
    assert ghosts() == [] and widget.clear_button.disabled
    widget.eta_choice.value = 0.01
    assert len(ghosts()) == 3
    widget.function_toggle.value = "1d"  # another surface: nothing to compare with
    assert ghosts() == []
    widget.compare_toggle.value = False
    widget.set_start(-1.5)
    assert ghosts() == []


def test_legend_is_outside_the_data_and_names_the_current_point(widget):
    widget.fig.canvas.draw()
    renderer = widget.fig.canvas.get_renderer()
    legend = widget.fig.legends[0].get_window_extent(renderer)
    for ax in (widget.ax, widget.ax_loss):
        assert not legend.overlaps(ax.get_window_extent(renderer)), "the legend must not cover a plot"
    labels = [t.get_text() for t in widget.fig.legends[0].get_texts()]
    assert any("this step" in label for label in labels) and any("trajectory" in label for label in labels)
    assert widget.ax.get_legend() is None and widget.ax_loss.get_legend() is None


def test_contours_carry_their_values(widget):
    labels = [t for t in widget.ax.texts if t.get_text()]
    values = [float(t.get_text()) for t in labels]
    assert len(values) >= 3
    problem = optim.regression_20_problem()
    for text, value in zip(labels, values):  # each label sits on its contour: C there is its value
        w, b = text.get_position()
        assert problem.loss(np.array([w, b])) == pytest.approx(value, rel=0.06)


def test_runs_that_leave_the_view_leave_a_mark_on_its_edge(widget):
    x0, x1, y0, y1 = widget.view
    widget.optimizer_dropdown.value = "momentum"
    widget.set_eta(0.03)
    widget.end_button.click()
    points = np.array([s.params for s in widget.trace])
    outside = (points[:, 0] < x0) | (points[:, 0] > x1) | (points[:, 1] < y0) | (points[:, 1] > y1)
    assert outside.any(), "this run leaves the view"
    marks = np.concatenate([a.get_offsets().reshape(-1, 2) for a in widget.edge_artists])
    assert len(marks) == outside.sum()
    on_edge = np.isclose(marks[:, 0], x0) | np.isclose(marks[:, 0], x1) | np.isclose(marks[:, 1], y0) | \
        np.isclose(marks[:, 1], y1)
    assert on_edge.all()
    widget.reset_button.click()
    assert sum(len(a.get_offsets()) for a in widget.edge_artists) == 0, "the start is inside the view"
    # the side: the way the point went
    where, side = edge_markers([[5.0, 0.0], [0.0, -9.0], [-3.0, 1.0], [1.0, 8.0], [1.0, 0.0]], widget.view)
    np.testing.assert_array_equal(side, [1, 2, 0, 3])
    np.testing.assert_allclose(where, [[x1, 0.0], [0.0, y0], [x0, 1.0], [1.0, y1]])


def test_the_1d_view_shows_both_valleys_large():
    widget = GDExplorer(function="1d")
    f = optim.double_well()
    theta = np.linspace(-2.5, 2.5, 20001)
    values = np.array([f.loss([t]) for t in theta])
    minima = [i for i in range(1, len(theta) - 1) if values[i] < values[i - 1] and values[i] < values[i + 1]]
    hump = max(range(minima[0], minima[1]), key=lambda i: values[i])
    low, high = widget.ax.get_ylim()
    left, right = widget.ax.get_xlim()
    for i in (*minima, hump):
        assert left < theta[i] < right and low < values[i] < high
    # the valleys and the hump between them fill a good part of the height, not its bottom 15 %
    span = values[hump] - min(values[minima])
    assert span / (high - low) > 0.2
    start = DEFAULT_START["1d"][0]
    assert low < f.loss([start]) < high, "the default start is in view"


def test_the_state_is_drawn_large_on_the_plot(widget):
    assert widget.status.headline.get_fontsize() >= 12 and widget.status.headline.axes is widget.ax_loss
    widget.play.value = 7
    assert widget.status.text.splitlines()[0] == f"step 7 / {STEPS}"
    assert f"loss {widget.state.loss:.4g}" in widget.status.text
    widget.optimizer_dropdown.value = "adam"
    widget.set_eta(0.3)
    if widget.converged_at is not None:
        widget.end_button.click()
        assert widget.status.text.startswith("converged") and widget.status.kind == "ok"
