"""The Recurrent page renders with defaults and after changing every control, shows the real gate
values and the worked numbers of the selected step (hidden while a prediction is pending), runs its
snippet to the same numbers, and round-trips its state through the URL."""
import json
import re
import subprocess
import sys

import pytest
import torch
from apptest import ROOT, TIMEOUT, array, figures, run_page, texts
from streamlit.testing.v1 import AppTest

from explorer.examples.recurrent import input_preset, make_recurrent

PAGE = "recurrent"


def _check_ok(at):
    assert not at.exception, at.exception
    assert "agree" in texts(at), "the module-vs-manual badge is missing"


def _bold_after(text, prefix):
    m = re.search(re.escape(prefix) + r"[^*\n]*\*\*(-?[\d.e+-]+)\*\*", text)
    assert m, f"{prefix!r} not found"
    return float(m.group(1))


def _through_app(params):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/recurrent.py")
    return at.run()


def _torch_states(layer, x):
    """h_t, c_t of a one-layer LSTM run by torch itself one step at a time: [(h_t, c_t)]."""
    state, out = None, []
    with torch.no_grad():
        for t in range(len(x)):
            _, state = layer(x[t:t + 1], state)
            out.append((state[0][0].clone(), state[1][0].clone()))
    return out


def _gate(layer, x_t, h_prev, block):
    """One gate of an LSTM from torch's parameters: rows [i | f | g | o], block 0..3."""
    H = layer.hidden_size
    rows = slice(block * H, (block + 1) * H)
    with torch.no_grad():
        a = (layer.weight_ih_l0[rows] @ x_t + layer.bias_ih_l0[rows] + layer.weight_hh_l0[rows] @ h_prev
             + layer.bias_hh_l0[rows])
    return torch.tanh(a) if block == 2 else torch.sigmoid(a)


def test_defaults_show_an_lstm_reading_a_sine_wave():
    at = run_page(PAGE)
    _check_ok(at)
    heat = figures(at)[0]
    names = [d.get("name") for d in heat["data"] if d["type"] == "heatmap"]
    assert names == ["x", "input", "forget", "cell", "output"]
    # the forget gate as torch computes it: the page's seeded LSTM(1, 4) on the 24-step sine wave
    layer = make_recurrent("LSTM", 1, 4, seed=0)
    x = input_preset("sine wave").x                                           # (24, 1)
    states = _torch_states(layer, x.unsqueeze(1))
    forget = torch.stack([_gate(layer, x[t], states[t - 1][0][0] if t else torch.zeros(4), 1) for t in range(24)])
    drawn = array(next(d for d in heat["data"] if d.get("name") == "forget")["z"])
    assert torch.allclose(torch.tensor(drawn, dtype=torch.float32), forget.T, atol=1e-5)
    assert len(heat["frames"]) == 24 and heat["layout"]["sliders"][0]["active"] == 3
    # the math panel works out the input gate of unit 0 at t = 3 from its two parts
    i3 = float(_gate(layer, x[3], states[2][0][0], 0)[0])
    text = texts(at)
    assert _bold_after(text, "**i** = σ(") == pytest.approx(i3, abs=1e-5)
    assert any("i_t" in latex.value and f"{i3:.3f}" in latex.value for latex in at.latex)
    assert "nn.LSTM(1, 4)" in at.code[0].value
    shapes = at.table[0].value["value"].tolist()
    assert "(16, 1)  4 blocks [i | f | g | o] of 4 rows, one column per input feature (1)" in shapes
    assert "112 = layer 0: 1 × (4·4·1 + 4·4·4 + 2·4·4)" in shapes
    subheaders = [h.value for h in at.subheader]
    assert subheaders[:3] == ["Gates over time", "Hidden and cell state", "The LSTM cell unrolled at one step"]
    assert "Training: an LSTM learns to predict the next value of a sine wave" in subheaders


