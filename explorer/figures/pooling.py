"""Figures for the Pooling page: the sliding window, the window map, unpooling, upsampling, a comparison.

A 1D layer is drawn as a single row. Positions on input axes are input coordinates, so padding cells
sit at negative indices (or past the end), exactly where the trace's cells say they are.
"""
import numpy as np
import plotly.graph_objects as go

from ..errors import ExplorerError
from ..pooling import INPUT, OUTSIDE, PADDING, UNUSED, trace_pool
from .spec import Spec, returns_figure
from .theme import (ACCENT, HIGHLIGHT, PADDING as PADDING_COLOUR, add_player, as_numpy, card, evenly_spaced, finish,
                    grid_axes, heatmap, outline_dict, outline_trace, symmetric_range)

MAX_FRAMES = 120
REVEAL_CELLS = 144          # outputs up to this size fill in cell by cell as the stepper plays
POINTER_ROW = -0.38         # 1D upsampling: where the source pointer sits on the one row (its top edge)
MAX_MARKED = 256            # unpool view: outline winners and write indices up to this many output cells
MAX_TERMS = 9               # an equation with more terms than this is shortened with "…"
OUTSIDE_COLOUR = "rgba(128,128,128,0.12)"
DARK_INK = "#1a1a1a"
PAD_CELL = "#a6a6a6"        # opaque, so the dark "−∞" / "0" on padding reads in the light and the dark theme


@returns_figure
def pool_stepper(trace, n=0, c=0, max_frames=MAX_FRAMES):
    """Input (padding shaded) and output side by side; each frame outlines one window, marks the cell
    max pooling keeps, writes one more output cell, and puts that step's arithmetic in the title.

    Up to `max_frames` window positions, evenly spread (first and last kept). An output of more than
    REVEAL_CELLS cells is drawn whole from the start, so that frames carry only outlines and stay small.
    """
    h, w = trace.axes
    trace.window(n, c, *([0] * trace.dims))  # a bad n or c fails here, with the trace's message
    grid, roles, rows, cols = _input_grid(trace, n, c)
    out = _plane(trace.output, trace.dims, n, c)                           # (OH, OW)
    reveal = out.size <= REVEAL_CELLS
    lo, hi = symmetric_range(grid[~np.isnan(grid)], out)
    fig = Spec.subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.08,
                        subplot_titles=(f"input channel {c} (padding shaded)", f"output channel {c}"))
    fig.add_trace(heatmap(grid, zmin=lo, zmax=hi, x=cols, y=rows, name="input"), 1, 1)
    if (roles != INPUT).any():
        fig.add_trace(_shade(roles, rows, cols, "−∞" if trace.kind == "max" else "0"), 1, 1)
    fig.add_trace(heatmap(np.full_like(out, np.nan) if reveal else out, zmin=lo, zmax=hi, name="output"), 1, 2)
    fig.add_trace(outline_trace([]), 1, 1)
    fig.add_trace(outline_trace([], color=ACCENT, name="kept"), 1, 1)
    fig.add_trace(outline_trace([], color=ACCENT), 1, 2)
    ids = list(range(len(fig.data) - 4, len(fig.data)))  # output, window, kept cell, output cell
    ids = ids if reveal else ids[1:]
    grid_axes(fig, 1, 1, len(rows), len(cols))
    grid_axes(fig, 1, 2, h.out, w.out)
    _flatten_1d(fig, trace.dims, 2)

    order = np.arange(h.out * w.out).reshape(h.out, w.out)
    frames, labels = [], []
    for k in evenly_spaced(h.out * w.out, max_frames):
        i, j = divmod(k, w.out)
        win = trace.window(n, c, *_own((i, j), trace.dims))
        kept = [_lift(win.winner[1:], trace.dims)] if win.winner else []
        data = [_window_outline([_lift(cell.position, trace.dims) for cell in win.cells]),
                outline_dict(kept, color=ACCENT), outline_dict([(i, j)], color=ACCENT)]
        if reveal:
            data.insert(0, dict(type="heatmap", z=np.where(order <= k, out, np.nan).astype(np.float32)))
        frames.append(dict(name=str(k), traces=ids, layout=dict(title=dict(text=window_equation(win))), data=data))
        labels.append(_label((i, j), trace.dims))
    _start_at(fig, frames[0], ids)
    finish(fig, height=300 if trace.dims == 1 else 480, title=frames[0]["layout"]["title"]["text"])
    return add_player(fig, frames, labels, prefix="output position ")


