"""Figures for the digits CNN: the whole network at a glance, learned filters, training, mistakes.

The network view reads left to right like the network itself: the input digit, every channel after
conv1 + ReLU, after pooling, after conv2 + ReLU, after pooling, and the ten class probabilities.
Every feature-map cell carries (stage, channel, row, col) so that a click can select it.
"""
import math

import numpy as np
import plotly.graph_objects as go
from _plotly_utils.utils import to_typed_array_spec

from .. import digits
from .spec import Spec, returns_figure
from .theme import ACCENT, DIVERGING, FONT, HIGHLIGHT, SEQUENTIAL, as_numpy, card, cell_outlines, finish, heatmap

DRAWN = {"conv1": "relu1", "pool1": "pool1", "conv2": "relu2", "pool2": "pool2"}  # what each column shows
TITLES = {"input": "input", "conv1": "conv1<br>+ ReLU", "pool1": "max<br>pool 1", "conv2": "conv2<br>+ ReLU",
          "pool2": "max<br>pool 2"}
INPUT_COLOURS = [[0, "#ffffff"], [1, "#111111"]]   # dark ink on light paper, however the theme is set
NOT_TOP = "#9a9a9a"


def network(acts, probs, selected=None, window=None):
    """Input, every channel's feature map at every traced stage, and the class probabilities.

    One pair of axes per stage: its maps are heatmaps side by side in cell coordinates, placed by
    `map_origin`, and one transparent marker trace per stage carries every cell's hover and click.
    The browser draws six plots instead of some fifty (each plot is hundreds of SVG elements, and a
    change of test image redraws them all). Built from plain dicts: plotly's validation of this many
    traces would cost more than the forward pass.

    Args:
        acts: explorer.digits.activations(model, image).
        probs: (10,) class probabilities.
        selected: (stage, channel, row, col) of the cell to outline, or None.
        window: (source stage, channels, [(row, col)]) cells the selected cell reads, outlined on
            the maps of its source stage ("input" for conv1).
    """
    out = {name: as_numpy(o[0]) for name, _, o in acts}                      # name -> (C, H, W)
    maps = {stage: out[DRAWN[stage]] for stage in digits.TRACED}
    image = as_numpy(acts[0][1][0, 0])                                         # (S, S)
    rows = maps["conv1"].shape[0]
    groups = [("input", 1, 2.6)] + [(s, math.ceil(maps[s].shape[0] / rows), 1.0) for s in digits.TRACED]
    groups.append(("probs", 1, 1.8))
    x_domains = _columns(groups, group_gap=0.03)
    data, layout = [], {}

    def axes(n, x_dom, y_dom, extent=None):
        """Axes pair n; with extent = (rows, cols) of cells, square cells with row 0 on top and fixed
        ranges (the click markers must not widen them)."""
        xa, ya = ("x", "y") if n == 1 else (f"x{n}", f"y{n}")
        xaxis = dict(domain=list(x_dom), anchor=ya, visible=False, constrain="domain")
        yaxis = dict(domain=list(y_dom), anchor=xa, visible=False, constrain="domain")
        if extent is not None:
            xaxis.update(range=[-0.5, extent[1] - 0.5])
            yaxis.update(range=[extent[0] - 0.5, -0.5], scaleanchor=xa)
        layout[f"xaxis{'' if n == 1 else n}"] = xaxis
        layout[f"yaxis{'' if n == 1 else n}"] = yaxis
        return dict(xaxis=xa, yaxis=ya)

    def origin(stage, c):
        """Where channel c's map starts in its stage's axes (the input is one map, at 0, 0)."""
        return (0, 0) if stage == "input" else map_origin(c, rows, maps[stage].shape[1:])

    at = {"input": axes(1, x_domains["input"], (0.2, 0.8), image.shape)}
    data.append(_map(image, INPUT_COLOURS, 1.0, "input", (0, 0), at["input"]))
    data.append(_cells("input", image[None], 1, at["input"]))
    h, w = image.shape
    data.append(dict(type="scatter", x=[-0.5, w - 0.5, w - 0.5, -0.5, -0.5], y=[-0.5, -0.5, h - 0.5, h - 0.5, -0.5],
                     mode="lines", line=dict(color=NOT_TOP, width=1), hoverinfo="skip", name="paper edge",
                     **at["input"]))
    for n, stage in enumerate(digits.TRACED, start=2):
        stack = maps[stage]
        at[stage] = axes(n, x_domains[stage], (0, 1), _tiles_extent(stack.shape, rows))
        top = float(stack.max()) or 1.0
        for c in range(stack.shape[0]):
            data.append(_map(stack[c], SEQUENTIAL, top, f"{stage} channel {c}", origin(stage, c), at[stage]))
        data.append(_cells(stage, stack, rows, at[stage]))
    if window is not None:
        source, channels, cells = window
        stage = "input" if source == "input" else _column_of(source)
        for c in channels:
            data.append(_outline(cells, origin(stage, c), HIGHLIGHT, 2, "window", at[stage]))
    if selected is not None and selected[0] in digits.TRACED and 0 <= selected[1] < maps[selected[0]].shape[0]:
        stage, c, i, j = selected
        data.append(_outline([(i, j)], origin(stage, c), HIGHLIGHT, 4, "selected", at[stage]))

    p = as_numpy(probs)
    best = int(p.argmax())
    bars = axes(len(digits.TRACED) + 2, x_domains["probs"], (0.05, 0.95))
    data.append(dict(type="bar", y=[str(k) for k in range(len(p))], x=p.tolist(), orientation="h",
                     name="probabilities", marker=dict(color=[ACCENT if k == best else NOT_TOP for k in range(len(p))]),
                     text=[f"{v:.2f}" if v >= 0.005 else "" for v in p], textposition="outside", cliponaxis=False,
                     hovertemplate="digit %{y}: probability %{x:.4f}<extra></extra>", **bars))
    n = bars["xaxis"][1:]
    layout[f"xaxis{n}"].update(range=[0, 1.35])
    layout[f"yaxis{n}"].update(visible=True, type="category", tickfont=dict(size=16), showgrid=False,
                               ticks="", ticklabelstandoff=6, autorange="reversed", showline=False)

    annotations = []
    for name, _, _ in groups:
        left, right = x_domains[name]
        text = "<b>class<br>probabilities</b><br>softmax of fc" if name == "probs" else \
            f"<b>{TITLES[name]}</b><br>{_shape_text(image if name == 'input' else maps[name])}"
        annotations.append(dict(x=(left + right) / 2, y=1.0, xref="paper", yref="paper", yanchor="bottom",
                                showarrow=False, text=text, font=dict(size=13)))
    for (a, _, _), (b, _, _) in zip(groups, groups[1:]):   # arrows in the gaps: the direction data flows
        x = (x_domains[a][1] + x_domains[b][0]) / 2
        annotations.append(dict(x=x, y=0.5, xref="paper", yref="paper", showarrow=False, text="➜",
                                font=dict(size=18, color=NOT_TOP)))
    layout.update(annotations=annotations, hovermode="closest", height=90 * rows + 90, showlegend=False,
                  margin=dict(l=10, r=10, t=90, b=10), font=FONT)
    return go.Figure(dict(data=data, layout=layout), skip_invalid=False, _validate=False)


