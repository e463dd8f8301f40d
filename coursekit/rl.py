"""Reinforcement learning (強化學習), built small: bandits, a gridworld, value iteration, REINFORCE.

Deck 004 (lecture IV) describes an *agent* (智能體) that observes its world,
takes actions (行動) and learns to maximize the expected return (預期回報),
learning from a critic (從批評中學習) rather than from a teacher
(跟老師學習). This module holds the workbook's reference code for unit 13:

* **Bandits.** :class:`Bandit` has k arms whose mean rewards are drawn once
  from N(0, 1) with a seed and hidden from the agent (``runs`` independent
  bandits side by side make the classic 10-armed testbed).
  :func:`play_bandits` plays them with ε-greedy (:func:`epsilon_greedy`) or
  upper-confidence-bound (:func:`ucb_action`) choices, updating the value
  estimates incrementally (:func:`incremental_mean`), and records rewards,
  choices and regret.
* **Returns.** :func:`discounted_returns` G_t = r_{t+1} + γ G_{t+1}.
* **A gridworld.** :class:`GridWorld`: walls, a goal, a pit, a step cost,
  optional slipping; ``reset()`` / ``step(action)`` in the style of the
  Gymnasium API (written here: no new dependency); :func:`run_episode` records
  an episode as a trace of :class:`EpisodeStep` records.
* **Planning.** :func:`value_iteration` (a trace of :class:`Sweep` records,
  the last one converged) and :func:`policy_value`, the Bellman equations of
  a fixed policy solved directly as a linear system.
* **REINFORCE.** :func:`reinforce` trains a small PyTorch policy network on
  the episodes it samples, with a baseline; its loss (:func:`reinforce_loss`)
  is the cross-entropy of units 04 and 06, with the agent's own actions as
  the labels, each weighted by the return that followed.

Conventions: the reward that follows action a_t is r_{t+1} (``rewards[t]``
in code); states of the gridworld are cell indices s = row * cols + col;
actions are 0 = up, 1 = right, 2 = down, 3 = left; ties between equal
values go to the lowest index (``np.argmax``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._validate import real_number, whole_number

__all__ = [
    "Bandit", "BanditRun", "BanditStep", "epsilon_greedy", "ucb_action", "incremental_mean", "play_bandits",
    "bandit_trace", "discounted_returns", "discounted_return",
    "ACTIONS", "ARROWS", "MOVES", "DEFAULT_LAYOUT", "Discrete", "GridWorld", "EpisodeStep", "Episode",
    "run_episode", "as_policy", "epsilon_soft", "softmax_policy",
    "Sweep", "value_iteration", "q_values", "greedy_policy", "policy_value",
    "reinforce_loss", "reinforce_loss_grad", "reinforce_loss_torch", "PolicyNet", "policy_table",
    "greedy_success_rate", "ReinforceRun", "reinforce",
]

GAMMA = 0.9  # the discount the unit uses unless it says otherwise


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(None if seed is None else whole_number("seed", seed, 0, allow_float=False))


def _gamma(gamma) -> float:
    return real_number("gamma", gamma, 0.0, 1.0, "the discount factor γ")


# =============================================================================== bandits ===

class Bandit:
    """``runs`` independent k-armed bandits (one "slot machine" with k arms each).

    Pulling arm a of bandit i pays a reward drawn from N(q*(i, a), sd²). The
    means q* are drawn once from N(0, 1) with ``seed`` (or given as ``means``,
    shape (k,) or (runs, k)); the agent never sees them, only the rewards.
    The rewards come from a generator of their own, also seeded: two bandits
    made with the same seed pay the same rewards for the same pulls, which
    makes comparisons between agents fair.
    """

    def __init__(self, k: int = 10, runs: int = 1, seed: int = 0, sd: float = 1.0, means=None):
        self.sd = real_number("sd", sd, 0.0, meaning="the spread of each arm's rewards")
        seeds = np.random.SeedSequence(whole_number("seed", seed, 0, allow_float=False)).spawn(2)
        if means is None:
            self.k = whole_number("k", k, 1, meaning="the number of arms", allow_float=False)
            self.runs = whole_number("runs", runs, 1, meaning="independent bandits", allow_float=False)
            self._means = np.random.default_rng(seeds[0]).normal(size=(self.runs, self.k))
        else:
            means = np.asarray(means, dtype=float)
            if means.ndim == 1:
                means = means[None, :]
            if means.ndim != 2 or means.shape[1] < 1 or not np.all(np.isfinite(means)):
                raise ValueError(f"means must be finite numbers of shape (k,) or (runs, k), got shape {means.shape}")
            self._means = means.copy()
            self.runs, self.k = means.shape
        self._noise = np.random.default_rng(seeds[1])

    @property
    def means(self) -> np.ndarray:
        """The hidden mean reward q*(a) of every arm: shape (k,) for one bandit, (runs, k) for several."""
        return self._means[0].copy() if self.runs == 1 else self._means.copy()

    @property
    def best_arm(self):
        best = np.argmax(self._means, axis=1)
        return int(best[0]) if self.runs == 1 else best

    @property
    def best_mean(self):
        best = self._means.max(axis=1)
        return float(best[0]) if self.runs == 1 else best

    def pull(self, actions):
        """Pull one arm of each bandit: ``actions`` an int (one bandit) or shape (runs,);
        returns the rewards (a float, or shape (runs,))."""
        a = np.asarray(actions)
        if a.shape not in ((), (self.runs,)) or a.dtype.kind not in "iu" or a.size and (a.min() < 0 or a.max() >= self.k):
            raise ValueError(f"actions must be arm numbers 0..{self.k - 1}, one per bandit (shape ({self.runs},) "
                             f"or one int), got {actions!r}")
        a = np.broadcast_to(a, (self.runs,))
        rewards = self._means[np.arange(self.runs), a] + self.sd * self._noise.normal(size=self.runs)
        return float(rewards[0]) if np.ndim(actions) == 0 else rewards


def epsilon_greedy(Q, epsilon: float, u, explore_arm):
    """The ε-greedy choice, with its randomness passed in as numbers.

    ``u`` is a uniform draw from [0, 1): when u < ε the agent *explores* and
    takes ``explore_arm`` (an arm drawn uniformly at random); otherwise it
    *exploits*: the arm with the highest estimate Q (the lowest index among
    ties). ``Q`` of shape (k,) gives an int; shape (runs, k) with ``u`` and
    ``explore_arm`` of shape (runs,) gives one arm per run.
    """
    Q = np.asarray(Q, dtype=float)
    greedy = np.argmax(Q, axis=-1)
    choice = np.where(np.asarray(u) < epsilon, explore_arm, greedy)
    return int(choice) if choice.ndim == 0 else choice.astype(int)


def ucb_action(Q, N, t: int, c: float):
    """The upper-confidence-bound choice A_t = argmax_a [Q(a) + c √(ln t / N(a))].

    An arm never pulled (N(a) = 0) counts as maximizing, so every arm is tried
    once first (lowest index first). ``t`` is the number of this step, from 1.
    Works on one bandit (shape (k,)) or on several (shape (runs, k)).
    """
    Q, N = np.asarray(Q, dtype=float), np.asarray(N, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # N(a) = 0: replaced by +inf below
        bonus = c * np.sqrt(math.log(t) / N)
    scores = np.where(N == 0, np.inf, Q + bonus)
    choice = np.argmax(scores, axis=-1)
    return int(choice) if choice.ndim == 0 else choice


def incremental_mean(Q, n, reward):
    """The sample average, updated in place of being recomputed:
    Q_new = Q + (reward - Q) / n, where ``n`` counts the rewards *including* the
    new one (so Q is the average of the first n - 1 rewards and Q_new of all n).
    Read it as: new estimate = old estimate + step size × (target - old estimate).
    """
    return Q + (reward - Q) / n


@dataclass(frozen=True)
class BanditRun:
    """What :func:`play_bandits` recorded, for ``steps`` steps of ``runs`` bandits.

    ``actions`` and ``rewards`` have shape (steps, runs); ``optimal`` says
    whether the best arm was chosen; ``regret`` is the cumulative (pseudo-)regret
    Σ_{τ≤t} (q*_best - q*(A_τ)), shape (steps, runs); ``Q`` and ``N`` are the
    final estimates and counts, shape (runs, k); ``estimates`` holds Q after
    every step, shape (steps, runs, k), when asked for.
    """

    label: str
    actions: np.ndarray
    rewards: np.ndarray
    optimal: np.ndarray
    regret: np.ndarray
    Q: np.ndarray
    N: np.ndarray
    estimates: np.ndarray | None = None

    @property
    def average_reward(self) -> np.ndarray:
        """The reward at each step, averaged over the runs: shape (steps,)."""
        return self.rewards.mean(axis=1)

    @property
    def optimal_share(self) -> np.ndarray:
        """The share of runs that chose the best arm at each step: shape (steps,)."""
        return self.optimal.mean(axis=1)

    @property
    def mean_regret(self) -> np.ndarray:
        """The cumulative regret averaged over the runs: shape (steps,)."""
        return self.regret.mean(axis=1)


def play_bandits(bandit: Bandit, steps: int, *, epsilon: float = 0.0, c: float | None = None, q0: float = 0.0,
                 seed: int = 0, keep_estimates: bool = False, label: str = "") -> BanditRun:
    """Play every bandit of ``bandit`` for ``steps`` steps with one agent each.

    The agent keeps an estimate Q(a) (starting at ``q0``) and a count N(a) per
    arm. Each step it chooses an arm, ε-greedy (:func:`epsilon_greedy`) or, when
    ``c`` is given, by the upper confidence bound (:func:`ucb_action`), pulls it,
    and updates that arm's estimate with :func:`incremental_mean`. ``seed``
    drives the agent's own random choices (the rewards come from the bandit).
    """
    steps = whole_number("steps", steps, 1, allow_float=False)
    epsilon = real_number("epsilon", epsilon, 0.0, 1.0, "the probability of exploring")
    if c is not None:
        c = real_number("c", c, 0.0, meaning="the weight of UCB's exploration bonus")
    q0 = real_number("q0", q0, meaning="the initial estimate of every arm")
    rng = _rng(seed)
    runs, k = bandit.runs, bandit.k
    Q, N = np.full((runs, k), q0), np.zeros((runs, k))
    rows = np.arange(runs)
    actions = np.empty((steps, runs), dtype=int)
    rewards = np.empty((steps, runs))
    estimates = np.empty((steps, runs, k)) if keep_estimates else None
    means = bandit._means
    for t in range(steps):
        u, explore_arm = rng.random(runs), rng.integers(k, size=runs)  # drawn every step: runs stay comparable
        a = ucb_action(Q, N, t + 1, c) if c is not None else epsilon_greedy(Q, epsilon, u, explore_arm)
        r = bandit.pull(np.asarray(a))
        N[rows, a] += 1
        Q[rows, a] = incremental_mean(Q[rows, a], N[rows, a], r)
        actions[t], rewards[t] = a, r
        if keep_estimates:
            estimates[t] = Q
    chosen = means[rows, actions]
    best = means.max(axis=1)
    if not label:
        label = f"UCB, c = {c:g}" if c is not None else ("greedy (ε = 0)" if epsilon == 0 else f"ε = {epsilon:g}")
    return BanditRun(label, actions, rewards, means.argmax(axis=1)[None, :] == actions,
                     np.cumsum(best[None, :] - chosen, axis=0), Q, N, estimates)


@dataclass(frozen=True)
class BanditStep:
    """One step of one agent on one bandit: step t (from 1), the arm chosen, whether
    it was the greedy choice, the reward, the estimates Q and counts N after the
    update, and the cumulative regret."""

    t: int
    action: int
    greedy: bool
    reward: float
    Q: np.ndarray
    N: np.ndarray
    regret: float


def bandit_trace(bandit: Bandit, steps: int, **agent) -> list[BanditStep]:
    """One agent on one bandit (``bandit.runs == 1``), step by step, as records."""
    if bandit.runs != 1:
        raise ValueError(f"bandit_trace follows one bandit; this one has runs = {bandit.runs}")
    run = play_bandits(bandit, steps, keep_estimates=True, **agent)
    trace, N = [], np.zeros(bandit.k, dtype=int)
    for t in range(steps):
        a = int(run.actions[t, 0])
        before = run.estimates[t - 1, 0] if t else np.full(bandit.k, agent.get("q0", 0.0))
        N = N.copy()
        N[a] += 1
        trace.append(BanditStep(t + 1, a, bool(a == int(np.argmax(before))), float(run.rewards[t, 0]),
                                run.estimates[t, 0].copy(), N, float(run.regret[t, 0])))
    return trace


# =============================================================================== returns ===

def discounted_returns(rewards, gamma: float = GAMMA) -> np.ndarray:
    """G_t = r_{t+1} + γ r_{t+2} + γ² r_{t+3} + ... for every t, from the end backwards
    (G_{T-1} = r_T, then G_t = r_{t+1} + γ G_{t+1}); ``rewards[t]`` is r_{t+1}."""
    gamma = _gamma(gamma)
    r = np.asarray(rewards, dtype=float)
    if r.ndim != 1 or not np.all(np.isfinite(r)):
        raise ValueError(f"rewards must be a 1-D list of finite numbers (one per step), got shape {r.shape}")
    G = np.empty_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running
        G[t] = running
    return G


def discounted_return(rewards, gamma: float = GAMMA) -> float:
    """The return of a whole episode, G_0 = Σ_t γ^t r_{t+1} (0 for an empty one)."""
    G = discounted_returns(rewards, gamma)
    return float(G[0]) if len(G) else 0.0


# ============================================================================= gridworld ===

ACTIONS = ("up", "right", "down", "left")
ARROWS = "↑→↓←"
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # (row, col) change of each action
CELL_KINDS = {".": "free", "#": "wall", "S": "start", "G": "goal", "P": "pit"}

#: The unit's world: 5 × 5, the start S bottom left, the goal G on the right,
#: a pit P next to the short way there, and walls that make the way bend.
DEFAULT_LAYOUT = (
    ". . . . .",
    ". # # . .",
    ". . # P G",
    ". . . . .",
    "S # . . .",
)


@dataclass(frozen=True)
class Discrete:
    """A space of the integers 0..n-1, as Gymnasium's ``spaces.Discrete``."""

    n: int

    def sample(self, rng=None) -> int:
        return int(_rng(rng).integers(self.n))

    def contains(self, x) -> bool:
        return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and 0 <= int(x) < self.n


