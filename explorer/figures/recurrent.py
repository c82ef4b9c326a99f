"""Figures for the Recurrent page: gates over time, the states, the unrolled cell at step t, the
GRU's blend of old and new, gradient flow and training curves.

Builders that step through time take `t` (the step shown first) and play the other steps in the
browser through theme.add_player; they draw at most `max_frames` steps and `max_units` units.
"""
import numpy as np
import plotly.graph_objects as go

from ..errors import ExplorerError
from ..recurrent import GATE_SYMBOLS
from .spec import Spec, returns_figure
from .theme import (ACCENT, DIVERGING, HIGHLIGHT, SEQUENTIAL, add_player, as_numpy, card, evenly_spaced, finish,
                    heatmap)

MAX_FRAMES = 120
MAX_UNITS = 24          # heatmap rows; more units are evenly subsampled
MAX_COLUMNS = 160       # heatmap columns (time steps); longer sequences are evenly subsampled
MAX_LINES = 8           # units drawn as lines
MAX_POINTS = 600        # points per line; longer sequences are evenly subsampled
SMALL_VECTOR = 4        # the cell diagram prints whole vectors up to this size, else chosen units
SQUASH = {"cell": "tanh", "new": "tanh"}  # every other gate is a sigmoid
INK = "#8c8c8c"         # box outlines and arrows: mid grey reads on light and dark backgrounds
LINE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _lane(t, layer, direction, b):
    """One layer/direction/batch item of a (L, D, T, B, U) tensor as a (T, U) numpy array."""
    return as_numpy(t[layer, direction, :, b])


def _frame_steps(trace, columns, t, max_frames):
    """Which of the drawn columns get a frame, and the index of the frame that shows step t."""
    keep = [columns[k] for k in evenly_spaced(len(columns), max_frames)]
    start = int(np.argmin([abs(s - t) for s in keep]))
    return keep, start


def _step_labels(labels, steps):
    return [str(labels[s]) if labels is not None else str(s) for s in steps]


def _edges(centres):
    """The cell edges plotly gives a heatmap whose cells sit at `centres`: midpoints between
    neighbours, and half a gap beyond the first and last."""
    c = np.asarray(centres, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (c[1] - c[0]) / 2], mid, [c[-1] + (c[-1] - c[-2]) / 2]])


def _column_outline(k, x_edges, y_edges):
    """A rectangle around column k of a heatmap, as a plain scatter dict."""
    x0, x1, y0, y1 = float(x_edges[k]), float(x_edges[k + 1]), float(y_edges[0]), float(y_edges[-1])
    return dict(type="scatter", x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0], mode="lines",
                line=dict(color=HIGHLIGHT, width=3), hoverinfo="skip", showlegend=False)


def drawn_note(trace):
    """A sentence saying what the figures leave out for a long sequence or a wide layer, or None."""
    T, U = trace.seq_len, trace.hidden_size
    parts = []
    if T > MAX_COLUMNS:
        parts.append(f"the heatmaps draw {MAX_COLUMNS} of the {T} steps, evenly spaced, and the lines "
                     f"{min(T, MAX_POINTS)}")
    if T > MAX_FRAMES:
        parts.append(f"the players visit {MAX_FRAMES} of the {T} steps (the math panel reaches every step)")
    if U > MAX_UNITS:
        parts.append(f"the heatmaps show {len(evenly_spaced(U, MAX_UNITS))} of the {U} units")
    if not parts:
        return None
    return "To keep the page quick, " + "; ".join(parts) + "."


