"""The Attention page's settings as dataclasses -> a seeded layer, its inputs and masks, the trace,
and a PyTorch script that rebuilds all of it and prints the same numbers.

Everything is batch-first here; `run` hands the module its own layout (batch_first=False wants
(L, B, E)) and the trace brings every per-head tensor back to batch-first.
"""
import re
from dataclasses import dataclass
from typing import Optional

import torch

from .attention import causal_mask, trace_attention
from .errors import ExplorerError
from .examples import attention as ex

KINDS = {"nn.MultiheadAttention": "multihead", "AdditiveAttention (Bahdanau)": "additive"}
MAX_DIM = 64
MAX_BATCH = 4


@dataclass(frozen=True)
class LayerConfig:
    kind: str = "multihead"            # "multihead" (nn.MultiheadAttention) or "additive" (AdditiveAttention)
    embed_dim: int = 32                # E: size of a query vector (and of the output, for multihead)
    num_heads: int = 4                 # multihead: E is split into heads of size d = E / num_heads
    bias: bool = True                  # multihead: biases on the q/k/v and output projections
    kdim: Optional[int] = None         # size of a key vector; None = embed_dim (cross-attention only)
    vdim: Optional[int] = None         # size of a value vector; None = kdim (multihead: embed_dim)
    batch_first: bool = True           # multihead: (B, L, E) if True, (L, B, E) if False
    hidden_dim: Optional[int] = None   # additive: size of the scoring MLP's hidden layer; None = embed_dim
    dtype: str = "float32"             # "float32" or "float64"

    @property
    def torch_dtype(self):
        return getattr(torch, self.dtype)


@dataclass(frozen=True)
class InputConfig:
    source: str = "sentence"           # "sentence" (typed, embedded) or "random" (standard normal)
    cross: bool = False                # queries from one sequence, keys/values from another
    text: str = ex.SENTENCES[0]        # the sentence (self-attention) or the decoder's (the queries)
    source_text: str = ex.PAIRS[0][0]  # cross-attention: the encoder's sentence (keys and values)
    positional: bool = True            # add the sinusoidal positional encoding to the embeddings
    pads: int = 0                      # pad tokens after the keys (random input: the last `pads` keys)
    batch: int = 1                     # random input: batch size
    tgt_len: int = 6                   # random input: L, the number of queries
    src_len: int = 6                   # random input, cross-attention: S, the number of keys


@dataclass(frozen=True)
class MaskConfig:
    causal: bool = False               # query i sees keys 0..i only
    key_padding: bool = True           # hide pad keys (when there are any)
    blocked: tuple = ()                # ((query, key), ...) cells of a custom attn_mask, True = blocked


@dataclass(frozen=True)
class Inputs:
    """What goes into the layer, batch-first, and what the page labels and draws."""
    query: torch.Tensor                       # (B, L, E)
    key: torch.Tensor                         # (B, S, kdim)
    value: torch.Tensor                       # (B, S, vdim)
    query_tokens: list                        # L labels
    key_tokens: list                          # S labels
    pad: Optional[torch.Tensor]               # (B, S) bool, True on pad keys; None without pads
    embedded: Optional[torch.Tensor] = None   # (L, E) the queries' token embeddings before the positions
    positions: Optional[torch.Tensor] = None  # (L, E) the positional encoding added to them


def effective_dims(cfg, icfg):
    """(kdim, vdim) as the layer is built: None outside cross-attention, where keys are the queries."""
    if not icfg.cross:
        return None, None
    kdim = cfg.kdim
    vdim = cfg.vdim if cfg.vdim is not None else (kdim if cfg.kind == "additive" else None)
    return kdim, vdim


