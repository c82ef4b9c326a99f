"""Widget values -> recurrent modules: invalid settings explained, parameter counts, runnable snippets."""
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from explorer import ExplorerError, trace_recurrent
from explorer.examples.recurrent import batch_of_one, random_input, random_input_code, random_state
from explorer.recurrent_config import (LITERAL_LIMIT, RecurrentConfig, build, dropout_note, parameter_formula,
                                       parameter_rows, snippet, validate)


@pytest.mark.parametrize("cfg, message", [
    (RecurrentConfig(kind="Transformer"), "Unknown recurrent layer 'Transformer'"),
    (RecurrentConfig(hidden_size=0), "hidden_size must be between 1 and 128; it is 0"),
    (RecurrentConfig(input_size=65), "input_size must be between 1 and 64"),
    (RecurrentConfig(num_layers=5), "num_layers must be between 1 and 4"),
    (RecurrentConfig(kind="RNN", nonlinearity="sigmoid"), "nonlinearity must be 'tanh' or 'relu'"),
    (RecurrentConfig(kind="GRU", proj_size=2), "Only an LSTM has proj_size; set it to 0 for the GRU"),
    (RecurrentConfig(hidden_size=3, proj_size=3), r"proj_size \(3\) must be smaller than hidden_size \(3\)"),
    (RecurrentConfig(proj_size=-1), "must be smaller than hidden_size"),
    (RecurrentConfig(dropout=1.0), "dropout is a probability between 0 and 1"),
])
def test_invalid_configs_explain_themselves(cfg, message):
    with pytest.raises(ExplorerError, match=message):
        validate(cfg)


def test_torch_agrees_the_rejected_configs_are_invalid():
    with pytest.raises(ValueError):
        nn.LSTM(1, 3, proj_size=3)
    with pytest.raises(ValueError):
        nn.RNN(1, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError):
        nn.GRU(1, 3, dropout=1.5)


def test_build_is_seeded_in_eval_mode_and_leaves_global_rng_alone():
    cfg = RecurrentConfig(kind="GRU", input_size=2, hidden_size=5, num_layers=2, dropout=0.3)
    rng = torch.random.get_rng_state()
    a, b = build(cfg, seed=4), build(cfg, seed=4)
    assert torch.equal(rng, torch.random.get_rng_state())
    assert not a.training and a.dropout == 0.3 and a.num_layers == 2
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.weight_hh_l0, build(cfg, seed=5).weight_hh_l0)
    assert float(a.weight_hh_l0.abs().max()) <= 5 ** -0.5                  # torch's U(-1/sqrt(H), 1/sqrt(H))
    assert build(RecurrentConfig(), dtype=torch.float64).weight_ih_l0.dtype == torch.float64


def test_code_names_only_what_differs_from_the_defaults():
    assert RecurrentConfig().code() == "nn.LSTM(1, 4)"
    cfg = RecurrentConfig(kind="RNN", input_size=3, hidden_size=2, num_layers=2, nonlinearity="relu", bias=False,
                          batch_first=True, dropout=0.25, bidirectional=True)
    assert cfg.code() == ("nn.RNN(3, 2, num_layers=2, nonlinearity='relu', bias=False, batch_first=True, "
                          "dropout=0.25, bidirectional=True)")
    assert RecurrentConfig(hidden_size=5, proj_size=2).code() == "nn.LSTM(1, 5, proj_size=2)"
    assert eval(cfg.code(), {"nn": nn}).nonlinearity == "relu"


