"""The math panel's tables, worked values and equations hold the module's own numbers."""
import math
import re

import pytest
import torch
from torch import nn

from explorer import ExplorerError, trace_recurrent
from explorer.examples.recurrent import make_recurrent, random_input
from explorer.recurrent_tables import export_tables, gate_latex, gate_sections, predictable, worked_value

LN3 = math.log(3.0)


@pytest.fixture(scope="module")
def hand_lstm():
    """LSTM(1, 1) with W_ih = [ln 3, 0, ln 3 / 2, 0] ([i | f | g | o]), W_hh = 0, biases 0, x = [1, 0]."""
    lstm = nn.LSTM(1, 1).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor([[LN3], [0.0], [LN3 / 2], [0.0]], dtype=torch.float64))
        lstm.weight_hh_l0.zero_()
        lstm.bias_ih_l0.zero_()
        lstm.bias_hh_l0.zero_()
    return trace_recurrent(lstm, torch.tensor([[1.0], [0.0]], dtype=torch.float64))


def test_lstm_tables_by_hand(hand_lstm):
    # step 0: i = σ(ln 3) = 3/4, f = σ(0) = 1/2, g = tanh(ln 3 / 2) = 1/2, o = 1/2; c = 3/8, h = tanh(3/8) / 2
    sections = dict(gate_sections(hand_lstm, 0, 0, 0))
    assert list(sections) == ["input gate i", "forget gate f", "cell gate g", "output gate o", "cell and hidden state"]
    i = sections["input gate i"].iloc[0]
    assert i["W_ii x_t + b_ii"] == pytest.approx(LN3) and i["W_hi h_t-1 + b_hi"] == 0.0
    assert i["i_t = σ(…)"] == pytest.approx(0.75)
    state = sections["cell and hidden state"].iloc[0]
    assert state["i ⊙ g"] == pytest.approx(3 / 8) and state["f ⊙ c_t-1"] == 0.0
    assert state["c_t"] == pytest.approx(3 / 8) and state["h_t = o ⊙ tanh(c_t)"] == pytest.approx(math.tanh(3 / 8) / 2)


def test_worked_value_writes_out_the_terms(hand_lstm):
    question, truth, text = worked_value(hand_lstm, 0, 0, 0, "input", 0)
    assert question == "input gate i[0] at t = 0" and truth == pytest.approx(0.75)
    assert f"({LN3:.3g})·(1)" in text and "σ(1.09861 + 0) = σ(1.09861) = **0.75**" in text
    _, truth, text = worked_value(hand_lstm, 0, 0, 1, "forget", 0)
    assert truth == pytest.approx(0.5) and "**0.5**" in text


def test_gru_candidate_and_rnn_hidden_worked_values():
    gru = trace_recurrent(make_recurrent("GRU", 2, 3, seed=1, dtype=torch.float64), random_input((4, 2), 0, torch.float64))
    _, truth, text = worked_value(gru, 0, 0, 2, "new", 1)
    s = gru.step(0, 0, 2)
    r, a, h = float(s.gates["reset"][1]), float(s.from_input["new"][1]), float(s.from_hidden["new"][1])
    assert truth == pytest.approx(math.tanh(a + r * h), abs=1e-12)
    assert "tanh(input part + r · hidden part)" in text
    rnn = trace_recurrent(make_recurrent("RNN", 1, 2, seed=0), torch.ones(3, 1))
    assert predictable(rnn) == ("hidden",)
    q, truth, _ = worked_value(rnn, 0, 0, 1, "hidden", 1)
    assert q == "h[1] at t = 1" and truth == pytest.approx(float(rnn.hidden[0, 0, 1, 0, 1]))


def test_backward_direction_uses_the_next_step():
    t = trace_recurrent(make_recurrent("LSTM", 1, 2, bidirectional=True, seed=0), torch.ones(3, 1))
    tables = dict(gate_sections(t, 0, 1, 0))
    assert "W_hf h_t+1 + b_hf" in tables["forget gate f"].columns
    s = t.step(0, 1, 0)
    assert tables["cell and hidden state"]["c_t+1"].tolist() == pytest.approx(s.c_prev.tolist())


