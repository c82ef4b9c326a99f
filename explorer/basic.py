"""The basic building blocks: linear layers are dot products, an embedding is a table lookup.

    Linear:    y_j = sum_i x_i * W[j, i] + b_j                     (one dot product per output)
    Bilinear:  y_j = x1^T A_j x2 + b_j = sum_i sum_k x1_i * A[j, i, k] * x2_k + b_j
    Embedding: y = W[index]                                          (one table row per token)

Dropout (dropout.py) and the activations (activations.py) live in their own files and are
re-exported here, so every building block imports from explorer.basic.
"""
import copy
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .activations import (ActivationTrace, Curve, TemperatureSweep, apply_temperature, temperature_sweep,
                          trace_activation)
from .dropout import DropoutMean, DropoutTrace, dropout_expectation, trace_dropout
from .errors import ExplorerError
from .validate import max_abs_error, no_grad_forward, require_dtype_match, require_module, require_tensor

# torch's embedding_renorm_ divides by (norm + 1e-7) so a renormalized row lands just under max_norm
RENORM_EPS = 1e-7


@dataclass(frozen=True)
class Term:
    """One product inside an output value."""
    index: tuple              # (i,) for Linear: x_i * W[j, i]; (i, k) for Bilinear: x1_i * A[j, i, k] * x2_k
    x: float                  # x_i (Bilinear: x1_i)
    w: float                  # W[j, i] (Bilinear: A[j, i, k])
    x2: Optional[float]       # Bilinear: x2_k; None for Linear
    product: float


@dataclass(frozen=True)
class Dot:
    """Everything that makes one output value: the products, the bias, their sum."""
    position: tuple           # (n, j): input row (leading dims flattened) and output feature
    terms: list               # list of Term, in weight order
    bias: float               # b_j, 0.0 without a bias
    total: float              # sum of products + bias; equals output at (n, j)


@dataclass(frozen=True)
class LinearTrace:
    """A Linear or Bilinear layer's forward pass, with every output recomputed as a dot product."""
    module: nn.Module
    x: torch.Tensor                 # the input as given (Bilinear: x1), (*, in_features)
    x2: Optional[torch.Tensor]      # Bilinear's second input (*, in2_features); None for Linear
    output: torch.Tensor            # module(x) under no_grad, (*, out_features)
    manual: torch.Tensor            # sum_i x_i * W[j, i] + b_j for every row and j
    max_abs_error: float
    weight: torch.Tensor            # a copy of W (out, in) or A (out, in1, in2)
    bias: Optional[torch.Tensor]    # a copy of b (out,); None without a bias

    @property
    def bilinear(self):
        return self.x2 is not None

    @property
    def rows(self):
        """How many input vectors the leading dims hold (1 for an unbatched input)."""
        return math.prod(self.x.shape[:-1])

    @property
    def out_features(self):
        return self.weight.shape[0]

    def dot(self, n, j):
        """The products, bias and total behind output row n, feature j.

        Args:
            n: input row, counting the leading dims flattened in order (0 for an unbatched input).
            j: output feature, 0 to out_features - 1.

        >>> lin = nn.Linear(2, 2)
        >>> _ = lin.weight.data.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> _ = lin.bias.data.copy_(torch.tensor([1.0, -1.0]))
        >>> d = trace_linear(lin, torch.tensor([1.0, 1.0])).dot(0, 1)
        >>> [t.product for t in d.terms], d.bias, d.total     # 1*3 + 1*4 - 1
        ([3.0, 4.0], -1.0, 6.0)
        """
        if not 0 <= n < self.rows:
            raise ExplorerError(f"Row {n} is out of range: the input holds {self.rows} row(s) (0 to {self.rows - 1}).")
        if not 0 <= j < self.out_features:
            raise ExplorerError(f"Output feature {j} is out of range: the layer has {self.out_features} "
                                f"output(s) (0 to {self.out_features - 1}).")
        x = self.x.detach().reshape(self.rows, -1)[n]                         # (in,)
        if self.bilinear:
            x2 = self.x2.detach().reshape(self.rows, -1)[n]                   # (in2,)
            products = x[:, None] * self.weight[j] * x2[None, :]             # (in1, in2)
            xs, x2s, a, p = x.tolist(), x2.tolist(), self.weight[j].tolist(), products.tolist()
            terms = [Term((i, k), xs[i], a[i][k], x2s[k], p[i][k]) for i in range(len(xs)) for k in range(len(x2s))]
        else:
            products = x * self.weight[j]                                     # (in,)
            xs, w, p = x.tolist(), self.weight[j].tolist(), products.tolist()
            terms = [Term((i,), xs[i], w[i], None, p[i]) for i in range(len(xs))]
        bias = torch.zeros((), dtype=products.dtype) if self.bias is None else self.bias[j]
        return Dot(position=(n, j), terms=terms, bias=float(bias), total=float(products.sum() + bias))