MAP_GAP = 0.1   # the space between two maps of a stage, in map sides


def map_origin(channel, rows, shape):
    """(row, column) of the cell where a channel's map starts in its stage's axes: channels fill
    columns of `rows` maps, top to bottom, then left to right; `shape` = (H, W) of one map."""
    h, w = shape
    return (channel % rows) * h * (1 + MAP_GAP), (channel // rows) * w * (1 + MAP_GAP)


def _tiles_extent(stack_shape, rows):
    """(rows, columns) of cells that a stage's (C, H, W) maps take up, tiled by `map_origin`."""
    c, h, w = stack_shape
    last_row, last_col = map_origin(min(c, rows) - 1, rows, (h, w))[0], map_origin(c - 1, rows, (h, w))[1]
    return last_row + h, last_col + w


def _columns(groups, group_gap):
    """(left, right) paper x of every stage's axes, in proportion to its maps' total width."""
    widths = {name: w * (n + (n - 1) * MAP_GAP) for name, n, w in groups}
    free = 1 - group_gap * (len(groups) - 1)
    units = sum(widths.values())
    out, x = {}, 0.0
    for name, _, _ in groups:
        out[name] = (x, x + free * widths[name] / units)
        x = out[name][1] + group_gap
    return out


def _map(z, colours, top, name, origin, at):
    """A feature map as a heatmap dict starting at cell `origin`; hover comes from its cell markers."""
    gap = 1 if max(z.shape) <= 8 else 0   # at 16x16 a cell is a few pixels: a gap would eat it
    return dict(type="heatmap", z=to_typed_array_spec(z.astype(np.float32)), x0=origin[1], y0=origin[0],
                zmin=0, zmax=top, colorscale=colours, showscale=False, xgap=gap, ygap=gap, hoverinfo="skip",
                name=name, **at)


def _outline(cells, origin, colour, width, name, at):
    xs, ys = cell_outlines([(origin[0] + r, origin[1] + c) for r, c in cells])
    return dict(type="scatter", x=xs, y=ys, mode="lines", line=dict(color=colour, width=width), name=name,
                hoverinfo="skip", showlegend=False, **at)


def _column_of(source):
    """The column that draws a source activation: relu1 is drawn in conv1's column, and so on."""
    return {v: k for k, v in DRAWN.items()}[source]


def _shape_text(a):
    return f"{a.shape[-2]}×{a.shape[-1]}" if a.ndim == 2 else f"{a.shape[0]} × {a.shape[1]}×{a.shape[2]}"


def _square(fig, row, col):
    """Matrix axes without ticks: row 0 on top, square cells."""
    x_name = fig.axes(row, col)[0]
    fig.update_xaxes(visible=False, constrain="domain", row=row, col=col)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor=x_name, constrain="domain", row=row, col=col)


