"""Margins asked for up front: close to what the browser will need, never less than the figure asked."""
import copy

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures import margins
from explorer.figures.spec import Spec, _typed
from explorer.figures.theme import add_player

FONT = 14
PX_PER_CHAR = FONT * 0.6    # the estimate's average glyph: 8.4 px at 14 px
GAP = 19                    # tick gap plus plotly's pad, between the labels and the margin's edge


def layout_of(fig):
    return fig.to_plotly_json() if isinstance(fig, go.Figure) else fig


def reserved(fig):
    spec = layout_of(fig)
    spec["layout"].pop("template", None)
    return margins.reserve(spec)["layout"]["margin"]


def thin(fig):
    return fig.update_layout(font=dict(size=FONT), margin=dict(l=10, r=10, t=40, b=10))


def test_the_left_margin_fits_the_longest_category_label():
    fig = thin(go.Figure(go.Bar(x=[1, 2, 3], y=["a", "longer one", "mid"], orientation="h")))
    # "longer one" is 10 characters
    assert reserved(fig)["l"] == np.ceil(10 * PX_PER_CHAR + GAP)


def test_an_axis_title_needs_a_line_more():
    plain = thin(go.Figure(go.Bar(x=[1, 2], y=["ab", "cd"], orientation="h")))
    titled = thin(go.Figure(go.Bar(x=[1, 2], y=["ab", "cd"], orientation="h"))).update_yaxes(title_text="token")
    assert reserved(titled)["l"] - reserved(plain)["l"] >= FONT


def test_numeric_labels_are_estimated_from_the_range_of_the_data():
    # ticks on 0..1000 step by 200: the widest label is "1000", four characters
    wide = thin(go.Figure(go.Scatter(x=[0, 1], y=[0, 1000])))
    # on 0..4 they step by 1: one character
    narrow = thin(go.Figure(go.Scatter(x=[0, 1], y=[0, 4])))
    assert reserved(wide)["l"] == np.ceil(4 * PX_PER_CHAR + GAP)
    assert reserved(narrow)["l"] == np.ceil(1 * PX_PER_CHAR + GAP)


def test_a_heatmap_without_coordinates_is_labelled_by_its_row_numbers():
    # 12 rows: labels 0..11, two characters at most
    fig = thin(go.Figure(go.Heatmap(z=np.zeros((12, 3)), showscale=False)))
    assert reserved(fig)["l"] == np.ceil(2 * PX_PER_CHAR + GAP)


def test_typed_arrays_are_read_as_numbers():
    # plotly sends numpy arrays base64-encoded: the estimate must read them as the numbers they hold
    fig = thin(go.Figure(go.Scatter(x=np.array([0.0, 1.0]), y=np.array([0.0, 250.0]))))
    typed = _typed(fig.to_plotly_json())
    assert "bdata" in typed["data"][0]["y"]
    typed["layout"].pop("template", None)
    assert margins.reserve(typed)["layout"]["margin"]["l"] == np.ceil(3 * PX_PER_CHAR + GAP)   # "250"


def test_only_axes_on_the_paper_edge_push_the_margin():
    fig = thin(make_subplots(rows=1, cols=2))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 4]), 1, 1)
    fig.add_trace(go.Bar(x=[1, 2], y=["a very long label indeed", "b"], orientation="h"), 1, 2)
    # the long labels sit between the two plots: only the left plot's one-character labels count
    assert reserved(fig)["l"] == np.ceil(1 * PX_PER_CHAR + GAP)


def test_hidden_tick_labels_need_no_room():
    fig = thin(go.Figure(go.Bar(x=[1, 2], y=["long label", "b"], orientation="h")))
    fig.update_yaxes(showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    assert reserved(fig) == {"l": 10, "r": 10, "t": 40, "b": 10}


def test_rotated_labels_need_more_height_than_flat_ones():
    flat = thin(go.Figure(go.Bar(x=["sentence", "token"], y=[1, 2])))
    turned = thin(go.Figure(go.Bar(x=["sentence", "token"], y=[1, 2]))).update_xaxes(tickangle=-45)
    assert reserved(flat)["b"] == np.ceil(FONT * 1.3 + GAP)
    # "sentence": 8 characters, turned by 45 degrees
    assert reserved(turned)["b"] == np.ceil(8 * PX_PER_CHAR * np.sqrt(0.5) + FONT * 1.3 * np.sqrt(0.5) + GAP)


def test_a_colour_bar_needs_room_on_the_right_unless_it_stands_inside():
    outside = thin(go.Figure(go.Heatmap(z=[[0, 1]], zmin=-1, zmax=1, showscale=True)))
    inside = thin(go.Figure(go.Heatmap(z=[[0, 1]], zmin=-1, zmax=1, showscale=True, colorbar=dict(x=0.9))))
    assert reserved(outside)["r"] > 30 + 2 * PX_PER_CHAR     # the bar's 30 px and "-1"
    assert reserved(inside)["r"] == 10


def test_a_player_slider_under_the_plot_needs_room_below():
    fig = thin(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])))
    fig.update_layout(sliders=[dict(steps=[dict(label="1")], y=0, yanchor="top", pad=dict(t=40))])
    # below its pad: the current value's line, the rail and the step labels, more than 60 px
    assert reserved(fig)["b"] > 40 + 60


