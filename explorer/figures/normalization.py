"""Figures for the Normalization page: which cells share a statistic, the statistics, before/after.

The input is drawn as (N, C, L): one block per (sample, channel), its L positions as cells inside.
Cells of one colour share one mean and one variance, so the five layers differ only in colouring.
"""
import math

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import qualitative

from .spec import Spec, returns_figure
from .theme import (DIVERGING, HIGHLIGHT, MAX_ANNOTATED_CELLS, add_player, as_numpy, card, evenly_spaced, finish,
                    outline_trace, symmetric_range)

PALETTE = qualitative.Plotly            # one colour per statistic, cycled when there are more
NORM_COLORS = {"BatchNorm": "#1f77b4", "LayerNorm": "#d62728", "GroupNorm": "#2ca02c",
               "InstanceNorm": "#9467bd", "RMSNorm": "#8c564b"}
MAX_POINTS = 2000                       # scatter points sent to the browser


def _stepped_colorscale(colors):
    """A colorscale where integer z = i gets exactly colors[i] (z from -0.5 to len - 0.5)."""
    k = len(colors)
    scale = []
    for i, c in enumerate(colors):
        scale += [[i / k, c], [(i + 1) / k, c]]
    return scale


def _cells(trace, max_cells):
    """The positions to draw (indices into L) and the (rows, cols) they form inside a block."""
    spatial = trace.spatial
    if len(spatial) == 2:
        side = max(1, math.isqrt(max_cells))
        rows, cols = evenly_spaced(spatial[0], side), evenly_spaced(spatial[1], side)
        return [r * spatial[1] + c for r in rows for c in cols], (len(rows), len(cols))
    length = math.prod(spatial)
    picked = evenly_spaced(length, max_cells)
    if len(picked) <= 16:
        return picked, (1, len(picked))
    cols = math.ceil(math.sqrt(len(picked)))
    return picked, (math.ceil(len(picked) / cols), cols)


def _layout(trace, max_samples, max_channels, max_cells):
    """The drawn samples, channels and positions, and the (rows, cols) of one block."""
    n_all, c_all, _ = trace.ncl(trace.x).shape
    ns, cs = evenly_spaced(n_all, max_samples), evenly_spaced(c_all, max_channels)
    ls, block = _cells(trace, max_cells)
    return ns, cs, ls, block


def _grid_position(i, j, k, block):
    """Row and column of the grid where drawn sample i, channel j, cell k sits (blocks 1 cell apart)."""
    br, bc = block
    return i * (br + 1) + k // bc, j * (bc + 1) + k % bc


def _x_index(trace, n, c, pos):
    """The full index into x of sample n, dim-1 index c and flattened position pos."""
    spatial = tuple(int(i) for i in np.unravel_index(pos, trace.spatial)) if trace.spatial else ()
    return ((c,) if trace.unbatched else (n, c)) + spatial


def _grouping_heatmap(trace, max_samples, max_channels, max_cells, show_values, full_hover=True):
    """The block grid as one heatmap trace, with the tick positions and labels of its blocks.

    Hover text: the cell, its value and its statistic (full_hover), or only the statistic's name.
    """
    ns, cs, ls, (br, bc) = _layout(trace, max_samples, max_channels, max_cells)
    x = as_numpy(_pick(trace.ncl(trace.x), ns, cs, ls))                        # (n, c, l) drawn
    ids = _pick(trace.ncl(trace.group_ids()), ns, cs, ls).numpy()              # (n, c, l)
    mean = as_numpy(trace.mean).reshape(-1)
    std = as_numpy(trace.std).reshape(-1)
    labels = trace.group_labels()
    rows, cols = len(ns) * (br + 1) - 1, len(cs) * (bc + 1) - 1
    z = np.full((rows, cols), np.nan)
    text = np.full((rows, cols), "", dtype=object)
    hover = np.full((rows, cols), "", dtype=object)
    for i, n in enumerate(ns):
        for j, c in enumerate(cs):
            for k, pos in enumerate(ls):
                r, q = i * (br + 1) + k // bc, j * (bc + 1) + k % bc
                g, v = int(ids[i, j, k]), x[i, j, k]
                z[r, q] = g % len(PALETTE)
                text[r, q] = f"{v:.3g}"
                hover[r, q] = labels[g] if not full_hover else (
                    f"sample {n}, dim 1 = {c}, position {pos}<br>value {v:.6g}<br>"
                    f"{labels[g]}: mean {mean[g]:.6g}, √(var+ε) {std[g]:.6g}")
    show_values = (len(ns) * len(cs) * len(ls) <= MAX_ANNOTATED_CELLS) if show_values is None else show_values
    extra = dict(text=text, texttemplate="%{text}", textfont=dict(size=10)) if show_values else {}
    heat = go.Heatmap(z=z, zmin=-0.5, zmax=len(PALETTE) - 0.5, colorscale=_stepped_colorscale(PALETTE),
                      showscale=False, xgap=1, ygap=1, customdata=hover, hoverongaps=False,
                      hovertemplate="%{customdata}<extra></extra>", **extra)
    yticks = ([i * (br + 1) + (br - 1) / 2 for i in range(len(ns))], [f"n{n}" for n in ns])
    xticks = ([j * (bc + 1) + (bc - 1) / 2 for j in range(len(cs))], [f"c{c}" for c in cs])
    return heat, xticks, yticks


