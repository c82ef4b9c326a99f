"""Widget values -> building-block layers, their parameter counts, and the PyTorch that rebuilds them.

One frozen dataclass per block (hashable, so a page can cache by it), a `build_*` that makes the
real module from it and a seed, and a `*_snippet` that writes a script printing the same numbers
as the trace: floats are written with repr() (see explorer.snippets), so they round-trip exactly.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch

from .errors import ExplorerError
from .examples import basic as ex
from .snippets import module_snippet, tensor_literal

LINEAR_KINDS = ("Linear", "Bilinear")


@dataclass(frozen=True)
class LinearConfig:
    kind: str = "Linear"        # "Linear" or "Bilinear"
    in_features: int = 4        # Linear: in_features; Bilinear: in1_features
    in2_features: int = 3       # Bilinear only: length of the second input
    out_features: int = 3
    bias: bool = True

    def code(self):
        bias = "" if self.bias else ", bias=False"
        if self.kind == "Bilinear":
            return f"nn.Bilinear({self.in_features}, {self.in2_features}, {self.out_features}{bias})"
        return f"nn.Linear({self.in_features}, {self.out_features}{bias})"


def linear_config_of(module):
    """The config that describes an existing Linear or Bilinear (e.g. a preset's)."""
    if type(module).__name__ == "Bilinear":
        return LinearConfig("Bilinear", module.in1_features, module.in2_features, module.out_features,
                            module.bias is not None)
    return LinearConfig("Linear", module.in_features, 3, module.out_features, module.bias is not None)


def build_linear(cfg, *, seed=0, dtype=torch.float64):
    """The seeded layer of `cfg`: parameters uniform in ±1/√fan_in (torch's range), 2 decimals."""
    if cfg.kind not in LINEAR_KINDS:
        raise ExplorerError(f"Unknown layer kind {cfg.kind!r}; choose one of {', '.join(LINEAR_KINDS)}.")
    if cfg.kind == "Bilinear":
        return ex.seeded_bilinear(cfg.in_features, cfg.in2_features, cfg.out_features, bias=cfg.bias, seed=seed,
                                  dtype=dtype)
    return ex.seeded_linear(cfg.in_features, cfg.out_features, bias=cfg.bias, seed=seed, dtype=dtype)


def linear_snippet(cfg, trace):
    """A script that rebuilds this layer and input and prints y."""
    inputs = [f"x1 = {tensor_literal(trace.x)}", f"x2 = {tensor_literal(trace.x2)}", "y = layer(x1, x2)"] \
        if trace.bilinear else [f"x = {tensor_literal(trace.x)}", "y = layer(x)"]
    return module_snippet(cfg.code(), trace.module, extra_lines=inputs, prints=["y"])


def parameter_count(module):
    """(total, "how it adds up") for a Linear, Bilinear or Embedding.

    >>> parameter_count(torch.nn.Linear(4, 3))
    (15, '4 × 3 weights + 3 biases = 15')
    """
    name = type(module).__name__
    if name == "Embedding":
        n = module.weight.numel()
        return n, f"{module.num_embeddings} rows × {module.embedding_dim} = {n:,} (no bias)"
    w = module.weight.numel()
    b = 0 if module.bias is None else module.bias.numel()
    sizes = " × ".join(str(s) for s in module.weight.shape[1:] + module.weight.shape[:1])
    biases = f" + {b} biases" if b else " (no bias)"
    return w + b, f"{sizes} weights{biases} = {w + b:,}"


@dataclass(frozen=True)
class EmbeddingConfig:
    num_embeddings: int = len(ex.VOCAB)   # rows of the table (the vocabulary size)
    embedding_dim: int = 4                # length of each row
    padding_idx: Optional[int] = ex.PAD_ID  # a row that stays zeros and gets no gradient; None for none
    max_norm: Optional[float] = None      # rows longer than this are rescaled in the forward; None: never
    norm_type: float = 2.0                # p of the p-norm max_norm bounds

    def code(self):
        parts = [str(self.num_embeddings), str(self.embedding_dim)]
        if self.padding_idx is not None:
            parts.append(f"padding_idx={self.padding_idx}")
        if self.max_norm is not None:
            parts.append(f"max_norm={self.max_norm!r}")
            if self.norm_type != 2.0:
                parts.append(f"norm_type={self.norm_type!r}")
        return f"nn.Embedding({', '.join(parts)})"


def build_embedding(cfg, *, seed=0, dtype=torch.float64):
    """The seeded table of `cfg`: N(0, 1) rows (torch's init) rounded to 2 decimals, padding row zeros."""
    if not (isinstance(cfg.norm_type, (int, float)) and math.isfinite(cfg.norm_type) and cfg.norm_type > 0):
        raise ExplorerError(f"norm_type must be a positive number (2 is the usual length); got {cfg.norm_type!r}.")
    return ex.seeded_embedding(cfg.num_embeddings, cfg.embedding_dim, padding_idx=cfg.padding_idx,
                               max_norm=cfg.max_norm, norm_type=float(cfg.norm_type), seed=seed, dtype=dtype)


def embedding_snippet(cfg, trace):
    """A script that rebuilds the table as it was before the lookup, looks the ids up and prints the
    rows; with max_norm it also prints the looked-up rows of the table afterwards (changed in place)."""
    before = trace.module.__class__(cfg.num_embeddings, cfg.embedding_dim, dtype=trace.table_before.dtype)
    with torch.no_grad():
        before.weight.copy_(trace.table_before)          # the parameters as they were before the forward
    lines = [f"ids = torch.tensor({trace.indices.tolist()})", "y = layer(ids)"]
    prints = ["y"]
    if cfg.max_norm is not None:
        lines.append("# max_norm rescaled the looked-up rows of the table itself, in place:")
        prints.append(f"layer.weight[{trace.looked_up.tolist()}]")
    return module_snippet(cfg.code(), before, extra_lines=lines, prints=prints)


@dataclass(frozen=True)
class DropoutConfig:
    p: float = ex.NOTES_DROPOUT_P   # chance that each value is zeroed
    training: bool = True           # train mode drops and rescales; eval mode is the identity

    def code(self):
        return f"nn.Dropout(p={self.p!r})"


def dropout_snippet(cfg, trace):
    """A script whose real nn.Dropout draws the page's mask: the page draws it from
    torch.Generator().manual_seed(seed), and nn.Dropout draws the same bits from the global
    generator after torch.manual_seed(seed) (fine in your own script; a server shared by many
    learners must not reseed its global generator)."""
    lines = ["import torch", "from torch import nn", "", f"drop = {cfg.code()}",
             f"x = {tensor_literal(trace.x)}"]
    if cfg.training:
        lines += [f"torch.manual_seed({trace.seed})   # the page's seed: the same mask",
                  "y = drop(x)                # train mode: kept values × 1/(1 − p)",
                  "print(y)",
                  "print(y != 0)              # the mask (a kept value that is 0 would show False)"]
    else:
        lines += ["drop.eval()", "y = drop(x)                # eval mode: the identity", "print(y)"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ActivationConfig:
    name: str = "GELU"              # one of explorer.examples.basic.ACTIVATIONS
    negative_slope: float = 0.01    # LeakyReLU
    alpha: float = 1.0              # ELU
    beta: float = 1.0               # Softplus
    threshold: float = 20.0         # Softplus: above beta·x > threshold it returns x
    temperature: float = 1.0        # Softmax: softmax(x / T)

    def code(self):
        return {
            "LeakyReLU": f"nn.LeakyReLU(negative_slope={self.negative_slope!r})",
            "ELU": f"nn.ELU(alpha={self.alpha!r})",
            "GELU": "nn.GELU()",
            "GELU (tanh)": "nn.GELU(approximate='tanh')",
            "Softplus": f"nn.Softplus(beta={self.beta!r}, threshold={self.threshold!r})",
            "Softmax": "nn.Softmax(dim=-1)",
        }.get(self.name, f"nn.{self.name}()")


def build_activation(cfg):
    if cfg.name == "Softplus" and cfg.beta == 0:
        raise ExplorerError("Softplus with beta = 0 divides by zero; use a beta other than 0 (1 is the default).")
    return ex.activation_layer(cfg.name, negative_slope=cfg.negative_slope, alpha=cfg.alpha, beta=cfg.beta,
                               threshold=cfg.threshold, dim=-1)


def activation_snippet(cfg, x):
    """A script that applies the activation to x (Softmax: to x / T) and prints f and its slope:
    df/dx by autograd (Softmax: the diagonal ∂s_i/∂x_i of its Jacobian, wrt the tempered scores)."""
    lines = ["import torch", "from torch import nn", "", f"act = {cfg.code()}", f"x = {tensor_literal(x)}"]
    if cfg.name == "Softmax":
        lines += [f"z = x / {cfg.temperature!r}            # temperature T = {cfg.temperature:g}",
                  "y = act(z)", "print(y)",
                  "J = torch.autograd.functional.jacobian(act, z)",
                  "print(J.diagonal())          # ∂s_i/∂z_i = s_i·(1 − s_i)"]
    else:
        lines += ["x.requires_grad_(True)", "y = act(x)", "(slope,) = torch.autograd.grad(y.sum(), x)",
                  "print(y.detach())", "print(slope)                 # f'(x) at each input"]
    return "\n".join(lines) + "\n"


__all__ = ["LinearConfig", "EmbeddingConfig", "DropoutConfig", "ActivationConfig", "LINEAR_KINDS",
           "build_linear", "build_embedding", "build_activation", "linear_config_of", "parameter_count",
           "linear_snippet", "embedding_snippet", "dropout_snippet", "activation_snippet"]
