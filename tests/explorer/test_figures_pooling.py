"""Pooling and upsampling figures: frames, highlighted cells, labels and shapes they draw."""

import numpy as np
import pytest
import torch
from torch import nn

from explorer import ExplorerError
from explorer.figures import pooling as figures
from explorer.pooling import trace_pool, trace_upsample
from plotly_data import array

NOTES_F = torch.tensor([[[1.0, 3, 2, 4], [5, 2, 6, 8], [3, 1, 0, 7], [4, 2, 1, 9]]])
TWO_BY_TWO = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])


def _cells(trace_dict):
    """The (row, col) cells an outline trace draws: the centre of each None-separated square."""
    xs, ys = list(trace_dict["x"]) + [None], list(trace_dict["y"]) + [None]
    cells, square = set(), []
    for x, y in zip(xs, ys):
        if x is None:
            if square:
                cells.add((round(sum(p[1] for p in square[:4]) / 4), round(sum(p[0] for p in square[:4]) / 4)))
            square = []
        else:
            square.append((x, y))
    return cells


def _box(trace_dict):
    """(left, right, top, bottom) edges of what an outline trace draws."""
    xs = [v for v in trace_dict["x"] if v is not None]
    ys = [v for v in trace_dict["y"] if v is not None]
    return min(xs), max(xs), min(ys), max(ys)


def _frame(fig, name):
    frame = next(f for f in fig.frames if f["name"] == name)
    return frame, dict(zip(frame["traces"], frame["data"]))


def test_pool_stepper_outlines_window_winner_and_output_cell():
    t = trace_pool(nn.MaxPool2d(2), NOTES_F)
    fig = figures.pool_stepper(t)
    assert len(fig.frames) == 4
    frame, data = _frame(fig, "1")  # output (0, 1): window rows 0-1, cols 2-3, max 8 at (1, 3)
    output, window, kept, cell = frame["traces"]
    assert _box(data[window]) == (1.5, 3.5, -0.5, 1.5) and len(data[window]["x"]) == 5  # one rectangle
    assert _cells(data[kept]) == {(1, 3)}
    assert _cells(data[cell]) == {(0, 1)}
    assert np.count_nonzero(~np.isnan(array(data[output]["z"]))) == 2
    assert frame["layout"]["title"]["text"] == "y[0, 1] = max(2, 4, 6, 8) = 8 from x[1, 3] (index 7)"


def test_a_dilated_window_outlines_each_cell_it_reads():
    # kernel 2, dilation 2 on 5 cells: window 1 reads cells 1 and 3, with a gap at 2
    fig = figures.pool_stepper(trace_pool(nn.MaxPool1d(2, stride=1, dilation=2), torch.zeros(1, 5)))
    _, data = _frame(fig, "1")
    assert _cells(data[fig.frames[0]["traces"][1]]) == {(0, 1), (0, 3)}


def test_pool_stepper_caps_frames_and_keeps_first_and_last():
    t = trace_pool(nn.MaxPool2d(1), torch.zeros(1, 20, 20))
    fig = figures.pool_stepper(t, max_frames=50)
    names = [f["name"] for f in fig.frames]
    assert len(names) == 50 and names[0] == "0" and names[-1] == "399"
    assert len(fig.layout.sliders[0].steps) == 50


def test_pool_stepper_shades_padding_with_the_value_the_op_sees():
    # 4x4 input, kernel 3, stride 2, padding 1: windows start at -1 and 1 and reach index 3, so only the
    # padding row -1 and column -1 are used: 5 + 5 - 1 = 9 padding cells.
    fig = figures.pool_stepper(trace_pool(nn.MaxPool2d(3, stride=2, padding=1), torch.zeros(1, 4, 4)))
    shade = fig.data[1]
    assert list(np.asarray(shade.text).flatten()).count("−∞") == 9
    avg = figures.pool_stepper(trace_pool(nn.AvgPool2d(3, stride=2, padding=1), torch.zeros(1, 4, 4)))
    assert list(np.asarray(avg.data[1].text).flatten()).count("0") == 9
    # ceil_mode on 5 cells with windows of 2: the last window reaches index 5, past the input
    ceil = figures.pool_stepper(trace_pool(nn.MaxPool1d(2, ceil_mode=True), torch.zeros(1, 5)))
    assert list(array(ceil.data[1].z).flatten()[-1:]) == [0.0]  # drawn as outside