@returns_figure
def gate_heatmaps(trace, layer=0, direction=0, b=0, *, t=0, labels=None, max_units=MAX_UNITS,
                  max_frames=MAX_FRAMES, player=True, title=None, compact=False, features=None):
    """The input x_t and one heatmap per gate, rows = features or units, time across; the player
    outlines step t in every one.

    Sigmoid gates use 0..1 colours (0 closed, 1 open), tanh ones -1..1. An RNN has no gates: its
    hidden state h_t is drawn instead. `labels` names the steps (e.g. the words of a sentence).
    Without `player` the figure is static; `compact` uses short titles (for half-width figures);
    `features` names the input features (e.g. the words of a one-hot vocabulary).
    """
    trace._check(layer, direction, t, b)
    names = trace.gate_names or ("hidden",)
    lanes = {"x": as_numpy(trace.layer_input(layer)[:, b])}                 # (T, F) what this layer reads
    lanes.update({n: _lane(trace.gates[n] if trace.gate_names else trace.hidden, layer, direction, b)
                  for n in names})
    T = lanes["x"].shape[0]
    columns = evenly_spaced(T, MAX_COLUMNS)
    rows = {n: evenly_spaced(v.shape[1], max_units) for n, v in lanes.items()}
    heights = [max(3, len(r)) for r in rows.values()]
    fig = Spec.subplots(rows=len(lanes), cols=1, shared_xaxes=True, vertical_spacing=0.1 / len(lanes) + 0.03,
                        row_heights=[h / sum(heights) for h in heights],
                        subplot_titles=[_gate_title(trace, n, layer, compact) for n in lanes])
    ticks = _step_labels(labels, columns)
    x_edges = _edges(columns)
    every_x = max(1, len(columns) // (8 if compact else 16))
    for r, n in enumerate(lanes, 1):
        picked = rows[n]
        z = lanes[n][np.ix_(columns, picked)].T                              # (rows, columns)
        lo, hi, scale = _gate_range(trace, n, z)
        what = "feature" if n == "x" else "unit"
        text = z.size <= 200 and len(columns) <= 30 and not compact         # numbers only where they fit
        # cells sit at their real step and unit, so hover and ticks need no lookup table
        hm = heatmap(z, zmin=lo, zmax=hi, colorscale=scale, name=n, text=text, hover=n, x=columns, y=picked,
                     xgap=1 if len(columns) <= 60 else 0, ygap=1 if len(picked) <= 16 else 0)
        if text:
            hm.update(texttemplate="%{z:.2f}")                               # fits a cell at any sign
        hm.update(hovertemplate=f"{_short(n)}, {what} %{{y}}, t = %{{x}}: %{{z:.4f}}<extra></extra>")
        fig.add_trace(hm, r, 1)
        every = max(1, len(picked) // (6 if compact else 12))
        prefix = "x" if n == "x" else ("" if compact else "unit ")
        names_of = _row_names(trace, n, layer, features, prefix)
        fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, tickmode="array",
                         tickvals=picked[::every], ticktext=[names_of(u) for u in picked[::every]], row=r, col=1)
        fig.update_xaxes(showgrid=False, zeroline=False, tickmode="array", tickvals=columns[::every_x],
                         ticktext=ticks[::every_x], row=r, col=1)
    per_row = 34 if compact else 40
    height = 70 + sum(max(90, 16 * h) for h in heights) + per_row * len(lanes)
    if not player:
        fig.update_xaxes(title_text="time step t", row=len(lanes), col=1)
        return finish(fig, height=height, title=title)
    keep, start = _frame_steps(trace, columns, t, max_frames)
    y_edges = {n: _edges(picked) for n, picked in rows.items()}
    outlines = []
    for r, n in enumerate(rows, 1):
        box = _column_outline(columns.index(keep[start]), x_edges, y_edges[n])
        fig.add_trace(go.Scatter(**{k: v for k, v in box.items() if k != "type"}), r, 1)
        outlines.append(len(fig.data) - 1)
    finish(fig, height=height + 90, title=title)
    moved = lambda box: dict(type="scatter", x=box["x"], y=box["y"])      # noqa: E731  frames carry what changes
    frames = [dict(name=str(s), traces=outlines,
                   data=[moved(_column_outline(columns.index(s), x_edges, y_edges[n])) for n in rows]) for s in keep]
    return add_player(fig, frames, _step_labels(labels, keep), prefix="time step t = ", active=start)


def _row_names(trace, name, layer, features, prefix):
    """Tick labels of a heatmap's rows: units, input features, the words of a one-hot input, or for
    layer k > 0 the units of layer k - 1 they come from (→ forward, ← backward)."""
    if name != "x":
        return lambda u: f"{prefix}{u}"
    if features is not None:
        return lambda u: str(features[u])
    if layer > 0:
        P = trace.out_size
        return lambda u: f"h{'→←'[u // P]}{u % P}" if trace.num_directions == 2 else f"h{u}"
    return lambda u: f"x{u}"


def _short(name):
    return {"x": "input x", "hidden": "h"}.get(name, f"{name} gate {GATE_SYMBOLS.get(name, '')}")


def _gate_title(trace, name, layer=0, compact=False):
    if name == "x":
        if compact:
            return "input x_t"
        return "input x_t" if layer == 0 else f"input of layer {layer}: the outputs h_t of layer {layer - 1}"
    if name == "hidden":
        if compact:
            return "hidden state h_t"
        return f"hidden state h_t = {trace.nonlinearity}(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)"
    squash = SQUASH.get(name, "σ")
    if compact:
        return f"{name} gate {GATE_SYMBOLS[name]}"
    meaning = {"input": "how much new content to write", "forget": "how much of c_(t-1) to keep",
               "cell": "the candidate content", "output": "how much of tanh(c_t) to show",
               "reset": "how much of h_(t-1) the candidate sees", "update": "how much of h_(t-1) to keep",
               "new": "the candidate state"}[name]
    return f"{name} gate {GATE_SYMBOLS[name]} = {squash}(…): {meaning}"


def _gate_range(trace, name, z):
    if name == "x":
        m = max(float(np.max(np.abs(z))), 1e-9)
        return -m, m, DIVERGING
    if name == "hidden" and trace.nonlinearity == "relu":
        return 0.0, max(float(np.max(z)), 1e-9), SEQUENTIAL
    if name in SQUASH or name == "hidden":
        return -1.0, 1.0, DIVERGING
    return 0.0, 1.0, SEQUENTIAL


@returns_figure
def state_lines(trace, layer=0, direction=0, b=0, *, t=0, units=None, labels=None, max_frames=MAX_FRAMES):
    """h_t (and the LSTM's c_t) of a few units as lines over time; the player marks step t."""
    trace._check(layer, direction, t, b)
    series = [("hidden state h_t", _lane(trace.hidden, layer, direction, b))]
    if trace.cell is not None:
        series.append(("cell state c_t", _lane(trace.cell, layer, direction, b)))
    fig = Spec.subplots(rows=len(series), cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=[s[0] for s in series])
    T = series[0][1].shape[0]
    steps = np.arange(T)
    drawn = evenly_spaced(T, MAX_POINTS)
    markers = []
    _pick_units(units, trace.hidden_size)
    # a projected LSTM's h_t has proj_size units: the chosen ones that exist, else a spread
    rows = [_pick_units(None if units is None else ([u for u in units if u < v.shape[1]] or None), v.shape[1])
            for _, v in series]
    every = sorted(set().union(*rows))
    for r, ((title, values), shown) in enumerate(zip(series, rows), 1):
        for u in shown:
            fig.add_trace(go.Scatter(x=steps[drawn], y=values[drawn, u], mode="lines", name=f"unit {u}",
                                     legendgroup=f"unit {u}", showlegend=r == 1 or u not in rows[0],
                                     line=dict(color=LINE_COLORS[every.index(u) % len(LINE_COLORS)], width=2),
                                     hovertemplate=f"unit {u}, t=%{{x}}: %{{y:.4g}}<extra></extra>"), r, 1)
        fig.add_trace(go.Scatter(x=[t] * len(shown), y=values[t, shown], mode="markers",
                                 marker=dict(size=11, color=HIGHLIGHT, line=dict(color="black", width=1)),
                                 hoverinfo="skip", showlegend=False), r, 1)
        markers.append((len(fig.data) - 1, values[:, shown]))
        fig.update_yaxes(zeroline=True, row=r, col=1)
        if labels is not None:
            fig.update_xaxes(tickmode="array", tickvals=list(range(T)), ticktext=list(labels), row=r, col=1)
    keep, start = _frame_steps(trace, list(range(T)), t, max_frames)
    frames = [dict(name=str(s), traces=[m[0] for m in markers],
                   data=[dict(type="scatter", x=[s] * m[1].shape[1], y=m[1][s]) for m in markers]) for s in keep]
    finish(fig, height=160 + 220 * len(series))
    fig.update_layout(showlegend=True)
    return add_player(fig, frames, _step_labels(labels, keep), prefix="time step t = ", active=start)


def _pick_units(units, n, cap=MAX_LINES):
    if units is None:
        return evenly_spaced(n, cap)
    bad = [u for u in units if not 0 <= u < n]
    if bad:
        raise ExplorerError(f"Unit {bad[0]} is out of range: the state has {n} units (0 to {n - 1}).")
    return list(units)


@returns_figure
def gru_interpolation(trace, layer=0, direction=0, b=0, *, unit=0, t=None, labels=None):
    """h_t = (1 - z_t)·n_t + z_t·h_(t-1) for one unit: h_t sits on the segment from n_t to h_(t-1),
    z_t of the way towards the old state. Below, z_t itself. Step t (if given) is shaded; long
    sequences draw MAX_COLUMNS evenly spaced steps."""
    if trace.kind != "GRU":
        raise ExplorerError(f"The interpolation view is for a GRU; this layer is an {trace.kind}.")
    trace._check(layer, direction, 0 if t is None else t, b)
    _pick_units([unit], trace.hidden_size)
    drawn = evenly_spaced(trace.seq_len, MAX_COLUMNS)
    h = _lane(trace.hidden, layer, direction, b)[drawn, unit]
    h_prev = as_numpy(trace.previous_hidden(layer, direction)[:, b, unit])[drawn]
    n = _lane(trace.gates["new"], layer, direction, b)[drawn, unit]
    z = _lane(trace.gates["update"], layer, direction, b)[drawn, unit]
    steps = np.asarray(drawn)
    fig = Spec.subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.08,
                        subplot_titles=(f"unit {unit}: h_t lies between the candidate n_t and the old state h_(t-1)",
                                        "update gate z_t (1 keeps the old state, 0 takes the candidate)"))
    seg_x = np.column_stack([steps, steps, np.full(len(steps), np.nan)]).ravel()
    seg_y = np.column_stack([n, h_prev, np.full(len(steps), np.nan)]).ravel()
    fig.add_trace(go.Scatter(x=seg_x, y=seg_y, mode="lines", line=dict(color="rgba(128,128,128,0.5)", width=6),
                             hoverinfo="skip", name="n_t ↔ h_(t-1)"), 1, 1)
    for y, name, color, symbol in ((h_prev, "old state h_(t-1)", "#7f7f7f", "circle-open"),
                                   (n, "candidate n_t", "#ff7f0e", "diamond"),
                                   (h, "new state h_t", "#1f77b4", "circle")):
        fig.add_trace(go.Scatter(x=steps, y=y, mode="markers+lines" if name.startswith("new") else "markers",
                                 name=name, marker=dict(color=color, size=9, symbol=symbol),
                                 line=dict(color=color, width=1.5),
                                 customdata=z, hovertemplate=f"{name}, t=%{{x}}: %{{y:.4g}} (z=%{{customdata:.3f}})"
                                 "<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=steps, y=z, marker_color=ACCENT, name="z_t",
                         hovertemplate="z at t=%{x}: %{y:.4f}<extra></extra>"), 2, 1)
    fig.update_yaxes(range=[0, 1], row=2, col=1)
    fig.update_xaxes(title_text="time step t", row=2, col=1)
    if labels is not None:
        fig.update_xaxes(tickmode="array", tickvals=list(steps), ticktext=[str(labels[s]) for s in steps])
    if t is not None:
        fig.add_vrect(x0=t - 0.45, x1=t + 0.45, fillcolor=HIGHLIGHT, opacity=0.25, line_width=0)
    finish(fig, height=520)
    return fig.update_layout(showlegend=True)


