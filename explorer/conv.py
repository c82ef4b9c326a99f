"""Convolution, one window at a time.

    y[n, o, i, j] = b[o] + sum_{c in group(o)} sum_{p, q} x_pad[n, c, i*s + p*d, j*s + q*d] * w[o, c, p, q]

Deep-learning "convolution" is cross-correlation: the kernel slides over the input unflipped.
A transposed convolution runs the other way: every input cell scatters a copy of the kernel,
scaled by its value, into the output, and overlapping copies add up.

Internally a 1D layer is a 2D layer of height 1, so one implementation serves both; every index a
trace hands out is in the layer's own dimensionality.
"""
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .errors import ExplorerError
from .validate import (add_batch_dim, max_abs_error, no_grad_forward, require_dtype_match,
                       require_module, require_tensor)

CONV_KINDS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)


@dataclass(frozen=True)
class Axis:
    """How one spatial axis of the input maps to the output."""
    size: int           # input length along this axis
    kernel: int         # kernel length
    stride: int
    dilation: int
    pad_before: int     # cells added before the input (forward) or cropped from the output (transposed)
    pad_after: int
    output_padding: int  # transposed only: extra cells added at the end of the output
    out: int            # output length

    @property
    def span(self):
        """How many input cells one window covers, gaps included."""
        return self.dilation * (self.kernel - 1) + 1


@dataclass(frozen=True)
class Term:
    """One product x * w that goes into an output value."""
    input_index: Optional[tuple]   # (c_in, *spatial) of the input cell, None for a padding cell
    kernel_index: tuple            # index into module.weight
    x: float
    w: float
    product: float
    padded_index: Optional[tuple]  # (c_in, *spatial) in the padded input (forward conv only)
    source_index: Optional[tuple]  # for reflect/replicate/circular padding: the cell it copies


@dataclass(frozen=True)
class Window:
    """Everything that makes one output value: its terms, the bias, and their sum."""
    position: tuple     # (n, c_out, *spatial) of the output cell
    terms: list         # list of Term
    bias: float
    total: float        # sum of products + bias; equals the module's output here


