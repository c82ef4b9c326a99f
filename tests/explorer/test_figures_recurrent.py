"""Recurrent figures draw the trace's numbers: the right cells, lines, frames, boxes and curves."""
import json

import numpy as np
import plotly.io as pio
import pytest
import torch

from explorer import ExplorerError, trace_recurrent
from explorer.examples.recurrent import input_preset, make_recurrent, random_input, sentence_input
from explorer.figures import recurrent as fr
from explorer.recurrent_gradients import compare_gradient_flow
from explorer.recurrent_training import train_next_value
from plotly_data import array


@pytest.fixture(scope="module")
def lstm():
    return trace_recurrent(make_recurrent("LSTM", 1, 3, seed=1), input_preset("step").x)


@pytest.fixture(scope="module")
def gru_sentence():
    s = sentence_input("the cat sat on the mat")
    return trace_recurrent(make_recurrent("GRU", s.x.shape[1], 2, seed=2), s.x), s


def _heatmaps(fig):
    return [d for d in fig.data if d.type == "heatmap"]


def _frame_data(fig, k):
    return fig.frames[k].data if hasattr(fig.frames[k], "data") else fig.frames[k]["data"]


def test_gate_heatmaps_draw_the_input_then_every_gate(lstm):
    fig = fr.gate_heatmaps(lstm, t=6)
    maps = _heatmaps(fig)
    assert [m.name for m in maps] == ["x", "input", "forget", "cell", "output"]
    assert np.allclose(array(maps[0].z), lstm.x.numpy().T)                 # features down, time across
    for m in maps[1:]:
        assert np.allclose(array(m.z), lstm.gates[m.name][0, 0, :, 0].numpy().T, atol=1e-7)
        assert list(array(m.x)) == list(range(12)) and list(array(m.y)) == [0, 1, 2]
    # sigmoid gates on 0..1, the tanh candidate on -1..1
    assert (maps[2].zmin, maps[2].zmax) == (0.0, 1.0) and (maps[3].zmin, maps[3].zmax) == (-1.0, 1.0)
    titles = [a.text for a in fig.layout.annotations]
    assert any(t.startswith("forget gate f = σ(…): how much of c_(t-1) to keep") for t in titles)


def test_gate_heatmap_player_outlines_each_step(lstm):
    fig = fr.gate_heatmaps(lstm, t=6)
    assert len(fig.frames) == 12 and fig.layout.sliders[0].active == 6
    outline = next(d for d in fig.data if d.type == "scatter")
    assert min(outline.x) == 5.5 and max(outline.x) == 6.5                  # around column t = 6
    last = _frame_data(fig, 11)
    assert len(last) == 5 and min(last[1]["x"]) == 10.5 and max(last[1]["x"]) == 11.5
    # the gate rows of the outline span the units, the input row its one feature
    assert (min(last[1]["y"]), max(last[1]["y"])) == (-0.5, 2.5) and (min(last[0]["y"]), max(last[0]["y"])) == (-0.5, 0.5)


def test_static_gate_heatmaps_have_no_player(lstm):
    fig = fr.gate_heatmaps(lstm, player=False, compact=True, title="before training")
    assert not fig.frames and not fig.layout.sliders
    assert all(d.type == "heatmap" for d in fig.data)
    assert [a.text for a in fig.layout.annotations][:2] == ["input x_t", "input gate i"]
    assert fig.layout.title.text == "before training"


def test_an_rnn_shows_its_hidden_state(lstm):
    rnn = trace_recurrent(make_recurrent("RNN", 1, 2, nonlinearity="relu", seed=0), input_preset("step").x)
    maps = _heatmaps(fr.gate_heatmaps(rnn))
    assert [m.name for m in maps] == ["x", "hidden"]
    assert np.allclose(array(maps[1].z), rnn.hidden[0, 0, :, 0].numpy().T)
    assert maps[1].zmin == 0.0                                               # relu states are never negative


def test_words_label_the_steps_and_the_one_hot_features(gru_sentence):
    t, s = gru_sentence
    fig = fr.gate_heatmaps(t, t=3, labels=s.labels, features=s.vocabulary)
    assert list(fig.layout.yaxis.ticktext) == list(s.vocabulary)
    assert list(fig.layout.xaxis.ticktext) == list(s.labels)
    assert [step.label for step in fig.layout.sliders[0].steps] == list(s.labels)
    assert fig.layout.sliders[0].currentvalue.prefix == "time step t = "


