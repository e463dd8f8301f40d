"""The attention explorer: one head of a trained Transformer, step by step (注意力模型).

What you see, for one layer and one head of the model chosen, on one sequence:

* **left**, the head view (as BertViz draws it): the tokens twice, as queries
  on the left and as keys on the right; lines from the selected query to the
  keys, thicker and darker where its weight is larger (from the softmax stage
  on); keys the mask hides are struck through in grey;
* **middle**, the selected query's numbers over the keys at the current stage,
  as bars with their values: the scores q·k_j, the same divided by √d_k (and
  by the temperature), the masked scores (-∞ where hidden), the softmax
  weights, and at the last stage the weights again with the output
  z = Σ_j a_j v_j summarized above the plots. Scores share one scale over the
  first three stages, so the scaling visibly shrinks them;
* **right**, the whole attention matrix of this layer and head for every
  model given (the trained one and a freshly initialised one, side by side),
  the selected query's row framed; rows are queries, columns keys.

The stage, the query and the model are written large above the plots.

Controls: the model, the layer and the head; the causal mask on or off (off
shows what the head would compute if it could look ahead: the model never ran
like that); the softmax temperature (the scores are divided by it); a
sequence (for the sorting model: ten digits, "sort" or "random"). Click a
token on the left or a row of a heat map to pick the query. Reset / Back /
Step / Play / "to end" and the scrubber move through the five stages; every
change of query, model, layer, head, mask, temperature or sequence starts
again at stage 1. With "compare" on, the previous choice's weights stay on the
bar plot as a faint outline.

The widget holds no attention code of its own: the queries, keys and values
come from :func:`coursekit.transformer.attention_qkv` (the model's weights,
applied by the NumPy reference), the stages from
:func:`coursekit.attention.attention_trace`, the matrices from
:func:`coursekit.attention.scaled_dot_product_attention`.
"""
from __future__ import annotations

import html
import math
import re
from typing import Callable, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import Rectangle

from coursekit import attention as A
from coursekit._validate import whole_number
from coursekit.widgets.base import GHOST_COLOR, OnPlotStatus, PreviousRun, StepWidget, control_row

STAGE_TITLES = {
    "scores": "scores q·k_j",
    "scaled": "scaled: ÷ √d_k",
    "masked": "masked: hidden keys → −∞",
    "softmax": "softmax: weights a_j",
    "output": "output z = Σ a_j v_j",
}
SCORE_COLOR, WEIGHT_COLOR, HIDDEN_COLOR = "#5b7fb5", "tab:orange", "0.75"
READ_COLOR, WRITE_COLOR = "0.1", "tab:blue"   # token labels: read (input) and written (output) tokens
LINE_RGB = (0.85, 0.33, 0.0)
LABELLED_BARS = 5     # how many bars carry their number


def _fmt_value(v: float) -> str:
    if np.isneginf(v):
        return "−∞"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


