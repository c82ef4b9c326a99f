"""Inputs, layers and the seed notes' common mistakes for the Normalization page."""
import math
import re

import torch
from torch import nn

from ..errors import ExplorerError
from ..normalization import trace_norm
from . import Mistake
from .parse import parse_grid

KINDS = ("BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "RMSNorm")

# the worked examples of the seed notes, as (shape, first value); every one counts up by 1
_PRESETS = {
    "notes: BatchNorm, 1..36 as (3, 3, 4)": (3, 3, 4),
    "notes: LayerNorm, [[1, 2, 3], [4, 5, 6]]": (2, 3),
    "notes: InstanceNorm, 1..24 as (2, 3, 4)": (2, 3, 4),
    "notes: GroupNorm, 1..192 as (2, 6, 4, 4)": (2, 6, 4, 4),
}
PRESETS = tuple(_PRESETS)


MAX_TYPED_VALUES = 4096


def input_preset(name):
    """A seed-notes input: 1, 2, 3, ... laid out in the notes' shape (float64)."""
    shape = _PRESETS[name]
    return counting(shape)


def counting(shape, dtype=torch.float64):
    """1, 2, 3, ... in `shape`: every value says where it sits, handy for reading the statistics."""
    n = torch.Size(shape).numel()
    return torch.arange(1, n + 1, dtype=dtype).view(shape)


def counting_code(shape):
    """Python source that builds counting(shape) as `x`."""
    return f"x = torch.arange(1, {torch.Size(shape).numel()} + 1, dtype=torch.float64).view{tuple(shape)}"


def random_input(shape, seed, *, mean=0.0, std=1.0, channel_step=0.0):
    """Seeded normal input, rounded to 2 decimals so the math panel stays readable.

    x[n, c, ...] = mean + channel_step * c + std * z,  z ~ N(0, 1): with a channel_step, every
    channel sits at its own level, which BatchNorm removes and LayerNorm does not.
    """
    g = torch.Generator().manual_seed(int(seed))
    z = torch.randn(shape, generator=g, dtype=torch.float64)
    offsets = channel_step * _channel_index(shape)
    return torch.round((mean + offsets + std * z) * 100) / 100


def _channel_index(shape):
    """c at every cell of an (N, C, ...) tensor, as float64 shaped (1, C, 1, ...) (zeros below 2 dims)."""
    if len(shape) < 2:
        return torch.zeros(())
    return torch.arange(shape[1], dtype=torch.float64).view([1, -1] + [1] * (len(shape) - 2))


def random_input_code(shape, seed, *, mean=0.0, std=1.0, channel_step=0.0):
    """Python source that builds random_input(...) as `x`, value for value (the same ops in order)."""
    shape = tuple(int(s) for s in shape)
    view = [1, -1] + [1] * (len(shape) - 2)
    offsets = (f"{float(channel_step)!r} * torch.arange({shape[1]}, dtype=torch.float64).view{tuple(view)}"
               if len(shape) >= 2 else f"{float(channel_step)!r} * torch.zeros(())")
    return "\n".join([
        f"g = torch.Generator().manual_seed({int(seed)})",
        f"z = torch.randn({shape}, generator=g, dtype=torch.float64)",
        f"offsets = {offsets}  # channel c sits at {float(mean):g} + {float(channel_step):g}·c",
        f"x = torch.round(({float(mean)!r} + offsets + {float(std)!r} * z) * 100) / 100",
    ])


def parse_shape(text):
    """'2, 3, 4' or '(2, 3, 4)' -> (2, 3, 4): an input shape of 2 to 4 dims, batch and channels first."""
    parts = [p for p in re.split(r"[,\s×x*]+", (text or "").strip().strip("()[]")) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ExplorerError(f"The shape {text[:40]!r} is not a list of whole numbers; type it like 2, 3, 4.") from None
    if not 2 <= len(shape) <= 4:
        raise ExplorerError(f"Give the shape as 2 to 4 whole numbers, (N, C), (N, C, L) or (N, C, H, W); "
                            f"got {len(shape)}.")
    if min(shape) < 1:
        raise ExplorerError(f"Every size in the shape must be at least 1; got {shape}.")
    if math.prod(shape) > MAX_TYPED_VALUES:
        raise ExplorerError(f"The shape {shape} holds {math.prod(shape)} values; type at most {MAX_TYPED_VALUES}.")
    return shape


def typed_input(text, shape_text):
    """Typed numbers (commas, spaces or new lines between them) laid out in row-major order in the typed
    shape, like torch.tensor([...]).view(shape)."""
    shape = parse_shape(shape_text)
    values = parse_grid(re.sub(r"[;\n]", " ", text or ""), name="input values").reshape(-1)
    if values.numel() != math.prod(shape):
        raise ExplorerError(f"You typed {values.numel()} numbers but the shape {shape} holds {math.prod(shape)}: "
                            "type that many numbers or change the shape.")
    return values.view(shape)


def make_layer(kind, shape, *, num_groups=2, normalized_dims=None, eps=1e-5, momentum=0.1, affine=True,
               bias=True, track_running_stats=None, train=True, seed=None, dtype=torch.float64):
    """The layer of `kind` (one of KINDS) that fits a batched input of `shape` (N, C, *positions).

    BatchNorm and InstanceNorm pick 1d/2d/3d from the number of positions dims; LayerNorm and
    RMSNorm normalize over the last `normalized_dims` dims (default: all but the batch dim).
    track_running_stats=None keeps torch's default (True for BatchNorm, False for InstanceNorm).
    `affine` is elementwise_affine for LayerNorm and RMSNorm; `bias=False` keeps γ but drops β
    (every layer but RMSNorm, which has no β); eps=None is
    RMSNorm's default (the dtype's machine epsilon) and is refused by the others.
    With `seed`, gamma, beta and the running statistics are seeded random numbers (2 decimals),
    so eval mode and the affine stage have something to show; without, torch's defaults.

    >>> make_layer("GroupNorm", (2, 6, 4, 4), num_groups=3)
    GroupNorm(3, 6, eps=1e-05, affine=True, bias=True)
    """
    shape = tuple(shape)
    if kind not in KINDS:
        raise ExplorerError(f"Unknown normalization {kind!r}; choose one of {', '.join(KINDS)}.")
    if len(shape) < 2:
        raise ExplorerError(f"Give the input shape with a batch and a channel dim, (N, C, ...); got {shape}.")
    channels, positions = shape[1], len(shape) - 2
    if eps is None and kind != "RMSNorm":
        raise ExplorerError(f"eps=None (the machine epsilon) is RMSNorm's option; {kind} needs a number for eps.")
    if eps is not None and not eps > 0:
        raise ExplorerError(f"eps must be a positive number (it keeps √(var + eps) away from 0); got {eps}.")
    if momentum is not None and not 0 <= momentum <= 1:
        raise ExplorerError(f"momentum must be between 0 and 1 (or None for a cumulative average); got {momentum}.")
    tracked = dict(track_running_stats=track_running_stats) if track_running_stats is not None else {}
    if kind == "BatchNorm":
        cls = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}.get(positions)
        layer = _build(cls, kind, shape, channels, eps=eps, momentum=momentum, affine=affine, bias=bias, **tracked)
    elif kind == "InstanceNorm":
        cls = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}.get(positions)
        layer = _build(cls, kind, shape, channels, eps=eps, momentum=momentum, affine=affine, bias=bias, **tracked)
    elif kind == "GroupNorm":
        if num_groups < 1 or channels % num_groups:
            raise ExplorerError(f"{channels} channels cannot be split into {num_groups} equal groups; "
                                "pick a number of groups that divides the channels.")
        layer = nn.GroupNorm(num_groups, channels, eps=eps, affine=affine, bias=bias)
    else:
        k = len(shape) - 1 if normalized_dims is None else normalized_dims
        if not 1 <= k <= len(shape):
            raise ExplorerError(f"normalized_dims must be between 1 and {len(shape)}; got {k}.")
        if kind == "LayerNorm":
            layer = nn.LayerNorm(shape[-k:], eps=eps, elementwise_affine=affine, bias=bias)
        else:
            layer = nn.RMSNorm(shape[-k:], eps=eps, elementwise_affine=affine)
    layer = layer.to(dtype).train(train)
    if seed is not None:
        _randomize(layer, seed)
    return layer


