"""Figures for the Time-series page: the pipeline with its shapes, one window's values at every
stage, and the forecast with the attention over each window, stepped in the browser.

The stages' own views come from the Convolution, Recurrent and Attention figures; these add what
only the pipeline has: the hops between them and the forecast.
"""
import numpy as np
import plotly.graph_objects as go

from ..errors import ExplorerError
from .spec import Spec, returns_figure
from .theme import (ACCENT, HIGHLIGHT, SEQUENTIAL, add_player, as_numpy, card, evenly_spaced, finish,
                    heatmap, symmetric_range)

MAX_FRAMES = 120        # predictions the forecast player steps through (evenly spread)
MAX_POINTS = 2000       # series points drawn; longer series are evenly thinned
MAX_UNITS = 32          # LSTM units drawn in the stage view
BOX = "rgba(128,128,128,0.12)"
HALF = 0.8              # half the width of a box in the flow, boxes 2 apart
LINE = "#1f77b4"
SERIES_GREY = "#8c8c8c"


def _shape(s):
    return "[" + ", ".join(str(d) for d in s) + "]"


# -- the pipeline ------------------------------------------------------------------------------
@returns_figure
def flow(trace, b=0, scaling=None):
    """The model as a chain of operations; each arrow carries its tensor's name, shape and layout.

    The permute is its own box, as it is its own line of code: the Conv1d hands on
    [batch, channels, seq], the LSTM wants [seq, batch, features].
    """
    a = {arrow.name: arrow for arrow in trace.arrows}
    y = float(trace.output[b, 0])
    value = f"ŷ = {y:.4g} (scaled)" + ("" if scaling is None else f"<br>→ {scaling.unscale(y):.4g}")
    H = trace.module.hidden
    boxes = [("input window", "scaled values"), ("Conv1d", "kernel [1, 0, −1]<br>padding 1, fixed"),
             ("permute(2, 0, 1)", "reorder the dims"), (f"LSTM(1, {H})", "h_t for every step"),
             ("additive attention", "query h_n[−1]<br>keys h_1..h_T"), (f"Linear({H}, 1)", value)]
    hops = [(a["x"], None), (a["d"], None), (a["seq"], None), (a["out"], a["h_n"]), (a["context"], a["weights"])]
    fig = Spec()
    xs = np.arange(len(boxes)) * 2.0
    for x, (title, sub) in zip(xs, boxes):
        accent = title.startswith("permute")
        fig.add_shape(type="rect", x0=x - HALF, x1=x + HALF, y0=-0.55, y1=0.55, fillcolor=BOX,
                      line=dict(color=HIGHLIGHT if accent else SERIES_GREY, width=3 if accent else 2))
        fig.add_annotation(x=x, y=0.2, text=f"<b>{title}</b>", showarrow=False, font=dict(size=13))
        fig.add_annotation(x=x, y=-0.2, text=sub, showarrow=False, font=dict(size=12))
    for k, (main, extra) in enumerate(hops):
        x0, x1 = xs[k] + HALF + 0.02, xs[k + 1] - HALF - 0.02
        fig.add_annotation(x=x1, y=0, ax=x0, ay=0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=2, arrowsize=1.3, arrowwidth=2, arrowcolor=SERIES_GREY, text="")
        label = f"<b>{main.name}</b> {_shape(main.shape)}<br><i>{main.layout[1:-1]}</i>"
        if extra is not None:
            label += f"<br><b>{extra.name}</b> {_shape(extra.shape)}"
        fig.add_annotation(x=(x0 + x1) / 2, y=0.62, text=label, showarrow=False, yanchor="bottom",
                           font=dict(size=12, color=HIGHLIGHT if main.name == "seq" else None))
    fig.update_xaxes(visible=False, range=[-HALF - 0.1, xs[-1] + HALF + 0.1])
    fig.update_yaxes(visible=False, range=[-0.7, 1.55])
    return finish(fig, height=230, title="One window through the model: shapes at every arrow "
                                         f"(batch {trace.batch}, seq {trace.steps}, hidden {H})")


