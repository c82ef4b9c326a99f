"""Figures for the building blocks: a dot product, a table lookup, a dropout mask, an activation curve.

Each builder takes a trace from explorer.basic and returns a go.Figure. Big layers are shown
through evenly spaced rows and columns (the selected ones always kept); titles say so.
"""
import numpy as np
import plotly.graph_objects as go

from ..errors import ExplorerError
from .spec import Spec, returns_figure
from .theme import (ACCENT, HIGHLIGHT, PADDING, add_player, as_numpy, card, evenly_spaced, finish, heatmap,
                    outline_trace, symmetric_range)

MAX_SIDE = 48          # rows or columns of a matrix drawn in full; beyond, evenly spaced ones
MAX_MARKERS = 200      # input values placed on an activation curve
MAX_LINES = 8          # entries followed in the running-mean figure
MAX_STEPS = 600        # points per running-mean line
MAX_FRAMES = 60        # animation frames of the dropout samples player
STRIP = 16             # a vector drawn as a strip of cells gets numbers up to this many cells
KEPT_COLORS = [[0, "#d9d9d9"], [1, ACCENT]]   # mask: grey dropped, green kept


@returns_figure
def linear_figure(trace, n=0, j=0, max_side=MAX_SIDE):
    """One output as a dot product: weight row j against input row n, their products, the total.

    Linear: W with row j outlined, the input under it column by column, y with y_j outlined, and
    one bar per product x_i·W[j, i]. Bilinear: A_j with x1 down its side and x2 along its top,
    and the grid of products x1_i·A[j, i, k]·x2_k.
    """
    d = trace.dot(n, j)
    title = (f"{_y(trace, n, j)} = Σ products + b = {sum(t.product for t in d.terms):.4g} + {d.bias:.4g} "
             f"= {d.total:.4g}   (module: {float(trace.output.reshape(trace.rows, -1)[n, j]):.4g})")
    if trace.bilinear:
        return _bilinear_figure(trace, n, j, d, max_side, title)
    x = as_numpy(trace.x.reshape(trace.rows, -1)[n])                         # (in,)
    w = as_numpy(trace.weight)                                               # (out, in)
    y = as_numpy(trace.output.reshape(trace.rows, -1)[n])                    # (out,)
    cols = evenly_spaced(w.shape[1], max_side)
    rows = _keep(evenly_spaced(w.shape[0], max_side), j)
    jr = rows.index(j)
    products = np.array([d.terms[i].product for i in cols])
    note = _shown_note((len(rows), w.shape[0], "outputs"), (len(cols), w.shape[1], "inputs"))

    fig = Spec.subplots(rows=3, cols=2, column_widths=[0.86, 0.14], row_heights=[0.55, 0.12, 0.33],
                        shared_xaxes="columns", vertical_spacing=0.1, horizontal_spacing=0.04,
                        specs=[[{}, {}], [{}, None], [{}, None]],
                        subplot_titles=(f"weights W (row {j} outlined){note}", "output y",
                                        f"input x (row {n})", f"products x_i · W[{j}, i]"))
    lo, hi = symmetric_range(w)
    fig.add_trace(heatmap(w[np.ix_(rows, cols)], zmin=lo, zmax=hi, name="weights"), 1, 1)
    fig.add_trace(_box(-0.5, len(cols) - 0.5, jr - 0.5, jr + 0.5, HIGHLIGHT, "selected row"), 1, 1)
    ylo, yhi = symmetric_range(y)
    fig.add_trace(heatmap(y[rows][:, None], zmin=ylo, zmax=yhi, name="output", text=len(rows) <= STRIP), 1, 2)
    fig.add_trace(_box(-0.5, 0.5, jr - 0.5, jr + 0.5, ACCENT, "selected output"), 1, 2)
    xlo, xhi = symmetric_range(x)
    fig.add_trace(heatmap(x[cols][None, :], zmin=xlo, zmax=xhi, name="input", text=len(cols) <= STRIP), 2, 1)
    fig.add_trace(go.Bar(x=list(range(len(cols))), y=products, name="products",
                         texttemplate="%{y:.3g}" if len(cols) <= STRIP else None, textposition="outside",
                         cliponaxis=False, marker_color=np.where(products >= 0, "#d62728", "#1f77b4"),
                         hovertemplate="x_%{customdata} · W[" + str(j) + ", %{customdata}] = %{y:.6g}<extra></extra>",
                         customdata=cols), 3, 1)
    _matrix_axes(fig, 1, 1, cols, rows, show_x=False)
    _matrix_axes(fig, 1, 2, [0], rows, show_x=False)
    _matrix_axes(fig, 2, 1, cols, [n], show_x=False)
    xt = _ticks(len(cols))
    fig.update_xaxes(tickvals=xt, ticktext=[str(cols[k]) for k in xt], title_text="input i", row=3, col=1)
    return finish(fig, height=min(760, 460 + 6 * len(rows)), title=title)


