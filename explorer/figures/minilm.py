"""The model view of a pretrained transformer: every layer's every head as a thumbnail."""
from plotly.subplots import make_subplots

from .theme import SEQUENTIAL, as_numpy, finish, heatmap, outline_trace


def model_view(attentions, selected=None):
    """A layers x heads grid of attention maps (rows = layers); `selected` = (layer, head) outlined."""
    layers, heads = len(attentions), attentions[0].shape[1]
    fig = make_subplots(rows=layers, cols=heads, horizontal_spacing=0.006, vertical_spacing=0.012,
                        row_titles=[f"layer {l}" for l in range(layers)],
                        column_titles=[f"head {h}" for h in range(heads)])
    for l, att in enumerate(attentions):
        a = as_numpy(att[0])                                                   # (heads, L, L)
        L = a.shape[-1]
        for h in range(heads):
            fig.add_trace(heatmap(a[h], colorscale=SEQUENTIAL, zmin=0, zmax=1, text=False, xgap=0, ygap=0,
                                  name=f"layer {l} head {h}"), l + 1, h + 1)
            if selected == (l, h):  # one square around the whole map: a cell of size L centred on it
                fig.add_trace(outline_trace([((L - 1) / 2, (L - 1) / 2)], pad=L / 2), l + 1, h + 1)
            fig.update_xaxes(visible=False, row=l + 1, col=h + 1)
            fig.update_yaxes(visible=False, autorange="reversed", row=l + 1, col=h + 1)
    fig.update_annotations(font_size=11)
    return finish(fig, height=90 * layers + 60)
