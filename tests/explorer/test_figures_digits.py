"""Digits CNN figures draw what they claim: every map is the network's activation, the outlines sit on
the selected cell and its window, the bars are the probabilities, a click carries its cell."""

import numpy as np
import pytest

from explorer import digits
from explorer.figures import conv as conv_figures
from explorer.figures import digits as fd
from plotly_data import array


@pytest.fixture(scope="module")
def trained():
    return digits.train(digits.TrainConfig(size=8, seed=0, epochs=3))


@pytest.fixture(scope="module")
def image():
    return digits.load_data(8).test_x[4]


def _trace(fig, name):
    return next(d for d in fig.data if d.name == name)


def test_every_map_is_the_activation_it_names(trained, image):
    acts = digits.activations(trained.model, image)
    probs = digits.predict(trained.model, image)
    fig = fd.network(acts, probs)
    out = {name: o[0] for name, _, o in acts}
    heatmaps = [d for d in fig.data if d.type == "heatmap"]
    assert len(heatmaps) == 1 + 8 + 8 + 16 + 16
    assert np.allclose(array(_trace(fig, "input").z), image[0].numpy())
    for stage, drawn in (("conv1", "relu1"), ("pool1", "pool1"), ("conv2", "relu2"), ("pool2", "pool2")):
        for c in range(out[drawn].shape[0]):
            assert np.allclose(array(_trace(fig, f"{stage} channel {c}").z), out[drawn][c].numpy(), atol=1e-6)
    bars = _trace(fig, "probabilities")
    assert np.allclose(bars.x, probs.numpy(), atol=1e-6)
    assert list(bars.y) == [str(k) for k in range(10)]


def _extent(heatmap):
    """(left, right, top, bottom) edges of a heatmap drawn with unit cells from (x0, y0)."""
    h, w = array(heatmap.z).shape
    return heatmap.x0 - 0.5, heatmap.x0 + w - 0.5, heatmap.y0 - 0.5, heatmap.y0 + h - 0.5


def test_the_maps_of_a_stage_sit_side_by_side_without_overlap_inside_their_axes(trained, image):
    fig = fd.network(digits.activations(trained.model, image), digits.predict(trained.model, image))
    for stage, channels in (("conv1", 8), ("pool1", 8), ("conv2", 16), ("pool2", 16)):
        maps = [_trace(fig, f"{stage} channel {c}") for c in range(channels)]
        assert {m.xaxis for m in maps} == {maps[0].xaxis}          # one pair of axes per stage
        boxes = [_extent(m) for m in maps]
        for i, (l1, r1, t1, b1) in enumerate(boxes):
            for l2, r2, t2, b2 in boxes[i + 1:]:
                assert r1 < l2 or r2 < l1 or b1 < t2 or b2 < t1
        xaxis = fig.layout[maps[0].xaxis.replace("x", "xaxis")]
        yaxis = fig.layout[maps[0].yaxis.replace("y", "yaxis")]
        assert min(b[0] for b in boxes) >= xaxis.range[0] and max(b[1] for b in boxes) <= xaxis.range[1]
        assert min(b[2] for b in boxes) >= yaxis.range[1] and max(b[3] for b in boxes) <= yaxis.range[0]
    axes = {d.xaxis for d in fig.data}
    assert len(axes) == 6                     # input, four stages, probabilities: not one plot per map


def test_cells_carry_stage_channel_row_col_for_a_click(trained, image):
    acts = digits.activations(trained.model, image)
    fig = fd.network(acts, digits.predict(trained.model, image))
    cells = _trace(fig, "conv2 cells")
    assert len(cells.customdata) == 16 * 16             # 16 maps of 4x4 at 8x8 input
    k = next(i for i, d in enumerate(cells.customdata) if tuple(d[:4]) == ("conv2", 5, 1, 2))
    relu2 = dict((n, o) for n, _, o in acts)["relu2"]
    assert cells.customdata[k][4] == pytest.approx(float(relu2[0, 5, 1, 2]), abs=1e-4)
    heatmap = _trace(fig, "conv2 channel 5")
    assert cells.xaxis == heatmap.xaxis
    assert (cells.x[k], cells.y[k]) == (heatmap.x0 + 2, heatmap.y0 + 1)   # on column 2, row 1 of its map