class AttentionExplorer(StepWidget):
    """Explore the attention of one or two Transformers (``coursekit.transformer.TinyTransformer``) on a sequence.

    ``models``: a dict name → model (one or two; the first is selected); ``tokens``: the
    sequence's token ids; ``labels``: how to write each token (default: the ids);
    ``split``: how many leading tokens are read rather than written (a line marks the
    boundary; None: no line); ``sequence_fn(text) -> tokens``: turns what the student
    types into a new sequence (without it there is no sequence row); ``mask``: whether the
    causal mask starts on (the models were trained with it).

    Readable from Python: ``query``, ``layer``, ``head``, ``model_name``, ``mask_on``,
    ``temperature``, ``index`` (the stage, 0-4), ``state`` (an
    :class:`coursekit.attention.AttentionStage`), ``weights`` (each model's matrix shown),
    ``bar_values``, ``lines``, ``status``, ``counter``, ``message``.
    """

    name = "attention explorer"
    counter_noun = "stage"
    play_interval_ms = 1000

    def __init__(self, models: dict, tokens, labels: Sequence[str] | None = None, *, split: int | None = None,
                 query: int | None = None, layer: int | None = None, head: int = 0, mask: bool = True,
                 temperature: float = 1.0, sequence_fn: Callable[[str], np.ndarray] | None = None,
                 sequence_text: str = "", random_text: Callable[[np.random.Generator], str] | None = None):
        if not isinstance(models, dict) or not 1 <= len(models) <= 2:
            raise ValueError("models must be a dict of one or two models, name -> model, e.g. "
                             "{'trained': model, 'untrained': fresh}")
        first = next(iter(models.values()))
        self.models = dict(models)
        self.num_layers, self.num_heads = first.num_layers, first.num_heads
        for name, model in self.models.items():
            if (model.num_layers, model.num_heads) != (self.num_layers, self.num_heads):
                raise ValueError(f"every model needs the same layers and heads: {name!r} has "
                                 f"{model.num_layers} layers of {model.num_heads} heads, the first "
                                 f"{self.num_layers} of {self.num_heads}")
        self.split = split
        self.sequence_fn, self.random_text = sequence_fn, random_text
        self._rng = np.random.default_rng(0)
        self._qkv: dict[str, list] = {}
        self.weights: dict[str, np.ndarray] = {}
        super().__init__(figsize=(8.2, 4.7))

        layer = self.num_layers - 1 if layer is None else whole_number("layer", layer, 0, self.num_layers - 1)
        head = whole_number("head", head, 0, self.num_heads - 1, meaning="counted from 0")
        self.model_toggle = W.ToggleButtons(options=list(self.models), value=next(iter(self.models)),
                                            style={"button_width": "86px"}, tooltip="which model's attention")
        self.layer_toggle = W.ToggleButtons(options=[(str(i + 1), i) for i in range(self.num_layers)], value=layer,
                                            style={"button_width": "34px"})
        self.head_toggle = W.ToggleButtons(options=[(str(i + 1), i) for i in range(self.num_heads)], value=head,
                                           style={"button_width": "34px"})
        self.mask_toggle = W.ToggleButton(value=bool(mask), description="causal mask on" if mask else "mask off",
                                          icon="eye-slash", layout=W.Layout(width="150px"),
                                          tooltip="hide the keys after the query (a decoder must not look ahead)")
        self.temperature_slider = W.FloatLogSlider(value=temperature, base=2, min=-2, max=2, step=0.25,
                                                   readout_format=".2f", continuous_update=False,
                                                   layout=W.Layout(width="230px"))
        label = lambda text, width: W.HTML(f"<b>{text}</b>", layout=W.Layout(width=f"{width}px"))  # noqa: E731
        self.rows = [
            control_row("model", self.model_toggle, label("layer", 44), self.layer_toggle,
                        label("head", 40), self.head_toggle),
            control_row("softmax", self.mask_toggle, label("temperature", 86), self.temperature_slider),
        ]
        if sequence_fn is not None:
            self.sequence_text = W.Text(value=sequence_text, layout=W.Layout(width="220px"),
                                        continuous_update=False)
            self.sequence_button = W.Button(description="sort", icon="sort-numeric-up", layout=W.Layout(width="80px"))
            self.random_button = W.Button(description="random", icon="random", layout=W.Layout(width="90px"))
            self.sequence_button.on_click(lambda _: self.set_sequence_text(self.sequence_text.value))
            self.random_button.on_click(lambda _: self.random_sequence())
            self.rows.append(control_row("sequence", self.sequence_text, self.sequence_button, self.random_button))

        self._build_axes()
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self._query = None
        self._load_sequence(tokens, labels, query)
        for control in (self.model_toggle, self.layer_toggle, self.head_toggle, self.temperature_slider):
            control.observe(lambda _: self.recompute(), names="value")
        self.mask_toggle.observe(self._on_mask, names="value")

    # ---- a ready-made explorer for the sorting task --------------------------------------------
    @classmethod
    def for_sorting(cls, models: dict, digits: Sequence[int] = (7, 2, 9, 2, 0, 5, 8, 1, 5, 3), **kwargs):
        """The explorer on the digit-sorting task of unit 11: the sequence is the digits and the first
        model's sorted output (:func:`coursekit.transformer.sort_sequence`); typing ten digits sorts them."""
        from coursekit import transformer

        writer = next(iter(models.values()))
        length = len(digits)

        def sequence_fn(text: str) -> np.ndarray:
            found = re.findall(r"\d", text)
            if len(found) != length:
                raise ValueError(f"type {length} digits (0-9), for example '7 2 9 2 0 5 8 1 5 3'; "
                                 f"found {len(found)}")
            return transformer.sort_sequence(writer, np.array([int(d) for d in found]), length)

        def random_text(rng) -> str:
            return " ".join(str(d) for d in rng.integers(0, 10, size=length))

        text = " ".join(str(int(d)) for d in digits)
        kwargs.setdefault("query", length - 1)            # the first position that writes
        return cls(models, sequence_fn(text), split=length, sequence_fn=sequence_fn, sequence_text=text,
                   random_text=random_text, **kwargs)

    # ---- what the controls say -------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.model_toggle.value

    @property
    def layer(self) -> int:
        return int(self.layer_toggle.value)

    @property
    def head(self) -> int:
        return int(self.head_toggle.value)

    @property
    def mask_on(self) -> bool:
        return bool(self.mask_toggle.value)

    @property
    def temperature(self) -> float:
        return float(self.temperature_slider.value)

    @property
    def query(self) -> int:
        return self._query

    @property
    def T(self) -> int:
        return len(self.tokens)

    def describe_run(self) -> str:
        return (f"{self.model_name}, layer {self.layer + 1}, head {self.head + 1}, query {self.query + 1}, "
                f"T = {self.temperature:.2f}{'' if self.mask_on else ', no mask'}")

    def updates(self, index: int) -> int:
        return index + 1                                   # stages are counted 1..5

    # ---- the figure ------------------------------------------------------------------------------
    def _build_axes(self) -> None:
        grid = self.fig.add_gridspec(2, 4, height_ratios=[0.11, 1], width_ratios=[1.0, 1.05, 1.0, 1.0])
        self.ax_status = self.fig.add_subplot(grid[0, :])
        self.ax_status.set_axis_off()
        self.ax_tokens = self.fig.add_subplot(grid[1, 0])
        self.ax_bars = self.fig.add_subplot(grid[1, 1], sharey=self.ax_tokens)
        self.ax_heat = {}
        for i, name in enumerate(self.models):
            self.ax_heat[name] = self.fig.add_subplot(grid[1, 2 + i])
        self.status = OnPlotStatus(self.ax_status, loc="upper left", fontsize=12)

    def _draw_static(self) -> None:
        """Everything that stays while stepping: tokens, axes, heat-map frames. Rebuilt for a new
        sequence or model; the moving artists are made here once and updated by render."""
        T = self.T
        for ax in [self.ax_tokens, self.ax_bars, *self.ax_heat.values()]:
            ax.clear()
        ax = self.ax_tokens
        ax.set_xlim(-0.55, 1.55)
        ax.set_ylim(T - 0.5, -0.5)
        ax.set_axis_off()
        ax.set_title("head view: query → key", fontsize=9)
        if self.split is None:
            colors = [READ_COLOR] * T
        else:
            colors = [READ_COLOR if i < self.split else WRITE_COLOR for i in range(T)]
        self.token_colors = colors
        for i, (text, color) in enumerate(zip(self.labels, colors)):
            ax.text(-0.02, i, text, ha="right", va="center", fontsize=8, color=color, family="monospace")
            ax.text(1.02, i, text, ha="left", va="center", fontsize=8, color=color, family="monospace")
        if self.split is not None and 0 < self.split < T:
            ax.axhline(self.split - 0.5, color="0.6", lw=0.6, ls=":")
        self.lines = LineCollection([], linewidths=1, colors=[LINE_RGB], zorder=3)
        ax.add_collection(self.lines)
        self.query_box = Rectangle((-0.5, -0.5), 0.48, 1, facecolor="#ffe08a", edgecolor="none", zorder=0)
        ax.add_patch(self.query_box)
        # the selected query's label, drawn again over its highlight
        self.query_label = ax.text(-0.02, 0, "", ha="right", va="center", fontsize=8, fontweight="bold",
                                   family="monospace")
        self.hidden_marks = LineCollection([], colors=[HIDDEN_COLOR], linewidths=1.2, zorder=4)
        ax.add_collection(self.hidden_marks)

        ax = self.ax_bars
        ax.set_xlim(-1.3, 1.3)
        ax.axvline(0, color="0.6", lw=0.6)
        ax.tick_params(left=False, labelleft=False, bottom=False, labelbottom=False)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title("the query row, at this stage", fontsize=9)
        # all bars in one collection and numbers on the largest few: a step redraws a handful of artists
        self.bars = PolyCollection([], zorder=2)
        ax.add_collection(self.bars)
        self.bar_texts = [ax.text(0, 0, "", va="center", fontsize=7, color="0.15") for _ in range(LABELLED_BARS)]
        if self.split is not None and 0 < self.split < T:
            ax.axhline(self.split - 0.5, color="0.6", lw=0.6, ls=":")

        self.heat_images, self.row_frames = {}, {}
        for i, (name, ax) in enumerate(self.ax_heat.items()):
            # rows as tall as the token rows on the left, so a query's row lines up with its token
            self.heat_images[name] = ax.imshow(np.zeros((T, T)), cmap="Blues", vmin=0, vmax=1,
                                               interpolation="nearest", aspect="auto")
            ax.set_ylim(T - 0.5, -0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("key", fontsize=8)
            if i == 0:
                ax.set_ylabel("query (click a row)", fontsize=8)
            if self.split is not None and 0 < self.split < T:
                ax.axhline(self.split - 0.5, color="tab:orange", lw=0.7)
                ax.axvline(self.split - 0.5, color="tab:orange", lw=0.7)
            self.row_frames[name] = Rectangle((-0.5, -0.5), T, 1, fill=False, edgecolor="tab:red", lw=1.3)
            ax.add_patch(self.row_frames[name])
        self.heat_titles = {name: ax.set_title(name, fontsize=9) for name, ax in self.ax_heat.items()}
        # the heat maps change only with the layer, head, model, mask, temperature or sequence (then the
        # next draw is a full one); stepping through the stages moves only what is listed here
        self.set_dynamic([self.lines, self.query_box, self.query_label, self.hidden_marks, self.bars,
                          *self.bar_texts, *self.row_frames.values(), *self.status.artists])
        self.freeze_layout()

    # ---- the sequence and the computation ------------------------------------------------------
    def _load_sequence(self, tokens, labels=None, query=None) -> None:
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or tokens.size < 2 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"tokens must be one sequence of at least 2 token ids, got shape {tokens.shape} "
                             f"and dtype {tokens.dtype}")
        from coursekit.transformer import attention_qkv

        self.tokens, self.weights = tokens, {}
        self.labels = [str(t) for t in tokens] if labels is None else [str(s) for s in labels]
        if len(self.labels) != tokens.size:
            raise ValueError(f"give one label per token: {tokens.size} tokens, {len(self.labels)} labels")
        self._qkv = {name: attention_qkv(model, tokens) for name, model in self.models.items()}
        default = self.split - 1 if self.split else 0
        self._query = min(max(int(default if query is None else query), 0), self.T - 1)
        self._draw_static()
        self.recompute(new_sequence=True)

    def set_sequence(self, tokens, labels=None) -> None:
        """Show a new sequence (token ids), keeping the query position if it still exists."""
        self.player.pause()
        self._load_sequence(tokens, labels, self._query)

    def set_sequence_text(self, text: str) -> None:
        """What the sequence box's "sort" button does: a new sequence from the typed text."""
        try:
            tokens = self.sequence_fn(text)
        except ValueError as err:
            self.message.value = f"<span style='color:#c62828'>{html.escape(str(err))}</span>"
            return
        self.set_sequence(tokens)

    def random_sequence(self) -> None:
        text = self.random_text(self._rng)
        self.sequence_text.value = text
        self.set_sequence_text(text)

    def _mask(self) -> np.ndarray | None:
        return A.causal_mask(self.T) if self.mask_on else None

    def recompute(self, new_sequence: bool = False) -> None:
        """Recompute the trace and the matrices for the current choice and start at stage 1."""
        mask = self._mask()
        for name, layers in self._qkv.items():
            Q, K, V = layers[self.layer]
            weights = A.scaled_dot_product_attention(Q[self.head], K[self.head], V[self.head], mask,
                                                     self.temperature)[1]
            if name not in self.weights or not np.array_equal(weights, self.weights[name]):
                self.weights[name] = weights
                self.heat_images[name].set_data(weights)
                self.invalidate_background()              # the heat maps are static: redraw them once
        Q, K, V = self._qkv[self.model_name][self.layer]
        trace = A.attention_trace(Q[self.head], K[self.head], V[self.head], self.query, mask, self.temperature)
        for name, title in self.heat_titles.items():
            text = f"{name}" + ("  ◀" if name == self.model_name and len(self.models) > 1 else "")
            if title.get_text() != text:                  # a title is static: the next draw is a full one
                title.set_text(text)
                title.set_fontweight("bold" if name == self.model_name else "normal")
                self.invalidate_background()
        self.set_trace(trace, compare=None if not new_sequence else False)

    def select_query(self, query: int) -> None:
        """Pick the query position (what a click on a token or a heat-map row does)."""
        query = int(query)
        if not 0 <= query < self.T:
            raise ValueError(f"query must be a position from 0 to {self.T - 1}, got {query}")
        self._query = query
        self.recompute()

    def _on_mask(self, change) -> None:
        self.mask_toggle.description = "causal mask on" if change["new"] else "mask off"
        self.recompute()

    def _on_click(self, event) -> None:
        if event.ydata is None or getattr(event, "button", 1) not in (1, None):
            return
        if event.inaxes is self.ax_tokens or event.inaxes in self.ax_heat.values():
            row = int(round(event.ydata))
            if 0 <= row < self.T and row != self.query:
                self.select_query(row)

    # ---- one stage ---------------------------------------------------------------------------------
    @property
    def bar_values(self) -> np.ndarray:
        """The numbers the bars show now, one per key (-inf for hidden keys at the masked stage)."""
        return np.array(self._bar_values)

    def render(self, state: A.AttentionStage) -> None:
        T, q = self.T, state.query
        allowed = state.allowed
        # the bars: scores share one scale over the first three stages; weights are drawn in [0, 1]
        values = state.current
        self._bar_values = values
        is_weights = state.name in ("softmax", "output")
        scale = 1.0 if is_weights else max(float(np.max(np.abs(state.raw))), 1e-12)
        widths = np.where(np.isneginf(values), 0.0, values / scale)
        self.bars.set_verts([[(0, j - 0.35), (w, j - 0.35), (w, j + 0.35), (0, j + 0.35)]
                             for j, w in enumerate(widths)])
        self.bars.set_facecolors([HIDDEN_COLOR if not allowed[j] else (WEIGHT_COLOR if is_weights else SCORE_COLOR)
                                  for j in range(T)])
        # numbers on the bars that matter most: the largest values among the keys the query may read
        ranked = [j for j in np.argsort(-np.abs(np.where(allowed, widths, 0.0)), kind="stable") if allowed[j]]
        for text, j in zip(self.bar_texts, ranked + [None] * LABELLED_BARS):
            if j is None:
                text.set_text("")
                continue
            w = float(widths[j])
            text.set_text(_fmt_value(values[j]))
            text.set_position((w + 0.04 if w >= 0 else w - 0.04, j))
            text.set_ha("left" if w >= 0 else "right")

        # the head view: the query highlighted, hidden keys struck through, lines once there are weights
        self.query_box.set_y(q - 0.5)
        self.query_label.set_y(q)
        self.query_label.set_text(self.labels[q])
        self.query_label.set_color(self.token_colors[q])
        hidden = [[(1.0, j), (1.25, j)] for j in range(T) if not allowed[j] and state.name != "scores"]
        self.hidden_marks.set_segments(hidden)
        if state.weights is not None:
            w = state.weights
            keep = np.flatnonzero(w > 0.01)
            self.lines.set_segments([[(0.0, q), (1.0, j)] for j in keep])
            self.lines.set_linewidths(0.6 + 5.0 * w[keep])
            self.lines.set_colors([(*LINE_RGB, 0.25 + 0.75 * float(w[j])) for j in keep])
        else:   # before the softmax: thin grey lines to the keys that get a score
            keys = np.arange(T) if state.name == "scores" else np.flatnonzero(allowed)
            self.lines.set_segments([[(0.0, q), (1.0, j)] for j in keys])
            self.lines.set_linewidths(0.5)
            self.lines.set_colors([(0.6, 0.6, 0.6, 0.5)])

        for frame in self.row_frames.values():
            frame.set_y(q - 0.5)

        headline = f"stage {self.updates(state.index)} / 5 · {STAGE_TITLES[state.name]}"
        where = (f"query {q + 1} ('{self.labels[q]}'), {self.model_name} model, layer {self.layer + 1}, "
                 f"head {self.head + 1}, d_k = {state.d_k}")
        self.status.set(headline, where, "running" if state.index < 4 else "ok")
        self.message.value = self._explain(state)

    def _explain(self, state: A.AttentionStage) -> str:
        q, sqrt_dk = state.query, math.sqrt(state.d_k)
        label = html.escape(self.labels[q])
        if state.name == "scores":
            j = int(np.argmax(state.raw))
            text = (f"Each key j gets the dot product of query {q + 1} ('{label}') with its key vector. The largest "
                    f"is key {j + 1} ('{html.escape(self.labels[j])}'): {state.raw[j]:.2f}.")
        elif state.name == "scaled":
            text = (f"Divided by √d_k = {sqrt_dk:.0f}" + (f" and by the temperature {state.temperature:.2f}"
                                                         if state.temperature != 1 else "")
                    + f": the scores now spread {np.ptp(state.scaled):.2f} instead of {np.ptp(state.raw):.2f}, "
                      "so the softmax does not saturate.")
        elif state.name == "masked":
            hidden = int((~state.allowed).sum())
            text = (f"The causal mask hides the {hidden} keys after the query: their scores become −∞, "
                    "so e<sup>−∞</sup> = 0 and they get no weight." if hidden else
                    "Nothing is hidden" + (" (the mask is off: this query could read every key; the model never "
                                           "ran like this)." if not self.mask_on else
                                           ": the query is the last position and may read every key."))
        elif state.name == "softmax":
            top = np.argsort(-state.weights)[:3]
            parts = ", ".join(f"{html.escape(self.labels[j])} at {j + 1}: {state.weights[j]:.2f}" for j in top)
            entropy = -float(np.sum(state.weights[state.weights > 0] * np.log(state.weights[state.weights > 0])))
            text = (f"Softmax over the allowed keys; the weights sum to 1. Largest: {parts}. "
                    f"Spread: {math.exp(entropy):.1f} keys' worth (the exponential of the entropy).")
        else:
            j = int(np.argmax(state.weights))
            text = (f"The output z = Σ a<sub>j</sub> v<sub>j</sub> is a vector of {state.output.size} numbers, "
                    f"|z| = {np.linalg.norm(state.output):.2f}; {state.weights[j]:.0%} of it comes from the value "
                    f"of key {j + 1} ('{html.escape(self.labels[j])}').")
        return text

    # ---- compare mode ------------------------------------------------------------------------------
    def current_run(self) -> PreviousRun:
        return PreviousRun(self.trace, self.run_label, extra=self.T)

    def draw_ghost(self, run: PreviousRun) -> list:
        if run.extra != self.T:
            return []                                     # another sequence length: nothing to compare
        weights = run.states[-1].weights
        ghost = self.ax_bars.barh(range(self.T), weights, height=0.7, fill=False, edgecolor=GHOST_COLOR,
                                  linewidth=1.0, linestyle="--", label=f"previous: {run.label}")
        return list(ghost.patches)
