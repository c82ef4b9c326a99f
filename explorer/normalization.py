"""Normalization layers: one mean and one variance per group of cells, then a per-feature affine.

    y = (x - mean) / sqrt(var + eps) * gamma + beta        (var biased: divided by n, not n - 1)

The five layers differ only in which cells of x share a mean and a variance:

    BatchNorm     one per channel, over the batch and every position (eval mode: the running stats)
    LayerNorm     one per leading index, over the trailing `normalized_shape` dims
    InstanceNorm  one per (sample, channel), over the positions (eval + running stats: per channel)
    GroupNorm     one per (sample, group of channels), over the group's channels and positions
    RMSNorm       like LayerNorm but centred on 0: x / sqrt(mean(x^2) + eps) * gamma

Layout of `mean` and `var`: keepdim tensors that broadcast against `x` as given, e.g. (1, C, 1, 1)
for BatchNorm2d, (N, C, 1, 1) for InstanceNorm2d, (N, 1, 1) for LayerNorm((L, D)) on (N, L, D).
GroupNorm is the exception: (N, G), one value per sample and group. Either way statistic k of
`mean.flatten()` is the one used by every cell with `group_ids() == k`.
"""
import itertools
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .errors import ExplorerError
from .validate import max_abs_error, no_grad_forward, require_dtype_match, require_module, require_tensor

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
INSTANCE_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
NORM_KINDS = BATCH_NORMS + INSTANCE_NORMS + (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)
_SPATIAL_DIMS = {nn.BatchNorm2d: 2, nn.BatchNorm3d: 3, nn.InstanceNorm1d: 1, nn.InstanceNorm2d: 2,
                 nn.InstanceNorm3d: 3}
_LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