@returns_figure
def gradient_flow_figure(flows):
    """||∂h_T/∂h_t|| against the distance T-1-t for each cell (dict kind -> GradientFlow), log scale:
    a straight falling line is a vanishing gradient, a rising one an exploding gradient."""
    fig = Spec()
    for k, (kind, flow) in enumerate(flows.items()):
        norms = as_numpy(flow.norms)
        norms = np.where(norms > 0, norms, np.nan)                           # log axis: zero is -inf
        rate = flow.decay_per_step
        fig.add_trace(go.Scatter(x=as_numpy(flow.steps_back), y=norms, mode="lines+markers",
                                 name=f"{kind} (×{rate:.3g} per step)", marker=dict(size=4),
                                 line=dict(color=LINE_COLORS[k % len(LINE_COLORS)], width=2.5),
                                 hovertemplate=f"{kind}, %{{x}} steps back: %{{y:.3g}}<extra></extra>"))
    fig.update_yaxes(type="log", title_text="‖∂h_T / ∂h_t‖", exponentformat="power")
    fig.update_xaxes(title_text="steps back from the end (T − 1 − t)")
    scale = next(iter(flows.values())).scale if flows else 1.0
    finish(fig, height=420, title=f"Gradient flowing back in time (recurrent weights × {scale:g})")
    return fig.update_layout(showlegend=True)


