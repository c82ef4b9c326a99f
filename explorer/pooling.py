"""Pooling and upsampling, one window (or one source point) at a time.

    max:       y[n, c, i, j] = max of x over the window at (i, j)           (padding counts as -inf)
    average:   y[n, c, i, j] = (sum of x over the window) / divisor          (padding adds 0)
    LP:        y[n, c, i, j] = (sum of x^p over the window)^(1/p)
    adaptive:  window i covers input cells floor(i*L/out) .. ceil((i+1)*L/out) - 1
    upsample:  y[n, c, i, j] = sum over neighbours (a, b) of w_a(i) * w_b(j) * x[n, c, a, b]

Internally a 1D layer is a 2D layer of height 1, so one implementation serves both; every index a
trace hands out is in the layer's own dimensionality.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .errors import ExplorerError
from .validate import add_batch_dim, max_abs_error, no_grad_forward, require_module, require_tensor

MAX_KINDS = (nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
AVG_KINDS = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
LP_KINDS = (nn.LPPool1d, nn.LPPool2d)
ADAPTIVE_KINDS = (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
POOL_KINDS = MAX_KINDS + AVG_KINDS + LP_KINDS
ONE_D = (nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool1d, nn.LPPool1d)
UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic")
CUBIC_A = -0.75  # the cubic convolution constant torch uses
MATRIX_AXIS = 256  # upsampling axes up to this long are resampled by one matrix product

# What a window tap lands on. OUTSIDE: past the padding (a ceil_mode edge window), ignored by every
# kind. UNUSED: an adaptive window shorter than the longest one; not part of the window at all.
INPUT, PADDING, OUTSIDE, UNUSED = 0, 1, 2, 3
ROLES = ("input", "padding", "outside")


# -- pooling ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolAxis:
    """Which input cells each output position reads along one axis."""
    size: int              # input length along this axis
    out: int               # output length
    start: torch.Tensor    # (out,) first input index of each window (negative in the left padding)
    end: torch.Tensor      # (out,) one past the last index the window spans
    taps: torch.Tensor     # (out, T) input index of every tap; off the input for padding cells
    role: torch.Tensor     # (out, T) INPUT, PADDING, OUTSIDE or UNUSED per tap

    def reach(self):
        """(first, last) index any window touches: the input plus the padding and edges in use."""
        used = self.taps[self.role != UNUSED]
        return min(0, int(used.min())), max(self.size - 1, int(used.max()))


@dataclass(frozen=True)
class Cell:
    """One tap of a pooling window."""
    offset: tuple                  # (*spatial) tap index inside the window
    position: tuple                # (*spatial) in input coordinates; negative or >= size off the input
    input_index: Optional[tuple]   # (c, *spatial) of the input cell; None off the input
    role: str                      # "input", "padding" or "outside" (past the padding: ignored)
    value: Optional[float]         # input value; for padding what the op sees (-inf max, 0 avg); None outside


@dataclass(frozen=True)
class PoolWindow:
    """Everything behind one pooled value."""
    position: tuple                # (n, c, *spatial) of the output cell
    kind: str                      # "max", "avg" or "lp"
    cells: tuple                   # Cell per tap, row-major
    result: float                  # the pooled value; equals the module's output here
    winner: Optional[tuple] = None     # max: (c, *spatial) of the chosen cell, the first of equal maxima
    flat_index: Optional[int] = None   # max: the winner as return_indices reports it (row * W + col)
    total: Optional[float] = None      # avg: sum of the cells; lp: sum of x ** norm_type
    count: Optional[int] = None        # avg/lp: how many cells torch counts (padding included or not)
    divisor: Optional[float] = None    # avg: total is divided by this (count or divisor_override);
                                       # lp: count / kernel cells, 1 except at ceil_mode edges
    norm_type: Optional[float] = None  # lp: the power p


@dataclass(frozen=True)
class PoolTrace:
    """A pooling layer's forward pass, with our own window-by-window recomputation beside it."""
    module: nn.Module
    x: torch.Tensor                    # the input as given (batched or not)
    output: torch.Tensor               # module(x) under no_grad; the values when it returns indices
    indices: Optional[torch.Tensor]    # the module's own argmax indices (return_indices=True), else None
    manual: torch.Tensor               # the same values from explicit windows
    argmax: Optional[torch.Tensor]     # max kinds: our flat index (row * W + col) of each winner
    max_abs_error: float
    kind: str                          # "max", "avg" or "lp"
    adaptive: bool
    dims: int                          # 1 or 2 spatial dims
    axes: tuple                        # (PoolAxis for height, PoolAxis for width); height trivial in 1D
    divisor: Optional[torch.Tensor]    # avg/lp: (OH, OW) cells counted per window (avg: or the override)

    @property
    def batch(self):
        return 1 if self.x.dim() == self.dims + 1 else self.x.shape[0]

    @property
    def channels(self):
        return self.x.shape[-self.dims - 1]

    @property
    def in_spatial(self):
        return tuple(a.size for a in self.axes[2 - self.dims:])

    @property
    def out_spatial(self):
        return tuple(a.out for a in self.axes[2 - self.dims:])

    def window(self, n, c, *pos):
        """The cells under the window of output[n, c, *pos] and how they combine.

        >>> t = trace_pool(nn.MaxPool1d(2), torch.tensor([[1.0, 3.0, 2.0, 0.0]]))
        >>> w = t.window(0, 0, 0)
        >>> w.result, w.winner, w.flat_index
        (3.0, (0, 1), 1)
        """
        self._check_position(n, c, pos)
        i, j = _lift(pos, self.dims)
        h, w = self.axes
        x = self._batched_x()[n, c]                                             # (H, W)
        pad_value = float("-inf") if self.kind == "max" else 0.0
        cells = []
        for p in range(h.taps.shape[1]):
            for q in range(w.taps.shape[1]):
                role = max(int(h.role[i, p]), int(w.role[j, q]))
                if role == UNUSED:
                    continue
                r, s = int(h.taps[i, p]), int(w.taps[j, q])
                value = float(x[r, s]) if role == INPUT else pad_value if role == PADDING else None
                cells.append(Cell(offset=_drop((p, q), self.dims), position=_drop((r, s), self.dims),
                                  input_index=(c, *_drop((r, s), self.dims)) if role == INPUT else None,
                                  role=ROLES[role], value=value))
        return self._combine((n, c, *pos), tuple(cells), float(self.divisor[i, j]) if self.divisor is not None
                             else None)

    def unpool(self):
        """What nn.MaxUnpool would rebuild: every max put back where it came from, zeros elsewhere.

        Shape: like the input.
        """
        if self.argmax is None:
            raise ExplorerError("Only max pooling remembers where its values came from; this layer "
                                f"takes the {'average' if self.kind == 'avg' else 'LP norm'} of its windows.")
        x = self._batched_x()
        N, C, H, W = x.shape
        values = self.output.reshape(N, C, -1)                                  # (N, C, OH*OW)
        flat = x.new_zeros(N, C, H * W).scatter_(2, self.argmax.reshape(N, C, -1), values)
        return flat.reshape(self.x.shape)                                       # like x

    def _combine(self, position, cells, divisor):
        dtype = self.output.dtype
        inside = [cell for cell in cells if cell.role == "input"]
        values = torch.tensor([cell.value for cell in inside], dtype=dtype)
        if self.kind == "max":
            k = int(values.argmax())  # the first of equal maxima, like torch
            row, col = _lift(inside[k].position, self.dims)
            return PoolWindow(position, "max", cells, float(values[k]), winner=inside[k].input_index,
                              flat_index=row * self.axes[1].size + col)
        if self.kind == "avg":
            count = sum(cell.role != "outside" for cell in cells) if self._counts_padding() else len(inside)
            total = values.sum()
            return PoolWindow(position, "avg", cells, float(total / divisor), total=float(total), count=count,
                              divisor=divisor)
        p = self.module.norm_type
        total = values.pow(p).sum()
        kernel_cells = self.axes[0].taps.shape[1] * self.axes[1].taps.shape[1]
        result = (total / len(inside) * kernel_cells).pow(1.0 / p)
        return PoolWindow(position, "lp", cells, float(result), total=float(total), count=len(inside),
                          divisor=len(inside) / kernel_cells, norm_type=float(p))

    def _counts_padding(self):
        return not self.adaptive and getattr(self.module, "count_include_pad", False)

    def _batched_x(self):
        x = self.x if self.x.dim() == self.dims + 2 else self.x.unsqueeze(0)
        return x if self.dims == 2 else x.unsqueeze(2)                          # (N, C, H, W)

    def _check_position(self, n, c, pos):
        _check_position(n, c, pos, self.batch, self.channels, self.out_spatial, self.dims)


