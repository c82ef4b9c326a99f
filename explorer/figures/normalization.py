"""Figures for the Normalization page: which cells share a statistic, the statistics, before/after.

The input is drawn as (N, C, L): one block per (sample, channel), its L positions as cells inside.
Cells of one colour share one mean and one variance, so the five layers differ only in colouring.
"""
import math

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from .theme import HIGHLIGHT, MAX_ANNOTATED_CELLS, as_numpy, evenly_spaced, finish

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


def _grouping_heatmap(trace, max_samples, max_channels, max_cells, show_values):
    """The block grid as one heatmap trace, with the tick positions and labels of its blocks."""
    n_all, c_all, _ = trace.ncl(trace.x).shape
    ns, cs = evenly_spaced(n_all, max_samples), evenly_spaced(c_all, max_channels)
    ls, (br, bc) = _cells(trace, max_cells)
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
                hover[r, q] = (f"sample {n}, dim 1 = {c}, position {pos}<br>value {v:.6g}<br>"
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
                     scaleanchor=fig.get_subplot(row, col).xaxis.plotly_name.replace("axis", ""), row=row, col=col)


def grouping(trace, *, max_samples=4, max_channels=8, max_cells=64, show_values=None):
    """x as N × C blocks of positions; cells of one colour share one mean and variance.

    Hovering a cell names its statistic and shows its mean and √(var + ε). Big inputs are thinned
    to `max_samples` × `max_channels` blocks of at most `max_cells` cells.
    """
    heat, xticks, yticks = _grouping_heatmap(trace, max_samples, max_channels, max_cells, show_values)
    fig = make_subplots(rows=1, cols=1)
    fig.add_trace(heat, 1, 1)
    _block_axes(fig, xticks, yticks)
    n_stats = trace.mean.numel()
    title = f"{trace.title}: {n_stats} mean/variance pair{'s' if n_stats != 1 else ''}, one colour each"
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    return finish(fig, title=title, height=min(700, 140 + 22 * len(heat.z)))


def grouping_comparison(traces, *, max_samples=3, max_channels=6, max_cells=16):
    """The groupings of several traces (e.g. all five layers on one input) side by side."""
    titles = [f"{type(t.module).__name__}: {t.mean.numel()} statistics" for t in traces]
    fig = make_subplots(rows=1, cols=len(traces), subplot_titles=titles, horizontal_spacing=0.03)
    for k, t in enumerate(traces, 1):
        heat, xticks, yticks = _grouping_heatmap(t, max_samples, max_channels, max_cells, False)
        fig.add_trace(heat, 1, k)
        _block_axes(fig, xticks, yticks, 1, k, side="bottom")
    fig.update_annotations(font_size=13)
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    return finish(fig, title="Cells of one colour share one mean and variance", height=340)


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


def histograms(trace, bins=40):
    """Value histograms of the input, the normalized values and the output (counts only are sent)."""
    stages = (("input x", trace.x, "#7f7f7f"), ("normalized (x − mean) / √(var + ε)", trace.normalized, "#1f77b4"),
              ("output γ·x̂ + β", trace.output, HIGHLIGHT))
    fig = make_subplots(rows=1, cols=3, subplot_titles=[s[0] for s in stages], horizontal_spacing=0.06)
    for k, (name, t, color) in enumerate(stages, 1):
        fig.add_trace(_histogram_bars(t, bins, color, name), 1, k)
        mean, std = float(t.mean()), float(t.std(correction=0))
        fig.add_vline(x=mean, line_dash="dash", line_color="black", row=1, col=k,
                      annotation_text=f"mean {mean:.3g}<br>std {std:.3g}", annotation_font_size=11)
    fig.update_annotations(font_size=12)
    return finish(fig, height=320)