@dataclass(frozen=True)
class ConvTrace:
    """A convolution layer's forward pass, with our own step-by-step recomputation beside it."""
    module: nn.Module
    x: torch.Tensor          # the input as given (batched or not)
    output: torch.Tensor     # module(x), under no_grad
    manual: torch.Tensor     # the same from explicit windows (forward) or scattered kernels (transposed)
    max_abs_error: float
    transposed: bool
    dims: int                # 1 or 2 spatial dims
    axes: tuple              # (Axis for height, Axis for width); height is a size-1 axis for 1D
    groups: int
    in_per_group: int
    out_per_group: int

    # -- geometry -----------------------------------------------------------------------------
    @property
    def batch(self):
        return 1 if self.x.dim() == self.dims + 1 else self.x.shape[0]

    @property
    def out_channels(self):
        return self.out_per_group * self.groups

    @property
    def in_channels(self):
        return self.in_per_group * self.groups

    @property
    def out_spatial(self):
        return tuple(a.out for a in self.axes[2 - self.dims:])

    @property
    def in_spatial(self):
        return tuple(a.size for a in self.axes[2 - self.dims:])

    def group_of(self, c_out):
        """The group an output channel belongs to, and the input channels it reads."""
        g = c_out // self.out_per_group
        return g, list(range(g * self.in_per_group, (g + 1) * self.in_per_group))

    def receptive_field(self, *pos):
        """Forward conv: the padded-input cells (row, col) the kernel covers for output `pos`.

        Transposed conv: the output cells (row, col) the kernel scattered from input cell `pos`
        lands on, cropped cells left out.
        """
        (i, j) = self._lift(pos)
        h, w = self.axes
        if not self.transposed:
            return [(i * h.stride + p * h.dilation, j * w.stride + q * w.dilation)
                    for p in range(h.kernel) for q in range(w.kernel)]
        cells = []
        for p in range(h.kernel):
            for q in range(w.kernel):
                r, c = i * h.stride + p * h.dilation - h.pad_before, j * w.stride + q * w.dilation - w.pad_before
                if 0 <= r < h.out and 0 <= c < w.out:
                    cells.append((r, c))
        return cells

    def padded_input(self, n=0):
        """The input as the kernel sees it, padding cells included; NaN marks zero-padding cells
        so a figure can draw them apart. Shape (C_in, H_pad, W_pad), 2D even for a 1D layer."""
        xb = self._batched_x()[n:n + 1]                                    # (1, C, H, W)
        if self.transposed:
            return xb[0]
        mode = self.module.padding_mode
        out = _pad(xb, self.axes, mode)[0].clone()                         # (C, H_pad, W_pad)
        if mode == "zeros":
            h, w = self.axes
            _, rvalid = _padded_positions(h, mode)
            _, cvalid = _padded_positions(w, mode)
            out[:, ~(rvalid[:, None] & cvalid[None, :])] = float("nan")
        return out

    # -- one output value -----------------------------------------------------------------------
    def window(self, n, c_out, *pos):
        """The terms, bias and total behind output[n, c_out, *pos].

        >>> conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)
        >>> _ = conv.weight.data.copy_(torch.tensor([[[1.0, 0.0, -1.0]]]))
        >>> t = trace_conv(conv, torch.arange(1.0, 11.0).view(1, 1, 10))
        >>> t.window(0, 0, 0).total     # 0*1 (padding) + 1*0 + 2*(-1)
        -2.0
        """
        self._check_position(n, c_out, pos)
        i, j = self._lift(pos)
        terms = self._transposed_terms(n, c_out, i, j) if self.transposed else self._terms(n, c_out, i, j)
        bias = self._bias(c_out)
        dtype = self.output.dtype
        products = torch.tensor([t.product for t in terms], dtype=dtype)
        total = float(products.sum() + torch.tensor(bias, dtype=dtype))
        return Window(position=(n, c_out, *pos), terms=terms, bias=bias, total=total)

    def channel_contributions(self, n, c_out):
        """What each input channel of the group adds to output channel c_out, before the bias.

        Summing over the first axis and adding the bias gives output[n, c_out].
        Shape (C_in / groups, *out_spatial).
        """
        self._check_position(n, c_out, None)
        _, chans = self.group_of(c_out)
        xb = self._batched_x()[n:n + 1, chans]                               # (1, Cg, H, W)
        w = self._weight_2d()
        kh, kw = w.shape[-2:]
        parts = []
        for k, c in enumerate(chans):
            xk = xb[:, k:k + 1]                                              # (1, 1, H, W)
            if self.transposed:
                wk = w[c, c_out % self.out_per_group].view(1, 1, 1, kh, kw)
                parts.append(_scatter(xk, wk, self.axes, 1))
            else:
                wk = w[c_out, k].view(1, 1, 1, kh, kw)
                parts.append(_gather_conv(xk, wk, self.axes, self.module.padding_mode, 1))
        out = torch.cat([p[0] for p in parts])                               # (Cg, OH, OW)
        return out if self.dims == 2 else out[:, 0]

    def scatter_steps(self, n, c_out, cap=None, region=None):
        """Transposed conv: the output after each input cell of the group has scattered its kernel.

        Returns (cells, partials): `cells[k]` is the input (row, col) added at step k and
        `partials[k]` the running sum (bias excluded) of shape (OH, OW), 2D even for 1D layers.
        With `region` ((r0, r1), (c0, c1)), a half-open block of output rows and columns, only the
        input cells whose kernel lands in it take a step and partials cover just that block; the
        last partial is still the block's full sum, since no other cell reaches it.
        With `cap`, only up to `cap` evenly spread steps are kept (the last one always).
        """
        if not self.transposed:
            raise ExplorerError("Only a transposed convolution scatters its kernel; this layer slides windows.")
        self._check_position(n, c_out, None)
        h, w = self.axes
        (r0, r1), (c0, c1) = region or ((0, h.out), (0, w.out))
        _, chans = self.group_of(c_out)
        xb = self._batched_x()[n, chans]                                     # (Cg, H, W)
        wo = self._weight_2d()[chans, c_out % self.out_per_group]            # (Cg, KH, KW)
        running = torch.zeros(r1 - r0, c1 - c0, dtype=self.output.dtype)
        cells, partials = [], []
        for i in range(h.size):
            for j in range(w.size):
                landed = False
                for p in range(h.kernel):
                    for q in range(w.kernel):
                        r = i * h.stride + p * h.dilation - h.pad_before
                        c = j * w.stride + q * w.dilation - w.pad_before
                        if r0 <= r < r1 and c0 <= c < c1:
                            running[r - r0, c - c0] += (xb[:, i, j] * wo[:, p, q]).sum()
                            landed = True
                if landed:
                    cells.append((i, j))
                    partials.append(running.clone())
        if cap is not None and len(cells) > cap:
            keep = torch.linspace(0, len(cells) - 1, cap).round().long().unique().tolist()
            cells, partials = [cells[k] for k in keep], [partials[k] for k in keep]
        if not cells:
            return cells, running[None]
        return cells, torch.stack(partials)                                  # (steps, r1 - r0, c1 - c0)

    # -- helpers --------------------------------------------------------------------------------
    def _batched_x(self):
        x = self.x if self.x.dim() == self.dims + 2 else self.x.unsqueeze(0)
        return x if self.dims == 2 else x.unsqueeze(2)                       # (N, C, H, W)

    def _weight_2d(self):
        w = self.module.weight.detach()
        return w if self.dims == 2 else w.unsqueeze(2)                       # (.., .., KH, KW)

    def _bias(self, c_out):
        b = self.module.bias
        return 0.0 if b is None else float(b.detach()[c_out])

    def _lift(self, pos):
        return tuple(pos) if self.dims == 2 else (0, pos[0])

    def _drop(self, idx):
        """Turn an internal (c, row, col) index back into the layer's own (c, *spatial)."""
        return idx if self.dims == 2 else (idx[0], idx[2])

    def _check_position(self, n, c_out, pos):
        if not 0 <= n < self.batch:
            raise ExplorerError(f"Batch index {n} is out of range: the batch has {self.batch} item(s).")
        if not 0 <= c_out < self.out_channels:
            raise ExplorerError(f"Output channel {c_out} is out of range: the layer has "
                                f"{self.out_channels} output channel(s) (0 to {self.out_channels - 1}).")
        if pos is None:
            return
        if len(pos) != self.dims:
            raise ExplorerError(f"A position in this {self.dims}D output needs {self.dims} "
                                f"coordinate(s); got {len(pos)}.")
        for p, size in zip(pos, self.out_spatial):
            if not 0 <= p < size:
                raise ExplorerError(f"Position {tuple(pos)} is outside the output of size "
                                    f"{self.out_spatial}.")

    def _terms(self, n, c_out, i, j):
        h, w = self.axes
        mode = self.module.padding_mode
        xb = self._batched_x()[n]
        wt = self._weight_2d()[c_out]                                         # (Cg, KH, KW)
        _, chans = self.group_of(c_out)
        terms = []
        for k, c in enumerate(chans):
            for p in range(h.kernel):
                for q in range(w.kernel):
                    r = i * h.stride + p * h.dilation - h.pad_before
                    s = j * w.stride + q * w.dilation - w.pad_before
                    inside = 0 <= r < h.size and 0 <= s < w.size
                    if inside:
                        src = (r, s)
                    elif mode == "zeros":
                        src = None
                    else:
                        src = (_source(r, h.size, mode), _source(s, w.size, mode))
                    xv = xb[c, src[0], src[1]] if src is not None else torch.zeros((), dtype=xb.dtype)
                    wv = wt[k, p, q]
                    terms.append(Term(
                        input_index=self._drop((c, r, s)) if inside else None,
                        kernel_index=self._drop_kernel((c_out, k, p, q)),
                        x=float(xv), w=float(wv), product=float(xv * wv),
                        padded_index=self._drop((c, r + h.pad_before, s + w.pad_before)),
                        source_index=self._drop((c, *src)) if (src is not None and not inside) else None))
        return terms

    def _transposed_terms(self, n, c_out, i, j):
        h, w = self.axes
        xb = self._batched_x()[n]
        wt = self._weight_2d()
        o = c_out % self.out_per_group
        _, chans = self.group_of(c_out)
        terms = []
        for c in chans:
            for p in range(h.kernel):
                r = _scatter_source(i, p, h)
                if r is None:
                    continue
                for q in range(w.kernel):
                    s = _scatter_source(j, q, w)
                    if s is None:
                        continue
                    xv, wv = xb[c, r, s], wt[c, o, p, q]
                    terms.append(Term(input_index=self._drop((c, r, s)),
                                      kernel_index=self._drop_kernel((c, o, p, q)),
                                      x=float(xv), w=float(wv), product=float(xv * wv),
                                      padded_index=None, source_index=None))
        return terms

    def _drop_kernel(self, idx):
        return idx if self.dims == 2 else (idx[0], idx[1], idx[3])


