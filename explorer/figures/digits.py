"""Figures for the digits CNN: the whole network at a glance, learned filters, training curve."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import ACCENT, SEQUENTIAL, as_numpy, finish, heatmap, outline_trace

MAP_STAGES = ("conv1", "pool1", "conv2", "pool2")
STAGE_TITLES = {"conv1": "conv1+ReLU", "pool1": "pool1", "conv2": "conv2+ReLU", "pool2": "pool2"}


def network(acts, probs, selected=None):
    """Input digit, every channel's feature map at every stage, and the class probabilities.

    `acts` is explorer.digits.activations(...); conv stages are drawn after their ReLU (what the
    next stage sees). `selected` = (stage, channel, row, col) outlines one cell.
    """
    by_name = {name: as_numpy(out[0]) for name, _, out in acts}
    shown = {"conv1": by_name["relu1"], "pool1": by_name["pool1"],
             "conv2": by_name["relu2"], "pool2": by_name["pool2"]}
    cols = max(m.shape[0] for m in shown.values())
    rows = 2 + len(MAP_STAGES)
    specs = [[{"colspan": 3}, None, None] + [None] * (cols - 3)]
    specs += [[{} for _ in range(cols)] for _ in MAP_STAGES]
    specs += [[{"colspan": cols}] + [None] * (cols - 1)]
    titles = ["input"] + [STAGE_TITLES[s] if c == 0 else "" for s in MAP_STAGES for c in range(cols)]
    titles += ["class probabilities"]
    titles = [t for t in titles]
    fig = make_subplots(rows=rows, cols=cols, specs=specs, vertical_spacing=0.045, horizontal_spacing=0.008,
                        subplot_titles=_titles_for(specs, titles), row_heights=[1.6, 1, 1, 1, 1, 1.1])
    image = as_numpy(acts[0][1][0, 0])
    fig.add_trace(heatmap(image, colorscale="Greys", zmin=0, zmax=1, text=False, name="input"), 1, 1)
    for r, stage in enumerate(MAP_STAGES, start=2):
        maps = shown[stage]
        top = float(maps.max()) or 1.0
        for c in range(maps.shape[0]):
            fig.add_trace(heatmap(maps[c], colorscale=SEQUENTIAL, zmin=0, zmax=top, text=False,
                                  name=f"{stage} ch {c}", hover="activation"), r, c + 1)
            fig.add_trace(_click_targets(stage, c, maps[c]), r, c + 1)
            if selected and selected[0] == stage and selected[1] == c:
                fig.add_trace(outline_trace([(selected[2], selected[3])], color=ACCENT), r, c + 1)
    p = as_numpy(probs)
    fig.add_trace(go.Bar(x=[str(i) for i in range(len(p))], y=p, marker_color=[
        ACCENT if i == int(p.argmax()) else "#888" for i in range(len(p))],
        text=[f"{v:.2f}" for v in p], textposition="outside", name="probabilities"), rows, 1)
    fig.update_yaxes(range=[0, 1.15], row=rows, col=1, title_text="probability")
    for r in range(1, rows):
        for c in range(1, cols + 1):
            if fig.get_subplot(r, c) is None:
                continue
            x_name = fig.get_subplot(r, c).xaxis.plotly_name.replace("axis", "")
            fig.update_xaxes(visible=False, constrain="domain", row=r, col=c)
            fig.update_yaxes(visible=False, autorange="reversed", scaleanchor=x_name, constrain="domain",
                             row=r, col=c)
    fig.update_annotations(font_size=13, xanchor="left")
    for a in fig.layout.annotations:   # titles start at their map's left edge instead of centring on it
        a.x = a.x - 0.5 / cols if a.text not in ("input", "class probabilities") else a.x
    return finish(fig, height=760)


def _click_targets(stage, channel, fmap):
    """Invisible markers on every cell: heatmaps cannot be clicked, markers can, and each carries
    (stage, channel, row, col) for the page."""
    rows, cols = np.mgrid[0:fmap.shape[0], 0:fmap.shape[1]]
    return go.Scatter(x=cols.ravel(), y=rows.ravel(), mode="markers", hoverinfo="none",
                      marker=dict(size=10, symbol="square", opacity=0.01),
                      customdata=[[stage, channel, int(r), int(c)] for r, c in zip(rows.ravel(), cols.ravel())],
                      name=f"{stage} ch {channel} cells")


def _titles_for(specs, titles):
    """make_subplots wants one title per real cell, row by row."""
    out, it = [], iter(titles)
    for row in specs:
        for cell in row:
            if cell is not None:
                out.append(next(it, ""))
    return out


def filters(trained, layer="conv1"):
    """A layer's kernels before and after training, side by side (first input channel)."""
    before = as_numpy(trained.initial[f"{layer}.weight"])[:, 0]
    after = as_numpy(getattr(trained.model, layer).weight)[:, 0]
    n = before.shape[0]
    fig = make_subplots(rows=2, cols=n, horizontal_spacing=0.01, vertical_spacing=0.12,
                        subplot_titles=[str(i) for i in range(n)] + [""] * n)
    for i in range(n):
        for r, w in ((1, before[i]), (2, after[i])):
            m = float(np.abs(w).max()) or 1.0
            fig.add_trace(heatmap(w, zmin=-m, zmax=m, text=False), r, i + 1)
            fig.update_xaxes(visible=False, row=r, col=i + 1, constrain="domain")
            fig.update_yaxes(visible=False, autorange="reversed", row=r, col=i + 1, constrain="domain",
                             scaleanchor=fig.get_subplot(r, i + 1).xaxis.plotly_name.replace("axis", ""))
    fig.update_yaxes(visible=True, showticklabels=False, title_text="before", row=1, col=1)
    fig.update_yaxes(visible=True, showticklabels=False, title_text="after", row=2, col=1)
    return finish(fig, height=260)


def losses(trained):
    fig = go.Figure(go.Scatter(x=list(range(1, len(trained.losses) + 1)), y=trained.losses, mode="lines+markers"))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="mean cross-entropy")
    return finish(fig, height=260, title=f"Training loss (held-out accuracy {trained.test_accuracy:.1%})")
