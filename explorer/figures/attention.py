"""Figures for the Attention page: weight heatmaps, the lines view, scores vs weights, the pipeline,
the positional encoding and the effect of the 1/sqrt(d) scale.

Rows are queries and columns keys everywhere, as in weights[b, head, query, key]. Tokens label the
axes through tick text over integer positions, so a repeated word ("the" twice) keeps its own row.
"""
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..attention import entropy_curve, temperature
from ..errors import ExplorerError
from .theme import (DIVERGING, HIGHLIGHT, PADDING, SEQUENTIAL, add_player, as_numpy, evenly_spaced, finish,
                    grid_axes, heatmap, symmetric_range)

MAX_SIDE = 64        # heatmaps keep at most this many evenly spread queries / keys
N_BINS = 8           # the lines view groups lines into this many widths
MAX_HEADS = 16
LINE_COLOR = "rgba(90,110,160,{a:.2f})"


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


def _weights_trace(w, rows, cols, qlab, klab, name="weights", text=True):
    """A 0..1 heatmap of w[rows][:, cols] whose hover names the query and key tokens."""
    z = w[np.ix_(rows, cols)]
    custom = np.array([[[qlab[i], klab[j]] for j in cols] for i in rows], dtype=object)
    t = heatmap(z, zmin=0.0, zmax=1.0, colorscale=SEQUENTIAL, name=name, text=text)
    if text:
        t.update(texttemplate="%{z:.2f}")
    t.update(customdata=custom,
             hovertemplate="query %{customdata[0]} → key %{customdata[1]}<br>weight %{z:.4f}<extra></extra>")
    return t


def _row_box(fig, i, n_cols, row=1, col=1):
    """Outline query row i (display position) in HIGHLIGHT."""
    fig.add_shape(type="rect", x0=-0.5, x1=n_cols - 0.5, y0=i - 0.5, y1=i + 0.5,
                  line=dict(color=HIGHLIGHT, width=3), row=row, col=col)


# -- heatmaps ----------------------------------------------------------------------------------
def weights_heatmap(trace, b=0, head=0, query_tokens=None, key_tokens=None, selected=None):
    """One head's attention weights (rows = queries, columns = keys); head=None draws the mean over
    heads, which is what nn.MultiheadAttention returns. `selected` outlines that query's row."""
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    w = _head_weights(trace, b, head)
    rows, cols = evenly_spaced(L, MAX_SIDE), evenly_spaced(S, MAX_SIDE)
    fig = make_subplots(rows=1, cols=1)
    fig.add_trace(_weights_trace(w, rows, cols, qlab, klab).update(showscale=True), 1, 1)
    _label_axes(fig, rows, cols, qlab, klab)
    if selected is not None and selected in rows:
        _row_box(fig, rows.index(selected), len(cols))
    thinned = " (evenly spread subset shown)" if (len(rows), len(cols)) != (L, S) else ""
    fig.update_xaxes(side="top")
    return finish(fig, height=min(760, 160 + 22 * len(rows)),
                  title=f"Attention weights, {_head_title(trace, head)}: each row sums to 1{thinned}")


def heads_grid(trace, b=0, query_tokens=None, key_tokens=None, max_heads=MAX_HEADS):
    """Every head's weights side by side, then their mean: heads learn to look at different things."""
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    _check_index(trace, b, None)
    heads = list(range(min(trace.num_heads, max_heads)))
    panels = heads + ([None] if trace.num_heads > 1 else [])
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[_head_title(trace, h) for h in panels],
                        horizontal_spacing=0.04, vertical_spacing=0.08)
    rows, cols = evenly_spaced(L, MAX_SIDE), evenly_spaced(S, MAX_SIDE)
    small = len(rows) * len(cols) <= 64
    for k, h in enumerate(panels):
        r, c = k // ncols + 1, k % ncols + 1
        fig.add_trace(_weights_trace(_head_weights(trace, b, h), rows, cols, qlab, klab,
                                     name=_head_title(trace, h), text=small), r, c)
        _label_axes(fig, rows, cols, qlab, klab, r, c)
    fig.update_xaxes(tickfont=dict(size=9))
    fig.update_yaxes(tickfont=dict(size=9))
    return finish(fig, height=60 + nrows * 260)