def validate(cfg, icfg):
    """Raise ExplorerError for settings no layer or input can have, with what to change."""
    if cfg.kind not in KINDS.values():
        raise ExplorerError(f"Unknown attention kind {cfg.kind!r}; choose one of {', '.join(KINDS.values())}.")
    for name in ("embed_dim", "kdim", "vdim", "hidden_dim"):
        value = getattr(cfg, name)
        if value is not None and not 1 <= value <= MAX_DIM:
            raise ExplorerError(f"{name} must be from 1 to {MAX_DIM}; got {value}.")
    if cfg.kind == "multihead" and (cfg.num_heads < 1 or cfg.embed_dim % cfg.num_heads):
        raise ExplorerError(f"embed_dim {cfg.embed_dim} must split evenly into heads: {cfg.num_heads} heads do "
                            f"not divide it. Pick a number of heads that divides {cfg.embed_dim}.")
    if cfg.dtype not in ("float32", "float64"):
        raise ExplorerError(f"dtype must be float32 or float64; got {cfg.dtype!r}.")
    if icfg.source not in ("sentence", "random"):
        raise ExplorerError(f"The input must come from a 'sentence' or be 'random'; got {icfg.source!r}.")
    if icfg.source == "random":
        if not 1 <= icfg.batch <= MAX_BATCH:
            raise ExplorerError(f"The batch size must be from 1 to {MAX_BATCH}; got {icfg.batch}.")
        for name in ("tgt_len", "src_len"):
            if not 1 <= getattr(icfg, name) <= ex.MAX_TOKENS:
                raise ExplorerError(f"{name} must be from 1 to {ex.MAX_TOKENS}; got {getattr(icfg, name)}.")
        keys = icfg.src_len if icfg.cross else icfg.tgt_len
        if icfg.pads >= keys:
            raise ExplorerError(f"{icfg.pads} pad keys out of {keys} would leave nothing to attend to; "
                                f"use fewer than {keys} pads.")


def sizes(cfg, icfg):
    """(L, S): the number of queries and of keys these settings give, without building anything."""
    validate(cfg, icfg)
    if icfg.source == "random":
        return icfg.tgt_len, (icfg.src_len if icfg.cross else icfg.tgt_len)
    queries = len(ex.tokenize(icfg.text))
    keys = len(ex.tokenize(icfg.source_text)) if icfg.cross else queries
    return queries + (0 if icfg.cross else icfg.pads), keys + icfg.pads


def build_layer(cfg, icfg, seed):
    kdim, vdim = effective_dims(cfg, icfg)
    return ex.make_layer(cfg.kind, cfg.embed_dim, cfg.num_heads, seed, kdim=kdim, vdim=vdim, bias=cfg.bias,
                         batch_first=cfg.batch_first, hidden_dim=cfg.hidden_dim, dtype=cfg.torch_dtype)


def build_inputs(cfg, icfg, seed):
    """Inputs (batch-first) for the settings: typed sentences embedded, or seeded random tensors."""
    dtype, E = cfg.torch_dtype, cfg.embed_dim
    kdim, vdim = effective_dims(cfg, icfg)
    if icfg.source == "random":
        B, L = icfg.batch, icfg.tgt_len
        S = icfg.src_len if icfg.cross else L
        query, key, value = ex.random_inputs(B, L, S, E, kdim, vdim, seed=seed + 1, dtype=dtype)
        if not icfg.cross:
            key = value = query
        pad = None
        if icfg.pads:
            pad = torch.zeros(B, S, dtype=torch.bool)
            pad[:, S - icfg.pads:] = True
        qlab = [f"q{i}" for i in range(L)] if icfg.cross else [f"x{i}" for i in range(L)]
        klab = [f"k{j}" for j in range(S)] if icfg.cross else qlab
        return Inputs(query, key, value, qlab, klab, pad)
    if not icfg.cross:
        s = ex.embed_sentences([icfg.text], E, seed, icfg.positional, dtype, icfg.pads)
        raw = s.embedding.weight[s.ids[0]].detach()                                   # (L, E)
        return Inputs(s.x, s.x, s.x, s.tokens[0], s.tokens[0], s.key_padding_mask if icfg.pads else None,
                      embedded=raw, positions=s.x[0] - raw if icfg.positional else None)
    tgt = ex.embed_sentences([icfg.text], E, seed, icfg.positional, dtype)
    keys = ex.embed_sentences([icfg.source_text], kdim or E, seed, icfg.positional, dtype, icfg.pads)
    values = keys if (vdim or E) == (kdim or E) else \
        ex.embed_sentences([icfg.source_text], vdim or E, seed, icfg.positional, dtype, icfg.pads)
    raw = tgt.embedding.weight[tgt.ids[0]].detach()
    return Inputs(tgt.x, keys.x, values.x, tgt.tokens[0], keys.tokens[0],
                  keys.key_padding_mask if icfg.pads else None,
                  embedded=raw, positions=tgt.x[0] - raw if icfg.positional else None)