def _pick(t, ns, cs, ls):
    """The drawn samples, channels and positions of an (N, C, L) tensor."""
    return t[ns][:, cs][:, :, ls]                                              # (n, c, l)


def _block_axes(fig, xticks, yticks, row=1, col=1, side="top"):
    fig.update_xaxes(tickvals=xticks[0], ticktext=xticks[1], showgrid=False, zeroline=False, side=side,
                     row=row, col=col)
    fig.update_yaxes(tickvals=yticks[0], ticktext=yticks[1], showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor=fig.axes(row, col)[0], row=row, col=col)


@returns_figure
def grouping(trace, *, max_samples=4, max_channels=8, max_cells=64, show_values=None, selected=None, cell_px=30):
    """x as N × C blocks of positions; cells of one colour share one mean and variance.

    Hovering a cell names its statistic and shows its mean and √(var + ε). Big inputs are thinned
    to `max_samples` × `max_channels` blocks of at most `max_cells` cells. With `selected` (an index
    into x), the cells of its statistic are outlined in black and the cell itself in orange.
    `cell_px` sets the height per grid row (cells are square), e.g. larger for a projector.
    """
    heat, xticks, yticks = _grouping_heatmap(trace, max_samples, max_channels, max_cells, show_values)
    fig = Spec.subplots(rows=1, cols=1)
    targets = _click_targets(trace, heat, max_samples, max_channels, max_cells)   # takes over the hover
    fig.add_trace(heat, 1, 1)
    fig.add_trace(targets, 1, 1)
    if selected is not None:
        for t in _selection_outlines(trace, selected, max_samples, max_channels, max_cells):
            fig.add_trace(t, 1, 1)
    _block_axes(fig, xticks, yticks, side="bottom")                          # the two title lines sit on top
    n_stats = trace.mean.numel()
    what = "mean square" if trace.kind == "rms" else "mean/variance pair"
    title = f"{trace.title}<br>{n_stats} {what}{'s' if n_stats != 1 else ''}, one colour each"
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    finish(fig, title=title, height=min(170 + 25 * cell_px, 170 + cell_px * len(heat.z)))
    return fig.update_layout(margin=dict(t=80))


def _click_targets(trace, heat, max_samples, max_channels, max_cells):
    """Invisible markers over the drawn cells (a heatmap cannot be clicked, markers can): each carries
    its index into x as customdata, and the heatmap's hover text."""
    ns, cs, ls, block = _layout(trace, max_samples, max_channels, max_cells)
    xs, ys, index, hover = [], [], [], []
    for i, n in enumerate(ns):
        for j, c in enumerate(cs):
            for k, pos in enumerate(ls):
                r, q = _grid_position(i, j, k, block)
                xs.append(q)
                ys.append(r)
                index.append(list(_x_index(trace, n, c, pos)))
                hover.append(heat.customdata[r][q])
    heat.hoverinfo, heat.hovertemplate, heat.customdata = "skip", None, None    # sent once, with the markers
    return go.Scatter(x=xs, y=ys, mode="markers", name="cells", customdata=index, text=hover,
                      marker=dict(size=18, symbol="square", opacity=0.01, color="#000000"),
                      hovertemplate="%{text}<extra></extra>", showlegend=False)


MAX_OUTLINED = 600                      # outlining more cells than this sends more lines than it shows