@pytest.mark.parametrize("state", [
    {"rec.kind": "RNN"}, {"rec.kind": "GRU"}, {"rec.kind": "RNN", "rec.act": "relu"},
    {"rec.hidden": 12}, {"rec.layers": 3}, {"rec.layers": 2, "rec.layer": 0}, {"rec.bidir": True},
    {"rec.bidir": True, "rec.dir": "backward"}, {"rec.bfirst": True}, {"rec.bias": False}, {"rec.proj": 2},
    {"rec.dropout": 0.3}, {"rec.dropout": 0.3, "rec.layers": 2}, {"rec.h0": "random"}, {"rec.dtype": "float64"},
    {"rec.src": "random"}, {"rec.src": "random", "rec.len": 500}, {"rec.src": "typed"}, {"rec.src": "CSV upload"},
    {"rec.src": "typed", "rec.typed": "5"}, {"rec.preset": "sentence", "rec.sentence": "hello"},
    {"rec.preset": "step"}, {"rec.preset": "counting 1..10"}, {"rec.preset": "sentence"},
    {"rec.preset": "sentence", "rec.enc": "embedded", "rec.features": 3},
    {"rec.preset": "sentence", "rec.sentence": "to be or not to be"}, {"rec.features": 3}, {"rec.t": 20},
    {"rec.hidden": 20, "rec.units": [1, 5, 19]}, {"rec.kind": "GRU", "rec.bunit": 2}, {"rec.pgate": "forget"},
    {"rec.punit": 3}, {"rec.predict.on": True}, {"rec.gscale": 2.0}, {"rec.gbias": 3.0}, {"rec.gsteps": 100},
    {"rec.thidden": 4}, {"rec.tsteps": 100}, {"rec.tour": True}, {"seed": 7},
])
def test_each_control_renders(state):
    _check_ok(run_page(PAGE, **state))


def test_gru_shows_its_gates_the_blend_and_its_numbers():
    at = run_page(PAGE, **{"rec.kind": "GRU", "rec.bunit": 1, "rec.pgate": "new", "rec.punit": 2})
    _check_ok(at)
    heat = figures(at)[0]
    assert [d.get("name") for d in heat["data"] if d["type"] == "heatmap"] == ["x", "reset", "update", "new"]
    blend = next(f for f in figures(at) if any(d.get("name") == "z_t" for d in f["data"]))
    by_name = {d["name"]: array(d["y"]) for d in blend["data"] if "name" in d}
    z, n, old, h = (by_name[k] for k in ("z_t", "candidate n_t", "old state h_(t-1)", "new state h_t"))
    assert [round((1 - a) * b + a * c, 5) for a, b, c in zip(z, n, old)] == [round(v, 5) for v in h]
    assert "tanh(input part + r · hidden part)" in texts(at)
    assert "GRU: the new state is a blend of the old state and a candidate" in [s.value for s in at.subheader]


def test_a_plain_rnn_has_no_gates_and_predicts_h():
    at = run_page(PAGE, **{"rec.kind": "RNN", "rec.act": "relu"})
    _check_ok(at)
    assert at.selectbox(key="rec.pgate").options == ["hidden state h"]
    heat = figures(at)[0]
    assert [d.get("name") for d in heat["data"] if d["type"] == "heatmap"] == ["x", "hidden"]
    assert "nn.RNN(1, 4, nonlinearity='relu')" in at.code[0].value


def test_one_hot_sentence_sets_input_size_and_labels_the_steps():
    at = run_page(PAGE, **{"rec.preset": "sentence", "rec.t": 2})
    _check_ok(at)
    assert [m.value for m in at.metric] == ["5"]                              # cat, mat, on, sat, the
    heat = figures(at)[0]
    assert heat["layout"]["yaxis"]["ticktext"] == ["cat", "mat", "on", "sat", "the"]
    assert "The math at step t = 2 ('sat')" in [s.value for s in at.subheader]
    assert "nn.LSTM(5, 4)" in at.code[0].value