def _parse_layout(layout) -> np.ndarray:
    rows = layout.strip().splitlines() if isinstance(layout, str) else list(layout)
    grid = [list(str(row).replace(" ", "")) for row in rows]
    if not grid or not grid[0] or any(len(row) != len(grid[0]) for row in grid):
        raise ValueError("layout must be equal-length rows of cells, e.g. ('S . .', '. # .', '. . G'), "
                         f"got {layout!r}")
    cells = np.array(grid)
    unknown = sorted(set(cells.ravel()) - set(CELL_KINDS))
    if unknown:
        raise ValueError(f"unknown cells {unknown} in the layout; use . (free), # (wall), S (start), G (goal), "
                         "P (pit)")
    if np.sum(cells == "S") != 1:
        raise ValueError(f"the layout needs exactly one start S, it has {int(np.sum(cells == 'S'))}")
    if not np.any(cells == "G"):
        raise ValueError("the layout needs at least one goal G")
    return cells


class GridWorld:
    """A tiny gridworld with the interface of a Gymnasium environment.

    ``layout``: rows of cells, ``.`` free, ``#`` wall, ``S`` start, ``G`` goal,
    ``P`` pit. The agent moves up, right, down or left; a move into a wall or
    off the grid leaves it where it is. Entering the goal pays ``goal_reward``
    and entering a pit ``pit_reward``, both end the episode (*terminated*);
    every other move pays ``step_cost`` (negative: hurry). With ``slip`` > 0 the
    floor is slippery: the move goes sideways (left or right of the intended
    direction, half of ``slip`` each). An episode is cut off (*truncated*)
    after ``max_steps`` moves. ``random_start``: ``reset()`` starts in a random
    free cell instead of S (exploring starts).

    The interface, as in Gymnasium: ``reset(seed=None, options=None) ->
    (observation, info)`` and ``step(action) -> (observation, reward,
    terminated, truncated, info)``; observations are state numbers
    s = row * cols + col (``observation_space``), actions 0..3
    (``action_space``). Its randomness (slips, random starts) comes from
    ``np_random``, seeded by ``seed`` here or in ``reset``.
    """

    def __init__(self, layout=DEFAULT_LAYOUT, *, step_cost: float = -0.04, goal_reward: float = 1.0,
                 pit_reward: float = -1.0, slip: float = 0.0, max_steps: int = 50, random_start: bool = False,
                 seed: int | None = None):
        self.cells = _parse_layout(layout)
        self.rows, self.cols = self.cells.shape
        self.step_cost = real_number("step_cost", step_cost, meaning="the reward of an ordinary move")
        self.goal_reward = real_number("goal_reward", goal_reward)
        self.pit_reward = real_number("pit_reward", pit_reward)
        self.slip = real_number("slip", slip, 0.0, 1.0, "the probability that a move goes sideways")
        self.max_steps = whole_number("max_steps", max_steps, 1, meaning="moves before an episode is cut off",
                                      allow_float=False)
        self.random_start = bool(random_start)
        self.observation_space = Discrete(self.rows * self.cols)
        self.action_space = Discrete(len(ACTIONS))
        self.np_random = _rng(seed)
        self.state: int | None = None
        self.t = 0
        self._done = True
        self._model = None

    # ---- the cells -------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return self.rows * self.cols

    @property
    def n_actions(self) -> int:
        return len(ACTIONS)

    def state_of(self, row: int, col: int) -> int:
        return int(row) * self.cols + int(col)

    def position(self, s: int) -> tuple[int, int]:
        return divmod(int(s), self.cols)

    def kind(self, s: int) -> str:
        return CELL_KINDS[self.cells.flat[int(s)]]

    def _mask(self, *chars) -> np.ndarray:
        return np.isin(self.cells.ravel(), chars)

    @property
    def walls(self) -> np.ndarray:
        """Which states are walls, shape (n_states,)."""
        return self._mask("#")

    @property
    def terminal(self) -> np.ndarray:
        """Which states end an episode (goals and pits), shape (n_states,)."""
        return self._mask("G", "P")

    @property
    def free(self) -> np.ndarray:
        """The states where the agent can stand and act: not a wall, not terminal."""
        return self._mask(".", "S")

    @property
    def start_state(self) -> int:
        return int(np.flatnonzero(self._mask("S"))[0])

    @property
    def layout(self) -> tuple[str, ...]:
        return tuple(" ".join(row) for row in self.cells)

    def settings(self) -> dict:
        """The keyword arguments that rebuild this world (with :meth:`with_layout`)."""
        return dict(step_cost=self.step_cost, goal_reward=self.goal_reward, pit_reward=self.pit_reward,
                    slip=self.slip, max_steps=self.max_steps, random_start=self.random_start)

    def with_layout(self, layout, **changes) -> "GridWorld":
        """A new world with another layout (and any settings changed), the rest as here."""
        return GridWorld(layout, **{**self.settings(), **changes})

    def toggle_wall(self, row: int, col: int) -> "GridWorld":
        """A new world with the cell (row, col) turned into a wall, or a wall into a free cell.
        The start, the goals and the pits stay as they are."""
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            raise ValueError(f"cell ({row}, {col}) is outside the {self.rows} × {self.cols} grid")
        cells = self.cells.copy()
        if cells[row, col] not in ".#":
            raise ValueError(f"cell ({row}, {col}) is the {CELL_KINDS[cells[row, col]]}; only free cells and walls "
                             "can be toggled")
        cells[row, col] = "#" if cells[row, col] == "." else "."
        return self.with_layout(["".join(r) for r in cells])

    # ---- dynamics: one function for step() and for the model ---------------------------------
    def _moved(self, s: int, direction: int) -> int:
        """Where a move in ``direction`` from state s lands (walls and edges stop it)."""
        r, c = self.position(s)
        nr, nc = r + MOVES[direction][0], c + MOVES[direction][1]
        if not (0 <= nr < self.rows and 0 <= nc < self.cols) or self.cells[nr, nc] == "#":
            return int(s)
        return self.state_of(nr, nc)

    def _outcomes(self, action: int) -> list[tuple[int, float]]:
        """(direction, probability) of an intended action: straight on, or sideways when slipping."""
        if self.slip == 0:
            return [(action, 1.0)]
        return [(action, 1.0 - self.slip), ((action + 1) % 4, self.slip / 2), ((action + 3) % 4, self.slip / 2)]

    def reward_of(self, s_next: int) -> float:
        """The reward for entering state ``s_next``."""
        kind = self.kind(s_next)
        return self.goal_reward if kind == "goal" else self.pit_reward if kind == "pit" else self.step_cost

    def model(self) -> tuple[np.ndarray, np.ndarray]:
        """The world as a Markov decision process: ``P`` of shape (S, A, S) with
        P[s, a, s'] the probability of landing in s' after action a in s, and
        ``r`` of shape (S, A), the expected reward of that move.

        Terminal states and walls have all-zero rows: the episode ends there (no
        next state, no more reward), so a value V = r_π + γ P_π V is 0 there."""
        if self._model is None:
            S, A = self.n_states, self.n_actions
            P = np.zeros((S, A, S))
            rewards = np.array([self.reward_of(s) for s in range(S)])
            for s in np.flatnonzero(self.free):
                for a in range(A):
                    for direction, p in self._outcomes(a):
                        P[s, a, self._moved(s, direction)] += p
            self._model = (P, P @ rewards)
        P, r = self._model
        return P.copy(), r.copy()

    # ---- the Gymnasium-style interface ------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        """Start an episode; returns (observation, info). ``options={"start": s}`` picks the start state."""
        if seed is not None:
            self.np_random = _rng(seed)
        start = (options or {}).get("start")
        if start is None:
            start = (int(self.np_random.choice(np.flatnonzero(self.free))) if self.random_start
                     else self.start_state)
        else:
            start = whole_number("start", start, 0, self.n_states - 1, "a state number", allow_float=False)
            if not self.free[start]:
                raise ValueError(f"start state {start} is a {self.kind(start)}; an episode starts on a free cell")
        self.state, self.t, self._done = int(start), 0, False
        return self.state, {"position": self.position(self.state)}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        """One move; returns (observation, reward, terminated, truncated, info)."""
        if self._done:
            raise ValueError("the episode is over (or never started): call reset() first")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be one of 0..3 ({', '.join(ACTIONS)}), got {action!r}")
        direction, slipped = int(action), False
        if self.slip > 0 and self.np_random.random() < self.slip:
            direction, slipped = (int(action) + int(self.np_random.choice([1, 3]))) % 4, True
        self.state = self._moved(self.state, direction)
        self.t += 1
        reward = self.reward_of(self.state)
        terminated = bool(self.terminal[self.state])
        truncated = not terminated and self.t >= self.max_steps
        self._done = terminated or truncated
        return self.state, reward, terminated, truncated, {"position": self.position(self.state),
                                                           "slipped": slipped, "direction": direction}

    def render(self, marks: dict[int, str] | None = None) -> str:
        """The grid as text (Gymnasium's "ansi" mode): the agent as A, ``marks`` {state: character}
        on top (for example a policy's arrows)."""
        chars = self.cells.ravel().copy()
        for s, mark in (marks or {}).items():
            chars[s] = mark
        if self.state is not None and not self._done:
            chars[self.state] = "A"
        return "\n".join(" ".join(chars[r * self.cols:(r + 1) * self.cols]) for r in range(self.rows))

    def __repr__(self) -> str:
        return (f"GridWorld({self.rows}×{self.cols}, step_cost={self.step_cost:g}, slip={self.slip:g}, "
                f"max_steps={self.max_steps})")