def trace_pool(module, x):
    """Run a pooling layer and recompute its output from explicit windows.

    max: y = max over the window (padding is -inf); avg: y = sum / divisor; LP: y = (sum x^p)^(1/p);
    adaptive window i spans [floor(i*L/out), ceil((i+1)*L/out)).

    Args:
        module: MaxPool1d/2d, AvgPool1d/2d, AdaptiveMaxPool1d/2d, AdaptiveAvgPool1d/2d or LPPool1d/2d,
            any kernel, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override,
            return_indices. Not modified.
        x: float tensor, (N, C, L) / (C, L) for 1D or (N, C, H, W) / (C, H, W) for 2D.

    Shape:
        output, manual and argmax have the shape of the module's output.

    Returns:
        PoolTrace with output, indices, manual, argmax, max_abs_error and window(n, c, *pos).

    >>> t = trace_pool(nn.MaxPool2d(2), torch.tensor([[[1.0, 3, 2, 4], [5, 2, 6, 8], [3, 1, 0, 7], [4, 2, 1, 9]]]))
    >>> t.manual.tolist(), t.max_abs_error
    ([[[5.0, 8.0], [4.0, 9.0]]], 0.0)
    """
    require_module(module, POOL_KINDS, "trace_pool")
    require_tensor(x)
    dims = 1 if isinstance(module, ONE_D) else 2
    xb, _ = add_batch_dim(x, dims + 2, "(N, C, L)" if dims == 1 else "(N, C, H, W)")
    _require_nonempty(xb)
    x4 = xb if dims == 2 else xb.unsqueeze(2)                                    # (N, C, H, W)
    kind = "max" if isinstance(module, MAX_KINDS) else "avg" if isinstance(module, AVG_KINDS) else "lp"
    adaptive = isinstance(module, ADAPTIVE_KINDS)
    axes = _adaptive_axes(module, x4.shape[2:], dims) if adaptive else _window_axes(module, x4.shape[2:], dims)
    if kind == "lp" and not (math.isfinite(module.norm_type) and module.norm_type > 0):
        raise ExplorerError(f"norm_type is {module.norm_type}; use a positive finite power such as 1, 2 or 3.")

    try:
        result = no_grad_forward(module, x)
    except RuntimeError as e:  # a configuration our checks missed: still a message, never a traceback
        raise ExplorerError(f"PyTorch rejected this layer and input: {e}") from None
    output, indices = result if isinstance(result, tuple) else (result, None)

    h, w = axes
    argmax = divisor = None
    if kind == "max":
        manual, k = _running_max(_taps(x4, h, w, float("-inf")))                 # (N, C, OH, OW) twice
        # flat[i, j, k]: the row * W + col that tap k of window (i, j) reads
        flat = (h.taps[:, None, :, None] * w.size + w.taps[None, :, None, :]).flatten(2)  # (OH, OW, K)
        first = torch.arange(h.out * w.out).view(h.out, w.out) * flat.shape[2]   # (OH, OW)
        argmax = torch.take(flat, first + k).reshape(output.shape)
    else:
        # count_include_pad counts padding cells, never the cells past the padding (ceil_mode edges)
        pads_count = kind == "avg" and not adaptive and module.count_include_pad
        counted = [(a.role <= PADDING) if pads_count else (a.role == INPUT) for a in axes]
        divisor = counted[0].sum(1)[:, None] * counted[1].sum(1)[None, :]        # (OH, OW)
        if kind == "avg":
            total = _window_sum(x4, h, w)                                        # (N, C, OH, OW)
            override = getattr(module, "divisor_override", None)
            divisor = torch.full_like(divisor, override) if override else divisor
            manual = total / divisor                                             # (N, C, OH, OW)
        else:  # torch takes an average pool of x^p and scales it back by the kernel size
            total = _window_sum(x4.pow(module.norm_type), h, w)                  # (N, C, OH, OW)
            kernel_cells = h.taps.shape[1] * w.taps.shape[1]
            manual = (total / divisor * kernel_cells).pow(1.0 / module.norm_type)  # (N, C, OH, OW)
    manual = manual.reshape(output.shape)

    return PoolTrace(module=module, x=x, output=output, indices=indices, manual=manual, argmax=argmax,
                     max_abs_error=_error(output, manual), kind=kind, adaptive=adaptive, dims=dims,
                     axes=axes, divisor=divisor)