def _build(cls, kind, shape, channels, **kw):
    if cls is None:
        raise ExplorerError(f"{kind} takes inputs of 3 to 5 dims (N, C, L) ... (N, C, D, H, W)"
                            f"{' or (N, C)' if kind == 'BatchNorm' else ''}; got shape {shape}.")
    return cls(channels, **kw)


def _randomize(layer, seed):
    """Seeded gamma ~ 1 + N(0, 0.5), beta ~ N(0, 0.5), running mean ~ N(0, 1), running var in [0.5, 1.5)."""
    g = torch.Generator().manual_seed(int(seed))

    def rounded(t):
        return torch.round(t * 100) / 100
    with torch.no_grad():
        for name, p in layer.named_parameters():
            noise = 0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype)
            p.copy_(rounded(noise + 1.0 if name == "weight" else noise))
        if getattr(layer, "running_mean", None) is not None:
            layer.running_mean.copy_(rounded(torch.randn(layer.running_mean.shape, generator=g,
                                                         dtype=layer.running_mean.dtype)))
            layer.running_var.copy_(rounded(0.5 + torch.rand(layer.running_var.shape, generator=g,
                                                             dtype=layer.running_var.dtype)))


def default_groups(channels):
    """GroupNorm's group count when none is chosen: 2 if the channels split in two, else 1."""
    return 2 if channels % 2 == 0 else 1


