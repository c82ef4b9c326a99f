"""Convolution figures: what they draw, and that large layers are stepped one block at a time."""
import json

import numpy as np
import torch
from torch import nn

from explorer import trace_conv
from explorer.figures import conv as figures
from plotly_data import array


def _frames_z(fig):
    return [array(f["data"][0]["z"]) for f in fig.frames]


def _named(fig, name):
    return next(d for d in fig.data if d.name == name)


def test_small_output_steps_through_every_position_on_the_whole_padded_input():
    t = trace_conv(nn.Conv2d(1, 1, 3, padding=1), torch.randn(1, 1, 6, 6, generator=torch.Generator().manual_seed(0)))
    assert not figures.zoomed(t)
    fig = figures.stepper(t)
    assert len(fig.frames) == 36                               # 6x6 outputs with padding 1
    assert array(_named(fig, "input").x).tolist() == list(range(-1, 7))  # padding column on each side
    last = _frames_z(fig)[-1]
    assert np.allclose(last, t.output[0, 0].double().numpy(), atol=1e-5)


def test_a_512_pixel_input_is_stepped_one_block_at_a_time():
    x = torch.randn(1, 1, 512, 512, generator=torch.Generator().manual_seed(1))
    t = trace_conv(nn.Conv2d(1, 1, 3), x)                      # output 510 x 510
    assert figures.zoomed(t)
    block = figures.zoom_block(t, (100, 500))                  # clamped: 500 + 12 > 510
    assert block == ((100, 112), (498, 510))
    fig = figures.stepper(t, block=block)
    side = figures.ZOOM[2]
    assert len(fig.frames) == min(side * side, figures.MAX_FRAMES)
    assert all(z.shape == (side, side) for z in _frames_z(fig))
    # the input panel holds just the padded cells those windows read: rows 100..113, cols 498..511
    inp = _named(fig, "input")
    assert array(inp.y).tolist() == list(range(100, 114)) and array(inp.x).tolist() == list(range(498, 512))
    assert np.allclose(_frames_z(fig)[-1], t.output[0, 0, 100:112, 498:510].double().numpy(), atol=1e-5)
    assert len(json.dumps(fig.to_plotly_json(), default=str)) < 500_000


def test_overview_draws_large_maps_downsampled_with_the_block_outlined():
    x = torch.randn(1, 1, 512, 512, generator=torch.Generator().manual_seed(2))
    t = trace_conv(nn.Conv2d(1, 1, 3), x)
    block = figures.zoom_block(t, (10, 20))
    fig = figures.overview(t, block=block)
    whole_in = _named(fig, "input (whole)")
    z = array(whole_in.z)
    assert max(z.shape) <= figures.OVERVIEW_CAP
    xs = array(whole_in.x)
    step = int(xs[1] - xs[0])                  # patches of step x step cells, labelled in input terms
    patch = x[0, 0, step:2 * step, step:2 * step].flatten()
    assert np.isclose(z[1, 1], patch[patch.abs().argmax()].item())  # the patch's largest magnitude
    box = _named(fig, "stepped block")
    assert min(box.x) == 19.5 and max(box.x) == 31.5 and min(box.y) == 9.5 and max(box.y) == 21.5


def test_transposed_block_sums_every_cell_that_lands_in_it():
    x = torch.randn(1, 1, 40, 40, generator=torch.Generator().manual_seed(3))
    m = nn.ConvTranspose2d(1, 1, 3, stride=2, bias=False)
    t = trace_conv(m, x)                                       # output 81 x 81
    region = ((30, 42), (5, 17))
    cells, partials = t.scatter_steps(0, 0, region=region)
    # input cell i lands on rows 2i .. 2i+2: rows 30..41 come from input rows 14..20
    assert sorted({i for i, _ in cells}) == list(range(14, 21))
    with torch.no_grad():
        expected = m(x)[0, 0, 30:42, 5:17].double()
    assert torch.allclose(partials[-1].double(), expected, atol=1e-5)
    fig = figures.stepper(t, block=region)
    assert all(z.shape == (12, 12) for z in _frames_z(fig))


def test_channel_stack_thumbnails_stay_small_for_large_inputs():
    x = torch.randn(1, 2, 200, 200, generator=torch.Generator().manual_seed(4))
    t = trace_conv(nn.Conv2d(2, 1, 3), x)
    fig = figures.channel_stack(t)
    assert all(max(array(d.z).shape) <= figures.STACK_CAP for d in fig.data if d.type == "heatmap"
               and d.name != "w[0]" and d.name != "w[1]")
