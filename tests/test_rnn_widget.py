"""The LSTM gate stepper, driven from Python by its controls: what it shows is the
reference traces of coursekit.rnn, step by step, for the preset and the sequence chosen."""
from __future__ import annotations

import re

import numpy as np
import pytest

from coursekit import rnn
from coursekit.widgets.base import MAX_FIGURE_WIDTH_IN, OUTPUT_WIDTH_PX, row_width_px
from coursekit.widgets.lstm import LSTMGateStepper, parse_sequence


@pytest.fixture(scope="module")
def presets():
    return rnn.load_gate_presets()


@pytest.fixture
def stepper(presets):
    return LSTMGateStepper("first", presets=presets)


def bar_values(widget):
    gates = {g: [bar.get_width() for bar in bars] for g, bars in widget.gate_bars.items()}
    cell = [[bar.get_height() for bar in bars] for bars in widget.cell_bars]
    return gates, cell


def test_starts_at_symbol_zero_with_the_example(stepper, presets):
    task = presets["first"].task
    assert stepper.symbols == task.example.split()
    assert stepper.index == 0 and stepper.last_index == len(stepper.symbols)
    assert stepper.counter.value == f"<b>symbol 0 / {len(stepper.symbols)}</b>"
    assert "no symbol read yet" in stepper.status.text
    assert stepper.fig.get_figwidth() <= MAX_FIGURE_WIDTH_IN
    assert all(row_width_px(row) <= OUTPUT_WIDTH_PX for row in stepper.rows)


def test_each_step_shows_the_reference_trace(stepper, presets):
    lstm_states, rnn_states = presets["first"].traces(stepper.symbols)
    for t in range(1, 6):
        stepper.step_button.click()
        assert stepper.index == t
        gates, cell = bar_values(stepper)
        ref = lstm_states[t]
        for g in "figo":
            np.testing.assert_allclose(gates[g], getattr(ref, g))
        np.testing.assert_allclose(cell[0], ref.c_prev)
        np.testing.assert_allclose(cell[1], ref.f * ref.c_prev)
        np.testing.assert_allclose(cell[2], ref.i * ref.g)
        np.testing.assert_allclose(cell[3], ref.c)
        np.testing.assert_allclose(np.add(cell[1], cell[2]), cell[3])       # kept + written = the new memory
        x, y = stepper.lstm_line.get_data()
        assert list(x) == list(range(1, t + 1))
        np.testing.assert_allclose(y, [s.y[0] for s in lstm_states[1:t + 1]])
        np.testing.assert_allclose(stepper.rnn_line.get_data()[1], [s.y[0] for s in rnn_states[1:t + 1]])
        assert stepper.cursor.get_x() == t - 1.5 and stepper.seq_box.get_x() == t - 1.5
        assert f"after {t} symbol" in stepper.status.text
        assert f"read “{stepper.symbols[t - 1]}”" in stepper.message.value
    assert stepper.counter.value == f"<b>symbol 5 / {len(stepper.symbols)}</b>"


def test_the_status_says_who_is_right(stepper):
    stepper.set_sequence("B " + "x y A x " * 5)
    stepper.end_button.click()
    state = stepper.state
    assert state.target == 0.0 and state.lstm.y[0] < 0.5            # the LSTM remembers B
    assert abs(state.rnn.y[0] - 0.5) < 0.1                          # the plain RNN has forgotten
    assert stepper.status.kind == "ok"
    assert re.search(r"LSTM \d+% A · RNN \d+% A · right: B", stepper.status.text)


def test_heat_map_holds_the_whole_run(stepper, presets):
    lstm_states, rnn_states = presets["first"].traces(stepper.symbols)
    image = np.asarray(stepper.heat_image.get_array())
    H = rnn.GATE_HIDDEN
    assert image.shape == (5 * H, len(stepper.symbols))
    np.testing.assert_allclose(image[:H, 2], 2 * lstm_states[3].f - 1)
    np.testing.assert_allclose(image[2 * H:3 * H, 2], np.tanh(lstm_states[3].c))
    np.testing.assert_allclose(image[4 * H:, 2], rnn_states[3].h)


def test_typing_a_sequence_restarts_at_zero_and_bad_symbols_are_named(stepper):
    stepper.step_button.click()
    stepper.sequence_text.value = "AxxyB"               # one character per symbol works too
    assert stepper.symbols == ["A", "x", "x", "y", "B"] and stepper.index == 0 and stepper.last_index == 5
    stepper.sequence_text.value = "A q x"
    assert "not q" in stepper.message.value and stepper.symbols == ["A", "x", "x", "y", "B"]
    with pytest.raises(ValueError, match="empty"):
        parse_sequence("   ", ("A", "B"))
    with pytest.raises(ValueError, match="at most 60"):
        parse_sequence("A " * 61, ("A", "B"))


def test_presets_switch_task_and_alphabet(stepper, presets):
    stepper.preset_dropdown.value = "reset"
    assert stepper.symbols == presets["reset"].task.example.split()
    assert "a b |" in stepper.alphabet_label.value and stepper.index == 0
    stepper.end_button.click()
    counts = presets["reset"].task.target(stepper.symbols)
    assert stepper.state.target == counts[-1]
    np.testing.assert_allclose(stepper.target_line.get_data()[1], counts)
    bar_index = stepper.symbols.index("|") + 1
    stepper.play.value = bar_index                         # a tick of Play lands on the first |
    assert "closed" in stepper.message.value               # the forget gate closes on |
    assert min(bar.get_width() for bar in stepper.gate_bars["f"]) < 0.5


def test_new_sequence_is_random_and_valid(stepper):
    stepper.random_button.click()
    first = list(stepper.symbols)
    stepper.random_button.click()
    assert stepper.symbols != first and len(stepper.symbols) == 16 and stepper.symbols[0] in ("A", "B")


def test_back_reset_and_compare(stepper):
    for _ in range(3):
        stepper.step_button.click()
    stepper.back_button.click()
    assert stepper.index == 2
    stepper.reset_button.click()
    assert stepper.index == 0 and stepper.back_button.disabled
    stepper.compare_toggle.value = True
    stepper.sequence_text.value = "B x y A"
    assert len(stepper.ghost_artists) == 1 and stepper.ghost_artists[0].get_label().startswith("previous")
    stepper.clear_button.click()
    assert stepper.ghost_artists == []


def test_unknown_preset_is_refused(presets):
    with pytest.raises(ValueError, match="preset must be one of"):
        LSTMGateStepper("parity", presets=presets)
