"""Inputs, a layer comparison, and the seed notes' pooling and upsampling examples (right and wrong)."""
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..conv import trace_conv
from ..conv_config import ConvConfig, build_conv
from ..errors import ExplorerError
from ..pooling import trace_pool, trace_upsample
from . import Confirmed, Mistake
from .conv import input_preset as conv_preset
from .conv import kernel_preset, random_input  # noqa: F401  (random_input: the page's seeded random input)

NOTES_4X4 = [[1.0, 3.0, 2.0, 4.0], [5.0, 2.0, 6.0, 8.0], [3.0, 1.0, 0.0, 7.0], [4.0, 2.0, 1.0, 9.0]]
NOTES_2X2 = [[1.0, 2.0], [3.0, 4.0]]

POOL_INPUTS_2D = ("notes 4×4", "digit 7", "digit 0", "ramp 6×6", "checkerboard")
POOL_INPUTS_1D = ("counting 1..10", "spikes", "sine wave", "step")
UPSAMPLE_INPUTS_2D = ("notes 2×2", "counting 4×4", "checkerboard 4×4")
UPSAMPLE_INPUTS_1D = ("ramp 1..4", "step", "spike")

_OWN = {
    "notes 4×4": NOTES_4X4,
    "ramp 6×6": np.arange(36.0).reshape(6, 6),
    "spikes": [0.0, 3.0, 0.0, 0.0, 7.0, 1.0, 0.0, 5.0, 0.0, 2.0],
    "notes 2×2": NOTES_2X2,
    "counting 4×4": np.arange(1.0, 17.0).reshape(4, 4),
    "checkerboard 4×4": np.indices((4, 4)).sum(0) % 2,
    "ramp 1..4": [1.0, 2.0, 3.0, 4.0],
    "spike": [0.0, 0.0, 1.0, 0.0, 0.0],
}


def input_preset(name, channels=1):
    """A named input of shape (channels, H, W) or (channels, L), float64.

    Channel c is the pattern turned by c·90° (2D) or shifted by c steps (1D), so channels differ.

    >>> input_preset("notes 4×4").shape
    torch.Size([1, 4, 4])
    """
    if name not in _OWN:
        return conv_preset(name, channels)
    base = np.asarray(_OWN[name], dtype=float)
    turn = np.rot90 if base.ndim == 2 else np.roll
    return torch.tensor(np.stack([turn(base, c) for c in range(channels)]), dtype=torch.float64)


CONV_KERNELS = ("random (seeded)", "all ¼ (an average)", "edge (Sobel x)")


@dataclass(frozen=True)
class Compared:
    """One way of halving the input, for the comparison view.

    label: short name with the layer's settings
    trace: the PoolTrace or ConvTrace of the layer on the input
    parameters: how many learnable numbers the layer has
    """
    label: str
    trace: object
    parameters: int


def comparison(x, conv_kernel=CONV_KERNELS[0], seed=0):
    """Three ways to halve an image: MaxPool2d(2), AvgPool2d(2) and a stride-2 Conv2d with 2×2 kernels.

    The convolution is depthwise (groups = channels), so like pooling it treats each channel on its
    own; with every weight ¼ and no bias it computes exactly the average pool.

    Args:
        x: (N, C, H, W) float tensor.
        conv_kernel: one of CONV_KERNELS: the layer's seeded default initialisation, all weights ¼,
            or the 2×2 edge detector [[1, −1], [1, −1]] (both without bias).
        seed: seed of the random initialisation.

    Returns:
        [Compared] for max pool, average pool and the convolution; every output is (N, C, H//2, W//2).
    """
    channels = x.shape[1]
    cfg = ConvConfig(kind="Conv2d", in_channels=channels, out_channels=channels, kernel_size=2, stride=2,
                     groups=channels, bias=True)
    if conv_kernel not in CONV_KERNELS:
        raise ExplorerError(f"Unknown kernel {conv_kernel!r}; choose one of {', '.join(CONV_KERNELS)}.")
    if conv_kernel == CONV_KERNELS[0]:
        kernel = bias = None
    else:
        kernel = torch.full((2, 2), 0.25) if conv_kernel == CONV_KERNELS[1] else kernel_preset("edge (Sobel x)", 2, 2)
        bias = torch.zeros(channels)
    conv = build_conv(cfg, kernel=kernel, bias=bias, seed=seed, dtype=x.dtype)
    return [Compared("MaxPool2d(2)", trace_pool(nn.MaxPool2d(2), x), 0),
            Compared("AvgPool2d(2)", trace_pool(nn.AvgPool2d(2), x), 0),
            Compared(f"Conv2d({channels}, {channels}, 2, stride=2" + (f", groups={channels})" if channels > 1 else ")"),
                     trace_conv(conv, x),
                     sum(p.numel() for p in conv.parameters()))]