def test_pool_stepper_draws_1d_as_one_row():
    t = trace_pool(nn.MaxPool1d(3, stride=2, padding=1), torch.tensor([[0.0, 3, 0, 0, 7, 1, 0, 5, 0, 2]]))
    fig = figures.pool_stepper(t)
    # out = (10 + 2 - 2 - 1) // 2 + 1 = 5 windows starting at -1, 1, 3, 5, 7: the last ends at 9, so only
    # the left padding cell is ever read and the grid is -1..9
    assert array(fig.data[0].z).shape == (1, 11)
    assert array(fig.data[0].x).tolist() == list(range(-1, 10))
    assert len(fig.frames) == 5
    _, data = _frame(fig, "2")  # window of output 2 starts at 2*2 - 1 = 3: cells 3, 4, 5, max 7 at 4
    assert _cells(data[fig.frames[0]["traces"][2]]) == {(0, 4)}


def test_window_equations_show_sum_and_divisor():
    x = torch.tensor([[3.0, 6.0, 9.0]])
    counted = trace_pool(nn.AvgPool1d(3, stride=1, padding=1), x).window(0, 0, 0)
    assert figures.window_equation(counted) == "y[0] = (0 + 3 + 6) / 3 = 3 (padding counted)"
    skipped = trace_pool(nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False), x).window(0, 0, 0)
    assert figures.window_equation(skipped) == "y[0] = (3 + 6) / 2 = 4.5 (padding not counted)"
    override = trace_pool(nn.AvgPool2d(2, divisor_override=3), torch.ones(1, 2, 2)).window(0, 0, 0, 0)
    assert figures.window_equation(override) == "y[0, 0] = (1 + 1 + 1 + 1) / 3 = 1.333 (divisor_override)"
    lp = trace_pool(nn.LPPool1d(2, 2), torch.tensor([[3.0, 4.0]])).window(0, 0, 0)
    assert figures.window_equation(lp) == "y[0] = (3^2 + 4^2)^(1/2) = 5"


def test_window_map_shows_adaptive_windows_and_overlap():
    # 5 into 3: windows [0, 2), [1, 4), [3, 5); cells 1 and 3 are read twice
    fig = figures.window_map(trace_pool(nn.AdaptiveAvgPool1d(3), torch.zeros(1, 5)))
    z = array(fig.data[0].z)
    assert (z == 1.0).astype(int).tolist() == [[1, 1, 0, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 1, 1]]
    assert list(fig.layout.yaxis.ticktext) == ["0: [0, 2)", "1: [1, 4)", "2: [3, 5)"]
    assert "overlap" in fig.layout.title.text
    plain = figures.window_map(trace_pool(nn.MaxPool2d(2), torch.zeros(1, 4, 6)))
    assert len(plain.data) == 2 and "overlap" not in plain.layout.title.text


def test_unpool_view_outlines_where_values_go_back():
    fig = figures.unpool_view(trace_pool(nn.MaxPool2d(2), NOTES_F))
    kept, put_back = fig.data[3], fig.data[4]
    expected = {(1, 0), (1, 3), (3, 0), (3, 3)}  # 5, 8, 4 and 9 of the notes' map
    assert _cells(kept) == _cells(put_back) == expected
    assert np.asarray(fig.data[1].text)[0, 1] == "8<br>@7"
    assert array(fig.data[2].z).tolist()[1] == [5.0, 0.0, 0.0, 8.0]
    with pytest.raises(ExplorerError, match="remembers where"):
        figures.unpool_view(trace_pool(nn.AvgPool2d(2), NOTES_F))


def test_unpool_view_of_a_large_output_leaves_the_marks_to_hover():
    fig = figures.unpool_view(trace_pool(nn.MaxPool2d(1), torch.zeros(1, 17, 17)))  # 289 maxima > MAX_MARKED
    assert fig.data[3].x == () and fig.data[1].text is None
    assert array(fig.data[1].customdata).shape == (17, 17) and "too many to mark" in fig.layout.title.text