def _cells(stage, stack, rows, at):
    """One transparent marker per cell of every map of a stage: it carries the hover text and
    (stage, channel, row, col, value) for a click (a heatmap cannot be selected, a marker can)."""
    c, h, w = stack.shape
    ch, r, col = (a.ravel() for a in np.mgrid[0:c, 0:h, 0:w])
    top, left = (np.array([map_origin(k, rows, (h, w))[i] for k in range(c)])[ch] for i in (0, 1))
    custom = [[stage, int(k), int(i), int(j), round(float(v), 4)] for k, i, j, v in zip(ch, r, col, stack.ravel())]
    what = "input pixel" if stage == "input" else f"{TITLES[stage]}, channel %{{customdata[1]}}"
    return dict(type="scatter", x=(left + col).tolist(), y=(top + r).tolist(), mode="markers", customdata=custom,
                marker=dict(size=10, symbol="square", opacity=0.01), name=f"{stage} cells",
                hovertemplate=f"{what}<br>row %{{customdata[2]}}, col %{{customdata[3]}}: %{{customdata[4]}}"
                              + ("" if stage == "input" else "<br>click for its math") + "<extra></extra>", **at)


@returns_figure
def filters(trained, layer="conv1", in_channel=0):
    """A layer's kernels before and after training, side by side (one input channel), numbers shown."""
    before = as_numpy(trained.initial[f"{layer}.weight"])[:, in_channel]      # (C_out, k, k)
    after = as_numpy(getattr(trained.model, layer).weight)[:, in_channel]
    n = before.shape[0]
    m = float(max(np.abs(before).max(), np.abs(after).max())) or 1.0
    fig = Spec.subplots(rows=2, cols=n, horizontal_spacing=0.015, vertical_spacing=0.08,
                        subplot_titles=[f"filter {i}" for i in range(n)] + [""] * n)
    for i in range(n):
        for r, w in ((1, before[i]), (2, after[i])):
            name = f"{'before' if r == 1 else 'after'} {i}"
            fig.add_trace(heatmap(w, zmin=-m, zmax=m, colorscale=DIVERGING, name=name)
                          .update(texttemplate="%{z:.2f}", textfont=dict(size=11)), r, i + 1)
            _square(fig, r, i + 1)
    for r, label in ((1, "before<br>training"), (2, f"after {trained.epochs_done}<br>epochs")):
        y0, y1 = fig.axis_layout(fig.axes(r, 1)[1])["domain"]
        fig.add_annotation(x=0, y=(y0 + y1) / 2, xref="paper", yref="paper", xanchor="right", xshift=-8,
                           text=f"<b>{label}</b>", showarrow=False, align="right", font=dict(size=13))
    return finish(fig, height=340).update_layout(margin=dict(l=90, r=10, t=40, b=10))


