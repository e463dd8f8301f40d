"""coursekit.rl against independent computations: sample means, closed forms,
hand-computed gridworld values, Monte Carlo returns, PyTorch's cross-entropy
and torch.autograd."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import rl

TINY = ("S . .", ". # P", ". . G")   # the notebook's 3 × 3 worked example


# =================================================================== bandits ===

def test_bandit_means_are_seeded_and_rewards_centre_on_them():
    a, b, c = rl.Bandit(seed=3), rl.Bandit(seed=3), rl.Bandit(seed=4)
    assert np.array_equal(a.means, b.means) and not np.array_equal(a.means, c.means)
    assert a.means.shape == (10,) and a.best_arm == int(np.argmax(a.means)) and a.best_mean == a.means.max()
    rewards = np.array([a.pull(2) for _ in range(4000)])
    assert abs(rewards.mean() - a.means[2]) < 4 / math.sqrt(4000)          # N(q*, 1): 4 standard errors
    assert abs(rewards.std() - 1.0) < 0.05
    fresh, twin = rl.Bandit(seed=3), rl.Bandit(seed=3)
    assert [fresh.pull(1) for _ in range(5)] == [twin.pull(1) for _ in range(5)]   # the same rewards too


def test_bandit_runs_and_bad_pulls():
    many = rl.Bandit(k=4, runs=3, seed=0)
    assert many.means.shape == (3, 4) and many.pull(np.array([0, 1, 3])).shape == (3,)
    given = rl.Bandit(means=[0.0, 1.0])
    assert given.best_arm == 1 and given.k == 2
    for bad in (2, -1, 0.5, np.array([0, 1])):
        with pytest.raises(ValueError, match="arm numbers 0..1"):
            given.pull(bad)
    with pytest.raises(ValueError, match="means must be finite"):
        rl.Bandit(means=[[np.nan, 1.0]])


def test_incremental_mean_is_the_sample_average():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=300) * 3 + 1
    Q = 0.0
    for n, r in enumerate(rewards, start=1):
        Q = rl.incremental_mean(Q, n, r)
        assert math.isclose(Q, rewards[:n].mean(), rel_tol=1e-12, abs_tol=1e-12)


def test_epsilon_greedy_rule_on_one_and_on_many():
    Q = np.array([0.5, 2.0, 2.0, -1.0])
    assert rl.epsilon_greedy(Q, 0.1, 0.5, 3) == 1          # exploit: lowest index among the tied maxima
    assert rl.epsilon_greedy(Q, 0.1, 0.05, 3) == 3         # explore
    assert rl.epsilon_greedy(Q, 0.0, 0.0, 3) == 1          # ε = 0 never explores
    rng = np.random.default_rng(1)
    Qs, u, arms = rng.normal(size=(50, 6)), rng.random(50), rng.integers(6, size=50)
    together = rl.epsilon_greedy(Qs, 0.3, u, arms)
    one_by_one = [arms[i] if u[i] < 0.3 else int(np.argmax(Qs[i])) for i in range(50)]
    assert together.tolist() == one_by_one


def test_play_bandits_keeps_the_books():
    """Q = the mean reward of each arm, N = its pulls, regret = the summed gaps: recomputed from the record."""
    bandit = rl.Bandit(k=5, runs=3, seed=2)
    run = rl.play_bandits(bandit, 400, epsilon=0.2, seed=7)
    means = bandit.means
    for i in range(3):
        for a in range(5):
            chosen = run.actions[:, i] == a
            assert run.N[i, a] == chosen.sum()
            assert math.isclose(run.Q[i, a], run.rewards[chosen, i].mean() if chosen.any() else 0.0, abs_tol=1e-12)
        gaps = means[i].max() - means[i, run.actions[:, i]]
        assert np.allclose(run.regret[:, i], np.cumsum(gaps))
        assert np.array_equal(run.optimal[:, i], run.actions[:, i] == np.argmax(means[i]))


def test_ucb_tries_every_arm_once_then_follows_its_bound():
    bandit = rl.Bandit(k=6, seed=5)
    trace = rl.bandit_trace(bandit, 200, c=1.5, seed=0)
    assert [s.action for s in trace[:6]] == list(range(6))
    for before, now in zip(trace[5:], trace[6:]):
        t = now.t
        bound = before.Q + 1.5 * np.sqrt(np.log(t) / before.N)
        assert now.action == int(np.argmax(bound)), f"step {t}"
    assert trace[-1].N.sum() == 200


def test_estimates_converge_to_the_hidden_means():
    bandit = rl.Bandit(k=5, seed=11)
    run = rl.play_bandits(bandit, 5000, epsilon=1.0, seed=0)          # pure exploration: every arm often
    error = np.abs(run.Q[0] - bandit.means)
    assert np.all(error < 4 / np.sqrt(run.N[0])), (error, run.N)


def test_greedy_gets_stuck_and_ucb_regrets_less_seed_0():
    """The notebook's stated seed: one bandit, 1000 steps; and a 300-bandit testbed."""
    greedy = rl.play_bandits(rl.Bandit(seed=0), 1000, epsilon=0.0, seed=1)
    ucb = rl.play_bandits(rl.Bandit(seed=0), 1000, c=2.0, seed=1)
    assert np.bincount(greedy.actions[:, 0]).max() >= 990 and np.bincount(greedy.actions[:, 0]).argmax() != 0
    assert ucb.regret[-1, 0] < 0.5 * greedy.regret[-1, 0]
    testbed = {name: rl.play_bandits(rl.Bandit(runs=300, seed=0), 500, seed=1, **kw)
               for name, kw in {"greedy": {}, "eps": {"epsilon": 0.1}, "ucb": {"c": 2.0}}.items()}
    assert testbed["ucb"].mean_regret[-1] < testbed["eps"].mean_regret[-1] < testbed["greedy"].mean_regret[-1]


