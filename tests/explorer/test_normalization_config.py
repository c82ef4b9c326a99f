"""Widget values -> normalization layers, traces after a training run, and snippets that print the same numbers."""
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from explorer import ExplorerError, trace_norm
from explorer.examples import normalization as ex
from explorer.normalization_config import NormConfig, build_norm, constructor_code, run_norm, snippet
from explorer.normalization_steps import similar_batches


@pytest.mark.parametrize("cfg, shape, expected", [
    (NormConfig(), (2, 3), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                           "track_running_stats=True)"),
    (NormConfig(momentum=None, eps=0.1, bias=False), (2, 3, 4),
     "BatchNorm1d(3, eps=0.1, momentum=None, affine=True, bias=False, track_running_stats=True)"),
    (NormConfig(affine=False, track_running_stats=False), (2, 3, 4, 4),
     "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"),
    (NormConfig(kind="InstanceNorm", affine=False, track_running_stats=False), (2, 3, 5),
     "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"),
    (NormConfig(kind="InstanceNorm", affine=True, track_running_stats=True), (2, 3, 4, 4),
     "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"),
    (NormConfig(kind="LayerNorm", normalized_dims=2, bias=False), (2, 3, 4), "LayerNorm((3, 4), eps=1e-05, "
                                                                          "elementwise_affine=True, bias=False)"),
    (NormConfig(kind="GroupNorm", num_groups=3, eps=0.01, bias=False), (2, 6, 2),
     "GroupNorm(3, 6, eps=0.01, affine=True, bias=False)"),
    (NormConfig(kind="RMSNorm", eps=None, normalized_dims=1), (2, 5), "RMSNorm((5,), eps=None, "
                                                                      "elementwise_affine=True)"),
])
def test_build_gives_the_torch_layer_the_controls_describe(cfg, shape, expected):
    m = build_norm(cfg, shape)
    assert repr(m) == expected
    # and the constructor source in the snippet builds the very same layer
    rebuilt = eval(constructor_code(m), {"nn": nn, "torch": torch})
    assert repr(rebuilt) == repr(m)
    assert [n for n, _ in rebuilt.named_parameters()] == [n for n, _ in m.named_parameters()]


def test_layernorm_without_bias_has_no_beta_in_the_code_either():
    m = build_norm(NormConfig(kind="LayerNorm", normalized_dims=1, bias=False), (2, 4))
    assert m.bias is None and "bias=False" in constructor_code(m)


def test_affine_inits():
    shape = (2, 4, 3)
    plain = build_norm(NormConfig(affine_init="default"), shape)
    assert plain.weight.tolist() == [1.0] * 4 and plain.bias.tolist() == [0.0] * 4
    counting = build_norm(NormConfig(affine_init="counting"), shape)
    assert counting.weight.tolist() == [1, 2, 3, 4] and counting.bias.tolist() == [-1, -2, -3, -4]
    state = torch.random.get_rng_state()
    a, b = build_norm(NormConfig(), shape, seed=3), build_norm(NormConfig(), shape, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())           # a private generator only
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, build_norm(NormConfig(), shape, 4).weight)
    assert [round(v, 2) for v in a.weight.tolist()] == a.weight.tolist()   # two decimals, readable
    assert float(a.running_mean.abs().max()) == 0.0 and a.running_var.tolist() == [1.0] * 4


@pytest.mark.parametrize("cfg, shape, message", [
    (NormConfig(kind="InstanceNorm"), (2, 3), "has none: use an (N, C, L)"),
    (NormConfig(affine_init="ones"), (2, 3), "Unknown γ/β choice"),
    (NormConfig(eps=None), (2, 3), "RMSNorm's option"),
    (NormConfig(kind="GroupNorm", num_groups=4), (2, 6, 3), "cannot be split into 4 equal groups"),
    (NormConfig(momentum=-0.1), (2, 3), "between 0 and 1"),
])
def test_invalid_settings_explain_themselves(cfg, shape, message):
    with pytest.raises(ExplorerError) as err:
        build_norm(cfg, shape)
    assert message in str(err.value)


@pytest.mark.parametrize("batches", [0, 51])
def test_number_of_training_batches_is_bounded(batches):
    with pytest.raises(ExplorerError, match="Train on 1 to 50 batches"):
        run_norm(NormConfig(batches=batches), torch.zeros(2, 3))


def test_without_running_stats_the_trace_is_the_layer_on_x():
    x = ex.random_input((3, 4, 2, 2), 1)
    t, run = run_norm(NormConfig(kind="GroupNorm"), x, seed=1)
    assert run is None
    with torch.no_grad():
        assert torch.equal(t.output, build_norm(NormConfig(kind="GroupNorm"), x.shape, seed=1)(x))