def test_dropout_is_explained_and_the_snippet_evaluates():
    at = run_page(PAGE, **{"rec.dropout": 0.5, "rec.layers": 2})
    _check_ok(at)
    assert any("only in training mode" in i.value for i in at.info)
    assert "layer.eval()" in at.code[0].value


def test_long_sequences_are_drawn_in_part_and_say_so():
    at = run_page(PAGE, **{"rec.src": "random", "rec.len": 2000, "rec.hidden": 64, "rec.t": 1999})
    _check_ok(at)
    assert any("the heatmaps draw 160 of the 2000 steps" in c.value for c in at.caption)
    for fig in figures(at):
        assert len(json.dumps(fig)) < 500_000
    assert "The math at step t = 1999" in [s.value for s in at.subheader]


@pytest.mark.parametrize("state, message", [
    ({"rec.src": "typed", "rec.typed": "1, 2\n3, x"}, "not a number"),
    ({"rec.src": "typed", "rec.typed": "1, 2\n3, 4", "rec.features": 3}, "Each line has 2 values but input_size is 3"),
    ({"rec.src": "typed", "rec.typed": ""}, "The series is empty"),
    ({"rec.preset": "sentence", "rec.sentence": " "}, "The sentence is empty"),
    ({"rec.preset": "sentence", "rec.sentence": " ".join(f"w{k}" for k in range(70))}, "choose the embedded"),
])
def test_invalid_input_shows_a_message_not_a_traceback(state, message):
    at = run_page(PAGE, **state)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_predicting_a_gate_hides_then_grades_it():
    at = run_page(PAGE, **{"rec.predict.on": True, "rec.pgate": "forget", "rec.punit": 1, "rec.t": 5})
    assert not at.exception
    assert "**f** = σ(" not in texts(at)
    assert not any("0." in latex.value for latex in at.latex)                # symbols only, no numbers yet
    layer = make_recurrent("LSTM", 1, 4, seed=0)
    x = input_preset("sine wave").x
    states = _torch_states(layer, x.unsqueeze(1))
    truth = float(_gate(layer, x[5], states[4][0][0], 1)[1])
    at.number_input(key="rec.predict.guess").set_value(round(truth, 4))
    next(b for b in at.button if b.label == "Check").click().run()
    assert any("Right: the module gives" in s.value for s in at.success)
    assert _bold_after(texts(at), "**f** = σ(") == pytest.approx(truth, abs=1e-5)
    at.number_input(key="rec.predict.guess").set_value(0.0)
    next(b for b in at.button if b.label == "Check").click().run()
    assert any("Not quite" in e.value for e in at.error)


def test_shrinking_the_layer_pulls_selections_back_in():
    at = run_page(PAGE, **{"rec.hidden": 20, "rec.units": [3, 19], "rec.t": 20, "rec.proj": 10})
    _check_ok(at)
    at.number_input(key="rec.hidden").set_value(12).run()
    _check_ok(at)
    assert at.multiselect(key="rec.units").value == [3]
    assert at.number_input(key="rec.proj").value == 10
    at.number_input(key="rec.hidden").set_value(5).run()
    _check_ok(at)
    assert at.number_input(key="rec.proj").value == 4
    at.radio(key="rec.src").set_value("preset").run()
    at.selectbox(key="rec.preset").set_value("counting 1..10").run()
    _check_ok(at)
    assert at.slider(key="rec.t").value == 9


