"""Dropout with a mask you can reproduce.

    train: y_i = x_i * m_i / (1 - p),  m_i ~ Bernoulli(1 - p)        eval: y = x

Scaling the kept values by 1/(1 - p) keeps the expectation: E[y_i] = x_i * (1 - p) / (1 - p) = x_i.

nn.Dropout draws its mask from torch's global random generator. A trace must never seed or touch
that generator (every session of the server shares it), so in train mode the trace draws the
mask from its own torch.Generator(seed) with the very call the module's CPU kernel makes,
empty_like(x).bernoulli_(1 - p), and applies the module's own arithmetic x * (m / (1 - p)).
Given the same generator state the module would draw the same mask and return the same bits.
"""
import math
import numbers
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ExplorerError
from .validate import max_abs_error, no_grad_forward, require_module, require_tensor

MAX_SAMPLES = 10_000
MAX_SAMPLED_VALUES = 10_000_000   # samples x input size kept by dropout_expectation


@dataclass(frozen=True)
class DropoutTrace:
    """Dropout on one input: the seeded mask, the scale, and the result both ways."""
    module: nn.Module
    x: torch.Tensor          # the input as given
    training: bool           # the module's mode: train drops and rescales, eval is the identity
    p: float                 # probability of zeroing each value
    seed: int                # seed of the torch.Generator the train-mode mask comes from
    mask: torch.Tensor       # bool like x, True = kept (all True in eval mode)
    scale: float             # what kept values are multiplied by: 1 / (1 - p) in train (0 when p = 1), 1 in eval
    output: torch.Tensor     # eval: module(x). train: torch's arithmetic x * (mask / (1 - p)), seeded mask
    manual: torch.Tensor     # step by step: x_i / (1 - p) where kept, 0 where dropped (eval: x)
    max_abs_error: float

    @property
    def kept_fraction(self):
        """Share of values kept; about 1 - p in train mode."""
        return float(self.mask.float().mean()) if self.mask.numel() else 1.0


def trace_dropout(module, x, seed=0):
    """Apply dropout with a seeded mask (train mode) or as the identity (eval mode).

    train: y = x * m / (1 - p), m ~ Bernoulli(1 - p) from torch.Generator(seed);  eval: y = x

    In eval mode `output` is the module's own forward. In train mode the module would draw from
    the global generator, which a trace must not touch; `output` is then the dropout op applied
    exactly as torch applies it (mask from the same bernoulli_ call, then x * (mask / (1 - p)))
    with the mask drawn from torch.Generator(seed).

    Args:
        module: nn.Dropout, in train or eval mode. Not modified.
        x: float tensor of any shape.
        seed: whole number seeding the mask's torch.Generator; the same seed gives the same mask.

    Shape:
        mask, output and manual: like x.

    Returns:
        DropoutTrace with mask, scale, output, manual and max_abs_error.

    >>> t = trace_dropout(nn.Dropout(0.5), torch.arange(1.0, 6.0), seed=38)
    >>> t.output.tolist()      # kept values doubled: 1 * 2 and 4 * 2
    [2.0, 0.0, 0.0, 8.0, 0.0]
    """
    require_module(module, (nn.Dropout,), "trace_dropout")
    require_tensor(x)
    p = _check_p(module.p)
    seed = _check_seed(seed)
    if not module.training:
        output = no_grad_forward(module, x).clone()                         # keep the trace apart from x
        mask = torch.ones_like(x, dtype=torch.bool)
        return DropoutTrace(module=module, x=x, training=False, p=p, seed=seed, mask=mask, scale=1.0,
                            output=output, manual=x.clone(), max_abs_error=max_abs_error(output, x))
    with torch.no_grad():
        noise = _draw_mask(x, p, torch.Generator().manual_seed(seed))       # like x: 1 kept, 0 dropped
        mask = noise.bool()
        if p == 1:
            # torch draws nothing and returns x * 0 when every value is dropped
            output, scale = x * 0, 0.0
        else:
            output, scale = x * noise.div_(1 - p), 1 / (1 - p)              # torch's own order of operations
        manual = torch.where(mask, x / (1 - p), torch.zeros_like(x))        # p = 1: nothing kept, no x / 0 used
    return DropoutTrace(module=module, x=x, training=True, p=p, seed=seed, mask=mask, scale=scale,
                        output=output, manual=manual, max_abs_error=max_abs_error(output, manual))