# ---- policies as tables ------------------------------------------------------------------------

def as_policy(env: GridWorld, policy) -> np.ndarray:
    """A policy as a table π(a | s) of shape (S, A): from one action per state (shape (S,))
    or from a table of probabilities (rows of free states must sum to 1)."""
    p = np.asarray(policy)
    S, A = env.n_states, env.n_actions
    if p.shape == (S,):
        if p.dtype.kind not in "iu" or p.min() < 0 or p.max() >= A:
            raise ValueError(f"a policy of shape ({S},) holds one action 0..{A - 1} per state")
        table = np.zeros((S, A))
        table[np.arange(S), p] = 1.0
        return table
    if p.shape != (S, A) or p.dtype.kind not in "iuf":
        raise ValueError(f"a policy must have shape ({S},) (one action per state) or ({S}, {A}) "
                         f"(probabilities π(a|s)), got shape {p.shape}")
    p = p.astype(float)
    rows = p[env.free]
    if np.any(rows < 0) or not np.allclose(rows.sum(axis=1), 1.0):
        raise ValueError("each free state's row of π(a|s) must hold probabilities that sum to 1")
    return p


def epsilon_soft(env: GridWorld, policy, epsilon: float) -> np.ndarray:
    """π_ε(a|s) = (1 - ε) π(a|s) + ε / A: follow the policy, but with probability ε act at random."""
    epsilon = real_number("epsilon", epsilon, 0.0, 1.0, "the probability of a random action")
    return (1 - epsilon) * as_policy(env, policy) + epsilon / env.n_actions