def linear_stepper(trace, n=0, j=0, max_side=MAX_SIDE):
    """linear_figure with a player: each frame makes another output y[n, j] the selected one.

    Linear: the outlined weight row, the outlined output and the products move. Bilinear: A_j and
    its grid of products change. The slider starts at j; stepping runs in the browser.
    """
    fig = linear_figure(trace, n, j, max_side)
    names = [d.name for d in fig.data]
    if trace.bilinear:
        ids = [names.index("weights"), names.index("products")]
        a_rows = evenly_spaced(trace.weight.shape[1], max_side)
        a_cols = evenly_spaced(trace.weight.shape[2], max_side)
        outputs = evenly_spaced(trace.out_features, max_side)
        outputs = _keep(outputs, j)
    else:
        ids = [names.index("selected row"), names.index("selected output"), names.index("products")]
        outputs = _keep(evenly_spaced(trace.out_features, max_side), j)
        cols = evenly_spaced(trace.weight.shape[1], max_side)
    frames, labels = [], []
    for r, jj in enumerate(outputs):
        d = trace.dot(n, jj)
        module_value = float(trace.output.reshape(trace.rows, -1)[n, jj])
        title = (f"{_y(trace, n, jj)} = Σ products + b = {sum(t.product for t in d.terms):.4g} + {d.bias:.4g} "
                 f"= {d.total:.4g}   (module: {module_value:.4g})")
        if trace.bilinear:
            a = as_numpy(trace.weight[jj])[np.ix_(a_rows, a_cols)]
            p = np.array([t.product for t in d.terms]).reshape(trace.weight.shape[1:])[np.ix_(a_rows, a_cols)]
            plo, phi = symmetric_range(p)
            data = [dict(type="heatmap", z=a.tolist()), dict(type="heatmap", z=p.tolist(), zmin=plo, zmax=phi)]
        else:
            products = np.array([d.terms[i].product for i in cols])
            box = [r - 0.5, r - 0.5, r + 0.5, r + 0.5, r - 0.5]
            data = [dict(type="scatter", y=box), dict(type="scatter", y=box),
                    dict(type="bar", y=products.tolist(),
                         marker=dict(color=np.where(products >= 0, "#d62728", "#1f77b4").tolist()),
                         hovertemplate="x_%{customdata} · W[" + str(jj) + ", %{customdata}] = %{y:.6g}<extra></extra>")]
        frames.append(dict(name=str(jj), traces=ids, data=data, layout=dict(title=dict(text=title))))
        labels.append(str(jj))
    if trace.bilinear:
        fig.layout.annotations[3].text = fig.layout.annotations[3].text.replace(f"A[{j}]", "A[j]", 1)
        fig.layout.annotations[4].text = "products x1_i · A[j, i, k] · x2_k"
    else:
        fig.layout.annotations[0].text = fig.layout.annotations[0].text.replace(f"row {j} outlined", "row j outlined")
        fig.layout.annotations[3].text = "products x_i · W[j, i], one per input i"
        fig.update_xaxes(title_text=None, row=3, col=1)   # the slider sits where the axis title would
    if not trace.bilinear:  # one scale for every frame's bars, with room for their labels
        ys = [v for f in frames for v in f["data"][2]["y"]]
        lo, hi = min(0.0, min(ys)), max(0.0, max(ys))
        pad = 0.25 * (hi - lo or 1.0)
        fig.update_yaxes(range=[lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0)], row=3, col=1)
    fig = add_player(fig, frames, labels, prefix="output j = ")
    fig.layout.sliders[0].active = outputs.index(j)
    fig.update_layout(margin=dict(b=90))
    return fig


