"""trace_pool and trace_upsample against the real torch modules, hand-worked examples, error paths."""
import copy
import math

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from explorer import ExplorerError
from explorer.pooling import (MATRIX_AXIS, _padded, _regular, edge_windows, max_unpool, output_size_formula, source_formula,
                              trace_pool, trace_upsample)

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

POOLS_1D = [nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool1d, nn.LPPool1d]
POOLS_2D = [nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d, nn.LPPool2d]


@st.composite
def pool_setups(draw):
    kind = draw(st.sampled_from(POOLS_1D + POOLS_2D))
    dims = 1 if kind in POOLS_1D else 2
    spatial = tuple(draw(st.integers(1, 8)) for _ in range(dims))
    pair = (lambda s: draw(s)) if dims == 1 else (lambda s: (draw(s), draw(s)))
    if kind in (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d):
        # up to twice the input length, so windows overlap and repeat; None keeps a 2D axis as is
        sizes = [draw(st.one_of(st.integers(1, 2 * n), st.none() if dims == 2 else st.nothing()))
                 for n in spatial]
        kw = dict(output_size=sizes[0] if dims == 1 else tuple(sizes))
        if kind in (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d):
            kw["return_indices"] = draw(st.booleans())
    else:
        k = pair(st.integers(1, 4))
        kw = dict(kernel_size=k, stride=draw(st.one_of(st.none(), st.integers(1, 3).map(
            lambda s: s if dims == 1 else (s, draw(st.integers(1, 3)))))), ceil_mode=draw(st.booleans()))
        half = [kk // 2 for kk in ((k,) if dims == 1 else k)]
        pad = tuple(draw(st.integers(0, h)) for h in half)
        if kind in (nn.MaxPool1d, nn.MaxPool2d):
            kw.update(padding=pad[0] if dims == 1 else pad, dilation=pair(st.integers(1, 3)),
                      return_indices=draw(st.booleans()))
        elif kind in (nn.AvgPool1d, nn.AvgPool2d):
            kw.update(padding=pad[0] if dims == 1 else pad, count_include_pad=draw(st.booleans()))
            if kind is nn.AvgPool2d:
                kw["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 5)))
        else:
            kw = dict(norm_type=draw(st.sampled_from([1, 2, 3, 1.5])), **kw)
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    batch = draw(st.sampled_from([None, 1, 2]))
    channels = draw(st.integers(1, 3))
    ties = draw(st.booleans())  # small integers make equal maxima, where the first one must win
    return kind, kw, dtype, spatial, batch, channels, ties, draw(st.integers(0, 2**16))


def _make(setup):
    kind, kw, dtype, spatial, batch, channels, ties, seed = setup
    g = torch.Generator().manual_seed(seed)
    shape = ((batch,) if batch else ()) + (channels,) + spatial
    if ties:
        x = torch.randint(0, 3, shape, generator=g).to(dtype)
    else:
        x = torch.randn(shape, generator=g, dtype=dtype)
    return kind(**kw), x


def _torch_result(m, x):
    """What torch returns, or None where it refuses; a max window with no input cell must be refused by us."""
    try:
        with torch.no_grad():
            result = m(x)
    except RuntimeError:
        return None
    values = result[0] if isinstance(result, tuple) else result
    if torch.isneginf(values).any():
        with pytest.raises(ExplorerError, match="only on padding"):
            trace_pool(m, x)
        return None
    return result


def _assert_close(got, expected, dtype):
    """Equal shapes, NaN where torch has NaN (x^p of a negative x), and within tolerance elsewhere."""
    assert got.shape == expected.shape
    finite = torch.isfinite(expected)
    assert torch.equal(finite, torch.isfinite(got))
    if finite.any():
        scale = max(1.0, float(expected[finite].abs().max()))
        assert float((got[finite] - expected[finite]).abs().max()) <= TOL[dtype] * scale


@FAST
@given(pool_setups())
def test_pool_manual_matches_module(setup):
    m, x = _make(setup)
    expected = _torch_result(m, x)
    assume(expected is not None)
    t = trace_pool(m, x)
    values = expected[0] if isinstance(expected, tuple) else expected
    assert t.manual.dtype == x.dtype
    _assert_close(t.manual, values, x.dtype)
    finite = values[torch.isfinite(values)]
    assert t.max_abs_error <= TOL[x.dtype] * max([1.0] + finite.abs().flatten().tolist())
    if isinstance(expected, tuple):
        assert torch.equal(t.indices, expected[1])
    if t.kind == "max":  # our argmax is torch's, ties included, whether or not the module returns it
        if isinstance(expected, tuple):
            assert torch.equal(t.argmax, expected[1])
        planes = x.flatten(-t.dims)                                   # (..., C, H*W)
        picked = planes.gather(-1, t.argmax.flatten(-t.dims)).reshape(t.argmax.shape)
        assert torch.equal(picked, t.output)


@FAST
@given(pool_setups(), st.data())
def test_pool_window_result_is_output_at_that_position(setup, data):
    m, x = _make(setup)
    assume(_torch_result(m, x) is not None)
    t = trace_pool(m, x)
    out = t.output if t.output.dim() == t.dims + 2 else t.output.unsqueeze(0)
    n = data.draw(st.integers(0, out.shape[0] - 1))
    c = data.draw(st.integers(0, out.shape[1] - 1))
    pos = tuple(data.draw(st.integers(0, s - 1)) for s in out.shape[2:])
    win = t.window(n, c, *pos)
    expected = float(out[(n, c) + pos])
    if math.isnan(expected):
        assert math.isnan(win.result)
    else:
        assert abs(win.result - expected) <= 10 * TOL[x.dtype] * max(1.0, abs(expected))
    xb = x if x.dim() == t.dims + 2 else x.unsqueeze(0)
    for cell in win.cells:
        if cell.input_index is not None:
            assert cell.value == float(xb[(n,) + cell.input_index])
    if t.kind == "max":
        assert win.flat_index == int(t.argmax.reshape(out.shape)[(n, c) + pos])
        assert float(xb[(n,) + win.winner]) == win.result
    elif t.kind == "avg" and not math.isnan(expected):
        assert abs(win.total / win.divisor - expected) <= 10 * TOL[x.dtype] * max(1.0, abs(expected))


@st.composite
def upsample_setups(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic"]))
    dims = {"linear": 1, "bilinear": 2, "bicubic": 2}.get(mode) or draw(st.sampled_from([1, 2]))
    spatial = tuple(draw(st.integers(1, 7)) for _ in range(dims))
    kw = dict(mode=mode)
    if mode in ("linear", "bilinear", "bicubic"):
        kw["align_corners"] = draw(st.sampled_from([None, False, True]))
    factor = st.sampled_from([0.5, 0.7, 1.0, 1.2, 1.5, 1.75, 2.0, 2.2, 2.5, 3.0, 3.3, 4.0])
    if draw(st.booleans()):
        sizes = tuple(draw(st.integers(1, 12)) for _ in range(dims))
        kw["size"] = sizes[0] if dims == 1 and draw(st.booleans()) else sizes
    else:
        factors = tuple(draw(factor) for _ in range(dims))
        assume(all(math.floor(n * f) >= 1 for n, f in zip(spatial, factors)))
        kw["scale_factor"] = factors[0] if draw(st.booleans()) and len(set(factors)) == 1 else factors
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    return kw, dtype, (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + spatial, draw(st.integers(0, 2**16))


def _make_upsample(setup):
    kw, dtype, shape, seed = setup
    g = torch.Generator().manual_seed(seed)
    return nn.Upsample(**kw), torch.randn(shape, generator=g, dtype=dtype)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(upsample_setups())
def test_upsample_manual_matches_module(setup):
    m, x = _make_upsample(setup)
    expected = m(x)
    t = trace_upsample(m, x)
    assert t.manual.dtype == x.dtype
    _assert_close(t.manual, expected, x.dtype)
    assert t.max_abs_error <= TOL[x.dtype] * max(1.0, float(expected.abs().max()))
    for a in t.axes:
        assert torch.allclose(a.weights.sum(1).double(), torch.ones(a.out, dtype=torch.float64), atol=1e-6)


@FAST
@given(upsample_setups(), st.data())
def test_upsample_sources_add_up_to_the_output(setup, data):
    m, x = _make_upsample(setup)
    t = trace_upsample(m, x)
    n = data.draw(st.integers(0, x.shape[0] - 1))
    c = data.draw(st.integers(0, x.shape[1] - 1))
    pos = tuple(data.draw(st.integers(0, s - 1)) for s in t.output.shape[2:])
    s = t.sources(n, c, *pos)
    expected = float(t.output[(n, c) + pos])
    assert abs(s.total - expected) <= 10 * TOL[x.dtype] * max(1.0, sum(abs(nb.product) for nb in s.neighbours))
    assert len(s.neighbours) == math.prod(len(taps) for taps in s.taps)
    for nb in s.neighbours:
        assert nb.value == float(x[(n,) + nb.input_index])


@pytest.mark.parametrize("module, shape", [
    (nn.AvgPool2d(5, stride=2, padding=2), (2, 3, 11, 9)),
    (nn.AvgPool2d(5, stride=3, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 12, 10)),
    (nn.AvgPool2d((6, 5), stride=(1, 2), divisor_override=7), (1, 1, 9, 13)),
    (nn.LPPool2d(2, 5, stride=3, ceil_mode=True), (1, 2, 12, 11)),
    (nn.AdaptiveAvgPool2d(7), (1, 4, 112, 56)),   # 16x8 windows, evenly placed
    (nn.AdaptiveAvgPool2d((3, 4)), (1, 2, 20, 19)),  # windows of different lengths: one view per tap
])
def test_big_windows_summed_row_by_row_match_torch(module, shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    t = trace_pool(module, x)
    assert t.max_abs_error < 1e-10
    assert torch.allclose(t.manual, module(x), atol=1e-12)
    evenly = [_regular(_padded(x, *t.axes, 0.0)[k]) is not None for k in (1, 2)]
    assert evenly == ([False, False] if shape == (1, 2, 20, 19) else [True, True])


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_long_axes_gather_and_short_ones_multiply_alike(mode):
    # width 300 is past MATRIX_AXIS (one gathered copy per tap), height 5 is resampled by a matrix product
    x = torch.randn(1, 2, 5, 300, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    up = nn.Upsample(scale_factor=1.5, mode=mode, **({} if mode == "nearest" else {"align_corners": False}))
    t = trace_upsample(up, x)
    assert t.axes[1].size > MATRIX_AXIS >= t.axes[0].size
    assert t.max_abs_error < 1e-12


# -- hand-worked examples ---------------------------------------------------------------------------

NOTES_F = torch.tensor([[[1.0, 3, 2, 4], [5, 2, 6, 8], [3, 1, 0, 7], [4, 2, 1, 9]]])


def test_notes_max_pool_and_its_indices():
    # 2x2 windows of F: [[1,3],[5,2]] -> 5 at row 1 col 0 (flat 1*4+0 = 4); [[2,4],[6,8]] -> 8 at (1,3) = 7;
    # [[3,1],[4,2]] -> 4 at (3,0) = 12; [[0,7],[1,9]] -> 9 at (3,3) = 15.
    t = trace_pool(nn.MaxPool2d(2, stride=2, return_indices=True), NOTES_F)
    assert t.manual.tolist() == [[[5.0, 8.0], [4.0, 9.0]]]
    assert t.indices.tolist() == t.argmax.tolist() == [[[4, 7], [12, 15]]]
    w = t.window(0, 0, 0, 1)
    assert [cell.value for cell in w.cells] == [2.0, 4.0, 6.0, 8.0]
    assert w.winner == (0, 1, 3) and w.flat_index == 7 and w.result == 8.0


def test_max_pool_ties_pick_the_first_cell():
    # every cell is 1: row-major order makes the window's top-left cell the winner
    t = trace_pool(nn.MaxPool2d(2, return_indices=True), torch.ones(1, 4, 4))
    assert t.argmax.tolist() == [[[0, 2], [8, 10]]] == t.indices.tolist()


def test_average_with_and_without_padding_counted():
    # window 0 of [3, 6, 9] with padding 1 is (pad, 3, 6): sum 9, divided by 3 (padding counted) = 3
    # or by 2 (padding not counted) = 4.5. The middle window (3, 6, 9) is 18 / 3 = 6 either way.
    x = torch.tensor([[3.0, 6.0, 9.0]])
    counted = trace_pool(nn.AvgPool1d(3, stride=1, padding=1), x)
    assert counted.manual.tolist() == [[3.0, 6.0, 5.0]]
    first = counted.window(0, 0, 0)
    assert (first.total, first.count, first.divisor) == (9.0, 3, 3.0)
    assert first.cells[0].role == "padding" and first.cells[0].input_index is None and first.cells[0].value == 0.0
    skipped = trace_pool(nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False), x)
    assert skipped.manual.tolist() == [[4.5, 6.0, 7.5]]
    assert skipped.window(0, 0, 0).count == 2


def test_divisor_override_replaces_the_count():
    # a 2x2 window of ones sums to 4; divisor_override=1 leaves 4, divisor_override=3 gives 4/3
    assert trace_pool(nn.AvgPool2d(2, divisor_override=1), torch.ones(1, 2, 2)).manual.item() == 4.0
    w = trace_pool(nn.AvgPool2d(2, divisor_override=3), torch.ones(1, 2, 2)).window(0, 0, 0, 0)
    assert (w.total, w.count, w.divisor) == (4.0, 4, 3.0)


def test_ceil_mode_keeps_a_partial_last_window():
    # [1, 5, 2, 7, 3] in windows of 2: [1,5] -> 5, [2,7] -> 7, and with ceil_mode a last window [3, past the end]
    x = torch.tensor([[1.0, 5.0, 2.0, 7.0, 3.0]])
    assert trace_pool(nn.MaxPool1d(2), x).manual.tolist() == [[5.0, 7.0]]
    t = trace_pool(nn.MaxPool1d(2, ceil_mode=True), x)
    assert t.manual.tolist() == [[5.0, 7.0, 3.0]]
    assert [cell.role for cell in t.window(0, 0, 2).cells] == ["input", "outside"]
    # an average over that partial window divides by the 1 real cell: 3 / 1
    assert trace_pool(nn.AvgPool1d(2, ceil_mode=True), x).manual.tolist() == [[3.0, 4.5, 3.0]]


def test_dilated_max_pool_skips_cells():
    # dilation 2: windows read x[0], x[2] / x[1], x[3] / x[2], x[4] of [1, 9, 3, 0, 5]: max 3, 9, 5
    t = trace_pool(nn.MaxPool1d(2, stride=1, dilation=2), torch.tensor([[1.0, 9.0, 3.0, 0.0, 5.0]]))
    assert t.manual.tolist() == [[3.0, 9.0, 5.0]]
    assert [cell.position for cell in t.window(0, 0, 1).cells] == [(1,), (3,)]


def test_adaptive_windows_overlap():
    # L = 4 into 3: window i spans floor(4i/3) .. ceil(4(i+1)/3) - 1: [0, 1], [1, 2], [2, 3]
    # means of [1, 2, 3, 4] over them: 1.5, 2.5, 3.5
    t = trace_pool(nn.AdaptiveAvgPool1d(3), torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    assert t.manual.tolist() == [[1.5, 2.5, 3.5]]
    w = t.axes[1]
    assert w.start.tolist() == [0, 1, 2] and w.end.tolist() == [2, 3, 4]
    # 5 into 3: [0, 1], [1, 2, 3], [3, 4]: windows have different lengths
    t = trace_pool(nn.AdaptiveMaxPool1d(3), torch.tensor([[5.0, 1.0, 2.0, 0.0, 4.0]]))
    assert [len(t.window(0, 0, i).cells) for i in range(3)] == [2, 3, 2]
    assert t.manual.tolist() == [[5.0, 2.0, 4.0]]


def test_lp_pool_is_a_p_norm_with_torchs_ceil_mode_scaling():
    # p = 2 over [3, 4]: sqrt(9 + 16) = 5
    assert trace_pool(nn.LPPool1d(2, 2), torch.tensor([[3.0, 4.0]])).manual.tolist() == [[5.0]]
    # kernel 3, ceil_mode on [1..5]: windows [1,2,3] and [4,5]; torch averages x^2 over the 2 real
    # cells and scales by the kernel size 3: sqrt((16 + 25) / 2 * 3) = sqrt(61.5)
    t = trace_pool(nn.LPPool1d(2, 3, ceil_mode=True), torch.arange(1.0, 6.0).view(1, 5))
    assert abs(t.manual[0, 1].item() - math.sqrt(61.5)) < 1e-5
    w = t.window(0, 0, 1)
    assert (w.total, w.count, w.divisor) == (41.0, 2, 2 / 3)


def test_unpool_matches_max_unpool():
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    t = trace_pool(nn.MaxPool2d(2, return_indices=True), x)
    expected = nn.MaxUnpool2d(2)(t.output, t.indices, output_size=x.shape[-2:])
    assert torch.equal(t.unpool(), expected)
    # put back by hand for the notes' F: 5 at (1,0), 8 at (1,3), 4 at (3,0), 9 at (3,3), zeros elsewhere
    back = trace_pool(nn.MaxPool2d(2), NOTES_F).unpool()
    assert back.tolist() == [[[0, 0, 0, 0], [5, 0, 0, 8], [0, 0, 0, 0], [4, 0, 0, 9]]]


def test_edge_windows_are_the_ones_ceil_mode_adds_past_the_padding():
    # 5 cells, windows of 2 with stride 2: ceil_mode adds window 2 over [4, 5]; cell 5 is past the input
    assert edge_windows(trace_pool(nn.MaxPool1d(2, ceil_mode=True), torch.zeros(1, 5))) == [("length", [2])]
    assert edge_windows(trace_pool(nn.MaxPool1d(2), torch.zeros(1, 5))) == []
    # 7x6 with kernel 3, stride 2, padding 1 and ceil_mode: rows give ceil((7 + 2 - 3)/2) + 1 = 4 windows,
    # the last starting at 3*2 - 1 = 5 and spanning 5, 6, 7 where 7 is the padding row: nothing past it.
    # Columns give ceil((6 + 2 - 3)/2) + 1 = 4 windows too, the last spanning 5, 6, 7 where 6 is padding and
    # 7 lies past it: column window 3 hangs over the edge.
    assert edge_windows(trace_pool(nn.AvgPool2d(3, 2, 1, ceil_mode=True), torch.zeros(1, 7, 6))) == [("width", [3])]
    # 6 wide, kernel 3, stride 2, no padding, ceil_mode: ceil(3/2) + 1 = 3 windows, the last over 4, 5, 6
    assert edge_windows(trace_pool(nn.MaxPool2d(3, 2, ceil_mode=True), torch.zeros(1, 3, 6))) == [("width", [2])]


def test_max_unpool_runs_the_real_module():
    x = torch.randn(1, 2, 7, 7, generator=torch.Generator().manual_seed(3))
    t = trace_pool(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), x)
    check = max_unpool(t)
    assert isinstance(check.module, nn.MaxUnpool2d) and check.module.kernel_size == (3, 3)
    expected = nn.MaxUnpool2d(3, 2, 1)(*nn.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True)(x),
                                        output_size=(7, 7))
    assert torch.equal(check.output, expected) and check.max_abs_error == 0.0
    # MaxUnpool ignores dilation: from 7 outputs of stride 1 it expects about 6 + 2 = 8 cells, not 10
    with pytest.raises(ExplorerError, match="cannot rebuild an input of size"):
        max_unpool(trace_pool(nn.MaxPool1d(2, stride=1, dilation=3), torch.zeros(1, 10)))
    with pytest.raises(ExplorerError, match="undoes MaxPool1d or MaxPool2d"):
        max_unpool(trace_pool(nn.AdaptiveMaxPool2d(2), x))


def test_per_cell_adds_up_clamped_taps():
    # bicubic 2 -> 4 along the width, output 0 at -0.25: taps -2, -1, 0, 1 clamp to 0, 0, 0, 1
    t = trace_upsample(nn.Upsample(size=(1, 4), mode="bicubic"), torch.tensor([[[[2.0, 6.0]]]]))
    s = t.sources(0, 0, 0, 0)
    cells = s.per_cell()
    assert [nb.input_index for nb in cells] == [(0, 0, 0), (0, 0, 1)]
    w = s.weights[1]
    assert cells[0].weight == pytest.approx(w[0] + w[1] + w[2]) and cells[1].weight == pytest.approx(w[3])
    assert sum(nb.product for nb in cells) == pytest.approx(s.total)
    assert sum(nb.weight for nb in cells) == pytest.approx(1.0)


def test_nearest_source_is_floor_not_round():
    # 4x4 -> 8x8: scale 4/8 = 0.5; output (2, 3) reads floor(2*0.5) = 1, floor(3*0.5) = floor(1.5) = 1
    x = torch.arange(16.0).view(1, 1, 4, 4)
    s = trace_upsample(nn.Upsample(scale_factor=2, mode="nearest"), x).sources(0, 0, 2, 3)
    assert s.coord == (1.0, 1.5) and s.taps == ((1,), (1,))
    assert s.total == 5.0  # x[1, 1] = 1*4 + 1


def test_bilinear_pixel_centres_and_align_corners():
    # 2 -> 4, align_corners False: src = (1 + 0.5)*0.5 - 0.5 = 0.25 on both axes; weights 0.75, 0.25;
    # 0.75*0.75*1 + 0.75*0.25*2 + 0.25*0.75*3 + 0.25*0.25*4 = 0.5625 + 0.375 + 0.5625 + 0.25 = 1.75
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    s = trace_upsample(nn.Upsample(scale_factor=2, mode="bilinear"), x).sources(0, 0, 1, 1)
    assert s.coord == (0.25, 0.25) and s.weights == ((0.75, 0.25), (0.75, 0.25))
    assert s.total == 1.75
    # align_corners True: src = 1*(2-1)/(4-1) = 1/3; 1 + 1/3 (one column step of 1) + 2/3 (row step 2) = 2
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), x)
    assert abs(t.sources(0, 0, 1, 1).total - 2.0) < 1e-6
    assert t.manual[0, 0, 0].tolist() == [1.0, pytest.approx(4 / 3), pytest.approx(5 / 3), 2.0]


def test_bicubic_weights_and_border_clamp():
    # align_corners, 4 -> 7: scale 3/6 = 0.5, output 3 sits at 1.5: taps 0..3, t = 0.5.
    # near(0.5) = (1.25*0.5 - 2.25)*0.25 + 1 = 0.59375; far(1.5) = ((-1.125 + 3.75)*1.5 - 6)*1.5 + 3 = -0.09375
    # x = [4, 0, 0, 8]: -0.09375*4 + 0 + 0 - 0.09375*8 = -1.125
    x = torch.tensor([[[[4.0, 0.0, 0.0, 8.0]]]])
    t = trace_upsample(nn.Upsample(size=(1, 7), mode="bicubic", align_corners=True), x)
    s = t.sources(0, 0, 0, 3)
    assert s.weights[1] == (-0.09375, 0.59375, 0.59375, -0.09375)
    assert s.total == -1.125
    # align_corners False, 2 -> 4: output 0 sits at 0.5*0.5 - 0.5 = -0.25, floor -1, so the taps
    # -2, -1, 0, 1 clamp to 0, 0, 0, 1
    t = trace_upsample(nn.Upsample(size=(1, 4), mode="bicubic"), x[..., :2])
    assert t.sources(0, 0, 0, 0).taps[1] == (0, 0, 0, 1)


def test_formulas_carry_the_numbers():
    t = trace_pool(nn.MaxPool1d(2, ceil_mode=True), torch.zeros(1, 5))
    assert output_size_formula(t) == ["L_out = ⌈(L_in + 2·padding − dilation·(kernel − 1) − 1) / stride⌉ + 1"
                                      " = ⌈(5 + 2·0 − 1·(2 − 1) − 1) / 2⌉ + 1 = 3"]
    assert "⌊i·4/3⌋" in output_size_formula(trace_pool(nn.AdaptiveAvgPool1d(3), torch.zeros(1, 4)))[0]
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="linear", align_corners=True), torch.zeros(1, 1, 3))
    assert source_formula(t) == ["x: src = i·0.4 with 0.4 = (3 − 1)/(6 − 1)"]
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="bilinear"), torch.zeros(1, 1, 2, 3))
    assert source_formula(t) == [f"{axis}: src = (i + 0.5)·0.5 − 0.5, raised to 0 where it falls left of the first "
                                 "pixel centre" for axis in ("row", "col")]
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="nearest"), torch.zeros(1, 1, 2, 3))
    assert source_formula(t) == ["row: src = i·0.5, read x[⌊src⌋]", "col: src = i·0.5, read x[⌊src⌋]"]


