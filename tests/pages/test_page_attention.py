"""The Attention page renders with defaults and after changing every control, shows the real module's
weights (hidden while a prediction is pending), masks what is clicked, and round-trips its state
through the URL."""
import math

import pytest
import torch
from apptest import array, figures, run_page, texts, through_app, titles

from explorer.examples import attention as ex

PAGE = "attention"


def _check_ok(at):
    assert not at.exception, at.exception
    assert "agree" in texts(at), "the module-vs-manual badge is missing"
    assert "match the weights the module returns" in texts(at)


def _figure(at, start):
    return next(f for f in figures(at) if (f["layout"].get("title") or {}).get("text", "").startswith(start))


def _heatmap(at):
    fig = _figure(at, "Attention weights")
    return next(d for d in fig["data"] if d["type"] == "heatmap"), fig


def _torch_weights(text=ex.SENTENCES[0], E=32, heads=4, seed=0, **call):
    """Per-head weights straight from nn.MultiheadAttention's own forward on the page's default input."""
    layer = ex.make_layer("multihead", E, heads, seed=seed)
    x = ex.embed_sentences(text, E, seed).x
    with torch.no_grad():
        _, w = layer(x, x, x, average_attn_weights=False, **call)
    return w[0]


def test_defaults_draw_the_real_module_weights():
    at = run_page(PAGE)
    _check_ok(at)
    heat, fig = _heatmap(at)
    w = _torch_weights()
    assert torch.allclose(torch.tensor(array(heat["z"]), dtype=torch.float64), w[0].double(), atol=1e-6)
    assert fig["layout"]["yaxis"]["ticktext"] == ex.tokenize(ex.SENTENCES[0])
    drawn = titles(at)
    for start in ("Who looks at whom", "Before and after the softmax", "Query “the”", "The input x", "The pipeline",
                  "One head's matrices", "Why scale the scores"):
        assert any(t.startswith(start) for t in drawn), (start, drawn)
    lines = _figure(at, "Who looks at whom")
    assert len(lines["frames"]) == 11  # one client-side step per query token
    grid = next(f for f in figures(at)
                if any(a.get("text") == "mean over heads" for a in f["layout"].get("annotations", [])))
    assert len([d for d in grid["data"] if d["type"] == "heatmap"]) == 5
    # the math panel: query 0 against key 0, with the module's weight
    shown = texts(at).split("so the weight is")[1].split("**")[1]
    assert float(shown) == pytest.approx(float(w[0, 0, 0]), abs=1e-6)
    assert "nn.MultiheadAttention(32, 4, batch_first=True)" in at.code[0].value
    assert "average_attn_weights=True" in at.code[0].value
    table = at.dataframe[0].value
    assert table["weight"].tolist() == pytest.approx(w[0, 0].tolist(), abs=1e-6)


@pytest.mark.parametrize("state", [
    {"attention.kind": "AdditiveAttention (Bahdanau)"},
    {"attention.kind": "AdditiveAttention (Bahdanau)", "attention.hidden": 8, "attention.mode": "cross-attention"},
    {"attention.E": 8}, {"attention.E": 64, "attention.heads": 16}, {"attention.heads": 1}, {"attention.heads": 8},
    {"attention.bias": False}, {"attention.bf": False}, {"attention.avg": "per head"}, {"attention.dtype": "float64"},
    {"attention.src": "random tensors"}, {"attention.src": "random tensors", "attention.B": 3, "attention.b": 2},
    {"attention.src": "random tensors", "attention.L": 32, "attention.mode": "cross-attention", "attention.S": 32,
     "attention.pads": 5},
    {"attention.mode": "cross-attention"},
    {"attention.mode": "cross-attention", "attention.kdim": 8, "attention.vdim": 12},
    {"attention.mode": "cross-attention", "attention.bf": False, "attention.kdim": 64, "attention.causal": True},
    {"attention.text": ex.SENTENCES[1]}, {"attention.pe": False}, {"attention.pads": 3},
    {"attention.pads": 3, "attention.kpm": False}, {"attention.causal": True}, {"attention.cells": "0-1, 3-2"},
    {"attention.head": 3}, {"attention.q": "10: ."}, {"attention.k": "5: mat"}, {"attention.predict.on": True},
    {"attention.tour": True}, {"present": True},
])
def test_each_control_renders(state):
    _check_ok(run_page(PAGE, **state))


