"""The PLA stepper, driven through its controls without a browser.

Every expectation is recomputed here from the data the widget holds, with a
plain PLA loop written from the slide (not coursekit.perceptron_trace), so a
widget that showed the wrong step, the wrong point or the wrong line fails.
"""
import re

import numpy as np
import pytest
from matplotlib.backend_bases import MouseButton, MouseEvent

from coursekit import datasets
from coursekit import perceptron as P
from coursekit.widgets.pla import PLAStepper, half_plane, line_segment


# ---------------------------------------------------------------- helpers ---

def slide_pla(X, y, order, max_updates):
    """Cyclic PLA as on the slide, on raw 2-D X: visit points in `order`,
    correct the first mistake (sign(0) counts), continue after it, halt after
    a clean full cycle or when one more update would exceed `max_updates`.

    Returns the list of weights w_0, w_1, ..., the picked points n_1, n_2, ...
    and whether it halted with no mistakes."""
    Xb = np.hstack([np.ones((len(X), 1)), X])
    w = np.zeros(3)
    ws, picked = [w], []
    i, clean, N = 0, 0, len(y)
    while clean < N:
        n = order[i % N]
        if np.sign(w @ Xb[n]) != y[n]:
            if len(picked) == max_updates:
                return ws, picked, False
            w = w + y[n] * Xb[n]
            ws.append(w)
            picked.append(int(n))
            clean = 0
        else:
            clean += 1
        i += 1
    return ws, picked, True


def n_mistakes(w, X, y):
    return int(np.sum(np.sign(w[0] + X @ w[1:]) != y))


def expected_run(widget):
    order = np.arange(len(widget.y)) if widget.cycle == "naive" else \
        np.random.default_rng(widget.seed).permutation(len(widget.y))
    return slide_pla(widget.X, widget.y, order, widget.max_updates)


def on_line(line, w):
    """Both drawn end points of `line` satisfy w0 + w1 x1 + w2 x2 = 0
    (and there is no line at all when w1 = w2 = 0)."""
    x1, x2 = (np.asarray(v, dtype=float) for v in line.get_data())
    if not np.any(w[1:]):
        return len(x1) == 0
    assert len(x1) == 2, "the line should be drawn"
    scale = np.abs(w).max()
    return np.allclose((w[0] + w[1] * x1 + w[2] * x2) / scale, 0.0, atol=1e-9)


def arrow_tip(arrow, start):
    """A FancyArrow drawn with length_includes_head ends exactly at its tip: the
    vertex of its outline farthest from where it starts."""
    xy = arrow.get_xy()
    return xy[np.argmax(np.linalg.norm(xy - np.asarray(start), axis=1))]


def click(widget, ax, x1, x2, button=MouseButton.LEFT):
    """A mouse press at data coordinates (x1, x2) of `ax`, through matplotlib's event machinery."""
    px, py = ax.transData.transform((x1, x2))
    event = MouseEvent("button_press_event", widget.fig.canvas, px, py, button=button)
    widget.fig.canvas.callbacks.process("button_press_event", event)


def click_pixel(widget, px, py):
    event = MouseEvent("button_press_event", widget.fig.canvas, px, py, button=MouseButton.LEFT)
    widget.fig.canvas.callbacks.process("button_press_event", event)


@pytest.fixture
def widget():
    w = PLAStepper(dataset="separable", seed=0)
    w.fig.canvas.draw()  # as the browser would, so blitting is active
    return w


# ------------------------------------------------------------------ steps ---

