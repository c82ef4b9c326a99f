"""Checks shared by every trace: module type, tensor type, batch dimension.

Each check raises ExplorerError with a sentence that says what to change, so a page can show
it as is.
"""
import torch

from .errors import ExplorerError


def require_module(module, kinds, what):
    """Raise unless `module` is an instance of one of `kinds` (a tuple of nn.Module classes)."""
    if not isinstance(module, kinds):
        names = ", ".join(k.__name__ for k in kinds)
        got = type(module).__name__
        raise ExplorerError(f"{what} takes one of {names}; got {got}.")


def require_tensor(x, name="input"):
    """Raise unless `x` is a floating-point torch.Tensor with no NaN or infinity."""
    if not isinstance(x, torch.Tensor):
        raise ExplorerError(f"The {name} must be a torch.Tensor; got {type(x).__name__}.")
    if not x.is_floating_point():
        raise ExplorerError(
            f"The {name} must hold floating-point numbers (float32 or float64); got {x.dtype}. "
            "Use x.float() to convert it.")
    # a finite sum proves every element finite (a NaN or an infinity would spread into it); only
    # when it is not (a NaN, an infinity, or just overflow) is the elementwise check needed
    if x.numel() and not bool(torch.isfinite(x.sum())) and not bool(torch.isfinite(x).all()):
        raise ExplorerError(f"The {name} contains NaN or infinity; every value must be a finite number.")


def require_dtype_match(module, x):
    """Raise if the module's parameters and the input have different dtypes."""
    for p in module.parameters():
        if p.dtype != x.dtype:
            raise ExplorerError(
                f"The input is {x.dtype} but the layer's parameters are {p.dtype}; "
                f"convert one of them (module.to({x.dtype}) or x.to({p.dtype})).")
        break


def add_batch_dim(x, batched_ndim, layout, name="input"):
    """Return (x with a batch dim, whether one was added) for an input of `batched_ndim` dims.

    `layout` names the batched dims for the message, e.g. "(N, C, H, W)".
    """
    if x.dim() == batched_ndim:
        return x, False
    if x.dim() == batched_ndim - 1:
        return x.unsqueeze(0), True
    raise ExplorerError(
        f"The {name} has shape {tuple(x.shape)} ({x.dim()} dims) but this layer expects "
        f"{batched_ndim} dims {layout}, or {batched_ndim - 1} without the batch dim.")


def max_abs_error(output, manual):
    """The largest absolute difference between the module's output and our recomputation."""
    if output.numel() == 0:
        return 0.0
    return float((output.detach() - manual.detach()).abs().max())


def no_grad_forward(module, *args, **kwargs):
    """Run the module's own forward without building a graph."""
    with torch.no_grad():
        return module(*args, **kwargs)


__all__ = ["require_module", "require_tensor", "require_dtype_match", "add_batch_dim",
           "max_abs_error", "no_grad_forward"]
