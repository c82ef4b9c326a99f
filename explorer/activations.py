"""Activation functions, each written out from exp, erf and arithmetic, with its slope.

    ReLU max(0, x)    LeakyReLU x or a·x    ELU x or α(eˣ − 1)    GELU x·Φ(x)    SiLU x·σ(x)
    Sigmoid σ(x) = 1 / (1 + e^(−x))    Tanh    Softplus log(1 + e^(βx)) / β    Softmax e^(x_i) / Σ e^(x_j)

The slope comes from autograd through the module itself, so a plot of f and f' shows what the
layer really does, including where f' is almost 0 and almost no gradient flows back (saturation).
"""
import copy
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .errors import ExplorerError
from .validate import max_abs_error, no_grad_forward, require_module, require_tensor

ACTIVATION_KINDS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Softmax)
SLOPE = 0.01          # |f'| below this counts as saturated
POINTS = 401          # samples of the plotted curve
MAX_POINTS = 10_001


@dataclass(frozen=True)
class Curve:
    """The activation sampled over a range, with its slope, for plotting."""
    x: torch.Tensor           # (P,) evenly spaced points
    y: torch.Tensor           # (P,) the module's output there
    dy: torch.Tensor          # (P,) the slope there, by autograd through the module
    saturated: tuple          # ((lo, hi), ...) runs of points where |dy| < slope (a flat minimum counts too)
    slope: float              # the threshold behind `saturated`
    swept: Optional[tuple]    # Softmax: the entry of x that runs over the points (others held); None otherwise


@dataclass(frozen=True)
class ActivationTrace:
    """An activation on one input: the formula, its value and slope at each input, and its curve."""
    module: nn.Module
    name: str                  # e.g. "GELU (tanh approximation)"
    formula: str               # the function, with the module's own numbers
    derivative_formula: str    # its derivative, the same way
    x: torch.Tensor            # the input as given
    output: torch.Tensor       # module(x) under no_grad (in-place modules run on a copy of x)
    manual: torch.Tensor       # the formula evaluated with exp, erf and arithmetic
    max_abs_error: float
    derivative: torch.Tensor   # like x: df/dx at each input by autograd (Softmax: ∂s_i/∂x_i, Jacobian diagonal)
    saturated: torch.Tensor    # bool like x: |derivative| < curve.slope
    curve: Curve
    dim: Optional[int]         # Softmax: the non-negative dim whose entries sum to 1; None for pointwise functions


def trace_activation(module, x, *, span=None, points=POINTS, slope=SLOPE, swept=None):
    """Apply an activation and recompute it from its formula; add its slope and its curve.

    y_i = f(x_i) for the pointwise functions; Softmax: y_i = e^(x_i − max) / Σ_j e^(x_j − max) along dim.

    Args:
        module: nn.ReLU, LeakyReLU, ELU, GELU ('none' or 'tanh'), SiLU, Sigmoid, Tanh, Softplus
            (beta, threshold) or Softmax (dim must be set; a temperature goes into x, see
            apply_temperature). Not modified.
        x: float tensor of any shape (Softmax: at least one dim).
        span: (lo, hi) of the curve; by default [-6, 6] widened to cover every input.
        points: how many points the curve has, 2 to 10001.
        slope: |f'| below this marks a saturated point.
        swept: Softmax only: the index (tuple) of the entry of x whose value the curve varies,
            the others held at x; default the first entry.

    Shape:
        output, manual, derivative, saturated: like x. curve.x, curve.y, curve.dy: (points,).

    Returns:
        ActivationTrace.

    >>> t = trace_activation(nn.ReLU(), torch.tensor([-1.0, 2.0]))
    >>> t.manual.tolist(), t.derivative.tolist(), t.curve.saturated[0][0]   # flat from -6 to about 0
    ([0.0, 2.0], [0.0, 1.0], -6.0)
    """
    require_module(module, ACTIVATION_KINDS, "trace_activation")
    require_tensor(x)
    points, slope = _check_curve_settings(points, slope)
    softmax = isinstance(module, nn.Softmax)
    dim = _softmax_dim(module, x) if softmax else None
    swept = _check_swept(swept, x, softmax)
    name, formula, derivative_formula, fn = _recipe(module)
    in_place = getattr(module, "inplace", False)
    output = no_grad_forward(module, x.clone() if in_place else x)
    with torch.no_grad():
        manual = fn(x)
    if softmax:
        derivative = _softmax_diagonal(module, x, dim)
        lo, hi = _check_span(span) if span is not None else _softmax_span(x, dim, swept)
        grid = torch.linspace(lo, hi, points, dtype=x.dtype)                   # (P,)
        y, dy = _softmax_sweep(module, x, swept, grid)
    else:
        graded = _out_of_place(module)
        _, derivative = _value_and_slope(graded, x)
        lo, hi = _check_span(span) if span is not None else _default_span(x)
        grid = torch.linspace(lo, hi, points, dtype=x.dtype)                   # (P,)
        y, dy = _value_and_slope(graded, grid)
    curve = Curve(x=grid, y=y, dy=dy, saturated=_flat_runs(grid, dy, slope), slope=slope, swept=swept)
    return ActivationTrace(module=module, name=name, formula=formula, derivative_formula=derivative_formula,
                           x=x, output=output, manual=manual, max_abs_error=max_abs_error(output, manual),
                           derivative=derivative, saturated=derivative.abs() < slope, curve=curve, dim=dim)