@pytest.mark.parametrize("train", [True, False])
def test_with_running_stats_the_layer_first_trains_on_batches_like_x(train):
    x = ex.random_input((4, 3, 5), 2, channel_step=2.0).float()
    cfg = NormConfig(train=train, batches=4, momentum=0.3)
    t, run = run_norm(cfg, x, seed=2)
    # the same by hand: a torch layer fed the documented batches (seed + 1), then x in cfg's mode
    layer = build_norm(cfg, x.shape, seed=2, dtype=torch.float32).train()
    batches, _, _ = similar_batches(x, 4, 3)
    with torch.no_grad():
        for b in batches:
            layer(b)
        assert torch.equal(t.running_mean_before, layer.running_mean)
        assert t.num_batches_tracked_before == 4 and len(run.traces) == 4
        expected = layer.train(train)(x)
    assert torch.equal(t.output, expected) and t.uses_batch_stats == train
    assert t.module.training == train


CASES = [  # (config, input shape, dtype, input source)
    (NormConfig(), (4, 3, 2, 2), torch.float32, "random"),
    (NormConfig(train=False, momentum=None, batches=7), (5, 3, 4), torch.float64, "random"),
    (NormConfig(kind="InstanceNorm", affine=True, track_running_stats=True, train=False, affine_init="counting"),
     (3, 2, 4, 4), torch.float32, "random"),
    (NormConfig(kind="LayerNorm", normalized_dims=1, affine_init="counting"), (2, 3), torch.float32, "preset"),
    (NormConfig(kind="GroupNorm", num_groups=2, bias=False), (3, 4, 2, 2), torch.float32, "random"),
    (NormConfig(kind="GroupNorm", num_groups=3, affine=False), (2, 6, 3), torch.float64, "typed"),
    (NormConfig(kind="RMSNorm", eps=None, normalized_dims=2), (2, 3, 4), torch.float32, "random"),
]


@pytest.mark.parametrize("cfg, shape, dtype, source", CASES)
def test_snippet_runs_and_prints_the_same_numbers(cfg, shape, dtype, source):
    if source == "random":
        x, code = ex.random_input(shape, 5, channel_step=1.0), ex.random_input_code(shape, 5, channel_step=1.0)
    elif source == "preset":
        x, code = ex.counting(shape), ex.counting_code(shape)
    else:
        x, code = ex.random_input(shape, 6), None      # typed: written out as a literal
    t, run = run_norm(cfg, x.to(dtype), seed=5)
    text = snippet(t, code, (cfg.batches, 5) if run is not None else None)
    text += ("import json\nrm, rv = getattr(layer, 'running_mean', None), getattr(layer, 'running_var', None)\n"
             "print(json.dumps([y.double().flatten().tolist(), None if rm is None else rm.double().tolist(), "
             "None if rv is None else rv.double().tolist()]))\n")
    out = subprocess.run([sys.executable, "-c", text], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    y, running_mean, running_var = json.loads(lines[-1])
    assert y == t.output.double().flatten().tolist()                  # exactly, value for value
    if run is None:
        assert running_mean is None
    else:
        assert running_mean == t.module.running_mean.double().tolist()
        assert running_var == t.module.running_var.double().tolist()
    assert lines[0].startswith("tensor(") or lines[0].startswith("tensor([")   # print(...) output comes first


def test_snippet_statistics_lines_print_the_trace_statistics():
    x = ex.random_input((3, 4, 2), 8)
    for cfg in (NormConfig(track_running_stats=False), NormConfig(kind="GroupNorm"),
                NormConfig(kind="LayerNorm", normalized_dims=1), NormConfig(kind="RMSNorm", normalized_dims=2)):
        t, _ = run_norm(cfg, x, seed=0)
        body = snippet(t).split("print(y)\n")[1]
        printed = []
        scope = {"torch": torch, "x": x, "print": printed.append}
        exec(body, scope)
        mean_or_square = printed[0]
        expected = t.var if t.kind == "rms" else t.mean
        assert torch.allclose(mean_or_square.reshape(-1), expected.reshape(-1), atol=1e-12)
        if t.kind != "rms":
            assert torch.allclose(printed[1].reshape(-1), t.var.reshape(-1), atol=1e-12)
    eval_trace = trace_norm(nn.BatchNorm1d(4).double().eval(), x)
    assert "print(layer.running_mean)" in snippet(eval_trace)