@dataclass(frozen=True)
class DropoutMean:
    """The running mean of many train-mode dropout outputs of one input: it approaches x."""
    x: torch.Tensor              # the input
    p: float
    seed: int                    # sample 0 uses the mask trace_dropout(module, x, seed) draws
    masks: torch.Tensor          # (K, *x.shape) bool: sample k's mask, True = kept
    running_mean: torch.Tensor   # (K, *x.shape): mean of the first k + 1 outputs
    gap: torch.Tensor            # (K,): max_i |running_mean_k[i] - x[i]|
    std_error: torch.Tensor      # (K,): max_i |x_i| * sqrt(p / ((1 - p) * (k + 1))), one standard error of the mean

    @property
    def samples(self):
        return self.running_mean.shape[0]

    def sample(self, k):
        """Output k (0-based) of the K drawn, x * mask_k / (1 - p), with torch's arithmetic.

        Sample 0 is exactly trace_dropout(module, x, seed).output.
        """
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < self.samples:
            raise ExplorerError(f"Sample {k!r} is out of range: {self.samples} sample(s) were drawn "
                                f"(0 to {self.samples - 1}).")
        return self.x * self.masks[k].to(self.x.dtype).div_(1 - self.p)                    # like x


def dropout_expectation(module, x, samples=200, seed=0):
    """Average many train-mode dropout outputs of x: E[x * m / (1 - p)] = x.

    One output has variance x_i^2 * p / (1 - p), so the mean of k of them strays from x by about
    |x_i| * sqrt(p / ((1 - p) k)): the running mean closes in on x like 1 / sqrt(k).

    Args:
        module: nn.Dropout (its p is used; sampling is train mode whatever the module's mode,
            since eval mode is the identity anyway).
        x: float tensor of any shape.
        samples: how many masks to draw, 1 to 10000, all from one torch.Generator(seed).
        seed: sample 0 uses the same mask trace_dropout(module, x, seed) draws.

    Returns:
        DropoutMean with running_mean (K, *x.shape), gap (K,) and std_error (K,).

    >>> m = dropout_expectation(nn.Dropout(0.5), torch.tensor([1.0, 2.0]), samples=4000)
    >>> bool(m.gap[-1] < 0.1)
    True
    """
    require_module(module, (nn.Dropout,), "dropout_expectation")
    require_tensor(x)
    p = _check_p(module.p)
    if p == 1:
        raise ExplorerError("With p = 1 every value is dropped: the outputs are all 0 and 1/(1 − p) is "
                            "undefined, so the mean cannot approach x. Choose p below 1.")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise ExplorerError(f"The number of samples must be a whole number from 1 to {MAX_SAMPLES}; got {samples!r}.")
    if samples * x.numel() > MAX_SAMPLED_VALUES:
        raise ExplorerError(f"{samples} samples of {x.numel()} values is too many to keep; "
                            f"use fewer samples or a smaller input (at most {MAX_SAMPLED_VALUES:,} values).")
    g = torch.Generator().manual_seed(_check_seed(seed))
    x = x.detach()
    noise = torch.stack([_draw_mask(x, p, g) for _ in range(samples)])                      # (K, *x.shape)
    outputs = x * noise.div(1 - p)                                                           # (K, *x.shape)
    counts = torch.arange(1, samples + 1, dtype=x.dtype).view(-1, *([1] * x.dim()))         # (K, 1, ...)
    running = outputs.cumsum(0) / counts                                                     # (K, *x.shape)
    gap = (running - x).abs().reshape(samples, -1).amax(1) if x.numel() else torch.zeros(samples, dtype=x.dtype)
    biggest = float(x.abs().max()) if x.numel() else 0.0
    std_error = biggest * torch.sqrt(p / ((1 - p) * counts.flatten()))                      # (K,)
    return DropoutMean(x=x, p=p, seed=seed, masks=noise.bool(), running_mean=running, gap=gap, std_error=std_error)


def _draw_mask(x, p, g):
    """1 where a value is kept, 0 where dropped, in x's dtype: the draw nn.Dropout's CPU kernel makes."""
    return torch.empty_like(x).bernoulli_(1 - p, generator=g)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1 or math.isnan(p):
        raise ExplorerError(f"The dropout probability p is {p!r}; it must be between 0 and 1 "
                            "(p is the chance that each value is zeroed).")
    return float(p)


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
        raise ExplorerError(f"The seed must be a whole number from 0 to 2^63 − 1; got {seed!r}.")
    return int(seed)