@returns_figure
def loss_curve(losses):
    """Training loss per step on a log scale; `losses` is a TrainingResult or a list of floats."""
    values = np.asarray(getattr(losses, "losses", losses), dtype=float)
    if values.size == 0:
        raise ExplorerError("There is no loss to draw yet: train for at least one step.")
    steps = np.arange(1, values.size + 1)
    fig = Spec(go.Scatter(x=steps, y=values, mode="lines", line=dict(color="#1f77b4", width=2),
                               hovertemplate="step %{x}: loss %{y:.4g}<extra></extra>"))
    fig.update_yaxes(type="log", title_text="mean squared error", exponentformat="power")
    fig.update_xaxes(title_text="training step")
    return finish(fig, height=360, title=f"Loss: {values[0]:.3g} at step 1 → {values[-1]:.3g} at step {values.size}")


@returns_figure
def predictions_figure(result):
    """The held-out sine wave's next values against the model's predictions before and after training."""
    steps = np.arange(len(result.targets))
    fig = Spec()
    for y, name, color, dash in ((result.targets, "true next value", "#8c8c8c", "solid"),
                                 (result.predictions_before, "before training", "#d62728", "dot"),
                                 (result.predictions_after, "after training", "#1f77b4", "solid")):
        fig.add_trace(go.Scatter(x=steps, y=as_numpy(y)[:, 0], mode="lines+markers", name=name,
                                 line=dict(color=color, dash=dash, width=2), marker=dict(size=5)))
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="x_(t+1)")
    finish(fig, height=380, title=f"{result.kind} predicting the next value of a sine wave")
    return fig.update_layout(showlegend=True)


