"""Building-block configs -> real layers; parameter counts; the page's snippets run and print the same numbers."""
import json
import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from explorer import ExplorerError
from explorer.basic import apply_temperature, trace_activation, trace_dropout, trace_embedding, trace_linear
from explorer.basic_config import (ActivationConfig, DropoutConfig, EmbeddingConfig, LinearConfig,
                                   activation_snippet, build_activation, build_embedding, build_linear,
                                   dropout_snippet, embedding_snippet, linear_config_of, linear_snippet,
                                   parameter_count)
from explorer.examples import basic as ex


def _run(code, *exprs):
    """Run a snippet in a fresh interpreter, then print each expression as JSON; return them."""
    dump = "".join(f"print('@@' + __import__('json').dumps(({e}).detach().double().tolist()))\n" for e in exprs)
    out = subprocess.run([sys.executable, "-c", code + dump], capture_output=True, text=True, timeout=180,
                         check=True).stdout
    return [json.loads(line[2:]) for line in out.splitlines() if line.startswith("@@")]


def test_parameter_counts_by_hand():
    # Linear(4, 3): 4*3 weights + 3 biases = 15; Bilinear(2, 3, 4): 2*3*4 = 24 weights + 4 = 28;
    # Embedding(10, 4): 40, no bias
    assert parameter_count(nn.Linear(4, 3)) == (15, "4 × 3 weights + 3 biases = 15")
    assert parameter_count(nn.Linear(4, 3, bias=False)) == (12, "4 × 3 weights (no bias) = 12")
    assert parameter_count(nn.Bilinear(2, 3, 4)) == (28, "2 × 3 × 4 weights + 4 biases = 28")
    assert parameter_count(nn.Embedding(10, 4)) == (40, "10 rows × 4 = 40 (no bias)")
    for m in (nn.Linear(7, 5), nn.Bilinear(3, 2, 6, bias=False), nn.Embedding(9, 3)):
        assert parameter_count(m)[0] == sum(p.numel() for p in m.parameters())


def test_configs_build_the_layers_they_describe():
    m = build_linear(LinearConfig("Bilinear", 3, 2, 5, False), seed=1)
    assert isinstance(m, nn.Bilinear) and m.weight.shape == (5, 3, 2) and m.bias is None
    assert linear_config_of(m) == LinearConfig("Bilinear", 3, 2, 5, False)
    assert linear_config_of(nn.Linear(6, 2)).code() == "nn.Linear(6, 2)"
    e = build_embedding(EmbeddingConfig(12, 3, padding_idx=4, max_norm=2.0, norm_type=1.0), seed=2)
    assert (e.num_embeddings, e.embedding_dim, e.padding_idx, e.max_norm, e.norm_type) == (12, 3, 4, 2.0, 1.0)
    assert e.weight[4].tolist() == [0.0, 0.0, 0.0]
    assert EmbeddingConfig(12, 3, 4, 2.0, 1.0).code() == "nn.Embedding(12, 3, padding_idx=4, max_norm=2.0, norm_type=1.0)"
    assert isinstance(build_activation(ActivationConfig("GELU (tanh)")), nn.GELU)
    assert build_activation(ActivationConfig("Softplus", beta=2.0, threshold=5.0)).beta == 2.0
    assert DropoutConfig(0.3).code() == "nn.Dropout(p=0.3)"


@pytest.mark.parametrize("build, message", [
    (lambda: build_linear(LinearConfig("Trilinear")), "Unknown layer kind"),
    (lambda: build_linear(LinearConfig(in_features=0)), "in_features must be a whole number from 1"),
    (lambda: build_embedding(EmbeddingConfig(norm_type=0.0)), "norm_type must be a positive number"),
    (lambda: build_embedding(EmbeddingConfig(num_embeddings=5, padding_idx=7)), "padding_idx 7 is not a row"),
    (lambda: build_activation(ActivationConfig("Softplus", beta=0.0)), "beta = 0"),
    (lambda: build_activation(ActivationConfig("Mish")), "Unknown activation"),
])
def test_invalid_configs_explain_themselves(build, message):
    with pytest.raises(ExplorerError, match=message):
        build()


