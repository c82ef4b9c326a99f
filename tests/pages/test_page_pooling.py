"""The Pooling and upsampling page renders with defaults and after changing every control, shows the
module's numbers (hidden while a prediction is pending), and round-trips its state through the URL."""
import pytest
from apptest import array, check_ok, figures, run_page, texts, through_app

PAGE = "pooling"



def test_defaults_max_pool_the_notes_map():
    at = run_page(PAGE)
    check_ok(at)
    stepper, window_map, unpool, compare = figures(at)
    # the notes' 4x4 map, 2x2 windows, stride 2: four windows, one frame each
    assert [f["name"] for f in stepper["frames"]] == ["0", "1", "2", "3"]
    assert stepper["layout"]["title"]["text"] == "y[0, 0] = max(1, 3, 5, 2) = 5 from x[1, 0] (index 4)"
    # MaxUnpool puts 5, 8, 4, 9 back at rows 1 and 3, columns 0 and 3
    assert array(unpool["data"][2]["z"]) == [[0, 0, 0, 0], [5, 0, 0, 8], [0, 0, 0, 0], [4, 0, 0, 9]]
    assert "gives the same map as putting the maxima back by hand" in texts(at)
    # the comparison: input and three 2x2 outputs, with shapes in the titles
    assert [a["text"] for a in compare["layout"]["annotations"]] == [
        "input<br>(1, 1, 4, 4)", "MaxPool2d(2)<br>(1, 1, 2, 2)", "AvgPool2d(2)<br>(1, 1, 2, 2)",
        "Conv2d(1, 1, 2, stride=2)<br>(1, 1, 2, 2)"]
    table = at.dataframe[1].value
    assert table["learnable parameters"].tolist() == [0, 0, 5]
    assert "The largest of the 4 input cell(s) is **5**, at x[1, 0]" in texts(at)
    assert "`H_out = ⌊(H_in + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1 = ⌊(4 + 2·0 − 1·(2 − 1) − 1) / 2⌋ + 1 = 2`" \
        in texts(at)
    assert "nn.MaxPool2d(kernel_size=2, stride=2)" in at.code[0].value


@pytest.mark.parametrize("state", [
    *({"pool.kind": kind} for kind in ("MaxPool1d", "AvgPool1d", "AvgPool2d", "AdaptiveMaxPool1d",
                                       "AdaptiveMaxPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "LPPool1d",
                                       "LPPool2d")),
    {"pool.ch": 3}, {"pool.ch": 3, "pool.c": 2}, {"pool.k": 3}, {"pool.stride": 1}, {"pool.ceil": True},
    {"pool.k": 3, "pool.pad": 1}, {"pool.dil": 2, "pool.stride": 1}, {"pool.idx": True},
    {"pool.kind": "AvgPool2d", "pool.cip": False, "pool.k": 3, "pool.pad": 1}, {"pool.kind": "AvgPool2d", "pool.div": 3},
    {"pool.kind": "LPPool2d", "pool.p": 3.5}, {"pool.kind": "AdaptiveMaxPool2d", "pool.out0": 3, "pool.out1": 1},
    {"pool.dtype": "float64"}, {"pool.src": "random"}, {"pool.src": "random", "pool.size": 32, "pool.k": 1, "pool.stride": 1},
    {"pool.src": "typed"}, {"pool.src": "image"}, {"pool.preset": "digit 0"}, {"pool.preset": "checkerboard"},
    {"pool.kind": "MaxPool1d", "pool.preset": "sine wave"}, {"pool.ck": "edge (Sobel x)"}, {"pool.ck": "all ¼ (an average)"},
    {"pool.pos0": 1, "pool.pos1": 1}, {"pool.predict.on": True}, {"pool.tour": True},
    {"pool.view": "Upsampling"}, {"pool.view": "Upsampling", "pool.mode": "nearest"},
    {"pool.view": "Upsampling", "pool.mode": "nearest-exact"}, {"pool.view": "Upsampling", "pool.mode": "bicubic"},
    {"pool.view": "Upsampling", "pool.align": True}, {"pool.view": "Upsampling", "pool.scale": 1.5},
    {"pool.view": "Upsampling", "pool.scale": 0.5}, {"pool.view": "Upsampling", "pool.udims": "1D signal"},
    {"pool.view": "Upsampling", "pool.udims": "1D signal", "pool.mode": "nearest"},
    {"pool.view": "Upsampling", "pool.uch": 3, "pool.uc": 1}, {"pool.view": "Upsampling", "pool.udtype": "float64"},
    {"pool.view": "Upsampling", "pool.up.src": "random", "pool.up.size": 16, "pool.scale": 4.0},
    {"pool.view": "Upsampling", "pool.up.preset": "checkerboard 4×4"}, {"pool.view": "Upsampling", "pool.upredict.on": True},
])
def test_each_control_renders(state):
    check_ok(run_page(PAGE, **state))


