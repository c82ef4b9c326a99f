"""Widget values -> modules: every invalid combination gets a sentence, valid ones build."""
import subprocess
import sys

import pytest
import torch
from torch import nn

from explorer import ExplorerError, trace_conv
from explorer.conv_config import ConvConfig, build_conv, snippet, validate


@pytest.mark.parametrize("cfg, message", [
    (ConvConfig(kind="Conv3d"), "Unknown layer kind"),
    (ConvConfig(in_channels=3, groups=2), "must divide both"),
    (ConvConfig(padding="same", stride=2), "Set stride to 1"),
    (ConvConfig(kind="ConvTranspose2d", padding="same"), "takes a number for padding"),
    (ConvConfig(kind="ConvTranspose2d", stride=2, output_padding=2), "output_padding"),
    (ConvConfig(kind="ConvTranspose1d", padding_mode="reflect"), "only supports padding_mode='zeros'"),
    (ConvConfig(padding=-1), "cannot be negative"),
    (ConvConfig(padding="full"), "must be a number"),
    (ConvConfig(kernel_size=0), "kernel_size must be at least 1"),
    (ConvConfig(padding_mode="mirror"), "padding_mode must be one of"),
])
def test_invalid_configs_explain_themselves(cfg, message):
    with pytest.raises(ExplorerError, match=message):
        validate(cfg)


def test_torch_agrees_the_rejected_configs_are_invalid():
    # every rejection above mirrors a ValueError/RuntimeError torch itself raises
    with pytest.raises(ValueError):
        nn.Conv2d(3, 1, 3, groups=2)
    with pytest.raises(ValueError):
        nn.Conv2d(1, 1, 3, padding="same", stride=2)
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")


def test_build_copies_the_kernel_into_every_slice():
    cfg = ConvConfig(in_channels=2, out_channels=3, kernel_size=2, bias=True)
    k = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = build_conv(cfg, kernel=k, bias=torch.tensor([0.5]))
    assert m.weight.shape == (3, 2, 2, 2)
    assert torch.equal(m.weight.detach(), k.expand(3, 2, 2, 2))
    assert m.bias.detach().tolist() == [0.5, 0.5, 0.5]


def test_build_rejects_a_kernel_of_the_wrong_size():
    with pytest.raises(ExplorerError, match=r"needs \(3, 3\)"):
        build_conv(ConvConfig(kernel_size=3), kernel=torch.ones(2, 2))


def test_seeded_init_is_reproducible_and_within_torch_bounds():
    cfg = ConvConfig(in_channels=2, out_channels=4, kernel_size=3)
    a, b = build_conv(cfg, seed=7), build_conv(cfg, seed=7)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert not torch.equal(a.weight, build_conv(cfg, seed=8).weight)
    bound = 1 / (2 * 3 * 3) ** 0.5  # 1/sqrt(fan_in), fan_in = in_channels * k * k
    assert float(a.weight.detach().abs().max()) <= bound


def test_seeded_init_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    build_conv(ConvConfig(), seed=3)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("cfg, dtype", [
    (ConvConfig(kind="Conv2d", in_channels=2, out_channels=2, groups=2, padding="same", dilation=2), torch.float32),
    (ConvConfig(kind="ConvTranspose1d", stride=2, output_padding=1, padding=1), torch.float64),
    (ConvConfig(kind="Conv1d", padding=2, padding_mode="circular"), torch.float32),
    (ConvConfig(kind="Conv2d", in_channels=3, out_channels=2), torch.float32),  # 3x40x40: a bytes literal
])
def test_snippet_runs_and_prints_the_same_numbers(cfg, dtype):
    m = build_conv(cfg, seed=1, dtype=dtype)
    shape = (1, cfg.in_channels) + (((40, 40) if cfg.in_channels == 3 else (6, 5)) if cfg.dims == 2 else (7,))
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2), dtype=dtype)
    t = trace_conv(m, x)
    code = snippet(cfg, t) + "import json\nprint(json.dumps(y.detach().double().flatten().tolist()))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    import json
    values = json.loads(out.stdout.strip().splitlines()[-1])
    assert values == t.output.double().flatten().tolist()