# -- the unrolled cell --------------------------------------------------------------------------
# Boxes at fixed places (x 0..12, y 0..7), arrows between them, and one text trace holding the
# numbers; frames replace only that text, so stepping through time moves numbers, not drawings.

_BOX_W, _BOX_H = 1.6, 1.5
_NODES = {
    "LSTM": {"c_prev": (0.8, 7.0, "c_(t−1)"), "f_c": (3.0, 7.0, "f ⊙ c_(t−1)"), "c": (5.7, 7.0, "c_t = f⊙c + i⊙g"),
             "tanh_c": (10.9, 7.0, "tanh(c_t)"), "i_g": (5.7, 5.2, "i ⊙ g"), "f": (3.0, 3.3, "σ forget f"),
             "i": (4.8, 3.3, "σ input i"), "g": (6.6, 3.3, "tanh cell g"), "o": (8.4, 3.3, "σ output o"),
             "h": (10.9, 3.3, "h_t = o ⊙ tanh(c_t)"), "h_prev": (0.8, 3.0, "h_(t−1)"), "x": (0.8, 0.6, "x_t")},
    "GRU": {"h_prev": (0.8, 7.0, "h_(t−1)"), "z_h": (3.0, 7.0, "z ⊙ h_(t−1)"), "h": (10.9, 7.0, "h_t = (1−z)⊙n + z⊙h"),
            "z_n": (8.8, 5.4, "(1 − z) ⊙ n"), "z": (3.0, 3.3, "σ update z"), "r": (5.4, 3.3, "σ reset r"),
            "n": (7.6, 3.3, "tanh new n"), "x": (0.8, 0.6, "x_t")},
    "RNN": {"h_prev": (0.8, 5.0, "h_(t−1)"), "x": (0.8, 1.6, "x_t"), "hh": (4.2, 5.0, "W_hh h_(t−1) + b_hh"),
            "ih": (4.2, 1.6, "W_ih x_t + b_ih"), "pre": (7.2, 3.3, "sum"), "h": (10.5, 3.3, "h_t")},
}
_EDGES = {
    "LSTM": [("c_prev", "f_c"), ("f", "f_c"), ("f_c", "c"), ("i", "i_g"), ("g", "i_g"),
             ("i_g", "c"), ("c", "tanh_c"), ("tanh_c", "h"), ("o", "h")],
    "GRU": [("h_prev", "z_h"), ("z", "z_h"), ("z_h", "h"), ("z", "z_n"), ("n", "z_n"), ("z_n", "h"), ("r", "n")],
    "RNN": [("h_prev", "hh"), ("x", "ih"), ("hh", "pre"), ("ih", "pre"), ("pre", "h")],
}
_BUS_Y = 1.6  # LSTM and GRU: h_(t−1) and x_t join on this line, which feeds every gate
_GATE_OF = {symbol: name for name, symbol in GATE_SYMBOLS.items()}   # box key -> gate name


