"""Widget values -> a real pooling or upsampling module, and the PyTorch source that rebuilds it.

torch accepts many settings it later refuses at forward time (a padding larger than half the
kernel, align_corners on a nearest upsampling); here each such combination gets a sentence naming
the control to change, before any module runs.
"""
from dataclasses import dataclass, field

from torch import nn

from .errors import ExplorerError
from .snippets import tensor_literal

POOL_KINDS = {
    "MaxPool1d": nn.MaxPool1d, "MaxPool2d": nn.MaxPool2d,
    "AvgPool1d": nn.AvgPool1d, "AvgPool2d": nn.AvgPool2d,
    "AdaptiveMaxPool1d": nn.AdaptiveMaxPool1d, "AdaptiveMaxPool2d": nn.AdaptiveMaxPool2d,
    "AdaptiveAvgPool1d": nn.AdaptiveAvgPool1d, "AdaptiveAvgPool2d": nn.AdaptiveAvgPool2d,
    "LPPool1d": nn.LPPool1d, "LPPool2d": nn.LPPool2d,
}
UNPOOL = {1: nn.MaxUnpool1d, 2: nn.MaxUnpool2d}
UPSAMPLE_MODES = {1: ("nearest", "nearest-exact", "linear"), 2: ("nearest", "nearest-exact", "bilinear", "bicubic")}
LINEAR_MODES = ("linear", "bilinear", "bicubic")


@dataclass(frozen=True)
class PoolConfig:
    """The constructor arguments the Pooling page exposes; each kind uses the ones it accepts."""
    kind: str = "MaxPool2d"          # a key of POOL_KINDS
    kernel_size: int = 2             # fixed-window kinds
    stride: int = 2                  # fixed-window kinds
    padding: int = 0                 # MaxPool, AvgPool
    dilation: int = 1                # MaxPool
    ceil_mode: bool = False          # fixed-window kinds: keep a last window that hangs past the input
    return_indices: bool = False     # MaxPool, AdaptiveMaxPool
    count_include_pad: bool = True   # AvgPool: padding cells count in the divisor
    divisor_override: int = 0        # AvgPool2d: divide by this instead of the count; 0 = not set
    norm_type: float = 2.0           # LPPool: the power p
    output_size: tuple = field(default=(2, 2))  # adaptive kinds: one length per spatial dim

    @property
    def dims(self):
        return 1 if self.kind.endswith("1d") else 2

    @property
    def family(self):
        """"max", "avg" or "lp"."""
        return "max" if "Max" in self.kind else "avg" if "Avg" in self.kind else "lp"

    @property
    def adaptive(self):
        return self.kind.startswith("Adaptive")

    def kwargs(self):
        """Keyword arguments for the torch constructor, only those the layer kind takes, defaults left out."""
        if self.adaptive:
            size = self.output_size[0] if self.dims == 1 else tuple(self.output_size[:2])
            kw = dict(output_size=size)
            if self.family == "max" and self.return_indices:
                kw["return_indices"] = True
            return kw
        kw = dict(norm_type=self.norm_type) if self.family == "lp" else {}
        kw.update(kernel_size=self.kernel_size, stride=self.stride)
        if self.family != "lp" and self.padding:
            kw["padding"] = self.padding
        if self.family == "max":
            if self.dilation != 1:
                kw["dilation"] = self.dilation
            if self.return_indices:
                kw["return_indices"] = True
        if self.ceil_mode:
            kw["ceil_mode"] = True
        if self.family == "avg":
            if not self.count_include_pad:
                kw["count_include_pad"] = False
            if self.divisor_override and self.dims == 2:
                kw["divisor_override"] = self.divisor_override
        return kw

    def code(self):
        """The constructor call as Python source."""
        return f"nn.{self.kind}({', '.join(f'{k}={v!r}' for k, v in self.kwargs().items())})"