def test_trace_does_not_mutate_module():
    for m, x in [(nn.MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True), torch.randn(1, 2, 7, 7)),
                 (nn.AvgPool2d(3, 2, 1, divisor_override=2), torch.randn(2, 7, 7)),
                 (nn.Upsample(scale_factor=1.5, mode="bicubic", align_corners=True), torch.randn(1, 2, 4, 4))]:
        before = copy.deepcopy(vars(m))
        trace = trace_pool(m, x) if not isinstance(m, nn.Upsample) else trace_upsample(m, x)
        trace.window(0, 0, 1, 1) if hasattr(trace, "window") else trace.sources(0, 0, 1, 1)
        assert vars(m) == before


def test_dtype_is_kept():
    x = torch.randn(1, 4, 4, dtype=torch.float64)
    assert trace_pool(nn.AvgPool2d(2), x).manual.dtype == torch.float64
    assert trace_upsample(nn.Upsample(scale_factor=2, mode="bilinear"), x[None]).manual.dtype == torch.float64


# -- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("module, x, message", [
    (nn.Conv2d(1, 1, 2), torch.zeros(1, 4, 4), "takes one of"),
    (nn.MaxPool2d(2), [[1.0, 2.0]], "must be a torch.Tensor"),
    (nn.MaxPool2d(2), torch.zeros(1, 4, 4, dtype=torch.int64), "floating-point"),
    (nn.MaxPool2d(2), torch.tensor([[[1.0, float("inf")], [0.0, 0.0]]]), "NaN or infinity"),
    (nn.MaxPool2d(2), torch.zeros(4), "expects 4 dims"),
    (nn.MaxPool1d(2), torch.zeros(1, 0, 4), "holds no values"),
    (nn.MaxPool2d(5), torch.zeros(1, 3, 3), "does not fit"),
    (nn.AvgPool1d(2, padding=2), torch.zeros(1, 6), "more than half the kernel"),
    (nn.MaxPool1d(2, stride=0), torch.zeros(1, 6), "at least 1"),
    (nn.MaxPool1d(2, stride=1, padding=1, dilation=5), torch.zeros(1, 4), "only on padding"),
    (nn.LPPool1d(0, 2), torch.zeros(1, 4), "norm_type"),
    (nn.AdaptiveAvgPool2d((0, 2)), torch.zeros(1, 4, 4), "at least 1 output cell"),
])
def test_pool_errors_are_learner_readable(module, x, message):
    with pytest.raises(ExplorerError, match=message):
        trace_pool(module, x)


