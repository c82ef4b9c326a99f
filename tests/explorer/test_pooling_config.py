"""Pooling and upsampling configs: constructor arguments, refused settings, and snippets that run."""
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from explorer import ExplorerError, trace_pool, trace_upsample
from explorer.pooling_config import (POOL_KINDS, PoolConfig, UpsampleConfig, build_pool, build_upsample,
                                     pool_snippet, unpool_code, upsample_snippet, validate_pool,
                                     validate_upsample)


def test_each_kind_gets_only_the_arguments_it_takes():
    # every kind is built with all fields set away from their defaults: nothing foreign may leak in
    busy = dict(kernel_size=3, stride=1, padding=1, dilation=2, ceil_mode=True, return_indices=True,
                count_include_pad=False, divisor_override=5, norm_type=3.0, output_size=(3, 2))
    for kind, cls in POOL_KINDS.items():
        m = build_pool(PoolConfig(kind=kind, **busy))
        assert type(m) is cls
    assert PoolConfig(kind="MaxPool2d", **busy).kwargs() == dict(kernel_size=3, stride=1, padding=1, dilation=2,
                                                                 return_indices=True, ceil_mode=True)
    assert PoolConfig(kind="AvgPool1d", **busy).kwargs() == dict(kernel_size=3, stride=1, padding=1, ceil_mode=True,
                                                                 count_include_pad=False)  # no divisor_override in 1D
    assert PoolConfig(kind="AvgPool2d", **busy).kwargs()["divisor_override"] == 5
    assert PoolConfig(kind="LPPool2d", **busy).kwargs() == dict(norm_type=3.0, kernel_size=3, stride=1, ceil_mode=True)
    assert PoolConfig(kind="AdaptiveMaxPool2d", **busy).kwargs() == dict(output_size=(3, 2), return_indices=True)
    assert PoolConfig(kind="AdaptiveAvgPool1d", **busy).kwargs() == dict(output_size=3)


def test_code_is_the_constructor_call():
    assert PoolConfig().code() == "nn.MaxPool2d(kernel_size=2, stride=2)"
    assert PoolConfig(kind="LPPool1d", norm_type=2.0, kernel_size=3, stride=3).code() == \
        "nn.LPPool1d(norm_type=2.0, kernel_size=3, stride=3)"
    assert unpool_code(PoolConfig(kernel_size=3, stride=2, padding=1)) == "nn.MaxUnpool2d(kernel_size=3, stride=2, padding=1)"
    assert UpsampleConfig().code() == "nn.Upsample(scale_factor=2.0, mode='bilinear', align_corners=False)"
    assert UpsampleConfig(dims=1, mode="nearest", align_corners=True).code() == \
        "nn.Upsample(scale_factor=2.0, mode='nearest')"  # nearest takes no align_corners


@pytest.mark.parametrize("cfg, message", [
    (PoolConfig(kind="MaxPool3d"), "Unknown layer kind"),
    (PoolConfig(kernel_size=2, padding=2), "pooling allows 0 to half the kernel"),
    (PoolConfig(kind="AvgPool2d", kernel_size=3, padding=-1), "pooling allows 0 to half the kernel"),
    (PoolConfig(stride=0), "stride must be at least 1"),
    (PoolConfig(kernel_size=0), "kernel_size must be at least 1"),
    (PoolConfig(kind="LPPool2d", norm_type=0.0), "norm_type"),
    (PoolConfig(kind="AvgPool2d", divisor_override=-2), "divisor_override"),
    (PoolConfig(kind="AdaptiveAvgPool2d", output_size=(0, 2)), "output_size"),
    (PoolConfig(kind="AdaptiveAvgPool2d", output_size=(2,)), "output_size needs 2"),
])
def test_invalid_pool_configs_explain_themselves(cfg, message):
    with pytest.raises(ExplorerError, match=message):
        validate_pool(cfg)


def test_torch_refuses_what_we_refuse():
    # the padding rule and the norm_type rule mirror torch's own refusals at forward time
    with pytest.raises(RuntimeError):
        nn.MaxPool2d(2, padding=2)(torch.zeros(1, 1, 6, 6))
    with pytest.raises((RuntimeError, ZeroDivisionError)):
        nn.LPPool2d(0.0, 2)(torch.ones(1, 1, 4, 4))