def _selection_outlines(trace, selected, max_samples, max_channels, max_cells):
    """Outlines of the drawn cells that share the selected cell's statistic, and of the cell itself."""
    ns, cs, ls, block = _layout(trace, max_samples, max_channels, max_cells)
    ids = _pick(trace.ncl(trace.group_ids()), ns, cs, ls).numpy()              # (n, c, l) drawn
    group = int(trace.group_ids()[tuple(selected)])
    members = np.argwhere(ids == group)
    out = []
    if 0 < len(members) <= MAX_OUTLINED:
        cells = [_grid_position(i, j, k, block) for i, j, k in members]
        out.append(outline_trace(cells, color="#111111", width=2, name="same statistic", pad=0.46))
    n, c, pos = _ncl_index(trace, selected)
    if n in ns and c in cs and pos in ls:
        cell = _grid_position(ns.index(n), cs.index(c), ls.index(pos), block)
        out.append(outline_trace([cell], color=HIGHLIGHT, width=5, name="selected cell", pad=0.5))
    return out


def _ncl_index(trace, index):
    """(n, c, flattened position) of a full index into x."""
    index = tuple(int(i) for i in index)
    lead = (0,) + index if trace.unbatched else index
    pos = int(np.ravel_multi_index(lead[2:], trace.spatial)) if trace.spatial else 0
    return lead[0], lead[1], pos


@returns_figure
def grouping_comparison(traces, *, max_samples=4, max_channels=6, max_cells=16):
    """The groupings of several traces (e.g. all five layers on one input) side by side."""
    titles = [f"{type(t.module).__name__}: {t.mean.numel()} statistics" for t in traces]
    fig = Spec.subplots(rows=1, cols=len(traces), subplot_titles=titles, horizontal_spacing=0.025)
    rows = cols = 1
    for k, t in enumerate(traces, 1):
        heat, xticks, yticks = _grouping_heatmap(t, max_samples, max_channels, max_cells, False, full_hover=False)
        fig.add_trace(heat, 1, k)
        _block_axes(fig, xticks, yticks, 1, k, side="bottom")
        fig.update_yaxes(showticklabels=k == 1, row=1, col=k)
        rows, cols = len(heat.z), len(heat.z[0])
    fig.update_annotations(font_size=13)
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    # square cells: the height follows the width each panel gets (about 1000 px / 5 panels)
    height = int(110 + min(420, 190 * rows / max(cols, 1)))
    return finish(fig, title="Cells of one colour share one mean and variance", height=height)


def stats_table(trace, max_rows=64):
    """One row per statistic (at most `max_rows`): its name, how many values, mean, var, √(var + ε).

    Eval-mode BatchNorm/InstanceNorm also show the batch's own statistics, which train mode would use.
    """
    rms = trace.kind == "rms"
    names = ("mean square", "√(mean square + ε)") if rms else ("variance (biased)", "√(var + ε)")
    mean = as_numpy(trace.mean).reshape(-1)
    var, std = as_numpy(trace.var).reshape(-1), as_numpy(trace.std).reshape(-1)
    count = trace.count if trace.uses_batch_stats else "running"
    rows = []
    for g, label in enumerate(trace.group_labels()[:max_rows]):
        row = {"statistic": label, "values": count}
        if not rms:
            row["mean"] = float(mean[g])
        row.update({names[0]: float(var[g]), names[1]: float(std[g])})
        rows.append(row)
    if not trace.uses_batch_stats:
        bm, bv = as_numpy(trace.batch_mean).reshape(-1, mean.size), as_numpy(trace.batch_var).reshape(-1, mean.size)
        for g, row in enumerate(rows):
            row.update({"batch mean": float(bm[:, g].mean()), "batch variance": float(bv[:, g].mean())})
    return rows


def _histogram_bars(t, bins, color, name):
    counts, edges = (as_numpy(a) for a in torch.histogram(t.detach().reshape(-1), bins=bins))
    return go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color=color, name=name,
                  hovertemplate="%{x:.3g}: %{y} values<extra></extra>")