def softmax_policy(logits, temperature: float = 1.0) -> np.ndarray:
    """π(a|s) = softmax(logits / T) per row: T → 0 is greedy, large T nearly uniform."""
    T = real_number("temperature", temperature, 0.0, low_open=True, meaning="the softmax temperature T")
    z = np.asarray(logits, dtype=float) / T
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# ---- episodes as traces --------------------------------------------------------------------------

@dataclass(frozen=True)
class EpisodeStep:
    """The episode after ``t`` moves: where the agent is (``state``, ``position``),
    the move that brought it there (``action``, the ``direction`` it really went,
    ``slipped``; None at t = 0), the reward r_t of that move, and the return so far
    Σ_{τ<t} γ^τ r_{τ+1}. ``outcome``: "running", "goal", "pit" or "time limit"."""

    t: int
    state: int
    position: tuple[int, int]
    action: int | None
    direction: int | None
    slipped: bool
    reward: float
    return_so_far: float
    outcome: str


@dataclass(frozen=True)
class Episode:
    """One episode, as a trace: ``steps[0]`` is the start, ``steps[t]`` the state after t moves."""

    steps: list[EpisodeStep]
    gamma: float

    @property
    def states(self) -> list[int]:
        return [s.state for s in self.steps]

    @property
    def actions(self) -> list[int]:
        return [s.action for s in self.steps[1:]]

    @property
    def rewards(self) -> np.ndarray:
        return np.array([s.reward for s in self.steps[1:]])

    @property
    def outcome(self) -> str:
        return self.steps[-1].outcome

    @property
    def length(self) -> int:
        return len(self.steps) - 1

    @property
    def G(self) -> float:
        """The return of the whole episode, G_0."""
        return self.steps[-1].return_so_far