def trace_conv(module, x):
    """Run a convolution layer and recompute its output window by window.

    Forward:    y = b + sum over the window of x_pad * w     (cross-correlation, kernel not flipped)
    Transposed: y = b + sum of kernels scattered by every input cell, scaled by its value

    Args:
        module: nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d or nn.ConvTranspose2d, any stride,
            padding (int, tuple, 'same', 'valid'), dilation, groups, bias, padding_mode,
            output_padding. Not modified.
        x: float tensor, (N, C_in, L) / (C_in, L) for 1D or (N, C_in, H, W) / (C_in, H, W) for 2D.

    Shape:
        output and manual have the shape the module returns.

    Returns:
        ConvTrace with output, manual, max_abs_error and window(n, c_out, *pos).

    >>> conv = nn.Conv2d(1, 1, 2, bias=False)
    >>> _ = conv.weight.data.copy_(torch.tensor([[[[-1.0, 1.0], [1.0, -1.0]]]]))
    >>> t = trace_conv(conv, torch.arange(1.0, 10.0).view(1, 1, 3, 3))
    >>> t.manual.shape, t.max_abs_error
    (torch.Size([1, 1, 2, 2]), 0.0)
    """
    require_module(module, CONV_KINDS, "trace_conv")
    require_tensor(x)
    require_dtype_match(module, x)
    dims = 1 if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)) else 2
    transposed = isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d))
    layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    xb, _ = add_batch_dim(x, dims + 2, layout)
    if xb.shape[1] != module.in_channels:
        raise ExplorerError(f"Input has {xb.shape[1]} channels but the layer expects {module.in_channels}.")
    x2 = xb if dims == 2 else xb.unsqueeze(2)                                # (N, C, H, W)
    axes = _axes(module, x2.shape[2:], dims, transposed)
    _check_sizes(module, axes, dims, transposed)

    try:
        output = no_grad_forward(module, x)
    except RuntimeError as e:  # a configuration our checks missed: still a message, never a traceback
        raise ExplorerError(f"PyTorch rejected this layer and input: {e}") from None

    w = module.weight.detach()
    w2 = w if dims == 2 else w.unsqueeze(2)                                   # 2D kernel
    groups = module.groups
    if transposed:
        manual = _scatter(x2, _group_view(w2, groups, transposed=True), axes, groups)
    else:
        manual = _gather_conv(x2, _group_view(w2, groups, transposed=False), axes, module.padding_mode, groups)
    if module.bias is not None:
        manual.add_(module.bias.detach().view(1, -1, 1, 1))                   # (N, C_out, OH, OW)
    manual = manual if dims == 2 else manual.squeeze(2)
    manual = manual.reshape(output.shape)

    return ConvTrace(module=module, x=x, output=output, manual=manual,
                     max_abs_error=max_abs_error(output, manual), transposed=transposed, dims=dims,
                     axes=axes, groups=groups, in_per_group=module.in_channels // groups,
                     out_per_group=module.out_channels // groups)


def output_size_formula(trace):
    """The output-size formula of each spatial axis, written with the layer's own numbers."""
    lines = []
    names = ["H", "W"] if trace.dims == 2 else ["L"]
    for name, a in zip(names, trace.axes[2 - trace.dims:]):
        if trace.transposed:
            lines.append(
                f"{name}_out = ({name}_in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1"
                f" = ({a.size} − 1)·{a.stride} − 2·{a.pad_before} + {a.dilation}·({a.kernel} − 1)"
                f" + {a.output_padding} + 1 = {a.out}")
        else:
            pad = f"{a.pad_before} + {a.pad_after}"
            lines.append(
                f"{name}_out = ⌊({name}_in + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride⌋ + 1"
                f" = ⌊({a.size} + {pad} − {a.dilation}·({a.kernel} − 1) − 1) / {a.stride}⌋ + 1 = {a.out}")
    return lines


# -- the math itself ------------------------------------------------------------------------------

def _group_view(w, groups, transposed):
    """Split the weight by group: (G, O/G, C/G, KH, KW) for both kinds of layer."""
    if transposed:
        c_in, o_g, kh, kw = w.shape
        return w.view(groups, c_in // groups, o_g, kh, kw).transpose(1, 2)  # (G, O/G, C/G, KH, KW)
    o, c_g, kh, kw = w.shape
    return w.view(groups, o // groups, c_g, kh, kw)                          # (G, O/G, C/G, KH, KW)


def _pad(x, axes, padding_mode):
    """The input with its padding made explicit: zeros, or copies of real cells for the other modes.

    x: (N, C, H, W). Returns (N, C, H + pads, W + pads).
    """
    h, w = axes
    N, C, H, W = x.shape
    if padding_mode == "zeros":
        padded = x.new_zeros(N, C, H + h.pad_before + h.pad_after, W + w.pad_before + w.pad_after)
        padded[:, :, h.pad_before:h.pad_before + H, w.pad_before:w.pad_before + W] = x
        return padded                                                        # (N, C, H_pad, W_pad)
    rows, _ = _padded_positions(h, padding_mode)                             # (H_pad,)
    cols, _ = _padded_positions(w, padding_mode)                             # (W_pad,)
    return x[:, :, rows[:, None], cols[None, :]]                             # (N, C, H_pad, W_pad)


def _gather_conv(x, w, axes, padding_mode, groups):
    """Every window of the padded input, explicitly, times the kernel, summed.

    x: (N, C, H, W); w: (G, O/G, C/G, KH, KW). Returns (N, O, OH, OW) without bias.
    """
    N, C = x.shape[:2]
    h, wa = axes
    padded = _pad(x, axes, padding_mode)                                     # (N, C, H_pad, W_pad)
    # unfold is a view: windows[n, c, i, j] is the span under output (i, j); ::dilation keeps the taps
    windows = padded.unfold(2, h.span, h.stride).unfold(3, wa.span, wa.stride)  # (N, C, OH', OW', SH, SW)
    windows = windows[:, :, :h.out, :wa.out, ::h.dilation, ::wa.dilation]    # (N, C, OH, OW, KH, KW)
    windows = windows.reshape(N, groups, C // groups, h.out, wa.out, h.kernel, wa.kernel)
    y = torch.einsum("ngcabkl,gockl->ngoab", windows, w)                     # (N, G, O/G, OH, OW)
    return y.reshape(N, -1, h.out, wa.out)                                   # (N, O, OH, OW)


def _scatter(x, w, axes, groups):
    """Every input cell adds its value times the kernel into the output, then the padding is cropped.

    x: (N, C, H, W); w: (G, O/G, C/G, KH, KW). Returns (N, O, OH, OW) without bias.
    """
    N, C, H, W = x.shape
    h, wa = axes
    xg = x.view(N, groups, C // groups, H, W)                                # (N, G, C/G, H, W)
    full_h = (H - 1) * h.stride + h.span + h.output_padding
    full_w = (W - 1) * wa.stride + wa.span + wa.output_padding
    full = x.new_zeros(N, groups, w.shape[1], full_h, full_w)                # (N, G, O/G, FH, FW)
    for p in range(h.kernel):
        for q in range(wa.kernel):
            # one kernel tap: every input cell's contribution lands stride apart, offset by the tap
            tap = torch.einsum("ngchw,goc->ngohw", xg, w[..., p, q])         # (N, G, O/G, H, W)
            r0, c0 = p * h.dilation, q * wa.dilation
            full[..., r0:r0 + (H - 1) * h.stride + 1:h.stride,
                 c0:c0 + (W - 1) * wa.stride + 1:wa.stride] += tap
    out = full[..., h.pad_before:h.pad_before + h.out, wa.pad_before:wa.pad_before + wa.out]
    return out.reshape(N, -1, h.out, wa.out)                                 # (N, O, OH, OW)


def _source(i, size, mode):
    """Which real input cell a padding position copies, for the non-zero padding modes."""
    if 0 <= i < size:
        return i
    if mode == "reflect":
        return -i if i < 0 else 2 * (size - 1) - i
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    return i % size  # circular


def _padded_positions(a, mode):
    pos = torch.arange(-a.pad_before, a.size + a.pad_after)                 # (size + pads,)
    return _map_positions(pos, a.size, mode)


def _map_positions(pos, size, mode):
    """(source index, whether the position lies inside the input) for each position."""
    inside = (pos >= 0) & (pos < size)
    if mode == "zeros":
        return pos.clamp(0, size - 1), inside
    if mode == "reflect":
        src = torch.where(pos < 0, -pos, torch.where(pos >= size, 2 * (size - 1) - pos, pos))
    elif mode == "replicate":
        src = pos.clamp(0, size - 1)
    else:
        src = pos.remainder(size)
    return src, inside


def _scatter_source(o, k, a):
    """Transposed conv: the input index whose kernel tap k lands on output index o, if any."""
    num = o + a.pad_before - k * a.dilation
    if num < 0 or num % a.stride:
        return None
    i = num // a.stride
    return i if i < a.size else None


def _axes(module, spatial, dims, transposed):
    """Per-axis geometry (height first); a 1D layer gets a trivial height axis."""
    def pick(v):
        v = tuple(v) if isinstance(v, (tuple, list)) else (v,) * dims
        return ((1,) + v) if dims == 1 else v

    k, s, d = pick(module.kernel_size), pick(module.stride), pick(module.dilation)
    axes = []
    if transposed:
        p, op = pick(module.padding), pick(module.output_padding)
        if dims == 1:
            p, op = (0, p[1]), (0, op[1])
        for i in range(2):
            out = (spatial[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
            axes.append(Axis(spatial[i], k[i], s[i], d[i], p[i], p[i], op[i], out))
        return tuple(axes)
    if module.padding == "same":
        total = [d[i] * (k[i] - 1) for i in range(2)]
        before = [t // 2 for t in total]
        after = [t - b for t, b in zip(total, before)]
    elif module.padding == "valid":
        before = after = [0, 0]
    else:
        before = after = list(pick(module.padding))
        if dims == 1:
            before = after = [0, before[1]]
    for i in range(2):
        out = (spatial[i] + before[i] + after[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1
        axes.append(Axis(spatial[i], k[i], s[i], d[i], before[i], after[i], 0, out))
    return tuple(axes)


def _check_sizes(module, axes, dims, transposed):
    names = ["height", "width"] if dims == 2 else [None, "length"]
    for name, a in zip(names, axes):
        if name is None:
            continue
        if a.out < 1:
            if transposed:
                raise ExplorerError(
                    f"The output {name} would be {a.out}: padding {a.pad_before} crops more than the "
                    f"transposed convolution produces. Lower the padding or enlarge the input.")
            raise ExplorerError(
                f"The input {name} is {a.size} but the kernel spans {a.span} cells (kernel {a.kernel}, "
                f"dilation {a.dilation}) and padding adds {a.pad_before + a.pad_after}: the window does not "
                f"fit. Make the input larger, the kernel or dilation smaller, or add padding.")
        if not transposed and module.padding_mode == "reflect" and max(a.pad_before, a.pad_after) >= a.size:
            raise ExplorerError(
                f"Reflect padding of {max(a.pad_before, a.pad_after)} needs an input {name} greater than "
                f"that; the input {name} is {a.size}. Lower the padding or use another padding mode.")
        if not transposed and module.padding_mode == "circular" and max(a.pad_before, a.pad_after) > a.size:
            raise ExplorerError(
                f"Circular padding of {max(a.pad_before, a.pad_after)} wraps around an input {name} of "
                f"only {a.size}. Lower the padding or use another padding mode.")