def _bilinear_figure(trace, n, j, d, max_side, title):
    x1 = as_numpy(trace.x.reshape(trace.rows, -1)[n])                        # (in1,)
    x2 = as_numpy(trace.x2.reshape(trace.rows, -1)[n])                       # (in2,)
    a = as_numpy(trace.weight[j])                                            # (in1, in2)
    products = np.array([t.product for t in d.terms]).reshape(a.shape)       # (in1, in2)
    rows, cols = evenly_spaced(a.shape[0], max_side), evenly_spaced(a.shape[1], max_side)
    note = _shown_note((len(rows), a.shape[0], "x1 entries"), (len(cols), a.shape[1], "x2 entries"))
    fig = Spec.subplots(rows=2, cols=3, column_widths=[0.08, 0.46, 0.46], row_heights=[0.1, 0.9],
                        vertical_spacing=0.1, horizontal_spacing=0.04, specs=[[None, {}, {}], [{}, {}, {}]],
                        subplot_titles=("x2", "x2", "x1", f"A[{j}]{note}", f"products x1_i · A[{j}, i, k] · x2_k"))
    x2lo, x2hi = symmetric_range(x2)
    for col in (2, 3):
        fig.add_trace(heatmap(x2[cols][None, :], zmin=x2lo, zmax=x2hi, name="input 2", text=len(cols) <= STRIP),
                      1, col)
        _matrix_axes(fig, 1, col, cols, [n], show_x=False)
    x1lo, x1hi = symmetric_range(x1)
    fig.add_trace(heatmap(x1[rows][:, None], zmin=x1lo, zmax=x1hi, name="input 1", text=len(rows) <= STRIP), 2, 1)
    _matrix_axes(fig, 2, 1, [n], rows, show_x=False)
    lo, hi = symmetric_range(as_numpy(trace.weight))
    fig.add_trace(heatmap(a[np.ix_(rows, cols)], zmin=lo, zmax=hi, name="weights"), 2, 2)
    plo, phi = symmetric_range(products)
    fig.add_trace(heatmap(products[np.ix_(rows, cols)], zmin=plo, zmax=phi, name="products"), 2, 3)
    for col in (2, 3):
        _matrix_axes(fig, 2, col, cols, rows)
    return finish(fig, height=min(720, 380 + 14 * len(rows)), title=title)


@returns_figure
def embedding_figure(trace, labels=None, max_rows=MAX_SIDE):
    """The table with the looked-up rows outlined and the padding row shaded, beside the output.

    Args:
        labels: optional word per id (e.g. a vocabulary) for the row labels.
    """
    table = as_numpy(trace.table)                                            # (V, D)
    ids = as_numpy(trace.indices).astype(int).ravel()                        # (T,)
    out = as_numpy(trace.output).reshape(len(ids), -1)                       # (T, D)
    looked = [int(v) for v in trace.looked_up]
    pad = trace.padding_idx
    if table.shape[0] <= max_rows:
        rows = list(range(table.shape[0]))
    else:  # the rows that matter, then evenly spaced others up to the cap
        must = sorted(set(looked + ([pad] if pad is not None else [])))
        rows = sorted(set(must) | set(evenly_spaced(table.shape[0], max(0, max_rows - len(must)))))
    tokens = evenly_spaced(len(ids), max_rows)
    name = lambda v: _label(v, labels)  # noqa: E731
    note = _shown_note((len(rows), table.shape[0], "rows"))

    shaded = ", padding shaded" if pad is not None else ""
    when = f" (table shown after the lookup: max_norm rescaled {int(trace.renormalized.sum())} row(s) in place)" \
        if trace.max_norm is not None else ""
    fig = Spec.subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.12,
                        subplot_titles=(f"table ({len(looked)} row(s) looked up{shaded}){note}",
                                        "output: one row per token"))
    lo, hi = symmetric_range(table, out)
    fig.add_trace(heatmap(table[rows], zmin=lo, zmax=hi, name="table"), 1, 1)
    fig.add_trace(outline_trace([(rows.index(v), c) for v in looked for c in range(table.shape[1])],
                                name="looked up"), 1, 1)
    if pad is not None and pad in rows:
        fig.add_trace(_shade([rows.index(pad)], table.shape[1], "padding row"), 1, 1)
    fig.add_trace(heatmap(out[tokens], zmin=lo, zmax=hi, name="output"), 1, 2)
    padded_tokens = [k for k, t in enumerate(tokens) if ids[t] == pad]
    if padded_tokens:
        fig.add_trace(_shade(padded_tokens, table.shape[1], "padding tokens"), 1, 2)
    positions = np.array(np.unravel_index(tokens, tuple(trace.indices.shape))).T if trace.indices.dim() > 1 else None
    token_text = [f"{tuple(int(q) for q in positions[k]) if positions is not None else t} → {name(int(ids[t]))}"
                  for k, t in enumerate(tokens)]
    _matrix_axes(fig, 1, 1, list(range(table.shape[1])), rows, ytext=[name(v) for v in rows])
    _matrix_axes(fig, 1, 2, list(range(table.shape[1])), tokens, ytext=token_text)
    return finish(fig, height=min(760, 160 + 22 * max(len(rows), len(tokens))),
                  title="Embedding: each token reads its row of the table" + when)