def test_count_include_pad_and_divisor_override_show_the_count_used():
    # AvgPool2d(3, stride 1, padding 1) on the notes' map: the corner window holds 1, 3, 5, 2 (sum 11) and
    # 5 padding cells: 11 / 9 with padding counted, 11 / 4 without, 11 / 3 with divisor_override=3
    base = {"pool.kind": "AvgPool2d", "pool.k": 3, "pool.stride": 1, "pool.pad": 1}
    counted = run_page(PAGE, **base)
    check_ok(counted)
    assert "the 4 input cell(s) and the 5 padding cell(s)" in texts(counted) and "11 / 9 = **1.22222**" in texts(counted)
    assert at_column(counted, "counted") == ["yes"] * 9
    skipped = run_page(PAGE, **base, **{"pool.cip": False})
    assert "11 / 4 = **2.75**" in texts(skipped) and "(count_include_pad=False)" in texts(skipped)
    assert at_column(skipped, "counted").count("yes") == 4
    override = run_page(PAGE, **base, **{"pool.div": 3})
    assert "divisor_override = **3** instead of the 9 cell(s)" in texts(override)
    assert "11 / 3 = **3.66667**" in texts(override)


def at_column(at, name):
    return at.dataframe[0].value[name].tolist()


def test_math_panel_follows_the_chosen_window():
    at = run_page(PAGE, **{"pool.pos0": 1, "pool.pos1": 1})
    check_ok(at)
    # the notes' bottom-right window [[0, 7], [1, 9]]: 9 at row 3, column 3, flat index 3*4 + 3 = 15
    assert "`y[1, 1] = max(0, 7, 1, 9) = 9 from x[3, 3] (index 15)`" in texts(at)
    assert "The module computed **9** at output[0, 0, 1, 1]." in texts(at)
    assert at_column(at, "kept") == ["", "", "", "✓"]


def test_ceil_mode_edge_windows_are_announced():
    # digit 7 is 7x7: windows of 2 with stride 2 give 3 per axis, ceil_mode a 4th over cells 6 and 7 (past the edge)
    at = run_page(PAGE, **{"pool.preset": "digit 7", "pool.ceil": True})
    check_ok(at)
    notes = [i.value for i in at.info]
    assert any("edge window** along the height: output 3 hangs past the input" in n for n in notes), notes
    assert any("along the width" in n for n in notes)
    assert len(figures(at)[0]["frames"]) == 16
    plain = run_page(PAGE, **{"pool.preset": "digit 7"})
    assert not any("edge window" in i.value for i in plain.info) and len(figures(plain)[0]["frames"]) == 9


def test_adaptive_windows_are_computed_and_overlap():
    at = run_page(PAGE, **{"pool.kind": "AdaptiveAvgPool2d", "pool.out0": 3, "pool.out1": 3})
    check_ok(at)
    # 4 into 3: windows [0, 2), [1, 3), [2, 4): neighbours share a cell
    assert "`H_out = 3 (asked for); window i spans ⌊i·4/3⌋ … ⌈(i+1)·4/3⌉ − 1`" in texts(at)
    window_map = figures(at)[1]
    assert window_map["layout"]["title"]["text"] == "Windows per output position (they overlap)"
    assert window_map["layout"]["yaxis"]["ticktext"] == ["0: [0, 2)", "1: [1, 3)", "2: [2, 4)"]
    # no MaxUnpool for an average; the window (0, 0) is (1 + 3 + 5 + 2) / 4
    assert "MaxUnpool" not in " ".join(h.value for h in at.subheader)
    assert "11 / 4 = **2.75**" in texts(at)


def test_max_unpool_that_cannot_rebuild_the_size_says_why():
    # dilation 3, stride 1 on 7 cells: 4 outputs, and MaxUnpool (blind to dilation) accepts only 4 to 6 cells
    at = run_page(PAGE, **{"pool.preset": "digit 7", "pool.stride": 1, "pool.dil": 3})
    check_ok(at)
    assert any("cannot rebuild an input of size (7, 7)" in w.value for w in at.warning)


@pytest.mark.parametrize("state, message", [
    ({"pool.k": 2, "pool.pad": 2}, "pooling allows 0 to half the kernel"),
    ({"pool.src": "typed", "pool.typed": "1, 2\n3, x"}, "not a number"),
    ({"pool.src": "typed", "pool.typed": "1"}, "does not fit"),
    ({"pool.k": 2, "pool.pad": 1, "pool.dil": 3, "pool.stride": 1, "pool.src": "typed", "pool.typed": "1, 2\n3, 4"},
     "only on padding"),
    ({"pool.view": "Upsampling", "pool.scale": 0.5, "pool.up.src": "typed", "pool.up.typed": "1"}, "would become 0"),
])
def test_invalid_settings_show_a_message_not_a_traceback(state, message):
    at = run_page(PAGE, **state)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_predicting_a_pooled_value_hides_then_grades_it():
    at = run_page(PAGE, **{"pool.predict.on": True, "pool.pos0": 1, "pool.pos1": 1})
    assert not at.exception
    assert "`y[1, 1] = max(0, 7, 1, 9)" not in texts(at) and at_column(at, "kept") == [None] * 4
    assert "The module computed" not in texts(at)
    at.number_input(key="pool.predict.guess").set_value(9.0)
    at.button[0].click().run()
    assert any("Right: the module gives 9" in s.value for s in at.success)
    assert "`y[1, 1] = max(0, 7, 1, 9) = 9 from x[3, 3] (index 15)`" in texts(at)