def apply_temperature(x, temperature):
    """x / T: feed this to a Softmax for softmax with temperature T, softmax(x / T).

    T < 1 sharpens toward the largest entry (T -> 0: all weight on the max); T > 1 flattens toward
    uniform (T -> infinity: 1/n each); T = 1 leaves x as it is.

    >>> apply_temperature(torch.tensor([1.0, 2.0]), 0.5).tolist()
    [2.0, 4.0]
    """
    require_tensor(x)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not math.isfinite(temperature) or temperature <= 0:
        raise ExplorerError(f"The temperature must be a positive number; got {temperature!r}. "
                            "Below 1 sharpens the softmax, above 1 flattens it.")
    return x / temperature


MAX_TEMPERATURES = 1_001


@dataclass(frozen=True)
class TemperatureSweep:
    """softmax(x / T) over a range of temperatures T, from the module itself."""
    x: torch.Tensor              # (n,) the scores before any temperature
    temperatures: torch.Tensor   # (P,) increasing
    probs: torch.Tensor          # (P, n): row t is module(x / temperatures[t]); each row sums to 1


def temperature_sweep(module, x, temperatures=None):
    """Run a Softmax on x / T for many T: how the temperature moves every share.

    T -> 0 puts all the weight on the largest score, T -> infinity gives 1/n each.

    Args:
        module: nn.Softmax with dim set (0 or -1: x is one vector of scores).
        x: float tensor (n,), n >= 1.
        temperatures: positive finite numbers, increasing (at most 1001); by default 81 values
            spread evenly on a log scale from 0.05 to 20.

    Returns:
        TemperatureSweep with probs (P, n).

    >>> s = temperature_sweep(nn.Softmax(dim=-1), torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0]))
    >>> s.probs.tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    require_module(module, (nn.Softmax,), "temperature_sweep")
    require_tensor(x)
    if x.dim() != 1 or not x.numel():
        raise ExplorerError(f"The temperature sweep takes one vector of scores (n,); got shape {tuple(x.shape)}.")
    _softmax_dim(module, x)
    if temperatures is None:
        temperatures = torch.logspace(math.log10(0.05), math.log10(20), 81, dtype=x.dtype)   # (P,)
    require_tensor(temperatures, "temperatures")
    t = temperatures.to(x.dtype).flatten()                                   # (P,)
    if not 1 <= t.numel() <= MAX_TEMPERATURES or not bool((t > 0).all()) or not bool((t[1:] > t[:-1]).all()):
        raise ExplorerError(f"The temperatures must be 1 to {MAX_TEMPERATURES} positive numbers in increasing "
                            "order.")
    with torch.no_grad():
        probs = torch.func.vmap(module)(x[None, :] / t[:, None])            # (P, n)
    return TemperatureSweep(x=x.detach(), temperatures=t, probs=probs)


# -- the formulas ---------------------------------------------------------------------------------

def _sigmoid(x):
    return 1 / (1 + torch.exp(-x))


def _tanh(x):
    # one exp: it overflows to inf and gives exactly ±1, where (e^x - e^-x)/(e^x + e^-x) gives inf/inf = nan
    return 1 - 2 / (torch.exp(2 * x) + 1)


def _recipe(module):
    """(name, formula, derivative formula, manual function) with the module's own numbers."""
    if isinstance(module, nn.ReLU):
        return ("ReLU", "ReLU(x) = max(0, x)", "1 if x > 0, else 0",
                lambda x: torch.where(x > 0, x, torch.zeros_like(x)))
    if isinstance(module, nn.LeakyReLU):
        a = module.negative_slope
        return ("LeakyReLU", f"LeakyReLU(x) = x if x > 0, else {a:g}·x", f"1 if x > 0, else {a:g}",
                lambda x: torch.where(x > 0, x, x * a))
    if isinstance(module, nn.ELU):
        a = module.alpha
        return ("ELU", f"ELU(x) = x if x > 0, else {a:g}·(eˣ − 1)", f"1 if x > 0, else {a:g}·eˣ",
                lambda x: torch.where(x > 0, x, a * (torch.exp(x) - 1)))
    if isinstance(module, nn.GELU) and module.approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        return ("GELU (tanh approximation)", "GELU(x) ≈ ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))",
                "½·(1 + tanh u) + ½·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²), "
                "u = √(2/π)·(x + 0.044715·x³)",
                lambda x: 0.5 * x * (1 + _tanh(c * (x + 0.044715 * x ** 3))))
    if isinstance(module, nn.GELU):
        return ("GELU", "GELU(x) = x·Φ(x) = ½·x·(1 + erf(x / √2))",
                "Φ(x) + x·φ(x), φ(x) = e^(−x²/2) / √(2π)",
                lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2))))
    if isinstance(module, nn.SiLU):
        return ("SiLU", "SiLU(x) = x·σ(x) = x / (1 + e^(−x))", "σ(x)·(1 + x·(1 − σ(x)))",
                lambda x: x * _sigmoid(x))
    if isinstance(module, nn.Sigmoid):
        return ("Sigmoid", "σ(x) = 1 / (1 + e^(−x))", "σ(x)·(1 − σ(x))", _sigmoid)
    if isinstance(module, nn.Tanh):
        return ("Tanh", "tanh(x) = (eˣ − e^(−x)) / (eˣ + e^(−x)) = 1 − 2 / (e^(2x) + 1)", "1 − tanh²(x)",
                _tanh)
    if isinstance(module, nn.Softplus):
        b, t = module.beta, module.threshold
        if b == 0:
            raise ExplorerError("Softplus with beta = 0 divides by zero; use a beta other than 0 (1 is the default).")
        # log1p keeps log(1 + tiny) from rounding to 0 before the division by a small beta
        return ("Softplus", f"Softplus(x) = log(1 + e^({b:g}·x)) / {b:g}, or x where {b:g}·x > {t:g}",
                f"σ({b:g}·x), or 1 where {b:g}·x > {t:g}",
                lambda x: torch.where(x * b > t, x, torch.log1p(torch.exp(x * b)) / b))
    return ("Softmax", f"softmax(x)_i = e^(x_i − max x) / Σ_j e^(x_j − max x), over dim {module.dim}",
            "∂s_i/∂x_i = s_i·(1 − s_i);  ∂s_i/∂x_j = −s_i·s_j",
            lambda x: _softmax(x, module.dim))


