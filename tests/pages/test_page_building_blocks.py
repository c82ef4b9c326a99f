"""The Building blocks page renders every tab with defaults and after changing each control, shows the
module's numbers, hides them while a prediction is pending, and round-trips its state through the URL."""
import math

import pytest
import torch
from apptest import array, check_ok, figures, run_page, texts, through_app

PAGE = "building_blocks"


def _tab(tab, **state):
    return run_page(PAGE, **{"blocks.tab": tab, **state})



def _named(fig, name):
    return next(d for d in fig["data"] if d.get("name") == name)


# -- Linear ---------------------------------------------------------------------------------------

def test_defaults_show_the_hand_example_as_dot_products():
    at = run_page(PAGE)
    check_ok(at)
    (fig,) = figures(at)
    # W = [[1, 2], [3, 4]], b = [1, -1], x = [1, 1]: y = [1 + 2 + 1, 3 + 4 - 1] = [4, 6]; one frame per output
    assert [f["name"] for f in fig["frames"]] == ["0", "1"]
    assert array(_named(fig, "weights")["z"]) == [[1, 2], [3, 4]]
    assert array(_named(fig, "output")["z"]) == [[4], [6]]
    assert "**y[0]** = 1·1 + 1·2 + b_0 (1) = **4**" in texts(at)
    assert "The module computed **4** (the same)." in texts(at)
    assert "2 × 2 weights + 2 biases = 6" in at.table[0].value.to_string()


def test_selected_output_shows_its_products():
    at = run_page(PAGE, **{"blocks.lin.j": 1})
    check_ok(at)
    assert "**y[1]** = 1·3 + 1·4 + b_1 (-1) = **6**" in texts(at)
    products = at.dataframe[0].value["x_i · W[j, i]"].tolist()
    assert products == [3.0, 4.0]


@pytest.mark.parametrize("state", [
    {"blocks.lin.preset": "average of 3"}, {"blocks.lin.preset": "rotate 90°"},
    {"blocks.lin.preset": "bilinear dot product"}, {"blocks.lin.dtype": "float32"},
    {"blocks.lin.src": "random"}, {"blocks.lin.src": "random", "blocks.lin.rows": 4, "blocks.lin.n": 3},
    {"blocks.lin.src": "random", "blocks.lin.in": 64, "blocks.lin.out": 64},
    {"blocks.lin.src": "random", "blocks.lin.bias": False},
    {"blocks.lin.src": "random", "blocks.lin.kind": "Bilinear", "blocks.lin.in2": 5},
    {"blocks.lin.src": "typed", "blocks.lin.typed": "1, 2, 3, 4\n0, 0, 0, 1"},
    {"blocks.lin.src": "typed", "blocks.lin.kind": "Bilinear", "blocks.lin.in": 2, "blocks.lin.typed": "1, 2",
     "blocks.lin.typed2": "3, 4, 5"},
])
def test_each_linear_control_renders(state):
    check_ok(run_page(PAGE, **state))


def test_random_layer_output_is_the_module_output():
    at = run_page(PAGE, **{"blocks.lin.src": "random", "blocks.lin.out": 5, "blocks.lin.j": 4, "seed": 3})
    check_ok(at)
    from explorer.examples.basic import random_values, seeded_linear
    m = seeded_linear(4, 5, seed=3)
    y = m(random_values((4,), 4)).detach()                    # the page draws its input from seed + 1
    assert f"**{float(y[4]):.6g}**" in texts(at)


def test_a_big_layer_is_drawn_cut_down_and_says_so():
    at = run_page(PAGE, **{"blocks.lin.src": "random", "blocks.lin.in": 64, "blocks.lin.out": 64})
    check_ok(at)
    assert "showing 48 of 64 outputs, 48 of 64 inputs" in str(figures(at)[0]["layout"]["annotations"][0]["text"])
    assert any("evenly spaced rows" in c.value for c in at.caption)


def test_prediction_hides_the_products_until_checked():
    at = run_page(PAGE, **{"blocks.lin.predict.on": True})
    assert not at.exception
    assert at.dataframe[0].value["x_i · W[j, i]"].isna().all()
    assert "= **4**" not in texts(at)
    at.number_input(key="blocks.lin.predict.guess").set_value(4.0)
    at.button[0].click().run()
    assert "Right: the module gives 4." in texts(at)
    assert "**y[0]** = 1·1 + 1·2 + b_0 (1) = **4**" in texts(at)


# -- Embedding ------------------------------------------------------------------------------------

def test_embedding_defaults_padding_rows_read_zeros_and_get_no_gradient():
    at = _tab("Embedding")
    check_ok(at)
    table, grad = figures(at)
    out = array(_named(table, "output")["z"])
    assert out[6] == [0, 0, 0, 0] and out[7] == [0, 0, 0, 0]          # "<pad> <pad>" read the zero row
    assert array(_named(grad, "gradient")["y"])[0] == 0                # and the padding row gets no gradient
    assert array(_named(grad, "times looked up")["y"])[0] == 2
    assert "Token 0 is id **1** (“the”)" in texts(at)


