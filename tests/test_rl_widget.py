"""The gridworld stepper, driven through its controls without a browser.

What it shows is recomputed here from the episode it holds and from first
principles: the agent's cell, the path, the return so far (Σ γ^t r), the
arrows (their lengths are the probabilities of the policy shown), the values
(the Bellman equations of that policy, by iteration), walls toggled by clicks.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.backend_bases import MouseButton, MouseEvent

from coursekit import rl
from coursekit.widgets.gridworld import ARROW_MAX, GridworldStepper, arrow_vectors

TINY = ("S . .", ". # P", ". . G")


@pytest.fixture(scope="module")
def trained():
    """A short REINFORCE run on the unit's world (100 episodes, a snapshot every 25)."""
    world = rl.GridWorld(slip=0.1, random_start=True)
    return rl.reinforce(world, episodes=100, batch=10, lr=0.02, seed=0, eval_every=25, eval_rollouts=1,
                        device="cpu")


def shown_arrows(widget):
    """The quiver's arrows as a (S, 4) table of lengths (0 where none is drawn)."""
    quiver = widget.world["quiver"]
    length = np.hypot(quiver.U, quiver.V)
    length[np.broadcast_to(np.asarray(quiver.Umask), length.shape)] = 0.0   # masked: not drawn
    return length.reshape(-1, 4)


def bellman_by_iteration(env, pi, gamma=0.9, sweeps=3000):
    P, r = env.model()
    V = np.zeros(env.n_states)
    for _ in range(sweeps):
        V = np.einsum("sa,sa->s", pi, r + gamma * P @ V)
    return V


def click(widget, row, col, button=MouseButton.LEFT):
    x, y = widget.ax.transData.transform((col, row))
    event = MouseEvent("button_press_event", widget.fig.canvas, x, y, button=button)
    widget.fig.canvas.callbacks.process("button_press_event", event)


def test_starts_at_s_and_steps_through_the_episode(trained):
    w = GridworldStepper(rl.GridWorld(slip=0.1), trained, mode="reinforce", snapshot=-1)
    episode = w.episode
    assert w.index == 0 and w.counter.value == f"<b>step 0 / {episode.length}</b>"
    assert tuple(w.agent_marker.get_data()[0]) == (0,) and tuple(w.agent_marker.get_data()[1]) == (4,)   # S
    G = 0.0
    for t in range(1, min(episode.length, 6) + 1):
        w.step_button.click()
        r = episode.rewards[t - 1]
        G += 0.9 ** (t - 1) * r
        row, col = episode.steps[t].position
        assert (w.agent_marker.get_xdata()[0], w.agent_marker.get_ydata()[0]) == (col, row)
        assert len(w.path_line.get_xdata()) == t + 1
        assert math.isclose(w.return_curve.get_ydata()[-1], G, abs_tol=1e-12)
        assert f"return so far G = {G:+.3f}" in w.status.text
        assert f"r = {r:+g}" in w.message.value
    w.back_button.click()
    assert w.index == min(episode.length, 6) - 1


def test_the_end_of_an_episode_is_stated(trained):
    w = GridworldStepper(rl.GridWorld(slip=0.1), trained, mode="reinforce")
    w.end_button.click()
    outcome = w.episode.outcome
    headline = {"goal": "reached the goal", "pit": "fell into the pit", "time limit": "cut off"}[outcome]
    assert w.status.text.startswith(headline) and w.index == w.last_index
    assert w.status.kind == {"goal": "ok", "pit": "bad", "time limit": "warn"}[outcome]


def test_value_iteration_arrows_and_values_on_the_3x3_world():
    """The optimal moves of the worked example, by hand: S and (1,0) down, (2,0) and (2,1) right,
    (0,1) and (0,2) left; one arrow of full length each, and V* of the hand computation."""
    env = rl.GridWorld(TINY, step_cost=-0.1)
    w = GridworldStepper(env, mode="vi")
    lengths = shown_arrows(w)
    expected = {(0, 0): 2, (1, 0): 2, (2, 0): 1, (2, 1): 1, (0, 1): 3, (0, 2): 3}
    for (r, c), a in expected.items():
        s = env.state_of(r, c)
        assert np.isclose(lengths[s, a], ARROW_MAX) and np.count_nonzero(lengths[s]) == 1, (r, c)
    assert np.count_nonzero(lengths[~env.free]) == 0                   # no arrows on walls, goal, pit
    assert np.allclose(w.values.reshape(3, 3), [[0.458, 0.3122, 0.18098], [0.62, 0, 0], [0.8, 1, 0]])
    assert w.world["value_texts"][0].get_text() == "+0.46"
    assert w.episode.outcome == "goal" and w.episode.length == 4         # deterministic: the best path
    assert w.training_slider.disabled and w.temperature_slider.disabled


def test_epsilon_spreads_the_arrows_and_lowers_the_values():
    env = rl.GridWorld(slip=0.1)
    w = GridworldStepper(env, mode="vi")
    V_star = w.values.copy()
    w.epsilon_slider.value = 0.4
    pi = w.behaviour
    greedy = rl.value_iteration(env)[-1].policy
    expected = np.full((25, 4), 0.1)
    expected[np.arange(25), greedy] += 0.6
    assert np.allclose(pi[env.free], expected[env.free])
    assert np.allclose(shown_arrows(w)[env.free], ARROW_MAX * expected[env.free])
    assert np.allclose(w.values, bellman_by_iteration(env, pi), atol=1e-9)
    assert np.all(w.values[env.free] < V_star[env.free])
    assert w.index == 0                                                  # a new episode from step 0