def five_layers(shape, *, num_groups=None, seed=None, dtype=torch.float64):
    """All five normalizations for one input shape (N, C, *positions), for side-by-side groupings.

    num_groups=None: default_groups(C).
    """
    if len(shape) < 3:
        raise ExplorerError("Comparing all five needs positions: give a shape (N, C, L) or (N, C, H, W).")
    num_groups = default_groups(shape[1]) if num_groups is None else num_groups
    return {kind: make_layer(kind, shape, num_groups=num_groups, seed=seed, dtype=dtype) for kind in KINDS}


def _affine(layer, gamma, beta):
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(gamma, dtype=layer.weight.dtype))
        layer.bias.copy_(torch.tensor(beta, dtype=layer.bias.dtype))
    return layer


def _fmt(values):
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]"


def mistakes():
    """The seed notes' normalization examples that go wrong, each with the real trace."""
    return [_batchnorm_mistake(), _layernorm_mistake(), _instancenorm_mistake(), _groupnorm_mistake()]


def _batchnorm_mistake():
    t = trace_norm(_affine(nn.BatchNorm1d(3), [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]), counting((3, 3, 4), torch.float32))
    mean, var = t.mean.flatten(), t.var.flatten()
    return Mistake(
        title="BatchNorm: one mean and variance per channel, over the batch and the positions",
        claim="“A mini-batch of size 3 with a 2 × 3 × 4 input tensor” holding 1..36 (three 3×4 blocks), "
              "γ = [1, 2, 3, 4], β = [−1, −2, −3, −4]: the notes "
              "compute μ = [[17, 18, 19, 20], [23, 24, 25, 26], [29, 30, 31, 32]] and σ = 9.7979599 everywhere, "
              "then normalize the first block with (x − 7)/3.5 and the second with (x − 19)/3.5.",
        what_goes_wrong=f"9.7979599 is √96, the spread of the three samples at one single position (1, 13 and 25), "
                        f"not a statistic of a channel; the μ rows belong to no channel either, and the formula "
                        f"then uses 7 and 3.5, numbers computed nowhere. nn.BatchNorm1d(3) reads the (3, 3, 4) "
                        f"batch as "
                        f"(N, C, L): channel 0 holds 1..4, 13..16 and 25..28, so its mean is {mean[0]:.4g} and "
                        f"its biased variance {var[0]:.4g} (σ = {float(t.std.flatten()[0]):.4g}); the three "
                        f"channel means are {_fmt(mean)}. γ and β need one value per channel, so the real "
                        f"layer takes three: [1, 2, 3] and [−1, −2, −3]. The first output is "
                        f"(1 − {mean[0]:.4g}) / √({var[0]:.4g} + ε) · 1 − 1 = {float(t.output[0, 0, 0]):.4g}.",
        trace=t,
        code="bn = nn.BatchNorm1d(3)\n"
             "bn.weight.data = torch.tensor([1., 2., 3.]); bn.bias.data = torch.tensor([-1., -2., -3.])\n"
             "print(bn(torch.arange(1., 37.).view(3, 3, 4)))")