def test_bandit_arguments_are_checked():
    with pytest.raises(ValueError, match="epsilon"):
        rl.play_bandits(rl.Bandit(), 10, epsilon=1.5)
    with pytest.raises(ValueError, match="steps"):
        rl.play_bandits(rl.Bandit(), 0)
    with pytest.raises(ValueError, match="one bandit"):
        rl.bandit_trace(rl.Bandit(runs=2), 5)


# =================================================================== returns ===

def test_discounted_returns_against_the_direct_sum():
    rng = np.random.default_rng(0)
    for T in (1, 2, 7, 30):
        r = rng.normal(size=T)
        for gamma in (0.0, 0.5, 0.9, 1.0):
            direct = [sum(gamma ** k * r[t + k] for k in range(T - t)) for t in range(T)]
            assert np.allclose(rl.discounted_returns(r, gamma), direct)
    assert math.isclose(rl.discounted_return(np.full(8, 2.0), 0.8), 2.0 * (1 - 0.8 ** 8) / (1 - 0.8))
    assert rl.discounted_return([], 0.9) == 0.0 and rl.discounted_returns([], 0.9).shape == (0,)
    with pytest.raises(ValueError, match="gamma"):
        rl.discounted_returns([1.0], 1.5)


# ================================================================= gridworld ===

def test_layouts_are_checked():
    with pytest.raises(ValueError, match="exactly one start"):
        rl.GridWorld([". .", ". G"])
    with pytest.raises(ValueError, match="unknown cells"):
        rl.GridWorld(["S x", ". G"])
    with pytest.raises(ValueError, match="equal-length rows"):
        rl.GridWorld(["S . .", ". G"])
    with pytest.raises(ValueError, match="at least one goal"):
        rl.GridWorld(["S .", ". ."])


def test_reset_and_step_follow_the_gymnasium_interface():
    env = rl.GridWorld(TINY, step_cost=-0.1, max_steps=4)
    s, info = env.reset(seed=0)
    assert s == 0 and info["position"] == (0, 0) and env.observation_space.n == 9 and env.action_space.n == 4
    s, r, terminated, truncated, info = env.step(1)                   # right
    assert (s, r, terminated, truncated) == (1, -0.1, False, False)
    s, *_ = env.step(2)                                               # down: a wall, the agent stays
    assert s == 1
    s, *_ = env.step(0)                                               # up: the edge, the agent stays
    assert s == 1
    s, r, terminated, truncated, _ = env.step(3)                      # fourth move: cut off
    assert (s, terminated, truncated) == (0, False, True)
    with pytest.raises(ValueError, match="reset"):
        env.step(0)
    env.reset(options={"start": env.state_of(2, 1)})
    s, r, terminated, truncated, _ = env.step(1)                      # into the goal
    assert (env.position(s), r, terminated, truncated) == ((2, 2), 1.0, True, False)
    env.reset(options={"start": env.state_of(0, 2)})
    assert env.step(2)[1:3] == (-1.0, True)                           # into the pit
    env.reset()
    for bad in (4, -1, 1.0, True):
        with pytest.raises(ValueError, match="action must be one of"):
            env.step(bad)
    with pytest.raises(ValueError, match="is a wall"):
        env.reset(options={"start": env.state_of(1, 1)})