def _softmax(x, dim):
    # subtracting the max changes nothing (it cancels) but keeps e^x from overflowing
    e = torch.exp(x - x.amax(dim, keepdim=True))                              # like x
    return e / e.sum(dim, keepdim=True)                                       # like x


# -- slopes and curves ----------------------------------------------------------------------------

def _out_of_place(module):
    """The module, or a shallow copy with inplace=False: autograd cannot differentiate through an
    in-place write into its own input (same numbers, the original untouched)."""
    if not getattr(module, "inplace", False):
        return module
    m = copy.copy(module)
    m.inplace = False
    return m


def _value_and_slope(module, t):
    """f(t) and df/dt elementwise, by autograd through a pointwise module."""
    with torch.enable_grad():
        leaf = t.detach().requires_grad_(True)                               # a new leaf; t itself untouched
        y = module(leaf)
        (dy,) = torch.autograd.grad(y.sum(), leaf)                           # pointwise: d(Σ f)/dx_i = f'(x_i)
    return y.detach(), dy


def _softmax_diagonal(module, x, dim):
    """∂s_i/∂x_i for every entry: one backward pass per position along dim, batched."""
    n = x.shape[dim]
    with torch.enable_grad():
        leaf = x.detach().clone().requires_grad_(True)
        s = module(leaf)
        shape = [n] + [1] * x.dim()
        shape[dim + 1] = n
        picks = torch.eye(n, dtype=x.dtype).view(shape).expand(n, *x.shape)   # (n, *x.shape): one-hot along dim
        (grads,) = torch.autograd.grad(s, leaf, picks, is_grads_batched=True)  # (n, *x.shape)
    return torch.diagonal(grads, dim1=0, dim2=dim + 1).movedim(-1, dim)       # like x