@returns_figure
def stage_values(trace, b=0, steps=None, max_units=MAX_UNITS):
    """Window b's numbers at each stage, one row per stage on a shared time axis.

    x_t, then d_t = x_(t-1) - x_(t+1), then the LSTM's h_t (units down), then the attention
    weight on each step; the last row is the context vector, sum_t weight_t h_t, that the
    Linear head reads. `steps` labels the time axis (e.g. each step's index in the series).
    """
    if not 0 <= b < trace.batch:
        raise ExplorerError(f"Window {b} is out of range; the trace holds {trace.batch} window(s).")
    T, H = trace.steps, trace.module.hidden
    labels = [str(s) for s in (range(T) if steps is None else steps)]
    if len(labels) != T:
        raise ExplorerError(f"There are {len(labels)} step labels for {T} steps; give one per step.")
    units = evenly_spaced(H, max_units)
    x = as_numpy(trace.x[b, 0])
    d = as_numpy(trace.conv.output[b, 0])
    h = as_numpy(trace.lstm.output[:, b])[:, units].T                         # (units, T)
    w = as_numpy(trace.weights(b))
    c = as_numpy(trace.context(b))[units]
    thin = "" if len(units) == H else f" ({len(units)} of {H} units)"
    titles = (f"x: the input window (scaled), steps {labels[0]} to {labels[-1]}", "d = Conv1d(x): d_t = x_(t−1) − x_(t+1)",
              f"h_t = LSTM(d)_t, one row per hidden unit{thin}",
              "attention weight on each step (the row sums to 1)",
              f"context = Σ_t weight_t · h_t, one number per unit: what Linear({H}, 1) reads{thin}")
    rows = [1, 1, max(2, len(units) / 2.5), 1, 1]
    fig = Spec.subplots(rows=5, cols=1, row_heights=rows, vertical_spacing=0.1, subplot_titles=titles)
    text = T <= 32
    lo, hi = symmetric_range(x, d)
    two = dict(texttemplate="%{z:.2f}")    # scaled values: two decimals fit a cell, three digits may not
    fig.add_trace(heatmap(x, zmin=lo, zmax=hi, name="x", text=text).update(two if text else {}), 1, 1)
    fig.add_trace(heatmap(d, zmin=lo, zmax=hi, name="d", text=text).update(two if text else {}), 2, 1)
    fig.add_trace(heatmap(h, zmin=-1, zmax=1, name="h", text=h.size <= 200).update(two if h.size <= 200 else {}), 3, 1)
    fig.add_trace(heatmap(w, zmin=0, zmax=max(float(w.max()), 1e-9), colorscale=SEQUENTIAL, name="weights",
                          text=text, hover="weight").update(texttemplate="%{z:.2f}" if text else None), 4, 1)
    fig.add_trace(heatmap(c, zmin=-1, zmax=1, name="context", text=len(c) <= 32).update(two if len(c) <= 32 else {}),
                  5, 1)
    every = max(1, T // 24)
    for r in (1, 2, 3, 4):
        fig.update_xaxes(showgrid=False, zeroline=False, matches="x", row=r, col=1, showticklabels=r == 4,
                         tickmode="array", tickvals=list(range(0, T, every)), ticktext=labels[::every])
        fig.update_yaxes(showgrid=False, zeroline=False, autorange="reversed", showticklabels=r == 3,
                         tickmode="array", tickvals=list(range(len(units))),
                         ticktext=[f"unit {u}" for u in units] if r == 3 else None, row=r, col=1)
    fig.update_xaxes(showgrid=False, zeroline=False, tickmode="array", tickvals=list(range(len(units))),
                     ticktext=[f"unit {u}" for u in units], row=5, col=1)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=5, col=1)
    return finish(fig, height=520 + 16 * len(units), title="The window's numbers at every stage")


def stacked_stepper(fig, max_text=32):
    """The Convolution page's stepper (explorer.figures.conv.stepper) of a long 1-D input, laid out
    for it: input, kernel and output stacked, and the output's axis matched to the input's, so
    output cell t sits right under the window that makes it. Numbers are dropped past `max_text`
    cells, where they would overlap (hover still shows them)."""
    _restack(fig, [([0, 1], [0.74, 0.9]), ([0.45, 0.55], [0.46, 0.58]), ([0, 1], [0.1, 0.24])], max_text)
    fig.update_layout(xaxis=dict(showticklabels=False), xaxis2=dict(showticklabels=False), xaxis3=dict(matches="x"))
    return fig.update_layout(height=430)