def test_max_norm_shows_the_rescaling_and_says_the_table_changes():
    at = _tab("Embedding", **{"blocks.emb.maxnorm": True, "blocks.emb.mn": 1.0, "blocks.emb.t": 1})
    check_ok(at)
    renorm = figures(at)[2]
    assert all(v <= 1.0 + 1e-6 for v in array(_named(renorm, "norm after")["y"]))
    assert any("in place" in i.value for i in at.info)
    from explorer.examples.basic import seeded_embedding
    row = seeded_embedding(10, 4, padding_idx=0, seed=0).weight[2].detach()    # token 1 is "cat" = id 2
    norm = float(row.norm())
    assert norm > 1 and f"is **{norm:.4g}** > max_norm 1" in texts(at)
    assert f"**{1 / (norm + 1e-7):.6g}**" in texts(at)


@pytest.mark.parametrize("state", [
    {"blocks.emb.V": 1000, "blocks.emb.ids": "3 999 500 7"}, {"blocks.emb.D": 64},
    {"blocks.emb.pad": False}, {"blocks.emb.padidx": 4}, {"blocks.emb.dtype": "float32"},
    {"blocks.emb.maxnorm": True, "blocks.emb.p": 1.0, "blocks.emb.mn": 0.5},
    {"blocks.emb.ids": "0, 1, 2, 3, 4, 5, 6, 7, 8, 9", "blocks.emb.t": 9},
])
def test_each_embedding_control_renders(state):
    check_ok(_tab("Embedding", **state))


# -- Dropout --------------------------------------------------------------------------------------

def test_dropout_with_the_notes_seed_gives_the_notes_numbers_next_to_eval():
    at = _tab("Dropout", seed=38)
    check_ok(at)
    mask_fig, samples_fig, mean_fig = figures(at)
    assert array(_named(mask_fig, "train output")["z"]) == [[2, 0, 0, 8, 0]]
    assert array(_named(mask_fig, "eval output")["z"]) == [[1, 2, 3, 4, 5]]
    assert samples_fig["frames"][0]["data"][0]["z"] == [[2, 0, 0, 8, 0]]
    assert "What PyTorch computes:** 2, 0, 0, 8, 0" in texts(at)
    assert "What PyTorch computes:** 1, 2, 3, 4, 5" in texts(at)
    assert "blocks.drop.notes_seed" not in [b.key for b in at.button]     # already on the notes' seed


def test_dropout_eval_mode_is_the_identity():
    at = _tab("Dropout", **{"blocks.drop.mode": "eval", "blocks.drop.i": 3})
    check_ok(at)
    fig = figures(at)[0]
    assert [d["name"] for d in fig["data"]] == ["input", "eval output"]
    assert "Eval mode: y = x = **4**" in texts(at)


def test_dropout_value_math_scales_kept_values():
    at = _tab("Dropout", seed=38, **{"blocks.drop.i": 3})
    check_ok(at)
    assert "Kept: y = x / (1 − p) = 4 / 0.5 = **8**" in texts(at)


def test_the_notes_seed_button_sets_the_seed():
    at = _tab("Dropout")
    at.button(key="blocks.drop.notes_seed").click().run()
    assert at.session_state["seed"] == 38


@pytest.mark.parametrize("state", [
    {"blocks.drop.p": 0.0}, {"blocks.drop.p": 1.0}, {"blocks.drop.p": 0.85}, {"blocks.drop.samples": 2000},
    {"blocks.drop.src": "random", "blocks.drop.rows": 16, "blocks.drop.cols": 16},
    {"blocks.drop.src": "typed", "blocks.drop.typed": "1, -2\n3, 4"}, {"blocks.drop.dtype": "float32"},
])
def test_each_dropout_control_renders(state):
    check_ok(_tab("Dropout", **state))


def test_p_one_explains_instead_of_averaging():
    at = _tab("Dropout", **{"blocks.drop.p": 1.0})
    check_ok(at)
    assert any("every value is dropped" in i.value for i in at.info)
    assert len(figures(at)) == 1


# -- Activations ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ELU", "GELU", "GELU (tanh)", "SiLU", "Sigmoid", "Tanh",
                                  "Softplus", "Softmax"])
def test_every_activation_renders_its_curve(name):
    at = _tab("Activations", **{"blocks.act.name": name})
    check_ok(at)
    curve = figures(at)[0]
    line = curve["data"][0]                              # f, or for Softmax s[0] as x[0] varies
    assert line["name"] == ("s[0]" if name == "Softmax" else "f") and len(array(line["x"])) == 401


def test_sigmoid_math_at_an_entry():
    # the preset input's entry 6 is 1: σ(1) = 1 / (1 + e^-1) = 0.731059; slope σ(1)(1 - σ(1)) = 0.196612
    at = _tab("Activations", **{"blocks.act.name": "Sigmoid", "blocks.act.i": 6})
    check_ok(at)
    s = 1 / (1 + math.exp(-1))
    assert f"The module gives **{s:.6g}**" in texts(at) and f"**{s * (1 - s):.4g}**" in texts(at)
    assert "`= 1 / (1 + 0.3679)`" in texts(at)


