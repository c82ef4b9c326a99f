"""Figures for the Attention page: weight heatmaps, the lines view, scores vs weights, the renormalized
row, the pipeline (as formulas and as matrices), the input vectors and the effect of the 1/sqrt(d) scale.

Rows are queries and columns keys everywhere, as in weights[b, head, query, key]. Tokens label the
axes through tick text over integer positions, so a repeated word ("the" twice) keeps its own row.
"""
import math

import numpy as np
import plotly.graph_objects as go

from ..attention import temperature
from ..errors import ExplorerError
from .spec import Spec, returns_figure
from .theme import (ACCENT, DIVERGING, HIGHLIGHT, PADDING, SEQUENTIAL, add_player, as_numpy, card, evenly_spaced,
                    finish, grid_axes, heatmap, outline_trace, symmetric_range)

MAX_SIDE = 64        # heatmaps keep at most this many evenly spread queries / keys
MAX_FRAME_SIDE = 32  # animated heatmaps (one copy per frame) keep at most this many
MAX_GRID_SIDE = 32   # so do the small panels of the heads grid, up to 17 of them
MAX_NAMED_CELLS = 400  # up to this many cells, each one's hover names its tokens
N_BINS = 8           # the lines view groups lines into this many widths
MAX_HEADS = 16
LINE_COLOR = "rgba(90,110,160,{a:.2f})"
BLOCKED = "#d62728"  # outline of a cell masked by a click
MAX_HOVER_KEYS = 12  # the lines view's hover lists a query's whole row up to this many keys


# -- shared helpers ----------------------------------------------------------------------------
def _tokens(tokens, n, what):
    """Labels for n positions: the given tokens, or their indices."""
    if tokens is None:
        return [str(i) for i in range(n)]
    if len(tokens) != n:
        raise ExplorerError(f"There are {len(tokens)} {what} tokens for {n} {what} positions; give one per position.")
    return [str(t) for t in tokens]


def _head_weights(trace, b, head):
    """(L, S) numpy weights of one head, or the mean over heads when head is None."""
    _check_index(trace, b, head)
    w = trace.averaged_weights[b] if head is None else trace.weights[b, head]
    return as_numpy(w)


def _check_index(trace, b, head):
    if not 0 <= b < trace.batch:
        raise ExplorerError(f"The batch index {b} is out of range; pick 0 to {trace.batch - 1}.")
    if head is not None and not 0 <= head < trace.num_heads:
        raise ExplorerError(f"The head index {head} is out of range; pick 0 to {trace.num_heads - 1}.")


def _head_title(trace, head):
    if trace.kind == "additive":
        return "additive attention"
    return "mean over heads" if head is None else f"head {head}"


def _label_axes(fig, rows, cols, qlab, klab, row=1, col=1):
    """Token tick labels on a heatmap subplot showing query indices `rows` and key indices `cols`."""
    grid_axes(fig, row, col, len(rows), len(cols))
    fig.update_yaxes(tickvals=list(range(len(rows))), ticktext=[qlab[i] for i in rows], dtick=None,
                     row=row, col=col)
    fig.update_xaxes(tickvals=list(range(len(cols))), ticktext=[klab[j] for j in cols], dtick=None,
                     tickangle=-45, row=row, col=col)


def _weights_trace(w, rows, cols, qlab, klab, name="weights", text=True, decimals=2):
    """A 0..1 heatmap of w[rows][:, cols] whose hover names the query and key: customdata per cell
    is [query token, key token, query index, key index], or just the two indices on big grids,
    where one label per cell would outweigh the numbers."""
    z = w[np.ix_(rows, cols)]
    t = heatmap(z, zmin=0.0, zmax=1.0, colorscale=SEQUENTIAL, name=name, text=text)
    if text:
        t.update(texttemplate=f"%{{z:.{decimals}f}}")
    if len(rows) * len(cols) <= MAX_NAMED_CELLS:
        custom = np.array([[[qlab[i], klab[j], i, j] for j in cols] for i in rows], dtype=object)
    else:
        custom = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).astype(np.int16)  # (L, S, 2)
    return t.update(customdata=custom,
                    hovertemplate="query %{customdata[0]} → key %{customdata[1]}<br>weight %{z:.4f}<extra></extra>")