@dataclass(frozen=True)
class NormTrace:
    """A normalization layer's forward pass, with our explicit mean/var recomputation beside it."""
    module: nn.Module
    kind: str                      # "batch", "layer", "instance", "group" or "rms"
    x: torch.Tensor                # the input as given
    output: torch.Tensor           # module(x) under no_grad (train-mode BatchNorm updates its buffers once)
    manual: torch.Tensor           # normalized * gamma + beta, from explicit mean and var
    max_abs_error: float
    reduced_dims: tuple            # dims of x a batch statistic averages over (GroupNorm: dim 1 within a group)
    uses_batch_stats: bool         # False when eval-mode Batch/InstanceNorm normalizes with running stats
    unbatched: bool                # x has no batch dim (InstanceNorm (C, L), LayerNorm on exactly normalized_shape)
    num_groups: int                # GroupNorm's G, else 1
    eps: float                     # as used (RMSNorm eps=None: finfo(dtype).eps)
    count: int                     # values of x averaged into each batch statistic
    mean: torch.Tensor             # the mean as used (layout: module docstring); RMSNorm: zeros
    var: torch.Tensor              # the biased variance as used; RMSNorm: the mean square mean(x^2)
    batch_mean: torch.Tensor       # this input's own statistics (== mean when uses_batch_stats)
    batch_var: torch.Tensor
    unbiased_var: Optional[torch.Tensor]  # batch_var * n / (n - 1), what running_var averages; None if n == 1
    normalized: torch.Tensor       # (x - mean) / sqrt(var + eps), before the affine
    weight: Optional[torch.Tensor]  # gamma (None without an affine)
    bias: Optional[torch.Tensor]    # beta (None without one)
    running_mean_before: Optional[torch.Tensor]  # (C,); None where the module keeps none
    running_mean_after: Optional[torch.Tensor]   # from running = (1 - m) * running + m * batch_mean
    running_var_before: Optional[torch.Tensor]
    running_var_after: Optional[torch.Tensor]    # the same with the unbiased variance
    num_batches_tracked_before: Optional[int]
    num_batches_tracked_after: Optional[int]
    update_factor: Optional[float]  # m above (1 / num_batches_tracked when momentum is None); None: no update
    running_error: float           # largest gap between our running update and the module's buffers

    @property
    def std(self):
        """The denominator sqrt(var + eps), in the layout of `var`."""
        return torch.sqrt(self.var + self.eps)

    @property
    def title(self):
        """The layer and how it got its statistics, e.g. "BatchNorm2d (eval mode, running statistics)"."""
        name = type(self.module).__name__
        if self.kind in ("batch", "instance"):
            mode = "train" if self.module.training else "eval"
            stats = "batch statistics" if self.uses_batch_stats else "running statistics"
            return f"{name} ({mode} mode, {stats})"
        return f"{name} ({self.num_groups} groups)" if self.kind == "group" else name

    def ncl(self, t):
        """An x-shaped tensor seen as (N, C, L): samples, channels (dim 1), positions flattened."""
        tb = t.unsqueeze(0) if self.unbatched else t                        # (N, C, *)
        return tb.reshape(tb.shape[0], tb.shape[1], -1)                     # (N, C, L)

    @property
    def spatial(self):
        """The positions behind the L axis of `ncl`, e.g. (H, W); () when L is 1."""
        shape = (1,) + tuple(self.x.shape) if self.unbatched else tuple(self.x.shape)
        return shape[2:]

    def group_ids(self):
        """x-shaped int64: the index into `mean.flatten()` of the statistic each cell uses."""
        return self.expand(torch.arange(self.mean.numel()).view(self.mean.shape))

    def expand(self, stat):
        """A statistic in the layout of `mean` spread over x's shape, e.g. expand(trace.mean)."""
        if self.kind == "group":
            n, g = self.mean.shape
            per_group = self.x[0].numel() // g
            return stat.view(n, g, 1).expand(n, g, per_group).reshape(self.x.shape)  # x's shape
        return stat.expand(self.x.shape)

    def group_labels(self):
        """One readable name per statistic, in `mean.flatten()` order."""
        shape = tuple(self.mean.shape)
        if self.kind == "group":
            return [f"sample {n}, group {g}" for n in range(shape[0]) for g in range(shape[1])]
        if self.kind in ("layer", "rms"):
            lead = shape[:self.x.dim() - len(self.module.normalized_shape)]
            if len(lead) <= 1:
                return [f"sample {i}" for i in range(math.prod(lead))]
            return [f"index {i}" for i in itertools.product(*map(range, lead))]
        channels = shape[0 if self.unbatched else 1]
        if self.kind == "instance" and self.uses_batch_stats and not self.unbatched:
            return [f"sample {n}, channel {c}" for n in range(shape[0]) for c in range(channels)]
        return [f"channel {c}" for c in range(channels)]

    def feature_ids(self):
        """x-shaped int64: the index into gamma/beta (flattened) each cell is scaled and shifted by."""
        if self.kind in ("layer", "rms"):
            shape = tuple(self.module.normalized_shape)
            return torch.arange(math.prod(shape)).view(shape).expand(self.x.shape)
        channels = torch.arange(self.x.shape[0 if self.unbatched else 1])
        return _param_view(channels, self.kind, self.x, self.unbatched).expand(self.x.shape)

    def affine(self):
        """(gamma, beta) broadcast to x's shape; ones and zeros where the module has none."""
        def spread(p, default):
            p = torch.full((), default, dtype=self.x.dtype) if p is None else _param_view(
                p, self.kind, self.x, self.unbatched)
            return p.expand(self.x.shape)
        return spread(self.weight, 1.0), spread(self.bias, 0.0)

    def cell(self, index):
        """The worked computation of one output cell: its group's values, mean, variance, the
        normalized value and the affine step, plus the running update of its channel.

        Args:
            index: a full index into x, e.g. (n, c, h, w).

        >>> t = trace_norm(nn.LayerNorm(3, elementwise_affine=False), torch.tensor([[1.0, 2.0, 3.0]]))
        >>> c = t.cell((0, 2)); c.mean, round(c.var, 4), round(c.normalized, 4)
        (2.0, 0.6667, 1.2247)
        """
        index = tuple(int(i) for i in index)
        if len(index) != self.x.dim() or not all(0 <= i < s for i, s in zip(index, self.x.shape)):
            raise ExplorerError(f"Cell {index} is outside the input of shape {tuple(self.x.shape)}.")
        ids = self.group_ids()
        g = int(ids[index])
        gamma, beta = self.affine()
        feature = int(self.feature_ids()[index])
        members = self.x[ids == g] if self.uses_batch_stats else None          # (count,) the group's values
        channel = None if self.running_mean_before is None else int(_param_index(self, index))
        run = {}
        if channel is not None:
            run = dict(running_mean_before=float(self.running_mean_before[channel]),
                       running_mean_after=float(self.running_mean_after[channel]),
                       running_var_before=float(self.running_var_before[channel]),
                       running_var_after=float(self.running_var_after[channel]))
            if self.update_factor is not None:
                per_channel = self.batch_mean.numel() // self.running_mean_before.numel()
                run.update(new_mean=float(self.batch_mean.reshape(per_channel, -1)[:, channel].mean()),
                           new_var=float(self.unbiased_var.reshape(per_channel, -1)[:, channel].mean()),
                           samples_averaged=per_channel)
        unbiased = None if self.unbiased_var is None or not self.uses_batch_stats else float(
            self.unbiased_var.reshape(-1)[g])
        total = squares = None
        if members is not None:
            total = float(members.sum())
            deviations = members - float(self.mean.reshape(-1)[g]) if self.kind != "rms" else members
            squares = float((deviations * deviations).sum())
        return NormCell(
            index=index, group=g, label=self.group_labels()[g], channel=channel, feature=feature,
            x=float(self.x[index]), members=members, count=self.count if self.uses_batch_stats else None,
            total=total, squares=squares, own_mean=float(self.batch_mean.expand(self.x.shape)[index])
            if not self.uses_batch_stats else None,
            own_var=float(self.batch_var.expand(self.x.shape)[index]) if not self.uses_batch_stats else None,
            mean=float(self.mean.reshape(-1)[g]), var=float(self.var.reshape(-1)[g]), eps=self.eps,
            std=float(self.std.reshape(-1)[g]), unbiased_var=unbiased, normalized=float(self.normalized[index]),
            gamma=float(gamma[index]), beta=float(beta[index]), manual=float(self.manual[index]),
            output=float(self.output[index]), centred=self.kind != "rms", from_running=not self.uses_batch_stats,
            update_factor=self.update_factor, **run)


