"""Figures for a pretrained transformer's heads: the model view (every head of every layer as a
thumbnail) and one head's arithmetic for one query token (q, every k, the scores, the softmax).

The single-head heatmap and the lines view are the Attention page's own figures
(explorer.figures.attention.weights_heatmap and lines_view).
"""
import numpy as np
import plotly.graph_objects as go
from _plotly_utils.utils import to_typed_array_spec

from .spec import Spec, returns_figure
from .theme import DIVERGING, FONT, HIGHLIGHT, SEQUENTIAL, add_player, as_numpy, card, evenly_spaced, finish, \
    symmetric_range

MAX_THUMB = 24           # thumbnails show at most this many queries and keys (evenly spread)
BAR = "#7f8c9a"


def model_view(attentions, selected=None):
    """A layers x heads grid of attention maps (rows = layers, queries down, keys across).

    `attentions` are the model's own (1, heads, L, L) per layer; `selected` = (layer, head) is framed.
    Each thumbnail carries one large transparent marker whose customdata is (layer, head), so that a
    click selects the head. Built from plain dicts: 72 subplots through plotly's validation take seconds.
    """
    layers, heads = len(attentions), attentions[0].shape[1]
    L = attentions[0].shape[-1]
    keep = evenly_spaced(L, MAX_THUMB)
    gap_x, gap_y = 0.006, 0.02
    width, height = (1 - gap_x * (heads - 1)) / heads, (1 - gap_y * (layers - 1)) / layers
    data, layout, annotations = [], {}, []
    for layer, att in enumerate(attentions):
        a = as_numpy(att[0])[:, keep][:, :, keep].astype(np.float32)          # (heads, l, l)
        for h in range(heads):
            n = layer * heads + h + 1
            xa, ya = ("x", "y") if n == 1 else (f"x{n}", f"y{n}")
            x0 = h * (width + gap_x)
            y1 = 1 - layer * (height + gap_y)
            layout[f"xaxis{'' if n == 1 else n}"] = dict(domain=[x0, x0 + width], anchor=ya, visible=False,
                                                          range=[-0.5, len(keep) - 0.5], fixedrange=True)
            layout[f"yaxis{'' if n == 1 else n}"] = dict(domain=[y1 - height, y1], anchor=xa, visible=False,
                                                          range=[len(keep) - 0.5, -0.5], fixedrange=True)
            data.append(dict(type="heatmap", z=to_typed_array_spec(a[h]), zmin=0, zmax=1, colorscale=SEQUENTIAL,
                             showscale=False, hoverinfo="skip", name=f"layer {layer} head {h}", xaxis=xa, yaxis=ya))
            mid = (len(keep) - 1) / 2
            data.append(dict(type="scatter", x=[mid], y=[mid], mode="markers", xaxis=xa, yaxis=ya,
                             marker=dict(size=70, symbol="square", opacity=0.01), customdata=[[layer, h]],
                             name=f"select layer {layer} head {h}",
                             hovertemplate=f"layer {layer}, head {h}<br>click to look closer<extra></extra>"))
            if selected == (layer, h):
                pad = len(keep) / 2
                xs = [mid - pad, mid + pad, mid + pad, mid - pad, mid - pad]
                ys = [mid - pad, mid - pad, mid + pad, mid + pad, mid - pad]
                data.append(dict(type="scatter", x=xs, y=ys, mode="lines", line=dict(color=HIGHLIGHT, width=4),
                                 hoverinfo="skip", name="selected head", xaxis=xa, yaxis=ya))
            if layer == 0:
                annotations.append(dict(x=x0 + width / 2, y=1, xref="paper", yref="paper", yanchor="bottom",
                                        text=str(h), showarrow=False, font=dict(size=13)))
        annotations.append(dict(x=0, y=1 - layer * (height + gap_y) - height / 2, xref="paper", yref="paper",
                                xanchor="right", xshift=-6, text=f"layer {layer}", showarrow=False,
                                font=dict(size=12)))
    annotations.append(dict(x=0, y=1, xref="paper", yref="paper", xanchor="right", yanchor="bottom", xshift=-6,
                            text="head", showarrow=False, font=dict(size=12)))
    cut = len(keep) < L
    layout.update(annotations=annotations, showlegend=False, height=92 * layers + 50, font=FONT,
                  margin=dict(l=60, r=10, t=30, b=10), hovermode="closest", dragmode=False)
    fig = go.Figure(dict(data=data, layout=layout), _validate=False)
    fig.layout.meta = dict(thinned=cut, shown=len(keep), tokens=L)
    return fig


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