def _row_box(fig, i, n_cols, row=1, col=1):
    """Outline query row i (display position) in HIGHLIGHT."""
    fig.add_shape(type="rect", x0=-0.5, x1=n_cols - 0.5, y0=i - 0.5, y1=i + 0.5,
                  line=dict(color=HIGHLIGHT, width=3), row=row, col=col)


def _click_targets(w, rows, cols, qlab, klab):
    """Invisible markers over every cell: heatmaps cannot be clicked, markers can. customdata is
    [query index, key index] as plain lists (a click reports a point's customdata as given, and a
    typed array would not come back as a list); they carry the cell's hover too, since they sit on top."""
    ii, jj = np.meshgrid(np.arange(len(rows)), np.arange(len(cols)), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    q, k = np.asarray(rows)[ii], np.asarray(cols)[jj]
    marker = dict(size=18, symbol="square", opacity=0.01)
    if len(q) <= MAX_NAMED_CELLS:
        return go.Scatter(x=jj, y=ii, mode="markers", name="cells", marker=marker,
                          customdata=[[int(a), int(c)] for a, c in zip(q, k)],
                          text=[f"query {qlab[a]} → key {klab[c]}<br>weight {w[a, c]:.4f}<br>click to mask / unmask"
                                for a, c in zip(q, k)], hovertemplate="%{text}<extra></extra>")
    return go.Scatter(x=jj, y=ii, mode="markers", name="cells", marker=marker,
                      customdata=[[int(a), int(c), round(float(w[a, c]), 4)] for a, c in zip(q, k)],
                      hovertemplate="query %{customdata[0]} → key %{customdata[1]}<br>weight %{customdata[2]:.4f}"
                                    "<br>click to mask / unmask<extra></extra>")


# -- heatmaps ----------------------------------------------------------------------------------
@returns_figure
def weights_heatmap(trace, b=0, head=0, query_tokens=None, key_tokens=None, selected=None, clickable=False,
                    blocked=()):
    """One head's attention weights (rows = queries, columns = keys); head=None draws the mean over
    heads, which is what nn.MultiheadAttention returns. `selected` outlines that query's row.

    clickable: add click targets (customdata [query, key]) so a page can toggle a cell's mask.
    blocked: (query, key) cells masked by clicks, outlined in red.
    """
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    w = _head_weights(trace, b, head)
    rows, cols = evenly_spaced(L, MAX_SIDE), evenly_spaced(S, MAX_SIDE)
    fig = Spec.subplots(rows=1, cols=1)
    fig.add_trace(_weights_trace(w, rows, cols, qlab, klab).update(showscale=True), 1, 1)
    _label_axes(fig, rows, cols, qlab, klab)
    shown = [(rows.index(i), cols.index(j)) for i, j in blocked if i in rows and j in cols]
    if shown:
        fig.add_trace(outline_trace(shown, color=BLOCKED, width=2, name="masked by click", pad=0.42), 1, 1)
    if clickable:
        fig.add_trace(_click_targets(w, rows, cols, qlab, klab), 1, 1)
    if selected is not None and selected in rows:
        _row_box(fig, rows.index(selected), len(cols))
    thinned = " (evenly spread subset shown)" if (len(rows), len(cols)) != (L, S) else ""
    fig.update_xaxes(side="top")
    finish(fig, height=min(800, 200 + 24 * len(rows)),
           title=f"Attention weights, {_head_title(trace, head)}: each row sums to 1{thinned}")
    longest = max(len(klab[j]) for j in cols)  # the key labels sit on top, under the title
    return fig.update_layout(margin=dict(t=70 + 6 * min(longest, 12)), title=dict(y=0.99, yanchor="top"))


@returns_figure
def heads_grid(trace, b=0, query_tokens=None, key_tokens=None, max_heads=MAX_HEADS, show_mean=True):
    """Every head's weights side by side, then (show_mean) their mean: heads learn to look at different
    things, and the mean is what nn.MultiheadAttention returns with average_attn_weights=True."""
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    _check_index(trace, b, None)
    heads = list(range(min(trace.num_heads, max_heads)))
    panels = heads + ([None] if trace.num_heads > 1 and show_mean else [])
    ncols = min(5, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Spec.subplots(rows=nrows, cols=ncols, subplot_titles=[_head_title(trace, h) for h in panels],
                        horizontal_spacing=0.04, vertical_spacing=0.08)
    rows, cols = evenly_spaced(L, MAX_GRID_SIDE), evenly_spaced(S, MAX_GRID_SIDE)
    small = len(rows) * len(cols) <= 25  # numbers only while a small panel still has room for them
    for k, h in enumerate(panels):
        r, c = k // ncols + 1, k % ncols + 1
        fig.add_trace(_weights_trace(_head_weights(trace, b, h), rows, cols, qlab, klab,
                                     name=_head_title(trace, h), text=small), r, c)
        _label_axes(fig, rows, cols, qlab, klab, r, c)
        fig.update_yaxes(showticklabels=c == 1, row=r, col=c)
    fig.update_xaxes(tickfont=dict(size=10))
    fig.update_yaxes(tickfont=dict(size=10))
    thinned = "Every head: an evenly spread subset of queries and keys" if (len(rows), len(cols)) != (L, S) else None
    finish(fig, height=60 + nrows * (40 + min(380, 900 // ncols)), title=thinned)
    longest = max(len(qlab[i]) for i in rows)  # room for the first column's query labels
    return fig.update_layout(margin=dict(l=10 + 7 * min(longest, 14)))


@returns_figure
def scores_vs_weights(trace, b=0, head=0, query_tokens=None, key_tokens=None, decimals=2):
    """Scores before the softmax (masked cells are -inf, drawn grey) next to the weights after it
    (masked cells are exactly 0): the softmax turns -inf into a weight of zero. `decimals` of the
    printed numbers: fewer when the type is large (presentation mode)."""
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    _check_index(trace, b, head)
    rows, cols = evenly_spaced(L, MAX_SIDE), evenly_spaced(S, MAX_SIDE)
    scores = as_numpy(trace.scores[b, head])[np.ix_(rows, cols)]
    blocked = np.isneginf(scores)
    finite = np.where(blocked, np.nan, scores)
    lo, hi = symmetric_range(finite)
    scale = "" if trace.kind == "additive" else " / √d"
    fig = Spec.subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=(f"scores = raw{scale} + mask (grey = −∞)", "weights = softmax(scores)"))
    scores_map = heatmap(finite, zmin=lo, zmax=hi, name="score", text=finite.size <= 400)
    if finite.size <= 400:
        scores_map.update(texttemplate=f"%{{z:.{decimals}f}}")
    fig.add_trace(scores_map, 1, 1)
    if blocked.any():
        fig.add_trace(go.Heatmap(z=np.where(blocked, 1.0, np.nan), colorscale=[[0, PADDING], [1, PADDING]],
                                 showscale=False, xgap=1, ygap=1, name="masked",
                                 text=np.where(blocked, "−∞", ""), texttemplate="%{text}",
                                 textfont=dict(color="#999"),
                                 hovertemplate="masked: score −∞, weight 0<extra></extra>"), 1, 1)
    w = _head_weights(trace, b, head)
    fig.add_trace(_weights_trace(w, rows, cols, qlab, klab, decimals=decimals), 1, 2)
    for c in (1, 2):
        _label_axes(fig, rows, cols, qlab, klab, 1, c)
    return finish(fig, height=min(700, 200 + 22 * len(rows)),
                  title=f"Before and after the softmax, {_head_title(trace, head)}")


@returns_figure
def renormalized_row(trace, b=0, head=0, i=0, key_tokens=None, query_tokens=None):
    """One query's weights without the mask (grey) and with it (orange): blocked keys drop to exactly 0
    and the softmax shares the whole 1 among the keys left, each scaled by the same factor."""
    _check_index(trace, b, head)
    r = trace.query_row(b, head, i)
    S = trace.src_len
    klab = _tokens(key_tokens, S, "key")
    qlab = _tokens(query_tokens, trace.tgt_len, "query")
    unmasked, masked = as_numpy(r.unmasked), as_numpy(r.weights)
    blocked = np.isneginf(as_numpy(r.mask))
    x = list(range(S))
    fig = Spec()
    fig.add_trace(go.Bar(x=x, y=unmasked, name="without the mask", marker_color="#999",
                         hovertemplate="key %{customdata}: %{y:.4f} without the mask<extra></extra>",
                         customdata=klab))
    fig.add_trace(go.Bar(x=x, y=masked, name="with the mask", marker_color=HIGHLIGHT,
                         text=[("−∞ → 0" if blocked[j] else f"{masked[j]:.2f}") for j in x],
                         textposition="outside",
                         textfont=dict(size=12),
                         hovertemplate="key %{customdata}: %{y:.4f} with the mask<extra></extra>", customdata=klab))
    kept = float(unmasked[~blocked].sum())
    if blocked.any():
        what = (f"the mask hides {int(blocked.sum())} key(s) holding {1 - kept:.2f} of the weight; the other keys "
                f"share the whole 1, each ×{1 / kept:.3g}")
    else:
        what = "no key of this row is masked, so both bars agree"
    fig.update_xaxes(tickvals=x, ticktext=klab, tickangle=-45)
    fig.update_yaxes(range=[0, 1.12 * max(float(masked.max()), float(unmasked.max()), 1e-9)], title_text="weight")
    finish(fig, height=380, title=f"Query “{qlab[i]}”: its weights without and with the mask<br><sup>{what}</sup>")
    # the title's two lines at the very top, the legend's row under them: side by side, a long
    # second line ran under the legend
    return fig.update_layout(barmode="group", showlegend=True, margin=dict(t=96),
                             title=dict(y=1, yref="container", yanchor="top", pad=dict(t=24)),
                             legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"))


@returns_figure
def positional_heatmap(pe, tokens=None):
    """The sinusoidal positional encoding: row p is added to the p-th token's embedding.
    Low dimensions wiggle fast, high ones slowly, so every position gets a distinct pattern."""
    z = as_numpy(pe)
    labels = _tokens(tokens, z.shape[0], "position")
    fig = Spec(go.Heatmap(z=z, zmin=-1, zmax=1, colorscale=DIVERGING, showscale=True,
                               hovertemplate="position %{y}, dimension %{x}<br>PE %{z:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text="position", tickvals=list(range(len(labels))),
                     ticktext=labels if tokens is not None else None)
    fig.update_xaxes(title_text="embedding dimension (even: sin, odd: cos)")
    return finish(fig, height=min(700, 160 + 14 * z.shape[0]),
                  title="Positional encoding: PE[p, 2i] = sin(p / 10000^(2i/E)), PE[p, 2i+1] = cos(...)")


# -- lines view --------------------------------------------------------------------------------
def _line_bin(w):
    """Bin index per weight on a square-root scale, so small weights still differ from each other."""
    return np.minimum((np.sqrt(w) * N_BINS).astype(int), N_BINS - 1)


def _bin_weight(k):
    return ((k + 0.5) / N_BINS) ** 2


def _segments(w, rows, cols, yq, yk, k):
    """x, y of every (query, key) line whose weight falls in bin k, None-separated for one trace."""
    xs, ys = [], []
    for i in rows:
        for j in cols:
            if w[i, j] > 0 and _line_bin(w[i, j]) == k:
                xs += [0, 1, None]
                ys += [yq[i], yk[j], None]
    return xs, ys


@returns_figure
def lines_view(trace, b=0, head=0, query_tokens=None, key_tokens=None, selected=0):
    """BertViz-style lines: queries on the left, keys on the right, one line per (query, key) pair
    whose width and opacity grow with the weight. The selected query's lines are drawn in colour;
    a slider steps through the queries in the browser. Masked pairs (weight 0) get no line."""
    L, S = min(trace.tgt_len, MAX_SIDE), min(trace.src_len, MAX_SIDE)
    qlab = _tokens(query_tokens, trace.tgt_len, "query")[:L]
    klab = _tokens(key_tokens, trace.src_len, "key")[:S]
    w = _head_weights(trace, b, head)[:L, :S]
    if not 0 <= selected < L:
        raise ExplorerError(f"The selected query {selected} is out of range; pick 0 to {L - 1}.")
    yq, yk = np.arange(L), np.arange(S)
    fig = Spec()
    for k in range(N_BINS):
        xs, ys = _segments(w, range(L), range(S), yq, yk, k)
        a = 0.08 + 0.5 * _bin_weight(k)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                 line=dict(color=LINE_COLOR.format(a=a), width=0.5 + 6 * math.sqrt(_bin_weight(k)))))
    first_hi = len(fig.data)
    for k in range(N_BINS):
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", hoverinfo="skip", opacity=0.35 + 0.65 * (k + 1) / N_BINS,
                                 line=dict(color=HIGHLIGHT, width=1 + 12 * math.sqrt(_bin_weight(k)))))
    fig.add_trace(go.Scatter(x=np.zeros(L), y=yq, mode="markers+text", text=qlab, textposition="middle left",
                             marker=dict(size=10, color="#888"), customdata=[_row_hover(w[i], klab) for i in range(L)],
                             name="queries", hovertemplate="query <b>%{text}</b> attends to:<br>%{customdata}"
                                                           "<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.ones(S), y=yk, mode="markers+text", text=klab, textposition="middle right",
                             marker=dict(size=10, color="#888"), name="keys",
                             hovertemplate="key %{text}<extra></extra>"))
    q_idx, k_idx = len(fig.data) - 2, len(fig.data) - 1
    frames = [dict(name=str(i), traces=list(range(first_hi, first_hi + N_BINS)) + [q_idx, k_idx],
                   data=_highlight(w, i, yq, yk, L, S)) for i in range(L)]
    for idx, data in zip(frames[selected]["traces"], frames[selected]["data"]):
        fig.data[idx].update({k: v for k, v in data.items() if k != "type"})
    fig.update_xaxes(visible=False, range=[-0.6, 1.6])
    fig.update_yaxes(visible=False, autorange="reversed")
    cut = " (first 64 positions)" if (L, S) != (trace.tgt_len, trace.src_len) else ""
    finish(fig, height=220 + 28 * max(L, S), title=f"Who looks at whom, {_head_title(trace, head)}{cut}")
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    # x, len: clear of ▶ ❚❚ in a half-width column
    return add_player(fig, frames, qlab, prefix="query ", active=selected, x=0.2, len=0.8)


def _row_hover(row, klab):
    """A query's weight row as hover lines, heaviest key first: every key while there are few."""
    order = np.argsort(-row, kind="stable")
    shown = order if len(order) <= MAX_HOVER_KEYS else order[:MAX_HOVER_KEYS - 1]
    lines = [f"{klab[j]}: {row[j]:.3f}" for j in shown]
    if len(shown) < len(order):
        lines.append(f"… {len(order) - len(shown)} more keys, {row[order[len(shown):]].sum():.3f} together")
    return "<br>".join(lines)


def _highlight(w, i, yq, yk, L, S):
    """Plain-dict updates for query i: its lines per bin, its marker, and key markers sized by weight."""
    data = []
    for k in range(N_BINS):
        xs, ys = _segments(w, [i], range(S), yq, yk, k)
        data.append(dict(type="scatter", x=xs, y=ys))
    qcolor = ["#888"] * L
    qcolor[i] = HIGHLIGHT
    data.append(dict(type="scatter", marker=dict(size=[18 if r == i else 10 for r in range(L)], color=qcolor)))
    data.append(dict(type="scatter", marker=dict(size=(8 + 24 * np.sqrt(w[i])).tolist(), color=HIGHLIGHT)))
    return data


# -- pipeline ----------------------------------------------------------------------------------
@returns_figure
def pipeline(trace):
    """The layer's steps top to bottom, each with its formula and the shape of its result."""
    stages = trace.stages()
    n = len(stages)
    notes = []  # one layout update for all boxes and arrows: adding them one by one re-validates every one
    for k, s in enumerate(stages):
        shape = "×".join(str(d) for d in s.shape)
        notes.append(dict(x=0.5, y=n - 1 - k, text=f"<b>{s.name}</b>   {s.formula}   <i>[{shape}]</i>",
                          showarrow=False, bordercolor=HIGHLIGHT if s.name in ("scores", "weights") else "#888",
                          borderwidth=2, borderpad=6, bgcolor="rgba(128,128,128,0.12)", font=dict(size=15)))
        if k:
            notes.append(dict(x=0.5, y=n - 1 - k + 0.28, ax=0.5, ay=n - k - 0.28, xref="x", yref="y", axref="x",
                              ayref="y", showarrow=True, arrowhead=2, arrowwidth=1.5, arrowcolor="#888", text=""))
    fig = Spec(layout=dict(annotations=notes))
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[-0.6, n - 0.4])
    what = "additive attention" if trace.kind == "additive" else \
        f"{trace.num_heads} head(s) of size d = {trace.head_dim}"
    return finish(fig, height=80 + 58 * n, title=f"The pipeline, {what}<br><sup>[shapes batch-first]</sup>")


def _matrix(fig, z, row, col, *, zrange=None, colorscale=DIVERGING, name=""):
    """A matrix panel: square cells, its numbers printed while they fit."""
    z = as_numpy(z)
    lo, hi = symmetric_range(z) if zrange is None else zrange
    readable = z.shape[1] <= 6 and z.shape[0] <= 8  # bigger panels get cells too small for "-0.25"
    t = heatmap(z, zmin=lo, zmax=hi, colorscale=colorscale, name=name, text=readable)
    if readable:
        t.update(texttemplate="%{z:.2f}", textfont=dict(size=10))
    fig.add_trace(t, row, col)
    grid_axes(fig, row, col, z.shape[0], z.shape[1])
    if z.shape[1] > 2 * z.shape[0] and z.shape[1] > 12:  # a wide V or output: square cells would be slivers
        fig.update_yaxes(scaleanchor=None, row=row, col=col)


@returns_figure
def pipeline_matrices(trace, b=0, head=0, query_tokens=None, key_tokens=None):
    """One head's matrices in the order the formula uses them. Top: Q and Kᵀ make the scores;
    bottom: the softmax makes the weights, and the weights mix V into the head's output.
    Rows of Q, scores, weights and output are queries; columns of Kᵀ, scores and weights are keys."""
    _check_index(trace, b, head)
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    rows, cols = evenly_spaced(L, MAX_SIDE), evenly_spaced(S, MAX_SIDE)
    q = as_numpy(trace.q[b, head])[rows]
    k = as_numpy(trace.k[b, head])[cols]
    v = as_numpy(trace.v[b, head])[cols]
    out = as_numpy(trace.head_outputs[b, head])[rows]
    scores = as_numpy(trace.scores[b, head])[np.ix_(rows, cols)]
    w = as_numpy(trace.weights[b, head])[np.ix_(rows, cols)]
    d, dv = q.shape[1], v.shape[1]
    if trace.kind == "additive":
        titles = (f"W_q q   ({L}×{d})", f"(W_k k)ᵀ   ({d}×{S})", f"scores = vᵀ tanh(·) + M   ({L}×{S})")
    else:
        titles = (f"Q   ({L}×{d})", f"Kᵀ   ({d}×{S})", f"scores = Q Kᵀ / √{d} + M   ({L}×{S})")
    titles += (f"weights = softmax(scores)   ({L}×{S})", f"V   ({S}×{dv})", f"output = weights V   ({L}×{dv})")
    fig = Spec.subplots(rows=2, cols=3, horizontal_spacing=0.06, vertical_spacing=0.16, subplot_titles=titles)
    _matrix(fig, q, 1, 1, name="Q")
    _matrix(fig, k.T, 1, 2, name="Kᵀ")
    blocked = np.isneginf(scores)
    finite = np.where(blocked, np.nan, scores)
    _matrix(fig, finite, 1, 3, zrange=symmetric_range(finite), name="score")
    if blocked.any():
        fig.add_trace(go.Heatmap(z=np.where(blocked, 1.0, np.nan), colorscale=[[0, PADDING], [1, PADDING]],
                                 showscale=False, xgap=1, ygap=1, hovertemplate="masked: −∞<extra></extra>"), 1, 3)
    _matrix(fig, w, 2, 1, zrange=(0.0, 1.0), colorscale=SEQUENTIAL, name="weight")
    _matrix(fig, v, 2, 2, name="V")
    _matrix(fig, out, 2, 3, name="output")
    qticks = dict(tickvals=list(range(len(rows))), ticktext=[qlab[i] for i in rows], dtick=None)
    kticks = dict(tickvals=list(range(len(cols))), ticktext=[klab[j] for j in cols], dtick=None)
    for r, c in ((1, 1), (1, 3), (2, 1), (2, 3)):
        fig.update_yaxes(**qticks, row=r, col=c)
    for r, c in ((1, 2), (1, 3), (2, 1)):
        fig.update_xaxes(**kticks, tickangle=-45, row=r, col=c)
    fig.update_yaxes(**kticks, row=2, col=2)
    side = max(len(rows), len(cols), min(max(d, dv), 32))
    return finish(fig, height=min(900, 220 + 2 * 22 * side),
                  title=f"One head's matrices, {_head_title(trace, head)}")


@returns_figure
def input_vectors(embedded, positions, tokens, title=None):
    """x = token embedding + positional encoding, one row per token, stacked top to bottom: what the
    layer actually receives. With `positions` None, the embeddings alone (the order of the words then
    changes nothing), or any input vectors under `title`."""
    emb = as_numpy(embedded)
    L, E = emb.shape
    labels = _tokens(tokens, L, "input")
    panels = [("token embedding: one nn.Embedding row per token" if title is None else "x", emb)]
    if positions is not None:
        pe = as_numpy(positions)
        panels += [("+ positional encoding (sines and cosines of the position)", pe),
                   ("= x, what the layer receives", emb + pe)]
    lo, hi = symmetric_range(*[z for _, z in panels])
    fig = Spec.subplots(rows=len(panels), cols=1, subplot_titles=[t for t, _ in panels], vertical_spacing=0.1,
                        shared_xaxes=True)
    for r, (name, z) in enumerate(panels, start=1):
        fig.add_trace(heatmap(z, zmin=lo, zmax=hi, name=name, text=False, showscale=r == 1, hover="value",
                              xgap=0, ygap=0), r, 1)
        fig.update_yaxes(autorange="reversed", tickvals=list(range(L)), ticktext=labels, row=r, col=1)
    fig.update_xaxes(title_text="dimension", row=len(panels), col=1)
    fig.update_annotations(font_size=13)
    if title is None:
        title = "The input x" if positions is not None else \
            "The input: token embeddings only (no positional encoding, so word order is invisible to attention)"
    return finish(fig, height=min(820, 110 + len(panels) * (60 + 13 * L)), title=title)


# -- temperature -------------------------------------------------------------------------------
def default_multipliers(trace):
    """Multipliers of the scale from 1/8 to well past sqrt(d) (= dropping 1/sqrt(d)), with 1 included."""
    top = max(8.0, 2 * math.sqrt(trace.head_dim) if trace.kind != "additive" else 8.0)
    grid = np.geomspace(1 / 8, top, 25)
    extra = [1.0] + ([math.sqrt(trace.head_dim)] if trace.kind != "additive" else [])
    return sorted(set(np.round(np.r_[grid, extra], 4).tolist()))


@returns_figure
def entropy_vs_scale(trace, b=0, head=0, query_tokens=None, key_tokens=None, multipliers=None, selected=1.0):
    """The weights at a chosen multiple of the 1/sqrt(d) scale (left), each query row's entropy
    (middle; the tick is a uniform row's) and the mean row entropy against the multiple (right).
    A slider steps through the multiples in the browser: small ones flatten every row to uniform,
    large ones make each row pick one key (entropy 0), where the softmax stops passing gradient."""
    _check_index(trace, b, head)
    mults = sorted(default_multipliers(trace) if multipliers is None else [float(m) for m in multipliers])
    if not mults:
        raise ExplorerError("Give at least one scale multiplier.")
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    rows, cols = evenly_spaced(L, MAX_FRAME_SIDE), evenly_spaced(S, MAX_FRAME_SIDE)
    temps = [temperature(trace, m) for m in mults]
    entropies = [as_numpy(t.entropy[b, head]) for t in temps]                  # each (L,)
    curve = np.array([e.mean() for e in entropies])
    max_rows = as_numpy(temps[0].max_entropy[b, head])                        # (L,)
    uniform = float(max_rows.mean())
    top = float(max_rows.max())
    fig = Spec.subplots(rows=1, cols=3, column_widths=[0.42, 0.2, 0.38], horizontal_spacing=0.07,
                        subplot_titles=("weights at this scale", "entropy of each row", "mean row entropy (nats)"))
    fig.add_trace(_weights_trace(as_numpy(temps[0].weights[b, head]), rows, cols, qlab, klab,
                                 text=len(rows) * len(cols) <= 100), 1, 1)
    _label_axes(fig, rows, cols, qlab, klab, 1, 1)
    ys = list(range(len(rows)))
    fig.add_trace(go.Bar(x=entropies[0][rows], y=ys, orientation="h", name="row entropy", marker_color=ACCENT,
                         customdata=[qlab[i] for i in rows],
                         hovertemplate="query %{customdata}: entropy %{x:.3f} nats<extra></extra>"), 1, 2)
    fig.add_trace(go.Scatter(x=max_rows[rows], y=ys, mode="markers", name="uniform row",
                             marker=dict(symbol="line-ns", size=14, line=dict(width=2, color="#888")),
                             hovertemplate="uniform over the allowed keys: %{x:.3f}<extra></extra>"), 1, 2)
    fig.update_yaxes(autorange="reversed", tickvals=ys, ticktext=[qlab[i] for i in rows], row=1, col=2)
    fig.update_xaxes(range=[0, 1.08 * top + 1e-9], title_text="nats", row=1, col=2)
    fig.add_trace(go.Scatter(x=mults, y=curve, mode="lines+markers", name="entropy", line=dict(color="#4c78a8"),
                             hovertemplate="×%{x:.3g}: entropy %{y:.3f}<extra></extra>"), 1, 3)
    fig.add_trace(go.Scatter(x=[mults[0]], y=[curve[0]], mode="markers", name="current",
                             marker=dict(size=16, color=HIGHLIGHT, line=dict(color="black", width=1))), 1, 3)
    marks = [(1.0, "1/√d" if trace.kind != "additive" else "as is")]
    if trace.kind != "additive":
        marks.append((math.sqrt(trace.head_dim), "no 1/√d"))
    for x, label in marks:  # scatter, not add_vline: its labels land at log10(x) on a log axis
        fig.add_trace(go.Scatter(x=[x, x], y=[0, uniform * 1.08], mode="lines+text", text=["", label],
                                 textposition="top center", line=dict(dash="dot", color="#888"),
                                 hoverinfo="skip"), 1, 3)
    fig.add_hline(y=uniform, line_dash="dash", annotation_text="uniform", annotation_position="bottom left",
                  row=1, col=3)
    fig.add_hline(y=0, line_dash="dot", annotation_text="one key", annotation_position="top right", row=1, col=3)
    fig.update_yaxes(range=[-0.05 * uniform, 1.25 * uniform + 1e-9], row=1, col=3)
    fig.update_xaxes(type="log" if mults[0] > 0 else "linear", title_text="multiplier of the scale", row=1, col=3)
    frames = [dict(name=str(k), traces=[0, 1, 4], data=[
        dict(type="heatmap", z=as_numpy(t.weights[b, head])[np.ix_(rows, cols)].astype(np.float32)),
        dict(type="bar", x=entropies[k][rows]),
        dict(type="scatter", x=[m], y=[float(curve[k])])]) for k, (m, t) in enumerate(zip(mults, temps))]
    start = int(np.argmin(np.abs(np.array(mults) - selected)))
    for idx, data in zip(frames[start]["traces"], frames[start]["data"]):
        fig.data[idx].update({k: v for k, v in data.items() if k != "type"})
    thinned = " (evenly spread subset of rows and keys)" if (len(rows), len(cols)) != (L, S) else ""
    finish(fig, height=min(720, 280 + 20 * len(rows)),
           title=f"Why scale the scores, {_head_title(trace, head)}{thinned}")
    fig.update_layout(margin=dict(r=20))   # the log axis' last label reaches past the plot's right edge
    return add_player(fig, frames, [f"×{m:.3g}" for m in mults], prefix="scale ", active=start)


@returns_figure
def preview():
    """Home-page card: a causal self-attention head over a short sentence (real layer, fixed weights)."""
    from ..examples.attention import embed_sentences, make_layer
    from ..attention import trace_attention
    x = embed_sentences("attention lets each word look back", 16, seed=0).x
    t = trace_attention(make_layer("multihead", 16, 1, seed=2), x, is_causal=True)
    fig = Spec(heatmap(as_numpy(t.weights[0, 0]), zmin=0, zmax=1, colorscale=SEQUENTIAL, text=False))
    fig.update_yaxes(autorange="reversed", scaleanchor="x")
    return card(fig)