def run_episode(env: GridWorld, policy, *, seed: int | None = 0, start: int | None = None,
                gamma: float = GAMMA) -> Episode:
    """Play one episode with ``policy`` (see :func:`as_policy`: one action per state, a
    table π(a|s), or a function ``(state, rng) -> action``) and record it.

    ``seed`` seeds the world (slips, random start) and the agent's draws, each from a
    stream of its own; ``start`` fixes the start state."""
    gamma = _gamma(gamma)
    entropy = None if seed is None else whole_number("seed", seed, 0, allow_float=False)
    env_seed, agent_seed = np.random.SeedSequence(entropy).spawn(2)
    agent_rng = np.random.default_rng(agent_seed)
    table = None if callable(policy) else as_policy(env, policy)
    state, info = env.reset(seed=int(env_seed.generate_state(1)[0]),
                            options={"start": start} if start is not None else None)
    steps = [EpisodeStep(0, state, info["position"], None, None, False, 0.0, 0.0, "running")]
    G, discount = 0.0, 1.0
    while True:
        if table is None:
            action = int(policy(state, agent_rng))
        else:  # inverse-CDF sampling: a deterministic row always gives its action
            action = int(min(np.searchsorted(np.cumsum(table[state]), agent_rng.random(), side="right"),
                             env.n_actions - 1))
        state, reward, terminated, truncated, info = env.step(action)
        G += discount * reward
        discount *= gamma
        outcome = env.kind(state) if terminated else "time limit" if truncated else "running"
        steps.append(EpisodeStep(len(steps), state, info["position"], action, info["direction"], info["slipped"],
                                 reward, G, outcome))
        if terminated or truncated:
            return Episode(steps, gamma)


