"""Colours and the small building blocks every figure shares, so all pages look alike.

Figures are plain plotly objects; the page decides how to show them. Colours are chosen to stay
readable on a projector in both light and dark themes.
"""
import numpy as np
import plotly.graph_objects as go

from .margins import axis_title
from .spec import Spec

DIVERGING = "RdBu_r"        # signed values: blue < 0 < red, white at zero
SEQUENTIAL = "Viridis"      # non-negative values such as attention weights
HIGHLIGHT = "#f5a623"       # the current window / selected cell
ACCENT = "#2ca02c"          # the cell being written
PADDING = "rgba(128,128,128,0.35)"
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=14)
# What every chart is drawn with in the browser: plotly.js's own plain look (a white card, dark ink, in
# the light and the dark theme alike) plus room for long tick labels. Small on purpose: the browser
# applies a template to the whole figure, frames included, at every draw. Tick labels may overflow:
# plotly.js otherwise measures every label of every axis to hide those past the chart's edge, a
# forced layout per label that took a sixth of the attention page's redraw; the margins leave them room.
_AXIS = {"automargin": True, "ticklabeloverflow": "allow"}
TEMPLATE = {"layout": {"xaxis": _AXIS, "yaxis": _AXIS}}
MAX_ANNOTATED_CELLS = 400   # above this, numbers in cells become unreadable noise
MAX_THREE_DIGIT_COLUMNS = 12


def as_numpy(t):
    """A float64 numpy copy of a tensor or array (plotly serialises numpy fastest)."""
    if hasattr(t, "detach"):
        t = t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=float)


def symmetric_range(*arrays):
    """A colour range centred on zero that covers every given array."""
    m = max((float(np.nanmax(np.abs(a))) for a in arrays if np.size(a) and not np.all(np.isnan(a))),
            default=1.0)
    m = m or 1.0
    return -m, m


def heatmap(z, *, zmin=None, zmax=None, colorscale=DIVERGING, name="", text=True, showscale=False,
            x=None, y=None, hover="value", xgap=1, ygap=1):
    """A heatmap trace with one number printed per cell while the grid is small enough to read."""
    z = as_numpy(z)
    if z.ndim == 1:
        z = z[None, :]
    kwargs = {}
    if text and z.size <= MAX_ANNOTATED_CELLS:
        # past a dozen columns a cell of a half-width panel is some 25 px: "1.36" fits, "0.0567" overlaps
        wide = z.shape[-1] > MAX_THREE_DIGIT_COLUMNS
        kwargs = dict(texttemplate="%{z:.2~f}" if wide else "%{z:.3g}",
                      textfont=dict(size=12 if z.size <= 100 else 8 if wide else 9))
    return go.Heatmap(z=z, x=x, y=y, zmin=zmin, zmax=zmax, colorscale=colorscale, name=name,
                      showscale=showscale, xgap=xgap, ygap=ygap, zmid=None if zmin is not None else 0,
                      hovertemplate=f"row %{{y}}, col %{{x}}<br>{hover} %{{z:.6g}}<extra>{name}</extra>",
                      **kwargs)


def cell_outlines(cells, pad=0.5):
    """x, y lists drawing a square around each (row, col) cell, None-separated for one trace."""
    xs, ys = [], []
    for r, c in cells:
        xs += [c - pad, c + pad, c + pad, c - pad, c - pad, None]
        ys += [r - pad, r - pad, r + pad, r + pad, r - pad, None]
    return xs, ys


def outline_trace(cells, color=HIGHLIGHT, width=3, name="window", pad=0.5):
    """A scatter trace outlining the given cells; used for windows that animate frame by frame."""
    xs, ys = cell_outlines(cells, pad)
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width), name=name,
                      hoverinfo="skip", showlegend=False)


def grid_axes(fig, row, col, nrows, ncols, title=None):
    """On a Spec's cell, matrix-style axes: row 0 at the top, square cells, no grid lines, integer ticks."""
    x_name = fig.axes(row, col)[0]
    fig.update_yaxes(autorange="reversed", scaleanchor=x_name, constrain="domain", showgrid=False,
                     zeroline=False, row=row, col=col, dtick=1 if nrows <= 16 else None, title_text=None)
    fig.update_xaxes(showgrid=False, zeroline=False, row=row, col=col, constrain="domain",
                     dtick=1 if ncols <= 16 else None, title_text=title)


def plain(fig):
    """A figure as the plain dict st.plotly_chart also takes, without plotly's default template
    (Streamlit's theme styles the chart in the browser). Cache this, not the go.Figure: unpickling
    a cached go.Figure re-validates that whole template, which costs more than a rerun should."""
    spec = fig.to_plotly_json()
    spec["layout"].pop("template", None)
    return spec