@returns_figure
def histograms(trace, bins=40):
    """Value histograms of the input, the normalized values and the output (counts only are sent)."""
    stages = (("input x", trace.x, "#7f7f7f"), ("normalized (x − mean) / √(var + ε)", trace.normalized, "#1f77b4"),
              ("output γ·x̂ + β", trace.output, HIGHLIGHT))
    fig = Spec.subplots(rows=1, cols=3, subplot_titles=[s[0] for s in stages], horizontal_spacing=0.06)
    for k, (name, t, color) in enumerate(stages, 1):
        fig.add_trace(_histogram_bars(t, bins, color, name), 1, k)
        mean, std = float(t.mean()), float(t.std(correction=0))
        mean = 0.0 if abs(mean) < 1e-6 * max(std, 1e-30) else mean       # rounding noise of an exact 0
        fig.add_vline(x=mean, line_dash="dash", line_color="#d62728", line_width=2, row=1, col=k,
                      annotation_text=f"mean {mean:.3g}<br>std {std:.3g}", annotation_font_size=12)
    fig.update_annotations(font_size=12)
    return finish(fig, height=320)


def _gamma_beta(trace):
    """gamma and beta flattened, one value per feature; ones and zeros where the layer has none."""
    shape = tuple(trace.module.normalized_shape) if trace.kind in ("layer", "rms") else (trace.ncl(trace.x).shape[1],)
    n = math.prod(shape)
    gamma = np.ones(n) if trace.weight is None else as_numpy(trace.weight).reshape(-1)
    beta = np.zeros(n) if trace.bias is None else as_numpy(trace.bias).reshape(-1)
    return gamma, beta


@returns_figure
def affine_stage(trace, max_features=12, max_points=MAX_POINTS):
    """γ and β per feature, and x̂ → γ·x̂ + β as one straight line per feature (cells as dots)."""
    gamma, beta = _gamma_beta(trace)
    shown = evenly_spaced(gamma.size, max_features)
    # a thinned sample of cells: big inputs would send millions of dots
    flat = torch.tensor(evenly_spaced(trace.x.numel(), 10 * max_points))
    where = torch.unravel_index(flat, trace.x.shape)
    feat = trace.feature_ids()[where].numpy()
    z, y = as_numpy(trace.normalized[where]), as_numpy(trace.output[where])
    some = f" ({len(shown)} of {gamma.size}, evenly spaced)" if len(shown) < gamma.size else ""
    fig = Spec.subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.1,
                        subplot_titles=(f"γ (scale) and β (shift) per feature{some}", "normalized x̂ → output"))
    fig.add_trace(go.Bar(x=[str(f) for f in shown], y=gamma[shown], name="γ (scale)", marker_color="#1f77b4",
                         showlegend=True), 1, 1)
    fig.add_trace(go.Bar(x=[str(f) for f in shown], y=beta[shown], name="β (shift)", marker_color=HIGHLIGHT,
                         showlegend=True), 1, 1)
    lo, hi = float(z.min()), float(z.max())
    for k, f in enumerate(shown):
        color, g, b = PALETTE[k % len(PALETTE)], gamma[f], beta[f]
        idx = np.flatnonzero(feat == f)
        idx = idx[evenly_spaced(idx.size, max(1, max_points // len(shown)))] if idx.size else idx
        fig.add_trace(go.Scatter(x=[lo, hi], y=[g * lo + b, g * hi + b], mode="lines", line=dict(color=color),
                                 name=f"feature {f}", hoverinfo="skip", showlegend=False), 1, 2)
        fig.add_trace(go.Scatter(x=z[idx], y=y[idx], mode="markers", marker=dict(color=color, size=6),
                                 name=f"feature {f}", showlegend=False,
                                 hovertemplate=f"feature {f}: γ={g:.3g}, β={b:.3g}<br>x̂ %{{x:.4g}} → %{{y:.4g}}"
                                               "<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text="feature (channel, or index into normalized_shape)", row=1, col=1)
    fig.update_xaxes(title_text="x̂", row=1, col=2)
    fig.update_yaxes(title_text="γ·x̂ + β", row=1, col=2)
    fig.update_layout(barmode="group")
    finish(fig, height=400)
    return fig.update_layout(showlegend=True, legend=dict(orientation="h", x=0, y=-0.35, xanchor="left"))


@returns_figure
def running_stats(run, channel=0):
    """Running mean and variance of one channel after each batch, next to each batch's own values."""
    steps = list(range(run.running_mean.shape[0]))
    fig = Spec.subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(f"running_mean[{channel}]", f"running_var[{channel}]"))
    series = ((run.running_mean, run.batch_mean, run.population_mean, "batch mean"),
              (run.running_var, run.batch_var, run.population_var, "batch variance (unbiased)"))
    for col, (running, batch, population, name) in enumerate(series, 1):
        fig.add_trace(go.Scatter(x=steps, y=as_numpy(running[:, channel]), mode="lines+markers",
                                 name="running statistic", line=dict(color="#1f77b4", width=3), showlegend=col == 1,
                                 hovertemplate="after batch %{x}: %{y:.5g}<extra>running</extra>"), 1, col)
        fig.add_trace(go.Scatter(x=steps[1:], y=as_numpy(batch[:, channel]), mode="markers",
                                 name="each batch's own (variance: unbiased)", showlegend=col == 1,
                                 marker=dict(color=HIGHLIGHT, size=10, symbol="diamond"),
                                 hovertemplate="batch %{x}: %{y:.5g}<extra>" + name + "</extra>"), 1, col)
        if population is not None:
            fig.add_hline(y=float(as_numpy(population).reshape(-1)[channel]), line_dash="dot", row=1, col=col,
                          annotation_text="drawn around", annotation_font_size=11)
        fig.update_xaxes(title_text="batches seen", dtick=1 if len(steps) <= 20 else None, row=1, col=col)
    factors = sorted(set(round(f, 4) for f in run.factors))
    m = f"m = {factors[0]:g}" if len(factors) == 1 else "m = 1/k (cumulative average)"
    finish(fig, height=360, title=f"running = (1 − m)·running + m·batch, {m}")
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.25))
    return fig


@returns_figure
def train_vs_eval(run, channel=0, max_points=MAX_POINTS):
    """One input, one channel: train mode (its own batch statistics) vs eval mode (running statistics)."""
    tt, te = run.train_trace, run.eval_trace
    x = as_numpy(tt.ncl(tt.x)[:, channel]).reshape(-1)
    keep = np.asarray(evenly_spaced(x.size, max_points))
    fig = Spec()
    for t, name, color in ((tt, "train mode: batch statistics", "#1f77b4"),
                           (te, "eval mode: running statistics", HIGHLIGHT)):
        y = as_numpy(t.ncl(t.output)[:, channel]).reshape(-1)
        fig.add_trace(go.Scatter(x=x[keep], y=y[keep], mode="markers", name=name, marker=dict(color=color, size=7),
                                 hovertemplate="x %{x:.4g} → %{y:.4g}<extra>" + name + "</extra>"))
    fig.update_xaxes(title_text=f"input, channel {channel}")
    fig.update_yaxes(title_text="output")
    finish(fig, height=360, title="The same input in train and eval mode")
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.35))
    return fig