def _layernorm_mistake():
    t = trace_norm(_affine(nn.LayerNorm(3), [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]),
                   torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    notes_first = [(1 - 2.5) / 1.5 * 1 - 1, (2 - 2.5) / 1.5 * 2 - 2, (3 - 2.5) / 1.5 * 3 - 3]
    return Mistake(
        title="LayerNorm: each row over its own features",
        claim="x = [[1, 2, 3], [4, 5, 6]], γ = [1, 2, 3], β = [−1, −2, −3]: the notes give μ = [2.5, 4.5] and "
              "σ = [1.5, 1.5], then write the first row as (1−2.5)/1.5·1 − 1, (2−2.5)/1.5·2 − 2, "
              "(3−2.5)/1.5·3 − 3 "
              "and every output as −0.67.",
        what_goes_wrong=f"The row means are {_fmt(t.mean.flatten())}, the biased variance of each row is "
                        f"{float(t.var.flatten()[0]):.4g} (σ = {float(t.std.flatten()[0]):.4g}), and the notes' "
                        f"own expressions give {_fmt(notes_first)}, not −0.67. LayerNorm normalizes each row "
                        f"over its 3 features, then scales feature j by γ[j] and shifts it by β[j]: the real "
                        f"output is {_fmt(t.output[0])} for both rows.",
        trace=t,
        code="ln = nn.LayerNorm(3)\n"
             "ln.weight.data = torch.tensor([1., 2., 3.]); ln.bias.data = torch.tensor([-1., -2., -3.])\n"
             "print(ln(torch.tensor([[1., 2., 3.], [4., 5., 6.]])))")


def _instancenorm_mistake():
    layer = _affine(nn.InstanceNorm1d(3, affine=True), [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0])
    t = trace_norm(layer, counting((2, 3, 4), torch.float32))
    mean = t.mean.reshape(2, 3)
    return Mistake(
        title="InstanceNorm: every (sample, channel) row uses its own mean; γ and β are per channel",
        claim="x = 1..24 as a 2 × 3 × 4 tensor, γ = [1, 2, 3, 4], β = [−1, −2, −3, −4]: the notes give "
              "μ = [[2.5, 6.5, 10.5], [14.5, 18.5, 22.5]] and σ = 1.12, then write every row of the first sample "
              "with μ = 2.5 ((5−2.5)/1.12·1 − 1, …), index γ and β by position, and multiply by γ and "
              "add β "
              "a second time.",
        what_goes_wrong=f"The statistics are right (means {_fmt(mean[0])} and {_fmt(mean[1])}, σ = "
                        f"{float(t.std.flatten()[0]):.4g}), but each row must subtract its own mean: row 1 of "
                        f"sample 0 uses {mean[0, 1]:.4g}, not {mean[0, 0]:.4g}. nn.InstanceNorm1d(3, affine=True) "
                        f"has one γ and one β per channel (3 values, not 4 per position) and applies them once. "
                        f"With γ = [1, 2, 3] and β = [−1, −2, −3], row 0 of sample 0 becomes "
                        f"{_fmt(t.output[0, 0])}.",
        trace=t,
        code="inorm = nn.InstanceNorm1d(3, affine=True)\n"
             "inorm.weight.data = torch.tensor([1., 2., 3.]); inorm.bias.data = torch.tensor([-1., -2., -3.])\n"
             "print(inorm(torch.arange(1., 25.).view(2, 3, 4)))")


def _groupnorm_mistake():
    layer = _affine(nn.GroupNorm(2, 6), [1.0] * 3 + [2.0] * 3, [-1.0] * 3 + [-2.0] * 3)
    t = trace_norm(layer, counting((2, 6, 4, 4), torch.float32))
    return Mistake(
        title="GroupNorm: one mean and variance per (sample, group), over all its channels and positions",
        claim="A “2 × 6 × 4 × 4” input (the notes print only 96 values, 1..96), 2 groups, γ = [1, 2], "
              "β = [−1, −2]: the notes give μ = [[[7.5, 11.5, 15.5, 19.5], [23.5, 27.5, 31.5, 35.5]], "
              "[[39.5, 43.5, 47.5, 51.5], [55.5, 59.5, 63.5, 67.5]]] and σ = 3.5 everywhere.",
        what_goes_wrong=f"With x = 1..192 as (2, 6, 4, 4), nn.GroupNorm(2, 6) has four statistics, one per sample "
                        f"and group: group 0 of sample 0 spans channels 0–2 (the values 1..48), so μ = "
                        f"{float(t.mean[0, 0]):.4g} and σ = {float(t.std[0, 0]):.4g}; all four means are "
                        f"{_fmt(t.mean.flatten())}; means such as 7.5 or 11.5 and σ = 3.5 belong to no group. "
                        f"γ and β have "
                        f"one value per channel (6), not per group: to mimic the notes we give channels 0–2 "
                        f"γ = 1, β = −1 and channels 3–5 γ = 2, β = −2.",
        trace=t,
        code="gn = nn.GroupNorm(2, 6)\n"
             "gn.weight.data = torch.tensor([1., 1., 1., 2., 2., 2.])\n"
             "gn.bias.data = torch.tensor([-1., -1., -1., -2., -2., -2.])\n"
             "print(gn(torch.arange(1., 193.).view(2, 6, 4, 4)))")