def scores_vs_weights(trace, b=0, head=0, query_tokens=None, key_tokens=None):
    """Scores before the softmax (masked cells are -inf, drawn grey) next to the weights after it
    (masked cells are exactly 0): the softmax turns -inf into a weight of zero."""
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    _check_index(trace, b, head)
    rows, cols = evenly_spaced(L, MAX_SIDE), evenly_spaced(S, MAX_SIDE)
    scores = as_numpy(trace.scores[b, head])[np.ix_(rows, cols)]
    blocked = np.isneginf(scores)
    finite = np.where(blocked, np.nan, scores)
    lo, hi = symmetric_range(finite)
    scale = "" if trace.kind == "additive" else " / √d"
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=(f"scores = raw{scale} + mask (grey = −∞)", "weights = softmax(scores)"))
    fig.add_trace(heatmap(finite, zmin=lo, zmax=hi, name="score", text=finite.size <= 400), 1, 1)
    if blocked.any():
        fig.add_trace(go.Heatmap(z=np.where(blocked, 1.0, np.nan), colorscale=[[0, PADDING], [1, PADDING]],
                                 showscale=False, xgap=1, ygap=1, name="masked",
                                 text=np.where(blocked, "−∞", ""), texttemplate="%{text}",
                                 hovertemplate="masked: score −∞, weight 0<extra></extra>"), 1, 1)
    w = _head_weights(trace, b, head)
    fig.add_trace(_weights_trace(w, rows, cols, qlab, klab), 1, 2)
    for c in (1, 2):
        _label_axes(fig, rows, cols, qlab, klab, 1, c)
    return finish(fig, height=min(700, 200 + 22 * len(rows)),
                  title=f"Before and after the softmax, {_head_title(trace, head)}")


def positional_heatmap(pe, tokens=None):
    """The sinusoidal positional encoding: row p is added to the p-th token's embedding.
    Low dimensions wiggle fast, high ones slowly, so every position gets a distinct pattern."""
    z = as_numpy(pe)
    labels = _tokens(tokens, z.shape[0], "position")
    fig = go.Figure(go.Heatmap(z=z, zmin=-1, zmax=1, colorscale=DIVERGING, showscale=True,
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
    fig = go.Figure()
    for k in range(N_BINS):
        xs, ys = _segments(w, range(L), range(S), yq, yk, k)
        a = 0.08 + 0.5 * _bin_weight(k)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                 line=dict(color=LINE_COLOR.format(a=a), width=0.5 + 6 * math.sqrt(_bin_weight(k)))))
    first_hi = len(fig.data)
    for k in range(N_BINS):
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", hoverinfo="skip", opacity=0.35 + 0.65 * (k + 1) / N_BINS,
                                 line=dict(color=HIGHLIGHT, width=1 + 12 * math.sqrt(_bin_weight(k)))))
    top = [", ".join(f"{klab[j]} {w[i, j]:.2f}" for j in np.argsort(-w[i])[:3]) for i in range(L)]
    fig.add_trace(go.Scatter(x=np.zeros(L), y=yq, mode="markers+text", text=qlab, textposition="middle left",
                             marker=dict(size=10, color="#888"), customdata=top, name="queries",
                             hovertemplate="query %{text}<br>top keys: %{customdata}<extra></extra>"))
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
    fig = add_player(fig, frames, qlab, prefix="query ")
    fig.layout.sliders[0].active = selected
    return fig


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
def pipeline(trace):
    """The layer's steps top to bottom, each with its formula and the shape of its result."""
    stages = trace.stages()
    fig = go.Figure()
    n = len(stages)
    for k, s in enumerate(stages):
        shape = "×".join(str(d) for d in s.shape)
        fig.add_annotation(x=0.5, y=n - 1 - k, text=f"<b>{s.name}</b>   {s.formula}   <i>[{shape}]</i>",
                           showarrow=False, bordercolor=HIGHLIGHT if s.name in ("scores", "weights") else "#888",
                           borderwidth=2, borderpad=6, bgcolor="rgba(255,255,255,0.9)", font=dict(size=15))
        if k:
            fig.add_annotation(x=0.5, y=n - 1 - k + 0.28, ax=0.5, ay=n - k - 0.28, xref="x", yref="y",
                               axref="x", ayref="y", showarrow=True, arrowhead=2, arrowwidth=1.5, text="")
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[-0.6, n - 0.4])
    what = "additive attention" if trace.kind == "additive" else \
        f"multi-head attention, {trace.num_heads} head(s) of size d = {trace.head_dim}"
    return finish(fig, height=80 + 58 * n, title=f"The pipeline of {what} (batch-first shapes)")