@returns_figure
def batch_size_noise(effect):
    """How the statistic for one sample and its output wobble with the batch size, per layer."""
    fig = Spec.subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("spread of the mean used for sample 0", "spread of sample 0's output "
                                                                               "(only the rest of the batch changes)"))
    for name in effect.mean_spread:
        color = NORM_COLORS[name]
        for col, values in ((1, effect.mean_spread[name]), (2, effect.output_spread[name])):
            fig.add_trace(go.Scatter(x=list(effect.batch_sizes), y=as_numpy(values), mode="lines+markers",
                                     name=name, line=dict(color=color, width=3), showlegend=col == 1,
                                     hovertemplate="batch %{x}: %{y:.4g}<extra>" + name + "</extra>"), 1, col)
    for col in (1, 2):
        fig.update_xaxes(type="log", title_text="batch size", tickvals=list(effect.batch_sizes), row=1, col=col)
        fig.update_yaxes(rangemode="tozero", row=1, col=col)
    finish(fig, height=380, title=f"Batch-size noise over {effect.trials} random batches per size")
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.25))
    return fig


def _block_values(trace, t, ns, cs, ls, block):
    """An x-shaped tensor drawn on the block grid (NaN in the gaps between blocks)."""
    br, bc = block
    v = as_numpy(_pick(trace.ncl(t), ns, cs, ls))                              # (n, c, l) drawn
    z = np.full((len(ns) * (br + 1) - 1, len(cs) * (bc + 1) - 1), np.nan)
    for i in range(len(ns)):
        for j in range(len(cs)):
            for k in range(len(ls)):
                z[_grid_position(i, j, k, block)] = v[i, j, k]
    return z