def _numbers(latex):
    return [float(v) for v in re.findall(r"-?\d+\.\d{3}", latex)]


def test_latex_shows_the_actual_vectors(hand_lstm):
    blocks = dict(gate_latex(hand_lstm, 0, 0, 0))
    assert list(blocks) == ["input gate i", "forget gate f", "cell gate g", "output gate o", "cell state c",
                            "hidden state h"]
    # small sizes write the matrices out: W_ii = [1.099], x = [1.000], b = [0.000], ..., then σ(...) = [0.750]
    assert _numbers(blocks["input gate i"])[:2] == [1.099, 1.0]
    assert _numbers(blocks["input gate i"])[-1] == 0.75
    assert _numbers(blocks["cell state c"])[-1] == 0.375
    symbolic = dict(gate_latex(hand_lstm, 0, 0, 0, numbers=False))
    assert list(symbolic) == list(blocks) and not any(_numbers(v) for v in symbolic.values())


def test_latex_of_chosen_units_skips_the_matrices():
    t = trace_recurrent(make_recurrent("GRU", 6, 10, seed=0), random_input((3, 6), 1))
    blocks = dict(gate_latex(t, 0, 0, 1, units=[2, 7]))
    assert "W_{ir} x_t" in blocks["reset gate r"] and "&" not in blocks["reset gate r"].replace("&=", "")
    z = t.gates["update"][0, 0, 1, 0]
    assert _numbers(blocks["update gate z"])[-2:] == [round(float(z[2]), 3), round(float(z[7]), 3)]
    with pytest.raises(ExplorerError, match="Unit 10 is out of range"):
        gate_latex(t, 0, 0, 1, units=[10])


def test_projected_lstm_latex_and_tables():
    t = trace_recurrent(make_recurrent("LSTM", 1, 3, proj_size=2, seed=0), torch.ones(2, 1))
    blocks = dict(gate_latex(t, 0, 0, 1))
    assert "hidden state h, before the projection" in blocks and "projection" in blocks
    assert _numbers(blocks["projection"])[-2:] == [round(v, 3) for v in t.hidden[0, 0, 1, 0].tolist()]
    tables = dict(gate_sections(t, 0, 0, 1))
    assert tables["projection"]["h_t = W_hr (o ⊙ tanh(c_t))"].tolist() == pytest.approx(t.hidden[0, 0, 1, 0].tolist())


def test_predicting_a_missing_gate_is_refused(hand_lstm):
    with pytest.raises(ExplorerError, match="has no 'reset' to predict"):
        worked_value(hand_lstm, 0, 0, 0, "reset", 0)
    with pytest.raises(ExplorerError, match="Unit 3 is out of range"):
        worked_value(hand_lstm, 0, 0, 0, "input", 3)
    with pytest.raises(ExplorerError, match="Step 5 is out of range"):
        gate_sections(hand_lstm, 0, 0, 5)


def test_export_holds_everything_shown():
    m = make_recurrent("LSTM", 2, 3, num_layers=2, batch_first=True, seed=0)
    x = random_input((1, 5, 2), 0)
    t = trace_recurrent(m, x)
    frames = export_tables(t, 1, 0, 2)
    assert torch.allclose(torch.tensor(frames["input x_t"].values), x[0].double())
    assert torch.allclose(torch.tensor(frames["output"].values), t.output[0].double())
    assert torch.allclose(torch.tensor(frames["forget gate (layer 1 forward)"].values),
                          t.gates["forget"][1, 0, :, 0].double())
    assert frames["c_t (layer 1 forward)"].shape == (5, 3)
    assert "step t=2: cell and hidden state (layer 1 forward)" in frames
    params = frames["parameters"]
    assert len(params) == sum(p.numel() for p in m.parameters())
    w = params.loc["weight_hh_l1"]
    assert w[(w.row == 4) & (w.column == 2)]["value"].item() == pytest.approx(float(m.weight_hh_l1[4, 2]))
