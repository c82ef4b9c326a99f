"""PyTorch source code that reproduces what a page shows, number for number.

Floats are written with repr(), which round-trips exactly, so the snippet's module and input hold
the very same values as the page's. Large tensors are written as their raw bytes in base64: exact
too, and a 512x512 image stays one short line instead of megabytes of digits.
"""
import base64

import numpy as np
import torch

MAX_LITERAL_VALUES = 1024


def tensor_literal(t):
    """Python source for a tensor with exactly these values and this dtype.

    >>> tensor_literal(torch.tensor([1.5, -2.0]))
    'torch.tensor([1.5, -2.0])'
    """
    t = t.detach()
    dtype = "" if t.dtype == torch.float32 else f", dtype={t.dtype}"
    if t.numel() > MAX_LITERAL_VALUES and t.is_floating_point():
        data = base64.b64encode(t.contiguous().cpu().numpy().astype(f"<{t.numpy().dtype.str[1:]}").tobytes())
        shape = ", ".join(map(str, t.shape))
        return (f'torch.frombuffer(bytearray(__import__("base64").b64decode("{data.decode()}")), '
                f"dtype={t.dtype}).reshape({shape})")
    if t.dtype == torch.float32:  # the shortest text that rounds back to the same float32
        return f"torch.tensor({_nested(t.numpy().tolist(), lambda v: str(np.float32(v)))}{dtype})"
    return f"torch.tensor({_nested(t.double().tolist(), lambda v: repr(float(v)))}{dtype})"


def _nested(v, fmt):
    if isinstance(v, list):
        return "[" + ", ".join(_nested(e, fmt) for e in v) + "]"
    return fmt(v)


def module_snippet(constructor, module, x_literal_name="x", extra_lines=(), prints=()):
    """A runnable script: build the module, load its exact parameters, run it, print results.

    Args:
        constructor: source of the constructor call, e.g. "nn.Conv2d(1, 1, kernel_size=3)".
        module: the module whose parameters are copied in.
        extra_lines: lines placed after the input is defined (e.g. the input tensor itself).
        prints: expressions to print at the end.
    """
    lines = ["import torch", "from torch import nn", "", f"layer = {constructor}"]
    if any(p.dtype == torch.float64 for p in module.parameters()):
        lines.append("layer = layer.double()")
    params = list(module.named_parameters())
    if params:
        lines.append("with torch.no_grad():")
    for name, p in params:
        lines.append(f"    layer.{name}.copy_({tensor_literal(p)})")
    lines += list(extra_lines)
    lines += [f"print({p})" for p in prints]
    return "\n".join(lines) + "\n"