@returns_figure
def stages(trace, *, max_samples=4, max_channels=8, max_cells=64):
    """Three stages on the same block grid: x, then x̂ = (x − mean)/√(var + ε), then y = γ·x̂ + β.

    Each stage has its own colour range (blue below 0, red above), so the second panel shows what
    the statistics did and the third what the affine step did.
    """
    ns, cs, ls, block = _layout(trace, max_samples, max_channels, max_cells)
    rms = trace.kind == "rms"
    names = ("input x", "x̂ = x / √(mean square + ε)" if rms else "x̂ = (x − mean) / √(var + ε)",
             "output y = γ·x̂ + β" if trace.bias is not None else "output y = γ·x̂" if trace.weight is not None
             else "output y = x̂ (no affine)")
    fig = Spec.subplots(rows=1, cols=3, subplot_titles=names, horizontal_spacing=0.04)
    xticks = ([j * (block[1] + 1) + (block[1] - 1) / 2 for j in range(len(cs))], [f"c{c}" for c in cs])
    yticks = ([i * (block[0] + 1) + (block[0] - 1) / 2 for i in range(len(ns))], [f"n{n}" for n in ns])
    width = len(cs) * (block[1] + 1) - 1
    show = width <= 10 and len(ns) * len(cs) * len(ls) <= MAX_ANNOTATED_CELLS // 3  # else digits overlap
    for k, t in enumerate((trace.x, trace.normalized, trace.output), 1):
        z = _block_values(trace, t, ns, cs, ls, block)
        lo, hi = symmetric_range(z)
        extra = dict(texttemplate="%{z:.2f}", textfont=dict(size=10)) if show else {}
        fig.add_trace(go.Heatmap(z=z, zmin=lo, zmax=hi, colorscale=DIVERGING, showscale=False, xgap=1, ygap=1,
                                 hoverongaps=False, name=names[k - 1],
                                 hovertemplate="%{z:.6g}<extra>" + names[k - 1].split(" =")[0] + "</extra>",
                                 **extra), 1, k)
        _block_axes(fig, xticks, yticks, 1, k, side="bottom")
        fig.update_yaxes(showticklabels=k == 1, row=1, col=k)
    fig.update_annotations(font_size=13)
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    rows = len(ns) * (block[0] + 1)
    return finish(fig, height=min(520, 130 + 14 * rows))


def _formula(m, before, new, after, digits=4):
    return f"(1 − {m:.{digits}g})·{before:.{digits}g} + {m:.{digits}g}·{new:.{digits}g} = {after:.{digits}g}"