def test_steps_follow_the_slide_loop(widget):
    ws, picked, halted = expected_run(widget)
    assert halted and len(picked) >= 3, "seed 0 separable data should need a few updates"
    assert widget.index == 0
    assert len(widget.highlight.get_offsets()) == 0, "no mistake is picked at t = 0"
    assert widget.boundary_line.get_data()[0] == [], "w = 0 has no line"
    last = len(picked)  # one step per update: t = 0, 1, ..., T; the last one also says that PLA halted
    assert widget.last_index == last
    assert widget.counter.value.startswith(f"<b>update 0 / {last}</b>")
    assert "PLA, naive cycle" in widget.counter.value
    for t, n in enumerate(picked, start=1):
        widget.step_button.click()
        assert widget.index == t and widget.state.t == t
        assert f"<b>update {t} / {last}</b>" in widget.counter.value
        np.testing.assert_allclose(widget.state.w, ws[t])
        np.testing.assert_allclose(widget.highlight.get_offsets(), widget.X[[n]])
        assert on_line(widget.boundary_line, ws[t])
        assert on_line(widget.previous_boundary_line, ws[t - 1])
        assert widget.previous_boundary_line.get_linestyle() == "--"
        assert widget.boundary_line.get_linestyle() == "-"
        assert widget.message.value.startswith(f"update {t}: point #{n} was misclassified")
        assert f"y = {int(widget.y[n]):+d}" in widget.message.value
        score = ws[t - 1] @ np.r_[1.0, widget.X[n]]
        assert f"w·x = {score:+.2f}" in widget.message.value
        # the arrows: w_{t-1}, then y_n x_n from its tip, ending where w_t ends
        s = widget.arrow_scale
        if np.any(ws[t - 1][1:]):
            np.testing.assert_allclose(arrow_tip(widget.w_before_arrow, (0, 0)), s * ws[t - 1][1:], atol=1e-9)
        else:
            assert not widget.w_before_arrow.get_visible()
        np.testing.assert_allclose(arrow_tip(widget.update_arrow, s * ws[t - 1][1:]), s * ws[t][1:], atol=1e-9)
        np.testing.assert_allclose(arrow_tip(widget.w_arrow, (0, 0)), s * ws[t][1:], atol=1e-9)
        assert f"{ws[t][1]:+.2f}" in widget.w_text.get_text()
        x, m = widget.current_marker.get_data()
        assert (x[0], m[0]) == (t, n_mistakes(ws[t], widget.X, widget.y))
    # the last update is where PLA halts: it says so, on the plot and in words
    assert widget.index == widget.last_index
    assert "PLA halts: no mistakes in a full cycle" in widget.message.value
    assert widget.status.text.startswith("converged") and widget.status.kind == "ok"
    assert f"after {len(picked)} updates" in widget.status.text
    assert n_mistakes(widget.state.w, widget.X, widget.y) == 0
    assert widget.step_button.disabled and widget.end_button.disabled
    widget.step_button.click()  # at the end, Step does nothing
    assert widget.index == widget.last_index


SUBSCRIPT = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def title_update(widget) -> int:
    """The t of the w_t that the title shows (its first subscript number)."""
    match = re.match(r"w([₀₁₂₃₄₅₆₇₈₉]+) =", widget.w_text.get_text())
    assert match, widget.w_text.get_text()
    return int(match.group(1).translate(SUBSCRIPT))


@pytest.mark.parametrize("dataset", ["separable", "noisy"])
def test_the_counter_counts_the_updates_of_the_title_at_every_step(dataset):
    w = PLAStepper(dataset=dataset)
    ws, picked, halted = expected_run(w)
    for index in range(w.last_index + 1):
        w.scrubber.value = index
        shown = int(re.search(r"update (\d+) / (\d+)", w.counter.value).group(1))
        assert shown == title_update(w) == w.state.t == index
        assert f"update {index} / {len(picked)}" in w.status.text or w.state.halted
        if index:
            assert w.message.value.startswith(f"update {index}:")
    assert int(re.search(r"/ (\d+)", w.counter.value).group(1)) == len(picked), "the total is the updates made"
    # every step changes what is shown: no last step that draws the same w again
    assert len({tuple(s.w) for s in w.trace}) == len(w.trace) or dataset == "noisy"