def trace_linear(module, x, x2=None):
    """Run a Linear or Bilinear layer and recompute each output as a sum of products.

    Linear:   y_j = sum_i x_i * W[j, i] + b_j
    Bilinear: y_j = x1^T A_j x2 + b_j

    Args:
        module: nn.Linear or nn.Bilinear. Not modified.
        x: float tensor (*, in_features); for Bilinear the first input x1 (*, in1_features).
        x2: Bilinear only: the second input (*, in2_features), same leading dims as x1.

    Shape:
        output and manual: (*, out_features).

    Returns:
        LinearTrace with output, manual, max_abs_error and dot(n, j).

    >>> lin = nn.Linear(2, 2)
    >>> _ = lin.weight.data.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> _ = lin.bias.data.copy_(torch.tensor([1.0, -1.0]))
    >>> trace_linear(lin, torch.tensor([1.0, 1.0])).manual.tolist()    # [1+2+1, 3+4-1]
    [4.0, 6.0]
    """
    require_module(module, (nn.Linear, nn.Bilinear), "trace_linear")
    bilinear = isinstance(module, nn.Bilinear)
    if bilinear and x2 is None:
        raise ExplorerError("nn.Bilinear takes two inputs: call trace_linear(module, x1, x2).")
    if not bilinear and x2 is not None:
        raise ExplorerError("nn.Linear takes one input; pass only x (a second input is for nn.Bilinear).")
    inputs = [("input 1", x, module.in1_features), ("input 2", x2, module.in2_features)] if bilinear \
        else [("input", x, module.in_features)]
    for name, t, features in inputs:
        _check_features(name, t, features, module)
    if bilinear and x.shape[:-1] != x2.shape[:-1]:
        raise ExplorerError(f"The two inputs need the same leading (batch) shape; got {tuple(x.shape[:-1])} "
                            f"and {tuple(x2.shape[:-1])}.")

    output = no_grad_forward(module, *([x, x2] if bilinear else [x]))
    weight = module.weight.detach().clone()
    bias = None if module.bias is None else module.bias.detach().clone()
    # every dot product at once: for each row and j, the sum over i (and k) of the products dot() lists
    with torch.no_grad():
        if bilinear:
            manual = torch.einsum("...i,oik,...k->...o", x, weight, x2)      # (*, out)
        else:
            manual = torch.einsum("...i,oi->...o", x, weight)                 # (*, out)
        if bias is not None:
            manual = manual + bias                                            # (*, out)
    return LinearTrace(module=module, x=x, x2=x2, output=output, manual=manual,
                       max_abs_error=max_abs_error(output, manual), weight=weight, bias=bias)


def _check_features(name, x, features, module):
    require_tensor(x, name)
    require_dtype_match(module, x)
    if x.dim() == 0:
        raise ExplorerError(f"The {name} is a single number; it needs a last dim of {features} features.")
    if x.shape[-1] != features:
        label = "Input" if name == "input" else name.capitalize()
        raise ExplorerError(f"{label} has {x.shape[-1]} features but the layer expects {features}.")


@dataclass(frozen=True)
class EmbeddingTrace:
    """An embedding lookup, with the rows read from the table by hand and max_norm's rescaling."""
    module: nn.Module
    indices: torch.Tensor               # the token ids as given, as int64, any shape (*)
    output: torch.Tensor                # module(indices) under no_grad, (*, D)
    manual: torch.Tensor                # row indices[...] of our (renormalized) table, (*, D)
    max_abs_error: float
    table: torch.Tensor                 # a copy of the weight as the lookup read it (after any renorm), (V, D)
    table_before: torch.Tensor          # a copy of the weight before the forward, (V, D); equals table without max_norm
    padding_idx: Optional[int]          # non-negative; that row gets no gradient, so it stays as built (zeros)
    looked_up: torch.Tensor             # (U,) the distinct ids in indices, sorted
    max_norm: Optional[float]
    norm_type: float                    # p of the p-norm max_norm bounds
    rows_before: Optional[torch.Tensor]  # (U, D) the looked-up rows before the forward; None without max_norm
    norms_before: Optional[torch.Tensor]  # (U,) their p-norms
    scale: Optional[torch.Tensor]       # (U,) max_norm / (norm + 1e-7) where norm > max_norm, else 1
    rows_after: Optional[torch.Tensor]  # (U, D) the module's rows after its forward rescaled them in place
    norms_after: Optional[torch.Tensor]  # (U,) their p-norms: at most max_norm, up to rounding
    renorm_error: float                 # largest gap between our rescaled rows and the module's

    @property
    def is_padding(self):
        """Bool like indices: which tokens are the padding id."""
        if self.padding_idx is None:
            return torch.zeros_like(self.indices, dtype=torch.bool)
        return self.indices == self.padding_idx

    @property
    def renormalized(self):
        """Bool (U,): which looked-up rows max_norm rescaled (all False without max_norm)."""
        if self.scale is None:
            return torch.zeros(self.looked_up.shape, dtype=torch.bool)
        return self.norms_before > self.max_norm

    def row_gradient(self):
        """d(sum of output)/d(weight) by autograd through a copy of the module, (V, D).

        Row v holds (count of v in indices) in every entry, except the padding row: zero, which
        is why training never moves it away from the zeros it starts with.
        """
        m = copy.deepcopy(self.module)
        m.weight.grad = None
        m.weight.requires_grad_(True)   # a frozen table (from_pretrained) still shows where gradient would go
        with torch.enable_grad():
            m(self.indices).sum().backward()
        grad = m.weight.grad
        return (grad.to_dense() if grad.is_sparse else grad).detach()