@returns_figure
def running_stepper(run, channel=0):
    """Step through the training batches: each one pulls running_mean/var toward its own statistics.

    Frame k shows the running statistics after k batches, batch k's mean and its two variances
    (biased: what the batch is normalized with; unbiased ×n/(n−1): what running_var averages), and
    the update formula with the numbers of that step. Stepping runs in the browser.
    """
    rm, rv = as_numpy(run.running_mean[:, channel]), as_numpy(run.running_var[:, channel])
    bm, bv = as_numpy(run.batch_mean[:, channel]), as_numpy(run.batch_var[:, channel])
    bb = as_numpy(run.batch_biased_var[:, channel])
    k_all = len(bm)
    steps = list(range(k_all + 1))
    fig = Spec.subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(f"running_mean[{channel}]", f"running_var[{channel}]"))
    faded = dict(color="rgba(128,128,128,0.7)")
    for col, (running, batch) in enumerate(((rm, bm), (rv, bv)), 1):
        fig.add_trace(go.Scatter(x=steps, y=running, mode="lines", line=dict(dash="dot", **faded), hoverinfo="skip",
                                 name="all steps", showlegend=False), 1, col)
        fig.add_trace(go.Scatter(x=steps[1:], y=batch, mode="markers", marker=dict(symbol="diamond", size=8, **faded),
                                 name="every batch", showlegend=col == 1,
                                 hovertemplate="batch %{x}: %{y:.5g}<extra></extra>"), 1, col)
    first = len(fig.data)
    animated = [  # (subplot col, trace) in the order of `frame_data`
        (1, dict(mode="lines+markers", line=dict(color="#1f77b4", width=3), name="running statistic")),
        (1, dict(mode="markers", marker=dict(color=HIGHLIGHT, size=14, symbol="diamond"),
                 name="this batch: mean, unbiased var")),
        (2, dict(mode="lines+markers", line=dict(color="#1f77b4", width=3), name="running_var", showlegend=False)),
        (2, dict(mode="markers", marker=dict(color=HIGHLIGHT, size=14, symbol="diamond"), showlegend=False,
                 name="batch variance, unbiased")),
        (2, dict(mode="markers", marker=dict(color=HIGHLIGHT, size=12, symbol="circle-open", line=dict(width=3)),
                 name="this batch: biased var")),
    ]

    def frame_data(k):
        now = [] if k == 0 else [k]
        return [dict(x=steps[:k + 1], y=rm[:k + 1].tolist()), dict(x=now, y=[bm[k - 1]] if k else []),
                dict(x=steps[:k + 1], y=rv[:k + 1].tolist()), dict(x=now, y=[bv[k - 1]] if k else []),
                dict(x=now, y=[bb[k - 1]] if k else [])]

    for (col, spec), d in zip(animated, frame_data(0)):
        fig.add_trace(go.Scatter(**spec, **d, hovertemplate="%{x}: %{y:.5g}<extra>" + spec["name"] + "</extra>"),
                      1, col)
    if run.population_mean is not None:
        for col, pop in ((1, run.population_mean), (2, run.population_var)):
            fig.add_hline(y=float(as_numpy(pop).reshape(-1)[channel]), line_dash="dash", row=1, col=col,
                          line_color="#2ca02c", annotation_text="drawn around", annotation_font_size=11)
    for col in (1, 2):
        fig.update_xaxes(title_text="batches seen", range=[-0.5, k_all + 0.5], dtick=1 if k_all <= 20 else None,
                         row=1, col=col)
    for col, values in ((1, np.concatenate([rm, bm])), (2, np.concatenate([rv, bv, bb]))):
        lo, hi = float(values.min()), float(values.max())
        pad = 0.08 * (hi - lo or 1.0)
        fig.update_yaxes(range=[lo - pad, hi + pad], row=1, col=col)

    def title(k):
        if k == 0:
            return (f"Before any batch: running_mean = {rm[0]:.4g}, running_var = {rv[0]:.4g} "
                    "(torch starts at 0 and 1)")
        m, n = run.factors[k - 1], run.counts[k - 1]
        return (f"Batch {k}: running_mean = {_formula(m, rm[k - 1], bm[k - 1], rm[k])}<br>"
                f"running_var = {_formula(m, rv[k - 1], bv[k - 1], rv[k])}, with the unbiased "
                f"{bv[k - 1]:.4g} = {bb[k - 1]:.4g} × {n}/{n - 1}")

    frames = [dict(name=str(k), data=frame_data(k), traces=list(range(first, first + len(animated))),
                   layout=dict(title=dict(text=title(k)))) for k in steps]
    finish(fig, height=450, title=title(0))
    fig.update_layout(showlegend=True, legend=dict(x=1.02, y=1, xanchor="left", font=dict(size=12)),
                      margin=dict(t=100, b=10))
    return add_player(fig, frames, [str(k) for k in steps], prefix="after batch ")


