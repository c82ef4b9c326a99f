"""A Spec must give the very figure plotly's own Figure API gives for the same calls."""
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from explorer.figures import spec as spec_module
from explorer.figures.spec import Spec


def as_json(fig):
    d = json.loads(pio.to_json(fig, validate=False))
    d["layout"].pop("template", None)
    return d


def both(build, **grid):
    """`build(fig)` applied to plotly's figure and to a Spec, as JSON."""
    real = make_subplots(**grid) if grid else go.Figure()
    build(real)
    ours = Spec.subplots(**grid) if grid else Spec()
    build(ours)
    return as_json(real), as_json(ours.figure())


def grid_calls(fig):
    z = np.arange(6.0).reshape(2, 3)
    fig.add_trace(go.Heatmap(z=z, colorscale="RdBu_r", texttemplate="%{z:.2f}"), 1, 1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[2, 3], mode="lines", line=dict(color="red")), 2, 2)
    fig.add_trace(go.Heatmap(z=z.T), row=1, col=3)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False, row=1, col=1)
    fig.update_xaxes(title_text="keys", tickangle=-45, dtick=1, row=1, col=1)
    fig.update_xaxes(dtick=None, row=1, col=1)
    fig.update_yaxes(title="a string title", row=2, col=2)
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_layout(font=dict(family="Inter", size=14), margin=dict(l=10, r=10, t=40, b=10),
                      title="Grid", showlegend=False, height=400, title_font_size=18)
    fig.update_layout(height=None, plot_bgcolor="rgba(0,0,0,0)", legend_title_text="key")
    fig.add_annotation(x=1, y=0, text="<b>note</b>", showarrow=False, font=dict(size=12), row=2, col=2)
    fig.add_annotation(x=0, y=0.5, xref="paper", yref="paper", text="paper", showarrow=False)
    fig.add_shape(type="rect", x0=-0.5, x1=2.5, y0=0.5, y1=1.5, line=dict(color="orange", width=3), row=1, col=1)
    fig.add_hline(y=1.5, line_dash="dash", annotation_text="uniform", annotation_position="bottom left",
                  row=2, col=2)
    fig.add_hline(y=0, line_dash="dot", annotation_text="one key", annotation_position="top right", row=2, col=2)
    fig.add_vline(x=0.5, line_color="green", line_width=2, row=2, col=2, annotation_text="m",
                  annotation_font_size=12)
    fig.add_vrect(x0=0.2, x1=0.4, fillcolor="grey", line_width=0, layer="below", row=2, col=2)
    fig.update_annotations(font_size=13)


def test_a_grid_of_subplots_matches_plotly():
    real, ours = both(grid_calls, rows=2, cols=3, horizontal_spacing=0.06, vertical_spacing=0.16,
                      subplot_titles=["Q (3×4)", "Kᵀ", "", "weights", "V", "out"])
    assert ours == real


@pytest.mark.parametrize("grid", [
    dict(rows=2, cols=2, specs=[[{"colspan": 2}, None], [{}, {}]], row_heights=[0.35, 0.65]),
    dict(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.1, subplot_titles=("a", "b", "c")),
    dict(rows=1, cols=3, column_widths=[0.45, 0.2, 0.35]),
])
def test_other_grids_match_plotly(grid):
    def build(fig):
        for r, c in [(1, 1), (grid["rows"], grid["cols"])]:
            fig.add_trace(go.Scatter(x=[0, 1], y=[r, c]), r, c)
            fig.update_yaxes(range=[0, 3], row=r, col=c)
        fig.update_xaxes(title_text="time step", row=grid["rows"])
        fig.add_hline(y=0.5, line_dash="dot")   # every subplot that holds a trace, as plotly does

    real, ours = both(build, **grid)
    assert ours == real


def test_a_single_plot_matches_plotly():
    def build(fig):
        fig.add_trace(go.Bar(x=["a", "b"], y=[1, 2], name="bars"))
        fig.add_hline(y=1.5, line_dash="dash", annotation_text="max_norm = 1.5", annotation_position="top left")
        fig.add_vline(x=0.5, line_dash="dash", annotation_text="T = 1")
        fig.add_vrect(x0=-4, x1=0, fillcolor="grey", line_width=0, layer="below")
        fig.update_xaxes(type="log", title_text="temperature T")
        fig.update_yaxes(range=[0, 1.02], title_text="softmax")
        fig.update_layout(barmode="group", margin=dict(l=0, r=0, t=0, b=0))

    real, ours = both(build)
    assert ours == real


def test_subplot_titles_are_not_shared_between_figures_of_one_grid_shape():
    a = Spec.subplots(rows=1, cols=2, subplot_titles=["first", "second"])
    b = Spec.subplots(rows=1, cols=2, subplot_titles=["third", "fourth"])
    a.update_annotations(font_size=20)
    assert [x["text"] for x in b.layout["annotations"]] == ["third", "fourth"]
    assert b.layout["annotations"][0]["font"] == {"size": 16}   # make_subplots' own title size


def test_a_misspelt_property_fails_when_validating():
    fig = Spec().update_layout(heigth=300)
    with pytest.raises(ValueError):
        fig.figure()


def production(fig_spec, monkeypatch):
    monkeypatch.setattr(spec_module, "VALIDATE", False)
    return fig_spec.figure()


def test_a_built_figure_hands_over_its_dict_and_reads_like_the_figure_plotly_makes(monkeypatch):
    s = Spec.subplots(rows=1, cols=2)
    grid_calls_small(s)
    built = production(s, monkeypatch)
    assert isinstance(built, go.Figure)
    real = go.Figure(dict(data=s.data, layout=s.layout))
    sent = built.to_plotly_json()
    assert "_made" not in built.__dict__                    # handed over without plotly's object tree
    assert sent["data"][0]["z"] == real.to_dict()["data"][0]["z"]   # arrays typed (base64) as plotly sends them
    assert json.loads(pio.to_json(sent, validate=False)) == as_json(real)
    assert built.data[0].type == "heatmap" and np.array_equal(built.data[0].z, real.data[0].z)
    assert built.layout.xaxis2.title.text == real.layout.xaxis2.title.text == "keys"
    built.update_xaxes(title_text="changed", row=1, col=2)  # row/col still work: the grid came along
    assert built.to_plotly_json()["layout"]["xaxis2"]["title"]["text"] == "changed"
    assert as_json(built)["layout"]["xaxis2"]["title"]["text"] == "changed"


def grid_calls_small(fig):
    fig.add_trace(go.Heatmap(z=np.eye(3)), 1, 1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0]), 1, 2)
    fig.update_xaxes(title_text="keys", row=1, col=2)
