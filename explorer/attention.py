"""Attention: every query scores every key, a softmax turns the scores into weights, the weights mix values.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + M) V      scaled dot-product, once per head
    score(q, k) = v^T tanh(W_q q + W_k k)                     additive (Bahdanau et al., 2015)

nn.MultiheadAttention projects its inputs, splits each projection into heads of size d = E / heads,
runs scaled dot-product attention in every head, puts the heads side by side and projects once more.
AdditiveAttention is the older single-head form that scores a (query, key) pair with a tiny MLP.

Whatever layout the module uses, every per-head tensor of a trace is batch-first:
q [b, head, L, d], k and v [b, head, S, d], scores and weights [b, head, L, S], where L counts the
queries (target positions) and S the keys (source positions). An unbatched input gets b = 1.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .errors import ExplorerError
from .validate import max_abs_error, no_grad_forward, require_dtype_match, require_module, require_tensor


class AdditiveAttention(nn.Module):
    """Bahdanau attention: score(q_i, k_j) = v^T tanh(W_q q_i + W_k k_j), one head, no value projection.

    The output for query i is sum_j weights[i, j] value[j], the paper's "context vector", so it has
    the size of a value vector. The layout is batch-first, like nn.MultiheadAttention(batch_first=True).
    `v` here is the scoring vector of the formula, not the values.

    Args:
        embed_dim: size E of a query vector
        kdim: size of a key vector (default embed_dim)
        hidden_dim: size H of the hidden layer that scores one (query, key) pair (default embed_dim)
        dtype, device: of the parameters (defaults as torch's; device="meta" builds it without
            drawing its initial weights from torch's global random generator)

    Shape:
        query (B, L, E) or (L, E); key (B, S, kdim); value (B, S, V), default the key.
        attn_mask (L, S) or (B, L, S), key_padding_mask (B, S): bool True = may not attend,
        or float added to the scores.
        Returns output (B, L, V) and weights (B, L, S), without B for unbatched input.

    >>> att = AdditiveAttention(4, hidden_dim=3)
    >>> out, w = att(torch.randn(2, 5, 4), torch.randn(2, 7, 4))
    >>> tuple(out.shape), tuple(w.shape)
    ((2, 5, 4), (2, 5, 7))
    """

    def __init__(self, embed_dim, kdim=None, hidden_dim=None, *, dtype=None, device=None):
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.hidden_dim = embed_dim if hidden_dim is None else hidden_dim
        for name in ("embed_dim", "kdim", "hidden_dim"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ExplorerError(f"AdditiveAttention needs a positive whole number for {name}.")
        kw = dict(bias=False, dtype=dtype, device=device)
        self.w_q = nn.Linear(self.embed_dim, self.hidden_dim, **kw)  # W_q: query -> hidden
        self.w_k = nn.Linear(self.kdim, self.hidden_dim, **kw)       # W_k: key -> hidden
        self.v = nn.Linear(self.hidden_dim, 1, **kw)                 # v^T: hidden -> one score

    def forward(self, query, key, value=None, *, attn_mask=None, key_padding_mask=None):
        value = key if value is None else value
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        hidden = torch.tanh(self.w_q(query).unsqueeze(2) + self.w_k(key).unsqueeze(1))  # (B, L, S, H)
        scores = self.v(hidden).squeeze(-1)                                           # (B, L, S)
        if attn_mask is not None:
            scores = scores + additive_mask(attn_mask, scores.dtype)
        if key_padding_mask is not None:
            scores = scores + additive_mask(key_padding_mask, scores.dtype).unsqueeze(1)
        weights = torch.softmax(scores, dim=-1)                                       # (B, L, S)
        output = weights @ value                                                      # (B, L, V)
        return (output.squeeze(0), weights.squeeze(0)) if unbatched else (output, weights)


@dataclass(frozen=True)
class ScoreTerms:
    """How one score is made: query i against key j in one head."""
    products: torch.Tensor          # (d,) q_i * k_j term by term (additive: v * tanh(...), (H,))
    hidden: Optional[torch.Tensor]  # (H,) additive only: tanh(W_q q_i + W_k k_j); None for dot-product
    raw: float                      # sum of products: q_i . k_j (additive: v^T tanh(...))
    scale: float                    # 1/sqrt(d) (additive: 1)
    mask: float                     # 0 allowed, -inf blocked, or the float mask value
    score: float                    # raw * scale + mask

    @property
    def scaled(self):
        """raw * scale, before the mask."""
        return self.raw * self.scale


@dataclass(frozen=True)
class QueryRow:
    """Everything behind one row of the weights: query i of one head against every key j.

    With a 0 / -inf mask, `weights` is `unmasked` with the blocked keys dropped and the rest divided
    by what they kept: the softmax renormalizes over the keys a query may see.
    """
    raw: torch.Tensor       # (S,) q_i . k_j (additive: v^T tanh(W_q q_i + W_k k_j))
    scale: float            # 1/sqrt(d) (additive: 1)
    scaled: torch.Tensor    # (S,) raw * scale
    mask: torch.Tensor      # (S,) 0 allowed, -inf blocked, or the float mask value
    scores: torch.Tensor    # (S,) raw * scale + mask
    top: float              # the largest score, subtracted before exp so exp cannot overflow
    exp: torch.Tensor       # (S,) exp(score - top); exactly 0 for a blocked key
    total: float            # sum of exp
    weights: torch.Tensor   # (S,) exp / total, as recorded in trace.weights
    unmasked: torch.Tensor  # (S,) the weights this query would get with no mask at all
    values: torch.Tensor    # (S, dv) the head's value vectors
    output: torch.Tensor    # (dv,) sum_j weights_j values_j, as recorded in trace.head_outputs


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline, for drawing it with its shape."""
    name: str       # short label
    formula: str    # the math of the step
    shape: tuple    # shape of its result, batch-first


@dataclass(frozen=True)
class AttentionTrace:
    """An attention layer's forward pass, with our own step-by-step recomputation beside it."""
    module: nn.Module
    kind: str                     # "dot-product" (nn.MultiheadAttention) or "additive" (AdditiveAttention)
    batch_first: bool             # layout of output/manual: (B, L, E) if True, (L, B, E) if False
    batched: bool                 # False when the inputs had no batch dim (the trace then uses b = 1)
    is_causal: bool               # a causal mask was built: query i sees keys 0..i
    output: torch.Tensor          # the module's own attention output, exactly as it returns it
    manual: torch.Tensor          # the same from explicit projections, softmax and mixing; same layout
    max_abs_error: float
    q: torch.Tensor               # (b, head, L, d) projected queries (additive: W_q q, d = hidden_dim)
    k: torch.Tensor               # (b, head, S, d) projected keys (additive: W_k k)
    v: torch.Tensor               # (b, head, S, dv) projected values (additive: the values as given)
    raw_scores: torch.Tensor      # (b, head, L, S) Q K^T before scale and mask (additive: v^T tanh(...))
    scale: float                  # factor on raw_scores: 1/sqrt(d) (additive: 1)
    mask: Optional[torch.Tensor]  # (b, head, L, S) added to the scores: 0 allowed, -inf blocked; None if
                                  # unmasked. A broadcast view: heads (and batch items) may share memory
    scores: torch.Tensor          # (b, head, L, S) raw_scores * scale + mask; blocked cells are -inf
    weights: torch.Tensor         # (b, head, L, S) softmax over keys; every row sums to 1
    head_outputs: torch.Tensor    # (b, head, L, dv) weights @ v
    concat: torch.Tensor          # (b, L, head * dv) heads side by side, before out_proj
    module_head_weights: torch.Tensor  # (b, head, L, S) the weights the module returned per head
                                       # (average_attn_weights=False)
    module_weights: torch.Tensor  # (b, L, S) their mean over heads: what the module returns by default

    @property
    def batch(self):
        return self.weights.shape[0]

    @property
    def num_heads(self):
        return self.weights.shape[1]

    @property
    def tgt_len(self):
        return self.weights.shape[2]

    @property
    def src_len(self):
        return self.weights.shape[3]

    @property
    def head_dim(self):
        return self.q.shape[-1]

    @property
    def averaged_weights(self):
        """(b, L, S) our weights averaged over heads, as the module returns them by default."""
        return self.weights.mean(dim=1)

    @property
    def weights_error(self):
        """Largest difference between our averaged weights and the module's own."""
        return max_abs_error(self.module_weights, self.averaged_weights)

    def blocked_cells(self, b, head):
        """How many (query, key) cells the mask blocks for one head of one batch item (0 unmasked).

        >>> t = trace_attention(nn.MultiheadAttention(4, 1, batch_first=True), torch.randn(1, 3, 4), is_causal=True)
        >>> t.blocked_cells(0, 0)
        3
        """
        return 0 if self.mask is None else int(torch.isneginf(self.mask[b, head]).sum())

    def score_terms(self, b, head, i, j):
        """The arithmetic behind scores[b, head, i, j].

        >>> m = nn.MultiheadAttention(4, 2, batch_first=True)
        >>> t = trace_attention(m, torch.randn(1, 3, 4))
        >>> abs(t.score_terms(0, 1, 2, 0).score - float(t.scores[0, 1, 2, 0])) < 1e-6
        True
        """
        for name, value, size in (("batch", b, self.batch), ("head", head, self.num_heads),
                                  ("query", i, self.tgt_len), ("key", j, self.src_len)):
            if not 0 <= value < size:
                raise ExplorerError(f"The {name} index {value} is out of range; pick 0 to {size - 1}.")
        qi, kj = self.q[b, head, i], self.k[b, head, j]
        hidden = None
        if self.kind == "additive":
            hidden = torch.tanh(qi + kj)                                     # (H,)
            products = self.module.v.weight[0].detach() * hidden             # (H,)
        else:
            products = qi * kj                                               # (d,)
        mask = 0.0 if self.mask is None else float(self.mask[b, head, i, j])
        return ScoreTerms(products=products, hidden=hidden, raw=float(self.raw_scores[b, head, i, j]),
                          scale=self.scale, mask=mask, score=float(self.scores[b, head, i, j]))

    def query_row(self, b, head, i):
        """The numbers behind weights[b, head, i, :]: scores, exp, sum, weights and the mixed values.

        >>> t = trace_attention(nn.MultiheadAttention(4, 1, batch_first=True), torch.randn(1, 3, 4), is_causal=True)
        >>> r = t.query_row(0, 0, 1)
        >>> r.exp.tolist()[2], abs(float(r.exp.sum()) - r.total) < 1e-6
        (0.0, True)
        """
        for name, value, size in (("batch", b, self.batch), ("head", head, self.num_heads),
                                  ("query", i, self.tgt_len)):
            if not 0 <= value < size:
                raise ExplorerError(f"The {name} index {value} is out of range; pick 0 to {size - 1}.")
        raw = self.raw_scores[b, head, i]                                     # (S,)
        mask = torch.zeros_like(raw) if self.mask is None else self.mask[b, head, i]
        scores = self.scores[b, head, i]                                      # (S,)
        top = scores.max()
        e = torch.exp(scores - top)                                           # (S,)
        return QueryRow(raw=raw, scale=self.scale, scaled=raw * self.scale, mask=mask, scores=scores,
                        top=float(top), exp=e, total=float(e.sum()), weights=self.weights[b, head, i],
                        unmasked=softmax_rows(raw * self.scale), values=self.v[b, head],
                        output=self.head_outputs[b, head, i])

    def stages(self):
        """The pipeline from inputs to output as a list of Stage, with batch-first shapes."""
        b, h, L, S = self.weights.shape
        d, dv = self.head_dim, self.v.shape[-1]
        if self.kind == "additive":
            return [Stage("queries", "W_q q", (b, L, d)), Stage("keys", "W_k k", (b, S, d)),
                    Stage("hidden", "tanh(W_q q_i + W_k k_j)", (b, L, S, d)),
                    Stage("scores", "vᵀ tanh(W_q q_i + W_k k_j) + M", (b, L, S)),
                    Stage("weights", "softmax(scores) over keys", (b, L, S)),
                    Stage("output", "weights V", (b, L, dv))]
        bias = self.module.in_proj_bias is not None
        plus = (lambda n: f" + b_{n}") if bias else (lambda n: "")
        return [Stage("Q", f"Q = X_q W_qᵀ{plus('q')}", (b, L, h * d)),
                Stage("K", f"K = X_k W_kᵀ{plus('k')}", (b, S, h * d)),
                Stage("V", f"V = X_v W_vᵀ{plus('v')}", (b, S, h * dv)),
                Stage("split heads", f"{h} heads of size d = {d}", (b, h, L, d)),
                Stage("scores", "Q Kᵀ / √d + M", (b, h, L, S)),
                Stage("weights", "softmax(scores) over keys", (b, h, L, S)),
                Stage("heads", "weights V", (b, h, L, dv)),
                Stage("concat", "heads side by side", (b, L, h * dv)),
                Stage("output", "concat W_oᵀ" + (" + b_o" if self.module.out_proj.bias is not None else ""),
                      (b, L, self.module.embed_dim))]


# -- masks -------------------------------------------------------------------------------------
def additive_mask(mask, dtype):
    """A bool mask (True = blocked) as 0 / -inf, or a float mask as is, in `dtype`."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    return mask.to(dtype)


def causal_mask(L, S):
    """(L, S) bool, True above the diagonal: query i may look at keys 0..i only (top-left aligned)."""
    return torch.ones(L, S, dtype=torch.bool).triu(1)


def _check_mask(mask, name, allowed):
    """Raise unless `mask` is a bool or finite-or-minus-infinity float tensor of one of the `allowed` shapes."""
    if not isinstance(mask, torch.Tensor):
        raise ExplorerError(f"The {name} must be a torch.Tensor; got {type(mask).__name__}.")
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise ExplorerError(f"The {name} must be bool (True = may not attend) or float (added to the "
                            f"scores); got {mask.dtype}.")
    if mask.is_floating_point() and bool((torch.isnan(mask) | torch.isposinf(mask)).any()):
        raise ExplorerError(f"The {name} holds NaN or +infinity; use 0 to allow a key and -inf to block it.")
    if tuple(mask.shape) not in [s for s, _ in allowed]:
        options = " or ".join(f"{layout} = {s}" for s, layout in allowed)
        raise ExplorerError(f"The {name} has shape {tuple(mask.shape)} but must be {options}.")


def _combined_mask(attn_mask, key_padding_mask, B, h, L, S, dtype):
    """One additive mask: 0 where a query may look, -inf where it may not; None if unmasked.

    Its shape broadcasts to (B, h, L, S) without copying: (1, 1, L, S) for one (L, S) mask shared by
    every head and batch item, (B, 1, L, S) with key padding, (B, h, L, S) for a per-head mask.
    """
    if attn_mask is None and key_padding_mask is None:
        return None
    mask = torch.zeros(1, 1, L, S, dtype=dtype)                               # (1, 1, L, S)
    if attn_mask is not None:
        am = additive_mask(attn_mask, dtype)
        mask = am.view(1, 1, L, S) if am.dim() == 2 else am.view(B, h, L, S)  # (1|B, 1|h, L, S)
    if key_padding_mask is not None:
        mask = mask + additive_mask(key_padding_mask, dtype).view(B, 1, 1, S)  # (B, 1|h, L, S)
    return mask


def _refuse_empty_rows(mask, heads):
    """A query whose keys are all blocked has nothing to attend to: torch returns NaN there."""
    if mask is None:
        return
    empty = torch.isneginf(mask).all(dim=-1)                                  # (B, h, L)
    if bool(empty.any()):
        b, h, i = (int(n) for n in empty.nonzero()[0])
        where = f"batch {b}" + (f", head {h}" if heads > 1 and mask.shape[1] > 1 else "")
        raise ExplorerError(
            f"Query {i} ({where}) has every key masked, so it has nothing to attend to: the softmax of "
            "an empty set is undefined and PyTorch returns NaN there. Unmask at least one key in that row "
            "(for example the query's own position).")


def _module_masks(attn_mask, key_padding_mask, dtype):
    """Masks as the module takes them: floats in the input's dtype, both additive if their kinds differ."""
    masks = [m.to(dtype) if m is not None and m.is_floating_point() else m for m in (attn_mask, key_padding_mask)]
    kinds = {m.dtype == torch.bool for m in masks if m is not None}
    if len(kinds) == 2:
        masks = [additive_mask(m, dtype) for m in masks]
    return masks


# -- the step-by-step math ---------------------------------------------------------------------
def softmax_rows(scores):
    """exp(s - max) / sum over the last dim; subtracting the row max keeps exp from overflowing."""
    top = scores.amax(dim=-1, keepdim=True)                                   # (..., 1)
    e = torch.sub(scores, top).exp_()                                         # (..., S) blocked -> exactly 0
    return e.div_(e.sum(dim=-1, keepdim=True))


def _linear(x, w, b):
    y = x @ w.T                                                               # (B, n, out)
    return y if b is None else y + b


def _split_heads(x, h):
    B, n, E = x.shape
    return x.view(B, n, h, E // h).transpose(1, 2)                            # (B, h, n, E/h)


def _projection_weights(m):
    """(W_q, W_k, W_v, b_q, b_k, b_v): the packed in_proj chunks, or the separate ones when kdim/vdim differ."""
    if m._qkv_same_embed_dim:
        w_q, w_k, w_v = m.in_proj_weight.chunk(3)
    else:
        w_q, w_k, w_v = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
    biases = m.in_proj_bias.chunk(3) if m.in_proj_bias is not None else (None, None, None)
    return (w_q, w_k, w_v, *biases)


def _dot_product_steps(m, query, key, value, mask):
    """nn.MultiheadAttention by hand. query (B, L, E), key (B, S, kdim), value (B, S, vdim)."""
    B, L, E = query.shape
    h = m.num_heads
    w_q, w_k, w_v, b_q, b_k, b_v = _projection_weights(m)
    q = _split_heads(_linear(query, w_q, b_q), h)                              # (B, h, L, d)
    k = _split_heads(_linear(key, w_k, b_k), h)                                # (B, h, S, d)
    v = _split_heads(_linear(value, w_v, b_v), h)                              # (B, h, S, d)
    scale = 1.0 / math.sqrt(E // h)
    raw = q @ k.transpose(-2, -1)                                              # (B, h, L, S)
    scores = raw * scale if mask is None else torch.add(mask, raw, alpha=scale)  # (B, h, L, S)
    weights = softmax_rows(scores)                                             # (B, h, L, S)
    heads = weights @ v                                                        # (B, h, L, d)
    concat = heads.transpose(1, 2).reshape(B, L, E)                            # (B, L, E)
    out = _linear(concat, m.out_proj.weight, m.out_proj.bias)                  # (B, L, E)
    return dict(q=q, k=k, v=v, raw_scores=raw, scale=scale, scores=scores, weights=weights,
                head_outputs=heads, concat=concat), out


def _additive_steps(m, query, key, value, mask):
    """AdditiveAttention by hand. query (B, L, E), key (B, S, kdim), value (B, S, V)."""
    q = (query @ m.w_q.weight.T).unsqueeze(1)                                  # (B, 1, L, H)
    k = (key @ m.w_k.weight.T).unsqueeze(1)                                    # (B, 1, S, H)
    hidden = torch.tanh(q.unsqueeze(3) + k.unsqueeze(2))                       # (B, 1, L, S, H)
    raw = hidden @ m.v.weight[0]                                               # (B, 1, L, S)
    scores = raw if mask is None else raw + mask                               # (B, 1, L, S)
    weights = softmax_rows(scores)                                             # (B, 1, L, S)
    v = value.unsqueeze(1)                                                     # (B, 1, S, V)
    heads = weights @ v                                                        # (B, 1, L, V)
    return dict(q=q, k=k, v=v, raw_scores=raw, scale=1.0, scores=scores, weights=weights,
                head_outputs=heads, concat=heads[:, 0]), heads[:, 0]


# -- checks ------------------------------------------------------------------------------------
def _check_module(module):
    require_module(module, (nn.MultiheadAttention, AdditiveAttention), "trace_attention")
    if isinstance(module, AdditiveAttention):
        return
    if module.bias_k is not None:
        raise ExplorerError("This layer was built with add_bias_kv=True, which appends a learned extra key and "
                            "value to every sequence; the explorer does not show that extra key. Build it with "
                            "add_bias_kv=False.")
    if module.add_zero_attn:
        raise ExplorerError("This layer was built with add_zero_attn=True, which appends an all-zero key and "
                            "value; the explorer does not show that extra key. Build it with add_zero_attn=False.")
    if module.training and module.dropout > 0:
        raise ExplorerError(f"The layer is in training mode with dropout={module.dropout}, so it zeroes random "
                            "weights on every run and no recomputation can match it. Call module.eval() "
                            "or build it with dropout=0.")


def _check_inputs(module, query, key, value):
    """Validate the tensors; return (batched, batch_first) describing the module's layout."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if name == "query" or t is not query:
            require_tensor(t, name)
    batch_first = getattr(module, "batch_first", True)
    layout = "(B, L, E)" if batch_first else "(L, B, E)"
    if query.dim() not in (2, 3):
        raise ExplorerError(f"The query has shape {tuple(query.shape)} but attention expects {layout}, "
                            "or (L, E) for a single sequence.")
    for name, t in (("key", key), ("value", value)):
        if t.dim() != query.dim():
            raise ExplorerError(f"The query has {query.dim()} dims but the {name} has {t.dim()}; "
                                "give them the same layout.")
        if t.dtype != query.dtype:
            raise ExplorerError(f"The query is {query.dtype} but the {name} is {t.dtype}; use one dtype.")
    require_dtype_match(module, query)
    sizes = [("query", query, module.embed_dim, "embed_dim"), ("key", key, module.kdim, "kdim")]
    if isinstance(module, nn.MultiheadAttention):
        sizes.append(("value", value, module.vdim, "vdim"))
    for name, t, want, attr in sizes:
        if t.shape[-1] != want:
            raise ExplorerError(f"Each {name} vector has {t.shape[-1]} numbers but the layer's {attr} is {want}.")
    batched = query.dim() == 3
    if batched:
        bd = 0 if batch_first else 1
        for name, t in (("key", key), ("value", value)):
            if t.shape[bd] != query.shape[bd]:
                raise ExplorerError(f"The query has batch size {query.shape[bd]} but the {name} has "
                                    f"{t.shape[bd]}; they must match ({layout} layout).")
    sd = 1 if batched and batch_first else 0
    if key.shape[sd] != value.shape[sd]:
        raise ExplorerError(f"There are {key.shape[sd]} keys but {value.shape[sd]} values; every key needs "
                            "exactly one value.")
    if 0 in query.shape or key.shape[sd] == 0:
        raise ExplorerError("The query, the keys and the batch need at least one position each.")
    return batched, batch_first


def _to_batch_first(x, batched, batch_first):
    if not batched:
        return x.unsqueeze(0)                                                  # (1, n, E)
    return x if batch_first else x.transpose(0, 1)                             # (B, n, E)


def _from_batch_first(x, batched, batch_first):
    if not batched:
        return x[0]                                                            # (n, E)
    return x if batch_first else x.transpose(0, 1)                             # module layout


# -- entry point -------------------------------------------------------------------------------
def trace_attention(module, query, key=None, value=None, *, attn_mask=None, key_padding_mask=None,
                    is_causal=False):
    """Run an attention layer and recompute it step by step.

        output = concat_h(softmax(Q_h K_h^T / sqrt(d) + M) V_h) W_o^T + b_o

    Args:
        module: nn.MultiheadAttention (no add_bias_kv / add_zero_attn; dropout only in eval mode)
            or AdditiveAttention
        query: (L, E), or (B, L, E) / (L, B, E) following the module's batch_first
        key: same layout with S positions of size kdim; default the query (self-attention)
        value: same layout with S positions of size vdim; default the key
        attn_mask: bool (True = may not attend) or float (added to the scores), of shape (L, S)
            or (B * heads, L, S); (heads, L, S) for unbatched input
        key_padding_mask: (B, S), or (S,) unbatched: bool True marks padding keys, or float added
        is_causal: hide the future: query i sees keys 0..i (top-left aligned when L != S). The mask is
            built here, because nn.MultiheadAttention only takes is_causal as a hint about a given
            attn_mask, and passed to the module with that hint; give no attn_mask with it.

    Shape:
        output and manual in the module's layout; q, k, v, scores, weights per head and batch-first.

    Returns:
        AttentionTrace

    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> t = trace_attention(mha, torch.randn(1, 5, 8), is_causal=True)
    >>> tuple(t.weights.shape), t.max_abs_error < 1e-5, float(t.weights[0, 0, 0, 1])
    ((1, 2, 5, 5), True, 0.0)
    """
    _check_module(module)
    key = query if key is None else key
    value = key if value is None else value
    batched, batch_first = _check_inputs(module, query, key, value)
    q_in, k_in, v_in = (_to_batch_first(t, batched, batch_first) for t in (query, key, value))
    B, L, _ = q_in.shape
    S = k_in.shape[1]
    h = getattr(module, "num_heads", 1)
    per_batch = "(B * heads, L, S)" if h > 1 else "(B, L, S)"
    if is_causal:
        if attn_mask is not None:
            raise ExplorerError("Give either is_causal=True or an attn_mask, not both: is_causal builds the "
                                "mask that lets query i see keys 0..i.")
        attn_mask = causal_mask(L, S)
    if attn_mask is not None:
        three_d = ((B * h, L, S), per_batch) if batched else ((h, L, S), "(heads, L, S)")
        _check_mask(attn_mask, "attn_mask", [((L, S), "(L, S)"), three_d])
    if key_padding_mask is not None:
        _check_mask(key_padding_mask, "key_padding_mask", [((B, S), "(B, S)") if batched else ((S,), "(S,)")])
    dtype = query.dtype
    mask = _combined_mask(attn_mask, key_padding_mask, B, h, L, S, dtype)     # (B, h, L, S) or None
    _refuse_empty_rows(mask, h)

    am, kpm = _module_masks(attn_mask, key_padding_mask, dtype)
    if isinstance(module, AdditiveAttention):
        output, module_weights = no_grad_forward(module, query, key, value, attn_mask=am, key_padding_mask=kpm)
        kind, steps = "additive", _additive_steps
    else:
        output, module_weights = no_grad_forward(module, query, key, value, key_padding_mask=kpm,
                                                 need_weights=True, attn_mask=am, average_attn_weights=False,
                                                 is_causal=is_causal)
        kind, steps = "dot-product", _dot_product_steps
    with torch.no_grad():
        fields, out = steps(module, q_in, k_in, v_in, mask)
    manual = _from_batch_first(out, batched, batch_first)
    head_weights = module_weights.view(B, h, L, S)                            # (B, h, L, S)
    return AttentionTrace(module=module, kind=kind, batch_first=batch_first, batched=batched,
                          is_causal=is_causal, output=output, manual=manual,
                          max_abs_error=max_abs_error(output, manual),
                          mask=None if mask is None else mask.expand(B, h, L, S),
                          module_head_weights=head_weights, module_weights=head_weights.mean(dim=1), **fields)


# -- temperature -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Temperature:
    """The weights when the scale factor is multiplied by `multiplier` (1 = what the layer uses)."""
    multiplier: float           # m in softmax(m * scale * raw_scores + mask)
    weights: torch.Tensor       # (b, head, L, S)
    entropy: torch.Tensor       # (b, head, L) row entropy in nats: 0 = all weight on one key
    max_entropy: torch.Tensor   # (b, head, L) log(number of allowed keys): the entropy of a uniform row


def row_entropy(weights):
    """-sum_j w_j log w_j over keys; 0 log 0 counts as 0 so blocked keys add nothing."""
    return -torch.special.xlogy(weights, weights).sum(dim=-1)                 # (..., L)


def temperature(trace, multiplier):
    """Weights and row entropies with the scale 1/sqrt(d) multiplied by `multiplier`.

        weights = softmax(multiplier * raw_scores / sqrt(d) + M)

    Small multipliers flatten every row towards uniform; large ones (no 1/sqrt(d) at big d is like
    multiplier sqrt(d)) push each row towards one key, where the softmax's gradient vanishes.

    >>> t = trace_attention(nn.MultiheadAttention(4, 1), torch.randn(3, 4))
    >>> bool(temperature(t, 0.0).entropy.allclose(temperature(t, 0.0).max_entropy))
    True
    """
    multiplier = float(multiplier)
    if not math.isfinite(multiplier) or multiplier < 0:
        raise ExplorerError(f"The scale multiplier must be a number of 0 or more; got {multiplier}.")
    scores = trace.raw_scores * (trace.scale * multiplier)                    # (b, h, L, S)
    allowed = torch.ones_like(scores, dtype=torch.bool)
    if trace.mask is not None:
        scores = scores + trace.mask
        allowed = ~torch.isneginf(trace.mask)
    weights = softmax_rows(scores)                                            # (b, h, L, S)
    max_entropy = torch.log(allowed.sum(dim=-1).to(scores.dtype))             # (b, h, L)
    return Temperature(multiplier=multiplier, weights=weights, entropy=row_entropy(weights),
                       max_entropy=max_entropy)


def entropy_curve(trace, multipliers, b=0, head=0):
    """Mean row entropy of one head at each multiplier: a tensor the length of `multipliers`."""
    return torch.stack([temperature(trace, m).entropy[b, head].mean() for m in multipliers])


__all__ = ["AdditiveAttention", "AttentionTrace", "QueryRow", "ScoreTerms", "Stage", "Temperature", "trace_attention",
           "temperature", "entropy_curve", "row_entropy", "softmax_rows", "additive_mask", "causal_mask"]
