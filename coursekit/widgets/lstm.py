"""The LSTM gate stepper: feed a sequence to an LSTM one symbol at a time and watch its gates.

What you see, after the model has read ``t`` symbols:

* top: the sequence, the symbol just read in a box, the ones to come in grey;
* "gates at this step": the forget gate f, the input gate i, the candidate C̃ and
  the output gate o of each of the three units, as bars (f, i, o between 0 and 1:
  closed to open; C̃ between −1 and 1: what would be written);
* "what the gates did to the cell state", per unit: the memory before the step
  c₍t−1₎, what the forget gate kept of it f ⊙ c₍t−1₎, what the input gate wrote
  i ⊙ C̃, and their sum, the new memory c_t;
* bottom left: the whole run as a heat map, one column per symbol: the gates f and i,
  the cell state and the output h of the LSTM, and under them the state h of a plain
  RNN that read the same sequence; the column of the current step is framed;
* bottom right: the answer after each symbol (the probability that the first symbol
  was A, or a count): the right answer, the LSTM's and the plain RNN's, with where
  things stand drawn large on the plot.

Three presets, each with an LSTM of three units and a plain RNN of three units trained
the same way on the same sequences (the weights ship in ``datasets/lstm_gate_presets.json``,
made by ``scripts/train_lstm_presets.py``):

* **remember the first symbol** (A or B, then 39 distractors, A and B among them, and
  the answer is asked from the 15th symbol on): the forget gates stay near 1, so the
  cell state carries the first symbol to the end. The plain RNN, trained the same way,
  never learned it: the gradient from 15 steps later had vanished, and its answer stays
  at 50 %;
* **count the a's**: the input gate opens on every a and the cell state climbs one step;
* **count the a's since the last |**: the forget gate closes on | and the count starts again.

Type your own sequence into the box (symbols of the task's alphabet, with or without
spaces), or draw a new random one. Every number the widget shows comes from
:func:`coursekit.rnn.lstm_trace` and :func:`coursekit.rnn.rnn_trace`: the widget holds no
algorithm of its own.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as W
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .. import rnn
from .base import GHOST_COLOR, OnPlotStatus, PreviousRun, StepWidget, button, control_row

GATE_COLORS = {"f": "#2e7d32", "i": "#1565c0", "g": "#8e24aa", "o": "#ef6c00"}
GATE_NAMES = {"f": "forget f", "i": "input i", "g": "candidate C̃", "o": "output o"}
CELL_COLORS = ("0.6", GATE_COLORS["f"], GATE_COLORS["i"], "black")   # c₍t−1₎, f⊙c₍t−1₎, i⊙C̃, c_t
LSTM_COLOR, RNN_COLOR, TARGET_COLOR = "#1565c0", "#d84315", "0.2"
MAX_LENGTH = 60


@dataclass
class GateStep:
    """One step of the stepper: the LSTM's and the RNN's states after ``t`` symbols, and
    the right answer then (None before the first symbol)."""

    t: int
    lstm: rnn.LSTMState
    rnn: rnn.RNNState
    target: float | None


def parse_sequence(text: str, alphabet) -> list[str]:
    """Symbols from typed text: separated by spaces, or one character each ("AxBy")."""
    if not isinstance(text, str):
        raise ValueError(f"the sequence must be text, got {type(text).__name__}")
    parts = text.split()
    if len(parts) == 1 and len(parts[0]) > 1 and all(len(s) == 1 for s in alphabet):
        parts = list(parts[0])
    if not parts:
        raise ValueError("the sequence is empty: type some symbols")
    if len(parts) > MAX_LENGTH:
        raise ValueError(f"the sequence has {len(parts)} symbols; the stepper shows at most {MAX_LENGTH}")
    bad = sorted({s for s in parts if s not in alphabet})
    if bad:
        raise ValueError(f"this task reads only {' '.join(alphabet)}; not {' '.join(bad)}")
    return parts


class LSTMGateStepper(StepWidget):
    """Step an LSTM (and a plain RNN beside it) through a sequence, one symbol at a time.

    ``LSTMGateStepper(preset="first", sequence=None, seed=0)``: ``preset`` is "first",
    "count" or "reset" (see :data:`coursekit.rnn.GATE_TASKS`); ``sequence`` a string of
    the task's symbols (default: the task's example); ``seed`` picks the random sequences.

    Readable from Python: ``index`` (symbols read), ``state`` (a :class:`GateStep`),
    ``symbols``, ``gate_bars`` / ``cell_bars`` (the bar artists by gate), ``output_lines``,
    ``status`` (the large text on the plot), ``counter``, ``message``.
    """

    name = "LSTM gate stepper"
    counter_noun = "symbol"
    play_interval_ms = 400

    def __init__(self, preset: str = "first", sequence: str | None = None, seed: int = 0, presets=None):
        self.presets = presets if presets is not None else rnn.load_gate_presets()
        if preset not in self.presets:
            raise ValueError(f"preset must be one of {tuple(self.presets)}, got {preset!r}")
        self.rng = np.random.default_rng(int(seed))
        super().__init__(figsize=(8.2, 5.2))
        self.preset_dropdown = W.Dropdown(options=[(p.task.title, name) for name, p in self.presets.items()],
                                          value=preset, layout=W.Layout(width="250px"))
        self.random_button = button("new sequence", "random", width=150, tooltip="draw a new random sequence")
        self.sequence_text = W.Text(continuous_update=False, layout=W.Layout(width="560px"),
                                    placeholder="type symbols, e.g. A x B y, then press Enter")
        self.alphabet_label = W.HTML(layout=W.Layout(width="150px"))
        self.rows = [control_row("task", self.preset_dropdown, self.random_button, self.alphabet_label),
                     control_row("sequence", self.sequence_text)]
        self.symbols: list[str] = []
        self._build_figure()
        self.preset_dropdown.observe(lambda _: self._on_preset(), names="value")
        self.random_button.on_click(lambda _: self.new_sequence())
        self.sequence_text.observe(lambda change: self.set_sequence(change["new"]), names="value")
        self._on_preset(sequence)

    # ---- what the controls say -------------------------------------------------------
    @property
    def preset(self) -> rnn.GatePreset:
        return self.presets[self.preset_dropdown.value]

    def describe_run(self) -> str:
        return " ".join(self.symbols) if len(self.symbols) <= 12 else " ".join(self.symbols[:12]) + " ..."

    # ---- the figure ---------------------------------------------------------------------
    def _build_figure(self) -> None:
        fig = self.fig
        gs = fig.add_gridspec(3, 2, height_ratios=[0.3, 1.0, 1.2], width_ratios=[1.15, 1.0])
        self.seq_ax = fig.add_subplot(gs[0, :])
        self.gate_ax = fig.add_subplot(gs[1, 0])
        self.cell_ax = fig.add_subplot(gs[1, 1])
        self.heat_ax = fig.add_subplot(gs[2, 0])
        self.out_ax = fig.add_subplot(gs[2, 1])
        H = rnn.GATE_HIDDEN

        ax = self.seq_ax
        ax.set_axis_off()
        ax.set_xlim(-0.5, MAX_LENGTH - 0.5)
        ax.set_ylim(0, 1)
        # the letters are static (drawn once per run); a white veil over the symbols still to
        # come and the box around the one just read are the only moving parts
        self.seq_texts = [ax.text(k, 0.45, "", ha="center", va="center", fontsize=11, family="monospace")
                          for k in range(MAX_LENGTH)]
        self.seq_veil = ax.add_patch(Rectangle((-0.5, 0.0), MAX_LENGTH, 0.95, color="white", alpha=0.65, lw=0))
        self.seq_box = ax.add_patch(Rectangle((-0.5, 0.05), 1.0, 0.8, fill=False, lw=2.0, ec=LSTM_COLOR))
        self.seq_title = ax.text(-0.5, 1.0, "", ha="left", va="bottom", fontsize=9, color="0.3")

        # gates: four groups of H horizontal bars
        ax = self.gate_ax
        self.gate_bars = {}
        ticks, labels = [], []
        for k, gate in enumerate("figo"):
            ys = [k * (H + 1) + u for u in range(H)]
            self.gate_bars[gate] = ax.barh(ys, [0.0] * H, height=0.8, color=GATE_COLORS[gate])
            ticks += ys
            labels += [f"{GATE_NAMES[gate]} {u + 1}" if u == 0 else f"{u + 1}" for u in range(H)]
        ax.set_yticks(ticks, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(-1.05, 1.05)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_title("gates at this step (unit 1, 2, 3)", fontsize=10)
        ax.tick_params(axis="x", labelsize=8)

        # cell state update: per unit, four bars
        ax = self.cell_ax
        width = 0.2
        self.cell_bars = [ax.bar(np.arange(H) + (j - 1.5) * width, [0.0] * H, width=width, color=color)
                          for j, color in enumerate(CELL_COLORS)]
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xticks(np.arange(H), [f"unit {u + 1}" for u in range(H)], fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title("what the gates did to the cell state", fontsize=10)
        ax.legend(handles=[Rectangle((0, 0), 1, 1, color=c) for c in CELL_COLORS],
                  labels=["c before", "kept: f⊙c", "written: i⊙C̃", "c after"], fontsize=7, ncols=4,
                  loc="upper center", framealpha=0.9, handlelength=1.0, columnspacing=0.8)

        # heat map of the run, and the cursor on it
        ax = self.heat_ax
        self.heat_image = ax.imshow(np.zeros((5 * H, 1)), aspect="auto", cmap="RdBu_r",
                                    norm=TwoSlopeNorm(0.0, -1.0, 1.0), interpolation="nearest")
        rows = [f"{name} {u + 1}" for name in ("f", "i", "c", "h", "RNN h") for u in range(H)]
        ax.set_yticks(range(5 * H), rows, fontsize=7)
        for r in (H, 2 * H, 3 * H, 4 * H):
            ax.axhline(r - 0.5, color="white", lw=2.0)
        self.cursor = ax.add_patch(Rectangle((-0.5, -0.5), 1.0, 5 * H, fill=False, lw=2.0, ec="black"))
        ax.set_title("the whole run (blue −1 · white 0 · red +1)", fontsize=10)
        ax.tick_params(axis="x", labelsize=7)

        # outputs over time
        ax = self.out_ax
        self.target_line, = ax.plot([], [], ls="--", drawstyle="steps-mid", color=TARGET_COLOR, lw=1.4,
                                    label="right answer")
        self.lstm_line, = ax.plot([], [], "-o", ms=3, color=LSTM_COLOR, lw=1.8, label="LSTM")
        self.rnn_line, = ax.plot([], [], "-s", ms=3, color=RNN_COLOR, lw=1.4, label="plain RNN")
        self.output_lines = {"target": self.target_line, "lstm": self.lstm_line, "rnn": self.rnn_line}
        ax.set_xlabel("symbols read", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        self.status = OnPlotStatus(ax, loc="upper left", fontsize=11)
        self.set_dynamic([self.seq_veil, self.seq_box,
                          *(bar for bars in self.gate_bars.values() for bar in bars),
                          *(bar for bars in self.cell_bars for bar in bars), self.cursor,
                          self.target_line, self.lstm_line, self.rnn_line, *self.status.artists])

    # ---- runs -------------------------------------------------------------------------------
    def _on_preset(self, sequence: str | None = None) -> None:
        task = self.preset.task
        self.alphabet_label.value = f"symbols: <b>{html.escape(' '.join(task.alphabet))}</b>"
        self.sequence_text.placeholder = f"type symbols of {' '.join(task.alphabet)}, then press Enter"
        self._legend()
        self._set_text(sequence if sequence is not None else task.example)

    def _set_text(self, text: str) -> None:
        """Put ``text`` into the box without triggering a second recompute, then apply it."""
        if self.sequence_text.value == text:
            self.set_sequence(text)
        else:
            self.sequence_text.value = text     # its observer calls set_sequence

    def new_sequence(self, length: int = 16) -> None:
        """A random sequence of the current task (the first symbol A or B for "first")."""
        X, _ = self.preset.task.sample(self.rng, 1, length)
        self._set_text(" ".join(self.preset.task.alphabet[i] for i in X[0]))

    def set_sequence(self, text: str) -> None:
        """Run the preset's LSTM and RNN over ``text`` and show the run from symbol 0."""
        try:
            symbols = parse_sequence(text, self.preset.task.alphabet)
        except ValueError as err:
            self.message.value = f"<span style='color:#c62828'>{html.escape(str(err))}</span>"
            return
        self.symbols = symbols
        lstm_states, rnn_states = self.preset.traces(symbols)
        targets = [None, *self.preset.task.target(symbols)]
        trace = [GateStep(t, a, b, None if targets[t] is None else float(targets[t]))
                 for t, (a, b) in enumerate(zip(lstm_states, rnn_states))]
        self._draw_run(trace)
        self.set_trace(trace)
        self.freeze_layout()

    def _draw_run(self, trace) -> None:
        """The static part of a run: heat map, axes limits, the sequence's letters."""
        self.invalidate_background()
        T = len(trace) - 1
        H = rnn.GATE_HIDDEN
        columns = []
        for step in trace[1:]:
            a = step.lstm
            columns.append(np.concatenate([a.f, a.i, np.tanh(a.c), a.h, step.rnn.h]))
        # f and i lie in [0, 1]; shown as 2p − 1 so that closed is blue and open is red
        image = np.array(columns).T
        image[:2 * H] = 2 * image[:2 * H] - 1
        self.heat_image.set_data(image)
        self.heat_image.set_extent((-0.5, T - 0.5, 5 * H - 0.5, -0.5))
        self.heat_ax.set_xlim(-0.5, T - 0.5)
        self.heat_ax.set_xticks(range(T), self.symbols, fontsize=7 if T <= 30 else 5)
        task = self.preset.task
        ys = [s.target for s in trace[1:]] + [s.lstm.y[0] for s in trace[1:]] + [s.rnn.y[0] for s in trace[1:]]
        ax = self.out_ax
        ax.set_xlim(0, max(T, 1) + 0.5)
        if task.output == "probability":
            ax.set_ylim(-0.05, 1.35)
            ax.set_ylabel("P(first symbol was A)", fontsize=8)
        else:
            top = max(max(ys), 1.0)
            ax.set_ylim(min(min(ys), 0.0) - 0.3, top * 1.35 + 0.5)
            ax.set_ylabel(task.question.replace("how many ", "").replace("?", "").strip(), fontsize=8)
        self.seq_ax.set_xlim(-0.5, max(T, 24) - 0.5)
        for k, text in enumerate(self.seq_texts):
            text.set_text(self.symbols[k] if k < T else "")
        self.seq_title.set_text(f"{task.title}: after every symbol the models answer “{task.question}”")
        self._fit_gate_axes(trace)

    def _fit_gate_axes(self, trace) -> None:
        values = [0.5]
        for s in trace[1:]:
            values += list(np.abs(s.lstm.c_prev)) + list(np.abs(s.lstm.c))
        limit = 1.1 * max(values)
        self.cell_ax.set_ylim(-limit, 1.45 * limit)     # head room for the legend: no bar reaches it

    def _legend(self) -> None:
        ax = self.out_ax
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
        handles = [self.target_line, self.lstm_line, self.rnn_line]
        handles += [a for a in self.ghost_artists if isinstance(a, Line2D)]
        ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.85)

    # ---- compare mode: the previous run's answers, faint -----------------------------------
    def draw_ghost(self, run: PreviousRun) -> list:
        steps = run.states[1:]
        line, = self.out_ax.plot([s.t for s in steps], [s.lstm.y[0] for s in steps], color=GHOST_COLOR, lw=1.2,
                                 alpha=0.6, label=f"previous: {run.label[:24]}")
        return [line]

    def keep_as_ghost(self, run) -> None:
        super().keep_as_ghost(run)
        self._legend()

    def clear_ghost(self) -> None:
        super().clear_ghost()
        self._legend()
        self.invalidate_background()
        self.redraw()

    # ---- one state -------------------------------------------------------------------------
    def render(self, state: GateStep) -> None:
        t, a = state.t, state.lstm
        self.seq_veil.set_x(t - 0.5)
        self.seq_box.set_visible(t > 0)
        self.seq_box.set_x(t - 1.5)
        zero = np.zeros(rnn.GATE_HIDDEN)
        for gate in "figo":
            values = zero if getattr(a, gate) is None else getattr(a, gate)
            for bar, value in zip(self.gate_bars[gate], values):
                bar.set_width(float(value))
        for bars, values in zip(self.cell_bars, (a.c_prev, a.kept, a.written, a.c)):
            for bar, value in zip(bars, values):
                bar.set_height(float(value))
        self.cursor.set_visible(t > 0)
        self.cursor.set_x(t - 1.5)
        steps = self.trace[1:t + 1]
        xs = [s.t for s in steps]
        self.target_line.set_data(xs, [s.target for s in steps])
        self.lstm_line.set_data(xs, [s.lstm.y[0] for s in steps])
        self.rnn_line.set_data(xs, [s.rnn.y[0] for s in steps])
        self._set_status(state)
        self.message.value = self.describe_state(state)

    def _answer(self, value: float) -> str:
        if self.preset.task.output == "probability":
            return f"{value:.0%} A"
        return f"{value:.1f}"

    def _right(self, value: float, target: float) -> bool:
        if self.preset.task.output == "probability":
            return (value > 0.5) == (target > 0.5)
        return round(value) == target

    def _set_status(self, state: GateStep) -> None:
        if state.target is None:
            self.status.set("no symbol read yet", "press Step", "info")
            return
        lstm_y, rnn_y = state.lstm.y[0], state.rnn.y[0]
        right = "A" if state.target > 0.5 else "B"
        truth = f"right: {right}" if self.preset.task.output == "probability" else f"right: {state.target:.0f}"
        ok = self._right(lstm_y, state.target)
        self.status.set(f"after {state.t} symbol{'s' if state.t != 1 else ''}",
                        f"LSTM {self._answer(lstm_y)} · RNN {self._answer(rnn_y)} · {truth}", "ok" if ok else "bad")

    def describe_state(self, state: GateStep) -> str:
        """The sentence under the plot: what this step did, in words."""
        if state.target is None:
            return html.escape(f"The LSTM starts with c = h = 0. Press Step to feed it the first symbol "
                               f"({self.symbols[0]}).")
        a = state.lstm
        kept = float(np.mean(a.f))
        written = float(np.sum(np.abs(a.written)))
        closed = [u + 1 for u, f in enumerate(a.f) if f < 0.5]
        opened = [u + 1 for u, i in enumerate(a.i) if i > 0.5]
        parts = [f"read “{a.symbol}”:"]
        if closed:
            parts.append(f"the forget gate closed in unit{'s' if len(closed) > 1 else ''} "
                         f"{', '.join(map(str, closed))} (the memory there is wiped);")
        else:
            parts.append(f"the forget gates kept {kept:.0%} of the memory;")
        if opened:
            parts.append(f"the input gate opened in unit{'s' if len(opened) > 1 else ''} "
                         f"{', '.join(map(str, opened))} and wrote {written:.2f} in all;")
        else:
            parts.append(f"the input gates stayed mostly shut (|i ⊙ C̃| = {written:.2f} in all);")
        verdict = "right" if self._right(a.y[0], state.target) else "wrong"
        parts.append(f"the LSTM answers {self._answer(a.y[0])} ({verdict}), the plain RNN "
                     f"{self._answer(state.rnn.y[0])}.")
        return html.escape(" ".join(parts))

    def describe_step(self, index: int) -> str:
        return f"<b>symbol {index} / {self.last_index}</b>"