# -- temperature -------------------------------------------------------------------------------
def default_multipliers(trace):
    """Multipliers of the scale from 1/8 to well past sqrt(d) (= dropping 1/sqrt(d)), with 1 included."""
    top = max(8.0, 2 * math.sqrt(trace.head_dim) if trace.kind != "additive" else 8.0)
    grid = np.geomspace(1 / 8, top, 25)
    extra = [1.0] + ([math.sqrt(trace.head_dim)] if trace.kind != "additive" else [])
    return sorted(set(np.round(np.r_[grid, extra], 4).tolist()))


def entropy_vs_scale(trace, b=0, head=0, query_tokens=None, key_tokens=None, multipliers=None, selected=1.0):
    """The weights at a chosen multiple of the 1/sqrt(d) scale (left) and the mean row entropy
    against that multiple (right). A slider steps through the multiples in the browser: small ones
    flatten every row to uniform (top dashed line), large ones make each row pick one key (entropy 0)."""
    _check_index(trace, b, head)
    mults = sorted(default_multipliers(trace) if multipliers is None else [float(m) for m in multipliers])
    if not mults:
        raise ExplorerError("Give at least one scale multiplier.")
    L, S = trace.tgt_len, trace.src_len
    qlab, klab = _tokens(query_tokens, L, "query"), _tokens(key_tokens, S, "key")
    rows, cols = evenly_spaced(L, MAX_SIDE), evenly_spaced(S, MAX_SIDE)
    temps = [temperature(trace, m) for m in mults]
    curve = as_numpy(entropy_curve(trace, mults, b, head))
    uniform = float(temps[0].max_entropy[b, head].mean())
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.12,
                        subplot_titles=("weights at this scale", "mean row entropy (nats)"))
    fig.add_trace(_weights_trace(as_numpy(temps[0].weights[b, head]), rows, cols, qlab, klab,
                                 text=len(rows) * len(cols) <= 100), 1, 1)
    _label_axes(fig, rows, cols, qlab, klab, 1, 1)
    fig.add_trace(go.Scatter(x=mults, y=curve, mode="lines+markers", name="entropy",
                             hovertemplate="×%{x:.3g}: entropy %{y:.3f}<extra></extra>"), 1, 2)
    fig.add_trace(go.Scatter(x=[mults[0]], y=[curve[0]], mode="markers", name="current",
                             marker=dict(size=16, color=HIGHLIGHT, line=dict(color="black", width=1))), 1, 2)
    marks = [(1.0, "1/√d" if trace.kind != "additive" else "as is")]
    if trace.kind != "additive":
        marks.append((math.sqrt(trace.head_dim), "no 1/√d"))
    for x, label in marks:  # scatter, not add_vline: its labels land at log10(x) on a log axis
        fig.add_trace(go.Scatter(x=[x, x], y=[0, uniform * 1.08], mode="lines+text", text=["", label],
                                 textposition="top center", line=dict(dash="dot", color="#666"),
                                 hoverinfo="skip"), 1, 2)
    fig.add_hline(y=uniform, line_dash="dash", annotation_text="uniform", annotation_position="bottom left",
                  row=1, col=2)
    fig.add_hline(y=0, line_dash="dot", annotation_text="one key", annotation_position="top right", row=1, col=2)
    fig.update_yaxes(range=[-0.05 * uniform, 1.25 * uniform + 1e-9], row=1, col=2)
    fig.update_xaxes(type="log" if mults[0] > 0 else "linear", title_text="multiplier of the scale", row=1, col=2)
    frames = [dict(name=str(k), traces=[0, 2], data=[
        dict(type="heatmap", z=as_numpy(t.weights[b, head])[np.ix_(rows, cols)]),
        dict(type="scatter", x=[m], y=[float(curve[k])])]) for k, (m, t) in enumerate(zip(mults, temps))]
    start = int(np.argmin(np.abs(np.array(mults) - selected)))
    for idx, data in zip(frames[start]["traces"], frames[start]["data"]):
        fig.data[idx].update({k: v for k, v in data.items() if k != "type"})
    finish(fig, height=min(720, 260 + 18 * len(rows)), title=f"Why scale the scores, {_head_title(trace, head)}")
    fig = add_player(fig, frames, [f"×{m:.3g}" for m in mults], prefix="scale ")
    fig.layout.sliders[0].active = start
    return fig