@returns_figure
def batch_size_player(effect, max_points=64, start=None):
    """One sample kept fixed, the rest of its batch redrawn: step the batch size and watch BatchNorm's
    statistic (and so the sample's output) scatter while LayerNorm's and GroupNorm's stay put.

    Each dot is one random batch. Stepping the batch size runs in the browser; it starts at the
    `start` batch size (default: the second, as a batch of one has no batch-mates to show).
    """
    names = list(effect.fixed_mean)
    trials = min(effect.trials, max_points)
    jitter = (np.arange(trials) % 9 - 4) * 0.035                             # spread dots vertically a little
    fig = Spec.subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("the mean that normalizes sample 0, channel 0",
                                        "sample 0's normalized value at its first cell"))
    series = (effect.fixed_mean, effect.fixed_output)

    def frame_data(b):
        return [dict(x=as_numpy(s[name][b, :trials]).tolist(), y=(k + jitter).tolist())
                for s in series for k, name in enumerate(names)]

    for col, s in enumerate(series, 1):
        for k, name in enumerate(names):
            fig.add_trace(go.Scatter(mode="markers", name=name, showlegend=False,
                                     marker=dict(color=NORM_COLORS[name], size=9, opacity=0.7),
                                     hovertemplate="%{x:.4g}<extra>" + name + "</extra>"), 1, col)
        values = np.concatenate([as_numpy(s[name]).reshape(-1) for name in names])
        lo, hi = float(values.min()), float(values.max())
        pad = 0.08 * (hi - lo or 1.0)
        fig.update_xaxes(range=[lo - pad, hi + pad], row=1, col=col)
        fig.update_yaxes(tickvals=list(range(len(names))), ticktext=names, range=[len(names) - 0.5, -0.5],
                         showgrid=False, row=1, col=col)
    first = min(1, len(effect.batch_sizes) - 1) if start is None else effect.batch_sizes.index(start)
    for d, spec in zip(fig.data, frame_data(first)):
        d.update(x=spec["x"], y=spec["y"])

    def title(b):
        size = effect.batch_sizes[b]
        spread = ", ".join(f"{name} {float(effect.output_spread[name][b]):.3g}" for name in names)
        who = ("only sample 0 itself, so nothing else can move it" if size == 1 else
               f"{int(effect.counts['BatchNorm'][b])} values from all {size} samples")
        return f"Batch size {size}: BatchNorm averages {who}<br>spread of sample 0's output: {spread}"

    frames = [dict(name=str(size), data=frame_data(b), traces=list(range(len(fig.data))),
                   layout=dict(title=dict(text=title(b)))) for b, size in enumerate(effect.batch_sizes)]
    finish(fig, height=380, title=title(first))
    fig.update_layout(margin=dict(t=115, b=10))
    fig = add_player(fig, frames, [str(b) for b in effect.batch_sizes], prefix="batch size ", duration=900,
                     active=first)
    return fig


def as_rows(trace, t):
    """An x-shaped tensor as a 2D table for reading: (N, D) as is, else one row per (sample, dim 1)
    with the positions across. Returns (row labels, column labels, values)."""
    if t.dim() == 2 and not trace.unbatched:
        return [f"n{n}" for n in range(t.shape[0])], [str(j) for j in range(t.shape[1])], as_numpy(t)
    v = as_numpy(trace.ncl(t))                                                  # (N, C, L)
    n, c, length = v.shape
    return ([f"n{i} c{j}" for i in range(n) for j in range(c)], [str(p) for p in range(length)],
            v.reshape(n * c, length))


def cells_table(trace, max_rows=5000):
    """One row per cell (the first `max_rows`): where it is, its statistic, and each stage's value."""
    ids, feats = trace.group_ids().reshape(-1), trace.feature_ids().reshape(-1)
    gamma, beta = (as_numpy(p).reshape(-1) for p in trace.affine())
    mean, std = as_numpy(trace.mean).reshape(-1), as_numpy(trace.std).reshape(-1)
    labels = trace.group_labels()
    x, xn, y = (as_numpy(t).reshape(-1) for t in (trace.x, trace.normalized, trace.output))
    shape = tuple(trace.x.shape)
    rows = []
    for i in range(min(x.size, max_rows)):
        g = int(ids[i])
        rows.append({"index": str(tuple(int(v) for v in np.unravel_index(i, shape))), "statistic": labels[g],
                     "x": float(x[i]), "mean": float(mean[g]), "sqrt(var + eps)": float(std[g]),
                     "normalized": float(xn[i]), "feature": int(feats[i]), "gamma": float(gamma[i]),
                     "beta": float(beta[i]), "output": float(y[i])})
    return rows


@returns_figure
def preview():
    """The home card: one (2, 4, 2, 2) input, its cells coloured by the statistic they share under
    BatchNorm, LayerNorm, InstanceNorm and GroupNorm (real layers, real group ids)."""
    from ..examples.normalization import counting
    from ..normalization import trace_norm
    from torch import nn
    x = counting((2, 4, 2, 2))
    layers = (nn.BatchNorm2d(4), nn.LayerNorm((4, 2, 2)), nn.InstanceNorm2d(4), nn.GroupNorm(2, 4))
    fig = Spec.subplots(rows=1, cols=len(layers), horizontal_spacing=0.04)
    for k, layer in enumerate(layers, 1):
        heat, _, _ = _grouping_heatmap(trace_norm(layer.double(), x), 2, 4, 4, False)
        heat.hovertemplate, heat.customdata = f"{type(layer).__name__}<extra></extra>", None
        fig.add_trace(heat, 1, k)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    return card(fig)