def output_size_formula(trace):
    """How each spatial output length follows from the layer's settings, with its own numbers."""
    names = ["H", "W"] if trace.dims == 2 else ["L"]
    if trace.adaptive:
        return [f"{n}_out = {a.out} (asked for); window i spans ⌊i·{a.size}/{a.out}⌋ … ⌈(i+1)·{a.size}/{a.out}⌉ − 1"
                for n, a in zip(names, trace.axes[2 - trace.dims:])]
    k, s, p, d = _settings(trace.module, trace.dims)
    ceil = trace.module.ceil_mode
    rounding = "⌈" if ceil else "⌊"
    close = "⌉" if ceil else "⌋"
    lines = []
    for name, a, kk, ss, pp, dd in zip(names, trace.axes[2 - trace.dims:], k, s, p, d):
        line = (f"{name}_out = {rounding}({name}_in + 2·padding − dilation·(kernel − 1) − 1) / stride{close} + 1"
                f" = {rounding}({a.size} + 2·{pp} − {dd}·({kk} − 1) − 1) / {ss}{close} + 1")
        out, dropped = _out_length(a.size, kk, ss, pp, dd, ceil)
        lines.append(line + (f" − 1 = {out} (the last window would start past the padding, so it is dropped)"
                             if dropped else f" = {out}"))
    return lines


def edge_windows(trace):
    """The windows ceil_mode keeps although they hang past the input and its padding, per spatial axis.

    Returns [(axis name, [output indices])] for the axes that have any; their taps past the padding
    are ignored by max, average and LP alike (an average divides only by the cells it really covers).
    """
    names = ["height", "width"] if trace.dims == 2 else ["length"]
    found = []
    for name, a in zip(names, trace.axes[2 - trace.dims:]):
        hanging = (a.role == OUTSIDE).any(1).nonzero().flatten().tolist()                # (k,)
        if hanging:
            found.append((name, hanging))
    return found


@dataclass(frozen=True)
class UnpoolCheck:
    """The real nn.MaxUnpool run on a max pool's output and indices, beside the trace's own scatter."""
    module: nn.Module      # MaxUnpool1d/2d with the pool's kernel_size, stride and padding
    output: torch.Tensor   # module(values, indices, output_size=input size): like the input
    manual: torch.Tensor   # trace.unpool(): every max put back at its flat index, zeros elsewhere
    max_abs_error: float