# ========================================================================= value iteration ===

def q_values(env: GridWorld, V, gamma: float = GAMMA) -> np.ndarray:
    """Q(s, a) = Σ_s' P(s'|s, a) [R(s') + γ V(s')] = r(s, a) + γ (P V)(s, a), shape (S, A)."""
    P, r = env.model()
    return r + _gamma(gamma) * P @ np.asarray(V, dtype=float)


def greedy_policy(env: GridWorld, Q) -> np.ndarray:
    """One action per state: argmax_a Q(s, a) (the lowest index among ties); 0 where no action matters."""
    actions = np.argmax(np.asarray(Q), axis=1)
    actions[~env.free] = 0
    return actions


@dataclass(frozen=True)
class Sweep:
    """Value iteration after ``k`` sweeps: the values V_k, the greedy policy they
    give, and ``delta`` = max_s |V_k(s) - V_{k-1}(s)| (how much the sweep changed)."""

    k: int
    V: np.ndarray
    policy: np.ndarray
    delta: float


def value_iteration(env: GridWorld, gamma: float = GAMMA, tol: float = 1e-10, max_sweeps: int = 10_000) -> list[Sweep]:
    """Value iteration: V_{k+1}(s) = max_a Σ_s' P(s'|s, a) [R(s') + γ V_k(s')], from V_0 = 0,
    until no value changes by more than ``tol``. Returns every sweep (the trace); the
    last holds the optimal values V* and an optimal policy.

    With γ < 1 every sweep shrinks the distance to V* by at least the factor γ.
    With γ = 1 it converges when every state can reach the end of the episode."""
    gamma = _gamma(gamma)
    tol = real_number("tol", tol, 0.0, low_open=True)
    max_sweeps = whole_number("max_sweeps", max_sweeps, 1, allow_float=False)
    P, r = env.model()
    V = np.zeros(env.n_states)
    trace = [Sweep(0, V, greedy_policy(env, r), math.inf)]
    for k in range(1, max_sweeps + 1):
        Q = r + gamma * P @ V
        V_new = np.where(env.free, Q.max(axis=1), 0.0)
        delta = float(np.max(np.abs(V_new - V)))
        V = V_new
        trace.append(Sweep(k, V, greedy_policy(env, Q), delta))
        if delta <= tol:
            return trace
    raise ValueError(f"value iteration did not converge in {max_sweeps} sweeps (last change {delta:.3g}); with "
                     "γ = 1 some state may never reach the end of an episode")


