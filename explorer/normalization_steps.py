"""BatchNorm over many batches: running statistics in train mode, eval mode, and batch-size noise.

    train:  running = (1 - m) * running + m * batch        (unbiased batch variance for running_var)
    eval:   y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta

BatchNorm's statistics come from the batch, so they wobble with the batch size; LayerNorm and
GroupNorm normalize each sample on its own and do not care who else is in the batch.
"""
import copy
from dataclasses import dataclass
from typing import Optional

import torch

from .errors import ExplorerError
from .normalization import BATCH_NORMS, INSTANCE_NORMS, NormTrace, trace_norm
from .validate import require_module

_NAMES = ("BatchNorm", "LayerNorm", "GroupNorm")


@dataclass(frozen=True)
class TrainingRun:
    """Batches fed one by one to a train-mode copy of a layer, then one input in eval mode."""
    traces: tuple                  # NormTrace of each train-mode batch, in order
    running_mean: torch.Tensor     # (K + 1, C): row 0 before any batch, row k after batch k
    running_var: torch.Tensor      # (K + 1, C)
    batch_mean: torch.Tensor       # (K, C): each batch's mean per channel
    batch_var: torch.Tensor        # (K, C): each batch's unbiased variance, what running_var averages
    batch_biased_var: torch.Tensor  # (K, C): the biased variance the same batch is normalized with
    counts: tuple                  # K: values behind each batch statistic (n in n / (n - 1))
    factors: tuple                 # K weights m of the new batch (1 / k for a cumulative average)
    train_trace: NormTrace         # x_eval in train mode: normalized with its own batch statistics
    eval_trace: NormTrace          # x_eval in eval mode: normalized with the running statistics
    population_mean: Optional[torch.Tensor]  # (C,) the means the batches were drawn around, if known
    population_var: Optional[torch.Tensor]   # (C,)


@dataclass(frozen=True)
class BatchSizeEffect:
    """How much the statistics that normalize one sample move when only the batch changes."""
    batch_sizes: tuple             # B values tried
    trials: int                    # batches drawn per batch size
    mean_spread: dict              # name -> (len(B),) std over trials of the mean used for sample 0, channel 0
    output_spread: dict            # name -> (len(B),) std over trials of sample 0's output, the sample fixed
    counts: dict                   # name -> (len(B),) values averaged into that mean
    fixed_mean: dict               # name -> (len(B), T) the mean used for the fixed sample 0, channel 0
    fixed_output: dict             # name -> (len(B), T) the fixed sample's normalized value at its first cell


def seeded_batches(shape, count, seed, *, mean=0.0, std=1.0, dtype=torch.float32):
    """`count` batches of `shape` (N, C, ...) drawn around per-channel means and stds.

    x[n, c, ...] = mean[c] + std[c] * z,  z ~ N(0, 1) from a seeded generator.

    Args:
        shape: batch shape, channels at dim 1.
        count: number of batches.
        seed: generator seed; the same seed gives the same batches.
        mean, std: a number or one per channel.

    Returns:
        list of `count` tensors of `shape`.

    >>> [b.shape for b in seeded_batches((4, 3), 2, seed=0)]
    [torch.Size([4, 3]), torch.Size([4, 3])]
    """
    g = torch.Generator().manual_seed(int(seed))
    view = [1, -1] + [1] * (len(shape) - 2)
    mu = torch.as_tensor(mean, dtype=dtype).reshape(-1).view(view)           # (1, C, 1, ...) or (1, 1, ...)
    sigma = torch.as_tensor(std, dtype=dtype).reshape(-1).view(view)
    return [mu + sigma * torch.randn(shape, generator=g, dtype=dtype) for _ in range(count)]