def test_slips_are_seeded_and_as_frequent_as_stated():
    env = rl.GridWorld(slip=0.3, max_steps=10_000)
    env.reset(seed=5, options={"start": env.state_of(0, 0)})
    first = [env.step(0)[4]["slipped"] for _ in range(2000)]   # up along the top edge: never ends
    env.reset(seed=5, options={"start": env.state_of(0, 0)})
    again = [env.step(0)[4]["slipped"] for _ in range(2000)]
    assert first == again
    assert abs(np.mean(first) - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 2000)


def test_the_model_matches_what_step_does():
    """P(s'|s, a) of model() against the frequencies of 4000 calls of step() from two states."""
    env = rl.GridWorld(slip=0.2, seed=1)
    P, r = env.model()
    free = env.free
    assert np.allclose(P[free].sum(axis=2), 1.0) and np.all(P[~free] == 0) and np.all(r[~free] == 0)
    for s in (env.state_of(3, 3), env.start_state):
        for a in range(4):
            counts = np.zeros(env.n_states)
            rewards = []
            for _ in range(1000):
                env.reset(options={"start": s})
                s_next, reward, *_ = env.step(a)
                counts[s_next] += 1
                rewards.append(reward)
            assert np.abs(counts / 1000 - P[s, a]).max() < 0.05, (s, a)
            assert abs(np.mean(rewards) - r[s, a]) < 0.1


def test_toggle_wall_keeps_the_special_cells():
    env = rl.GridWorld()
    walled = env.toggle_wall(0, 0)
    assert walled.kind(0) == "wall" and env.kind(0) == "free"
    assert walled.toggle_wall(0, 0).layout == env.layout
    assert walled.slip == env.slip and walled.step_cost == env.step_cost
    with pytest.raises(ValueError, match="is the goal"):
        env.toggle_wall(2, 4)
    with pytest.raises(ValueError, match="outside"):
        env.toggle_wall(5, 0)


def test_run_episode_records_a_consistent_trace():
    env = rl.GridWorld(slip=0.1)
    episode = rl.run_episode(env, np.full((25, 4), 0.25), seed=3)
    assert episode.steps[0].t == 0 and episode.steps[0].action is None
    for before, now in zip(episode.steps, episode.steps[1:]):
        dr, dc = rl.MOVES[now.direction]
        target = (before.position[0] + dr, before.position[1] + dc)
        blocked = not (0 <= target[0] < 5 and 0 <= target[1] < 5) or env.cells[target] == "#"
        assert now.position == (before.position if blocked else target)
        assert now.slipped == (now.direction != now.action)
    assert math.isclose(episode.G, sum(0.9 ** t * r for t, r in enumerate(episode.rewards)))
    again = rl.run_episode(env, np.full((25, 4), 0.25), seed=3)
    assert again.states == episode.states
    greedy = rl.run_episode(env, np.full(25, 1), seed=0, start=env.state_of(3, 0))   # always right
    assert greedy.actions == [1] * greedy.length


# ================================================================ planning ===

def hand_value(d, gamma=0.9, cost=-0.1):
    """A path of d moves ending in the goal (+1), with a cost per move before it."""
    return cost * sum(gamma ** k for k in range(d - 1)) + gamma ** (d - 1)


def test_value_iteration_on_the_3x3_grid_by_hand():
    tiny = rl.GridWorld(TINY, step_cost=-0.1)
    sweeps = rl.value_iteration(tiny, gamma=0.9)
    expected = [[hand_value(4), hand_value(5), hand_value(6)], [hand_value(3), 0, 0], [hand_value(2), 1, 0]]
    assert np.allclose(sweeps[-1].V.reshape(3, 3), expected)
    assert np.allclose(sweeps[-1].V.reshape(3, 3), [[0.458, 0.3122, 0.18098], [0.62, 0, 0], [0.8, 1, 0]])
    # the optimal moves: S and (1,0) down, (2,0) and (2,1) right, (0,1) left, (0,2) left (around the pit)
    policy = sweeps[-1].policy
    assert [policy[tiny.state_of(*cell)] for cell in [(0, 0), (1, 0), (2, 0), (2, 1), (0, 1), (0, 2)]] == \
        [2, 2, 1, 1, 3, 3]