def trace_embedding(module, indices):
    """Look tokens up in an embedding table and recompute the lookup row by row.

    y[...] = W[indices[...]]; with max_norm, every looked-up row whose norm exceeds max_norm is
    first scaled by max_norm / (norm + 1e-7).

    torch's forward with max_norm rescales those rows of module.weight IN PLACE (this is the
    module's own behaviour, kept here): the trace reports the rows before and after and the scale.
    Nothing else about the module changes.

    Args:
        module: nn.Embedding (padding_idx, max_norm, norm_type).
        indices: integer tensor of token ids, any shape, each in 0 .. num_embeddings - 1.

    Shape:
        output and manual: (*indices.shape, embedding_dim), in the dtype of the table.

    Returns:
        EmbeddingTrace with output, manual, max_abs_error, the max_norm rows and row_gradient().

    >>> emb = nn.Embedding(4, 2, padding_idx=0)
    >>> t = trace_embedding(emb, torch.tensor([2, 0, 2]))
    >>> t.manual.shape, t.output[1].tolist()     # the padding row starts at zeros
    (torch.Size([3, 2]), [0.0, 0.0])
    """
    require_module(module, (nn.Embedding,), "trace_embedding")
    idx = _check_indices(indices, module.num_embeddings)
    looked_up = idx.unique()                                                  # (U,) sorted
    weight = module.weight
    renorm = module.max_norm is not None
    rows_before = norms_before = scale = rows_after = norms_after = None
    ours = weight.detach()
    table_before = ours.clone()                                               # (V, D)
    if renorm:
        rows_before = weight.detach()[looked_up].clone()                      # (U, D)
        norms_before = torch.linalg.vector_norm(rows_before, ord=module.norm_type, dim=1)  # (U,)
        over = norms_before > module.max_norm
        scale = torch.where(over, module.max_norm / (norms_before + RENORM_EPS), torch.ones_like(norms_before))
        ours = ours.clone()                                                   # (V, D)
        ours[looked_up] = rows_before * scale[:, None]

    output = no_grad_forward(module, idx)
    manual = ours[idx]                                                        # (*, D)

    table = weight.detach().clone()                                           # (V, D)
    renorm_error = 0.0
    if renorm:
        rows_after = table[looked_up]                                         # (U, D)
        norms_after = torch.linalg.vector_norm(rows_after, ord=module.norm_type, dim=1)  # (U,)
        renorm_error = max_abs_error(rows_after, ours[looked_up])
    return EmbeddingTrace(
        module=module, indices=idx, output=output, manual=manual, max_abs_error=max_abs_error(output, manual),
        table=table, table_before=table_before, padding_idx=module.padding_idx, looked_up=looked_up, max_norm=module.max_norm,
        norm_type=float(module.norm_type), rows_before=rows_before, norms_before=norms_before, scale=scale,
        rows_after=rows_after, norms_after=norms_after, renorm_error=renorm_error)


def _check_indices(indices, num_embeddings):
    """The ids as int64, or an ExplorerError that says what is wrong with them."""
    if not isinstance(indices, torch.Tensor):
        raise ExplorerError(f"The token ids must be a torch.Tensor of whole numbers; got {type(indices).__name__}.")
    if indices.dtype == torch.bool or indices.is_floating_point() or indices.is_complex():
        raise ExplorerError(f"Token ids must be whole numbers (an integer tensor); got {indices.dtype}. "
                            "Use indices.long() if the values are whole.")
    idx = indices.long()
    if idx.numel():
        bad = idx[(idx < 0) | (idx >= num_embeddings)]
        if bad.numel():
            raise ExplorerError(f"Token id {int(bad[0])} is out of range: the table has {num_embeddings} rows, "
                                f"ids 0 to {num_embeddings - 1}.")
    return idx


__all__ = ["trace_linear", "trace_embedding", "trace_dropout", "trace_activation", "dropout_expectation",
           "apply_temperature", "temperature_sweep", "TemperatureSweep", "LinearTrace", "Dot", "Term", "EmbeddingTrace", "DropoutTrace", "DropoutMean",
           "ActivationTrace", "Curve", "RENORM_EPS"]