def similar_batches(x, count, seed):
    """`count` batches shaped like x, drawn around x's own per-channel mean and standard deviation.

    x[n, c, ...] ~ mean_c + std_c * z: batches "from the same data" as x, so the running statistics
    they leave behind are what eval mode would meet in practice.

    Returns:
        (batches, mean (C,), var (C,)): the batches and the per-channel values they are drawn around.

    >>> batches, mean, var = similar_batches(torch.tensor([[1.0, 10.0], [3.0, 20.0]]), 3, seed=0)
    >>> len(batches), mean.tolist(), var.tolist()
    (3, [2.0, 15.0], [1.0, 25.0])
    """
    if x.dim() < 2:
        raise ExplorerError(f"Give a batched input (N, C, ...) to draw training batches like it; got shape "
                            f"{tuple(x.shape)}.")
    dims = (0,) + tuple(range(2, x.dim()))
    var, mean = torch.var_mean(x, dim=dims, correction=0)                      # (C,) each
    return seeded_batches(tuple(x.shape), count, seed, mean=mean, std=var.sqrt(), dtype=x.dtype), mean, var


def train_then_eval(module, batches, x_eval=None, *, population_mean=None, population_var=None):
    """Feed `batches` to a train-mode copy of `module`, then normalize `x_eval` in eval mode.

    Every train-mode forward blends the batch into the running statistics:
    running = (1 - m) * running + m * batch. Eval mode then uses those running statistics, so
    one input gives different outputs in train and eval mode.

    Args:
        module: a BatchNorm (or InstanceNorm) with track_running_stats=True. Not modified.
        batches: one or more inputs the module accepts.
        x_eval: the input to compare in train and eval mode (default: the last batch).
        population_mean, population_var: (C,) values the batches were drawn around, to plot.

    Returns:
        TrainingRun; its running_mean[k] equals the module copy's buffer after k batches.

    >>> run = train_then_eval(torch.nn.BatchNorm1d(3), seeded_batches((8, 3), 5, seed=0, mean=2.0))
    >>> run.running_mean.shape, run.factors
    (torch.Size([6, 3]), (0.1, 0.1, 0.1, 0.1, 0.1))
    """
    require_module(module, BATCH_NORMS + INSTANCE_NORMS, "train_then_eval")
    if getattr(module, "running_mean", None) is None:
        raise ExplorerError("This layer keeps no running statistics (track_running_stats=False), so eval mode "
                            "would use each batch's own statistics too. Build it with track_running_stats=True.")
    if len(batches) == 0:
        raise ExplorerError("Give at least one batch to train on.")
    layer = copy.deepcopy(module).train()
    traces = tuple(trace_norm(layer, b) for b in batches)
    x_eval = batches[-1] if x_eval is None else x_eval
    train_trace = trace_norm(copy.deepcopy(layer), x_eval)
    eval_trace = trace_norm(layer.eval(), x_eval)
    channels = traces[0].running_mean_before.numel()
    return TrainingRun(
        traces=traces,
        running_mean=torch.stack([traces[0].running_mean_before] + [t.running_mean_after for t in traces]),
        running_var=torch.stack([traces[0].running_var_before] + [t.running_var_after for t in traces]),
        batch_mean=torch.stack([t.batch_mean.reshape(-1, channels).mean(0) for t in traces]),    # (K, C)
        batch_var=torch.stack([t.unbiased_var.reshape(-1, channels).mean(0) for t in traces]),   # (K, C)
        batch_biased_var=torch.stack([t.batch_var.reshape(-1, channels).mean(0) for t in traces]),  # (K, C)
        counts=tuple(t.count for t in traces),
        factors=tuple(t.update_factor for t in traces), train_trace=train_trace, eval_trace=eval_trace,
        population_mean=population_mean, population_var=population_var)