def window_equation(window):
    """One pooling window's arithmetic as a line of text, e.g. "y[0, 1] = max(2, 4, 6, 8) = 8 from x[1, 3]"."""
    where = f"y[{', '.join(map(str, window.position[2:]))}]"
    seen = [cell for cell in window.cells if cell.role != "outside"]
    if window.kind == "max":
        values = _terms([f"{cell.value:g}" if cell.role == "input" else "−∞" for cell in seen], ", ")
        source = ", ".join(map(str, window.winner[1:]))
        return f"{where} = max({values}) = {window.result:.4g} from x[{source}] (index {window.flat_index})"
    inside = [cell.value for cell in seen if cell.role == "input"]
    if window.kind == "avg":
        counted = window.count == len(seen)  # padding cells join the count (and add 0 to the sum)
        values = _terms([f"{cell.value:g}" for cell in seen] if counted else [f"{v:g}" for v in inside], " + ")
        note = ""
        if window.divisor != window.count:
            note = " (divisor_override)"
        elif len(inside) < len(seen):
            note = " (padding counted)" if counted else " (padding not counted)"
        return f"{where} = ({values}) / {window.divisor:g} = {window.result:.4g}{note}"
    p = window.norm_type
    powers = _terms([f"{v:g}^{p:g}" for v in inside], " + ")
    scale = "" if window.divisor == 1 else f" / {window.divisor:.4g}"
    return f"{where} = ({powers}{scale})^(1/{p:g}) = {window.result:.4g}"


def window_story(trace, window):
    """What one window does, in words with its own numbers (markdown): which cell max pooling keeps and
    the index it reports, or the sum an average divides and the count it actually divides by."""
    seen = [cell for cell in window.cells if cell.role != "outside"]
    inside = [cell for cell in seen if cell.role == "input"]
    pads, past = len(seen) - len(inside), len(window.cells) - len(seen)
    edge = (f" The {past} tap(s) past the padding (a ceil_mode edge window) are not part of the window at all."
            if past else "")
    if window.kind == "max":
        row, col = _lift(window.winner[1:], trace.dims)
        width = trace.axes[1].size
        where = f"x[{', '.join(map(str, window.winner[1:]))}]"
        index = (f"{row}·{width} + {col} = {window.flat_index}" if trace.dims == 2 else f"{window.flat_index}")
        ties = sum(cell.value == window.result for cell in inside)
        return (f"The largest of the {len(inside)} input cell(s) is **{window.result:.6g}**, at {where}"
                + (f" (the first of {ties} equal maxima, in row-major order)" if ties > 1 else "")
                + f". `return_indices` reports it as the flat index {index}, which MaxUnpool uses to put it back."
                + (f" The {pads} padding cell(s) count as −∞, so they never win." if pads else "") + edge)
    if window.kind == "avg":
        total = f"The {len(inside)} input cell(s) add up to **{window.total:.6g}**"
        if window.divisor != window.count:
            how = (f"divided by divisor_override = **{window.divisor:g}** instead of the {window.count} cell(s) "
                   "the window counts")
        elif pads and window.count == len(seen):
            how = (f"divided by **{window.count}**: the {len(inside)} input cell(s) and the {pads} padding "
                   "cell(s), which add 0 to the sum but count (count_include_pad=True)")
        elif pads:
            how = (f"divided by **{window.count}**, the input cells only: the {pads} padding cell(s) are left "
                   "out of the count (count_include_pad=False)")
        else:
            how = f"divided by the **{window.count}** cell(s) of the window"
        return f"{total}, {how}: {window.total:.6g} / {window.divisor:g} = **{window.result:.6g}**.{edge}"
    p = window.norm_type
    kernel_cells = trace.axes[0].taps.shape[1] * trace.axes[1].taps.shape[1]
    summed = (f"The p-norm with p = {p:g}: the {len(inside)} input cell(s) raised to the power {p:g} add up to "
              f"**{window.total:.6g}**")
    if window.result != window.result:  # NaN
        why = (f"a negative input has no real power {p:g}" if window.total != window.total else
               f"that sum is negative (an odd power keeps the sign of a negative input), and a negative number has "
               f"no real power 1/{p:g}")
        return (f"{summed}: {why}, so torch returns **nan**. LP pooling is meant for non-negative inputs, such as "
                f"the output of a ReLU.{edge}")
    if window.divisor == 1:
        return f"{summed}, and {window.total:.6g}^(1/{p:g}) = **{window.result:.6g}**.{edge}"
    return (f"{summed}. The window holds only {window.count} of the kernel's {kernel_cells} cells, so torch "
            f"averages x^{p:g} over those {window.count} and scales back by {kernel_cells}, dividing the sum by "
            f"{window.count}/{kernel_cells}: ({window.total:.6g} / {window.divisor:.4g})^(1/{p:g}) = "
            f"**{window.result:.6g}**.{edge}")