def test_upsample_figure_starts_on_the_chosen_cell():
    # bilinear 2 -> 4: output (1, 1) samples (0.25, 0.25) with weights 0.75*0.75, 0.75*0.25, 0.25*0.75, 0.25*0.25
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="bilinear"), TWO_BY_TWO)
    fig = figures.upsample_figure(t, pos=(1, 1))
    assert len(fig.frames) == 16
    assert fig.layout.sliders[0].active == 5
    neighbours, weights, point, cell = fig.data[2:6]
    assert _cells(neighbours) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert sorted(weights.text) == sorted(["×0.562", "×0.188", "×0.188", "×0.0625"])
    assert (tuple(point.x), tuple(point.y)) == ((0.25,), (0.25,))
    assert _cells(cell) == {(1, 1)}
    assert fig.layout.title.text.endswith("= 1.75")


def test_upsample_figure_caps_frames_but_keeps_the_chosen_cell():
    t = trace_upsample(nn.Upsample(scale_factor=4, mode="nearest"), torch.zeros(1, 1, 4, 4))
    fig = figures.upsample_figure(t, pos=(5, 7), max_frames=10)
    names = [int(f["name"]) for f in fig.frames]
    assert len(names) <= 10 and 5 * 16 + 7 in names


def test_upsample_figure_on_1d_marks_the_source_on_one_row():
    # linear 3 -> 6, align_corners: output 3 sits at 3 * 2/5 = 1.2, between cells 1 and 2
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="linear", align_corners=True), torch.zeros(1, 1, 3))
    fig = figures.upsample_figure(t, pos=(3,))
    point = fig.data[4]
    assert point.y == (figures.POINTER_ROW,) and abs(point.x[0] - 1.2) < 1e-6
    assert point.marker.symbol == "triangle-down"
    assert _cells(fig.data[2]) == {(0, 1), (0, 2)}


def test_bicubic_equation_adds_clamped_taps_per_cell():
    # 2 -> 4: output 0 sits at -0.25; its taps -2, -1, 0, 1 clamp to 0, 0, 0, 1, so two cells remain
    t = trace_upsample(nn.Upsample(size=(1, 4), mode="bicubic"), torch.tensor([[[[2.0, 6.0]]]]))
    text = figures.sources_equation(t.sources(0, 0, 0, 0))
    assert text.count("·") == 2 and text.startswith("y[0, 0]: source (0, -0.25)")


def test_align_corners_figure_places_output_samples():
    x = torch.tensor([[[1.0, 3.0]]])
    off = trace_upsample(nn.Upsample(scale_factor=2, mode="linear", align_corners=False), x)
    on = trace_upsample(nn.Upsample(scale_factor=2, mode="linear", align_corners=True), x)
    fig = figures.align_corners_figure(off, on)
    samples = [tr for tr in fig.data if tr.type == "scatter" and tr.mode == "markers+text"]
    # False: (i + 0.5)*0.5 - 0.5 = -0.25, 0.25, 0.75, 1.25; True: i*(2-1)/(4-1) = 0, 1/3, 2/3, 1
    assert np.allclose(samples[0].x, [-0.25, 0.25, 0.75, 1.25])
    assert np.allclose(samples[1].x, [0, 1 / 3, 2 / 3, 1])
    with pytest.raises(ExplorerError, match="align_corners=False"):
        figures.align_corners_figure(on, off)


def test_comparison_figure_titles_carry_shapes():
    x = torch.zeros(1, 1, 8, 8)
    outputs = {"max pool": torch.zeros(1, 1, 4, 4), "conv stride 2": torch.zeros(1, 1, 4, 4)}
    fig = figures.comparison_figure(x, outputs)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["input<br>(1, 1, 8, 8)", "max pool<br>(1, 1, 4, 4)", "conv stride 2<br>(1, 1, 4, 4)"]
    assert [array(tr.z).shape for tr in fig.data] == [(8, 8), (4, 4), (4, 4)]