def test_the_training_slider_changes_the_arrows(trained):
    env = rl.GridWorld(slip=0.1)
    w = GridworldStepper(env, trained, mode="reinforce", snapshot=0)
    assert not w.training_slider.disabled and w.training_slider.max == 4
    assert w.snapshot_episode == 0 and "after <b>0</b> episodes" in w.training_label.value
    before = shown_arrows(w)
    assert np.allclose(before[env.free], ARROW_MAX * trained.snapshots[0][env.free])
    w.step_button.click()
    w.training_slider.value = 4
    after = shown_arrows(w)
    assert w.snapshot_episode == 100 and w.index == 0
    assert np.allclose(after[env.free], ARROW_MAX * trained.snapshots[4][env.free] *
                       (trained.snapshots[4][env.free] >= 0.03))
    assert np.abs(after - before).max() > 0.1
    assert np.allclose(w.values, bellman_by_iteration(env, trained.snapshots[4]), atol=1e-9)
    assert f"greedy reaches G in <b>{trained.success[4]:.0%}</b>" in w.training_label.value
    marker = w._learn_artists[-1]
    assert marker.get_xdata()[0] == 100 and marker.get_ydata()[0] == trained.success[4]


def test_temperature_reshapes_the_reinforce_policy(trained):
    env = rl.GridWorld(slip=0.1)
    w = GridworldStepper(env, trained, mode="reinforce", snapshot=-1)
    pi = trained.snapshots[-1]
    w.temperature_slider.value = 3.0
    flatter = pi ** (1 / 3.0) / (pi ** (1 / 3.0)).sum(axis=1, keepdims=True)
    assert np.allclose(w.behaviour[env.free], flatter[env.free])
    assert w.behaviour[env.free].max(axis=1).mean() < pi[env.free].max(axis=1).mean()


def test_clicks_toggle_walls_and_value_iteration_follows():
    env = rl.GridWorld(TINY, step_cost=-0.1)
    w = GridworldStepper(env, mode="vi")
    click(w, 1, 0)                                                       # a wall under S
    assert w.env.kind(w.env.state_of(1, 0)) == "wall" and w.index == 0
    walled = rl.GridWorld(["S . .", "# # P", ". . G"], step_cost=-0.1)
    assert np.allclose(w.values, rl.value_iteration(walled)[-1].V)
    assert w.values[0] < 0                                               # S is cut off from the goal now
    assert "is now a wall" in w.message.value
    click(w, 1, 0)                                                       # and down again
    assert w.env.layout == env.layout and np.isclose(w.values[0], 0.458)
    click(w, 2, 2)                                                       # the goal cannot become a wall
    assert w.env.layout == env.layout and "is the goal" in w.message.value
    click(w, 1, 0, button=MouseButton.RIGHT)                             # right clicks do nothing
    assert w.env.layout == env.layout


def test_retrain_learns_the_new_world(trained):
    env = rl.GridWorld(TINY)
    w = GridworldStepper(env, mode="vi", train_episodes=60)
    assert w.run is None
    w.mode_toggle.value = "reinforce"                                    # trains on first use
    assert w.run is not None and w.run.episodes == 60 and w.mode == "reinforce"
    assert w.training_slider.value == w.training_slider.max == len(w.run.snapshots) - 1
    first = w.run
    w.toggle_wall(0, 1)
    assert "trained on the old walls" in w.ax.get_title() and "retrain" in w.message.value
    w.retrain_button.click()
    assert w.run is not first and w.trained_layout == w.env.layout
    assert "trained on the old walls" not in w.ax.get_title() and "60 episodes" in w.ax.get_title()


def test_new_episode_and_compare_mode(trained):
    w = GridworldStepper(rl.GridWorld(slip=0.1), trained, mode="reinforce", snapshot=0, epsilon=0.3)
    first = w.episode
    w.compare_toggle.value = True
    w.new_episode_button.click()
    assert w.seed == 1 and w.index == 0
    assert w.episode.states != first.states
    assert w.ghost_artists and any("previous" in a.get_label() for a in w.ghost_artists)
    w.clear_button.click()
    assert not w.ghost_artists


def test_arguments_are_checked(trained):
    with pytest.raises(ValueError, match="mode must be one of"):
        GridworldStepper(mode="q-learning")
    with pytest.raises(ValueError, match="epsilon"):
        GridworldStepper(epsilon=2)
    with pytest.raises(ValueError, match="another size"):
        GridworldStepper(rl.GridWorld(TINY), trained)
    with pytest.raises(ValueError, match="snapshot"):
        GridworldStepper(rl.GridWorld(slip=0.1), trained, snapshot=9)


def test_arrow_vectors_point_the_right_way():
    env = rl.GridWorld(TINY)
    U, V = arrow_vectors(env, np.full(9, 1))                             # right everywhere
    s = env.state_of(0, 0)
    assert U[4 * s + 1] > 0 and V[4 * s + 1] == 0 and np.ma.is_masked(U[4 * s])


def test_snapshot_and_saved_picture(trained):
    w = GridworldStepper(rl.GridWorld(slip=0.1), trained, mode="reinforce")
    bundle = w._repr_mimebundle_()
    assert bundle["text/plain"] == "gridworld stepper: run the cell to use this widget"
    assert bundle["image/png"]