def build_masks(inputs, mcfg):
    """Keyword arguments for trace_attention: the causal flag, the custom cells, the pad keys."""
    L, S = inputs.query.shape[1], inputs.key.shape[1]
    kw = {}
    if mcfg.blocked:
        custom = ex.custom_mask(mcfg.blocked, L, S)
        kw["attn_mask"] = custom | causal_mask(L, S) if mcfg.causal else custom
    elif mcfg.causal:
        kw["is_causal"] = True
    if mcfg.key_padding and inputs.pad is not None:
        kw["key_padding_mask"] = inputs.pad
    return kw


def module_layout(t, cfg):
    """A batch-first tensor in the layout the module takes."""
    return t if cfg.kind == "additive" or cfg.batch_first else t.transpose(0, 1)


def run(cfg, icfg, mcfg, seed):
    """(trace, inputs) for one setting of the page."""
    validate(cfg, icfg)
    layer = build_layer(cfg, icfg, seed)
    inputs = build_inputs(cfg, icfg, seed)
    q, k, v = (module_layout(t, cfg) for t in (inputs.query, inputs.key, inputs.value))
    if not icfg.cross:
        k = v = None
    return trace_attention(layer, q, k, v, **build_masks(inputs, mcfg)), inputs


def shape_rows(trace, inputs, average=True):
    """(what, value) rows of the shapes along the way and the parameter count with its formula."""
    m = trace.module
    layout = "(B, L, E)" if trace.batch_first else "(L, B, E)"
    returned = trace.module_weights if average or trace.kind == "additive" else trace.module_head_weights
    rows = [("query", f"{tuple(inputs.query.shape)} batch-first; the layer takes {layout}"),
            ("key / value", f"{tuple(inputs.key.shape)} / {tuple(inputs.value.shape)}"),
            ("per-head q / k / v", f"{tuple(trace.q.shape)} / {tuple(trace.k.shape)} / {tuple(trace.v.shape)}"),
            ("scores, weights", f"{tuple(trace.weights.shape)} (batch, head, query, key)"),
            ("output", f"{tuple(trace.output.shape)}"),
            ("weights returned", f"{tuple(returned.shape)}"
                                 + (" averaged over heads" if trace.kind != "additive" and average else ""))]
    rows += [(f"parameter {n}", str(tuple(p.shape))) for n, p in m.named_parameters()]
    count = sum(p.numel() for p in m.parameters())
    E, kdim, vdim = m.embed_dim, inputs.key.shape[-1], inputs.value.shape[-1]
    if trace.kind == "additive":
        H = m.hidden_dim
        formula = f"{H}·{E} + {H}·{kdim} + {H}"
    else:
        formula = f"{E}·({E} + {kdim} + {vdim}) + {E}·{E}" + (f" + 4·{E}" if m.in_proj_bias is not None else "")
    rows.append(("parameters", f"{count:,} = {formula}"))
    return rows


def worked_lines(trace, b, head, i, j, query_tokens, key_tokens):
    """Markdown lines that work out weights[b, head, i, j] from the trace's own numbers:
    the score, the softmax of its row, and what the row's weights mix into."""
    t, r = trace.score_terms(b, head, i, j), trace.query_row(b, head, i)
    q, k = query_tokens[i], key_tokens[j]
    if trace.kind == "additive":
        how = f"hidden = tanh(W_q q + W_k k) has {t.products.numel()} numbers; vᵀ hidden = {t.raw:.6g}"
    else:
        pairs = zip(trace.q[b, head, i][:6].tolist(), trace.k[b, head, j][:6].tolist())
        shown = " + ".join(f"({a:.3g})·({c:.3g})" for a, c in pairs)
        more = f" + … ({trace.head_dim - 6} more)" if trace.head_dim > 6 else ""
        how = f"q · k = {shown}{more} = {t.raw:.6g}; × 1/√{trace.head_dim} = {t.scaled:.6g}"
    mask = "" if t.mask == 0 else (" + mask (−∞)" if t.mask == float("-inf") else f" + mask ({t.mask:.4g})")
    e, w = float(r.exp[j]), float(r.weights[j])
    out = ", ".join(f"{v:.4g}" for v in r.output[:8].tolist()) + (", …" if r.output.numel() > 8 else "")
    then = ("after the heads are put side by side, out_proj mixes them into the layer's output" if
            trace.kind != "additive" else "the context vector: the layer's output for this query")
    return [f"**Score** of “{q}” → “{k}”: {how}{mask} → score **{t.score:.6g}**.",
            f"**Softmax**: the largest score of the row is {r.top:.6g}; exp({t.score:.4g} − {r.top:.4g}) = {e:.6g}, "
            f"the row's exps add up to {r.total:.6g}, so the weight is {e:.6g} / {r.total:.6g} = **{w:.6g}**.",
            f"**Output** of this head for the query: Σⱼ weightⱼ · vⱼ = [{out}] ({r.output.numel()} numbers; {then})."]