def batch_size_effect(batch_sizes=(1, 2, 4, 8, 16, 32), *, channels=4, size=4, num_groups=2, trials=64,
                      seed=0, eps=1e-5, dtype=torch.float64):
    """The noise BatchNorm's batch statistics add, next to LayerNorm and GroupNorm.

    mean_spread: std over `trials` random batches of the mean that normalizes sample 0, channel 0:
        BatchNorm averages B * H * W values, so it shrinks like 1 / sqrt(B); the other two do not move.
    output_spread: sample 0 kept fixed, the rest of the batch redrawn: how much its normalized
        output moves (averaged over its cells). Zero for LayerNorm and GroupNorm at every batch size.

    Every trial is normalized with the explicit mean and biased variance trace_norm uses, all trials
    at once: (T, B, C, H, W) with BatchNorm over (B, H, W), LayerNorm over (C, H, W), GroupNorm over
    (C/G, H, W) of a (T, B, G, C/G, H, W) view.

    Args:
        batch_sizes: the B values to try (>= 1).
        channels, size: each sample is (channels, size, size); channel c has mean c and std 1.
        num_groups: GroupNorm's groups (must divide channels).
        trials: batches drawn per batch size.
        seed: generator seed.
        eps: added to the variance, as in the layers.

    Returns:
        BatchSizeEffect keyed by "BatchNorm", "LayerNorm", "GroupNorm".

    >>> e = batch_size_effect((2, 8), trials=16)
    >>> float(e.output_spread["LayerNorm"].abs().max())
    0.0
    """
    if not batch_sizes or min(batch_sizes) < 1:
        raise ExplorerError("Batch sizes must be whole numbers of at least 1.")
    if size * size < 2:
        raise ExplorerError("Use samples of at least 2 positions so a batch of one still has statistics.")
    if num_groups < 1 or channels % num_groups:
        raise ExplorerError(f"{channels} channels cannot be split into {num_groups} equal groups.")
    g = torch.Generator().manual_seed(int(seed))
    offsets = torch.arange(channels, dtype=dtype).view(channels, 1, 1)
    fixed = torch.randn(channels, size, size, generator=g, dtype=dtype) + offsets           # (C, H, W)
    spread = {k: [] for k in _NAMES}
    moved = {k: [] for k in _NAMES}
    fixed_mean = {k: [] for k in _NAMES}
    fixed_out = {k: [] for k in _NAMES}
    for b in batch_sizes:
        x = torch.randn(trials, b, channels, size, size, generator=g, dtype=dtype) + offsets  # (T, B, C, H, W)
        for k, (mean, _) in _three_norms(x, num_groups, eps).items():
            spread[k].append(mean.flatten(1)[:, 0].std(correction=0))   # the statistic sample 0, channel 0 uses
        x[:, 0] = fixed
        for k, (mean, out) in _three_norms(x, num_groups, eps).items():
            moved[k].append(out[:, 0].std(dim=0, correction=0).mean())
            fixed_mean[k].append(mean.flatten(1)[:, 0])                  # (T,)
            fixed_out[k].append(out[:, 0].flatten(1)[:, 0])              # (T,) sample 0, channel 0, cell (0, 0)
    per_group = channels // num_groups
    counts = {"BatchNorm": [b * size * size for b in batch_sizes],
              "LayerNorm": [channels * size * size] * len(batch_sizes),
              "GroupNorm": [per_group * size * size] * len(batch_sizes)}
    return BatchSizeEffect(batch_sizes=tuple(batch_sizes), trials=trials,
                           mean_spread={k: torch.stack(v) for k, v in spread.items()},
                           output_spread={k: torch.stack(v) for k, v in moved.items()},
                           counts={k: torch.tensor(v) for k, v in counts.items()},
                           fixed_mean={k: torch.stack(v) for k, v in fixed_mean.items()},
                           fixed_output={k: torch.stack(v) for k, v in fixed_out.items()})


def _three_norms(x, num_groups, eps):
    """name -> (mean, normalized x) for trials of batches x (T, B, C, H, W), every trial on its own."""
    t, b, c, h, w = x.shape
    grouped = x.view(t, b, num_groups, c // num_groups, h, w)                  # (T, B, G, C/G, H, W)
    mean, out = _normalize(grouped, (3, 4, 5), eps)
    return {"BatchNorm": _normalize(x, (1, 3, 4), eps),                        # mean (T, 1, C, 1, 1)
            "LayerNorm": _normalize(x, (2, 3, 4), eps),                        # mean (T, B, 1, 1, 1)
            "GroupNorm": (mean, out.view(x.shape))}                            # mean (T, B, G, 1, 1, 1)


def _normalize(v, dims, eps):
    """(mean, (v - mean) / sqrt(var + eps)) over `dims`, biased variance, keepdim."""
    mean = v.mean(dim=dims, keepdim=True)
    centered = v - mean
    var = (centered * centered).mean(dim=dims, keepdim=True)
    return mean, centered / torch.sqrt(var + eps)


__all__ = ["TrainingRun", "BatchSizeEffect", "seeded_batches", "similar_batches", "train_then_eval",
           "batch_size_effect"]