def policy_value(env: GridWorld, policy, gamma: float = GAMMA) -> np.ndarray:
    """V^π of a fixed policy, by solving the Bellman equations as one linear system:
    V = r_π + γ P_π V, i.e. (I - γ P_π) V = r_π, with r_π(s) = Σ_a π(a|s) r(s, a) and
    P_π(s, s') = Σ_a π(a|s) P(s'|s, a)."""
    gamma = _gamma(gamma)
    pi = as_policy(env, policy)
    P, r = env.model()
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = np.einsum("sa,sa->s", pi, r)
    A = np.eye(env.n_states) - gamma * P_pi
    try:
        V = np.linalg.solve(A, r_pi)
    except np.linalg.LinAlgError:
        V = None
    if V is None or not np.all(np.isfinite(V)) or np.linalg.cond(A) > 1e12:
        raise ValueError("the Bellman equations of this policy have no unique solution: with γ = 1 the policy "
                         "never ends the episode from some state, so its return there is unbounded")
    return V


# ============================================================================= REINFORCE ===

def _reinforce_inputs(logits, actions, returns, baseline):
    Z = np.asarray(logits, dtype=float)
    if Z.ndim != 2 or Z.shape[0] < 1:
        raise ValueError(f"logits must have shape (T, A): one row of action scores per step, got {Z.shape}")
    a = np.asarray(actions)
    if a.shape != (Z.shape[0],) or a.dtype.kind not in "iu" or a.min() < 0 or a.max() >= Z.shape[1]:
        raise ValueError(f"actions must be {Z.shape[0]} action numbers 0..{Z.shape[1] - 1}, one per step")
    G = np.asarray(returns, dtype=float)
    if G.shape != (Z.shape[0],):
        raise ValueError(f"returns must have shape ({Z.shape[0]},): the return G_t of each step, got {G.shape}")
    return Z, a, G - np.asarray(baseline, dtype=float)


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    m = Z.max(axis=1, keepdims=True)
    return Z - m - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))


def reinforce_loss(logits, actions, returns, baseline=0.0) -> float:
    """REINFORCE's loss for one episode: L = Σ_t (G_t - b) · CE(z_t, a_t), where
    CE(z_t, a_t) = -ln softmax(z_t)[a_t] is unit 04's cross-entropy of the action
    scores z_t at step t with the action the agent *took* as the label.

    Minimizing it raises ln π(a_t|s_t) where the return was better than the
    baseline b and lowers it where it was worse: its gradient is
    -Σ_t (G_t - b) ∇ln π(a_t|s_t), the policy gradient. ``logits``: (T, A);
    ``actions``, ``returns``: (T,); ``baseline``: a number or (T,)."""
    Z, a, weight = _reinforce_inputs(logits, actions, returns, baseline)
    cross_entropy = -_log_softmax(Z)[np.arange(len(a)), a]
    return float(np.sum(weight * cross_entropy))


def reinforce_loss_grad(logits, actions, returns, baseline=0.0) -> np.ndarray:
    """∂L/∂z_t = (G_t - b) (softmax(z_t) - onehot(a_t)), shape (T, A): unit 04's
    "prediction minus label", weighted by how good the outcome was."""
    Z, a, weight = _reinforce_inputs(logits, actions, returns, baseline)
    grad = np.exp(_log_softmax(Z))
    grad[np.arange(len(a)), a] -= 1.0
    return weight[:, None] * grad


def reinforce_loss_torch(logits, actions, weights, episodes: int = 1):
    """The same loss in PyTorch, for training: Σ_t w_t · cross_entropy(z_t, a_t) / episodes,
    with w_t = G_t - b (torch tensors; ``episodes`` averages a batch of episodes)."""
    import torch.nn.functional as F

    return (weights * F.cross_entropy(logits, actions, reduction="none")).sum() / episodes


def _torch():
    import torch

    return torch


def PolicyNet(n_states: int, n_actions: int = 4, hidden: int = 32):
    """The policy network: state s as a one-hot vector → Linear(S, hidden) → tanh →
    Linear(hidden, A) → action scores (logits); π(a|s) = softmax of the scores."""
    nn = _torch().nn
    return nn.Sequential(nn.Linear(n_states, hidden), nn.Tanh(), nn.Linear(hidden, n_actions))


def policy_table(model, n_states: int, temperature: float = 1.0) -> np.ndarray:
    """π(a|s) of the network for every state, shape (S, A) (one forward pass)."""
    torch = _torch()
    param = next(model.parameters())
    with torch.no_grad():
        logits = model(torch.eye(n_states, dtype=param.dtype, device=param.device))
    return softmax_policy(logits.double().cpu().numpy(), temperature)


def greedy_success_rate(env: GridWorld, policy, rollouts: int = 1, seed: int = 0, gamma: float = GAMMA) -> float:
    """The share of greedy rollouts that reach the goal: from every free cell, ``rollouts``
    episodes each, always taking the most probable action of ``policy``."""
    actions = np.argmax(as_policy(env, policy), axis=1)
    starts = np.flatnonzero(env.free)
    wins = sum(run_episode(env, actions, seed=seed + 1000 * i + j, start=int(s), gamma=gamma).outcome == "goal"
               for i, s in enumerate(starts) for j in range(rollouts))
    return wins / (len(starts) * rollouts)


