"""Figures for a pretrained transformer's heads: the model view (every head of every layer as a
thumbnail) and one head's arithmetic for one query token (q, every k, the scores, the softmax).

The single-head heatmap and the lines view are the Attention page's own figures
(explorer.figures.attention.weights_heatmap and lines_view).
"""
import numpy as np
import plotly.graph_objects as go

from .spec import Spec, returns_figure
from .theme import DIVERGING, FONT, HIGHLIGHT, SEQUENTIAL, add_player, as_numpy, card, evenly_spaced, finish, \
    symmetric_range

MAX_THUMB = 24           # thumbnails show at most this many queries and keys (evenly spread)
BAR = "#7f8c9a"


def model_view(attentions, selected=None):
    """A layers x heads grid of attention maps (rows = layers, queries down, keys across).

    `attentions` are the model's own (1, heads, L, L) per layer; `selected` = (layer, head) is framed.
    The thumbnails are tiles of one heatmap, `thumbnail_origin` places them: the browser draws one
    picture instead of 72 small plots (14 700 SVG elements, ten times the drawing time). One marker
    per thumbnail, transparent, carries (layer, head) as its customdata, so a click selects the head.
    """
    layers, heads = len(attentions), attentions[0].shape[1]
    L = attentions[0].shape[-1]
    keep = evenly_spaced(L, MAX_THUMB)
    n = len(keep)
    z = np.full((layers * (n + 1) - 1, heads * (n + 1) - 1), np.nan, dtype=np.float32)
    for layer, att in enumerate(attentions):
        a = as_numpy(att[0])[:, keep][:, :, keep]                                  # (heads, n, n)
        for h in range(heads):
            r, c = thumbnail_origin(layer, h, n)
            z[r:r + n, c:c + n] = a[h]
    mid = (n - 1) / 2
    centres = [(layer, h, *thumbnail_origin(layer, h, n)) for layer in range(layers) for h in range(heads)]
    fig = Spec(go.Heatmap(z=z, zmin=0, zmax=1, colorscale=SEQUENTIAL, showscale=False, hoverinfo="skip",
                          name="attention maps"))
    fig.add_trace(dict(type="scatter", mode="markers", name="select a head",
                       x=[c + mid for *_, c in centres], y=[r + mid for _, _, r, _ in centres],
                       customdata=[[layer, h] for layer, h, *_ in centres],
                       marker=dict(size=70, symbol="square", opacity=0.01),
                       hovertemplate="layer %{customdata[0]}, head %{customdata[1]}<br>click to look closer"
                                     "<extra></extra>"))
    if selected is not None:
        r, c = thumbnail_origin(*selected, n)
        xs = [c - 0.5, c + n - 0.5, c + n - 0.5, c - 0.5, c - 0.5]
        ys = [r - 0.5, r - 0.5, r + n - 0.5, r + n - 0.5, r - 0.5]
        fig.add_trace(dict(type="scatter", x=xs, y=ys, mode="lines", line=dict(color=HIGHLIGHT, width=4),
                           hoverinfo="skip", name="selected head"))
    fig.update_xaxes(side="top", tickvals=[thumbnail_origin(0, h, n)[1] + mid for h in range(heads)],
                     ticktext=[str(h) for h in range(heads)], ticks="", showgrid=False, zeroline=False,
                     range=[-0.5, z.shape[1] - 0.5], fixedrange=True, tickfont=dict(size=13))
    fig.update_yaxes(tickvals=[thumbnail_origin(layer, 0, n)[0] + mid for layer in range(layers)],
                     ticktext=[f"layer {layer}" for layer in range(layers)], ticks="", showgrid=False,
                     zeroline=False, range=[z.shape[0] - 0.5, -0.5], fixedrange=True, tickfont=dict(size=12))
    fig.add_annotation(x=0, y=1, xref="paper", yref="paper", xanchor="right", yanchor="bottom", xshift=-6,
                       text="head", showarrow=False, font=dict(size=12))
    fig.update_layout(showlegend=False, height=92 * layers + 50, font=FONT, margin=dict(l=60, r=10, t=30, b=10),
                      hovermode="closest", dragmode=False, plot_bgcolor="rgba(0,0,0,0)",
                      meta=dict(thinned=n < L, shown=n, tokens=L))
    return fig.figure()


def thumbnail_origin(layer, head, shown):
    """(row, column) of the model view's cell where the thumbnail of (layer, head) starts: thumbnails
    of `shown` x `shown` cells, one empty cell between neighbours."""
    return layer * (shown + 1), head * (shown + 1)