def settings_rows(cfg, icfg, mcfg, seed):
    """(setting, value) pairs that name everything behind the page's numbers, for the CSV export."""
    kdim, vdim = effective_dims(cfg, icfg)
    rows = [("layer", "AdditiveAttention" if cfg.kind == "additive" else "nn.MultiheadAttention"),
            ("embed_dim", cfg.embed_dim)]
    if cfg.kind == "multihead":
        rows += [("num_heads", cfg.num_heads), ("bias", cfg.bias), ("batch_first", cfg.batch_first)]
    else:
        rows.append(("hidden_dim", cfg.hidden_dim or cfg.embed_dim))
    rows += [("kdim", kdim or cfg.embed_dim), ("vdim", vdim or kdim or cfg.embed_dim), ("dtype", cfg.dtype),
             ("seed", seed), ("attention", "cross" if icfg.cross else "self")]
    if icfg.source == "sentence":
        rows += [("sentence" if not icfg.cross else "decoder sentence", icfg.text)]
        rows += [("encoder sentence", icfg.source_text)] if icfg.cross else []
        rows += [("positional encoding", icfg.positional)]
    else:
        rows += [("input", "random"), ("batch", icfg.batch), ("queries", icfg.tgt_len)]
        rows += [("keys", icfg.src_len)] if icfg.cross else []
    rows += [("pad tokens", icfg.pads), ("causal mask", mcfg.causal), ("key padding mask", mcfg.key_padding),
             ("masked cells", format_cells(mcfg.blocked))]
    return rows


# -- custom mask cells ---------------------------------------------------------------------------
_CELL = re.compile(r"^\s*(\d{1,3})\s*[-:]\s*(\d{1,3})\s*$")
MAX_CELLS = 512


def parse_cells(text):
    """'0-1, 3-2' -> ((0, 1), (3, 2)): (query, key) cells of the custom mask, sorted, no repeats.

    >>> parse_cells("2-0, 0-1 ,2-0")
    ((0, 1), (2, 0))
    """
    text = str(text).strip().strip(",")
    if not text:
        return ()
    cells = set()
    for part in text.split(","):
        m = _CELL.match(part)
        if not m:
            raise ExplorerError(f"Cannot read the masked cell “{part.strip()[:20]}”: write query-key pairs "
                                "such as 0-1, 3-2 (or click cells of the weights heatmap).")
        cells.add((int(m.group(1)), int(m.group(2))))
    if len(cells) > MAX_CELLS:
        raise ExplorerError(f"{len(cells)} masked cells is more than {MAX_CELLS}; use the causal mask or fewer cells.")
    return tuple(sorted(cells))


def inside(cells, tgt_len, src_len):
    """The cells that fit a grid of tgt_len queries × src_len keys (a shorter sentence drops the rest)."""
    return tuple((i, j) for i, j in cells if i < tgt_len and j < src_len)


def format_cells(cells):
    return ", ".join(f"{i}-{j}" for i, j in sorted(cells))


def toggle_cell(cells, i, j):
    """The cells with (i, j) added, or removed if it was there: one click masks, a second unmasks."""
    cells = set(cells)
    cells ^= {(int(i), int(j))}
    return tuple(sorted(cells))