@pytest.mark.parametrize("cfg, message", [
    (UpsampleConfig(dims=1, mode="bilinear"), "does not work on a 1D input"),
    (UpsampleConfig(dims=2, mode="linear"), "does not work on a 2D input"),
    (UpsampleConfig(dims=3, mode="nearest"), "1D or 2D"),
    (UpsampleConfig(scale_factor=0.0), "must be positive"),
])
def test_invalid_upsample_configs_explain_themselves(cfg, message):
    with pytest.raises(ExplorerError, match=message):
        validate_upsample(cfg)


def test_build_upsample_can_override_align_corners():
    cfg = UpsampleConfig(mode="bicubic", align_corners=False)
    assert build_upsample(cfg).align_corners is False
    assert build_upsample(cfg, align_corners=True).align_corners is True
    assert build_upsample(UpsampleConfig(mode="nearest"), align_corners=True).align_corners is None


def _run(code):
    """Run a snippet plus a line that prints `what` as JSON; return the parsed value."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in out.stdout.strip().splitlines() if line.startswith("[")]


def _x(shape, dtype, seed=2):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("cfg, shape, dtype", [
    (PoolConfig(kind="MaxPool2d", kernel_size=3, stride=2, padding=1, return_indices=True), (1, 2, 7, 6),
     torch.float32),
    (PoolConfig(kind="MaxPool1d", kernel_size=2, stride=2, ceil_mode=True, return_indices=True), (1, 1, 7),
     torch.float64),
    (PoolConfig(kind="AvgPool2d", kernel_size=3, stride=2, padding=1, count_include_pad=False, divisor_override=4),
     (1, 1, 5, 5), torch.float32),
    (PoolConfig(kind="AdaptiveMaxPool2d", output_size=(3, 2), return_indices=True), (1, 1, 5, 4), torch.float32),
    (PoolConfig(kind="LPPool1d", norm_type=3.0, kernel_size=2, stride=1), (1, 1, 6), torch.float64),
])
def test_pool_snippet_runs_and_prints_the_same_numbers(cfg, shape, dtype):
    x = _x(shape, dtype)
    t = trace_pool(build_pool(cfg), x.abs() if cfg.family == "lp" else x)  # odd p of a negative sum is NaN
    code = pool_snippet(cfg, t)
    extra = ["import json", "print(json.dumps(y.double().flatten().tolist()))"]
    if cfg.return_indices:
        extra.append("print(json.dumps(indices.flatten().tolist()))")
        if not cfg.adaptive:
            extra.append(f"print(json.dumps(unpool(y, indices, output_size=x.shape[-{cfg.dims}:]).double().flatten()"
                         ".tolist()))")
    printed = _run(code + "\n".join(extra) + "\n")
    assert printed[0] == t.output.double().flatten().tolist()
    if cfg.return_indices:
        assert printed[1] == t.argmax.flatten().tolist()
    if cfg.return_indices and not cfg.adaptive:  # MaxUnpool puts every max back, zeros elsewhere
        assert printed[2] == t.unpool().double().flatten().tolist()


@pytest.mark.parametrize("cfg, shape, dtype", [
    (UpsampleConfig(dims=2, mode="bilinear", scale_factor=2.0, align_corners=False), (1, 1, 3, 2), torch.float32),
    (UpsampleConfig(dims=2, mode="bicubic", scale_factor=1.5, align_corners=True), (1, 2, 4, 4), torch.float64),
    (UpsampleConfig(dims=1, mode="nearest-exact", scale_factor=2.5), (1, 1, 4), torch.float32),
])
def test_upsample_snippet_runs_and_prints_the_same_numbers(cfg, shape, dtype):
    t = trace_upsample(build_upsample(cfg), _x(shape, dtype))
    code = upsample_snippet(cfg, t) + "import json\nprint(json.dumps(y.double().flatten().tolist()))\n"
    assert _run(code)[0] == t.output.double().flatten().tolist()