def test_window_story_names_the_count_actually_used():
    # [3, 6, 9], kernel 3, padding 1: window 0 covers (pad, 3, 6), sum 9
    x = torch.tensor([[3.0, 6.0, 9.0]])
    t = trace_pool(nn.AvgPool1d(3, stride=1, padding=1), x)
    story = figures.window_story(t, t.window(0, 0, 0))
    assert "divided by **3**: the 2 input cell(s) and the 1 padding cell(s)" in story and "**3**." in story
    t = trace_pool(nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False), x)
    story = figures.window_story(t, t.window(0, 0, 0))
    assert "divided by **2**, the input cells only" in story and "9 / 2 = **4.5**" in story
    t = trace_pool(nn.AvgPool2d(2, divisor_override=3), torch.ones(1, 2, 2))
    assert "divisor_override = **3** instead of the 4 cell(s)" in figures.window_story(t, t.window(0, 0, 0, 0))


def test_window_story_of_max_gives_the_flat_index_and_ties():
    t = trace_pool(nn.MaxPool2d(2), NOTES_F)
    story = figures.window_story(t, t.window(0, 0, 1, 1))  # [[0, 7], [1, 9]]: 9 at (3, 3) = 3*4 + 3
    assert "is **9**, at x[3, 3]" in story and "3·4 + 3 = 15" in story
    tied = trace_pool(nn.MaxPool2d(2, padding=1), torch.ones(1, 2, 2))
    story = figures.window_story(tied, tied.window(0, 0, 1, 1))  # cells (1,1) and padding: one real cell
    assert "−∞" in story
    ones = trace_pool(nn.MaxPool2d(2), torch.ones(1, 2, 2))
    assert "the first of 4 equal maxima" in figures.window_story(ones, ones.window(0, 0, 0, 0))


def test_window_story_of_lp_explains_the_edge_scaling_and_nan():
    # kernel 3, ceil_mode on [1..5]: the last window holds 4 and 5, i.e. 2 of 3 cells: (41 / (2/3))^(1/2)
    t = trace_pool(nn.LPPool1d(2, 3, ceil_mode=True), torch.arange(1.0, 6.0).view(1, 5))
    story = figures.window_story(t, t.window(0, 0, 1))
    assert "add up to **41**" in story and "2 of the kernel's 3 cells" in story and "tap(s) past the padding" in story
    neg = trace_pool(nn.LPPool1d(3, 2), torch.tensor([[-2.0, 1.0]]))  # (-8 + 1)^(1/3): no real root in torch
    assert "torch returns **nan**" in figures.window_story(neg, neg.window(0, 0, 0))


def test_a_large_output_is_drawn_whole_and_frames_carry_only_outlines():
    x = torch.arange(1024.0).view(1, 32, 32)
    fig = figures.pool_stepper(trace_pool(nn.MaxPool2d(1), x))  # 1024 outputs, more than REVEAL_CELLS
    assert len(fig.frames) == figures.MAX_FRAMES
    output = next(d for d in fig.data if d.name == "output")
    assert array(output.z).tolist() == x[0].tolist()
    assert all(len(f["data"]) == 3 and all(d["type"] == "scatter" for d in f["data"]) for f in fig.frames)
    small = figures.pool_stepper(trace_pool(nn.MaxPool2d(1), x[:, :12, :12]))  # 144 outputs: filled in step by step
    assert np.isnan(array(next(d for d in small.data if d.name == "output").z)).sum() == 143


def test_upsample_weights_are_written_in_a_colour_that_reads_on_their_cell():
    # input [[0, 10]]: cell 1 is at the top of the colour range (deep red, white text), cell 0 pale (dark text)
    t = trace_upsample(nn.Upsample(size=(1, 4), mode="bilinear"), torch.tensor([[[[0.0, 10.0]]]]))
    fig = figures.upsample_figure(t, pos=(0, 1))  # source 0.25: both cells, weights 0.75 and 0.25
    weights = fig.data[3]
    colours = dict(zip(weights.x, weights.textfont.color))
    assert colours == {0: figures.DARK_INK, 1: "white"}


def test_preview_is_small_and_drawn_from_the_real_pool():
    fig = figures.preview()
    assert fig.layout.height == 150
    assert array(fig.data[2].z).tolist() == [[5.0, 8.0], [4.0, 9.0]]
    assert _cells(fig.data[1]) == {(1, 0), (1, 3), (3, 0), (3, 3)}
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis2.visible is False
