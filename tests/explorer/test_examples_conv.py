"""Presets, typed values, image uploads and the seed notes' mistakes for the Convolution page."""
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import ExplorerError
from explorer.examples import conv as ex
from explorer.examples.images import load_image
from explorer.examples.parse import format_grid, parse_channels, parse_grid


def test_kernel_presets_match_the_textbook_3x3_kernels():
    assert ex.kernel_preset("edge (Sobel x)", 3, 2).tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert ex.kernel_preset("edge (Sobel y)", 3, 2).tolist() == [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    assert ex.kernel_preset("identity", 3, 2).tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert ex.kernel_preset("differentiator", 3, 1).tolist() == [1, 0, -1]
    blur = ex.kernel_preset("blur", 3, 2)
    assert torch.allclose(blur, torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=torch.float64) / 16)
    sharpen = ex.kernel_preset("sharpen", 3, 2)
    assert abs(float(sharpen.sum()) - 1.0) < 1e-12  # 2*identity - blur keeps the mean


@pytest.mark.parametrize("k", [1, 2, 4, 5, 7])
def test_every_kernel_preset_exists_at_every_size(k):
    for name in ex.KERNELS_2D:
        assert ex.kernel_preset(name, k, 2).shape == (k, k)
    for name in ex.KERNELS_1D:
        assert ex.kernel_preset(name, k, 1).shape == (k,)


def test_input_presets_differ_per_channel():
    x = ex.input_preset("digit 7", 3)
    assert x.shape == (3, 7, 7)
    assert not torch.equal(x[0], x[1])
    assert torch.equal(x[1], torch.from_numpy(np.rot90(x[0].numpy()).copy()))
    assert ex.input_preset("counting 1..10", 1).flatten().tolist() == [float(i) for i in range(1, 11)]


def test_random_input_is_seeded():
    assert torch.equal(ex.random_input((2, 4, 4), 5), ex.random_input((2, 4, 4), 5))
    assert not torch.equal(ex.random_input((2, 4, 4), 5), ex.random_input((2, 4, 4), 6))


def test_parse_grid_round_trips():
    t = torch.tensor([[1.5, -2.0], [0.25, 3.0]], dtype=torch.float64)
    assert torch.equal(parse_grid(format_grid(t)), t)
    assert parse_grid("1 2; 3 4").tolist() == [[1, 2], [3, 4]]
    assert parse_channels("1, 2\n3, 4\n\n5, 6\n7, 8").shape == (2, 2, 2)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("1, 2\n3", "different lengths"),
    ("1, x", "not a number"),
    ("1, inf", "finite"),
    ("\n".join(", ".join(["1"] * 100) for _ in range(100)), "at most"),
])
def test_parse_grid_errors(text, message):
    with pytest.raises(ExplorerError, match=message):
        parse_grid(text)


def test_parse_channels_needs_equal_sizes():
    with pytest.raises(ExplorerError, match="same size"):
        parse_channels("1, 2\n\n1, 2, 3")


def _png(w, h, color=(255, 0, 0)):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, format="PNG")
    return buf.getvalue()


def _png_header_only(w, h):
    """A PNG whose header claims w x h pixels, with no real pixel data behind it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_image_upload_is_resized_and_scaled():
    x = load_image(_png(40, 20, (255, 0, 0)), 10, 3)
    assert x.shape == (3, 5, 10)
    assert float(x[0].min()) == 1.0 and float(x[1].max()) == 0.0   # pure red
    g = load_image(_png(8, 8, (255, 255, 255)), 4, 1)
    assert g.shape == (1, 4, 4) and float(g.min()) == 1.0


@pytest.mark.parametrize("data, channels, message", [
    (b"", 1, "empty"),
    (b"this is not an image", 1, "not an image"),
    (_png_header_only(20000, 20000), 1, "too large"),
    (_png(4, 4), 2, "1 channel"),
])
def test_image_upload_errors(data, channels, message):
    with pytest.raises(ExplorerError, match=message):
        load_image(data, 8, channels)


def test_truncated_png_is_reported():
    data = _png(64, 64, (10, 200, 30))
    with pytest.raises(ExplorerError, match="damaged|not an image"):
        load_image(data[: len(data) // 2], 8, 3)


def test_mistakes_carry_the_real_numbers():
    forward, transposed = ex.mistakes()
    # hand-derived in test_conv.py: all-zero 2x2 map, and 10 at the centre of the scattered output
    assert forward.trace.output.shape == (1, 1, 2, 2)
    assert forward.trace.output.abs().max() == 0
    assert float(transposed.trace.output[0, 0, 2, 2]) == 10.0
    assert transposed.trace.output.shape == (1, 1, 5, 5)