def test_gradient_view_follows_the_sliders():
    at = run_page(PAGE, **{"rec.gscale": 0.5, "rec.gsteps": 30})
    _check_ok(at)
    grad = next(f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Gradient flowing"))
    assert "× 0.5" in grad["layout"]["title"]["text"]
    assert [len(array(d["y"])) for d in grad["data"]] == [30, 30, 30]
    # with every recurrent block at 0.5 × a rotation the plain RNN loses at least half per step
    rnn = array(grad["data"][0]["y"])
    assert all(a <= 0.5 * b * (1 + 1e-9) for a, b in zip(rnn[:-1], rnn[1:]))


def test_training_demo_learns_and_shows_gates_before_and_after():
    at = run_page(PAGE, **{"rec.tsteps": 200, "rec.thidden": 8})
    _check_ok(at)
    loss = next(f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Loss:"))
    values = array(loss["data"][0]["y"])
    assert len(values) == 200 and sum(values[-20:]) / 20 < 0.1 * values[0]
    titles = [f["layout"].get("title", {}).get("text") for f in figures(at)]
    assert "before training" in titles and "after 200 steps" in titles


def test_page_snippet_prints_the_numbers_the_page_shows():
    at = run_page(PAGE, **{"rec.kind": "GRU", "rec.layers": 2, "rec.bidir": True, "rec.bfirst": True,
                           "rec.h0": "random", "rec.dtype": "float64", "rec.layer": 1, "rec.dir": "backward"})
    _check_ok(at)
    code = at.code[0].value + ("\nimport json\nprint('JSON', json.dumps(output.detach()[0, :, 4:].tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    backward = json.loads(next(ln for ln in out.stdout.splitlines() if ln.startswith("JSON"))[5:])
    # the page's top layer, backward direction: its h_t lines are the second half of the output
    lines = figures(at)[1]
    drawn = [array(d["y"]) for d in lines["data"] if d.get("mode") == "lines"]
    assert len(drawn) == 4
    for u, values in enumerate(drawn):
        assert values == pytest.approx([row[u] for row in backward], abs=1e-12)
    assert "h_n (4, 1, 4)" in out.stdout


def test_large_layer_snippet_is_seeded_and_short():
    at = run_page(PAGE, **{"rec.hidden": 64, "rec.src": "random", "rec.len": 300, "rec.features": 8})
    _check_ok(at)
    code = at.code[0].value
    assert len(code) < 2500 and "manual_seed(0)" in code
    code += "\nimport json\nprint('JSON', json.dumps(h_n.flatten().tolist()))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    h_n = json.loads(next(ln for ln in out.stdout.splitlines() if ln.startswith("JSON"))[5:])
    layer = make_recurrent("LSTM", 8, 64, seed=0)
    x = torch.round(torch.randn((300, 8), generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 100)
    with torch.no_grad():
        expected = layer(x.div(100).float().unsqueeze(1))[1][0].flatten()
    assert h_n == pytest.approx(expected.tolist(), abs=1e-5)


def test_csv_download_holds_the_gates_shown():
    at = run_page(PAGE)
    _check_ok(at)
    assert any(b.proto.label == "Download what is shown (CSV)" for b in at.get("download_button"))


def test_a_link_opens_the_same_view():
    at = _through_app({"rec.kind": "GRU", "rec.hidden": "3", "rec.preset": "step", "rec.t": "7", "seed": "2"})
    assert not at.exception and not at.warning
    assert at.selectbox(key="rec.kind").value == "GRU" and at.number_input(key="rec.hidden").value == 3
    assert at.slider(key="rec.t").value == 7 and at.number_input(key="seed").value == 2
    assert "The math at step t = 7" in [s.value for s in at.subheader]
    assert "nn.GRU(1, 3)" in at.code[0].value


@pytest.mark.parametrize("params", [
    {"rec.hidden": "99999", "rec.layers": "-4"},
    {"rec.kind": "<script>alert(1)</script>", "rec.preset": "DROP TABLE"},
    {"rec.dropout": "1e400", "rec.t": "abc", "rec.gscale": "nan"},
    {"rec.src": "typed", "rec.typed": "`" * 3000, "rec.features": "9" * 50},
    {"rec.units": "1000", "rec.pgate": "reset", "rec.tsteps": "7"},
])
def test_hostile_link_values_fall_back_with_a_note(params):
    at = _through_app(params)
    assert not at.exception, at.exception
    assert any("This link had settings the page cannot use" in w.value for w in at.warning) or at.error
    assert at.success or at.error
