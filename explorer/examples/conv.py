"""Inputs, kernels and the seed notes' common mistakes for the Convolution page."""
import numpy as np
import torch
from torch import nn

from ..conv import trace_conv
from . import Mistake

_DIGITS = {
    "digit 0": ["..###..", ".#...#.", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."],
    "digit 1": ["...#...", "..##...", ".#.#...", "...#...", "...#...", "...#...", ".#####."],
    "digit 7": ["#######", ".....#.", "....#..", "...#...", "..#....", "..#....", "..#...."],
}

INPUTS_2D = ("digit 0", "digit 1", "digit 7", "vertical edge", "checkerboard")
INPUTS_1D = ("counting 1..10", "step", "sine wave")
INPUT_SIZES_HINT = "presets are 7×7 (2D) or 10 long (1D)"


def input_preset(name, channels):
    """A named input of shape (channels, H, W) or (channels, L); channel c is the pattern turned by c·90°
    (2D) or shifted by c steps (1D), so every channel differs."""
    if name in _DIGITS:
        base = np.array([[1.0 if ch == "#" else 0.0 for ch in row] for row in _DIGITS[name]])
    elif name == "vertical edge":
        base = np.zeros((7, 7))
        base[:, 3:] = 1.0
    elif name == "checkerboard":
        base = (np.indices((8, 8)).sum(0) % 2).astype(float)
    elif name == "counting 1..10":
        base = np.arange(1.0, 11.0)
    elif name == "step":
        base = np.r_[np.zeros(5), np.ones(5)]
    elif name == "sine wave":
        base = np.round(np.sin(np.arange(12) * 2 * np.pi / 12), 3)
    else:
        raise KeyError(name)
    if base.ndim == 2:
        stack = [np.rot90(base, c) for c in range(channels)]
    else:
        stack = [np.roll(base, c) for c in range(channels)]
    return torch.tensor(np.stack(stack), dtype=torch.float64)


def random_input(shape, seed):
    """Seeded standard-normal input, rounded to 2 decimals so the math panel stays readable."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.round(torch.randn(shape, generator=g, dtype=torch.float64) * 100) / 100


def _binomial(n):
    row = np.array([1.0])
    for _ in range(n):
        row = np.convolve(row, [1.0, 1.0])
    return row


def _derivative(k):
    """Central-difference-like row of length k: [1, 0, -1] for k=3, [1, -1] for k=2."""
    if k < 2:
        return np.zeros(1)
    return np.convolve(_binomial(k - 2), [1.0, -1.0])


KERNELS_2D = ("identity", "edge (Sobel x)", "edge (Sobel y)", "blur", "sharpen")
KERNELS_1D = ("differentiator", "identity", "moving average")


def kernel_preset(name, k, dims):
    """A named kernel of size k (k×k for 2D), generalised beyond 3 where the idea allows.

    Sobel x at k=3 is [[1,0,-1],[2,0,-2],[1,0,-1]]; blur is the binomial (Gaussian-like) filter.
    """
    ident = np.zeros(k)
    ident[(k - 1) // 2] = 1.0
    if dims == 1:
        table = {"differentiator": _derivative(k), "identity": ident, "moving average": np.full(k, 1.0 / k)}
        return torch.tensor(table[name], dtype=torch.float64)
    smooth = _binomial(k - 1)
    blur = np.outer(smooth, smooth) / smooth.sum() ** 2
    table = {
        "identity": np.outer(ident, ident),
        "edge (Sobel x)": np.outer(smooth, _derivative(k)),
        "edge (Sobel y)": np.outer(_derivative(k), smooth),
        "blur": blur,
        "sharpen": 2 * np.outer(ident, ident) - blur,
    }
    return torch.tensor(table[name], dtype=torch.float64)


def _fixed_conv(kind, kernel, **kw):
    w = torch.tensor(kernel, dtype=torch.float32)
    m = kind(1, 1, w.shape[-1], bias=False, **kw)
    with torch.no_grad():
        m.weight.copy_(w.view_as(m.weight) if kind is nn.Conv2d else w.view(1, 1, *w.shape))
    return m


def mistakes():
    """The seed notes' convolution examples that go wrong, each with the real trace."""
    conv = _fixed_conv(nn.Conv2d, [[-1.0, 1.0], [1.0, -1.0]])
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)
    forward = Mistake(
        title="A 3×3 input with a 2×2 kernel gives a 2×2 map, and the kernel is not flipped",
        claim="Input 1..9 as a 3×3 grid, kernel [[-1, 1], [1, -1]]: the notes write the output as the "
              "4-vector [2+b, 0+b, 0+b, -2+b], computing the first value as −1+2+4−5 = 2.",
        what_goes_wrong="The written products do not add up (−1+2+4−5 is 0, not 2), and the output is a 2×2 "
                        "map, not a vector. PyTorch's convolution is cross-correlation: each window is "
                        "multiplied by the kernel as it is, unflipped. The first window [[1,2],[4,5]] gives "
                        "1·(−1) + 2·1 + 4·1 + 5·(−1) = 0.",
        trace=trace_conv(conv, x),
        code="conv = nn.Conv2d(1, 1, 2, bias=False)\n"
             "conv.weight.data = torch.tensor([[[[-1., 1.], [1., -1.]]]])\n"
             "print(conv(torch.arange(1., 10.).view(1, 1, 3, 3)))")
    tconv = nn.ConvTranspose2d(1, 1, 3, stride=2, bias=False)
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor([[[[1.0, 0, 1], [0, 1, 0], [1, 0, 1]]]]))
    xt = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    transposed = Mistake(
        title="Transposed convolution: overlapping kernel copies add up",
        claim="x = [[1,2],[3,4]], W = [[1,0,1],[0,1,0],[1,0,1]], stride 2: the notes give a 5×5 output whose "
              "centre row is [1, 0, 3, 0, 2], drawn by inserting zeros between inputs without padding.",
        what_goes_wrong="Each input cell scatters a copy of the kernel scaled by its value, two cells apart; "
                        "where copies overlap they add. The centre cell receives a corner of all four copies "
                        "(1+2+3+4 = 10). The zero-insertion picture also needs k−1 = 2 cells of padding "
                        "around the dilated input.",
        trace=trace_conv(tconv, xt),
        code="tconv = nn.ConvTranspose2d(1, 1, 3, stride=2, bias=False)\n"
             "tconv.weight.data = torch.tensor([[[[1., 0, 1], [0, 1, 0], [1, 0, 1]]]])\n"
             "print(tconv(torch.tensor([[[[1., 2.], [3., 4.]]]])))")
    return [forward, transposed]