def test_back_reset_and_play(widget):
    ws, picked, _ = expected_run(widget)
    for _ in range(3):
        widget.step_button.click()
    widget.back_button.click()
    assert widget.index == 2
    np.testing.assert_allclose(widget.highlight.get_offsets(), widget.X[[picked[1]]])
    assert on_line(widget.boundary_line, ws[2])
    widget.reset_button.click()
    assert widget.index == 0 and widget.back_button.disabled and widget.reset_button.disabled
    assert len(widget.highlight.get_offsets()) == 0
    assert widget.message.value.startswith("t = 0")
    widget.play.value = 3  # what the Play widget does on each tick
    assert widget.index == 3 and widget.scrubber.value == 3
    np.testing.assert_allclose(widget.highlight.get_offsets(), widget.X[[picked[2]]])
    assert on_line(widget.boundary_line, ws[3]) and on_line(widget.previous_boundary_line, ws[2])
    # Pause pauses where it is: no rewinding (Reset does that)
    widget.play_button.value = True
    assert widget.player.playing and widget.play_button.description == "Pause"
    widget.play.value = 5
    widget.play_button.value = False
    assert not widget.player.playing and widget.index == 5 and widget.play_button.description == "Play"


def test_scrubber_and_to_end(widget):
    ws, picked, _ = expected_run(widget)
    widget.scrubber.value = widget.scrubber.max
    assert widget.index == widget.last_index == len(picked)
    np.testing.assert_allclose(widget.state.w, ws[-1])
    assert "PLA halts" in widget.message.value
    widget.reset_button.click()
    assert widget.scrubber.value == 0
    widget.end_button.click()
    assert widget.index == widget.last_index and widget.scrubber.value == widget.last_index


def test_to_end_on_noisy_data_reaches_the_update_limit_quickly():
    w = PLAStepper(dataset="noisy")
    w.fig.canvas.draw()
    drawn = []
    render = w.render
    w.render = lambda state: (drawn.append(state.t), render(state))
    w.end_button.click()
    assert drawn == [200], "one jump to the end, not 200 redraws"
    assert w.state.t == w.max_updates == 200
    assert "stopped at the update limit" in w.message.value
    assert w.status.text.startswith("stopped at the update limit") and w.status.kind == "bad"


def test_mistakes_are_revealed_up_to_the_current_update_and_ringed(widget):
    ws, picked, _ = expected_run(widget)
    counts = [n_mistakes(w, widget.X, widget.y) for w in ws]
    for t in (0, 1, 4, len(picked)):
        widget.scrubber.value = t
        x, m = widget.mistake_curve.get_data()
        np.testing.assert_array_equal(x, np.arange(t + 1))  # no future: the ending is not given away
        np.testing.assert_array_equal(m, counts[:t + 1])
        wrong = np.sign(ws[t][0] + widget.X @ ws[t][1:]) != widget.y
        np.testing.assert_allclose(widget.wrong_rings.get_offsets(), widget.X[wrong].reshape(-1, 2))
        assert len(widget.wrong_rings.get_offsets()) == counts[t]
    assert widget.positive_region.get_alpha() >= 0.15, "the regions must be visible"


def test_every_change_restarts_at_update_0(widget):
    for change in (lambda: setattr(widget.cycle_toggle, "value", "random"),
                   lambda: setattr(widget.algorithm_toggle, "value", "pocket"),
                   lambda: setattr(widget.dataset_dropdown, "value", "noisy"),
                   lambda: widget.add_point(0.1, 0.2, 1)):
        widget.scrubber.value = 4
        change()
        assert widget.index == 0 and widget.scrubber.value == 0 and widget.counter.value.startswith("<b>update 0 /")
        assert len(widget.mistake_curve.get_xdata()) == 1