@returns_figure
def renorm_figure(trace, labels=None):
    """max_norm: each looked-up row's norm before and after the forward, and the limit."""
    if trace.max_norm is None:
        raise ExplorerError("This embedding has no max_norm, so no row is rescaled; set max_norm to see it.")
    ids = [int(v) for v in trace.looked_up]
    names = [_label(v, labels) for v in ids]
    fig = Spec([
        go.Bar(x=names, y=as_numpy(trace.norms_before), name="norm before", marker_color="#9e9e9e"),
        go.Bar(x=names, y=as_numpy(trace.norms_after), name="norm after", marker_color=HIGHLIGHT,
               customdata=as_numpy(trace.scale), hovertemplate="norm %{y:.6g}<br>scaled by %{customdata:.6g}"
                                                              "<extra></extra>")])
    fig.add_hline(y=trace.max_norm, line_dash="dash", annotation_text=f"max_norm = {trace.max_norm:g}",
                  annotation_position="top left")
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="token id", type="category")
    fig.update_yaxes(title_text=f"{trace.norm_type:g}-norm of the row")
    finish(fig, height=360, title="max_norm rescales rows longer than the limit, in the table itself")
    fig.update_layout(showlegend=True)
    return fig


@returns_figure
def dropout_figure(trace, max_side=MAX_SIDE):
    """The input, the mask, the train-mode output x·mask/(1−p), and eval mode's identity.

    The input is drawn as a grid of (leading dims flattened) × last dim; dropped cells are shaded.
    """
    x2d = _as_grid(trace.x)
    rows, cols = evenly_spaced(x2d.shape[0], max_side), evenly_spaced(x2d.shape[1], max_side)
    pick = np.ix_(rows, cols)
    x = x2d[pick]
    out = _as_grid(trace.output)[pick]
    lo, hi = symmetric_range(x, out)
    text = len(rows) * len(cols) <= 96          # numbers in the cells while they stay readable
    if trace.training:
        mask = _as_grid(trace.mask)[pick]
        panels = [("input x", heatmap(x, zmin=lo, zmax=hi, name="input", text=text)),
                  (f"mask from seed {trace.seed}: 1 kept, 0 dropped ({trace.kept_fraction:.0%} kept, p = {trace.p:g})",
                   heatmap(mask, zmin=0, zmax=1, colorscale=KEPT_COLORS, name="mask", text=text)),
                  (f"train: x · mask / (1 − p), kept values × {trace.scale:g}",
                   heatmap(out, zmin=lo, zmax=hi, name="train output", text=text)),
                  ("eval: the identity, output = x", heatmap(x, zmin=lo, zmax=hi, name="eval output", text=text))]
    else:
        panels = [("input x", heatmap(x, zmin=lo, zmax=hi, name="input", text=text)),
                  ("eval mode: output = x (no mask, no scaling)", heatmap(out, zmin=lo, zmax=hi, name="eval output", text=text))]
    if trace.training and panels[1][1].texttemplate:
        panels[1][1].texttemplate = "%{z:.0f}"
    # a few rows: the panels stacked, columns lined up; a taller input: a 2 × 2 grid, so each panel stays big
    ncols = 2 if len(panels) == 4 and len(rows) > 4 else 1
    nrows = len(panels) // ncols
    height = min(1400, 90 + nrows * (60 + (28 if ncols == 1 else 22) * len(rows)))
    fig = Spec.subplots(rows=nrows, cols=ncols, subplot_titles=[t for t, _ in panels],
                        vertical_spacing=min(0.12, 70 / height), horizontal_spacing=0.08)
    where = [(k // ncols + 1, k % ncols + 1) for k in range(len(panels))]
    for (r, c), (_, h) in zip(where, panels):
        fig.add_trace(h, r, c)
        _matrix_axes(fig, r, c, cols, rows, show_x=r == nrows)
        if len(rows) == 1:
            fig.update_yaxes(showticklabels=False, row=r, col=c)
    if trace.training and not mask.all():
        dropped = [(r, c) for r, c in zip(*np.nonzero(mask == 0))]
        fig.add_trace(_shade_cells(dropped, "dropped"), *where[2])
    return finish(fig, height=height, title="Dropout" + _shown_note((len(rows) * len(cols), x2d.size, "values")))


@returns_figure
def dropout_mean_figure(mean, max_lines=MAX_LINES):
    """The running mean of many dropout outputs closing in on x, and its largest gap vs 1/√k."""
    flat = as_numpy(mean.running_mean).reshape(mean.samples, -1)             # (K, numel)
    x = as_numpy(mean.x).ravel()
    # log-spaced: the mean moves most over the first few samples
    steps = sorted(set(np.geomspace(1, mean.samples, MAX_STEPS).round().astype(int) - 1))
    k = np.array(steps) + 1
    fig = Spec.subplots(rows=2, cols=1, vertical_spacing=0.14, shared_xaxes=True,
                        subplot_titles=(f"running mean of x · mask / (1 − p), p = {mean.p:g} (dashed: x)",
                                        "largest gap |mean − x| and one standard error"))
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    for c, i in enumerate(evenly_spaced(len(x), max_lines)):
        color = palette[c % len(palette)]
        fig.add_trace(go.Scatter(x=k, y=flat[steps, i], mode="lines", name=f"mean of x[{i}]",
                                 line=dict(color=color)), 1, 1)
        fig.add_hline(y=x[i], line_dash="dash", line_color=color, row=1, col=1)
    fig.add_trace(go.Scatter(x=k, y=as_numpy(mean.gap)[steps], mode="lines", name="largest gap",
                             line=dict(color=HIGHLIGHT)), 2, 1)
    fig.add_trace(go.Scatter(x=k, y=as_numpy(mean.std_error)[steps], mode="lines", name="standard error",
                             line=dict(color="#7f7f7f", dash="dot")), 2, 1)
    fig.update_xaxes(type="log", **_log_ticks(1, mean.samples))
    fig.update_xaxes(title_text="samples k", row=2, col=1)
    gaps = as_numpy(mean.gap)[steps]
    positive = gaps[gaps > 0]
    if positive.size:  # p = 0 keeps everything: every gap is 0, which a log axis cannot show
        lo = min(float(positive.min()), float(as_numpy(mean.std_error)[-1]) or float(positive.min()))
        hi = max(float(gaps.max()), float(as_numpy(mean.std_error)[0]))
        fig.update_yaxes(type="log", row=2, col=1, **_log_ticks(lo, hi))
    finish(fig, height=560, title="E[dropout(x)] = x: the average of many masks")
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.18))
    return fig


