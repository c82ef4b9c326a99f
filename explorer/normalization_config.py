"""Widget values -> a real normalization layer, its trace, and the PyTorch source that rebuilds both.

A layer that keeps running statistics (BatchNorm, InstanceNorm with track_running_stats=True) first
sees `batches` training batches drawn like the input, so eval mode has real running statistics to
use and train mode shows where this batch moves them:

    running = (1 - m) * running + m * batch        (m = momentum, or 1/k when momentum is None)
"""
from dataclasses import dataclass
from typing import Optional

import torch

from .errors import ExplorerError
from .examples.normalization import KINDS, make_layer
from .normalization import trace_norm
from .normalization_steps import similar_batches, train_then_eval

AFFINE_INITS = {"random": "random (from the seed)", "default": "torch's default: γ = 1, β = 0",
                "counting": "counting: γ = 1, 2, 3, …; β = −1, −2, −3, …"}
# torch's own constructor defaults differ per layer; the page starts every layer from them
DEFAULTS = {
    "BatchNorm": dict(affine=True, track_running_stats=True),
    "InstanceNorm": dict(affine=False, track_running_stats=False),
    "LayerNorm": dict(affine=True), "GroupNorm": dict(affine=True), "RMSNorm": dict(affine=True),
}
MAX_BATCHES = 50


@dataclass(frozen=True)
class NormConfig:
    """The constructor arguments (and mode) the Normalization page exposes."""
    kind: str = "BatchNorm"          # one of KINDS; 1d/2d follows the input's dims
    train: bool = True               # Batch/InstanceNorm: layer.train() or layer.eval()
    eps: Optional[float] = 1e-5      # None: RMSNorm's default, the dtype's machine epsilon
    momentum: Optional[float] = 0.1  # None: cumulative average of every batch so far
    affine: bool = True              # affine (Batch/Instance/GroupNorm) or elementwise_affine (Layer/RMSNorm)
    bias: bool = True                # bias=False: gamma without beta (not RMSNorm, which has none)
    track_running_stats: bool = True  # Batch/InstanceNorm
    num_groups: int = 2              # GroupNorm
    normalized_dims: int = 3         # LayerNorm/RMSNorm: normalize over the last k dims of the input
    affine_init: str = "random"      # a key of AFFINE_INITS
    batches: int = 5                 # training batches seen before this input, when running stats are kept

    @property
    def keeps_running_stats(self):
        return self.kind in ("BatchNorm", "InstanceNorm") and self.track_running_stats


def build_norm(cfg, shape, seed=0, dtype=torch.float64):
    """A real torch layer for `cfg` that fits an input of `shape`; gamma/beta as cfg.affine_init says,
    running statistics at torch's defaults (0 and 1)."""
    if cfg.affine_init not in AFFINE_INITS:
        raise ExplorerError(f"Unknown γ/β choice {cfg.affine_init!r}; choose one of {', '.join(AFFINE_INITS)}.")
    if cfg.kind == "InstanceNorm" and len(shape) < 3:
        raise ExplorerError("InstanceNorm averages each (sample, channel) over its positions, and an (N, C) input "
                            "has none: use an (N, C, L) or (N, C, H, W) input.")
    layer = make_layer(cfg.kind, shape, num_groups=int(cfg.num_groups), normalized_dims=int(cfg.normalized_dims),
                       eps=cfg.eps, momentum=cfg.momentum, affine=cfg.affine, bias=cfg.bias,
                       track_running_stats=cfg.track_running_stats if cfg.kind in ("BatchNorm", "InstanceNorm")
                       else None, train=cfg.train, dtype=dtype)
    _init_affine(layer, cfg.affine_init, seed)
    return layer


def _init_affine(layer, how, seed):
    """gamma/beta: seeded normal numbers (2 decimals), torch's ones/zeros, or 1, 2, 3 / -1, -2, -3."""
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if how == "random":
                noise = torch.round(50 * torch.randn(p.shape, generator=g, dtype=p.dtype)) / 100   # N(0, 0.5)
                p.copy_(noise + 1.0 if name == "weight" else noise)
            elif how == "counting":
                steps = torch.arange(1, p.numel() + 1, dtype=p.dtype).view(p.shape)
                p.copy_(steps if name == "weight" else -steps)


def run_norm(cfg, x, seed=0):
    """The page's trace of `cfg` on x, and the training run before it (None without running stats).

    With running statistics, the layer first sees `cfg.batches` batches drawn around x's own
    per-channel mean and std (seeded by seed + 1); the returned trace is x in cfg's mode after them.
    """
    if cfg.batches < 1 or cfg.batches > MAX_BATCHES:
        raise ExplorerError(f"Train on 1 to {MAX_BATCHES} batches; got {cfg.batches}.")
    layer = build_norm(cfg, tuple(x.shape), seed=seed, dtype=x.dtype)
    if not cfg.keeps_running_stats:
        return trace_norm(layer, x), None
    batches, mean, var = similar_batches(x, int(cfg.batches), int(seed) + 1)
    run = train_then_eval(layer, batches, x_eval=x, population_mean=mean, population_var=var)
    return (run.train_trace if cfg.train else run.eval_trace), run