def test_softmax_temperature_changes_the_shares_and_draws_the_sweep():
    at = _tab("Activations", **{"blocks.act.name": "Softmax", "blocks.act.T": 0.5})
    check_ok(at)
    curve, temp = figures(at)
    expected = torch.softmax(torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64) / 0.5, 0)
    assert f"The module gives **{float(expected[0]):.6g}**" in texts(at)
    assert [s["x0"] for s in temp["layout"]["shapes"] if s["x0"] == s["x1"]] == [0.5]


@pytest.mark.parametrize("state", [
    {"blocks.act.name": "LeakyReLU", "blocks.act.slope": 0.2}, {"blocks.act.name": "ELU", "blocks.act.alpha": 2.0},
    {"blocks.act.name": "Softplus", "blocks.act.beta": 2.0, "blocks.act.threshold": 1.0},
    {"blocks.act.src": "random", "blocks.act.n": 200, "blocks.act.spread": 10.0},
    {"blocks.act.src": "typed", "blocks.act.typed": "-100, 0, 100"}, {"blocks.act.dtype": "float32"},
    {"blocks.act.name": "Softmax", "blocks.act.swept": 2}, {"blocks.act.predict.on": True},
])
def test_each_activation_control_renders(state):
    at = _tab("Activations", **state)
    assert not at.exception, at.exception


def test_activation_prediction_hides_the_values():
    at = _tab("Activations", **{"blocks.act.predict.on": True})
    assert not at.exception
    assert at.dataframe[0].value["f(x)"].isna().all()
    assert "The module gives" not in texts(at)


# -- bad input, links -----------------------------------------------------------------------------

@pytest.mark.parametrize("state, message", [
    ({"blocks.lin.src": "typed", "blocks.lin.typed": "1, 2, x"}, "not a number"),
    ({"blocks.lin.src": "typed", "blocks.lin.typed": "1, 2, 3"}, "Input has 3 features but the layer expects 4."),
    ({"blocks.lin.src": "typed", "blocks.lin.typed": "1, 2\n3"}, "different lengths"),
    ({"blocks.tab": "Embedding", "blocks.emb.ids": "the zebra"}, "not a token id"),
    ({"blocks.tab": "Embedding", "blocks.emb.V": 5}, "Token id 6 is out of range"),   # "on" = 6 comes first
    ({"blocks.tab": "Embedding", "blocks.emb.ids": "  "}, "empty"),
    ({"blocks.tab": "Dropout", "blocks.drop.src": "typed", "blocks.drop.typed": "1, nan"}, "finite numbers"),
    ({"blocks.tab": "Activations", "blocks.act.src": "typed", "blocks.act.typed": "1; 2, 3"}, "different lengths"),
])
def test_bad_input_shows_a_message_not_a_traceback(state, message):
    at = run_page(PAGE, **state)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_a_link_opens_the_same_view():
    at = through_app("building_blocks", {"blocks.tab": "Dropout", "blocks.drop.p": "0.3", "blocks.drop.mode": "eval", "seed": "7"})
    assert not at.exception
    assert at.slider(key="blocks.drop.p").value == 0.3 and at.radio(key="blocks.drop.mode").value == "eval"
    assert at.number_input(key="seed").value == 7
    assert not at.warning


def test_a_link_to_another_tab_restores_its_controls():
    # (the other direction, a control change rewriting the URL, happens in the browser: see the browser test)
    at = through_app("building_blocks", {"blocks.tab": "Activations", "blocks.act.name": "Tanh", "blocks.act.i": "7",
                       "blocks.act.src": "typed", "blocks.act.typed": "0, 0.5, 1, 3"})
    assert not at.exception
    assert at.text_input(key="blocks.act.typed").value == "0, 0.5, 1, 3"
    # entry 7 of a 4-value input does not exist: the default entry 0 (tanh 0 = 0), and the note says so
    assert at.selectbox(key="blocks.act.name").value == "Tanh" and at.slider(key="blocks.act.i").value == 0
    assert "The module gives **0**" in texts(at)
    assert [w.value for w in at.warning] == ["This link had settings the page cannot use, so defaults are shown "
                                             "instead: `blocks.act.i=7`."]


@pytest.mark.parametrize("params", [
    {"blocks.lin.src": "random", "blocks.lin.in": "99999", "blocks.lin.out": "-4"},
    {"blocks.tab": "<script>alert(1)</script>"},
    {"blocks.tab": "Dropout", "blocks.drop.p": "1e400", "blocks.drop.samples": "abc"},
    {"blocks.tab": "Embedding", "blocks.emb.ids": "'; DROP TABLE x; --", "blocks.emb.V": "nan"},
    {"blocks.tab": "Activations", "blocks.act.name": "__import__('os')", "blocks.act.T": "-1"},
])
def test_hostile_link_values_fall_back_with_a_note(params):
    at = through_app("building_blocks", params)
    assert not at.exception, at.exception
    assert any("This link had settings the page cannot use" in w.value for w in at.warning) or at.error
    assert at.success or at.error