@dataclass(frozen=True)
class NormCell:
    """One cell's arithmetic: y = (x - mean) / sqrt(var + eps) * gamma + beta, every number real."""
    index: tuple                   # the cell's index into x
    group: int                     # its statistic's index into mean.flatten()
    label: str                     # e.g. "channel 2" or "sample 0, group 1"
    channel: Optional[int]         # index into the running buffers (Batch/InstanceNorm), else None
    feature: int                   # index into gamma/beta (flattened)
    x: float
    members: Optional[torch.Tensor]  # (count,) the values that share this statistic; None in eval mode
    count: Optional[int]           # len(members)
    total: Optional[float]         # sum of members: mean = total / count
    squares: Optional[float]       # sum of (member - mean)^2 (RMSNorm: of member^2): var = squares / count
    mean: float                    # as used (eval mode: running_mean[channel]; RMSNorm: 0)
    var: float                     # biased variance as used (RMSNorm: mean square)
    eps: float
    std: float                     # sqrt(var + eps)
    unbiased_var: Optional[float]  # var * n / (n - 1): what running_var averages
    normalized: float              # (x - mean) / std
    gamma: float                   # 1 without an affine
    beta: float                    # 0 without a shift
    manual: float                  # gamma * normalized + beta, ours
    output: float                  # the module's
    centred: bool                  # False for RMSNorm (no mean subtracted)
    from_running: bool             # eval mode: mean and var are the running statistics
    own_mean: Optional[float]      # eval mode: the input's own mean for this cell, which train mode would use
    own_var: Optional[float]       # ... and its own biased variance
    update_factor: Optional[float]  # m of the running update, None if this forward updates nothing
    running_mean_before: Optional[float] = None
    running_mean_after: Optional[float] = None
    running_var_before: Optional[float] = None
    running_var_after: Optional[float] = None
    new_mean: Optional[float] = None      # what the update blends in: the batch mean of the channel
    new_var: Optional[float] = None       # ... and its unbiased variance (InstanceNorm: averaged over samples)
    samples_averaged: Optional[int] = None  # InstanceNorm: per-sample statistics averaged; BatchNorm: 1