def constructor_code(module):
    """The constructor call that builds a layer like `module`, as Python source."""
    name = type(module).__name__
    # bias= only matters with an affine: then bias=False keeps gamma and drops beta
    has_gamma = getattr(module, "weight", None) is not None and name != "RMSNorm"
    bias = f", bias={module.bias is not None}" if has_gamma else ""
    if name.startswith(("BatchNorm", "InstanceNorm")):
        return (f"nn.{name}({module.num_features}, eps={module.eps!r}, momentum={module.momentum!r}, "
                f"affine={module.affine}{bias}, track_running_stats={module.track_running_stats})")
    if name == "GroupNorm":
        return (f"nn.GroupNorm({module.num_groups}, {module.num_channels}, eps={module.eps!r}, "
                f"affine={module.affine}{bias})")
    shape = list(module.normalized_shape)
    if name == "LayerNorm":
        return f"nn.LayerNorm({shape}, eps={module.eps!r}, elementwise_affine={module.elementwise_affine}{bias})"
    return f"nn.RMSNorm({shape}, eps={module.eps!r}, elementwise_affine={module.elementwise_affine})"


def statistics_code(trace):
    """Lines that print the statistics the layer normalizes with, written out with plain torch ops."""
    if not trace.uses_batch_stats:
        return ["# eval mode: the layer normalizes with its running statistics",
                "print(layer.running_mean)", "print(layer.running_var)"]
    if trace.kind == "group":
        return [f"groups = x.view({trace.x.shape[0]}, {trace.num_groups}, -1)  # (N, G, C/G * positions)",
                "print(groups.mean(dim=-1))", "print(groups.var(dim=-1, correction=0))  # biased, as used"]
    dims = tuple(trace.reduced_dims)
    if trace.kind == "rms":
        return [f"print((x * x).mean(dim={dims}))  # mean square over the normalized dims"]
    return [f"print(x.mean(dim={dims}))", f"print(x.var(dim={dims}, correction=0))  # biased, as used"]


def replay_code(trace, batches, seed):
    """Lines that train the layer on the same `batches` batches run_norm drew (seed + 1), around x's
    own per-channel mean and std: the very same ops, so the running statistics match to the bit."""
    dims = (0,) + tuple(range(2, trace.x.dim()))
    view = (1, -1) + (1,) * (trace.x.dim() - 2)
    return [f"# first the layer trains on {batches} batches drawn around x's own per-channel mean and std",
            f"var, mean = torch.var_mean(x, dim={dims}, correction=0)",
            f"g = torch.Generator().manual_seed({int(seed) + 1})",
            "layer.train()",
            "with torch.no_grad():",
            f"    for _ in range({batches}):",
            f"        layer(mean.view{view} + var.sqrt().view{view}"
            " * torch.randn(x.shape, generator=g, dtype=x.dtype))",
            "print(layer.running_mean)  # the running statistics this input meets",
            "print(layer.running_var)"]


def snippet(trace, x_code=None, replay=None):
    """A runnable script: this exact layer and input, its output, the statistics it used and, when
    they move, its running statistics afterwards.

    Args:
        trace: the page's NormTrace.
        x_code: source that builds `x` in float64 (default: a literal of trace.x).
        replay: (batches, seed) of run_norm's training run, replayed so the running statistics
            match; None when the layer keeps none.
    """
    from .snippets import module_snippet, tensor_literal
    module = trace.module
    lines = []
    if trace.x.dtype == torch.float64 and not list(module.parameters()):
        lines.append("layer = layer.double()")
    if x_code is None:
        lines.append(f"x = {tensor_literal(trace.x)}")
    else:
        lines += x_code.splitlines()
        if trace.x.dtype == torch.float32:
            lines.append("x = x.float()")
    replayed = replay is not None and trace.running_mean_before is not None
    if replayed:
        lines += replay_code(trace, *replay)                                  # leaves the layer in train mode
    if trace.kind in ("batch", "instance") and not (replayed and module.training):
        lines.append("layer.train()" if module.training else "layer.eval()")
    lines += ["with torch.no_grad():", "    y = layer(x)", "print(y)"]
    lines += statistics_code(trace)
    if trace.update_factor is not None:
        lines += ["# this train-mode forward moved the running statistics once more:",
                  "print(layer.running_mean)", "print(layer.running_var)"]
    return module_snippet(constructor_code(module), module, extra_lines=lines)


__all__ = ["NormConfig", "AFFINE_INITS", "DEFAULTS", "KINDS", "build_norm", "run_norm", "constructor_code",
           "snippet"]