@returns_figure
def cell_diagram(trace, layer=0, direction=0, b=0, *, t=0, units=None, labels=None, max_frames=MAX_FRAMES):
    """The cell unrolled at step t: each box is one quantity of the update, with its numbers.

    Up to 4 units the boxes hold whole vectors; above that, the chosen `units` (default: 4 spread
    over the layer). Hovering a gate shows its pre-activation split into the input part and the
    hidden part. The player steps t through the sequence.
    """
    trace._check(layer, direction, t, b)
    H = trace.hidden_size
    shown = _pick_units(units, H, cap=SMALL_VECTOR)
    nodes, edges = _NODES[trace.kind], _EDGES[trace.kind]
    fig = Spec()
    for key, (x, y, title) in nodes.items():
        title = _node_title(trace, key, title)
        fig.add_shape(type="rect", x0=x - _BOX_W / 2, x1=x + _BOX_W / 2, y0=y - _BOX_H / 2, y1=y + _BOX_H / 2,
                      line=dict(color=ACCENT if key in ("h", "c") else INK, width=2),
                      fillcolor="rgba(245,166,35,0.15)" if key in _GATE_OF else "rgba(0,0,0,0)")
        fig.add_annotation(x=x, y=y + _BOX_H / 2 - 0.15, text=f"<b>{title}</b>", showarrow=False,
                           font=dict(size=12))
    for a, z in edges:
        _arrow(fig, nodes[a][:2], nodes[z][:2])
    if trace.kind != "RNN":
        gates = [nodes[GATE_SYMBOLS[n]] for n in trace.gate_names]
        (hx, hy, _), (xx, xy, _) = nodes["h_prev"], nodes["x"]
        join = hx + _BOX_W / 2 + 0.35
        for x0, y0, x1, y1 in ((hx + _BOX_W / 2, hy, join, hy), (xx + _BOX_W / 2, xy, join, xy),
                               (join, hy, join, xy), (join, _BUS_Y, max(g[0] for g in gates), _BUS_Y)):
            fig.add_shape(type="line", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color=INK, width=2))
        for gx, gy, _ in gates:
            _arrow(fig, (gx, _BUS_Y), (gx, gy), tail=True)
    keep, start = _frame_steps(trace, list(range(trace.seq_len)), t, max_frames)
    keys = list(nodes)
    texts = [_cell_texts(trace.step(layer, direction, s, b), trace, keys, shown) for s in keep]
    fig.add_trace(go.Scatter(x=[nodes[k][0] for k in keys], y=[nodes[k][1] - 0.22 for k in keys], mode="text",
                             text=texts[start][0], hovertext=texts[start][1], hoverinfo="text",
                             textfont=dict(size=13, family="monospace")))
    fig.update_xaxes(visible=False, range=[-0.2, 12])
    rnn = trace.kind == "RNN"                                                # two rows of boxes, not three
    fig.update_yaxes(visible=False, range=[0.5, 6.1] if rnn else [-0.4, 8.0])
    frames = [dict(name=str(s), traces=[0], data=[dict(type="scatter", text=tx, hovertext=hv)])
              for s, (tx, hv) in zip(keep, texts)]
    which = f"units {', '.join(map(str, shown))} of {H}" if H > SMALL_VECTOR else f"all {H} units"
    finish(fig, height=520 if rnn else 740, title=f"{trace.kind} cell, layer {layer}, {'backward' if direction else 'forward'}"
                                  f" direction: {which}")
    return add_player(fig, frames, _step_labels(labels, keep), prefix="time step t = ", active=start)


def _node_title(trace, key, title):
    if key != "h":
        return title
    if trace.kind == "RNN":
        return f"h_t = {trace.nonlinearity}(sum)"
    if trace.out_size != trace.hidden_size:
        return "h_t = W_hr (o ⊙ tanh(c_t))"
    return title