@returns_figure
def window_map(trace):
    """Which input cells each window reads, one row per output position, for each spatial axis.

    Adaptive windows run from ⌊i·L/out⌋ to ⌈(i+1)·L/out⌉ − 1 (row labels give [start, end)); where
    they overlap, a column is filled in more than one row. Padding cells are lighter.
    """
    axes = trace.axes[2 - trace.dims:]
    names = ["height (rows)", "width (columns)"] if trace.dims == 2 else ["length"]
    fig = Spec.subplots(rows=1, cols=len(axes), subplot_titles=names, horizontal_spacing=0.12)
    for col, a in enumerate(axes, 1):
        first, last = a.reach()
        z = np.full((a.out, last - first + 1), np.nan)
        taps, role = a.taps.numpy(), a.role.numpy()
        for i in range(a.out):
            for t, r in zip(taps[i], role[i]):
                if r != UNUSED:
                    z[i, t - first] = {INPUT: 1.0, PADDING: 0.5, OUTSIDE: 0.15}[int(r)]
        reads = (z == 1.0).sum(0)
        fig.add_trace(go.Heatmap(
            z=z, x=np.arange(first, last + 1), y=np.arange(a.out), zmin=0, zmax=1, showscale=False,
            colorscale=[[0, OUTSIDE_COLOUR], [0.5, PADDING_COLOUR], [1, HIGHLIGHT]], xgap=2, ygap=2,
            customdata=np.broadcast_to(reads, z.shape),
            hovertemplate="window %{y} reads input %{x}<br>(read by %{customdata} window(s))<extra></extra>"),
            1, col)
        grid_axes(fig, 1, col, a.out, z.shape[1], title="input index")
        fig.update_yaxes(tickvals=list(range(a.out)), row=1, col=col,
                         ticktext=[f"{i}: [{int(s)}, {int(e)})" for i, (s, e) in enumerate(zip(a.start, a.end))])
    overlap = any(((np.asarray(fig.data[k]["z"]) == 1.0).sum(0) > 1).any() for k in range(len(axes)))
    title = "Windows per output position" + (" (they overlap)" if overlap else "")
    return finish(fig, height=min(520, 140 + 26 * max(a.out for a in axes)), title=title)


