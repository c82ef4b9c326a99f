"""Figures for the Convolution page: the sliding window, the channel stack, the group wiring."""
import numpy as np
import plotly.graph_objects as go

from .spec import Spec, returns_figure
from .theme import (ACCENT, HIGHLIGHT, PADDING, add_player, as_numpy, card, compact, downsample, evenly_spaced, finish,
                    grid_axes, heatmap, outline_dict, outline_trace, symmetric_range)

MAX_FRAMES = 120
MAX_STACK_CHANNELS = 6
SMALL = 49  # in the small multiples of the channel stack, more numbers than this overlap
# Larger outputs step through one block of this many positions per side: a browser animates a
# few hundred cells per frame smoothly, not a whole 512x512 map.
ZOOM = {1: 48, 2: 12}
OVERVIEW_CAP = 96  # cells per side of a map drawn whole; larger maps show each patch by its extreme
OVERVIEW_CLICKS = 2  # index of the overview's clickable layer
CLICK_GRID = 32
STACK_CAP = 48     # the same for the small multiples of the channel stack


def _batched_out(trace, n, c_out):
    out = as_numpy(trace.output)
    if out.ndim == trace.dims + 1:
        out = out[None]
    out = out[n, c_out]
    return out if trace.dims == 2 else out[None, :]                      # (OH, OW)


def kernel_of(trace, c_out, c_in):
    """The 2D kernel slice that connects input channel c_in to output channel c_out."""
    w = as_numpy(trace.module.weight)
    if trace.transposed:
        k = w[c_in, c_out % trace.out_per_group]
    else:
        k = w[c_out, c_in % trace.in_per_group]
    return k if trace.dims == 2 else k[None, :]


def zoomed(trace):
    """Whether the output is too large to step through whole (the stepper then shows one block)."""
    side = ZOOM[trace.dims]
    return any(s > side for s in trace.out_spatial)


def zoom_block(trace, start=(0, 0)):
    """The half-open output block ((r0, r1), (c0, c1)) the stepper shows, from its first position
    `start` ((row, col); a 1D layer uses only col), clamped so the block stays inside the output."""
    side = ZOOM[trace.dims]
    h, w = trace.axes
    r, c = start if trace.dims == 2 else (0, start[-1])
    r0 = min(max(0, r), max(0, h.out - side))
    c0 = min(max(0, c), max(0, w.out - side))
    return (r0, min(h.out, r0 + side)), (c0, min(w.out, c0 + side))


@returns_figure
def stepper(trace, n=0, c_out=0, c_in=None, max_frames=MAX_FRAMES, block=None):
    """Input, kernel and output side by side; frames move the window (or the scattered kernel).

    Forward: each frame outlines the window on the padded input and writes one more output cell.
    Transposed: each frame takes one input cell and adds its scaled kernel into the output.
    `block` (see zoom_block) limits the steps to one block of output positions; a large output
    gets its first block by default.
    """
    _, chans = trace.group_of(c_out)
    c_in = chans[0] if c_in is None else c_in
    if block is None:
        block = zoom_block(trace)
    return (_scatter_stepper if trace.transposed else _window_stepper)(trace, n, c_out, c_in, max_frames, block)


def _coords(n_cells, before):
    return np.arange(-before, n_cells - before)