# -- the snippet ---------------------------------------------------------------------------------
ADDITIVE_SOURCE = '''
class AdditiveAttention(nn.Module):
    """Bahdanau attention: score(q_i, k_j) = v^T tanh(W_q q_i + W_k k_j), weights = softmax over keys j."""

    def __init__(self, embed_dim, kdim=None, hidden_dim=None):
        super().__init__()
        kdim, hidden_dim = kdim or embed_dim, hidden_dim or embed_dim
        self.w_q = nn.Linear(embed_dim, hidden_dim, bias=False)
        self.w_k = nn.Linear(kdim, hidden_dim, bias=False)
        self.v = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, key, value=None, *, attn_mask=None, key_padding_mask=None):
        value = key if value is None else value
        hidden = torch.tanh(self.w_q(query).unsqueeze(2) + self.w_k(key).unsqueeze(1))  # (B, L, S, H)
        scores = self.v(hidden).squeeze(-1)                                           # (B, L, S)
        if attn_mask is not None:        # True = may not attend
            scores = scores.masked_fill(attn_mask, float("-inf"))
        if key_padding_mask is not None:  # True = a pad key
            scores = scores.masked_fill(key_padding_mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)                                       # (B, L, S)
        return weights @ value, weights                                               # (B, L, V), (B, L, S)
'''

EMBED_SOURCE = '''

def positional_encoding(length, dim):
    """PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(p / 10000^(2i/dim))."""
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    freq = 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.zeros(length, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, :dim // 2]
    return pe.to(DTYPE)


def embed(tokens, dim):
    """An nn.Embedding row per distinct token (a seeded vector per word, zeros for <pad>)POSITIONS."""
    vocab = {"<pad>": 0}
    for tok in tokens:
        vocab.setdefault(tok, len(vocab))
    emb = nn.Embedding(len(vocab), dim, padding_idx=0, dtype=DTYPE)
    with torch.no_grad():
        for tok, i in vocab.items():
            g = torch.Generator().manual_seed(zlib.crc32(tok.encode()) ^ SEED)
            emb.weight[i] = 0.0 if tok == "<pad>" else torch.randn(dim, generator=g, dtype=DTYPE)
        x = emb(torch.tensor([[vocab[t] for t in tokens]]))  # (1, n, dim)
    return XRETURN
'''


def snippet(cfg, icfg, mcfg, seed, average=True):
    """A script that rebuilds this exact layer, input and masks, runs the layer and prints its output
    and weights: nothing in it needs Layer Lab."""
    kdim, vdim = effective_dims(cfg, icfg)
    sentence = icfg.source == "sentence"
    inputs = build_inputs(cfg, icfg, seed)
    B, L, S = inputs.query.shape[0], inputs.query.shape[1], inputs.key.shape[1]
    lines = ['"""Layer Lab, Attention page: the same layer, input and masks, and the same numbers."""',
             "import math"] + (["import zlib"] if sentence else []) + [
             "", "import torch", "from torch import nn", "", f"SEED = {int(seed)}  # the page's random seed",
             f"DTYPE = torch.{cfg.dtype}", "torch.set_printoptions(precision=4, sci_mode=False)"]
    if cfg.kind == "additive":
        lines += ["", ADDITIVE_SOURCE.strip("\n"), ""]
        args = [str(cfg.embed_dim)] + ([f"kdim={kdim}"] if kdim else []) + \
            ([f"hidden_dim={cfg.hidden_dim}"] if cfg.hidden_dim else [])
        ctor = f"AdditiveAttention({', '.join(args)})"
    else:
        args = [str(cfg.embed_dim), str(cfg.num_heads)] + ([] if cfg.bias else ["bias=False"]) + \
            ([f"kdim={kdim}"] if kdim else []) + ([f"vdim={vdim}"] if vdim else []) + \
            [f"batch_first={cfg.batch_first}"]
        ctor = f"nn.MultiheadAttention({', '.join(args)})"
    if sentence:
        pos = EMBED_SOURCE.replace("POSITIONS", ", plus the positional encoding" if icfg.positional else "")
        lines += [pos.replace("XRETURN", "x + positional_encoding(len(tokens), dim)  # (1, n, dim)"
                              if icfg.positional else "x").rstrip("\n")]
    lines += ["", "", "# learned-looking weights from a private generator: N(0, 1/fan_in) weights, N(0, 0.01) biases",
              f"layer = {ctor}.to(DTYPE).eval()", "g = torch.Generator().manual_seed(SEED)",
              "with torch.no_grad():", "    for name, p in layer.named_parameters():",
              f"        scale = {ex.BIAS_SCALE!r} if name.endswith(\"bias\") else 1.0 / math.sqrt(p.shape[-1])",
              "        p.copy_(torch.randn(p.shape, generator=g, dtype=DTYPE) * scale)", ""]
    lines += _input_lines(cfg, icfg, inputs, kdim, vdim, B, L, S)
    lines += _mask_lines(inputs, mcfg, L, S)
    call_masks = "".join(f", {k}={k}" for k in ("attn_mask", "key_padding_mask") if k in _mask_names(inputs, mcfg))
    causal = ", is_causal=True" if mcfg.causal and not mcfg.blocked else ""
    k_name, v_name = ("key", "value") if icfg.cross else ("query", "query")
    lines += ["", "with torch.no_grad():"]
    if cfg.kind == "additive":
        lines.append(f"    out, weights = layer(query, {k_name}, {v_name}{call_masks})")
    else:
        lines.append(f"    out, weights = layer(query, {k_name}, {v_name}{call_masks}{causal},")
        lines.append(f"                         need_weights=True, average_attn_weights={bool(average)})")
    layout = "(B, L, E)" if cfg.kind == "additive" or cfg.batch_first else "(L, B, E)"
    wshape = "(B, L, S)" if cfg.kind == "additive" or average else "(B, heads, L, S)"
    lines += [f'print("output", tuple(out.shape), "{layout}")', "print(out)",
              f'print("weights", tuple(weights.shape), "{wshape}: every row sums to 1")', "print(weights)"]
    return "\n".join(lines) + "\n"