@returns_figure
def activation_figure(trace, max_markers=MAX_MARKERS):
    """f and f' over a range, the inputs placed on both, saturated stretches (|f'| < slope) shaded.

    Softmax: the curve varies one entry (trace.curve.swept) with the others held, so only that
    entry sits on it.
    """
    c = trace.curve
    gx, gy, gdy = as_numpy(c.x), as_numpy(c.y), as_numpy(c.dy)
    if trace.dim is None:
        keep = evenly_spaced(trace.x.numel(), max_markers)
        px, py, pdy = (as_numpy(t).ravel()[keep] for t in (trace.x, trace.output, trace.derivative))
        flat = as_numpy(trace.saturated).ravel()[keep].astype(bool)
        what, xlabel, ylabel, slopelabel = "f", "x", "f(x)", "f'(x)"
    else:
        px, py, pdy = (as_numpy(t[c.swept]).reshape(1) for t in (trace.x, trace.output, trace.derivative))
        flat = np.abs(pdy) < c.slope
        e = list(c.swept)
        what, xlabel, ylabel, slopelabel = f"s{e}", f"x{e} (the other entries held)", f"s{e}", f"∂s{e}/∂x{e}"
    fig = Spec.subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.6, 0.4],
                        subplot_titles=(f"{trace.name}: {trace.formula}", f"slope: {trace.derivative_formula}"))
    fig.add_trace(go.Scatter(x=gx, y=gy, mode="lines", name=what, line=dict(color="#1f77b4", width=3)), 1, 1)
    fig.add_trace(go.Scatter(x=gx, y=gdy, mode="lines", name="slope", line=dict(color="#9467bd", width=2)), 2, 1)
    colors = np.where(flat, "#7f7f7f", HIGHLIGHT)
    fig.add_trace(go.Scatter(x=px, y=py, mode="markers", name="inputs", marker=dict(size=10, color=colors),
                             hovertemplate="x = %{x:.6g}<br>f(x) = %{y:.6g}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scatter(x=px, y=pdy, mode="markers", name="input slopes", marker=dict(size=9, color=colors),
                             hovertemplate="x = %{x:.6g}<br>f'(x) = %{y:.6g}<extra></extra>"), 2, 1)
    half = (gx[1] - gx[0]) / 2
    for lo, hi in c.saturated:  # half a step either side, so a run of one point is still visible
        for row in (1, 2):
            fig.add_vrect(x0=max(lo - half, gx[0]), x1=min(hi + half, gx[-1]), fillcolor=PADDING, line_width=0,
                          layer="below", row=row, col=1)
    fig.update_xaxes(title_text=xlabel, row=2, col=1)
    fig.update_yaxes(title_text=ylabel, row=1, col=1)
    fig.update_yaxes(title_text=slopelabel, row=2, col=1)
    return finish(fig, height=560, title=f"Shaded: saturated, |f'(x)| < {c.slope:g}, almost no gradient flows back")