def _arrow(fig, start, end, tail=False):
    """An arrow between box centres, clipped to the box edges (or from a bare point if `tail`)."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    length = max(np.hypot(dx, dy), 1e-9)
    shrink = min(_BOX_W / 2 / max(abs(dx), 1e-9), _BOX_H / 2 / max(abs(dy), 1e-9)) * length
    sx, sy = (0.0, 0.0) if tail else (dx / length * shrink, dy / length * shrink)
    fig.add_annotation(x=x1 - dx / length * shrink, y=y1 - dy / length * shrink, ax=x0 + sx, ay=y0 + sy,
                       xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2,
                       arrowsize=1.2, arrowwidth=1.6, arrowcolor=INK, text="")


def _cell_values(step, kind):
    """Every box's vector at one step."""
    v = {"h_prev": step.h_prev, "x": step.x, "h": step.h}
    if kind == "RNN":
        v["ih"], v["hh"] = step.from_input["hidden"], step.from_hidden["hidden"]
        v["pre"] = v["ih"] + v["hh"]
        return v
    g = step.gates
    if kind == "LSTM":
        v.update(c_prev=step.c_prev, c=step.c, i=g["input"], f=g["forget"], g=g["cell"], o=g["output"],
                 f_c=g["forget"] * step.c_prev, i_g=g["input"] * g["cell"], tanh_c=step.c.tanh())
        return v
    v.update(r=g["reset"], z=g["update"], n=g["new"], z_h=g["update"] * step.h_prev,
             z_n=(1 - g["update"]) * g["new"])
    return v


def _cell_texts(step, trace, keys, shown):
    """The printed numbers and the hover explanation of every box, in `keys` order."""
    values = _cell_values(step, trace.kind)
    H = trace.hidden_size
    texts, hovers = [], []
    for k in keys:
        vec = as_numpy(values[k])
        if k == "x":          # the features that matter most at this step (the 1 of a one-hot word)
            idx = sorted(np.argsort(-np.abs(vec), kind="stable")[:SMALL_VECTOR].tolist())
        else:                 # a projected LSTM's h has proj_size units, not H
            idx = shown if len(vec) == H else evenly_spaced(len(vec), SMALL_VECTOR)
        label = len(vec) > SMALL_VECTOR
        prefix = "x" if k == "x" else "u"
        texts.append("<br>".join((f"{prefix}{u}: " if label else "") + f"{vec[u]:.3g}" for u in idx))
        hovers.append(_hover(step, trace.kind, k, vec, idx))
    return texts, hovers


def _hover(step, kind, key, vec, idx):
    if key in _GATE_OF:
        name = _GATE_OF[key]
        a, h = as_numpy(step.from_input[name]), as_numpy(step.from_hidden[name])
        if name == "new":
            r = as_numpy(step.gates["reset"])
            parts = [f"u{u}: tanh({a[u]:.3g} + {r[u]:.3g}·{h[u]:.3g}) = {vec[u]:.4g}" for u in idx]
        else:
            fn = SQUASH.get(name, "σ")
            parts = [f"u{u}: {fn}({a[u]:.3g} + {h[u]:.3g}) = {vec[u]:.4g}" for u in idx]
        return f"{name} gate: {SQUASH.get(name, 'σ')}(input part + hidden part)<br>" + "<br>".join(parts)
    return "<br>".join(f"[{u}] = {vec[u]:.6g}" for u in idx)


@returns_figure
def preview():
    """Home-page card: the four gates of a seeded LSTM(1, 4) reading a step from 0 to 1, one band per
    gate (units down, time across), with a white line between gates."""
    from ..examples.recurrent import input_preset, make_recurrent
    from ..recurrent import trace_recurrent
    trace = trace_recurrent(make_recurrent("LSTM", 1, 4, seed=3), input_preset("step").x)
    bands = []
    for name in trace.gate_names:
        z = _lane(trace.gates[name], 0, 0, 0).T                              # (4 units, T)
        bands += [z if name != "cell" else (z + 1) / 2, np.full((1, z.shape[1]), np.nan)]  # tanh -> 0..1
    z = np.vstack(bands[:-1])
    fig = Spec(heatmap(z, zmin=float(np.nanmin(z)), zmax=float(np.nanmax(z)), colorscale=SEQUENTIAL, text=False,
                            xgap=0, ygap=0))
    fig.update_yaxes(autorange="reversed")
    return card(fig)