@pytest.mark.parametrize("module, x, message", [
    (nn.MaxPool2d(2), torch.zeros(1, 1, 4, 4), "takes one of"),
    (nn.Upsample(scale_factor=2, mode="trilinear"), torch.zeros(1, 1, 2, 2, 2), "not covered"),
    (nn.Upsample(scale_factor=2, mode="bilinear"), torch.zeros(1, 2, 2), r"needs an input of shape \(N, C, H, W\)"),
    (nn.Upsample(scale_factor=2, mode="linear"), torch.zeros(1, 1, 2, 2), r"\(N, C, L\)"),
    (nn.Upsample(scale_factor=2), torch.zeros(2, 2), "unsqueeze"),
    (nn.Upsample(scale_factor=2), torch.zeros(1, 1, 2, dtype=torch.int32), "floating-point"),
    (nn.Upsample(scale_factor=2, align_corners=False), torch.zeros(1, 1, 2), "align_corners only applies"),
    (nn.Upsample(), torch.zeros(1, 1, 2), "exactly one of size or scale_factor"),
    (nn.Upsample(size=4, scale_factor=2), torch.zeros(1, 1, 2), "exactly one of size or scale_factor"),
    (nn.Upsample(size=(4, 4, 4)), torch.zeros(1, 1, 2, 2), "one value per dim"),
    (nn.Upsample(scale_factor=(2.0, 2.0)), torch.zeros(1, 1, 2), "one value per dim"),
    (nn.Upsample(scale_factor=0.3), torch.zeros(1, 1, 2), "would become 0"),
    (nn.Upsample(size=4, recompute_scale_factor=True), torch.zeros(1, 1, 2), "recompute_scale_factor"),
    (nn.Upsample(size=4), torch.zeros(1, 1, 0), "holds no values"),
])
def test_upsample_errors_are_learner_readable(module, x, message):
    with pytest.raises(ExplorerError, match=message):
        trace_upsample(module, x)


def test_position_errors():
    t = trace_pool(nn.MaxPool2d(2), torch.zeros(1, 2, 4, 4))
    for args, message in [((1, 0, 0, 0), "Batch index 1"), ((0, 2, 0, 0), "Channel 2"),
                          ((0, 0, 2, 0), "outside the output"), ((0, 0, 0), "needs 2 coordinate")]:
        with pytest.raises(ExplorerError, match=message):
            t.window(*args)
    u = trace_upsample(nn.Upsample(scale_factor=2, mode="linear"), torch.zeros(1, 1, 3))
    with pytest.raises(ExplorerError, match="outside the output"):
        u.sources(0, 0, 6)
    with pytest.raises(ExplorerError, match="remembers where"):
        trace_pool(nn.AvgPool2d(2), torch.zeros(1, 4, 4)).unpool()