def _param_index(trace, index):
    """The channel a cell of a Batch/InstanceNorm input belongs to."""
    return index[0 if trace.unbatched else 1]


def _param_view(p, kind, x, unbatched):
    """gamma/beta shaped to broadcast against x: over the normalized dims, or one per channel."""
    if kind in ("layer", "rms"):
        return p
    shape = [1] * x.dim()
    shape[0 if unbatched else 1] = -1
    return p.view(shape)                                                      # (1, C, 1, 1) for 2D


def _kind(module):
    if isinstance(module, BATCH_NORMS):
        return "batch"
    if isinstance(module, INSTANCE_NORMS):
        return "instance"
    if isinstance(module, nn.LayerNorm):
        return "layer"
    return "group" if isinstance(module, nn.GroupNorm) else "rms"


def _check_shape(kind, module, x):
    """Raise a learner-readable error for every input torch would reject; return `unbatched`."""
    name = type(module).__name__
    if x.numel() == 0:
        raise ExplorerError(f"The input of shape {tuple(x.shape)} is empty; there is nothing to normalize.")
    if kind in ("layer", "rms"):
        shape = tuple(module.normalized_shape)
        if x.dim() < len(shape) or tuple(x.shape[-len(shape):]) != shape:
            raise ExplorerError(
                f"The input has shape {tuple(x.shape)} but the layer normalizes over normalized_shape "
                f"{shape}: the input's shape must end with {shape}.")
        return x.dim() == len(shape)
    if kind == "batch":
        s = _SPATIAL_DIMS.get(type(module))
        ok = x.dim() in (2, 3) if s is None else x.dim() == s + 2
        layout = "(N, C) or (N, C, L)" if s is None else _LAYOUTS[s]
        if not ok:
            raise ExplorerError(f"{name} expects an input of shape {layout}; got shape {tuple(x.shape)} "
                                f"({x.dim()} dims).")
        unbatched, channels = False, module.num_features
    elif kind == "instance":
        s = _SPATIAL_DIMS[type(module)]
        if x.dim() not in (s + 1, s + 2):
            raise ExplorerError(f"{name} expects an input of shape {_LAYOUTS[s]}, or without the batch dim; "
                                f"got shape {tuple(x.shape)} ({x.dim()} dims).")
        unbatched, channels = x.dim() == s + 1, module.num_features
    else:
        if x.dim() < 2:
            raise ExplorerError(f"GroupNorm expects an input of shape (N, C, ...); got shape {tuple(x.shape)}. "
                                "Add a batch dim with x.unsqueeze(0).")
        unbatched, channels = False, module.num_channels
    got = x.shape[0 if unbatched else 1]
    # InstanceNorm without gamma or running stats ignores num_features (torch only warns)
    loose = kind == "instance" and not module.affine and not module.track_running_stats
    if got != channels and not loose:
        raise ExplorerError(f"Input has {got} channels but the layer expects {channels}.")
    return unbatched


