"""Uploaded images -> small tensors, refusing anything that is not a sane PNG or JPEG.

The pixel count is checked from the header before any decoding, so a 20000x20000 "image" costs
nothing but a message.
"""
import io

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import ExplorerError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 25_000_000
FORMATS = ("PNG", "JPEG")


def load_image(data, size, channels):
    """Decode PNG/JPEG bytes, resize so the longer side is `size`, scale to [0, 1].

    Args:
        data: the file's bytes.
        size: longest side of the result, in pixels.
        channels: 1 (grayscale) or 3 (RGB).

    Returns:
        float64 tensor (channels, H, W).
    """
    if channels not in (1, 3):
        raise ExplorerError(f"An image gives 1 channel (grayscale) or 3 (RGB); the layer wants {channels}. "
                            "Set in_channels to 1 or 3 to use an image.")
    if not data:
        raise ExplorerError("The uploaded file is empty. Choose a PNG or JPEG image.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ExplorerError(f"The file is {len(data) / 1e6:.1f} MB; upload an image under "
                            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ExplorerError(f"The image is too large to process here; upload one under "
                            f"{MAX_PIXELS // 1_000_000} megapixels.") from None
    except (UnidentifiedImageError, OSError):
        raise ExplorerError("That file is not an image this page can read. Upload a PNG or JPEG.") from None
    if img.format not in FORMATS:
        raise ExplorerError(f"That is a {img.format} file; upload a PNG or JPEG.")
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise ExplorerError(f"The image is {w}×{h} pixels, too large to process here; "
                            f"upload one under {MAX_PIXELS // 1_000_000} megapixels.")
    try:
        img = img.convert("L" if channels == 1 else "RGB")
    except (OSError, ValueError):
        raise ExplorerError("The image file is damaged or truncated; try saving it again.") from None
    scale = size / max(w, h)
    img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float64) / 255.0
    arr = arr[None] if channels == 1 else arr.transpose(2, 0, 1)             # (C, H, W)
    return torch.from_numpy(arr.copy())