def max_unpool(trace):
    """Run nn.MaxUnpool on what a MaxPool1d/2d returned, and compare it with putting the maxima back by hand.

    Raises ExplorerError for other kinds, and when MaxUnpool cannot rebuild this input size (it only
    knows kernel_size, stride and padding, not dilation, so it accepts sizes near (out−1)·stride − 2·padding
    + kernel_size).
    """
    if not isinstance(trace.module, (nn.MaxPool1d, nn.MaxPool2d)):
        raise ExplorerError("nn.MaxUnpool undoes MaxPool1d or MaxPool2d; this layer is "
                            f"{type(trace.module).__name__}.")
    k, s, p, _ = _settings(trace.module, trace.dims)
    unpool = (nn.MaxUnpool1d if trace.dims == 1 else nn.MaxUnpool2d)(k, s, p)
    try:
        output = no_grad_forward(unpool, trace.output, trace.argmax, output_size=trace.x.shape[-trace.dims:])
    except (RuntimeError, ValueError) as e:
        raise ExplorerError(f"nn.MaxUnpool{trace.dims}d cannot rebuild an input of size "
                            f"{tuple(trace.x.shape[-trace.dims:])} from this output: {e}") from None
    manual = trace.unpool()
    return UnpoolCheck(unpool, output, manual, _error(output, manual))