def _input_lines(cfg, icfg, inputs, kdim, vdim, B, L, S):
    E = cfg.embed_dim
    to_layout = cfg.kind == "multihead" and not cfg.batch_first
    if icfg.source == "random":
        lines = ["# standard-normal inputs from the seed + 1", "g = torch.Generator().manual_seed(SEED + 1)",
                 f"query = torch.randn({B}, {L}, {E}, generator=g, dtype=DTYPE)  # (B, L, E)"]
        if icfg.cross:
            lines += [f"key = torch.randn({B}, {S}, {kdim or E}, generator=g, dtype=DTYPE)  # (B, S, kdim)",
                      f"value = torch.randn({B}, {S}, {vdim or kdim or E}, generator=g, dtype=DTYPE)  # (B, S, vdim)"]
    elif icfg.cross:
        lines = [f"query_tokens = {inputs.query_tokens!r}  # the decoder's sentence",
                 f"key_tokens = {inputs.key_tokens!r}  # the encoder's sentence",
                 f"query = embed(query_tokens, {E})  # (1, L, E)",
                 f"key = embed(key_tokens, {kdim or E})  # (1, S, kdim)",
                 f"value = {'key' if (vdim or E) == (kdim or E) else f'embed(key_tokens, {vdim})'}  # (1, S, vdim)"]
    else:
        lines = [f"tokens = {inputs.query_tokens!r}", f"query = embed(tokens, {E})  # (1, L, E)"]
    if to_layout:
        names = ("query", "key", "value") if icfg.cross else ("query",)
        lines += ["# batch_first=False: the layer takes the sequence first"]
        lines += [f"{n} = {n}.transpose(0, 1)  # ({'L' if n == 'query' else 'S'}, B, ·)" for n in names]
    return lines


def _mask_names(inputs, mcfg):
    names = set()
    if mcfg.causal or mcfg.blocked:
        names.add("attn_mask")
    if mcfg.key_padding and inputs.pad is not None:
        names.add("key_padding_mask")
    return names


def _mask_lines(inputs, mcfg, L, S):
    lines = []
    if mcfg.causal:
        lines.append(f"attn_mask = torch.ones({L}, {S}, dtype=torch.bool).triu(1)  # True = may not attend: the future")
    elif mcfg.blocked:
        lines.append(f"attn_mask = torch.zeros({L}, {S}, dtype=torch.bool)")
    if mcfg.blocked:
        rows = ", ".join(str(i) for i, _ in mcfg.blocked)
        cols = ", ".join(str(j) for _, j in mcfg.blocked)
        lines.append(f"attn_mask[[{rows}], [{cols}]] = True  # the cells clicked on the page: (query, key)")
    if "key_padding_mask" in _mask_names(inputs, mcfg):
        pad = inputs.pad.tolist()
        lines.append(f"key_padding_mask = torch.tensor({pad!r})  # (B, S) True = a pad key, never attended to")
    return ([""] + lines) if lines else []