@dataclass
class ReinforceRun:
    """What :func:`reinforce` recorded.

    Per episode (lists of equal length): ``returns`` G_0, ``lengths``,
    ``outcomes`` ("goal", "pit", "time limit"), ``start_states``. Per evaluation,
    every ``eval_every`` episodes (episode 0 included): ``eval_episodes``, the share
    of greedy rollouts that reach the goal (``success``), the policy table
    (``snapshots``, shape (S, A) each) and the CPU and wall seconds spent so far.
    ``model`` is the trained network."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    start_states: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    eval_episodes: list[int] = field(default_factory=list)
    success: list[float] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)
    model: object = None
    settings: dict = field(default_factory=dict)

    @property
    def episodes(self) -> int:
        return len(self.returns)

    def first_reaching(self, share: float) -> int | None:
        """The index of the first evaluation with success ≥ ``share`` (None if never)."""
        return next((i for i, s in enumerate(self.success) if s >= share), None)

    @property
    def policy(self) -> np.ndarray:
        """The final policy table π(a|s)."""
        return self.snapshots[-1]


def reinforce(env: GridWorld, episodes: int = 600, *, batch: int = 10, lr: float = 0.02, gamma: float = GAMMA,
              hidden: int = 32, baseline: bool = True, baseline_decay: float = 0.9, seed: int = 0,
              eval_every: int = 50, eval_rollouts: int = 1, device=None, progress: Callable | None = None
              ) -> ReinforceRun:
    """REINFORCE (Williams, 1992) with a baseline, on the episodes it samples.

    Repeat: play ``batch`` episodes with the current policy π_θ (each from the world's
    start, or a random free cell when the world has ``random_start``); for every step
    compute the return G_t (:func:`discounted_returns`); take one Adam step on the loss
    Σ_t (G_t - b) · CE(z_t, a_t), averaged over the batch (:func:`reinforce_loss_torch`).
    The baseline b is a running average of the returns seen so far (``baseline=False``:
    b = 0); any b that does not depend on the actions leaves the expected gradient
    unchanged and makes it less noisy.

    The policy cannot change while a batch is played, so its table π(a|s) is computed
    once per batch and episodes are sampled from it in NumPy; the loss is then one
    forward and backward pass over every step of the batch. Seeded by ``seed``.
    """
    torch = _torch()
    from .device import cpu_threads, get_device, set_seed

    episodes = whole_number("episodes", episodes, 1, allow_float=False)
    batch = whole_number("batch", batch, 1, meaning="episodes per update", allow_float=False)
    lr = real_number("lr", lr, 0.0, low_open=True, meaning="the learning rate")
    gamma = _gamma(gamma)
    baseline_decay = real_number("baseline_decay", baseline_decay, 0.0, 1.0)
    eval_every = whole_number("eval_every", eval_every, 1, allow_float=False)
    seed = whole_number("seed", seed, 0, allow_float=False)
    set_seed(seed)
    device = torch.device(device) if device is not None else get_device()
    model = PolicyNet(env.n_states, env.n_actions, hidden).double().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    eye = torch.eye(env.n_states, dtype=torch.float64, device=device)
    run = ReinforceRun(model=model, settings=dict(episodes=episodes, batch=batch, lr=lr, gamma=gamma, hidden=hidden,
                                                  baseline=baseline, seed=seed, device=str(device)))
    b, next_eval = 0.0, eval_every
    cpu0, wall0 = time.process_time(), time.perf_counter()

    def evaluate(table):
        run.eval_episodes.append(run.episodes)
        run.snapshots.append(table)
        run.success.append(greedy_success_rate(env, table, eval_rollouts, seed=seed, gamma=gamma))
        run.cpu_seconds.append(time.process_time() - cpu0)
        run.wall_seconds.append(time.perf_counter() - wall0)
        if progress is not None:
            progress(run)

    with cpu_threads("auto", model, device):
        table = policy_table(model, env.n_states)
        evaluate(table)
        while run.episodes < episodes:
            states, actions, weights, n = [], [], [], min(batch, episodes - run.episodes)
            returns_seen = []
            for i in range(n):
                episode = run_episode(env, table, seed=seed * 1_000_003 + run.episodes, gamma=gamma)
                G = discounted_returns(episode.rewards, gamma)
                states += episode.states[:-1]
                actions += episode.actions
                weights.append(G - b if baseline else G)
                returns_seen.append(G)
                run.returns.append(episode.G)
                run.lengths.append(episode.length)
                run.outcomes.append(episode.outcome)
                run.start_states.append(episode.states[0])
            if baseline:  # the running average includes this batch only after it was used
                b = baseline_decay * b + (1 - baseline_decay) * float(np.mean(np.concatenate(returns_seen)))
            logits = model(eye[torch.as_tensor(states, device=device)])
            loss = reinforce_loss_torch(logits, torch.as_tensor(actions, device=device),
                                        torch.as_tensor(np.concatenate(weights), device=device), episodes=n)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            run.losses.append(float(loss.detach()))
            table = policy_table(model, env.n_states)
            if run.episodes >= next_eval or run.episodes == episodes:
                evaluate(table)
                next_eval = (run.episodes // eval_every + 1) * eval_every
    return run