@returns_figure
def unpool_view(trace, n=0, c=0):
    """Max pooling's memory: the input with each window's winner outlined, the pooled values with the
    indices torch returns, and what nn.MaxUnpool rebuilds from them (maxima back in place, zeros elsewhere).

    Beyond MAX_MARKED output cells, the winners are not outlined nor the indices written (hover shows them).
    """
    back = trace.unpool()
    x = _plane(trace.x, trace.dims, n, c)                                  # (H, W)
    out = _plane(trace.output, trace.dims, n, c)                           # (OH, OW)
    index = _plane(trace.argmax, trace.dims, n, c).astype(int)             # (OH, OW)
    rebuilt = _plane(back, trace.dims, n, c)                               # (H, W)
    marked = out.size <= MAX_MARKED
    winners = sorted({divmod(int(f), x.shape[1]) for f in index.flatten()}) if marked else []
    lo, hi = symmetric_range(x)
    titles = ("input: the cells max pooling kept",
              "output: value and index" + (" (row·W + col)" if trace.dims == 2 else ""), "MaxUnpool: put back")
    # a 1D signal is one long row: the three panels go one under the other
    at = [(1, 1), (1, 2), (1, 3)] if trace.dims == 2 else [(1, 1), (2, 1), (3, 1)]
    fig = (Spec.subplots(rows=1, cols=3, horizontal_spacing=0.06, subplot_titles=titles) if trace.dims == 2 else
           Spec.subplots(rows=3, cols=1, vertical_spacing=0.18, subplot_titles=titles))
    fig.add_trace(heatmap(x, zmin=lo, zmax=hi, name="input"), *at[0])
    labels = dict(text=np.vectorize(lambda v, k: f"{v:.3g}<br>@{k}")(out, index), texttemplate="%{text}") if marked else {}
    fig.add_trace(go.Heatmap(z=out, customdata=index, zmin=lo, zmax=hi, colorscale="RdBu_r", showscale=False,
                             xgap=1, ygap=1, name="output", **labels,
                             hovertemplate="value %{z:.6g}, index %{customdata}<extra></extra>"), *at[1])
    fig.add_trace(heatmap(rebuilt, zmin=lo, zmax=hi, name="unpooled"), *at[2])
    fig.add_trace(outline_trace(winners, color=ACCENT, name="kept"), *at[0])
    fig.add_trace(outline_trace(winners, color=ACCENT, name="put back"), *at[2])
    for (row, col), shape in zip(at, (x.shape, out.shape, rebuilt.shape)):
        grid_axes(fig, row, col, *shape)
        if trace.dims == 1:
            fig.update_yaxes(showticklabels=False, row=row, col=col)
    title = None if marked else f"{out.size} maxima: too many to mark; hover a cell for its value and index"
    return finish(fig, height=360 if trace.dims == 1 else 420, title=title)


