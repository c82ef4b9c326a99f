"""The Normalization page renders with defaults and after changing every control, shows the real
statistics and the worked numbers of the selected cell (hidden while a prediction is pending), runs
its snippet to the same numbers, and round-trips its state through the URL."""
import json
import math
import subprocess
import sys

import pytest
import torch
from apptest import array, bold_after, check_ok, figures, run_page, texts, through_app, titles

from explorer.examples.normalization import random_input

PAGE = "normalization"



def _default_input():
    """The page's default input, rebuilt here: 4 x 4 x 3 x 3, seed 0, channel c around c."""
    return random_input((4, 4, 3, 3), 0, channel_step=1.0).float()


def test_defaults_show_batchnorm2d_with_one_statistic_per_channel():
    at = run_page(PAGE)
    check_ok(at)
    grouping = figures(at)[0]
    assert grouping["layout"]["title"]["text"].startswith("BatchNorm2d (train mode, batch statistics)<br>4 mean")
    colours = {v for row in array(grouping["data"][0]["z"]) for v in row if v == v}   # NaN: the gaps
    assert len(colours) == 4
    # the statistics table holds torch's own per-channel mean and biased variance
    x = _default_input()
    var, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0)
    table = at.dataframe[0].value
    assert table["mean"].tolist() == pytest.approx(mean.tolist(), abs=1e-5)
    assert table["variance (biased)"].tolist() == pytest.approx(var.tolist(), abs=1e-5)
    # the math panel at x[0, 0, 0, 0]: mean, variance, normalized value, and the unbiased running update
    text = texts(at)
    assert bold_after(text, "mean = (") == pytest.approx(float(mean[0]), rel=1e-5)
    assert bold_after(text, "var = Σ(v − mean)² / 36") == pytest.approx(float(var[0]), rel=1e-5)
    xhat = (float(x[0, 0, 0, 0]) - float(mean[0])) / math.sqrt(float(var[0]) + 1e-5)
    assert bold_after(text, "x̂ = (") == pytest.approx(xhat, rel=1e-5)
    assert "× 36/35" in text and "the **unbiased** variance" in text
    code = at.code[0].value
    assert "nn.BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)" in code
    assert "for _ in range(5):" in code
    assert [h.value for h in at.subheader][:2] == ["Which cells share a mean and a variance", "From x to x̂ to y"]


@pytest.mark.parametrize("state", [
    *({"norm.kind": k} for k in ("LayerNorm", "InstanceNorm", "GroupNorm", "RMSNorm")),
    {"norm.dtype": "float64"}, {"norm.bn.eps": "0.1"}, {"norm.bn.affine": False}, {"norm.bn.bias": False},
    {"norm.bn.track": False}, {"norm.mode": "eval"}, {"norm.bn.momentum": "None"}, {"norm.bn.momentum": "1.0"},
    {"norm.batches": 30}, {"norm.init": "default"}, {"norm.init": "counting"},
    {"norm.kind": "LayerNorm", "norm.ln.dims": 1}, {"norm.kind": "LayerNorm", "norm.ln.bias": False},
    {"norm.kind": "LayerNorm", "norm.ln.affine": False}, {"norm.kind": "RMSNorm", "norm.rms.eps": "None"},
    {"norm.kind": "RMSNorm", "norm.rms.dims": 2}, {"norm.kind": "GroupNorm", "norm.groups": 4},
    {"norm.kind": "GroupNorm", "norm.groups": 1}, {"norm.kind": "GroupNorm", "norm.gn.affine": False},
    {"norm.kind": "InstanceNorm", "norm.in.affine": True, "norm.in.track": True},
    {"norm.kind": "InstanceNorm", "norm.in.track": True, "norm.mode": "eval", "norm.in.momentum": "None"},
    {"norm.layout": "(N, C, L)"}, {"norm.layout": "(N, C)"}, {"norm.layout": "(N, C, L)", "norm.l": 64},
    {"norm.n": 32, "norm.c": 16, "norm.h": 16, "norm.w": 16}, {"norm.n": 1}, {"norm.offset": 0.0},
    {"norm.std": 5.0}, {"norm.src": "preset"}, {"norm.src": "typed"},
    *({"norm.src": "preset", "norm.preset": p, "norm.kind": k} for p, k in (
        ("notes: BatchNorm, 1..36 as (3, 3, 4)", "InstanceNorm"), ("notes: GroupNorm, 1..192 as (2, 6, 4, 4)",
                                                                   "GroupNorm"),
        ("notes: LayerNorm, [[1, 2, 3], [4, 5, 6]]", "RMSNorm"))),
    {"norm.cell.sample": 3, "norm.cell.channel": 2, "norm.cell.row": 1, "norm.cell.column": 2},
    {"norm.stage": "Histograms"}, {"norm.stage": "The affine step γ, β"}, {"norm.rchan": 1},
    {"norm.predict.on": True}, {"norm.tour": True}, {"seed": 12345},
])
def test_each_control_renders(state):
    check_ok(run_page(PAGE, **state))


