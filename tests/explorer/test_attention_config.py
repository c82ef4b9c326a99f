"""The Attention page's settings -> layer, inputs, masks and trace; the snippet, run on its own, prints
the same numbers."""
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from explorer import ExplorerError, trace_attention
from explorer import attention_config as ac
from explorer.attention import AdditiveAttention
from explorer.examples import attention as ex


@pytest.mark.parametrize("cfg, icfg, message", [
    (ac.LayerConfig(kind="rnn"), ac.InputConfig(), "Unknown attention kind"),
    (ac.LayerConfig(embed_dim=12, num_heads=5), ac.InputConfig(), "12 must split evenly"),
    (ac.LayerConfig(embed_dim=0), ac.InputConfig(), "embed_dim must be from 1 to 64"),
    (ac.LayerConfig(kdim=99), ac.InputConfig(cross=True), "kdim must be from 1 to 64"),
    (ac.LayerConfig(dtype="float16"), ac.InputConfig(), "float32 or float64"),
    (ac.LayerConfig(), ac.InputConfig(source="image"), "'sentence' or be 'random'"),
    (ac.LayerConfig(), ac.InputConfig(source="random", batch=9), "batch size must be from 1 to 4"),
    (ac.LayerConfig(), ac.InputConfig(source="random", tgt_len=0), "tgt_len must be from 1"),
    (ac.LayerConfig(), ac.InputConfig(source="random", tgt_len=3, pads=3), "3 pad keys out of 3"),
    (ac.LayerConfig(), ac.InputConfig(text="  "), "at least one word"),
])
def test_invalid_settings_explain_themselves(cfg, icfg, message):
    with pytest.raises(ExplorerError, match=message):
        ac.run(cfg, icfg, ac.MaskConfig(), 0)


def test_torch_agrees_heads_must_divide_embed_dim():
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(12, 5)


def test_sizes_match_what_run_builds():
    for icfg in (ac.InputConfig(pads=2), ac.InputConfig(cross=True, pads=1),
                 ac.InputConfig(source="random", cross=True, tgt_len=3, src_len=5),
                 ac.InputConfig(source="random", tgt_len=4)):
        t, _ = ac.run(ac.LayerConfig(embed_dim=8, num_heads=2), icfg, ac.MaskConfig(), 0)
        assert ac.sizes(ac.LayerConfig(), icfg) == (t.tgt_len, t.src_len)


def test_cells_parse_toggle_and_fit():
    assert ac.parse_cells("") == () and ac.parse_cells(" 3-1, 0:2,3-1,") == ((0, 2), (3, 1))
    assert ac.toggle_cell(((0, 2),), 1, 1) == ((0, 2), (1, 1))
    assert ac.toggle_cell(((0, 2), (1, 1)), 0, 2) == ((1, 1),)
    assert ac.format_cells(((1, 1), (0, 2))) == "0-2, 1-1"
    assert ac.inside(((0, 2), (5, 0), (1, 9)), 4, 4) == ((0, 2),)
    for junk in ("1-", "a-b", "1-2-3", "<script>", "9999-1"):
        with pytest.raises(ExplorerError, match="Cannot read the masked cell"):
            ac.parse_cells(junk)
    with pytest.raises(ExplorerError, match="more than 512"):
        ac.parse_cells(", ".join(f"{i}-{j}" for i in range(30) for j in range(30)))


def test_masks_combine_causal_cells_and_padding():
    cfg = ac.LayerConfig(embed_dim=8, num_heads=2)
    icfg = ac.InputConfig(text="a b c", pads=1)
    t, inputs = ac.run(cfg, icfg, ac.MaskConfig(causal=True, blocked=((2, 0),)), 0)
    allowed = t.weights[0, 0] > 0
    # causal hides the upper triangle, the clicked cell (2, 0) hides one more, padding hides key 3
    assert allowed.tolist() == [[True, False, False, False], [True, True, False, False],
                                [False, True, True, False], [True, True, True, False]]
    assert inputs.key_tokens[-1] == ex.PAD and not t.is_causal
    t, _ = ac.run(cfg, icfg, ac.MaskConfig(causal=True, key_padding=False), 0)
    assert t.is_causal and bool((t.weights[0, :, 3, 3] > 0).all())  # the pad is seen without its mask
    t, _ = ac.run(cfg, ac.InputConfig(text="a b c"), ac.MaskConfig(), 0)
    assert t.mask is None