def _softmax_sweep(module, x, swept, grid):
    """s at `swept` and its slope as that one entry runs over grid, the other entries held at x."""
    P = grid.shape[0]
    flat = _flat_index(swept, x.shape)
    with torch.enable_grad():
        leaf = grid.detach().clone().requires_grad_(True)
        xs = x.detach().reshape(1, -1).repeat(P, 1)                          # (P, numel)
        xs[:, flat] = leaf
        s = torch.func.vmap(module)(xs.view(P, *x.shape))                     # (P, *x.shape)
        picked = s.reshape(P, -1)[:, flat]                                    # (P,)
        (dy,) = torch.autograd.grad(picked.sum(), leaf)
    return picked.detach(), dy


def _flat_runs(grid, dy, slope):
    """((lo, hi), ...) for every run of consecutive grid points where |dy| < slope."""
    flat = (dy.abs() < slope).tolist()
    xs = grid.tolist()
    runs, start = [], None
    for i, f in enumerate(flat + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append((xs[start], xs[i - 1]))
            start = None
    return tuple(runs)


def _default_span(x):
    if not x.numel():
        return -6.0, 6.0
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))
    return min(-6.0, float(math.floor(lo)) - 1), max(6.0, float(math.ceil(hi)) + 1)


def _softmax_span(x, dim, swept):
    """Around where the swept entry's share crosses one half: where it equals log Σ e^(others)."""
    others = x.detach().movedim(dim, -1)[_slice_of(swept, dim)]               # (n,)
    k = swept[dim]
    rest = torch.cat([others[:k], others[k + 1:]])                            # (n - 1,)
    lo, hi = _default_span(x)
    if rest.numel():
        centre = float(torch.logsumexp(rest, 0))
        lo, hi = min(lo, float(math.floor(centre)) - 6), max(hi, float(math.ceil(centre)) + 6)
    return lo, hi


def _slice_of(index, dim):
    """The index of x without its `dim` entry: selects the 1D slice along dim holding `index`."""
    return tuple(i for d, i in enumerate(index) if d != dim)


def _flat_index(index, shape):
    flat = 0
    for i, size in zip(index, shape):
        flat = flat * size + i
    return flat


# -- checks ---------------------------------------------------------------------------------------

def _softmax_dim(module, x):
    if module.dim is None:
        raise ExplorerError("This nn.Softmax was built without dim, so PyTorch would guess which axis sums "
                            "to 1 (deprecated). Build it with dim=-1, or the axis you mean.")
    if x.dim() == 0:
        raise ExplorerError("Softmax needs at least one dim to spread over; the input is a single number.")
    if not -x.dim() <= module.dim < x.dim():
        raise ExplorerError(f"Softmax dim={module.dim} does not exist for an input with {x.dim()} dim(s); "
                            f"use a dim from {-x.dim()} to {x.dim() - 1}.")
    if x.shape[module.dim] == 0:
        raise ExplorerError(f"The input has no entries along Softmax's dim {module.dim}; "
                            "there is nothing to share 1 over.")
    return module.dim % x.dim()


def _check_swept(swept, x, softmax):
    if not softmax:
        if swept is not None:
            raise ExplorerError("`swept` picks the entry a Softmax curve varies; a pointwise activation has none.")
        return None
    if swept is None:
        return (0,) * x.dim()
    swept = tuple(swept)
    if len(swept) != x.dim() or any(not 0 <= i < s for i, s in zip(swept, x.shape)):
        raise ExplorerError(f"Entry {swept} is not in the input of shape {tuple(x.shape)}; give one index per dim.")
    return swept


def _check_span(span):
    try:
        lo, hi = (float(v) for v in span)
    except (TypeError, ValueError):
        raise ExplorerError(f"The curve range must be two numbers (lo, hi); got {span!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ExplorerError(f"The curve range needs finite lo < hi; got ({lo:g}, {hi:g}).")
    return lo, hi


def _check_curve_settings(points, slope):
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= MAX_POINTS:
        raise ExplorerError(f"The curve needs a whole number of points from 2 to {MAX_POINTS}; got {points!r}.")
    if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not 0 <= slope < math.inf:
        raise ExplorerError(f"The saturation slope must be a number 0 or above; got {slope!r}.")
    return points, float(slope)