def _gamma_beta(trace):
    """gamma and beta flattened, one value per feature; ones and zeros where the layer has none."""
    shape = tuple(trace.module.normalized_shape) if trace.kind in ("layer", "rms") else (trace.ncl(trace.x).shape[1],)
    n = math.prod(shape)
    gamma = np.ones(n) if trace.weight is None else as_numpy(trace.weight).reshape(-1)
    beta = np.zeros(n) if trace.bias is None else as_numpy(trace.bias).reshape(-1)
    return gamma, beta


def affine_stage(trace, max_features=12, max_points=MAX_POINTS):
    """γ and β per feature, and x̂ → γ·x̂ + β as one straight line per feature (cells as dots)."""
    gamma, beta = _gamma_beta(trace)
    shown = evenly_spaced(gamma.size, max_features)
    # a thinned sample of cells: big inputs would send millions of dots
    flat = torch.tensor(evenly_spaced(trace.x.numel(), 10 * max_points))
    where = torch.unravel_index(flat, trace.x.shape)
    feat = trace.feature_ids()[where].numpy()
    z, y = as_numpy(trace.normalized[where]), as_numpy(trace.output[where])
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.1,
                        subplot_titles=("γ (scale) and β (shift) per feature", "normalized x̂ → output"))
    fig.add_trace(go.Bar(x=[str(f) for f in shown], y=gamma[shown], name="γ", marker_color="#1f77b4"), 1, 1)
    fig.add_trace(go.Bar(x=[str(f) for f in shown], y=beta[shown], name="β", marker_color=HIGHLIGHT), 1, 1)
    lo, hi = float(z.min()), float(z.max())
    for k, f in enumerate(shown):
        color, g, b = PALETTE[k % len(PALETTE)], gamma[f], beta[f]
        idx = np.flatnonzero(feat == f)
        idx = idx[evenly_spaced(idx.size, max(1, max_points // len(shown)))] if idx.size else idx
        fig.add_trace(go.Scatter(x=[lo, hi], y=[g * lo + b, g * hi + b], mode="lines", line=dict(color=color),
                                 name=f"feature {f}", hoverinfo="skip"), 1, 2)
        fig.add_trace(go.Scatter(x=z[idx], y=y[idx], mode="markers", marker=dict(color=color, size=6),
                                 name=f"feature {f}",
                                 hovertemplate=f"feature {f}: γ={g:.3g}, β={b:.3g}<br>x̂ %{{x:.4g}} → %{{y:.4g}}"
                                               "<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text="feature (channel, or index into normalized_shape)", row=1, col=1)
    fig.update_xaxes(title_text="x̂", row=1, col=2)
    fig.update_yaxes(title_text="γ·x̂ + β", row=1, col=2)
    fig.update_layout(barmode="group")
    return finish(fig, height=380)


def running_stats(run, channel=0):
    """Running mean and variance of one channel after each batch, next to each batch's own values."""
    steps = list(range(run.running_mean.shape[0]))
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
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


def train_vs_eval(run, channel=0, max_points=MAX_POINTS):
    """One input, one channel: train mode (its own batch statistics) vs eval mode (running statistics)."""
    tt, te = run.train_trace, run.eval_trace
    x = as_numpy(tt.ncl(tt.x)[:, channel]).reshape(-1)
    keep = np.asarray(evenly_spaced(x.size, max_points))
    fig = go.Figure()
    for t, name, color in ((tt, "train mode: batch statistics", "#1f77b4"),
                           (te, "eval mode: running statistics", HIGHLIGHT)):
        y = as_numpy(t.ncl(t.output)[:, channel]).reshape(-1)
        fig.add_trace(go.Scatter(x=x[keep], y=y[keep], mode="markers", name=name, marker=dict(color=color, size=7),
                                 hovertemplate="x %{x:.4g} → %{y:.4g}<extra>" + name + "</extra>"))
    fig.update_xaxes(title_text=f"input, channel {channel}")
    fig.update_yaxes(title_text="output")
    finish(fig, height=360, title="The same input in train and eval mode")
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.2))
    return fig


def batch_size_noise(effect):
    """How the statistic for one sample and its output wobble with the batch size, per layer."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
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