def test_long_and_wide_layers_are_downsampled_and_said_so():
    m = make_recurrent("GRU", 2, 40, seed=0)
    t = trace_recurrent(m, random_input((500, 2), 0))
    fig = fr.gate_heatmaps(t, t=499)
    maps = _heatmaps(fig)
    steps = [int(s) for s in array(maps[1].x)]
    assert len(steps) == fr.MAX_COLUMNS and steps[0] == 0 and steps[-1] == 499
    units = [int(u) for u in array(maps[1].y)]
    assert len(units) == fr.MAX_UNITS and units[-1] == 39
    # each drawn cell holds the real gate value of its step and unit
    z = array(maps[1].z)
    assert np.allclose(z, t.gates["reset"][0, 0, :, 0].numpy()[np.ix_(steps, units)].T, atol=1e-7)
    assert len(fig.frames) == fr.MAX_FRAMES and fig.frames[-1].name == "499"
    note = fr.drawn_note(t)
    assert f"{fr.MAX_COLUMNS} of the 500 steps" in note and f"{fr.MAX_UNITS} of the 40 units" in note
    assert fr.drawn_note(trace_recurrent(make_recurrent("GRU", 2, 4), random_input((20, 2), 0))) is None
    assert len(pio.to_json(fig)) < 500_000


def test_state_lines_follow_h_and_c_with_a_marker_at_t(lstm):
    fig = fr.state_lines(lstm, t=5, units=[0, 2])
    lines = [d for d in fig.data if d.mode == "lines"]
    assert [d.name for d in lines] == ["unit 0", "unit 2", "unit 0", "unit 2"]
    assert np.allclose(array(lines[1].y), lstm.hidden[0, 0, :, 0, 2].numpy())
    assert np.allclose(array(lines[3].y), lstm.cell[0, 0, :, 0, 2].numpy())
    assert [d.showlegend for d in lines] == [True, True, False, False]       # one legend entry per unit
    markers = [d for d in fig.data if d.mode == "markers"]
    assert list(array(markers[0].x)) == [5, 5]
    assert np.allclose(array(markers[0].y), lstm.hidden[0, 0, 5, 0, [0, 2]].numpy())
    later = _frame_data(fig, 9)
    assert np.allclose(array(later[1]["y"]), lstm.cell[0, 0, 9, 0, [0, 2]].numpy())


def test_state_lines_of_a_projected_lstm_and_bad_units():
    t = trace_recurrent(make_recurrent("LSTM", 1, 4, proj_size=2), torch.ones(5, 1))
    fig = fr.state_lines(t, units=[1, 3])
    names = [d.name for d in fig.data if d.mode == "lines"]
    assert names == ["unit 1", "unit 1", "unit 3"]                           # h_t has 2 units, c_t has 4
    with pytest.raises(ExplorerError, match="Unit 4 is out of range: the state has 4 units"):
        fr.state_lines(t, units=[4])


def test_long_lines_are_thinned():
    t = trace_recurrent(make_recurrent("RNN", 1, 2), random_input((2000, 1), 0))
    fig = fr.state_lines(t, t=1999)
    line = next(d for d in fig.data if d.mode == "lines")
    assert len(array(line.x)) == fr.MAX_POINTS and array(line.x)[-1] == 1999
    assert len(fig.frames) == fr.MAX_FRAMES


def _box_texts(fig, k=None):
    trace = fig.data[0] if k is None else _frame_data(fig, k)[0]
    texts = trace.text if k is None else trace["text"]
    return dict(zip(fr._NODES["LSTM"], texts))


def test_cell_diagram_prints_the_numbers_of_each_step(lstm):
    fig = fr.cell_diagram(lstm, t=2)
    assert len(fig.frames) == 12 and fig.layout.sliders[0].active == 2
    for k in (2, 7):
        s = lstm.step(0, 0, k)
        boxes = _box_texts(fig, k)
        assert boxes["c"] == "<br>".join(f"{v:.3g}" for v in s.c.tolist())
        assert boxes["f"] == "<br>".join(f"{v:.3g}" for v in s.gates["forget"].tolist())
        f_c = (s.gates["forget"] * s.c_prev).tolist()
        assert boxes["f_c"] == "<br>".join(f"{v:.3g}" for v in f_c)
    assert _box_texts(fig) == _box_texts(fig, 2)                              # the first frame shown is step t
    hover = dict(zip(fr._NODES["LSTM"], fig.data[0].hovertext))["f"]
    s = lstm.step(0, 0, 2)
    a, h = float(s.from_input["forget"][0]), float(s.from_hidden["forget"][0])
    assert f"u0: σ({a:.3g} + {h:.3g}) = {float(s.gates['forget'][0]):.4g}" in hover