def _out_length(size, kernel, stride, padding, dilation, ceil_mode):
    """(output length, whether ceil_mode dropped a last window that would start past the padding)."""
    out = (size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    dropped = ceil_mode and out >= 1 and (out - 1) * stride >= size + padding
    return out - dropped, dropped


def _settings(module, dims):
    """(kernel, stride, padding, dilation), one tuple entry per spatial dim."""
    def pick(v, default):
        v = default if v is None or (isinstance(v, (tuple, list)) and not v) else v
        v = tuple(v) if isinstance(v, (tuple, list)) else (v,) * dims
        return v * dims if len(v) == 1 else v

    k = pick(module.kernel_size, None)
    return (k, pick(module.stride, k), pick(getattr(module, "padding", 0), 0),
            pick(getattr(module, "dilation", 1), 1))


def _window_axes(module, spatial, dims):
    """Per-axis windows of a fixed-kernel pool (height first; a 1D layer gets a trivial height)."""
    k, s, p, d = _settings(module, dims)
    names = ["height", "width"] if dims == 2 else ["length"]
    axes = [] if dims == 2 else [_trivial_axis()]
    for name, size, kk, ss, pp, dd in zip(names, spatial[2 - dims:], k, s, p, d):
        if min(kk, ss, dd) < 1 or pp < 0:
            raise ExplorerError(f"kernel_size, stride and dilation must be at least 1 and padding at least 0; "
                                f"got kernel {kk}, stride {ss}, dilation {dd}, padding {pp}.")
        if 2 * pp > kk:
            raise ExplorerError(f"Padding {pp} is more than half the kernel size {kk}; pooling allows at most "
                                f"{kk // 2}. Lower the padding or enlarge the kernel.")
        span = dd * (kk - 1) + 1
        out, _ = _out_length(size, kk, ss, pp, dd, module.ceil_mode)
        if out < 1:
            raise ExplorerError(f"The input {name} is {size} but the window spans {span} cells (kernel {kk}, "
                                f"dilation {dd}) and padding adds {2 * pp}: the window does not fit. Make the "
                                f"input larger, the kernel or dilation smaller, or add padding.")
        start = torch.arange(out) * ss - pp                                      # (out,)
        taps = start[:, None] + torch.arange(kk) * dd                            # (out, K)
        role = torch.full_like(taps, OUTSIDE)
        role[(taps >= -pp) & (taps < size + pp)] = PADDING
        role[(taps >= 0) & (taps < size)] = INPUT
        empty = (role != INPUT).all(1).nonzero().flatten().tolist()
        if empty:
            raise ExplorerError(f"With dilation {dd} and padding {pp}, the window at {name} position {empty[0]} "
                                "lands only on padding, so its max would be -inf. Lower the dilation or padding.")
        axes.append(PoolAxis(size, out, start, start + span, taps, role))
    return tuple(axes)


def _adaptive_axes(module, spatial, dims):
    """Per-axis windows of an adaptive pool: window i spans [floor(i*L/out), ceil((i+1)*L/out))."""
    sizes = module.output_size
    sizes = tuple(sizes) if isinstance(sizes, (tuple, list)) else (sizes,) * dims
    axes = [] if dims == 2 else [_trivial_axis()]
    for size, out in zip(spatial[2 - dims:], sizes):
        out = size if out is None else out
        if out < 1:
            raise ExplorerError(f"output_size {out} is not a size; ask for at least 1 output cell per axis.")
        i = torch.arange(out)
        start = (i * size) // out                                                # (out,)
        end = ((i + 1) * size + out - 1) // out                                  # (out,)
        taps = start[:, None] + torch.arange(int((end - start).max()))           # (out, T)
        role = torch.where(taps < end[:, None], INPUT, UNUSED)
        axes.append(PoolAxis(size, out, start, end, taps.clamp(max=size - 1), role))
    return tuple(axes)


def _trivial_axis():
    zero = torch.zeros(1, dtype=torch.long)
    return PoolAxis(1, 1, zero, zero + 1, zero.view(1, 1), zero.view(1, 1) + INPUT)


def _taps(x, h, w, fill, padded=None):
    """Yield (p * KW + q, values) for every tap (p, q) of the window: what it reads in every window at once.

    Evenly strided taps are views of the input, so a fixed-kernel pool copies nothing. Padding,
    cells past the padding and unused taps of adaptive windows read `fill`.
    x: (N, C, H, W). Each `values` is (N, C, OH, OW).
    """
    x, rows, cols = padded or _padded(x, h, w, fill)
    row_pickers = [_picker(rows[:, p], 2) for p in range(rows.shape[1])]
    col_pickers = [_picker(cols[:, q], 3) for q in range(cols.shape[1])]
    for p, pick_rows in enumerate(row_pickers):
        band = pick_rows(x)                                                     # (N, C, OH, W_pad)
        for q, pick_cols in enumerate(col_pickers):
            yield p * len(col_pickers) + q, pick_cols(band)                     # (N, C, OH, OW)


def _window_sum(x, h, w):
    """The sum of every window at once: x (N, C, H, W) -> (N, C, OH, OW); padding and unused taps add 0.

    Small windows add one strided view per tap. A big window of evenly placed taps is summed row by row
    instead: each input row over the window's columns, then those row sums over the window's rows (two
    reductions over unfolded views instead of KH·KW additions, e.g. 256 for the 16×16 windows of an
    adaptive pool from 112 to 7).
    """
    kh, kw = h.taps.shape[1], w.taps.shape[1]
    x, rows, cols = _padded(x, h, w, 0.0)
    row_grid, col_grid = _regular(rows), _regular(cols)
    if kh * kw <= 2 * (kh + kw) or row_grid is None or col_grid is None:
        return sum(v for _, v in _taps(x, h, w, 0.0, padded=(x, rows, cols)))
    across = _unfold(x, 3, *col_grid).sum(-1)                                     # (N, C, H_pad, OW)
    return _unfold(across, 2, *row_grid).sum(-1)                                  # (N, C, OH, OW)


def _regular(index):
    """(first, step, dilation, taps, out) when window i < out reads first + i·step + t·dilation for t < taps,
    else None."""
    out, taps = index.shape
    first = int(index[0, 0])
    step = int(index[1, 0] - index[0, 0]) if out > 1 else 1
    dilation = int(index[0, 1] - index[0, 0]) if taps > 1 else 1
    if step < 1 or dilation < 1:
        return None
    expected = first + step * torch.arange(out)[:, None] + dilation * torch.arange(taps)            # (out, T)
    return (first, step, dilation, taps, out) if torch.equal(index, expected) else None


def _unfold(x, dim, first, step, dilation, taps, out):
    """The `out` windows along `dim` as a trailing dim of a view: (..., out, ..., taps)."""
    span = dilation * (taps - 1) + 1
    return x.narrow(dim, first, x.shape[dim] - first).unfold(dim, span, step).narrow(dim, 0, out)[..., ::dilation]


def _padded(x, h, w, fill):
    """x surrounded by enough `fill` for every tap, and each axis's taps as indices into it."""
    N, C, H, W = x.shape
    (top, bottom, rows), (left, right, cols) = _extent(h), _extent(w)
    if top == left == 0 and bottom == H and right == W:
        return x, rows, cols
    padded = x.new_full((N, C, bottom - top, right - left), fill)               # (N, C, H_pad, W_pad)
    padded[:, :, -top:H - top, -left:W - left] = x
    return padded, rows, cols


def _extent(a):
    """(first, one past last) index of the filled axis, and the taps shifted to start at 0.

    Unused taps point one past the last index: a cell of fill.
    """
    first, last = a.reach()
    used = a.role != UNUSED
    return first, last + 1 + int(not used.all()), torch.where(used, a.taps - first, last + 1 - first)


def _picker(index, dim):
    """x -> x.index_select(dim, index), as a strided view (no copy) when the indices are evenly spaced."""
    n = len(index)
    step = int(index[1] - index[0]) if n > 1 else 1
    if step > 0 and torch.equal(index, index[0] + step * torch.arange(n)):
        cut = (slice(None),) * dim + (slice(int(index[0]), int(index[0]) + step * (n - 1) + 1, step),)
        return lambda x: x[cut]
    return lambda x: x.index_select(dim, index)


def _running_max(taps):
    """The max over the taps and which tap (p * KW + q) holds it; a later tap must be strictly
    larger to win, so ties go to the first cell in row-major order, as in torch."""
    _, first = next(taps)
    best = first.clone()                                                        # (N, C, OH, OW)
    chosen = torch.zeros(best.shape, dtype=torch.long)                          # (N, C, OH, OW)
    for k, values in taps:
        better = values > best
        torch.maximum(best, values, out=best)
        chosen.masked_fill_(better, k)
    return best, chosen


# -- upsampling -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UpAxis:
    """Where each output position along one axis reads the input, and with which weights."""
    size: int              # input length along this axis
    out: int               # output length
    scale: float           # input cells per output step: 1/scale_factor, in/out or (in-1)/(out-1)
    coord: torch.Tensor    # (out,) real-valued source coordinate of each output cell, before clamping
    taps: torch.Tensor     # (out, T) input indices read, clamped into the input; T = 1, 2 or 4
    weights: torch.Tensor  # (out, T) weight of each tap; every row sums to 1


@dataclass(frozen=True)
class Neighbour:
    """One input cell an output cell reads."""
    input_index: tuple     # (c, *spatial) of the input cell
    value: float
    weight: float          # product of the per-axis weights
    product: float         # weight * value


@dataclass(frozen=True)
class Sources:
    """Everything behind one upsampled value."""
    position: tuple        # (n, c, *spatial) of the output cell
    coord: tuple           # real-valued source coordinate per spatial axis
    taps: tuple            # per axis: the input indices read (repeats where the border clamps)
    weights: tuple         # per axis: their weights
    neighbours: tuple      # Neighbour per combination of taps, row-major
    total: float           # sum of the products; equals the module's output here

    def per_cell(self):
        """The neighbours with taps that the border clamps onto the same input cell added up: one
        Neighbour per distinct cell, in the order first read; their weights still sum to 1."""
        merged = {}
        for nb in self.neighbours:
            seen = merged.get(nb.input_index)
            merged[nb.input_index] = nb if seen is None else Neighbour(
                nb.input_index, nb.value, seen.weight + nb.weight, seen.product + nb.product)
        return tuple(merged.values())


@dataclass(frozen=True)
class UpsampleTrace:
    """An nn.Upsample forward pass, with our own source-point recomputation beside it."""
    module: nn.Module
    x: torch.Tensor        # the input (N, C, L) or (N, C, H, W)
    output: torch.Tensor   # module(x) under no_grad
    manual: torch.Tensor   # the same from explicit source coordinates and weights
    max_abs_error: float
    mode: str
    align_corners: bool
    dims: int              # 1 or 2 spatial dims
    axes: tuple            # (UpAxis for height, UpAxis for width); height trivial in 1D

    @property
    def batch(self):
        return self.x.shape[0]

    @property
    def channels(self):
        return self.x.shape[1]

    @property
    def in_spatial(self):
        return tuple(a.size for a in self.axes[2 - self.dims:])

    @property
    def out_spatial(self):
        return tuple(a.out for a in self.axes[2 - self.dims:])

    def sources(self, n, c, *pos):
        """The source point of output[n, c, *pos], the input cells around it and their weights.

        >>> up = nn.Upsample(scale_factor=2, mode="linear")
        >>> s = trace_upsample(up, torch.tensor([[[0.0, 4.0]]])).sources(0, 0, 1)
        >>> s.coord, s.taps, s.weights, s.total      # (1 + 0.5)/2 - 0.5 = 0.25
        ((0.25,), ((0, 1),), ((0.75, 0.25),), 1.0)
        """
        _check_position(n, c, pos, self.batch, self.channels, self.out_spatial, self.dims)
        i, j = _lift(pos, self.dims)
        h, w = self.axes
        x = self.x if self.dims == 2 else self.x.unsqueeze(2)
        x = x[n, c]                                                              # (H, W)
        neighbours, products = [], []
        for r, wr in zip(h.taps[i].tolist(), h.weights[i]):
            for s, ws in zip(w.taps[j].tolist(), w.weights[j]):
                weight = wr * ws
                products.append(weight * x[r, s])
                neighbours.append(Neighbour((c, *_drop((r, s), self.dims)), float(x[r, s]), float(weight),
                                            float(products[-1])))
        rows = [(a, k) for a, k in zip(self.axes, (i, j))][2 - self.dims:]
        return Sources(position=(n, c, *pos), coord=tuple(float(a.coord[k]) for a, k in rows),
                       taps=tuple(tuple(a.taps[k].tolist()) for a, k in rows),
                       weights=tuple(tuple(a.weights[k].tolist()) for a, k in rows),
                       neighbours=tuple(neighbours), total=float(torch.stack(products).sum()))


def trace_upsample(module, x):
    """Run nn.Upsample and recompute every output cell from its source coordinate and weights.

    src = i·scale (nearest, align_corners) or (i + 0.5)·scale − 0.5 (pixel centres); y = sum_k w_k x[k]

    Args:
        module: nn.Upsample with mode nearest, nearest-exact, linear, bilinear or bicubic; size or
            scale_factor; align_corners; recompute_scale_factor. Not modified.
        x: float tensor (N, C, L) for nearest/linear or (N, C, H, W) for nearest/bilinear/bicubic.

    Shape:
        output and manual are (N, C, L_out) or (N, C, H_out, W_out).

    Returns:
        UpsampleTrace with output, manual, max_abs_error, axes and sources(n, c, *pos).

    >>> t = trace_upsample(nn.Upsample(scale_factor=2), torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    >>> t.manual.shape, t.max_abs_error
    (torch.Size([1, 1, 4, 4]), 0.0)
    """
    require_module(module, (nn.Upsample,), "trace_upsample")
    require_tensor(x)
    mode = module.mode
    if mode not in UPSAMPLE_MODES:
        raise ExplorerError(f"Mode {mode!r} is not covered here; choose one of {', '.join(UPSAMPLE_MODES)}.")
    want = {"linear": (3,), "bilinear": (4,), "bicubic": (4,)}.get(mode, (3, 4))
    if x.dim() not in want:
        layouts = " or ".join("(N, C, L)" if d == 3 else "(N, C, H, W)" for d in want)
        raise ExplorerError(f"Mode {mode!r} needs an input of shape {layouts}; got {tuple(x.shape)}. "
                            "Upsample needs the batch dim: for one sample use x.unsqueeze(0).")
    _require_nonempty(x)
    dims = x.dim() - 2
    if mode.startswith("nearest") and module.align_corners is not None:
        raise ExplorerError("align_corners only applies to linear, bilinear and bicubic; leave it as None "
                            f"for {mode!r}.")
    align = bool(module.align_corners)
    sizes, factors = _up_sizes(module, x.shape[2:], dims)

    try:
        output = no_grad_forward(module, x)
    except (RuntimeError, ValueError) as e:
        raise ExplorerError(f"PyTorch rejected this layer and input: {e}") from None

    opmath = x.dtype
    if mode.startswith("nearest"):
        vectorised = dims == 2 and (sum(sizes) <= 128 or (
            x.shape[1] > 3 and x.is_contiguous(memory_format=torch.channels_last)))
        axes = tuple(_nearest_axis(size, out, mode == "nearest-exact", sf, opmath, vectorised)
                     for size, out, sf in zip(x.shape[2:], sizes, factors))
    else:
        axes = tuple(_up_axis(size, out, mode, align, sf, opmath) for size, out, sf in zip(x.shape[2:], sizes, factors))
    if dims == 1:
        axes = (UpAxis(1, 1, 1.0, torch.zeros(1, dtype=opmath), torch.zeros(1, 1, dtype=torch.long),
                       torch.ones(1, 1, dtype=opmath)),) + axes
    h, w = axes
    x4 = x if dims == 2 else x.unsqueeze(2)                                       # (N, C, H, W)
    rows = _resample(x4, h, 2)                                                    # (N, C, OH, W)
    manual = _resample(rows, w, 3).reshape(output.shape)                         # (N, C, OH, OW)
    return UpsampleTrace(module=module, x=x, output=output, manual=manual, max_abs_error=_error(output, manual),
                         mode=mode, align_corners=align, dims=dims, axes=axes)


def source_formula(trace):
    """How an output index i maps to a source coordinate, per spatial axis, with the scale in numbers."""
    names = ["row", "col"] if trace.dims == 2 else ["x"]
    lines = []
    for name, a in zip(names, trace.axes[2 - trace.dims:]):
        s = f"{a.scale:.6g}"
        if trace.mode == "nearest":
            rule = f"src = i·{s}, read x[⌊src⌋]"
        elif trace.mode == "nearest-exact":
            rule = f"src = (i + 0.5)·{s} − 0.5, read the nearest cell ⌊src + 0.5⌋"
        elif trace.align_corners:
            rule = f"src = i·{s} with {s} = ({a.size} − 1)/({a.out} − 1)"
        elif trace.mode == "bicubic":
            rule = f"src = (i + 0.5)·{s} − 0.5; taps past the border repeat the edge cell"
        else:
            rule = f"src = (i + 0.5)·{s} − 0.5, raised to 0 where it falls left of the first pixel centre"
        lines.append(f"{name}: {rule}")
    return lines


def _up_sizes(module, spatial, dims):
    """Output size per spatial axis, and the scale factor torch maps coordinates with (or None)."""
    size, sf = module.size, module.scale_factor
    if (size is None) == (sf is None):
        raise ExplorerError("Set exactly one of size or scale_factor on nn.Upsample.")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dims
        factors = (None,) * dims
        if module.recompute_scale_factor:
            raise ExplorerError("recompute_scale_factor only makes sense with scale_factor; remove it or use "
                                "scale_factor instead of size.")
    else:
        factors = tuple(sf) if isinstance(sf, (tuple, list)) else (sf,) * dims
        sizes = tuple(math.floor(n * f) for n, f in zip(spatial, factors))
        if module.recompute_scale_factor:
            factors = (None,) * len(factors)  # the coordinates then use in/out instead
    if len(sizes) != dims or len(factors) != dims:
        given = len(factors) if size is None else len(sizes)
        raise ExplorerError(f"The input has {dims} spatial dim(s) but the layer's size/scale_factor has "
                            f"{given}; give one value per dim.")
    for n, o in zip(spatial, sizes):
        if o < 1:
            raise ExplorerError(f"An input length of {n} would become {o} output cells; use a larger "
                                "scale_factor or size (at least 1 cell).")
    return sizes, factors


def _up_axis(size, out, mode, align, sf, opmath):
    """Source coordinates, taps and weights along one linear or cubic axis, in torch's precision."""
    scale = _scale(size, out, align, sf, opmath)
    i = torch.arange(out, dtype=opmath)                                           # (out,)
    last = size - 1
    coord = scale * i if align else scale * (i + 0.5) - 0.5                       # (out,)
    if mode == "bicubic":
        base = _floor(coord).clamp(max=last)                                     # (out,)
        t = (coord - base).clamp(0, 1)[:, None]                                   # (out, 1)
        # the cubic kernel at the four taps' distances 1 + t, t, 1 - t and 2 - t
        weights = torch.cat([_cubic_far(t + 1), _cubic_near(t), _cubic_near(1 - t), _cubic_far((1 - t) + 1)],
                            1)                                                    # (out, 4)
        taps = (base[:, None] + torch.arange(-1, 3)).clamp(0, last)               # (out, 4)
        return UpAxis(size, out, float(scale), coord, taps, weights)
    if out == size:  # torch copies when a linear axis keeps its size
        coord = i
    real = coord if align else coord.clamp(min=0)
    base = _floor(real).clamp(max=last)                                           # (out,)
    lam = (real - base).clamp(0, 1)                                               # (out,)
    taps = torch.stack([base, base + (base < last)], 1)                           # (out, 2)
    return UpAxis(size, out, float(scale), coord, taps, torch.stack([1 - lam, lam], 1))


def _nearest_axis(size, out, exact, sf, opmath, vectorised):
    """The one cell each output position copies along one axis.

    torch has two kernels that round differently: the vectorised one (small 2D outputs, or channels-last
    input with more than 3 channels) works in float32 and copies exactly at 1x and 2x; the generic one
    works in the input's precision.
    """
    i = torch.arange(out)                                                         # (out,)
    if vectorised and not exact and out in (size, 2 * size):
        scale = torch.tensor(size / out, dtype=opmath)
        taps = i // (out // size)
    elif vectorised:
        scale = _scale(size, out, False, sf, torch.float32)
        taps = _floor((i + 0.5) * scale.double()) if exact else _floor(i * scale)
    else:
        scale = _scale(size, out, False, sf, opmath)
        real = scale * (i.to(opmath) + 0.5) - 0.5
        taps = _floor(real.clamp(min=0) + 0.5) if exact else _floor(scale * i.to(opmath))
    coord = (scale * (i + 0.5) - 0.5 if exact else scale * i).to(opmath)          # (out,)
    return UpAxis(size, out, float(scale), coord, taps.clamp(max=size - 1)[:, None],
                  torch.ones(out, 1, dtype=opmath))


def _resample(x, a, dim):
    """Interpolate along one dim: out[.., i, ..] = sum over taps k of weights[i, k] * x[.., taps[i, k], ..].

    Along a short axis the weights are laid out as the (out, size) matrix that holds each output cell's
    weights at its taps' columns (added up where the border clamps two taps onto one cell), applied in one
    product: the same weighted sums, without gathering a shifted copy of x per tap (a copy per tap would
    cost more than the module itself). A long axis, where that matrix would be mostly zeros, gathers.
    """
    if a.size > MATRIX_AXIS:
        shape = [1] * x.dim()
        shape[dim] = a.out
        return sum(x.index_select(dim, a.taps[:, k]) * a.weights[:, k].view(shape) for k in range(a.taps.shape[1]))
    weights = x.new_zeros(a.out, a.size).scatter_add_(1, a.taps, a.weights.to(x.dtype))    # (out, size)
    return weights @ x if dim == 2 else x @ weights.T            # (N, C, out, W) or (N, C, H, out)


def _cubic_near(d):
    """Cubic convolution kernel for distances |d| <= 1."""
    return ((CUBIC_A + 2) * d - (CUBIC_A + 3)) * d * d + 1


def _cubic_far(d):
    """Cubic convolution kernel for distances 1 < |d| < 2."""
    return ((CUBIC_A * d - 5 * CUBIC_A) * d + 8 * CUBIC_A) * d - 4 * CUBIC_A


def _scale(size, out, align, sf, dtype):
    """torch's area_pixel_compute_scale, rounded to the dtype it computes in."""
    if align:
        value = torch.tensor(float(size - 1), dtype=dtype) / (out - 1) if out > 1 else torch.tensor(0.0, dtype=dtype)
    elif sf is not None and sf > 0:
        value = torch.tensor(1.0 / sf, dtype=dtype)
    else:
        value = torch.tensor(float(size), dtype=dtype) / out
    return value


def _floor(t):
    """floor as torch's kernels take it (floorf): through float32, even for float64 coordinates."""
    return torch.floor(t.float()).long()


# -- shared -----------------------------------------------------------------------------------------

def _require_nonempty(x):
    if x.numel() == 0:
        raise ExplorerError(f"The input has shape {tuple(x.shape)}, which holds no values; every dim must "
                            "be at least 1.")


def _error(output, manual):
    """max_abs_error, where equal non-finite values (e.g. NaN from x^p of a negative x) count as agreeing."""
    error = max_abs_error(output, manual)
    if math.isfinite(error):
        return error
    same = (output == manual) | (output.isnan() & manual.isnan())
    return max_abs_error(torch.where(same, 0, output), torch.where(same, 0, manual))


def _lift(pos, dims):
    return tuple(pos) if dims == 2 else (0, pos[0])


def _drop(idx, dims):
    """An internal (row, col) pair back in the layer's own dimensionality."""
    return tuple(idx) if dims == 2 else (idx[1],)


def _check_position(n, c, pos, batch, channels, out_spatial, dims):
    if not 0 <= n < batch:
        raise ExplorerError(f"Batch index {n} is out of range: the batch has {batch} item(s).")
    if not 0 <= c < channels:
        raise ExplorerError(f"Channel {c} is out of range: the input has {channels} channel(s) "
                            f"(0 to {channels - 1}).")
    if len(pos) != dims:
        raise ExplorerError(f"A position in this {dims}D output needs {dims} coordinate(s); got {len(pos)}.")
    if not all(0 <= p < s for p, s in zip(pos, out_spatial)):
        raise ExplorerError(f"Position {tuple(pos)} is outside the output of size {out_spatial}.")