@returns_figure
def gradient_figure(trace, labels=None, max_rows=MAX_SIDE):
    """Which rows of the table a backward pass moves: d(sum of output)/d(weight) per row.

    A looked-up row gets (how often it was looked up) in every entry; the padding row gets 0
    even when padding tokens are looked up, so training never moves it off its zeros.
    """
    grad = as_numpy(trace.row_gradient())                                    # (V, D)
    pad = trace.padding_idx
    looked = [int(v) for v in trace.looked_up]
    rows = sorted(set(looked + ([pad] if pad is not None else [])))[:max_rows]
    counts = {int(v): int((trace.indices == v).sum()) for v in rows}
    names = [_label(v, labels) for v in rows]
    fig = Spec([
        go.Bar(x=names, y=[counts[v] for v in rows], name="times looked up", marker_color="#9e9e9e"),
        go.Bar(x=names, y=grad[rows, 0], name="gradient", marker_color=ACCENT, texttemplate="%{y}",
               textposition="outside", cliponaxis=False,
               hovertemplate="%{x}: every entry of the row gets gradient %{y:g}<extra></extra>")])
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="row (token id)", type="category")
    fig.update_yaxes(title_text="count / gradient", dtick=1)
    cut = f" (first {max_rows} of {len(looked)} rows)" if len(looked) > max_rows else ""
    finish(fig, height=340, title="∂ sum(output) / ∂ row, after one backward pass" + cut)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    fig.update_layout(margin=dict(t=90))
    return fig