def stacked_scores(fig, max_text=32):
    """The Attention page's scores-vs-weights figure for one query over a long row of keys, the two
    rows stacked on one key axis: each step's score sits right above its weight."""
    _restack(fig, [([0, 1], [0.62, 0.86]), ([0, 1], [0.04, 0.28])], max_text)
    fig.update_layout(xaxis2=dict(matches="x"), xaxis=dict(showticklabels=False))
    return fig.update_layout(height=330)


def _restack(fig, domains, max_text):
    """Give the i-th subplot of `fig` the (x, y) domain domains[i] and put its title above it."""
    layout = fig.layout
    for i, (xd, yd) in enumerate(domains):
        sx, sy = f"xaxis{i + 1 if i else ''}", f"yaxis{i + 1 if i else ''}"
        if sx not in layout or sy not in layout or layout[sx].domain is None:
            raise ExplorerError(f"The figure has no subplot {i + 1} to lay out.")
        fig.update_layout({sx: dict(domain=xd), sy: dict(domain=yd)})
    titles = [a for a in layout.annotations if a.xref == "paper" and a.yref == "paper"][:len(domains)]
    for annotation, (_, yd) in zip(titles, domains):
        annotation.update(x=0.5, y=yd[1], yanchor="bottom", xanchor="center")
    cells = max((np.atleast_2d(t.z).shape[1] for t in fig.data if t.type == "heatmap" and t.z is not None),
                default=0)
    numbered = [t for t in fig.data if t.type == "heatmap" and t.texttemplate]
    for t in numbered:  # a long row: two decimals fit a cell; past max_text cells nothing fits
        t.texttemplate = None if cells > max_text else ("%{z:.2f}" if cells > 12 else t.texttemplate)