@returns_figure
def query_view(trace, tokens, head=0, selected=0):
    """One head, one query token at a time: its query vector q (top), every key vector k_j (rows),
    the scaled scores q·k_j/√d and the softmax weights beside each key. A slider steps through the
    query tokens in the browser; the figure starts at `selected`."""
    q = as_numpy(trace.q[0, head])                                             # (L, d)
    k = as_numpy(trace.k[0, head])                                             # (L, d)
    scores = as_numpy(trace.scores[0, head])                                   # (L, L)
    weights = as_numpy(trace.weights[0, head])                                 # (L, L)
    L, d = k.shape
    labels = [f"{j}: {t}" for j, t in enumerate(tokens)]
    lo, hi = symmetric_range(q, k)
    slo, shi = float(np.nanmin(scores)), float(np.nanmax(scores))
    fig = Spec.subplots(rows=2, cols=3, column_widths=[0.56, 0.22, 0.22], row_heights=[1.4, L],
                        specs=[[{}, None, None], [{}, {}, {}]], horizontal_spacing=0.02,
                        vertical_spacing=min(0.12, 44 / (150 + 24 * L)),
                        subplot_titles=(f"query q of the selected word piece (head {head}: {d} dimensions)",
                                        "keys k_j, one row per word piece", f"score q·k_j / √{d}",
                                        "weight = softmax"))
    fig.add_trace(go.Heatmap(z=q[selected:selected + 1], zmin=lo, zmax=hi, colorscale=DIVERGING, showscale=False,
                             xgap=1, name="q", hovertemplate="q[%{x}] = %{z:.4f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(z=k, y=labels, zmin=lo, zmax=hi, colorscale=DIVERGING, showscale=False, xgap=1,
                             ygap=1, name="k", hovertemplate="%{y}: k[%{x}] = %{z:.4f}<extra></extra>"), 2, 1)
    fig.add_trace(_bars(scores[selected], labels, BAR, "score", "%{y}: score %{x:.4f}"), 2, 2)
    fig.add_trace(_bars(weights[selected], labels, HIGHLIGHT, "weight", "%{y}: weight %{x:.4f}"), 2, 3)
    fig.update_yaxes(visible=False, row=1, col=1)
    fig.update_xaxes(visible=False, row=1, col=1)
    fig.update_xaxes(dtick=4, row=2, col=1)
    fig.update_yaxes(autorange="reversed", type="category", tickfont=dict(size=12), row=2, col=1)
    for c in (2, 3):
        fig.update_yaxes(autorange="reversed", type="category", showticklabels=False, row=2, col=c)
    fig.update_xaxes(range=[min(0.0, slo) * 1.15 - 0.5, max(0.0, shi) * 1.3 + 0.5], row=2, col=2)
    fig.update_xaxes(range=[0, 1.25], row=2, col=3)
    keys_axis = fig.axes(2, 1)[1]
    for c in (2, 3):
        fig.update_yaxes(matches=keys_axis, row=2, col=c)
    finish(fig, height=150 + 24 * L)
    frames = [dict(name=str(i), traces=[0, 2, 3], data=[  # 5 digits: frames travel as JSON text
        dict(type="heatmap", z=np.round(q[i:i + 1], 5).tolist()),
        dict(type="bar", x=np.round(scores[i], 5).tolist(), text=[f"{v:.2f}" for v in scores[i]]),
        dict(type="bar", x=np.round(weights[i], 5).tolist(), text=[f"{v:.2f}" for v in weights[i]])])
        for i in range(L)]
    fig = add_player(fig, frames, [t for t in tokens], prefix="query ", active=selected)
    return fig


def _bars(x, labels, colour, name, hover):
    return go.Bar(x=x, y=labels, orientation="h", marker_color=colour, name=name, text=[f"{v:.2f}" for v in x],
                  textposition="outside", cliponaxis=False, hovertemplate=hover + "<extra></extra>")


@returns_figure
def preview():
    """Home-page card: six heads of layer 1 on a short sentence, from the packaged model."""
    from .. import minilm
    tokenizer, model = minilm.load()
    enc = minilm.encode(tokenizer, model, "The cat sat on the mat.")
    fig = Spec.subplots(rows=1, cols=6, horizontal_spacing=0.02)
    for h in range(6):
        fig.add_trace(go.Heatmap(z=as_numpy(enc.attentions[1][0, h]), zmin=0, zmax=1, colorscale=SEQUENTIAL,
                                 showscale=False, hoverinfo="skip"), 1, h + 1)
    fig.update_yaxes(autorange="reversed")
    return card(fig)