@pytest.mark.parametrize("cfg, lead, dtype", [
    (LinearConfig("Linear", 5, 3, 4, True), (3,), torch.float64),
    (LinearConfig("Linear", 3, 3, 2, False), (), torch.float32),
    (LinearConfig("Bilinear", 3, 2, 2, True), (2,), torch.float64),
])
def test_linear_snippet_prints_the_same_numbers(cfg, lead, dtype):
    m = build_linear(cfg, seed=3, dtype=dtype)
    x = ex.random_values(lead + (cfg.in_features,), 4).to(dtype)
    inputs = (x, ex.random_values(lead + (cfg.in2_features,), 5).to(dtype)) if cfg.kind == "Bilinear" else (x,)
    t = trace_linear(m, *inputs)
    (y,) = _run(linear_snippet(cfg, t), "y")
    assert y == t.output.double().tolist()                                   # the very same numbers


def test_linear_preset_snippet():
    m, inputs = ex.linear_preset("mix 3→2")
    t = trace_linear(m, *inputs)
    (y,) = _run(linear_snippet(linear_config_of(m), t), "y")
    assert y == [1.0, 4.0]                                                   # (2 - 1, 1 + 2 + 1), by hand


@pytest.mark.parametrize("cfg", [EmbeddingConfig(), EmbeddingConfig(max_norm=1.0),
                                 EmbeddingConfig(20, 3, None, 0.5, 1.0)])
def test_embedding_snippet_starts_from_the_table_before_the_lookup(cfg):
    m = build_embedding(cfg, seed=6)
    ids = ex.parse_ids(ex.SENTENCE if cfg.num_embeddings == 10 else "3 19 3 0", cfg.num_embeddings, vocab=ex.VOCAB)
    t = trace_embedding(m, ids)
    code = embedding_snippet(cfg, t)
    y, table = _run(code, "y", "layer.weight")
    assert y == t.output.tolist()
    assert table == t.table.tolist()                                         # the same in-place change as ours
    if cfg.max_norm is not None:
        assert bool(t.renormalized.any())                                    # the snippet really rescales rows
        assert "layer.weight[" in code


@pytest.mark.parametrize("cfg, seed, x", [
    (DropoutConfig(0.5, True), ex.NOTES_DROPOUT_SEED, torch.tensor(ex.NOTES_DROPOUT_INPUT)),
    (DropoutConfig(0.3, True), 11, ex.random_values((4, 6), 2)),
    (DropoutConfig(0.5, False), 3, torch.tensor(ex.NOTES_DROPOUT_INPUT, dtype=torch.float64)),
])
def test_dropout_snippet_draws_the_page_mask_with_the_real_module(cfg, seed, x):
    t = trace_dropout(ex.dropout_layer(cfg.p, training=cfg.training), x, seed=seed)
    (y,) = _run(dropout_snippet(cfg, t), "y")
    assert y == t.output.double().tolist()
    if seed == ex.NOTES_DROPOUT_SEED:
        assert y == [2.0, 0.0, 0.0, 8.0, 0.0]                                # the notes' numbers


@pytest.mark.parametrize("cfg, dtype", [
    (ActivationConfig("GELU"), torch.float64), (ActivationConfig("LeakyReLU", negative_slope=0.2), torch.float32),
    (ActivationConfig("Softplus", beta=2.0, threshold=3.0), torch.float64),
    (ActivationConfig("Softmax", temperature=0.5), torch.float64), (ActivationConfig("Softmax"), torch.float32),
])
def test_activation_snippet_prints_values_and_slopes(cfg, dtype):
    x = ex.parse_values(ex.SOFTMAX_INPUT if cfg.name == "Softmax" else ex.ACTIVATION_INPUT).to(dtype)
    module = build_activation(cfg)
    t = trace_activation(module, apply_temperature(x, cfg.temperature) if cfg.name == "Softmax" else x)
    code = activation_snippet(cfg, x)
    y, slope = _run(code, "y", "J.diagonal()" if cfg.name == "Softmax" else "slope")
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert y == pytest.approx(t.output.double().tolist(), abs=tol)
    assert slope == pytest.approx(t.derivative.double().tolist(), abs=tol)
    if cfg.name == "Softmax" and cfg.temperature == 0.5:
        # x / T = [4, 2, 0.2]: e^0 : e^-2 : e^-3.8 normalized
        e = [1.0, math.exp(-2), math.exp(-3.8)]
        assert y == pytest.approx([v / sum(e) for v in e], abs=1e-12)