def _window_stepper(trace, n, c_out, c_in, max_frames, block):
    h, w = trace.axes
    (r0, r1), (c0, c1) = block
    padded = as_numpy(trace.padded_input(n)[c_in])                         # (H_pad, W_pad)
    ys, xs = _coords(padded.shape[0], h.pad_before), _coords(padded.shape[1], w.pad_before)
    if (r1 - r0, c1 - c0) != (h.out, w.out):  # a block: only the padded cells its windows read
        pr = slice(r0 * h.stride, (r1 - 1) * h.stride + h.span)
        pc = slice(c0 * w.stride, (c1 - 1) * w.stride + w.span)
        padded, ys, xs = padded[pr, pc], ys[pr], xs[pc]
    kernel = kernel_of(trace, c_out, c_in)
    out = _batched_out(trace, n, c_out)[r0:r1, c0:c1]
    oh, ow = out.shape
    lo, hi = symmetric_range(padded)
    olo, ohi = symmetric_range(out)
    klo, khi = symmetric_range(kernel)
    one_d = trace.dims == 1

    fig = Spec.subplots(rows=1, cols=3, column_widths=[0.45, 0.2, 0.35] if not one_d else [0.5, 0.15, 0.35],
                        subplot_titles=(f"input channel {c_in} (padding shaded)", f"kernel w[{c_out}, {c_in % trace.in_per_group}]"
                                        if not trace.transposed else "kernel", f"output channel {c_out}"),
                        horizontal_spacing=0.06)
    is_pad = ((ys < 0) | (ys >= h.size))[:, None] | ((xs < 0) | (xs >= w.size))[None, :]
    shown = np.where(np.isnan(padded), 0.0, padded)
    fig.add_trace(heatmap(shown, zmin=lo, zmax=hi, x=xs, y=ys, name="input"), 1, 1)
    if is_pad.any():
        fig.add_trace(go.Heatmap(z=np.where(is_pad, 1.0, np.nan), x=xs, y=ys, colorscale=[[0, PADDING], [1, PADDING]],
                                 showscale=False, hoverinfo="skip", xgap=1, ygap=1), 1, 1)
    fig.add_trace(heatmap(kernel, zmin=klo, zmax=khi, name="kernel"), 1, 2)
    fig.add_trace(heatmap(np.full_like(out, np.nan), zmin=olo, zmax=ohi, name="output",
                          x=np.arange(c0, c1), y=np.arange(r0, r1)), 1, 3)
    out_idx = len(fig.data) - 1
    fig.add_trace(outline_trace([]), 1, 1)
    fig.add_trace(outline_trace([], color=ACCENT), 1, 3)
    win_idx, cell_idx = len(fig.data) - 2, len(fig.data) - 1
    for col, (nr, nc) in zip((1, 2, 3), (padded.shape, kernel.shape, out.shape)):
        grid_axes(fig, 1, col, nr, nc)
    if one_d:
        for col in (1, 2, 3):
            fig.update_yaxes(showticklabels=False, row=1, col=col)

    positions = [(i, j) for i in range(r0, r1) for j in range(c0, c1)]
    keep = evenly_spaced(len(positions), max_frames)
    frames, labels = [], []
    order = np.arange(oh * ow).reshape(oh, ow)
    for k in keep:
        i, j = positions[k]
        revealed = np.where(order <= k, out, np.nan)
        cells = [(r - h.pad_before, c - w.pad_before) for r, c in trace.receptive_field(*((i, j) if not one_d else (j,)))]
        frames.append(dict(name=str(k), traces=[out_idx, win_idx, cell_idx], data=[
            dict(type="heatmap", z=compact(revealed)), outline_dict(cells), outline_dict([(i, j)], color=ACCENT)]))
        labels.append(f"({j})" if one_d else f"({i},{j})")
    _apply_first(fig, frames[0], (out_idx, win_idx, cell_idx))
    finish(fig, height=280 if one_d else 480)
    return add_player(fig, frames, labels, prefix="output position ")


def _scatter_stepper(trace, n, c_out, c_in, max_frames, block):
    h, w = trace.axes
    (r0, r1), (c0, c1) = block
    cells, partials = trace.scatter_steps(n, c_out, cap=max_frames, region=block)
    partials = as_numpy(partials)
    x = as_numpy(trace._batched_x()[n, c_in])                              # (H, W)
    rows = [i for i, _ in cells] or [0]
    cols = [j for _, j in cells] or [0]
    ir, ic = slice(min(rows), max(rows) + 1), slice(min(cols), max(cols) + 1)  # the cells that scatter
    x, xr, xc = x[ir, ic], np.arange(h.size)[ir], np.arange(w.size)[ic]
    kernel = kernel_of(trace, c_out, c_in)
    out = _batched_out(trace, n, c_out)[r0:r1, c0:c1]
    lo, hi = symmetric_range(x, out, partials)
    klo, khi = symmetric_range(kernel)
    one_d = trace.dims == 1
    fig = Spec.subplots(rows=1, cols=3, column_widths=[0.25, 0.2, 0.55],
                        subplot_titles=(f"input channel {c_in}", "kernel",
                                        f"output channel {c_out}: running sum (bias added at the end)"),
                        horizontal_spacing=0.06)
    fig.add_trace(heatmap(x, zmin=lo, zmax=hi, name="input", x=xc, y=xr), 1, 1)
    fig.add_trace(heatmap(kernel, zmin=klo, zmax=khi, name="kernel"), 1, 2)
    fig.add_trace(heatmap(np.zeros_like(partials[0]), zmin=lo, zmax=hi, name="running sum",
                          x=np.arange(c0, c1), y=np.arange(r0, r1)), 1, 3)
    fig.add_trace(outline_trace([]), 1, 1)
    fig.add_trace(outline_trace([], color=ACCENT), 1, 3)
    ids = (2, 3, 4)
    for col, (nr, nc) in zip((1, 2, 3), (x.shape, kernel.shape, out.shape)):
        grid_axes(fig, 1, col, nr, nc)
    if one_d:
        for col in (1, 2, 3):
            fig.update_yaxes(showticklabels=False, row=1, col=col)
    frames, labels = [], []
    for k, (i, j) in enumerate(cells):
        footprint = [(r, c) for r, c in trace.receptive_field(*((i, j) if not one_d else (j,)))
                     if r0 <= r < r1 and c0 <= c < c1]
        frames.append(dict(name=str(k), traces=list(ids), data=[
            dict(type="heatmap", z=compact(partials[k])), outline_dict([(i, j)]), outline_dict(footprint, color=ACCENT)]))
        labels.append(f"x[{j}]" if one_d else f"x[{i},{j}]")
    if not frames:  # every kernel copy is cropped away: nothing scatters into the output
        return finish(fig, height=280 if one_d else 480)
    _apply_first(fig, frames[0], ids)
    finish(fig, height=280 if one_d else 480)
    return add_player(fig, frames, labels, prefix="scattering ")