# -- the forecast ------------------------------------------------------------------------------
@returns_figure
def forecast(fc, series, selected=None, max_frames=MAX_FRAMES, max_points=MAX_POINTS):
    """The series with the model's one-step predictions, held-out part shaded; below it, the
    attention weights of one prediction over the steps of its window.

    The player steps through predictions in the browser: each frame marks the window the model
    read (marker size and colour = attention weight), the true next value and the prediction, and
    moves the lower panel to that window. `selected` is the series index of the prediction shown
    first (default: the first held out).
    """
    series = as_numpy(series)
    steps, W = fc.steps, fc.weights.shape[1]
    N = len(steps)
    selected = int(steps[min(fc.n_train, N - 1)]) if selected is None else int(selected)
    start_idx = fc.index_of(selected)
    keep = evenly_spaced(N, max_frames)
    if start_idx not in keep:  # the selected prediction replaces its nearest neighbour among the frames
        keep[int(np.argmin(np.abs(np.array(keep) - start_idx)))] = start_idx
    fig = Spec.subplots(rows=2, cols=1, row_heights=[0.66, 0.34], vertical_spacing=0.13,
                        subplot_titles=("", "attention weights of this prediction over the steps of its window"))
    shown = evenly_spaced(len(series), max_points)
    fig.add_trace(go.Scatter(x=shown, y=series[shown], mode="lines", name="series",
                             line=dict(color=SERIES_GREY, width=1.5),
                             hovertemplate="step %{x}: %{y:.4g}<extra>series</extra>"), 1, 1)
    pk = evenly_spaced(N, max_points)
    fig.add_trace(go.Scatter(x=steps[pk], y=fc.prediction[pk], mode="lines", name="one-step prediction",
                             line=dict(color=LINE, width=2),
                             hovertemplate="step %{x}: predicted %{y:.4g}<extra></extra>"), 1, 1)
    wmax = max(float(fc.weights[keep].max()), 1.0 / W) * 1.1
    fig.add_trace(go.Scatter(y=[], dx=1, mode="markers", name="window it read (size = weight)",
                             marker=dict(size=[], color=HIGHLIGHT, opacity=0.85, line=dict(color=SERIES_GREY, width=1)),
                             hovertemplate="step %{x}: %{y:.4g}<extra>in the window</extra>"), 1, 1)
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="true next value",
                             marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(color=ACCENT, width=3)),
                             hovertemplate="step %{x}: true %{y:.4g}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="its prediction",
                             marker=dict(size=14, symbol="diamond", color=LINE, line=dict(color=SERIES_GREY, width=1)),
                             hovertemplate="step %{x}: predicted %{y:.4g}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(y=[], dx=1, name="weights", marker_color=HIGHLIGHT, showlegend=False,
                         hovertemplate="step %{x}: weight %{y:.4f}<extra></extra>"), 2, 1)
    ids = [2, 3, 4, 5]
    fig.add_hline(y=1.0 / W, line_dash="dot", line_color=SERIES_GREY, row=2, col=1,
                  annotation_text=f"uniform 1/{W}", annotation_position="top right")
    if fc.n_train < N:
        fig.add_vrect(x0=steps[fc.n_train] - 0.5, x1=len(series) - 0.5, fillcolor=SERIES_GREY, opacity=0.15,
                      line_width=0, annotation_text="held out: never trained on", annotation_position="top left",
                      row=1, col=1)
    frames = [dict(name=str(int(steps[i])), traces=ids, data=_forecast_frame(fc, series, i, wmax),
                   layout=dict(xaxis2=dict(range=[int(steps[i]) - W - 0.5, int(steps[i]) - 0.5])))
              for i in keep]
    first = frames[keep.index(start_idx)]
    for idx, data in zip(ids, first["data"]):
        fig.data[idx].update(data)
    lo = min(float(np.min(series)), float(fc.prediction.min()))
    hi = max(float(np.max(series)), float(fc.prediction.max()))
    pad = 0.08 * (hi - lo or 1.0)
    fig.update_yaxes(range=[lo - pad, hi + pad], title_text="value", row=1, col=1)
    fig.update_xaxes(range=[-0.5, len(series) - 0.5], row=1, col=1)
    fig.update_yaxes(range=[0, wmax], title_text="weight", row=2, col=1)
    fig.update_xaxes(range=first["layout"]["xaxis2"]["range"], title_text="step of the series (the window)",
                     row=2, col=1)
    finish(fig, height=600)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"),
                      bargap=0.15, margin=dict(t=30))
    fig = add_player(fig, frames, [str(int(steps[i])) for i in keep], duration=500, prefix="predicting step ",
                     active=keep.index(start_idx))
    return fig


def _forecast_frame(fc, series, i, wmax):
    """Data of the four moving traces for prediction i: few keys (plotly inspects every value of a
    frame each time it sends the figure), short numbers, and the window's steps as x0 + k (dx 1)."""
    step = int(fc.steps[i])
    W = fc.weights.shape[1]
    w = fc.weights[i]
    size = np.round(6 + 22 * np.sqrt(w / wmax), 1).tolist()
    return [dict(x0=step - W, y=_short(series[step - W:step]), marker=dict(size=size)),
            dict(x=[step], y=_short([fc.truth[i]])),
            dict(x=[step], y=_short([fc.prediction[i]])),
            dict(x0=step - W, y=_short(w, 4))]


def _short(values, digits=6):
    """Values with a few significant digits, as plain floats (the hover shows 4)."""
    return [float(f"{v:.{digits}g}") for v in values]


# -- home page ---------------------------------------------------------------------------------
@returns_figure
def preview():
    """A real Conv1d differentiator on a noisy sine: the series (grey) and d_t = x_(t-1) - x_(t+1)
    (blue), without the two edge steps, where a padding zero stands in for a neighbour."""
    from ..conv import trace_conv
    from ..examples.timeseries import differentiator
    from ..timeseries import synthetic
    x = synthetic("sine", 48, seed=0).float().view(1, 1, -1)
    t = trace_conv(differentiator(), x)
    fig = Spec([go.Scatter(y=as_numpy(x[0, 0]), mode="lines", line=dict(color=SERIES_GREY, width=2)),
                     go.Scatter(x=np.arange(1, 47), y=as_numpy(t.output[0, 0, 1:-1]), mode="lines", line=dict(color=LINE, width=2.5))])
    return card(fig)