@pytest.mark.parametrize("cfg", [
    RecurrentConfig(),
    RecurrentConfig(kind="GRU", input_size=3, hidden_size=4, num_layers=3, bidirectional=True, bias=False),
    RecurrentConfig(kind="RNN", input_size=2, hidden_size=6, num_layers=2),
    RecurrentConfig(kind="LSTM", input_size=2, hidden_size=5, proj_size=3, num_layers=2, bidirectional=True),
])
def test_parameter_counts_add_up_to_torchs(cfg):
    m = build(cfg)
    formula, total = parameter_formula(m)
    assert total == sum(p.numel() for p in m.parameters())
    # the formula, evaluated, is that total: D × (G·H·F + G·H·P + 2·G·H + P·H) per layer
    assert sum(eval(f.split(": ")[1].replace("·", "*").replace("×", "*")) for f in formula) == total
    rows = parameter_rows(m)
    assert [r[0] for r in rows] == [n for n, _ in m.named_parameters()]
    assert all(r[1] == tuple(p.shape) and r[2] == p.numel() for r, p in zip(rows, m.parameters()))
    blocks = {"RNN": "1 blocks [h]", "LSTM": "4 blocks [i | f | g | o]", "GRU": "3 blocks [r | z | n]"}[cfg.kind]
    assert rows[0][3].startswith(f"{blocks} of {cfg.hidden_size} rows")


def test_dropout_notes():
    assert dropout_note(RecurrentConfig()) is None
    assert "does nothing here" in dropout_note(RecurrentConfig(dropout=0.5))
    assert "only in training mode" in dropout_note(RecurrentConfig(dropout=0.5, num_layers=2))


def _run(code):
    code += ("import json\nprint('JSON', json.dumps([output.detach().double().flatten().tolist(), "
             "h_n.detach().double().flatten().tolist()]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("JSON"))
    return out.stdout, json.loads(line[5:])


@pytest.mark.parametrize("cfg, dtype, hx, batch", [
    (RecurrentConfig(), torch.float32, False, False),
    (RecurrentConfig(kind="GRU", input_size=2, hidden_size=3, num_layers=2, bidirectional=True, batch_first=True,
                     dropout=0.2), torch.float64, True, True),
    (RecurrentConfig(kind="LSTM", input_size=2, hidden_size=4, proj_size=2, bias=False), torch.float32, True, True),
    (RecurrentConfig(kind="RNN", nonlinearity="relu", hidden_size=3), torch.float64, False, False),
])
def test_snippet_runs_and_prints_the_same_numbers(cfg, dtype, hx, batch):
    m = build(cfg, seed=3, dtype=dtype)
    x = random_input((6, cfg.input_size), 1, dtype=dtype)
    x = batch_of_one(x, cfg.batch_first) if batch else x
    t = trace_recurrent(m, x, random_state(m, 1 if batch else None, 2) if hx else None)
    code = snippet(cfg, t)
    assert "layer.eval()" in code if cfg.dropout else "layer.eval()" not in code
    printed, (output, h_n) = _run(code)
    # the same weights and input; only the summation order of another process's kernels may differ
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    assert output == pytest.approx(t.output.double().flatten().tolist(), abs=tol)
    assert h_n == pytest.approx(t.h_n.double().flatten().tolist(), abs=tol)
    assert f"output {tuple(t.output.shape)}" in printed and f"h_n {tuple(t.h_n.shape)}" in printed


def test_large_layers_rebuild_weights_and_a_random_input_from_the_seed():
    cfg = RecurrentConfig(kind="LSTM", input_size=8, hidden_size=48, num_layers=2, batch_first=True)
    m = build(cfg, seed=11, dtype=torch.float64)
    assert sum(p.numel() for p in m.parameters()) > LITERAL_LIMIT
    x = batch_of_one(random_input((300, 8), 5, dtype=torch.float64), True)
    t = trace_recurrent(m, x)
    code = snippet(cfg, t, seed=11, x_code=random_input_code((300, 8), 5, torch.float64, True))
    assert len(code) < 2000 and "manual_seed(11)" in code and "copy_" not in code
    _, (output, h_n) = _run(code)
    assert output == pytest.approx(t.output.double().flatten().tolist(), abs=1e-12)
    assert h_n == pytest.approx(t.h_n.double().flatten().tolist(), abs=1e-12)