def test_compare_keeps_exactly_one_faint_previous_run(widget):
    def ghosts():
        return [a for ax in (widget.ax, widget.mistake_ax) for a in ax.get_children() if a.get_gid() == "ghost"]

    widget.cycle_toggle.value = "random"
    assert ghosts() == [] and widget.clear_button.disabled, "compare is off: nothing is kept"
    widget.compare_toggle.value = True
    naive = expected_run(widget)  # the random run, about to become the previous one
    widget.cycle_toggle.value = "naive"
    kept = ghosts()
    assert len(kept) == 2 and not widget.clear_button.disabled  # its mistake curve and its final line
    curve = next(a for a in kept if a.axes is widget.mistake_ax)
    np.testing.assert_array_equal(curve.get_ydata(), [n_mistakes(w, widget.X, widget.y) for w in naive[0]])
    assert curve.get_alpha() < 1 and "previous: PLA, random cycle" in curve.get_label()
    line = next(a for a in kept if a.axes is widget.ax)
    assert on_line(line, naive[0][-1])
    legend = [t.get_text() for t in widget.fig.legends[0].get_texts()]
    assert any(t.startswith("previous: PLA, random cycle") for t in legend)
    for _ in range(3):  # more changes: still exactly one previous run, the last one
        widget.cycle_toggle.value = "random" if widget.cycle == "naive" else "naive"
        assert len(ghosts()) == 2
    widget.dataset_dropdown.value = "noisy"  # other data: only its curve is comparable
    assert len(ghosts()) == 1
    widget.clear_button.click()
    assert ghosts() == [] and widget.clear_button.disabled
    widget.compare_toggle.value = False
    widget.dataset_dropdown.value = "separable"
    assert ghosts() == []


def test_shading_is_the_side_w_calls_positive(widget):
    widget.play.value = 2
    w = widget.state.w
    for region, sign in ((widget.positive_region, 1), (widget.negative_region, -1)):
        xy = region.get_xy()
        inner = xy.mean(axis=0)  # the centroid of a convex polygon lies inside it
        assert np.sign(w[0] + inner @ w[1:]) == sign
    assert half_plane(np.array([0.0, 0.0, 0.0]), widget.limits, 1).size == 0


def test_blitted_step_draws_the_same_image_as_a_full_draw(widget):
    canvas = widget.fig.canvas
    canvas.syncing_data_url = False  # what a live front-end sets; keeps this test quick
    widget.play.value = 2
    blitted = np.array(canvas.get_renderer().buffer_rgba())
    canvas.draw()
    full = np.array(canvas.get_renderer().buffer_rgba())
    assert (blitted != full).any(axis=-1).mean() < 1e-3
    widget.play.value = 1
    assert (np.array(canvas.get_renderer().buffer_rgba()) != full).any(), "a step must change the picture"
    # every image goes to the browser whole, so a lost one leaves no ghosts behind
    assert canvas._current_image_mode == "full"


# --------------------------------------------------------------- controls ---

def test_random_cycle_follows_cycle_order(widget):
    naive_first = expected_run(widget)[1]
    widget.play.value = 2
    widget.cycle_toggle.value = "random"
    assert widget.index == 0
    order = P.cycle_order(len(widget.y), "random", widget.seed)
    assert not np.array_equal(order, np.arange(len(widget.y)))
    ws, picked, _ = slide_pla(widget.X, widget.y, order, widget.max_updates)
    assert picked[0] == order[0], "every point is a mistake of w = 0: the first one visited is picked"
    assert picked != naive_first
    assert len(widget.trace) == len(picked) + 1
    for t, n in enumerate(picked[:5], start=1):
        widget.step_button.click()
        np.testing.assert_allclose(widget.highlight.get_offsets(), widget.X[[n]])
        assert on_line(widget.boundary_line, ws[t])
    assert "random cycle" in widget.counter.value


