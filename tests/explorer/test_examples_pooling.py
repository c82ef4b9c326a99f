"""Pooling page examples: presets, the three-way comparison, and the seed notes' examples checked."""
import pytest
import torch
from torch import nn

from explorer import ExplorerError
from explorer.examples import pooling as examples


def test_presets_have_the_requested_channels_and_differ_per_channel():
    for name in examples.POOL_INPUTS_2D + examples.UPSAMPLE_INPUTS_2D:
        x = examples.input_preset(name, 3)
        assert x.dim() == 3 and x.shape[0] == 3 and x.dtype == torch.float64
    for name in examples.POOL_INPUTS_1D + examples.UPSAMPLE_INPUTS_1D:
        assert examples.input_preset(name, 2).dim() == 2
    x = examples.input_preset("notes 4×4", 2)
    assert x[0].tolist() == examples.NOTES_4X4 and not torch.equal(x[0], x[1])


def test_comparison_halves_the_image_three_ways():
    x = torch.arange(16.0).view(1, 1, 4, 4)  # rows 0..3, 4..7, ...: the window at (0, 0) is 0, 1, 4, 5
    rows = examples.comparison(x, "all ¼ (an average)")
    assert [tuple(r.trace.output.shape) for r in rows] == [(1, 1, 2, 2)] * 3
    assert [r.parameters for r in rows] == [0, 0, 5]  # four weights and a bias
    maxed, averaged, conv = (r.trace.output for r in rows)
    assert maxed[0, 0].tolist() == [[5.0, 7.0], [13.0, 15.0]]
    assert averaged[0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]  # (0 + 1 + 4 + 5) / 4 = 2.5
    assert torch.allclose(conv, averaged)  # every weight 1/4 and no bias: average pooling
    assert all(r.trace.max_abs_error < 1e-5 for r in rows)
    # the edge kernel [[1, -1], [1, -1]]: left column minus right column, 0 + 4 - 1 - 5 = -2 everywhere
    edge = examples.comparison(x, "edge (Sobel x)")[2].trace.output
    assert edge[0, 0].tolist() == [[-2.0, -2.0], [-2.0, -2.0]]


def test_comparison_convolution_is_depthwise_and_seeded():
    x = torch.randn(1, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    a, b, c = (examples.comparison(x, "random (seeded)", seed=s)[2] for s in (1, 1, 2))
    assert a.trace.module.groups == 3 and a.parameters == 3 * 4 + 3
    assert torch.equal(a.trace.module.weight, b.trace.module.weight)
    assert not torch.equal(a.trace.module.weight, c.trace.module.weight)
    with pytest.raises(ExplorerError, match="Unknown kernel"):
        examples.comparison(x, "sharpen")


def test_notes_max_pool_is_confirmed():
    worked = examples.notes_max_pool()
    assert worked.trace.output.tolist() == [[[5.0, 8.0], [4.0, 9.0]]]
    assert worked.trace.indices.tolist() == [[[4, 7], [12, 15]]]
    assert worked.check.startswith("Correct.")


def test_mistakes_carry_the_true_numbers():
    nearest, bilinear = examples.mistakes()
    # 4x4 counting 1..16 -> 8x8 nearest: output (2, 3) reads floor(1), floor(1.5) = input (1, 1) = 6, not (1, 2) = 7
    assert nearest.trace.output[0, 0, 2, 3].item() == 6.0
    assert "input (1, 1) = 6, not input (1, 2) = 7" in nearest.what_goes_wrong
    # bilinear [[1, 2], [3, 4]] -> 4x4, align_corners=False: pixel (1, 1) at source (0.25, 0.25) is
    # 0.5625*1 + 0.1875*2 + 0.1875*3 + 0.0625*4 = 1.75; the notes' weights on 1, 2, 3, 4 give 3.25
    assert bilinear.trace.output[0, 0, 1, 1].item() == 1.75
    assert "is 1.75" in bilinear.what_goes_wrong and "give 3.25, not 2.5" in bilinear.what_goes_wrong
    aligned = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)(torch.tensor([[examples.NOTES_2X2]]))
    assert aligned[0, 0, 1, 1].item() == pytest.approx(2.0)  # 1 + 1/3 * 1 + 1/3 * 2
    assert "pixel (1, 1) is 2" in bilinear.what_goes_wrong