@returns_figure
def upsample_figure(trace, n=0, c=0, pos=None, max_frames=MAX_FRAMES):
    """Input and output side by side; each frame picks one output cell, marks its source point on the
    input, outlines the cells it reads with their weights, and writes the weighted sum in the title.

    Starts on `pos` (default: the first output cell); the slider steps through up to `max_frames` cells.
    """
    h, w = trace.axes
    pos = tuple(pos) if pos is not None else (0,) * trace.dims
    trace.sources(n, c, *pos)  # a bad n, c or position fails here, with the trace's message
    x = _plane(trace.x, trace.dims, n, c)                                  # (H, W)
    out = _plane(trace.output, trace.dims, n, c)                           # (OH, OW)
    lo, hi = symmetric_range(x, out)
    fig = Spec.subplots(rows=1, cols=2, column_widths=[0.42, 0.58], horizontal_spacing=0.08, subplot_titles=(
        f"input channel {c}: source point and weights", f"output channel {c} ({trace.mode})"))
    fig.add_trace(heatmap(x, zmin=lo, zmax=hi, name="input"), 1, 1)
    fig.add_trace(heatmap(out, zmin=lo, zmax=hi, name="output"), 1, 2)
    fig.add_trace(outline_trace([]), 1, 1)
    fig.add_trace(go.Scatter(x=[], y=[], mode="text", textfont=dict(size=13, color=DARK_INK), hoverinfo="skip"),
                  1, 1)
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", hoverinfo="skip",
                             marker=dict(symbol="x" if trace.dims == 2 else "triangle-down", size=14, color=ACCENT,
                                         line=dict(width=2))), 1, 1)
    fig.add_trace(outline_trace([], color=ACCENT), 1, 2)
    ids = list(range(2, 6))  # neighbours, weights, source point, output cell
    grid_axes(fig, 1, 1, *x.shape)
    grid_axes(fig, 1, 2, *out.shape)
    _flatten_1d(fig, trace.dims, 2)

    chosen = _lift(pos, trace.dims)[0] * w.out + _lift(pos, trace.dims)[1]
    keep = sorted(set(evenly_spaced(h.out * w.out, max_frames - 1)) | {chosen})
    frames, labels = [], []
    for k in keep:
        i, j = divmod(k, w.out)
        s = trace.sources(n, c, *_own((i, j), trace.dims))
        # a clamped border tap can read the same cell twice: one weight per cell, the taps added up
        weights = {_lift(nb.input_index[1:], trace.dims): nb.weight for nb in s.per_cell()}
        # the source point, drawn on the input (a 1D signal: a pointer on the row's top edge, off the numbers)
        row, col = (s.coord if trace.dims == 2 else (POINTER_ROW, s.coord[0]))
        frames.append(dict(name=str(k), traces=ids, layout=dict(title=dict(text=sources_equation(s))), data=[
            outline_dict(list(weights)),
            # each weight sits below its cell's value, or above it when the source point is in the lower half
            dict(type="scatter", x=[q for _, q in weights], y=[r + (-0.3 if row > r else 0.3) for r, _ in weights],
                 mode="text",
                 text=[f"×{v:.3g}" for v in weights.values()],
                 textfont=dict(size=13, color=[_ink(x[cell], hi) for cell in weights])),
            dict(type="scatter", x=[col], y=[row], mode="markers"),
            outline_dict([(i, j)], color=ACCENT)]))
        labels.append(_label((i, j), trace.dims))
    start = keep.index(chosen)
    _start_at(fig, frames[start], ids)
    finish(fig, height=300 if trace.dims == 1 else 480, title=frames[start]["layout"]["title"]["text"])
    fig = add_player(fig, frames, labels, prefix="output cell ", active=start)
    return fig


def sources_equation(sources):
    """One upsampled cell's arithmetic as a line of text: its source point and the weighted sum.

    Taps that the border clamps onto the same cell are added up into one weight for that cell.
    """
    where = f"y[{', '.join(map(str, sources.position[2:]))}]"
    point = ", ".join(f"{v:.4g}" for v in sources.coord)
    per_cell = {}
    for nb in sources.neighbours:
        weight, value = per_cell.get(nb.input_index, (0.0, nb.value))
        per_cell[nb.input_index] = (weight + nb.weight, value)
    terms = [(w, v) for w, v in per_cell.values() if w != 0]
    text = _terms([f"{'−' if w < 0 else '+'} {abs(w):.3g}·{v:.3g}" for w, v in terms], " ").lstrip("+ ")
    return f"{where}: source ({point}) → {text} = {sources.total:.4g}"