def test_dataset_chooser_loads_each_data_set(widget):
    widget.play.value = 2
    widget.dataset_dropdown.value = "noisy"
    X, y = datasets.noisy_separable(n=40, margin=0.1, noise=0.1, seed=0)
    np.testing.assert_array_equal(widget.X, X)
    np.testing.assert_array_equal(widget.y, y)
    assert widget.index == 0
    ws, picked, halted = expected_run(widget)
    assert len(widget.trace) == len(picked) + 1
    np.testing.assert_allclose(widget.trace[-1].w, ws[-1])

    limits = widget.ax.get_xlim(), widget.ax.get_ylim()
    for _ in range(5):
        widget.step_button.click()
        assert (widget.ax.get_xlim(), widget.ax.get_ylim()) == limits, "the axes must not jump while stepping"

    widget.dataset_dropdown.value = "credit approval"
    raw, y = datasets.credit_approval(n=40, seed=0)
    z = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    np.testing.assert_allclose(widget.X, z)
    np.testing.assert_allclose(widget.X_raw, raw)
    assert "standardized" in widget.ax.get_xlabel() and "standardized" in widget.ax.get_ylabel()
    ws, picked, _ = expected_run(widget)
    widget.play.value = 1
    np.testing.assert_allclose(widget.highlight.get_offsets(), z[[picked[0]]])

    widget.dataset_dropdown.value = "separable"
    X, y = datasets.linearly_separable(n=40, margin=0.1, seed=0)
    np.testing.assert_array_equal(widget.X, X)
    assert widget.ax.get_xlabel() == "$x_1$"


def test_pocket_mode_draws_the_pocket_weights(widget):
    widget.dataset_dropdown.value = "noisy"
    assert not widget.pocket_line.get_visible()
    widget.play.value = 7
    widget.algorithm_toggle.value = "pocket"
    assert widget.index == 0, "a new run starts at update 0"
    assert widget.pocket_line.get_visible() and widget.pocket_curve.get_visible()

    ws, picked, halted = expected_run(widget)
    counts = [n_mistakes(w, widget.X, widget.y) for w in ws]
    widget.end_button.click()
    np.testing.assert_array_equal(widget.mistake_curve.get_ydata(), counts)
    pocket = widget.pocket_curve.get_ydata()
    assert np.all(np.diff(pocket) <= 0), "the pocket's mistake count never goes up"
    np.testing.assert_array_equal(pocket[:len(ws)], np.minimum.accumulate(counts))

    widget.reset_button.click()
    for t in range(1, 25):
        widget.step_button.click()
        best = int(np.argmin(counts[:t + 1]))  # the first w with the fewest mistakes so far
        np.testing.assert_allclose(widget.state.pocket_w, ws[best])
        if np.abs(ws[best][1:]).max() > 0:
            assert on_line(widget.pocket_line, widget.state.pocket_w)
        assert f"pocket ŵ: {counts[best]}" in widget.status.text
        assert f"pocket holds ŵ with {counts[best]} mistake(s)" in widget.message.value

    widget.algorithm_toggle.value = "pla"
    assert not widget.pocket_line.get_visible() and "ŵ" not in widget.status.text


def test_a_non_separable_set_stops_at_the_update_limit():
    # XOR: no line separates it, so PLA can only stop at its limit
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    y = np.array([1, 1, -1, -1])
    w = PLAStepper(X=X, y=y, max_updates=30)
    assert w.dataset == "your data" and "your data" in w.dataset_dropdown.options
    np.testing.assert_array_equal(w.X, X)
    assert len(w.trace) == 30 + 1
    w.play.value = w.last_index
    assert "stopped at the update limit" in w.message.value and "not separable" in w.message.value
    ws, picked, halted = slide_pla(X, y, np.arange(4), 30)
    assert not halted and len(picked) == 30
    np.testing.assert_allclose(w.state.w, ws[-1])


# ------------------------------------------------------------------ clicks ---

