"""One activation value worked out by hand: the formula with the input's number put in, step by step.

    worked(trace, index) -> Worked(steps=["σ(x) = 1 / (1 + e^(−x))", "= 1 / (1 + e^(−0.5))", ...], value)

Every intermediate number is computed here with Python's float64 math (exp, erf, tanh, log1p),
independently of torch, so a learner can redo each line on a calculator; `value` is the last line
and agrees with the module's output up to the rounding of its dtype.
"""
import math
from dataclasses import dataclass

from torch import nn

from .errors import ExplorerError

MAX_SUM_TERMS = 8     # softmax denominators longer than this are shortened with "…"


@dataclass(frozen=True)
class Worked:
    """The computation of f at one input, as lines a learner reads top to bottom."""
    index: tuple          # the entry of x
    x: float              # its value (for Softmax: the score fed to the softmax, after any temperature)
    steps: list           # lines, each "= ..." after the first, which is the formula
    value: float          # the result, float64


def worked(trace, index):
    """The steps from x[index] to f(x)[index] for an ActivationTrace.

    Args:
        trace: from trace_activation.
        index: a tuple with one index per dim of x (an int is fine for a 1D input).

    >>> from explorer.activations import trace_activation
    >>> import torch
    >>> w = worked(trace_activation(nn.ReLU(), torch.tensor([-1.5, 2.0])), 0)
    >>> w.steps, w.value
    (['ReLU(x) = max(0, x)', '= max(0, -1.5)', '= 0'], 0.0)
    """
    index = (index,) if isinstance(index, int) else tuple(index)
    shape = tuple(trace.x.shape)
    if len(index) != len(shape) or any(isinstance(i, bool) or not 0 <= i < s for i, s in zip(index, shape)):
        raise ExplorerError(f"Entry {index} is not in the input of shape {shape}; give one index per dim.")
    x = float(trace.x[index])
    m = trace.module
    if isinstance(m, nn.Softmax):
        return _softmax(trace, index, x)
    steps, value = _pointwise(m, x)
    return Worked(index=index, x=x, steps=steps, value=value)


def _n(v):
    """A number as the steps show it: 4 significant digits, negatives in brackets inside formulas."""
    return f"{v:.4g}"


def _b(v):
    return f"({v:.4g})" if v < 0 else f"{v:.4g}"


def _sigmoid(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _exp(v):
    """e^v, or inf where float64 overflows (e^710 and above)."""
    return math.exp(v) if v < 709 else math.inf


def _pointwise(m, x):
    if isinstance(m, nn.ReLU):
        v = max(0.0, x)
        return ["ReLU(x) = max(0, x)", f"= max(0, {_n(x)})", f"= {_n(v)}"], v
    if isinstance(m, nn.LeakyReLU):
        a = m.negative_slope
        if x > 0:
            return [f"LeakyReLU(x) = x if x > 0, else {a:g}·x", f"x = {_n(x)} > 0, so f(x) = x", f"= {_n(x)}"], x
        return [f"LeakyReLU(x) = x if x > 0, else {a:g}·x", f"x = {_n(x)} ≤ 0, so f(x) = {a:g}·{_b(x)}",
                f"= {_n(a * x)}"], a * x
    if isinstance(m, nn.ELU):
        a = m.alpha
        head = f"ELU(x) = x if x > 0, else {a:g}·(eˣ − 1)"
        if x > 0:
            return [head, f"x = {_n(x)} > 0, so f(x) = x", f"= {_n(x)}"], x
        e = math.exp(x)
        return [head, f"x = {_n(x)} ≤ 0, so f(x) = {a:g}·(e^{_b(x)} − 1)", f"= {a:g}·({_n(e)} − 1)",
                f"= {_n(a * (e - 1))}"], a * (e - 1)
    if isinstance(m, nn.GELU) and m.approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        u = c * (x + 0.044715 * x * x * x)            # x ** 3 raises on overflow; x·x·x gives inf
        t = math.tanh(u)
        v = 0.5 * x * (1 + t)
        return ["GELU(x) ≈ ½·x·(1 + tanh u),  u = √(2/π)·(x + 0.044715·x³)",
                f"u = 0.7979·({_b(x)} + 0.044715·{_b(x)}³) = {_n(u)}", f"tanh u = {_n(t)}",
                f"= ½·{_b(x)}·(1 + {_b(t)})", f"= {_n(v)}"], v
    if isinstance(m, nn.GELU):
        e = math.erf(x / math.sqrt(2))
        v = 0.5 * x * (1 + e)
        return ["GELU(x) = ½·x·(1 + erf(x / √2))", f"= ½·{_b(x)}·(1 + erf({_n(x / math.sqrt(2))}))",
                f"= ½·{_b(x)}·(1 + {_b(e)})", f"= {_n(v)}"], v
    if isinstance(m, nn.SiLU):
        s = _sigmoid(x)
        return ["SiLU(x) = x·σ(x) = x / (1 + e^(−x))", f"σ({_n(x)}) = 1 / (1 + e^{_b(-x)}) = {_n(s)}",
                f"= {_b(x)}·{_n(s)}", f"= {_n(x * s)}"], x * s
    if isinstance(m, nn.Sigmoid):
        e = _exp(-x)
        s = _sigmoid(x)
        return ["σ(x) = 1 / (1 + e^(−x))", f"= 1 / (1 + e^{_b(-x)})", f"= 1 / (1 + {_n(e)})", f"= {_n(s)}"], s
    if isinstance(m, nn.Tanh):
        e = _exp(2 * x)
        v = math.tanh(x)
        return ["tanh(x) = 1 − 2 / (e^(2x) + 1)", f"= 1 − 2 / (e^{_b(2 * x)} + 1)", f"= 1 − 2 / {_n(e + 1)}",
                f"= {_n(v)}"], v
    if isinstance(m, nn.Softplus):
        b, th = m.beta, m.threshold
        head = f"Softplus(x) = log(1 + e^({b:g}·x)) / {b:g}, or x where {b:g}·x > {th:g}"
        if x * b > th:
            return [head, f"{b:g}·{_b(x)} = {_n(x * b)} > {th:g}, so f(x) = x", f"= {_n(x)}"], x
        e = _exp(b * x)
        v = math.log1p(e) / b
        return [head, f"= log(1 + e^{_b(b * x)}) / {b:g}", f"= log({_n(1 + e)}) / {b:g}", f"= {_n(v)}"], v
    raise ExplorerError(f"No worked steps for {type(m).__name__}.")


def _softmax(trace, index, x):
    dim = trace.dim
    k = index[dim]
    row = trace.x.movedim(dim, -1)[tuple(i for d, i in enumerate(index) if d != dim)]   # (n,) the slice along dim
    values = [float(v) for v in row]
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    shown = " + ".join(f"e^{_b(v - top)}" for v in values[:MAX_SUM_TERMS])
    more = f" + … ({len(values) - MAX_SUM_TERMS} more)" if len(values) > MAX_SUM_TERMS else ""
    numbers = " + ".join(_n(e) for e in exps[:MAX_SUM_TERMS])
    v = exps[k] / total
    steps = [f"softmax(x)_{k} = e^(x_{k} − max) / Σ_j e^(x_j − max),  max = {_n(top)}",
             f"= e^{_b(x - top)} / ({shown}{more})", f"= {_n(exps[k])} / ({numbers}{more})",
             f"= {_n(exps[k])} / {_n(total)}", f"= {_n(v)}"]
    return Worked(index=index, x=x, steps=steps, value=v)


__all__ = ["Worked", "worked"]