@returns_figure
def dropout_samples_figure(mean, max_frames=MAX_FRAMES, max_values=MAX_SIDE):
    """A player over the samples: sample k's output x · mask_k / (1 − p) on top, and below the
    running mean of the first k outputs as bars next to x (dashes); the bars close in on the dashes."""
    x = as_numpy(mean.x).ravel()
    shown = evenly_spaced(len(x), max_values)
    xs = x[shown]
    steps = sorted(set((np.geomspace(1, mean.samples, min(max_frames, mean.samples)).round().astype(int) - 1).tolist()))
    flat = as_numpy(mean.running_mean).reshape(mean.samples, -1)[:, shown]   # (K, shown)
    sample = lambda k: as_numpy(mean.sample(k)).ravel()[shown]                # noqa: E731
    lo, hi = symmetric_range(xs / (1 - mean.p))
    cells = list(range(len(shown)))
    note = _shown_note((len(shown), len(x), "values"))
    fig = Spec.subplots(rows=2, cols=1, row_heights=[0.3, 0.7], vertical_spacing=0.16,
                        subplot_titles=(f"one sample: x · mask / (1 − p), p = {mean.p:g} (0 = dropped){note}",
                                        "running mean of the samples so far (bars) vs x (dashes)"))
    fig.add_trace(heatmap(sample(0)[None, :], zmin=lo, zmax=hi, name="sample", text=len(shown) <= STRIP), 1, 1)
    fig.add_trace(go.Bar(x=cells, y=flat[0], name="running mean", marker_color=HIGHLIGHT,
                         hovertemplate="x[%{customdata}]: mean %{y:.4g}<extra></extra>", customdata=shown), 2, 1)
    fig.add_trace(go.Scatter(x=cells, y=xs, mode="markers", name="x", hovertemplate="x = %{y:.4g}<extra></extra>",
                             marker=dict(symbol="line-ew", size=34, line=dict(width=4, color="#7f7f7f"))), 2, 1)
    ymax = float(max(np.abs(flat).max(), np.abs(xs).max(), 1e-9)) * 1.1
    fig.update_yaxes(range=[min(0.0, float(flat.min()) * 1.1), ymax if flat.max() > 0 or xs.max() > 0 else 0.1],
                     title_text="value", row=2, col=1)
    _matrix_axes(fig, 1, 1, shown, [0], show_x=False)
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    xt = _ticks(len(shown))
    fig.update_xaxes(tickvals=xt, ticktext=[str(shown[t]) for t in xt], title_text="entry i", row=2, col=1)
    frames = [dict(name=str(k), traces=[0, 1],
                   data=[dict(type="heatmap", z=[sample(k).tolist()]), dict(type="bar", y=flat[k].tolist())],
                   layout=dict(title=dict(text=f"After {k + 1} sample(s): largest gap |mean − x| = "
                                               f"{float(mean.gap[k]):.3g}")))
              for k in steps]
    finish(fig, height=480, title=frames[0]["layout"]["title"]["text"])
    fig.update_layout(margin=dict(b=90))
    return add_player(fig, frames, [str(k + 1) for k in steps], duration=250, prefix="samples: ")


@returns_figure
def temperature_figure(sweep, temperature=None, max_lines=MAX_LINES):
    """softmax(x / T) for every entry as T varies (log scale); the chosen T marked.

    Low T: the largest score takes nearly all; high T: every share tends to 1/n.
    """
    t = as_numpy(sweep.temperatures)
    probs = as_numpy(sweep.probs)                                            # (P, n)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    fig = Spec()
    x = as_numpy(sweep.x)
    for c, i in enumerate(evenly_spaced(len(x), max_lines)):
        fig.add_trace(go.Scatter(x=t, y=probs[:, i], mode="lines", name=f"s[{i}] (x = {x[i]:.3g})",
                                 line=dict(color=palette[c % len(palette)], width=3),
                                 hovertemplate=f"s[{i}]" + " at T = %{x:.3g}: %{y:.4f}<extra></extra>"))
    fig.add_hline(y=1 / len(x), line_dash="dot", annotation_text=f"1/n = {1 / len(x):.3g}",
                  annotation_position="bottom right")
    if temperature is not None:
        fig.add_vline(x=temperature, line_dash="dash", line_color=HIGHLIGHT, annotation_text=f"T = {temperature:g}")
    fig.update_xaxes(type="log", title_text="temperature T", **_log_ticks(float(t[0]), float(t[-1])))
    fig.update_yaxes(range=[0, 1.02], title_text="softmax(x / T)_i")
    finish(fig, height=380, title="Temperature: low T sharpens toward the largest score, high T flattens to 1/n")
    fig.update_layout(showlegend=True)
    return fig