def test_clicks_add_points_with_the_toggled_label(widget):
    widget.play.value = 3
    N = len(widget.y)
    click(widget, widget.ax, 0.3, -0.4)
    assert len(widget.y) == N + 1 and widget.y[-1] == 1
    np.testing.assert_allclose(widget.X[-1], [0.3, -0.4], atol=1e-9)
    assert widget.index == 0 and "added point" in widget.message.value and "t = 0" in widget.message.value
    offsets = widget.positive_points.get_offsets()
    assert np.isclose(offsets, [0.3, -0.4]).all(axis=1).any(), "the new point is drawn as an o"

    widget.label_toggle.value = -1
    click(widget, widget.ax, -0.5, 0.6)
    assert len(widget.y) == N + 2 and widget.y[-1] == -1
    assert np.isclose(widget.negative_points.get_offsets(), [-0.5, 0.6]).all(axis=1).any()

    # the run is recomputed on the new data
    ws, picked, _ = expected_run(widget)
    assert len(widget.trace) == len(picked) + 1
    widget.play.value = 1
    np.testing.assert_allclose(widget.highlight.get_offsets(), widget.X[[picked[0]]])


def test_clicks_elsewhere_do_nothing(widget):
    widget.play.value = 2
    X, trace = widget.X.copy(), widget.trace
    click(widget, widget.mistake_ax, 1.0, 5.0)  # on the mistakes plot
    click_pixel(widget, 2, 2)  # in the figure's corner, outside every axes
    click(widget, widget.ax, 0.0, 0.0, button=MouseButton.RIGHT)
    assert widget.index == 2 and widget.trace is trace
    np.testing.assert_array_equal(widget.X, X)


def test_click_on_credit_data_uses_the_plotted_units():
    w = PLAStepper(dataset="credit approval")
    w.fig.canvas.draw()
    click(w, w.ax, 0.5, -0.25)
    np.testing.assert_allclose(w.X[-1], [0.5, -0.25], atol=1e-9)
    np.testing.assert_allclose(w.X_raw[-1], w.feature_mean + w.feature_scale * np.array([0.5, -0.25]))


def test_a_contradicting_point_makes_plain_pla_stop_at_its_limit(widget):
    # the same position with the opposite label: no line can get both right
    x = widget.X[0]
    widget.add_point(x[0], x[1], -int(widget.y[0]))
    assert not widget.trace[-1].converged
    widget.play.value = widget.last_index
    assert "update limit" in widget.message.value


# ---------------------------------------------------------------- errors ---

@pytest.mark.parametrize("kwargs, words", [
    (dict(X=np.zeros((5, 3)), y=np.ones(5)), "shape (N, 2)"),
    (dict(X=np.zeros((5, 2)), y=np.array([0, 1, 0, 1, 1])), "+1 or -1"),
    (dict(X=np.zeros((5, 2)), y=np.ones(4)), "shape (5,)"),
    (dict(X=np.zeros((5, 2))), "both X and y"),
    (dict(dataset="moons"), "dataset must be one of"),
    (dict(algorithm="adaline"), "algorithm must be one of"),
    (dict(cycle="shuffled"), "cycle must be one of"),
    (dict(max_updates=0), "max_updates"),
])
def test_bad_arguments_raise_clear_errors(kwargs, words):
    with pytest.raises(ValueError) as err:
        PLAStepper(**kwargs)
    assert words in str(err.value)


def test_add_point_rejects_a_bad_label(widget):
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        widget.add_point(0.0, 0.0, 0)


def test_line_segment_is_clipped_to_the_box():
    limits = (-1.0, 1.0, -2.0, 2.0)
    for w in ([0.3, 1.0, -0.2], [0.1, 0.2, 1.5], [-0.5, 0.0, 1.0], [0.5, 1.0, 0.0]):
        x1, x2 = line_segment(np.array(w), limits)
        assert np.allclose(w[0] + w[1] * np.array(x1) + w[2] * np.array(x2), 0.0)
    assert line_segment(np.array([1.0, 0.0, 0.0]), limits) == ([], [])


def test_a_point_added_in_code_outside_the_plot_widens_the_limits(widget):
    widget.add_point(5.0, -4.0, 1)
    a, b, c, d = widget.limits
    assert a < 5.0 < b and c < -4.0 < d
    assert widget.ax.get_xlim() == (a, b)