@pytest.mark.parametrize("kind, shape_title, statistics", [
    ("BatchNorm", "BatchNorm2d (train mode", 4), ("LayerNorm", "LayerNorm<br>", 4),
    ("InstanceNorm", "InstanceNorm2d (train mode", 16), ("GroupNorm", "GroupNorm (2 groups)", 8),
    ("RMSNorm", "RMSNorm<br>4 mean squares", 4),
])
def test_switching_the_layer_regroups_the_cells(kind, shape_title, statistics):
    at = run_page(PAGE, **{"norm.kind": kind})
    check_ok(at)
    grouping = figures(at)[0]
    assert grouping["layout"]["title"]["text"].startswith(shape_title)
    assert len(at.dataframe[0].value) == statistics
    compare = next(f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Cells of one"))
    assert [a["text"] for a in compare["layout"]["annotations"]] == [
        "BatchNorm2d: 4 statistics", "LayerNorm: 4 statistics", "InstanceNorm2d: 16 statistics",
        "GroupNorm: 8 statistics", "RMSNorm: 4 statistics"]


def test_layernorm_on_the_notes_example_works_out_the_real_numbers():
    # [[1, 2, 3], [4, 5, 6]], gamma = [1, 2, 3], beta = [-1, -2, -3]: row 1 has mean 5 and biased variance
    # ((-1)^2 + 0 + 1^2) / 3 = 2/3; x[1, 2] = 6 -> x̂ = 1 / sqrt(2/3 + 1e-5), y = 3 x̂ - 3
    at = run_page(PAGE, **{"norm.kind": "LayerNorm", "norm.src": "preset", "norm.init": "counting",
                           "norm.preset": "notes: LayerNorm, [[1, 2, 3], [4, 5, 6]]",
                           "norm.cell.sample": 1, "norm.cell.feature": 2})
    check_ok(at)
    text = texts(at)
    a = 1 / math.sqrt(2 / 3 + 1e-5)
    assert "**x[1, 2] = 6** uses the statistic of **sample 1** (one of 2)" in text
    assert bold_after(text, "mean = (4 + 5 + 6) / 3") == 5.0
    assert bold_after(text, "var = Σ(v − mean)² / 3") == pytest.approx(2 / 3, rel=1e-5)
    assert bold_after(text, "x̂ = (6 − 5)") == pytest.approx(a, rel=1e-5)
    assert bold_after(text, "y = γ·x̂ + β = 3 ·") == pytest.approx(3 * a - 3, rel=1e-5)
    assert "nn.LayerNorm([3], eps=1e-05, elementwise_affine=True, bias=True)" in at.code[0].value


def test_eval_mode_normalizes_with_the_running_statistics():
    at = run_page(PAGE, **{"norm.mode": "eval"})
    check_ok(at)
    text = texts(at)
    assert titles(at)[0].startswith("BatchNorm2d (eval mode, running statistics)")
    assert "eval mode: mean = running_mean[0] = **" in text and "train mode would use this input's own" in text
    assert "layer.eval()" in at.code[0].value
    shapes = at.table[0].value
    assert "a count: 5 before this input, 5 after" in shapes["value"].tolist()


def test_cumulative_average_momentum_is_explained():
    at = run_page(PAGE, **{"norm.bn.momentum": "None", "norm.batches": 3})
    check_ok(at)
    # momentum None, 3 batches seen before: this one is the 4th, weighted 1/4
    assert "with m = 0.25 (momentum None: 1/k, the plain average of all k batches so far)" in texts(at)


def test_running_stepper_has_one_frame_per_batch():
    at = run_page(PAGE, **{"norm.batches": 8, "norm.rchan": 2})
    check_ok(at)
    stepper = next(f for f in figures(at) if "frames" in f and f["layout"]["title"]["text"].startswith("Before any"))
    assert len(stepper["frames"]) == 9
    assert stepper["layout"]["annotations"][0]["text"] == "running_mean[2]"


@pytest.mark.parametrize("state, message", [
    ({"norm.src": "typed", "norm.typed": "1, 2, x"}, "not a number"),
    ({"norm.src": "typed", "norm.shape": "2, 4"}, "You typed 6 numbers but the shape (2, 4) holds 8"),
    ({"norm.src": "typed", "norm.shape": "2, three"}, "not a list of whole numbers"),
    ({"norm.kind": "InstanceNorm", "norm.layout": "(N, C)"}, "has none: use an (N, C, L)"),
    ({"norm.layout": "(N, C)", "norm.n": 1}, "Expected more than 1 value per channel when training"),
    ({"norm.kind": "InstanceNorm", "norm.layout": "(N, C, L)", "norm.l": 1}, "Expected more than 1 spatial element"),
    ({"norm.kind": "GroupNorm", "norm.layout": "(N, C)", "norm.n": 1, "norm.c": 1}, "single value"),
])
def test_invalid_settings_show_a_message_not_a_traceback(state, message):
    at = run_page(PAGE, **state)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_predicting_a_normalized_value_hides_then_grades_it():
    at = run_page(PAGE, **{"norm.predict.on": True})
    assert not at.exception
    assert "x̂ = (" not in texts(at) and "the module computed" not in texts(at)
    x = _default_input()
    var, mean = torch.var_mean(x[:, 0], correction=0)
    truth = (float(x[0, 0, 0, 0]) - float(mean)) / math.sqrt(float(var) + 1e-5)
    at.number_input(key="norm.predict.guess").set_value(round(truth, 4))
    next(b for b in at.button if b.label == "Check").click().run()
    assert any("Right: the module gives" in s.value for s in at.success)
    assert bold_after(texts(at), "x̂ = (") == pytest.approx(truth, rel=1e-5)


def test_a_mistake_opens_in_the_explorer():
    at = run_page(PAGE)
    at.button(key="norm.open3").click().run()          # the GroupNorm example: 1..192 as (2, 6, 4, 4)
    check_ok(at)
    assert at.radio(key="norm.kind").value == "GroupNorm" and at.radio(key="norm.src").value == "preset"
    # four statistics, one per (sample, group): 48 consecutive numbers each, means 24.5, 72.5, 120.5, 168.5
    assert at.dataframe[0].value["mean"].tolist() == [24.5, 72.5, 120.5, 168.5]


def test_tabs_show_the_histograms_and_the_affine_step():
    at = run_page(PAGE, **{"norm.stage": "Histograms"})
    check_ok(at)
    hist = next(f for f in figures(at) if [d.get("type") for d in f["data"]] == ["bar"] * 3)
    assert [sum(array(d["y"])) for d in hist["data"]] == [144] * 3
    at = run_page(PAGE, **{"norm.stage": "The affine step γ, β", "norm.init": "counting"})
    check_ok(at)
    affine = next(f for f in figures(at) if f["data"][0].get("name") == "γ (scale)")
    assert array(affine["data"][0]["y"]) == [1, 2, 3, 4] and array(affine["data"][1]["y"]) == [-1, -2, -3, -4]
    at = run_page(PAGE, **{"norm.stage": "The affine step γ, β", "norm.bn.affine": False})
    assert any("has no γ or β" in i.value for i in at.info)


def test_shrinking_the_input_pulls_the_selected_cell_back_in():
    at = run_page(PAGE, **{"norm.cell.sample": 3, "norm.cell.row": 2})
    check_ok(at)
    at.slider(key="norm.n").set_value(2).run()
    at.slider(key="norm.h").set_value(1).run()
    check_ok(at)
    assert "**x[1, 0, 0, 0] = " in texts(at)


def test_page_snippet_prints_the_numbers_the_page_shows():
    at = run_page(PAGE, **{"norm.mode": "eval", "norm.cell.sample": 1, "norm.cell.channel": 3})
    check_ok(at)
    code = at.code[0].value + "\nimport json\nprint(json.dumps(y.double().tolist()))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    y = torch.tensor(json.loads(out.stdout.strip().splitlines()[-1]))
    shown = bold_after(texts(at), "the module computed")
    assert float(y[1, 3, 0, 0]) == pytest.approx(shown, rel=1e-5)
    # its first lines print the running statistics the page's math panel uses
    running_mean = bold_after(texts(at), "eval mode: mean = running_mean[3] =")
    assert f"{running_mean:.4f}"[:6] in out.stdout


def test_a_link_opens_the_same_view():
    at = through_app("normalization", {"norm.kind": "GroupNorm", "norm.c": "8", "norm.groups": "4", "seed": "3",
                       "norm.cell.channel": "5"})
    assert not at.exception and not at.warning
    assert at.radio(key="norm.kind").value == "GroupNorm" and at.selectbox(key="norm.groups").value == 4
    assert at.number_input(key="seed").value == 3
    # GroupNorm(4, 8) on 4 samples: 16 statistics; channel 5 is in group 2 (channels 4 and 5)
    assert "uses the statistic of **sample 0, group 2** (one of 16)" in texts(at)


@pytest.mark.parametrize("params", [
    {"norm.n": "99999", "norm.c": "-4"},
    {"norm.kind": "<script>alert(1)</script>", "norm.layout": "(N, C, D, H, W)"},
    {"norm.offset": "1e400", "norm.bn.eps": "abc", "norm.bn.momentum": "2"},
    {"norm.src": "typed", "norm.typed": "`" * 3000, "norm.shape": "9" * 50},
    {"norm.cell.sample": "1e9", "norm.rchan": "-1", "norm.stage": "Everything"},
])
def test_hostile_link_values_fall_back_with_a_note(params):
    at = through_app("normalization", params)
    assert not at.exception, at.exception
    assert any("This link had settings the page cannot use" in w.value for w in at.warning) or at.error
    assert at.success or at.error