def finish(fig, *, height=None, title=None):
    """Shared layout: fonts, margins, no legend clutter."""
    fig.update_layout(font=FONT, margin=dict(l=10, r=10, t=60 if title else 40, b=10),
                      title=title, showlegend=False, height=height)
    return fig


def card(fig, height=150):
    """A home-page preview: no axes, no margins, small."""
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, height=height).update_layout(margin=dict(l=0, r=0, t=0, b=0))


def add_player(fig, frames, labels, *, duration=700, prefix="step ", active=0, **slider):
    """`fig` (a Spec or a go.Figure) as a go.Figure with frames, a slider and play/pause buttons;
    stepping runs in the browser.

    `frames` are plain dicts {"name", "traces", "data"} with plain-dict traces: plotly's validation
    of hundreds of frame objects would cost more than the whole trace, so they are attached as is.
    `active` is the step shown first; `slider` overrides the slider's other properties (x, len).
    """
    # below an x-axis title, not over it: a title line is about 30 px
    below = 30 if _has_bottom_title(fig.layout if isinstance(fig, Spec) else fig.layout.to_plotly_json()) else 0
    steps = [dict(method="animate", label=str(lab),
                  args=[[f["name"]], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                          transition=dict(duration=0))])
             for f, lab in zip(frames, labels)]
    fig.update_layout(
        sliders=[dict(dict(active=active, steps=steps, x=0.1, len=0.9, y=0, yanchor="top", pad=dict(t=40 + below),
                           currentvalue=dict(prefix=prefix, font=dict(size=14))), **slider)],
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=0, yanchor="top", xanchor="left",
                          pad=dict(t=58 + below, r=10), showactive=False,
                          buttons=[dict(label="▶", method="animate",
                                        args=[None, dict(frame=dict(duration=duration, redraw=True),
                                                         fromcurrent=True, transition=dict(duration=0))]),
                                   dict(label="❚❚", method="animate",
                                        args=[[None], dict(mode="immediate", frame=dict(duration=0),
                                                           transition=dict(duration=0))])])])
    if isinstance(fig, Spec):
        for frame in frames:   # a frame's trace of no type would become a scatter when validated
            for idx, trace in zip(frame.get("traces", ()), frame["data"]):
                trace.setdefault("type", fig.data[idx].get("type", "scatter"))
        return fig.figure(frames)
    spec = fig.to_plotly_json()
    return go.Figure(dict(data=spec["data"], layout=spec["layout"], frames=frames), _validate=False)


def _has_bottom_title(layout):
    return any(name.startswith("xaxis") and isinstance(axis, dict) and axis.get("side", "bottom") == "bottom"
               and axis_title(axis) for name, axis in layout.items())


def outline_dict(cells, color=HIGHLIGHT, width=3):
    """outline_trace as a plain dict, for animation frames."""
    xs, ys = cell_outlines(cells)
    return dict(type="scatter", x=xs, y=ys, mode="lines", line=dict(color=color, width=width))


def evenly_spaced(n, cap):
    """Up to `cap` indices spread over range(n), always including the first and last."""
    if n <= cap:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, cap).round().astype(int).tolist()))


def downsample(z, cap):
    """A 2D array shrunk for drawing so that neither side exceeds `cap`: each k×k patch is shown
    by its cell of largest magnitude, so thin features such as edges survive (every k-th cell
    would drop most of them).

    Returns (z_small, row_indices, col_indices): the first row and column of each patch, so hover
    text and outlines stay in the array's own coordinates.
    """
    z = as_numpy(z)
    rs = max(1, -(-z.shape[0] // cap))
    cs = max(1, -(-z.shape[1] // cap))
    rows, cols = np.arange(0, z.shape[0], rs), np.arange(0, z.shape[1], cs)
    if rs == cs == 1:
        return z, rows, cols
    padded = np.full((len(rows) * rs, len(cols) * cs), np.nan)
    padded[:z.shape[0], :z.shape[1]] = z
    patches = padded.reshape(len(rows), rs, len(cols), cs).transpose(0, 2, 1, 3).reshape(len(rows), len(cols), -1)
    pick = np.nanargmax(np.abs(patches), axis=-1)
    return np.take_along_axis(patches, pick[..., None], -1)[..., 0], rows, cols


def compact(z, digits=6):
    """A 2D array as nested lists of numbers rounded to `digits` significant digits (None for
    NaN), for animation frames: plotly sends frames as JSON text, and full float64 digits would
    triple what the browser receives for no visible difference."""
    z = as_numpy(z)
    return [[None if v != v else float(f"{v:.{digits}g}") for v in row] for row in z.tolist()]