def test_layouts_and_cross_attention_sizes():
    cfg = ac.LayerConfig(embed_dim=8, num_heads=4, kdim=6, vdim=10, batch_first=False)
    icfg = ac.InputConfig(source="random", cross=True, batch=2, tgt_len=3, src_len=5, pads=2)
    t, inputs = ac.run(cfg, icfg, ac.MaskConfig(), 1)
    assert t.output.shape == (3, 2, 8) and not t.batch_first  # (L, B, E) as the layer returns it
    assert inputs.key.shape == (2, 5, 6) and inputs.value.shape == (2, 5, 10) and t.v.shape == (2, 4, 5, 2)
    assert bool((t.weights[..., 3:] == 0).all()) and t.max_abs_error < 1e-5
    same = ac.run(ac.LayerConfig(embed_dim=8, num_heads=4, kdim=6, vdim=10), icfg, ac.MaskConfig(), 1)[0]
    assert torch.equal(same.weights, t.weights)  # the layout changes nothing but the shapes
    additive, _ = ac.run(ac.LayerConfig(kind="additive", embed_dim=8, kdim=6, hidden_dim=3),
                         ac.InputConfig(cross=True), ac.MaskConfig(), 0)
    assert isinstance(additive.module, AdditiveAttention) and additive.head_dim == 3
    assert additive.v.shape[-1] == 6  # values default to the keys' size


def test_sentences_embed_the_same_word_the_same_way():
    cfg = ac.LayerConfig(embed_dim=8, num_heads=2)
    _, inputs = ac.run(cfg, ac.InputConfig(text="the cat saw the dog", positional=False), ac.MaskConfig(), 3)
    assert torch.equal(inputs.query[0, 0], inputs.query[0, 3]) and inputs.positions is None
    _, inputs = ac.run(cfg, ac.InputConfig(text="the cat saw the dog"), ac.MaskConfig(), 3)
    assert not torch.equal(inputs.query[0, 0], inputs.query[0, 3])
    assert torch.allclose(inputs.embedded + inputs.positions, inputs.query[0])


SNIPPET_CASES = [
    (ac.LayerConfig(), ac.InputConfig(), ac.MaskConfig(), True),
    (ac.LayerConfig(num_heads=2, bias=False), ac.InputConfig(pads=2, positional=False),
     ac.MaskConfig(causal=True, blocked=((3, 0), (5, 2))), False),
    (ac.LayerConfig(embed_dim=16, num_heads=4, kdim=8, vdim=12, batch_first=False, dtype="float64"),
     ac.InputConfig(cross=True, pads=1), ac.MaskConfig(causal=True), False),
    (ac.LayerConfig(embed_dim=8, num_heads=8, batch_first=False), ac.InputConfig(source="random", batch=3, tgt_len=4,
                                                                                pads=1), ac.MaskConfig(), True),
    (ac.LayerConfig(kind="additive", embed_dim=6, kdim=4, vdim=5, hidden_dim=3),
     ac.InputConfig(source="random", cross=True, batch=2, tgt_len=3, src_len=5, pads=1),
     ac.MaskConfig(blocked=((1, 0),)), True),
    (ac.LayerConfig(kind="additive", embed_dim=12, dtype="float64"), ac.InputConfig(), ac.MaskConfig(causal=True),
     True),
]


@pytest.mark.parametrize("cfg, icfg, mcfg, average", SNIPPET_CASES)
def test_snippet_runs_and_prints_the_same_numbers(cfg, icfg, mcfg, average):
    t, _ = ac.run(cfg, icfg, mcfg, 5)
    code = ac.snippet(cfg, icfg, mcfg, 5, average)
    assert "explorer" not in code and "layerlab" not in code.lower().replace("layer lab", "")
    code += "import json\nprint(json.dumps([out.double().flatten().tolist(), weights.double().flatten().tolist()]))\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out, weights = json.loads(run.stdout.strip().splitlines()[-1])
    assert out == t.output.double().flatten().tolist()  # the same module, input and call: bit for bit
    expected = t.module_weights if average else t.module_head_weights
    tol = 1e-6 if cfg.dtype == "float32" else 1e-14
    assert max(abs(a - b) for a, b in zip(weights, expected.double().flatten().tolist())) <= tol
    assert len(weights) == expected.numel()
    printed = run.stdout.split("weights")[0]
    assert f"output {tuple(t.output.shape)}" in printed