def test_causal_mask_gives_exact_zeros_and_minus_infinity():
    at = run_page(PAGE, **{"attention.causal": True, "attention.head": 2, "attention.q": "3: on"})
    _check_ok(at)
    heat, _ = _heatmap(at)
    z = torch.tensor(array(heat["z"]), dtype=torch.float64)
    assert bool((z.triu(1) == 0).all()) and torch.allclose(z.sum(-1), torch.ones(11, dtype=z.dtype), atol=1e-6)
    L = 11
    w = _torch_weights(attn_mask=torch.ones(L, L, dtype=torch.bool).triu(1))
    assert torch.allclose(z, w[2].double(), atol=1e-6)
    masked = _figure(at, "Before and after the softmax")
    overlay = next(d for d in masked["data"] if d.get("name") == "masked")
    assert sum(row.count("−∞") for row in overlay["text"]) == L * (L - 1) // 2
    table = at.dataframe[0].value
    assert table["mask"].tolist() == ["0"] * 4 + ["−∞"] * 7 and table["weight"].tolist()[4:] == [0.0] * 7
    assert "is_causal=True" in at.code[0].value
    captions = [c.value for c in at.caption]
    assert f"The mask blocks {L * (L - 1) // 2} of the {L * L} query-key cells of head 2" in "\n".join(captions)
    assert not any("No mask is on" in c for c in captions)


def test_clicked_cells_are_masked_and_outlined():
    at = run_page(PAGE, **{"attention.cells": "1-0, 1-4", "attention.q": "1: cat"})
    _check_ok(at)
    heat, fig = _heatmap(at)
    z = array(heat["z"])
    assert z[1][0] == 0.0 and z[1][4] == 0.0 and abs(sum(z[1]) - 1) < 1e-6
    outline = next(d for d in fig["data"] if d.get("name") == "masked by click")
    assert min(v for v in array(outline["x"]) if v is not None) == pytest.approx(0 - 0.42)
    cells = next(d for d in fig["data"] if d.get("name") == "cells")
    assert [1, 4] in cells["customdata"]
    renorm = _figure(at, "Query “cat”")
    assert "the mask hides 2 key(s)" in renorm["layout"]["title"]["text"]
    assert "attn_mask[[1, 1], [0, 4]] = True" in at.code[0].value


def test_cells_outside_a_shorter_sentence_are_dropped_with_a_note():
    at = run_page(PAGE, **{"attention.cells": "0-1, 9-9", "attention.text": "a b c"})
    _check_ok(at)
    assert any("1 masked cell(s) lie outside the 3×3 grid" in c.value for c in at.caption)


def test_key_padding_hides_the_pads_and_without_it_they_take_weight():
    at = run_page(PAGE, **{"attention.pads": 2})
    _check_ok(at)
    z = array(_heatmap(at)[0]["z"])
    assert len(z) == 13 and all(row[11] == 0 and row[12] == 0 for row in z)
    at = run_page(PAGE, **{"attention.pads": 2, "attention.kpm": False})
    _check_ok(at)
    z = array(_heatmap(at)[0]["z"])
    assert all(row[11] > 0 for row in z)


@pytest.mark.parametrize("state, message", [
    ({"attention.text": "   "}, "at least one word"),
    ({"attention.text": "word " * 70}, "70 tokens"),
    ({"attention.cells": "0-1, banana"}, "Cannot read the masked cell"),
    ({"attention.cells": "0-0", "attention.causal": True}, "Query 0 (batch 0) has every key masked"),
    ({"attention.mode": "cross-attention", "attention.enc": "?!"}, None),
])
def test_invalid_settings_show_a_message_not_a_traceback(state, message):
    at = run_page(PAGE, **state)
    assert not at.exception, at.exception
    if message is None:
        assert at.success  # punctuation alone is a valid (two-token) sentence
    else:
        assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_predicting_a_weight_hides_then_grades_it():
    at = run_page(PAGE, **{"attention.predict.on": True, "attention.q": "2: sat", "attention.k": "1: cat"})
    assert not at.exception
    table = at.dataframe[0].value
    assert table["weight"].isna().all() and table["exp(score − max)"].isna().all()
    assert "**Softmax**" not in texts(at)
    truth = float(_torch_weights()[0, 2, 1])
    at.number_input(key="attention.predict.guess").set_value(round(truth, 6))
    next(b for b in at.button if b.label == "Check").click().run()
    assert any("Right: the module gives" in s.value for s in at.success)
    shown = texts(at).split("so the weight is")[1].split("**")[1]
    assert float(shown) == pytest.approx(truth, abs=1e-6)