@returns_figure
def losses(trained):
    """Mean training loss per epoch."""
    fig = Spec(go.Scatter(x=list(range(1, trained.epochs_done + 1)), y=list(trained.losses),
                               mode="lines+markers", name="loss"))
    fig.update_xaxes(title_text="epoch", dtick=2)
    fig.update_yaxes(title_text="mean cross-entropy", rangemode="tozero")
    return finish(fig, height=300, title=f"Training loss; held-out accuracy {trained.test_accuracy:.1%}")


@returns_figure
def confusion(counts):
    """Test images by true digit (rows) and the network's answer (columns); the diagonal is right."""
    z = as_numpy(counts)
    text = [[f"{v:.0f}" if v or i == j else "" for j, v in enumerate(row)] for i, row in enumerate(z)]
    fig = Spec(go.Heatmap(z=z, x=[str(k) for k in range(10)], y=[str(k) for k in range(10)], text=text,
                               colorscale="Blues", showscale=False, texttemplate="%{text}", xgap=1, ygap=1,
                               hovertemplate="true %{y}, answered %{x}: %{z:.0f} images<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text="true digit", type="category")
    fig.update_xaxes(title_text="the network's answer", type="category", side="bottom")
    wrong = int(z.sum() - np.trace(z))
    return finish(fig, height=300, title=f"Where it goes wrong: {wrong} of {int(z.sum())} test images")


@returns_figure
def preview():
    """Home-page card: a held-out digit and what three of the trained conv1 channels see in it."""
    trained = digits.train(digits.TrainConfig())
    image = digits.load_data(8).test_x[2]
    acts = dict((name, out) for name, _, out in digits.activations(trained.model, image))
    panels = [as_numpy(image[0])] + [as_numpy(acts["relu1"][0, c]) for c in range(3)]
    fig = Spec.subplots(rows=1, cols=4, horizontal_spacing=0.03)
    for k, z in enumerate(panels):
        fig.add_trace(heatmap(z, colorscale=INPUT_COLOURS if k == 0 else SEQUENTIAL, text=False,
                              zmin=0, zmax=float(z.max()) or 1.0), 1, k + 1)
        _square(fig, 1, k + 1)
    return card(fig)


def start_at(spec, frame_name):
    """Show an animated figure (made by theme.add_player, as the plain dict of theme.plain) at the
    frame named `frame_name`: its traces, its title and the slider, so that stepping on from there
    runs in the browser as before. Modifies and returns `spec`."""
    frames = spec.get("frames") or []
    names = [str(f.get("name")) for f in frames]
    if str(frame_name) not in names:
        return spec
    k = names.index(str(frame_name))
    frame = frames[k]
    for idx, d in zip(frame["traces"], frame["data"]):
        spec["data"][idx].update({key: v for key, v in d.items() if key in ("x", "y", "z")})
    title = (frame.get("layout") or {}).get("title")
    if title:
        spec["layout"]["title"] = title
    spec["layout"]["sliders"][0]["active"] = k
    return spec