@returns_figure
def overview(trace, n=0, c_out=0, c_in=0, block=None):
    """The whole input channel and output channel, every k-th cell when large, with the block the
    stepper shows outlined on the output."""
    x = as_numpy(trace._batched_x()[n, c_in])                              # (H, W)
    out = _batched_out(trace, n, c_out)
    fig = Spec.subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=(
        f"input channel {c_in} ({'×'.join(map(str, trace.in_spatial))})",
        f"output channel {c_out} ({'×'.join(map(str, trace.out_spatial))})"))
    for col, (z, name) in enumerate(((x, "input"), (out, "output")), 1):
        small, rows, cols = downsample(z, OVERVIEW_CAP)
        lo, hi = symmetric_range(small)
        fig.add_trace(heatmap(small, zmin=lo, zmax=hi, x=cols, y=rows, name=f"{name} (whole)", text=False,
                              xgap=0, ygap=0), 1, col)
        if trace.dims == 2:
            grid_axes(fig, 1, col, 99, 99)
    # a heatmap cannot be clicked, a marker can: a grid of invisible markers over the output, no
    # finer than CLICK_GRID per side (thousands of SVG markers would stall the browser)
    r, c = np.meshgrid(*(np.unique(np.linspace(0, len(a) - 1, min(len(a), CLICK_GRID)).round().astype(int))
                         for a in (rows, cols)), indexing="ij")
    r, c = rows[r], cols[c]
    fig.add_trace(go.Scatter(x=c.ravel(), y=r.ravel(), mode="markers", name="click to step here",
                             marker=dict(size=8, symbol="square", opacity=0.01),
                             hovertemplate="output row %{y}, column %{x}<br>click: step through the block "
                                           "around here<extra></extra>"), 1, 2)
    if block is not None:
        (r0, r1), (c0, c1) = block
        fig.add_trace(go.Scatter(x=[c0 - .5, c1 - .5, c1 - .5, c0 - .5, c0 - .5],
                                 y=[r0 - .5, r0 - .5, r1 - .5, r1 - .5, r0 - .5], mode="lines",
                                 line=dict(color=HIGHLIGHT, width=3), name="stepped block",
                                 hoverinfo="skip"), 1, 2)
    if trace.dims == 1:
        fig.update_yaxes(showticklabels=False)
    return finish(fig, height=200 if trace.dims == 1 else 460)


def _apply_first(fig, frame, ids):
    """Start the figure in the state of its first frame."""
    for idx, data in zip(ids, frame["data"]):
        fig.data[idx].update({k: v for k, v in data.items() if k in ("z", "x", "y")})