def test_per_head_weights_and_float64():
    at = run_page(PAGE, **{"attention.avg": "per head", "attention.dtype": "float64"})
    _check_ok(at)
    assert "average_attn_weights=False" in at.code[0].value and "DTYPE = torch.float64" in at.code[0].value
    assert "one map per head" in "\n".join(c.value for c in at.caption)
    grid = [f for f in figures(at) if any(a.get("text") == "head 3" for a in f["layout"].get("annotations", []))][0]
    assert len([d for d in grid["data"] if d["type"] == "heatmap"]) == 4  # no mean panel
    assert "(1, 4, 11, 11)" in at.table[0].value.to_string()


def test_additive_attention_shows_its_hidden_layer_math():
    at = run_page(PAGE, **{"attention.kind": "AdditiveAttention (Bahdanau)", "attention.hidden": 8})
    _check_ok(at)
    assert "vᵀ tanh(W_q q + W_k k)" in at.dataframe[0].value.columns
    assert "hidden = tanh(W_q q + W_k k) has 8 numbers" in texts(at)
    assert "class AdditiveAttention(nn.Module)" in at.code[0].value
    assert at.selectbox(key="attention.head").disabled


def test_changing_the_sentence_forgets_a_query_it_no_longer_has():
    at = run_page(PAGE, **{"attention.q": "10: ."})
    _check_ok(at)
    assert any("The math of query 10 “.”" in h.value for h in at.subheader)
    at.text_input(key="attention.text").set_value("short one").run()
    _check_ok(at)
    assert at.selectbox(key="attention.q").value == "0: short"


def test_a_link_reproduces_the_view():
    at = through_app("attention", {"attention.heads": "2", "attention.causal": "true", "attention.q": "3: on", "seed": "3",
                       "attention.cells": "3-0"})
    assert not at.exception and not at.warning
    assert at.selectbox(key="attention.heads").value == 2 and at.toggle(key="attention.causal").value
    blocked = torch.ones(11, 11, dtype=torch.bool).triu(1)
    blocked[3, 0] = True
    w = _torch_weights(heads=2, seed=3, attn_mask=blocked)
    z = array(_heatmap(at)[0]["z"])
    assert math.isclose(z[3][1], float(w[0, 3, 1]), abs_tol=1e-6) and z[3][0] == 0.0
    assert any("The math of query 3 “on”, head 0" in h.value for h in at.subheader)
    at = through_app("attention", {"attention.mode": "cross-attention", "attention.kdim": "16", "attention.src": "typed sentence"})
    assert not at.exception and not at.warning
    assert "(1, 7, 16) / (1, 7, 32)" in at.table[0].value.to_string()  # keys of kdim 16, values of embed_dim 32


@pytest.mark.parametrize("params", [
    {"attention.E": "99999", "attention.heads": "-4"},
    {"attention.kind": "<script>alert(1)</script>", "attention.src": "'; DROP TABLE"},
    {"attention.L": "1e400", "attention.pads": "abc", "attention.src": "random tensors"},
    {"attention.text": "`" * 3000, "attention.q": "9" * 50},
    {"attention.cells": "[x](javascript:alert(1))"},
])
def test_hostile_link_values_fall_back_with_a_note(params):
    at = through_app("attention", params)
    assert not at.exception, at.exception
    assert any("This link had settings the page cannot use" in w.value for w in at.warning) or at.error
    assert at.success or at.error