@returns_figure
def align_corners_figure(off, on, n=0, c=0):
    """The same input upsampled with align_corners False and True: where each output pixel samples the
    input along the last axis, and the two outputs side by side.

    With False, pixel centres line up ((i + 0.5)·in/out − 0.5, clamped at the border); with True, the
    corner pixels do (i·(in − 1)/(out − 1)).
    """
    if off.align_corners or not on.align_corners or off.mode != on.mode or off.output.shape != on.output.shape:
        raise ExplorerError("Compare two traces of the same upsampling, the first with align_corners=False "
                            "and the second with align_corners=True.")
    a_off, a_on = off.axes[1], on.axes[1]
    fig = Spec.subplots(rows=2, cols=2, specs=[[{"colspan": 2}, None], [{}, {}]], row_heights=[0.35, 0.65],
                        vertical_spacing=0.16, subplot_titles=(
                            f"where the {a_on.out} output pixels (green, numbered) sample the {a_on.size} input "
                            "pixels (grey bars, centred at 0, 1, …)",
                            "align_corners=False", "align_corners=True"))
    for level, a in ((1, a_off), (0, a_on)):
        pixels = [v for k in range(a.size) for v in (k - 0.45, k + 0.45, None)]  # each input pixel's extent
        fig.add_trace(go.Scatter(x=pixels, y=[level] * len(pixels), mode="lines", hoverinfo="skip",
                                 line=dict(width=18, color=PAD_CELL)), 1, 1)
        fig.add_trace(go.Scatter(x=as_numpy(a.coord), y=[level] * a.out, mode="markers+text",
                                 text=[str(i) for i in range(a.out)], textposition="top center",
                                 marker=dict(size=9, color=ACCENT),
                                 hovertemplate="output %{text} samples input %{x:.4g}<extra></extra>"), 1, 1)
    fig.update_yaxes(tickvals=[0, 1], ticktext=["align_corners=True", "align_corners=False"], range=[-0.6, 1.8],
                     row=1, col=1)
    fig.update_xaxes(dtick=1, row=1, col=1)
    planes = [_plane(t.output, t.dims, n, c) for t in (off, on)]
    lo, hi = symmetric_range(*planes)
    for col, plane in enumerate(planes, 1):
        fig.add_trace(heatmap(plane, zmin=lo, zmax=hi), 2, col)
        grid_axes(fig, 2, col, *plane.shape)
        if off.dims == 1:
            fig.update_yaxes(showticklabels=False, row=2, col=col)
    return finish(fig, height=360 if off.dims == 1 else 560)


@returns_figure
def comparison_figure(x, outputs, n=0, c=0):
    """The same input through several layers, side by side, each titled with its name and, below it,
    its output shape.

    Args:
        x: the input, (C, H, W) or (N, C, H, W).
        outputs: {label: output tensor} in the same layout, e.g. max pool, average pool, stride-2 conv.
    """
    panels = [("input", x)] + list(outputs.items())
    planes = [as_numpy(t[n, c] if t.dim() == 4 else t[c]) for _, t in panels]
    fig = Spec.subplots(rows=1, cols=len(panels), horizontal_spacing=0.04,
                        subplot_titles=[f"{name}<br>{tuple(t.shape)}" for name, t in panels])
    lo, hi = symmetric_range(*planes)
    for col, plane in enumerate(planes, 1):
        fig.add_trace(heatmap(plane, zmin=lo, zmax=hi, name=panels[col - 1][0]), 1, col)
        grid_axes(fig, 1, col, *plane.shape)
    fig.update_annotations(font_size=13)
    return finish(fig, height=360)


@returns_figure
def preview():
    """The seed notes' 4×4 map beside its 2×2 max pool, the kept cells outlined: a home-page card."""
    import torch
    from torch import nn

    from ..examples.pooling import NOTES_4X4
    t = trace_pool(nn.MaxPool2d(2), torch.tensor([NOTES_4X4]))
    x, out = _plane(t.x, 2, 0, 0), _plane(t.output, 2, 0, 0)                # (4, 4), (2, 2)
    winners = [divmod(int(f), x.shape[1]) for f in _plane(t.argmax, 2, 0, 0).flatten()]
    lo, hi = symmetric_range(x)
    fig = Spec.subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1)
    fig.add_trace(heatmap(x, zmin=lo, zmax=hi, name="input"), 1, 1)
    fig.add_trace(outline_trace(winners, color=ACCENT, name="kept"), 1, 1)
    fig.add_trace(heatmap(out, zmin=lo, zmax=hi, name="max pool"), 1, 2)
    for col, shape in ((1, x.shape), (2, out.shape)):
        grid_axes(fig, 1, col, *shape)
    return card(fig)


# -- helpers ----------------------------------------------------------------------------------------