def test_the_selected_cell_and_its_window_are_outlined_on_the_right_maps(trained, image):
    acts = digits.activations(trained.model, image)
    trace = digits.stage_trace(trained.model, image, "conv2")
    channels, cells = digits.window_cells(trace, 3, 2, 1)
    fig = fd.network(acts, digits.predict(trained.model, image), ("conv2", 3, 2, 1), ("pool1", channels, cells))
    selected, heatmap = _trace(fig, "selected"), _trace(fig, "conv2 channel 3")
    assert selected.xaxis == heatmap.xaxis
    xs = [v for v in selected.x if v is not None]
    ys = [v for v in selected.y if v is not None]
    x0, y0 = heatmap.x0, heatmap.y0
    assert (min(xs), max(xs), min(ys), max(ys)) == (x0 + 0.5, x0 + 1.5, y0 + 1.5, y0 + 2.5)   # around (2, 1)
    windows = [d for d in fig.data if d.name == "window"]
    assert len(windows) == 8                          # one on each pooled map conv2 reads
    for c, window in enumerate(windows):
        pooled = _trace(fig, f"pool1 channel {c}")
        assert window.xaxis == pooled.xaxis
        wx = [v for v in window.x if v is not None]
        assert (min(wx), max(wx)) == (pooled.x0 - 0.5, pooled.x0 + 2.5)   # columns 0..2 of the 4x4 map


def test_a_conv1_window_is_outlined_on_the_input(trained, image):
    acts = digits.activations(trained.model, image)
    trace = digits.stage_trace(trained.model, image, "conv1")
    channels, cells = digits.window_cells(trace, 0, 0, 0)
    fig = fd.network(acts, digits.predict(trained.model, image), ("conv1", 0, 0, 0), ("input", channels, cells))
    (window,) = [d for d in fig.data if d.name == "window"]
    assert window.xaxis == _trace(fig, "input").xaxis
    assert min(v for v in window.x if v is not None) == -1.5   # padding column -1


def test_filters_show_the_kernels_before_and_after(trained):
    fig = fd.filters(trained)
    for i in range(8):
        assert np.allclose(array(_trace(fig, f"before {i}").z), trained.initial["conv1.weight"][i, 0].numpy())
        assert np.allclose(array(_trace(fig, f"after {i}").z), trained.model.conv1.weight[i, 0].detach().numpy())


def test_losses_and_confusion(trained):
    fig = fd.losses(trained)
    assert list(fig.data[0].y) == pytest.approx(list(trained.losses))
    counts = digits.confusion(trained.model, digits.load_data(8))
    fig = fd.confusion(counts)
    assert np.array_equal(array(fig.data[0].z), counts.numpy())
    wrong = int(counts.sum() - counts.trace())
    assert f"{wrong} of 359" in fig.layout.title.text


def test_start_at_shows_the_chosen_frame(trained, image):
    trace = digits.stage_trace(trained.model, image, "conv1")
    spec = conv_figures.stepper(trace, 0, 2, max_frames=64).to_plotly_json()
    frame = spec["frames"][27]
    assert fd.start_at(spec, 27) is spec                # output cell (3, 3) of the 8x8 map
    assert spec["layout"]["sliders"][0]["active"] == 27
    checked = 0
    for idx, d in zip(frame["traces"], frame["data"]):
        if "z" in d:
            assert np.allclose(array(spec["data"][idx]["z"]), array(d["z"]), equal_nan=True)
            checked += 1
        if d.get("x") is not None:
            assert list(spec["data"][idx]["x"]) == list(d["x"])
            checked += 1
    assert checked >= 2
    assert fd.start_at(spec, "no such frame")["layout"]["sliders"][0]["active"] == 27


def test_preview_is_small_and_real():
    fig = fd.preview()
    assert fig.layout.height == 150
    assert len([d for d in fig.data if d.type == "heatmap"]) == 4