def _check_counts(kind, module, x, uses_batch_stats, unbatched):
    """Statistics of a single value are meaningless; torch refuses them, so do we, in words."""
    xb = x.unsqueeze(0) if unbatched else x
    positions = math.prod(xb.shape[2:])
    if kind == "batch" and uses_batch_stats and xb.shape[0] * positions == 1:
        fix = ("or put the layer in eval mode (module.eval()) to use its running statistics" if module.training
               else "or build the layer with track_running_stats=True so eval mode has running statistics")
        raise ExplorerError(
            "Expected more than 1 value per channel when training: BatchNorm averages each channel over "
            f"the batch (and positions), and this input holds one value per channel. Use a batch of at "
            f"least 2, {fix}.")
    if kind == "instance" and uses_batch_stats and positions == 1:
        raise ExplorerError(
            "Expected more than 1 spatial element when training: InstanceNorm averages each (sample, "
            "channel) over its positions, and this input has a single position. Use a longer input.")
    if kind == "group" and xb.shape[0] * (xb.shape[1] // module.num_groups) * positions == 1:
        raise ExplorerError(
            "Each group holds a single value here (one sample, one channel per group, no positions), "
            "so GroupNorm has nothing to average. Use fewer groups, more channels or a longer input.")


def _require_buffer_dtype(module, x):
    for name in ("running_mean", "running_var"):
        b = getattr(module, name, None)
        if b is not None and b.dtype != x.dtype:
            raise ExplorerError(f"The input is {x.dtype} but the layer's {name} is {b.dtype}; convert one "
                                f"of them (module.to({x.dtype}) or x.to({b.dtype})).")


def _require_float_tensor(x):
    """require_tensor without its scan of every value for NaN/inf, which costs more than the
    layer's forward on a big batch: `_require_finite` catches those from the statistics."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        require_tensor(x)


def _require_finite(x, *stats):
    """A NaN or infinity anywhere in x makes its group's mean or variance non-finite."""
    if not all(bool(torch.isfinite(s).all()) for s in stats):
        require_tensor(x)
        raise ExplorerError(f"The input's values are too large: their variance overflows {x.dtype}. "
                            "Scale the input down (or use float64).")


def _moments(v, dims, centre=True):
    """Explicit mean and biased variance over `dims` (keepdim), and v - mean.

    RMSNorm (centre=False) uses mean 0, so its "variance" is the mean square.
    """
    mean = v.mean(dim=dims, keepdim=True) if centre else None                 # (1, C, 1, 1) for BatchNorm2d
    centered = v - mean if centre else v                                      # v's shape
    var = _sum_of_squares(centered, None, dims) / math.prod(v.shape[d] for d in dims)
    return (mean if centre else torch.zeros_like(var)), var, centered


def _sum_of_squares(v, mean, dims):
    """sum((v - mean)^2) over `dims` (keepdim; mean None: of v^2), one slice of dim 0 at a time, so
    the full-size tensor of squares is never built (on a big batch it costs more than the forward)."""
    step = max(1, CHUNK // max(1, v[0].numel()))
    parts = []
    for lo in range(0, v.shape[0], step):
        d = v[lo:lo + step] if mean is None else v[lo:lo + step] - _rows(mean, lo, lo + step, v)
        parts.append((d * d).sum(dim=dims, keepdim=True))
    return torch.stack(parts).sum(0) if 0 in dims else torch.cat(parts)      # the statistics' shape


def _batch_moments(v, dims):
    """This input's mean and biased variance over `dims` (keepdim) when they are only reported, not
    used (eval mode normalizes with the running statistics): var = sum((v - mean)^2) / n, one slice
    of dim 0 at a time, so no full-size copy of v is made."""
    mean = v.mean(dim=dims, keepdim=True)                                     # (1, C, 1, 1) for BatchNorm2d
    return mean, _sum_of_squares(v, mean, dims) / math.prod(v.shape[d] for d in dims)


def _stat_dims(kind, module, x, unbatched):
    """Dims of x (GroupNorm: of x viewed as (N, G, C/G * L)) that one statistic averages over."""
    if kind in ("layer", "rms"):
        return tuple(range(x.dim() - len(module.normalized_shape), x.dim()))
    if kind == "batch":
        return (0,) + tuple(range(2, x.dim()))
    if kind == "instance":
        return tuple(range(1 if unbatched else 2, x.dim()))
    return (2,)


def _uses_batch_stats(kind, module):
    """Whether this call normalizes with the input's own statistics (else: the running buffers)."""
    if kind not in ("batch", "instance") or getattr(module, "running_mean", None) is None:
        return True
    return module.training or (kind == "instance" and not module.track_running_stats)


def _running(module, kind, batch_mean, unbiased):
    """The running buffers before torch's forward, and after it as the update formula says.

    running = (1 - m) * running + m * batch, m = momentum, or 1 / num_batches_tracked when a
    BatchNorm's momentum is None (cumulative average). InstanceNorm averages its per-sample
    statistics over the batch first, and treats a missing momentum as 0.
    """
    rm, rv = getattr(module, "running_mean", None), getattr(module, "running_var", None)
    nbt = getattr(module, "num_batches_tracked", None)
    rm0 = None if rm is None else rm.detach().clone()
    rv0 = None if rv is None else rv.detach().clone()
    n0 = None if nbt is None else int(nbt)
    out = dict(running_mean_before=rm0, running_var_before=rv0, num_batches_tracked_before=n0,
               running_mean_after=rm0, running_var_after=rv0, num_batches_tracked_after=n0, update_factor=None)
    if rm is None or not (module.training and module.track_running_stats):
        return out
    n1 = n0 + 1 if kind == "batch" and n0 is not None else n0
    if module.momentum is not None:
        m = module.momentum
    else:
        m = 1.0 / n1 if kind == "batch" and n1 else 0.0
    c = rm0.numel()
    new_mean = batch_mean.reshape(-1, c).mean(0)                              # (C,) averaged over samples
    new_var = unbiased.reshape(-1, c).mean(0)                                 # (C,)
    out.update(running_mean_after=(1 - m) * rm0 + m * new_mean, running_var_after=(1 - m) * rv0 + m * new_var,
               num_batches_tracked_after=n1, update_factor=float(m))
    return out


def _forward(module, x):
    try:
        return no_grad_forward(module, x)
    except (RuntimeError, ValueError) as e:  # a case our checks missed: still a message, never a traceback
        raise ExplorerError(f"PyTorch rejected this layer and input: {e}") from None


def trace_norm(module, x):
    """Run a normalization layer and recompute it from an explicit mean and variance.

    y = (x - mean) / sqrt(var + eps) * gamma + beta, with mean and biased var over `reduced_dims`.
    Train-mode BatchNorm also updates running = (1 - m) * running + m * batch (unbiased var).

    Args:
        module: nn.BatchNorm1d/2d/3d, nn.LayerNorm, nn.InstanceNorm1d/2d/3d, nn.GroupNorm or
            nn.RMSNorm. Only torch's own forward touches it (train-mode running stats, once).
        x: float32 or float64 tensor in any shape the module accepts.

    Shape:
        output, manual and normalized have x's shape; mean and var: see the module docstring.

    Returns:
        NormTrace with output, manual, max_abs_error, the statistics and the running buffers.

    >>> ln = nn.LayerNorm(3, elementwise_affine=False)
    >>> t = trace_norm(ln, torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    >>> t.mean.flatten().tolist(), round(float(t.var[0, 0]), 4), t.reduced_dims
    ([2.0, 5.0], 0.6667, (1,))
    """
    require_module(module, NORM_KINDS, "trace_norm")
    _require_float_tensor(x)
    require_dtype_match(module, x)
    _require_buffer_dtype(module, x)
    kind = _kind(module)
    unbatched = _check_shape(kind, module, x)
    uses_batch_stats = _uses_batch_stats(kind, module)
    _check_counts(kind, module, x, uses_batch_stats, unbatched)
    x = x.detach()
    eps = float(module.eps if module.eps is not None else torch.finfo(x.dtype).eps)
    groups = module.num_groups if kind == "group" else 1

    # this input's statistics, and the running buffers before torch's forward updates them
    dims = _stat_dims(kind, module, x, unbatched)
    v = x.reshape(x.shape[0], groups, -1) if kind == "group" else x           # GroupNorm: (N, G, C/G*L)
    if uses_batch_stats:
        batch_mean, batch_var, centered = _moments(v, dims, centre=kind != "rms")
    else:
        batch_mean, batch_var = _batch_moments(v, dims)
    _require_finite(x, batch_mean, batch_var)
    count = math.prod(v.shape[d] for d in dims)
    unbiased = batch_var * (count / (count - 1)) if count > 1 else None
    running = _running(module, kind, batch_mean, unbiased)
    output = _forward(module, x)

    mean, var = batch_mean, batch_var
    if not uses_batch_stats:  # eval mode: one running statistic per channel, shared by every sample
        mean, var = (_param_view(r, kind, x, unbatched) for r in (running["running_mean_before"],
                                                                  running["running_var_before"]))
    std = torch.sqrt(var + eps)
    weight, bias = _param(module, "weight"), _param(module, "bias")
    gamma, beta = (None if p is None else _param_view(p, kind, x, unbatched) for p in (weight, bias))
    # x - mean is our own tensor after _moments (not for RMSNorm, where it is x): divide it in place
    in_place = uses_batch_stats and kind != "rms"
    normalized, manual, gap = _normalize_and_check(centered if in_place else v, None if kind == "rms" else mean,
                                                   std, in_place, x.shape, gamma, beta, output)
    if kind == "group":
        n = x.shape[0]
        mean, var = batch_mean, batch_var = batch_mean.view(n, groups), batch_var.view(n, groups)  # (N, G)
        unbiased = unbiased.view(n, groups) if unbiased is not None else None

    return NormTrace(
        module=module, kind=kind, x=x, output=output, manual=manual, max_abs_error=gap,
        reduced_dims=dims if kind != "group" else tuple(range(1, x.dim())), uses_batch_stats=uses_batch_stats,
        unbatched=unbatched, num_groups=groups, eps=eps, count=count, mean=mean, var=var,
        batch_mean=batch_mean, batch_var=batch_var, unbiased_var=unbiased, normalized=normalized,
        weight=weight, bias=bias, running_error=_running_gap(module, running), **running)


def _param(module, name):
    p = getattr(module, name, None)
    return None if p is None else p.detach().clone()


CHUNK = 1 << 18  # values per slice of dim 0: a slice stays in cache while every step runs over it


def _rows(t, lo, hi, like):
    """Rows lo:hi of a tensor that has one row per row of `like`; a broadcast one stays whole."""
    return t[lo:hi] if t.dim() == like.dim() and t.shape[0] == like.shape[0] != 1 else t


def _normalize_and_check(v, mean, std, in_place, shape, gamma, beta, output):
    """normalized = (v - mean) / std (v / std when mean is None; v already centred when in_place),
    manual = gamma * normalized + beta, and max |output - manual|.

    The very same elementwise ops as on whole tensors, a slice of dim 0 at a time: on a big batch
    each full-size pass would fetch the data from memory again, which costs more than the arithmetic.

    Returns:
        (normalized, manual, largest gap); normalized and manual have `shape` (x's), and are the
        same tensor without an affine.
    """
    normalized = v if in_place else torch.empty_like(v)                      # v's shape
    affine = gamma is not None or beta is not None
    manual = torch.empty(shape, dtype=v.dtype) if affine else None            # x's shape
    step = max(1, CHUNK // max(1, v[0].numel()))
    gap = 0.0
    for lo in range(0, v.shape[0], step):
        hi = min(v.shape[0], lo + step)
        out, sd = normalized[lo:hi], _rows(std, lo, hi, v)
        if in_place:
            out.div_(sd)
        elif mean is None:
            torch.div(v[lo:hi], sd, out=out)
        else:
            torch.sub(v[lo:hi], _rows(mean, lo, hi, v), out=out).div_(sd)
        x_hat = out.reshape((hi - lo,) + tuple(shape[1:]))                    # x's shape, rows lo:hi
        y = x_hat
        if affine:
            y = manual[lo:hi]
            g = None if gamma is None else _rows(gamma, lo, hi, manual)
            b = None if beta is None else _rows(beta, lo, hi, manual)
            if g is None:
                torch.add(x_hat, b, out=y)
            elif b is None:
                torch.mul(x_hat, g, out=y)
            else:
                torch.addcmul(b, x_hat, g, out=y)                             # beta + gamma * x_hat
        low, high = torch.aminmax(output[lo:hi] - y)
        gap = max(gap, float(high), -float(low))
    normalized = normalized.reshape(shape)
    return normalized, (manual if affine else normalized), gap


def _running_gap(module, running):
    """How far our written-out running update is from the buffers torch's forward left behind."""
    if running["update_factor"] is None:
        return 0.0
    return max(max_abs_error(module.running_mean, running["running_mean_after"]),
               max_abs_error(module.running_var, running["running_var_after"]))


__all__ = ["NormTrace", "NormCell", "trace_norm", "NORM_KINDS"]