@returns_figure
def preview():
    """Four real activations over [−4, 4], ReLU's flat (saturated) half shaded: a home-page card."""
    import torch
    from torch import nn

    from ..activations import trace_activation
    x = torch.linspace(-4, 4, 9)
    fig = Spec()
    for module, color in ((nn.ReLU(), "#1f77b4"), (nn.GELU(), "#ff7f0e"), (nn.Sigmoid(), "#2ca02c"),
                          (nn.Tanh(), "#9467bd")):
        c = trace_activation(module, x, span=(-4, 4), points=81).curve
        fig.add_trace(go.Scatter(x=as_numpy(c.x), y=as_numpy(c.y), mode="lines", line=dict(color=color, width=3),
                                 name=type(module).__name__))
    fig.add_vrect(x0=-4, x1=0, fillcolor=PADDING, line_width=0, layer="below")
    return card(fig)


# -- helpers --------------------------------------------------------------------------------------

def _y(trace, n, j):
    """How the page names output j of row n: y[j] for an unbatched input, y[n, j] for a batch."""
    return f"y[{j}]" if trace.x.dim() == 1 else f"y[{n}, {j}]"


def _label(v, labels):
    return f"{v}: {labels[v]}" if labels is not None and v < len(labels) else str(v)


def _log_ticks(lo, hi):
    """Tick positions 1, 2, 5 × 10^k between lo and hi, written out in full (plotly's own log ticks
    label 0.2 and 20 both as a bare "2")."""
    lo = max(lo, 1e-12)
    hi = max(hi, lo)
    vals = [m * 10.0 ** e for e in range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
            for m in (1, 2, 5)]
    vals = [v for v in vals if lo / 1.0001 <= v <= hi * 1.0001] or [lo]
    return dict(tickvals=vals, ticktext=[f"{v:g}" for v in vals])


def _keep(indices, extra):
    return sorted(set(indices) | {extra})


def _shown_note(*parts):
    """" (showing 48 of 70 outputs, ...)" for each (shown, total, what) that is cut; "" if none is."""
    cut = [f"{shown} of {total} {what}" for shown, total, what in parts if shown < total]
    return f" (showing {', '.join(cut)})" if cut else ""


def _as_grid(t):
    """A tensor as a 2D numpy grid: leading dims flattened into rows, the last dim as columns."""
    a = as_numpy(t)
    if a.ndim == 0:
        return a.reshape(1, 1)
    return a.reshape(-1, a.shape[-1]) if a.shape[-1] else a.reshape(1, 0)


def _box(x0, x1, y0, y1, color, name):
    return go.Scatter(x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0], mode="lines", name=name,
                      line=dict(color=color, width=3), hoverinfo="skip")


def _shade(rows, width, name):
    """A grey overlay on whole rows of a heatmap drawn at positions 0..width-1."""
    z = np.full((max(rows) + 1, width), np.nan)
    z[rows] = 1.0
    return go.Heatmap(z=z, colorscale=[[0, PADDING], [1, PADDING]], showscale=False, hoverinfo="skip",
                      name=name, xgap=1, ygap=1)


def _shade_cells(cells, name):
    rows, cols = zip(*cells)
    z = np.full((max(rows) + 1, max(cols) + 1), np.nan)
    z[list(rows), list(cols)] = 1.0
    return go.Heatmap(z=z, colorscale=[[0, PADDING], [1, PADDING]], showscale=False, hoverinfo="skip",
                      name=name, xgap=1, ygap=1)


def _matrix_axes(fig, row, col, xs, ys, ytext=None, show_x=True):
    """Row 0 at the top; ticks at (up to about 16 of) the shown positions, labelled with real indices."""
    xt = _ticks(len(xs))
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=show_x, row=row, col=col,
                     tickvals=xt, ticktext=[str(xs[k]) for k in xt])
    labels = ytext if ytext is not None else [str(v) for v in ys]
    yt = list(range(len(ys))) if ytext is not None else _ticks(len(ys))
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, row=row, col=col,
                     tickvals=yt, ticktext=[labels[k] for k in yt])


def _ticks(n, most=16):
    return list(range(0, n, max(1, -(-n // most))))
