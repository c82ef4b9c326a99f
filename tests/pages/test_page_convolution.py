"""The Convolution page renders with defaults and after changing every control, never raising."""
import pytest
import torch
from torch import nn

from apptest import array, check_ok, figures, run_page, texts



def test_defaults_render_the_sobel_on_digit_0():
    at = run_page("convolution")
    check_ok(at)
    stepper = figures(at)[0]
    # a 7x7 input with a 3x3 kernel and no padding has 5x5 = 25 output positions, one frame each
    assert len(stepper["frames"]) == 25
    kernel = next(d for d in stepper["data"] if d.get("name") == "kernel")
    assert array(kernel["z"]) == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]


@pytest.mark.parametrize("key, value", [
    ("conv.kind", "Conv1d"), ("conv.kind", "ConvTranspose2d"), ("conv.kind", "ConvTranspose1d"),
    ("conv.cin", 3), ("conv.cout", 4), ("conv.k", 5), ("conv.stride", 2), ("conv.pad", "same"),
    ("conv.pad", "2"), ("conv.pad", "valid"), ("conv.dil", 2), ("conv.bias", False), ("conv.bval", 1.5),
    ("conv.pmode", "reflect"), ("conv.pmode", "circular"), ("conv.dtype", "float64"),
    ("conv.src", "random"), ("conv.size", 12), ("conv.src", "typed"), ("conv.ksrc", "random"),
    ("conv.ksrc", "typed"), ("conv.kpreset", "blur"), ("conv.preset", "checkerboard"),
])
def test_each_control_renders(key, value):
    check_ok(run_page("convolution", **{key: value}))


def test_multichannel_groups_show_the_channel_stack_and_wiring():
    at = run_page("convolution", **{"conv.cin": 4, "conv.cout": 4, "conv.groups": 2})
    check_ok(at)
    titles = [f["layout"].get("title", {}).get("text", "") for f in figures(at)]
    assert any("2 group(s)" in t for t in titles)
    assert any("Channels" in h.value for h in at.subheader)


@pytest.mark.parametrize("state, message", [
    ({"conv.cin": 3, "conv.groups": 2}, "must divide both"),
    ({"conv.pad": "same", "conv.stride": 2}, "Set stride to 1"),
    ({"conv.k": 7, "conv.dil": 4}, "does not fit"),
    ({"conv.src": "typed", "conv.typed": "1, 2\n3, x"}, "not a number"),
    ({"conv.ksrc": "typed", "conv.ktyped": "1, 2\n3, 4"}, "needs (3, 3)"),
    ({"conv.kind": "ConvTranspose2d", "conv.opad": 2}, "output_padding"),
])
def test_invalid_settings_show_a_message_not_a_traceback(state, message):
    at = run_page("convolution", **state)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_math_panel_shows_the_module_value_at_the_chosen_position():
    at = run_page("convolution", **{"conv.pos0": 2, "conv.pos1": 3})
    check_ok(at)
    # the Sobel-x kernel on the digit 0 preset at output (2, 3): recompute with torch directly
    from explorer.examples.conv import input_preset, kernel_preset
    conv = nn.Conv2d(1, 1, 3)
    with torch.no_grad():
        conv.weight.copy_(kernel_preset("edge (Sobel x)", 3, 2).float().view(1, 1, 3, 3))
        conv.bias.zero_()
        expected = float(conv(input_preset("digit 0", 1).float().unsqueeze(0))[0, 0, 2, 3])
    assert "output[0, 0, 2, 3]" in texts(at)
    assert f"**{expected:.6g}**" in texts(at)


def test_shrinking_the_output_pulls_the_selected_position_back_in():
    at = run_page("convolution", **{"conv.pos0": 4, "conv.pos1": 4, "conv.co": 0})
    check_ok(at)
    at.slider(key="conv.k").set_value(7).run()   # a 7x7 input with a 7x7 kernel: a 1x1 output
    check_ok(at)
    assert "output[0, 0, 0, 0]" in texts(at)


def test_a_large_input_is_stepped_one_block_at_a_time_and_says_so():
    at = run_page("convolution", **{"conv.src": "random", "conv.size": 32})
    check_ok(at)
    # a 32x32 input and a 3x3 kernel give a 30x30 output: too many cells to animate whole
    assert any("30 × 30" in i.value for i in at.info)
    stepper, overview = figures(at)[:2]
    first = stepper["frames"][0]["data"][0]["z"]
    assert len(first) == 12 and len(first[0]) == 12
    assert any(d.get("name") == "stepped block" for d in overview["data"])
    at.slider(key="conv.zoom_row").set_value(18).run()
    check_ok(at)
    out = next(d for d in figures(at)[0]["data"] if d.get("name") == "output")
    assert array(out["y"])[0] == 18               # the block now starts at output row 18
