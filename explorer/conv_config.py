"""Widget values -> a real convolution module, with every invalid combination explained.

torch's own constructor errors are terse ("in_channels must be divisible by groups"); a learner
gets a sentence that says which control to change instead.
"""
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ExplorerError

KINDS = {"Conv1d": nn.Conv1d, "Conv2d": nn.Conv2d,
         "ConvTranspose1d": nn.ConvTranspose1d, "ConvTranspose2d": nn.ConvTranspose2d}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


@dataclass(frozen=True)
class ConvConfig:
    """The constructor arguments the Convolution page exposes."""
    kind: str = "Conv2d"          # a key of KINDS
    in_channels: int = 1
    out_channels: int = 1
    kernel_size: int = 3
    stride: int = 1
    padding: object = 0           # int, or 'same' / 'valid' (forward convolutions only)
    dilation: int = 1
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"   # forward convolutions only
    output_padding: int = 0       # transposed convolutions only

    @property
    def dims(self):
        return 1 if self.kind.endswith("1d") else 2

    @property
    def transposed(self):
        return self.kind.startswith("ConvTranspose")

    def kwargs(self):
        """Keyword arguments for the torch constructor, only those the layer kind accepts."""
        kw = dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                  dilation=self.dilation, groups=self.groups, bias=self.bias)
        if self.transposed:
            kw["output_padding"] = self.output_padding
        else:
            kw["padding_mode"] = self.padding_mode
        return kw

    def code(self):
        """The constructor call as Python source."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs().items())
        return f"nn.{self.kind}({self.in_channels}, {self.out_channels}, {args})"


def validate(cfg):
    """Raise ExplorerError naming the control to change if torch would reject `cfg`."""
    if cfg.kind not in KINDS:
        raise ExplorerError(f"Unknown layer kind {cfg.kind!r}; choose one of {', '.join(KINDS)}.")
    for name in ("in_channels", "out_channels", "kernel_size", "stride", "dilation", "groups"):
        if int(getattr(cfg, name)) < 1:
            raise ExplorerError(f"{name} must be at least 1; it is {getattr(cfg, name)}.")
    if cfg.in_channels % cfg.groups or cfg.out_channels % cfg.groups:
        raise ExplorerError(
            f"groups={cfg.groups} must divide both in_channels ({cfg.in_channels}) and out_channels "
            f"({cfg.out_channels}): each group takes an equal share of the channels.")
    if isinstance(cfg.padding, str):
        if cfg.padding not in ("same", "valid"):
            raise ExplorerError(f"padding must be a number, 'same' or 'valid'; got {cfg.padding!r}.")
        if cfg.transposed:
            raise ExplorerError("A transposed convolution takes a number for padding, not "
                                f"'{cfg.padding}': its padding crops the output instead of padding the input.")
        if cfg.padding == "same" and cfg.stride != 1:
            raise ExplorerError("padding='same' keeps the output as large as the input, which a stride "
                                f"of {cfg.stride} cannot do. Set stride to 1 or choose a number for padding.")
    elif cfg.padding < 0:
        raise ExplorerError(f"padding cannot be negative; it is {cfg.padding}.")
    if cfg.transposed:
        if cfg.padding_mode != "zeros":
            raise ExplorerError("A transposed convolution only supports padding_mode='zeros'.")
        if not 0 <= cfg.output_padding < max(cfg.stride, cfg.dilation):
            raise ExplorerError(
                f"output_padding ({cfg.output_padding}) must be smaller than the stride ({cfg.stride}) or "
                f"the dilation ({cfg.dilation}): it only resolves which of several possible output sizes "
                "you want.")
    elif cfg.padding_mode not in PADDING_MODES:
        raise ExplorerError(f"padding_mode must be one of {', '.join(PADDING_MODES)}.")


def build_conv(cfg, kernel=None, bias=None, seed=0, dtype=torch.float32):
    """A real torch module for `cfg`, weights from `kernel` (broadcast to every slice) or seeded init.

    Args:
        cfg: ConvConfig.
        kernel: None for torch's default initialisation drawn from a Generator seeded with `seed`,
            or a tensor of kernel shape ((K,) or (K, K)) copied into every (out, in) slice,
            or a tensor of the full weight shape.
        bias: None for the seeded default, or a tensor of shape (out_channels,).
    """
    validate(cfg)
    # built on the meta device: torch's own init would draw from the global RNG, which every
    # session of the server shares; our weights come from a private Generator instead
    module = KINDS[cfg.kind](cfg.in_channels, cfg.out_channels, **cfg.kwargs(), dtype=dtype, device="meta")
    module = module.to_empty(device="cpu")
    g = torch.Generator().manual_seed(int(seed))
    bound = 1.0 / (module.weight[0].numel() ** 0.5)  # torch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    with torch.no_grad():
        if kernel is None:
            module.weight.copy_((torch.rand(module.weight.shape, generator=g, dtype=dtype) * 2 - 1) * bound)
        else:
            kernel = torch.as_tensor(kernel, dtype=dtype)
            k_shape = tuple(module.weight.shape[2:])
            if tuple(kernel.shape) == k_shape:
                module.weight.copy_(kernel.expand_as(module.weight))
            elif tuple(kernel.shape) == tuple(module.weight.shape):
                module.weight.copy_(kernel)
            else:
                raise ExplorerError(f"The kernel has shape {tuple(kernel.shape)} but this layer needs "
                                    f"{k_shape} (kernel_size={cfg.kernel_size}).")
        if module.bias is not None:
            if bias is None:
                module.bias.copy_((torch.rand(module.bias.shape, generator=g, dtype=dtype) * 2 - 1) * bound)
            else:
                module.bias.copy_(torch.as_tensor(bias, dtype=dtype).expand_as(module.bias))
    return module


def snippet(cfg, trace):
    """A runnable script that rebuilds this exact layer and input and prints the output."""
    from .snippets import module_snippet, tensor_literal
    return module_snippet(cfg.code(), trace.module,
                          extra_lines=[f"x = {tensor_literal(trace.x)}", "y = layer(x)"], prints=["y"])