def validate_pool(cfg):
    """Raise ExplorerError naming the control to change if `cfg` cannot make a working layer."""
    if cfg.kind not in POOL_KINDS:
        raise ExplorerError(f"Unknown layer kind {cfg.kind!r}; choose one of {', '.join(POOL_KINDS)}.")
    if cfg.adaptive:
        if len(cfg.output_size) < cfg.dims or min(cfg.output_size[:cfg.dims]) < 1:
            raise ExplorerError(f"output_size needs {cfg.dims} length(s) of at least 1; got {cfg.output_size}.")
        return
    for name in ("kernel_size", "stride", "dilation"):
        if getattr(cfg, name) < 1:
            raise ExplorerError(f"{name} must be at least 1; it is {getattr(cfg, name)}.")
    if cfg.family != "lp" and not 0 <= cfg.padding <= cfg.kernel_size // 2:
        raise ExplorerError(f"padding is {cfg.padding} but pooling allows 0 to half the kernel "
                            f"({cfg.kernel_size // 2} for kernel_size {cfg.kernel_size}). Lower the padding or "
                            "enlarge the kernel.")
    if cfg.family == "lp" and not 0 < cfg.norm_type < float("inf"):
        raise ExplorerError(f"norm_type is {cfg.norm_type}; use a positive power such as 1, 2 or 3.")
    if cfg.divisor_override < 0:
        raise ExplorerError(f"divisor_override must be positive (or 0 for none); it is {cfg.divisor_override}.")


def build_pool(cfg):
    """A real torch pooling module for `cfg` (no parameters, so nothing to seed)."""
    validate_pool(cfg)
    return POOL_KINDS[cfg.kind](**cfg.kwargs())


def unpool_code(cfg):
    """The nn.MaxUnpool constructor that undoes a MaxPool of `cfg`, as Python source."""
    args = f"kernel_size={cfg.kernel_size}, stride={cfg.stride}" + (f", padding={cfg.padding}" if cfg.padding else "")
    return f"nn.MaxUnpool{cfg.dims}d({args})"


def pool_snippet(cfg, trace):
    """A runnable script that rebuilds this exact layer and input and prints the output (and, for max
    pooling, the argmax indices and what MaxUnpool puts back)."""
    lines = ["import torch", "from torch import nn", "", f"layer = {cfg.code()}", f"x = {tensor_literal(trace.x)}"]
    if cfg.family == "max" and cfg.return_indices:
        lines += ["y, indices = layer(x)", "print(y)", "print(indices)"]
        if not cfg.adaptive:
            lines += [f"unpool = {unpool_code(cfg)}",
                      f"print(unpool(y, indices, output_size=x.shape[-{cfg.dims}:]))"]
    else:
        lines += ["y = layer(x)", "print(y)"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class UpsampleConfig:
    """The nn.Upsample arguments the page exposes."""
    dims: int = 2                  # 1 (N, C, L) or 2 (N, C, H, W)
    mode: str = "bilinear"         # one of UPSAMPLE_MODES[dims]
    scale_factor: float = 2.0
    align_corners: bool = False    # linear, bilinear and bicubic only

    def kwargs(self):
        kw = dict(scale_factor=float(self.scale_factor), mode=self.mode)
        if self.mode in LINEAR_MODES:
            kw["align_corners"] = bool(self.align_corners)
        return kw

    def code(self):
        return f"nn.Upsample({', '.join(f'{k}={v!r}' for k, v in self.kwargs().items())})"


def validate_upsample(cfg):
    if cfg.dims not in UPSAMPLE_MODES:
        raise ExplorerError(f"Upsampling here is 1D or 2D; got {cfg.dims} spatial dims.")
    if cfg.mode not in UPSAMPLE_MODES[cfg.dims]:
        raise ExplorerError(f"Mode {cfg.mode!r} does not work on a {cfg.dims}D input; choose one of "
                            f"{', '.join(UPSAMPLE_MODES[cfg.dims])}.")
    if not cfg.scale_factor > 0:
        raise ExplorerError(f"scale_factor must be positive; it is {cfg.scale_factor}.")


def build_upsample(cfg, align_corners=None):
    """nn.Upsample for `cfg`; `align_corners` overrides the config's (to compare both settings)."""
    validate_upsample(cfg)
    kw = cfg.kwargs()
    if align_corners is not None and cfg.mode in LINEAR_MODES:
        kw["align_corners"] = bool(align_corners)
    return nn.Upsample(**kw)


def upsample_snippet(cfg, trace):
    """A runnable script that rebuilds this exact upsampling and input and prints the output."""
    return "\n".join(["import torch", "from torch import nn", "", f"layer = {cfg.code()}",
                      f"x = {tensor_literal(trace.x)}", "y = layer(x)", "print(y)"]) + "\n"