def test_upsampling_defaults_explain_one_bilinear_cell():
    at = run_page(PAGE, **{"pool.view": "Upsampling"})
    check_ok(at)
    stepper, side = figures(at)
    # [[1, 2], [3, 4]] -> 4x4, output (1, 1) at source (0.25, 0.25): weights 0.75 and 0.25 per axis,
    # 0.5625*1 + 0.1875*2 + 0.1875*3 + 0.0625*4 = 1.75
    assert stepper["layout"]["title"]["text"].endswith("= 1.75")
    assert "sits at source point **(0.25, 0.25)**" in texts(at)
    assert "Along the height: input rows 0 (weight 0.75), 1 (weight 0.25)." in texts(at)
    assert at.dataframe[0].value["weight"].tolist() == [0.5625, 0.1875, 0.1875, 0.0625]
    assert "The module computed **1.75** at output[0, 0, 1, 1]." in texts(at)
    # align_corners side by side: with True, pixel i samples i*(2-1)/(4-1)
    samples = [d for d in side["data"] if d.get("mode") == "markers+text"]
    assert [round(v, 4) for v in array(samples[1]["x"])] == [0, 0.3333, 0.6667, 1]
    assert "scale_factor=2.0, mode='bilinear', align_corners=False" in at.code[0].value


def test_upsampling_nearest_floors_the_source():
    # the notes' 4x4 -> 8x8 example: output (2, 3) reads input (floor 1, floor 1.5) = (1, 1) = 6
    at = run_page(PAGE, **{"pool.view": "Upsampling", "pool.mode": "nearest", "pool.up.preset": "counting 4×4",
                           "pool.upos0": 2, "pool.upos1": 3})
    check_ok(at)
    assert "The module computed **6** at output[0, 0, 2, 3]." in texts(at)
    assert len(figures(at)) == 1  # no align_corners comparison for nearest


def test_predicting_an_upsampled_value():
    at = run_page(PAGE, **{"pool.view": "Upsampling", "pool.upredict.on": True, "pool.align": True})
    assert not at.exception
    assert at.dataframe[0].value["weight · x"].isna().all()
    at.number_input(key="pool.upredict.guess").set_value(1.5)
    at.button[0].click().run()
    # align_corners=True: (1, 1) sits at (1/3, 1/3): 1 + 1/3 (one column) + 2/3 (one row of 2) = 2
    assert any("Not quite: you said 1.5, the module gives 2" in e.value for e in at.error)


def test_shrinking_the_output_pulls_the_position_back_in():
    at = run_page(PAGE, **{"pool.pos0": 1, "pool.pos1": 1})
    check_ok(at)
    at.slider(key="pool.k").set_value(4).run()   # 4x4 with a 4x4 window: a single output
    check_ok(at)
    assert "The module computed **9** at output[0, 0, 0, 0]." in texts(at)


def test_a_link_opens_the_same_view():
    # (widget -> URL is the browser's job; tests/browser/test_browser_pooling.py checks that direction)
    at = through_app("pooling", {"pool.kind": "AvgPool2d", "pool.k": "3", "pool.stride": "1", "pool.pad": "1",
                       "pool.cip": "false", "seed": "7"})
    assert not at.exception
    assert at.selectbox(key="pool.kind").value == "AvgPool2d" and at.toggle(key="pool.cip").value is False
    assert at.number_input(key="seed").value == 7 and not at.warning
    assert "11 / 4 = **2.75**" in texts(at)
    up = through_app("pooling", {"pool.view": "Upsampling", "pool.mode": "bicubic", "pool.upos0": "2", "pool.upos1": "3"})
    assert not up.exception and not up.warning
    assert "The math at output[0, 0, 2, 3]" in [h.value for h in up.subheader]


@pytest.mark.parametrize("params", [
    {"pool.k": "99999", "pool.ch": "-4"},
    {"pool.kind": "<script>alert(1)</script>", "pool.view": "Everything"},
    {"pool.p": "1e400", "pool.div": "abc", "pool.kind": "LPPool2d"},
    {"pool.view": "Upsampling", "pool.mode": "'; DROP TABLE x; --", "pool.scale": "nan"},
    {"pool.view": "Upsampling", "pool.up.typed": "`" * 3000, "pool.up.src": "typed"},
])
def test_hostile_link_values_fall_back_with_a_note(params):
    at = through_app("pooling", params)
    assert not at.exception, at.exception
    assert any("This link had settings the page cannot use" in w.value for w in at.warning) or at.error
    assert at.success or at.error