def test_a_legend_right_of_the_plot_fits_its_longest_name():
    short = thin(go.Figure(go.Scatter(x=[0], y=[0], name="ab"))).update_layout(showlegend=True)
    long = thin(go.Figure(go.Scatter(x=[0], y=[0], name="a" * 20))).update_layout(showlegend=True)
    # 18 characters more, rounded up to whole pixels
    assert abs(reserved(long)["r"] - reserved(short)["r"] - 18 * PX_PER_CHAR) <= 1


def test_margins_are_never_made_smaller_and_the_given_figure_is_not_changed():
    fig = go.Figure(go.Bar(x=[1], y=["x"], orientation="h")).update_layout(margin=dict(l=300, r=10, t=40, b=200))
    spec = fig.to_plotly_json()
    before = copy.deepcopy(spec)
    out = margins.reserve(spec)
    assert out["layout"]["margin"]["l"] == 300 and out["layout"]["margin"]["b"] == 200
    assert spec["layout"] == before["layout"]


def test_a_figure_that_asks_for_enough_is_returned_as_is():
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1])).update_layout(margin=dict(l=200, r=200, t=200, b=200))
    spec = fig.to_plotly_json()
    assert margins.reserve(spec) is spec


def _player(title):
    fig = Spec(go.Scatter(x=[0, 1], y=[0, 1]))
    if title:
        fig.update_xaxes(title_text=title)
    frames = [dict(name=str(i), traces=[0], data=[dict(type="scatter", x=[0, 1], y=[i, i])]) for i in range(3)]
    return add_player(fig, frames, ["a", "b", "c"]).to_plotly_json()["layout"]


def test_a_player_under_an_axis_title_starts_a_title_line_lower():
    plain, titled = _player(None), _player("batches seen")
    # a 14 px title is drawn about 30 px below the tick labels: slider and buttons start below it
    assert titled["sliders"][0]["pad"]["t"] - plain["sliders"][0]["pad"]["t"] >= 14 * 1.3 + 10
    assert titled["updatemenus"][0]["pad"]["t"] - plain["updatemenus"][0]["pad"]["t"] >= 14 * 1.3 + 10


def test_a_label_at_the_right_end_of_a_line_chart_gets_half_its_width_there():
    # a line from step 1 to step 300: autorange ends on 300, and plotly centres that tick's label on
    # the plot area's edge; "300" is three characters, half of them past the edge
    line = thin(go.Figure(go.Scatter(x=[1, 300], y=[0.5, 0.2], mode="lines")))
    assert reserved(line)["r"] == np.ceil(1.5 * PX_PER_CHAR + 12)   # and the pad plotly keeps beyond it
    # bars and heatmaps are padded half a cell, categories sit mid-cell: nothing reaches the edge
    bars = thin(go.Figure(go.Bar(x=[1, 300], y=[0.5, 0.2])))
    cells = thin(go.Figure(go.Heatmap(z=[[0, 1, 2]], showscale=False)))
    words = thin(go.Figure(go.Scatter(x=["one", "two hundred"], y=[0, 1])))
    assert reserved(bars)["r"] == reserved(cells)["r"] == reserved(words)["r"] == 10
    # a given range ending on a whole number may have its label there too; ending half a cell out not
    ranged = thin(go.Figure(go.Heatmap(z=[[0, 1, 2]], showscale=False))).update_xaxes(range=[-0.5, 2.5])
    assert reserved(ranged)["r"] == 10
    assert reserved(thin(go.Figure(go.Heatmap(z=[[0, 1, 2]], showscale=False))).update_xaxes(range=[0, 2]))["r"] > 10