def notes_max_pool():
    """The notes' max pooling example: 4×4, 2×2 windows, stride 2 gives [[5, 8], [4, 9]]. It is right."""
    t = trace_pool(nn.MaxPool2d(2, stride=2, return_indices=True), torch.tensor([NOTES_4X4]))
    windows = [t.window(0, 0, i, j) for i in range(2) for j in range(2)]
    steps = "; ".join(f"max({', '.join(f'{cell.value:g}' for cell in w.cells)}) = {w.result:g}" for w in windows)
    return Confirmed(
        title="Max pooling a 4×4 map with 2×2 windows, stride 2",
        claim="F = [[1,3,2,4],[5,2,6,8],[3,1,0,7],[4,2,1,9]] pooled with 2×2 windows and stride 2 gives "
              "P = [[5, 8], [4, 9]].",
        check=f"Correct. The four windows do not overlap: {steps}. PyTorch also returns where each max came "
              f"from, as flat indices row·4 + col: {t.indices[0].tolist()}.",
        trace=t,
        code="pool = nn.MaxPool2d(2, stride=2, return_indices=True)\n"
             f"print(pool(torch.tensor([{NOTES_4X4}])))")


def mistakes():
    """The seed notes' upsampling examples that go wrong, each with the real trace."""
    return [_nearest_mistake(), _bilinear_mistake()]


def _nearest_mistake():
    x = torch.tensor(_OWN["counting 4×4"], dtype=torch.float32).view(1, 1, 4, 4)
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="nearest"), x)
    s = t.sources(0, 0, 2, 3)
    exact = trace_upsample(nn.Upsample(scale_factor=2, mode="nearest-exact"), x).sources(0, 0, 2, 3)
    (r,), (c,) = s.taps
    (re,), (ce,) = exact.taps
    return Mistake(
        title="Nearest upsampling floors the source coordinate; it does not round it",
        claim="4×4 → 8×8: the notes halve output (2, 3) to (1, 1.5), round it to (1, 2), and conclude "
              "I(2, 3) = I(1, 2).",
        what_goes_wrong=f"PyTorch's 'nearest' reads x[⌊i·in/out⌋]: ⌊2·0.5⌋ = {r} and ⌊3·0.5⌋ = ⌊1.5⌋ = {c}, "
                        f"so output (2, 3) copies input ({r}, {c}) = {s.total:g}, not input (1, 2) = "
                        f"{float(x[0, 0, 1, 2]):g}. 'nearest-exact' maps pixel centres, (i + 0.5)·in/out − 0.5 "
                        f"= ({exact.coord[0]:g}, {exact.coord[1]:g}), then takes the nearest cell: ({re}, {ce}).",
        trace=t,
        code="x = torch.arange(1., 17.).view(1, 1, 4, 4)\n"
             "y = nn.Upsample(scale_factor=2, mode='nearest')(x)\n"
             "print(y[0, 0, 2, 3], x[0, 0, 1, 1], x[0, 0, 1, 2])")


def _bilinear_mistake():
    x = torch.tensor([[NOTES_2X2]])
    t = trace_upsample(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), x)
    corners = trace_upsample(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), x)
    a = torch.tensor(0.75)  # the notes' alpha = beta = 1.5 / 2
    notes_weights = torch.stack([(1 - a) * (1 - a), a * (1 - a), (1 - a) * a, a * a])
    notes_value = float(notes_weights @ x.flatten())
    one, two = t.sources(0, 0, 1, 1), t.sources(0, 0, 2, 2)
    return Mistake(
        title="Bilinear upsampling: output pixels sit at whole positions, mapped back through pixel centres",
        claim="2×2 [[1, 2], [3, 4]] → 4×4: the value \"at (1.5, 1.5)\" is computed with α = β = 0.75 and "
              "weights 0.0625, 0.1875, 0.1875, 0.5625, and said to be 2.5.",
        what_goes_wrong=f"There is no output pixel (1.5, 1.5). With align_corners=False, PyTorch maps pixel i "
                        f"back to (i + 0.5)·2/4 − 0.5, so pixel (1, 1) reads source ({one.coord[0]:g}, "
                        f"{one.coord[1]:g}) and is {one.total:g}, pixel (2, 2) reads ({two.coord[0]:g}, "
                        f"{two.coord[1]:g}) and is {two.total:g}. With align_corners=True pixel i maps to "
                        f"i·(2 − 1)/(4 − 1) and pixel (1, 1) is {corners.sources(0, 0, 1, 1).total:g}. The notes' "
                        f"own weights applied to 1, 2, 3, 4 give {notes_value:g}, not 2.5; 2.5 is the plain "
                        "average of the four inputs.",
        trace=t,
        code="x = torch.tensor([[[[1., 2.], [3., 4.]]]])\n"
             "print(nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)(x))\n"
             "print(nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)(x))")