@returns_figure
def channel_stack(trace, n=0, c_out=0, max_channels=MAX_STACK_CHANNELS):
    """Each input channel of c_out's group, its kernel slice, and what it adds; then their sum.

    This is the 3D picture a flat drawing hides: an output channel is a sum over input channels.
    """
    _, chans = trace.group_of(c_out)
    shown = chans[:max_channels]
    contrib = as_numpy(trace.channel_contributions(n, c_out))
    if trace.dims == 1:
        contrib = contrib[:, None, :]
    x = as_numpy(trace._batched_x()[n])                                     # (C, H, W)
    out = _batched_out(trace, n, c_out)
    bias = trace._bias(c_out)
    rows = len(shown) + 1
    titles = []
    for c in shown:
        titles += [f"input channel {c}", f"kernel slice for channel {c}", f"channel {c} contributes"]
    titles += ["", "", f"sum of {len(chans)} contributions + bias {bias:.3g} = output channel {c_out}"]
    fig = Spec.subplots(rows=rows, cols=3, subplot_titles=titles, vertical_spacing=0.06 if rows < 6 else 0.03,
                        horizontal_spacing=0.06)
    lo, hi = symmetric_range(x[shown], contrib, out)
    def thumb(z, name):
        small, r_idx, c_idx = downsample(z, STACK_CAP)
        return heatmap(small, zmin=lo, zmax=hi, name=name, text=small.size <= SMALL, x=c_idx, y=r_idx)

    for r, c in enumerate(shown, 1):
        k = kernel_of(trace, c_out, c)
        klo, khi = symmetric_range(k)
        fig.add_trace(thumb(x[c], f"x[{c}]"), r, 1)
        fig.add_trace(heatmap(k, zmin=klo, zmax=khi, name=f"w[{c}]", text=k.size <= SMALL), r, 2)
        fig.add_trace(thumb(contrib[chans.index(c)], f"part {c}"), r, 3)
    fig.add_trace(thumb(out, "output"), rows, 3)
    for r in range(1, rows + 1):
        for col in (1, 2, 3):
            grid_axes(fig, r, col, 99, 99)
            if trace.dims == 1:
                fig.update_yaxes(showticklabels=False, row=r, col=col)
    fig.update_xaxes(visible=False, row=rows, col=1)
    fig.update_yaxes(visible=False, row=rows, col=1)
    fig.update_xaxes(visible=False, row=rows, col=2)
    fig.update_yaxes(visible=False, row=rows, col=2)
    per_row = 110 if trace.dims == 1 else 200
    return finish(fig, height=per_row * rows + 60)


@returns_figure
def group_wiring(trace):
    """Which input channels feed which output channels: block-diagonal when groups > 1."""
    C, O = trace.in_channels, trace.out_channels
    z = np.full((O, C), np.nan)
    for o in range(O):
        g, chans = trace.group_of(o)
        z[o, chans] = g
    text = [[f"g{int(v)}" if v == v else "" for v in row] for row in z]
    fig = Spec(go.Heatmap(z=z, text=text, texttemplate="%{text}", colorscale="Turbo", showscale=False,
                               xgap=2, ygap=2, zmin=0, zmax=max(trace.groups - 1, 1),
                               hovertemplate="output %{y} reads input %{x}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text="output channel", dtick=1)
    fig.update_xaxes(title_text="input channel", dtick=1, side="top")
    kind = "depthwise" if trace.groups == C and trace.groups > 1 else f"{trace.groups} group(s)"
    return finish(fig, height=min(420, 120 + 28 * O),
                  title=f"Channel wiring: {kind}, each output reads {trace.in_per_group} input channel(s)")


@returns_figure
def kernels(trace, max_rows=8, max_cols=8):
    """The whole weight tensor as a grid of 2D kernel slices (rows = output channels)."""
    w = as_numpy(trace.module.weight)
    if trace.transposed:  # stored (C_in, O/G, K...): show it per output channel like a forward conv
        O = trace.out_channels
        w = np.stack([np.stack([w[c, o % trace.out_per_group] for c in trace.group_of(o)[1]]) for o in range(O)])
    if trace.dims == 1:
        w = w[:, :, None, :]
    O, Cg = w.shape[:2]
    ro, co = min(O, max_rows), min(Cg, max_cols)
    fig = Spec.subplots(rows=ro, cols=co, horizontal_spacing=0.02, vertical_spacing=0.04,
                        subplot_titles=[f"out {o} ← in {trace.group_of(o)[1][c]}" for o in range(ro) for c in range(co)])
    lo, hi = symmetric_range(w)
    for o in range(ro):
        for c in range(co):
            fig.add_trace(heatmap(w[o, c], zmin=lo, zmax=hi, text=w[o, c].size <= 25), o + 1, c + 1)
            grid_axes(fig, o + 1, c + 1, 99, 99)
            fig.update_xaxes(showticklabels=False, row=o + 1, col=c + 1)
            fig.update_yaxes(showticklabels=False, row=o + 1, col=c + 1)
    return finish(fig, height=90 + ro * (70 if trace.dims == 1 else 120))


@returns_figure
def preview():
    """Home-page card: a Sobel kernel finding the vertical strokes of a digit 7 (a real Conv2d)."""
    import torch
    from torch import nn

    from ..conv import trace_conv
    from ..examples.conv import input_preset, kernel_preset
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(kernel_preset("edge (Sobel x)", 3, 2).float().view(1, 1, 3, 3))
    t = trace_conv(conv, input_preset("digit 7", 1).float().unsqueeze(0))
    fig = Spec(heatmap(as_numpy(t.output[0, 0]), text=False))
    fig.update_yaxes(autorange="reversed", scaleanchor="x")
    return card(fig)