def test_cell_diagram_of_wide_layers_shows_chosen_units_and_the_strongest_inputs():
    s = sentence_input("a b c d e f")                                        # 6 one-hot features
    t = trace_recurrent(make_recurrent("GRU", 6, 10, seed=0), s.x)
    fig = fr.cell_diagram(t, t=2, units=[1, 7])
    boxes = dict(zip(fr._NODES["GRU"], fig.data[0].text))
    z = t.gates["update"][0, 0, 2, 0]
    assert boxes["z"] == f"u1: {float(z[1]):.3g}<br>u7: {float(z[7]):.3g}"
    assert "x2: 1" in boxes["x"]                                             # the word at step 2 is shown
    assert "units 1, 7 of 10" in fig.layout.title.text


def test_rnn_and_backward_cell_diagrams():
    t = trace_recurrent(make_recurrent("RNN", 1, 2, bidirectional=True), torch.ones(4, 1))
    fig = fr.cell_diagram(t, direction=1, t=0)
    boxes = dict(zip(fr._NODES["RNN"], fig.data[0].text))
    s = t.step(0, 1, 0)
    assert boxes["h"] == "<br>".join(f"{v:.3g}" for v in s.h.tolist())
    assert boxes["pre"] == "<br>".join(f"{v:.3g}" for v in (s.from_input["hidden"] + s.from_hidden["hidden"]).tolist())
    assert "backward direction" in fig.layout.title.text


def test_gru_interpolation_puts_h_between_candidate_and_old_state(gru_sentence):
    t, s = gru_sentence
    fig = fr.gru_interpolation(t, unit=1, t=2, labels=s.labels)
    by_name = {d.name: d for d in fig.data}
    h, n = array(by_name["new state h_t"].y), array(by_name["candidate n_t"].y)
    old, z = array(by_name["old state h_(t-1)"].y), array(by_name["z_t"].y)
    assert np.allclose(h, (1 - z) * n + z * old, atol=1e-6)
    assert np.allclose(old, t.previous_hidden(0, 0)[:, 0, 1].numpy())
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].x1) == (1.55, 2.45)
    assert list(fig.layout.xaxis.ticktext) == list(s.labels)
    with pytest.raises(ExplorerError, match="for a GRU; this layer is an LSTM"):
        fr.gru_interpolation(trace_recurrent(make_recurrent("LSTM", 1, 2), torch.ones(3, 1)))


def test_gradient_figure_draws_each_norm_on_a_log_axis():
    flows = compare_gradient_flow(0.5, keep_bias=2.0, steps=20)
    fig = fr.gradient_flow_figure(flows)
    assert fig.layout.yaxis.type == "log"
    for d, (kind, flow) in zip(fig.data, flows.items()):
        assert d.name.startswith(f"{kind} (×")
        assert np.allclose(array(d.y), flow.norms.numpy()) and list(array(d.x)) == list(range(19, -1, -1))
    assert "× 0.5" in fig.layout.title.text


def test_training_figures():
    r = train_next_value("RNN", 4, steps=30)
    loss = fr.loss_curve(r)
    assert np.allclose(array(loss.data[0].y), r.losses) and loss.layout.yaxis.type == "log"
    assert f"{r.losses[-1]:.3g} at step 30" in loss.layout.title.text
    pred = fr.predictions_figure(r)
    assert [d.name for d in pred.data] == ["true next value", "before training", "after training"]
    assert np.allclose(array(pred.data[2].y), r.predictions_after[:, 0].numpy())
    with pytest.raises(ExplorerError, match="train for at least one step"):
        fr.loss_curve([])


def test_preview_is_small_and_bare():
    fig = fr.preview()
    assert fig.layout.height == 150
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    (hm,) = fig.data
    assert array(hm.z).shape == (4 * 4 + 3, 12)                             # 4 gates × 4 units, 3 gaps
    assert len(json.dumps(fig.to_plotly_json(), default=str)) < 50_000


def test_a_stacked_layer_reads_the_units_of_the_layer_below():
    t = trace_recurrent(make_recurrent("GRU", 1, 2, num_layers=2, bidirectional=True), torch.ones(3, 1))
    fig = fr.gate_heatmaps(t, layer=1)
    x = _heatmaps(fig)[0]
    assert np.allclose(array(x.z), t.layer_input(1)[:, 0].numpy().T)
    assert list(fig.layout.yaxis.ticktext) == ["h→0", "h→1", "h←0", "h←1"]
    assert fig.layout.annotations[0].text == "input of layer 1: the outputs h_t of layer 0"