def test_policy_value_by_hand_and_by_the_linear_solve():
    tiny = rl.GridWorld(TINY, step_cost=-0.1)
    V = rl.policy_value(tiny, np.full(9, 1), gamma=0.9)               # always right
    assert np.allclose(V.reshape(3, 3), [[-1, -1, -1], [-1, 0, 0], [0.8, 1, 0]])
    with pytest.raises(ValueError, match="no unique solution"):
        rl.policy_value(tiny, np.full(9, 1), gamma=1.0)                # bumps into the edge forever


def iterative_policy_evaluation(P, r, pi, gamma, sweeps=2000):
    """The Bellman expectation backup applied until it stops changing: an independent fixed point."""
    V = np.zeros(P.shape[0])
    for _ in range(sweeps):
        V = np.einsum("sa,sa->s", pi, r + gamma * P @ V)
    return V


def test_value_iteration_equals_the_direct_solve_of_its_policy():
    env = rl.GridWorld(slip=0.1)
    sweeps = rl.value_iteration(env, gamma=0.9)
    V_star, policy = sweeps[-1].V, sweeps[-1].policy
    assert np.allclose(rl.policy_value(env, policy, 0.9), V_star, atol=1e-8)
    P, r = env.model()
    assert np.allclose(iterative_policy_evaluation(P, r, rl.as_policy(env, policy), 0.9), V_star, atol=1e-8)
    # optimality: no single action beats V*, and no random policy has larger values anywhere
    Q = rl.q_values(env, V_star, 0.9)
    assert np.all(Q[env.free] <= V_star[env.free, None] + 1e-9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        pi = rng.dirichlet(np.ones(4), size=25)
        assert np.all(rl.policy_value(env, pi, 0.9) <= V_star + 1e-9)
    ratios = [b.delta / a.delta for a, b in zip(sweeps[1:-1], sweeps[2:])]
    assert max(ratios) <= 0.9 + 1e-9                                  # a γ-contraction


def test_policy_value_against_monte_carlo_returns():
    """A stochastic policy on the slippery world: the linear solve vs the mean return of sampled episodes."""
    env = rl.GridWorld(slip=0.1, max_steps=300)                        # γ^300: the cut-off does not matter
    pi = rl.epsilon_soft(env, rl.value_iteration(env)[-1].policy, 0.4)
    V = rl.policy_value(env, pi, 0.9)
    start = env.state_of(3, 0)
    returns = np.array([rl.run_episode(env, pi, seed=i, start=start).G for i in range(1500)])
    assert abs(returns.mean() - V[start]) < 4 * returns.std() / math.sqrt(len(returns))


def test_policy_helpers_check_their_input():
    env = rl.GridWorld()
    with pytest.raises(ValueError, match="shape"):
        rl.as_policy(env, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="sum to 1"):
        rl.as_policy(env, np.zeros((25, 4)))
    soft = rl.epsilon_soft(env, np.zeros(25, dtype=int), 0.2)
    assert np.allclose(soft[:, 0], 0.85) and np.allclose(soft[:, 1:], 0.05)
    assert np.allclose(rl.softmax_policy(np.array([[0.0, np.log(3.0)]])), [[0.25, 0.75]])


# =============================================================== REINFORCE ===

def test_reinforce_loss_is_the_weighted_cross_entropy_of_pytorch():
    rng = np.random.default_rng(0)
    for T in (1, 4, 20):
        logits, actions = rng.normal(size=(T, 4)) * 3, rng.integers(4, size=T)
        G, b = rng.normal(size=T), float(rng.normal())
        z = torch.tensor(logits, requires_grad=True)
        expected = (torch.tensor(G - b) * F.cross_entropy(z, torch.tensor(actions), reduction="none")).sum()
        expected.backward()
        assert math.isclose(rl.reinforce_loss(logits, actions, G, b), expected.item(), rel_tol=1e-10)
        assert np.allclose(rl.reinforce_loss_grad(logits, actions, G, b), z.grad.numpy())
        same = rl.reinforce_loss_torch(torch.tensor(logits), torch.tensor(actions), torch.tensor(G - b))
        assert math.isclose(same.item(), expected.item(), rel_tol=1e-12)
    extreme = rl.reinforce_loss(np.array([[1000.0, -1000.0]]), np.array([1]), np.array([1.0]))
    assert math.isclose(extreme, 2000.0)


def test_the_loss_gradient_is_the_policy_gradient():
    """autograd of the loss = -Σ_t (G_t - b) ∇θ ln π(a_t|s_t), each term from autograd of one log-probability;
    and for a table of logits, the written formula Σ_t (G_t - b)(π(·|s_t) - onehot(a_t)) in the rows s_t."""
    torch.manual_seed(0)
    env = rl.GridWorld(slip=0.1)
    net = rl.PolicyNet(env.n_states, hidden=8).double()
    episode = rl.run_episode(env, rl.policy_table(net, env.n_states), seed=2)
    G, b = rl.discounted_returns(episode.rewards), -0.2
    onehot = torch.eye(env.n_states, dtype=torch.float64)[episode.states[:-1]]
    params = list(net.parameters())
    loss = rl.reinforce_loss_torch(net(onehot), torch.tensor(episode.actions), torch.tensor(G - b))
    from_loss = torch.autograd.grad(loss, params)
    policy_gradient = [torch.zeros_like(p) for p in params]
    for t, (s, a) in enumerate(zip(episode.states[:-1], episode.actions)):
        log_pi = torch.log_softmax(net(torch.eye(env.n_states, dtype=torch.float64)[s]), dim=0)[a]
        for total, g in zip(policy_gradient, torch.autograd.grad(log_pi, params)):
            total -= (G[t] - b) * g
    for x, y in zip(from_loss, policy_gradient):
        assert torch.allclose(x, y, atol=1e-10)

    W = torch.tensor(np.random.default_rng(1).normal(size=(env.n_states, 4)), requires_grad=True)
    loss = rl.reinforce_loss_torch(W[episode.states[:-1]], torch.tensor(episode.actions), torch.tensor(G - b))
    loss.backward()
    written = np.zeros((env.n_states, 4))
    pi = rl.softmax_policy(W.detach().numpy())
    for t, (s, a) in enumerate(zip(episode.states[:-1], episode.actions)):
        written[s] += (G[t] - b) * (pi[s] - np.eye(4)[a])
    assert np.allclose(W.grad.numpy(), written)


def test_reinforce_bad_inputs():
    with pytest.raises(ValueError, match="logits must have shape"):
        rl.reinforce_loss(np.zeros(4), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="actions must be"):
        rl.reinforce_loss(np.zeros((2, 4)), np.array([0, 4]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="returns must have shape"):
        rl.reinforce_loss(np.zeros((2, 4)), np.array([0, 1]), np.array([1.0]))


def test_reinforce_learns_the_3x3_world_seed_0():
    """Stated: on the 3 × 3 world (step cost -0.04) with exploring starts, batches of 10, Adam lr 0.05, seed 0:
    after 150 and after 200 episodes greedy rollouts reach the goal from every free cell, and the greedy
    actions are optimal ones (the top right cell goes the long way round, not into the pit)."""
    world = rl.GridWorld(TINY, random_start=True)
    run = rl.reinforce(world, episodes=200, batch=10, lr=0.05, seed=0, eval_every=50, device="cpu")
    assert run.success[0] < 0.5 and run.success[-2:] == [1.0, 1.0]
    Q = rl.q_values(world, rl.value_iteration(world)[-1].V)
    greedy = run.policy.argmax(axis=1)
    assert all(np.isclose(Q[s, greedy[s]], Q[s].max()) for s in np.flatnonzero(world.free))
    assert run.episodes == len(run.returns) == len(run.outcomes) == 200
    assert run.eval_episodes == [0, 50, 100, 150, 200] and len(run.snapshots) == 5
    again = rl.reinforce(world, episodes=30, batch=10, lr=0.05, seed=0, device="cpu")
    assert again.returns == run.returns[:30]                        # seeded: the same episodes


def test_greedy_success_rate():
    env = rl.GridWorld(TINY, step_cost=-0.1)
    assert rl.greedy_success_rate(env, rl.value_iteration(env)[-1].policy) == 1.0
    assert rl.greedy_success_rate(env, np.full(9, 3)) == 0.0            # always left: never
    assert rl.greedy_success_rate(env, np.full(9, 1)) == pytest.approx(2 / 6)   # always right: from the bottom row


def test_run_episode_takes_a_policy_function():
    env = rl.GridWorld(TINY)
    seen = []

    def down_then_right(state, rng):
        seen.append(state)
        return 2 if env.position(state)[0] < 2 else 1

    episode = rl.run_episode(env, down_then_right, seed=0)
    assert episode.actions == [2, 2, 1, 1] and episode.outcome == "goal" and seen == episode.states[:-1]


@pytest.mark.gpu
def test_reinforce_on_the_gpu_learns_the_3x3_world():
    world = rl.GridWorld(TINY, random_start=True)
    run = rl.reinforce(world, episodes=200, batch=10, lr=0.05, seed=0, eval_every=50, device="cuda")
    assert run.settings["device"].startswith("cuda") and next(run.model.parameters()).is_cuda
    assert run.success[-1] == 1.0