def test_mistakes_show_torch_numbers_and_their_code_runs():
    scale, mask = ex.mistakes()
    assert "√d_model" in scale.title and "1/√8, not 1/√32" in scale.what_goes_wrong
    t = scale.trace
    assert t.head_dim == 8 and t.max_abs_error < 1e-5
    run = subprocess.run([sys.executable, "-c", scale.code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "True"  # the layer really scales by 1/sqrt(E / heads)
    right = [round(float(v), 4) for v in t.weights[0, 0].max(-1).values]
    assert f"{right[0]:.4f}" in run.stdout  # the same seeded layer and input as the callout's trace
    run = subprocess.run([sys.executable, "-c", mask.code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "nan" in run.stdout  # the flipped mask blocks a whole row
    assert mask.trace.is_causal and bool((mask.trace.weights[0, 0].triu(1) == 0).all())
    assert "row(s) [5]" in mask.what_goes_wrong


def test_trace_of_the_run_is_a_real_trace():
    t, inputs = ac.run(ac.LayerConfig(embed_dim=8, num_heads=2), ac.InputConfig(), ac.MaskConfig(), 0)
    again = trace_attention(t.module, inputs.query)
    assert torch.equal(again.weights, t.weights)


@pytest.mark.parametrize("cfg, icfg", [
    (ac.LayerConfig(), ac.InputConfig()),
    (ac.LayerConfig(bias=False, kdim=8, vdim=12), ac.InputConfig(cross=True)),
    (ac.LayerConfig(kind="additive", embed_dim=8, kdim=4, hidden_dim=3), ac.InputConfig(cross=True)),
])
def test_parameter_count_formula_adds_up(cfg, icfg):
    t, inputs = ac.run(cfg, icfg, ac.MaskConfig(), 0)
    count, formula = dict(ac.shape_rows(t, inputs))["parameters"].split(" = ")
    assert int(count.replace(",", "")) == sum(p.numel() for p in t.module.parameters())
    assert eval(formula.replace("·", "*")) == int(count.replace(",", ""))  # the formula is the count


def test_settings_rows_name_the_view():
    rows = dict(ac.settings_rows(ac.LayerConfig(), ac.InputConfig(pads=1), ac.MaskConfig(causal=True,
                                                                                       blocked=((1, 0),)), 7))
    assert rows["layer"] == "nn.MultiheadAttention" and rows["num_heads"] == 4 and rows["seed"] == 7
    assert rows["sentence"] == ex.SENTENCES[0] and rows["masked cells"] == "1-0" and rows["causal mask"]


def test_worked_lines_follow_the_hand_worked_example():
    # the 2-token example of test_attention.py: identity projections, x0 = [a, 0], x1 = [0, a] with
    # a² = √2 ln 3, so q1 · k1 = a², the scaled score ln 3, exp(0) = 1 of a row total 4/3: weight 3/4
    import math
    m = nn.MultiheadAttention(2, 1, bias=False, batch_first=True).double()
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.cat([torch.eye(2)] * 3))
        m.out_proj.weight.copy_(torch.eye(2))
    a = math.sqrt(math.sqrt(2) * math.log(3))
    t = trace_attention(m, torch.tensor([[[a, 0.0], [0.0, a]]], dtype=torch.float64))
    score, softmax, output = ac.worked_lines(t, 0, 0, 1, 1, ["x0", "x1"], ["x0", "x1"])
    assert f"= {a * a:.6g}; × 1/√2 = {math.log(3):.6g}" in score and f"score **{math.log(3):.6g}**" in score
    assert f"add up to {4 / 3:.6g}" in softmax and softmax.endswith("= **0.75**.")
    assert f"[{0.25 * a:.4g}, {0.75 * a:.4g}]" in output
    masked = trace_attention(m, t.q.new_tensor([[[a, 0.0], [0.0, a]]]), is_causal=True)
    assert "+ mask (−∞)" in ac.worked_lines(masked, 0, 0, 0, 1, ["x0", "x1"], ["x0", "x1"])[0]