def _input_grid(trace, n, c):
    """The input as the windows see it: values (NaN off the input), role per cell, row and column coordinates."""
    h, w = trace.axes
    (r0, r1), (c0, c1) = h.reach(), w.reach()
    rows, cols = np.arange(r0, r1 + 1), np.arange(c0, c1 + 1)
    grid = np.full((len(rows), len(cols)), np.nan)
    grid[-r0:-r0 + h.size, -c0:-c0 + w.size] = as_numpy(trace._batched_x()[n, c])
    roles = np.maximum(_axis_roles(h, rows)[:, None], _axis_roles(w, cols)[None, :])
    return grid, roles, rows, cols


def _axis_roles(a, positions):
    """INPUT, PADDING or OUTSIDE for each position along one axis."""
    roles = np.full(len(positions), OUTSIDE)
    roles[a.taps[a.role == PADDING].numpy() - positions[0]] = PADDING
    roles[(positions >= 0) & (positions < a.size)] = INPUT
    return roles


def _shade(roles, rows, cols, pad_text):
    """Padding cells (with the value the op sees) and cells past the padding, over the input."""
    z = np.where(roles == PADDING, 1.0, np.where(roles == OUTSIDE, 0.0, np.nan))
    text = np.where(roles == PADDING, pad_text, "")
    return go.Heatmap(z=z, x=cols, y=rows, text=text, texttemplate="%{text}", showscale=False, zmin=0, zmax=1,
                      colorscale=[[0, OUTSIDE_COLOUR], [1, PAD_CELL]], xgap=1, ygap=1, hoverinfo="skip",
                      textfont=dict(color=DARK_INK, size=13))


def _window_outline(cells):
    """One rectangle around a window whose cells fill it (an outline per cell would cost 25 squares a
    frame for a 5×5 kernel); a dilated window, with gaps, outlines each of its cells."""
    rows, cols = [r for r, _ in cells], [q for _, q in cells]
    r0, r1, c0, c1 = min(rows), max(rows), min(cols), max(cols)
    if len(set(cells)) != (r1 - r0 + 1) * (c1 - c0 + 1):
        return outline_dict(cells)
    box = dict(outline_dict([(r0, c0)]))
    box["x"] = [c0 - 0.5, c1 + 0.5, c1 + 0.5, c0 - 0.5, c0 - 0.5]
    box["y"] = [r0 - 0.5, r0 - 0.5, r1 + 0.5, r1 + 0.5, r0 - 0.5]
    return box


def _plane(t, dims, n, c):
    """One (n, c) slice of a batched or unbatched tensor as a 2D array; a 1D signal becomes one row."""
    t = t if t.dim() == dims + 2 else t.unsqueeze(0)
    plane = as_numpy(t[n, c])
    return plane if dims == 2 else plane[None, :]


def _lift(pos, dims):
    return tuple(pos) if dims == 2 else (0, pos[0])


def _own(cell, dims):
    """An internal (row, col) back in the layer's own dimensionality."""
    return cell if dims == 2 else (cell[1],)


def _label(cell, dims):
    return f"({cell[0]},{cell[1]})" if dims == 2 else f"({cell[1]})"


def _terms(items, sep):
    if len(items) > MAX_TERMS:
        items = items[:MAX_TERMS // 2] + ["…"] + items[-2:]
    return sep.join(items)


def _start_at(fig, frame, ids):
    """Start the figure in the state of one of its frames."""
    for idx, data in zip(ids, frame["data"]):
        fig.data[idx].update({k: v for k, v in data.items() if k in ("z", "x", "y", "text", "textfont")})


def _ink(value, hi):
    """Text colour that reads on a heatmap cell of this value (range ±hi of a diverging scale): the
    deep reds and blues at the ends need white, the pale middle dark text."""
    return "white" if abs(value) > 0.6 * hi else DARK_INK


def _flatten_1d(fig, dims, ncols):
    if dims == 1:
        for col in range(1, ncols + 1):
            fig.update_yaxes(showticklabels=False, row=1, col=col)
