"""Inputs for the Attention page: typed sentences as tokens and vectors, random tensors, masks, layers.

A sentence becomes a (1, L, E) batch: each token looks up a row of a seeded nn.Embedding (the same
word always gets the same vector, as in a trained model), plus the sinusoidal positional encoding
so that the order of the words changes the input.
"""
import math
import re
import zlib
from dataclasses import dataclass

import torch
from torch import nn

from ..attention import AdditiveAttention
from ..errors import ExplorerError

MAX_TOKENS = 64
PAD = "<pad>"
SENTENCES = (
    "the cat sat on the mat because it was tired .",
    "the animal didn't cross the street because it was too wide .",
    "i love attention , it tells me where to look !",
)
PAIRS = (  # (encoder sentence, decoder sentence) for cross-attention
    ("the cat sat on the mat .", "le chat était assis sur le tapis ."),
    ("i like green apples .", "ich mag grüne äpfel ."),
    ("where is the station ?", "où est la gare ?"),
)
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]|_", re.UNICODE)


def tokenize(text, max_tokens=MAX_TOKENS):
    """Lowercase words (apostrophes kept inside a word) and single punctuation marks.

    >>> tokenize("The cat didn't sit!")
    ['the', 'cat', "didn't", 'sit', '!']
    """
    tokens = _TOKEN.findall(str(text).lower())
    if not tokens:
        raise ExplorerError("Type at least one word: there is nothing to attend to in an empty sentence.")
    if len(tokens) > max_tokens:
        raise ExplorerError(f"The sentence has {len(tokens)} tokens; keep it to {max_tokens} or fewer so the "
                            "attention pictures stay readable.")
    return tokens


def build_vocab(*token_lists):
    """Token -> id, with the padding token at id 0, then tokens in order of first appearance."""
    vocab = {PAD: 0}
    for tokens in token_lists:
        for tok in tokens:
            vocab.setdefault(tok, len(vocab))
    return vocab


def token_vector(token, embed_dim, seed=0, dtype=torch.float32):
    """A fixed vector for a token: the same word and seed always give the same (E,) vector."""
    g = torch.Generator().manual_seed(zlib.crc32(token.encode()) ^ int(seed))
    return torch.randn(embed_dim, generator=g, dtype=dtype)


def embedding_layer(vocab, embed_dim, seed=0, dtype=torch.float32):
    """nn.Embedding over `vocab` with padding_idx 0 (a zero row), every other row from token_vector.

    Built on the meta device, so torch's own initialisation never draws from the global random
    generator that every session of the server shares; every row is then written here.
    """
    emb = nn.Embedding(len(vocab), embed_dim, padding_idx=vocab.get(PAD, 0), dtype=dtype, device="meta")
    emb = emb.to_empty(device="cpu")
    with torch.no_grad():
        for tok, i in vocab.items():
            emb.weight[i] = 0.0 if tok == PAD else token_vector(tok, embed_dim, seed, dtype)
    return emb


def positional_encoding(length, embed_dim, dtype=torch.float32):
    """PE[p, 2i] = sin(p / 10000^(2i/E)), PE[p, 2i+1] = cos(p / 10000^(2i/E)); shape (length, E).

    >>> pe = positional_encoding(3, 4)
    >>> [round(float(x), 3) for x in pe[1]]   # p = 1: sin(1), cos(1), sin(1/100), cos(1/100)
    [0.841, 0.54, 0.01, 1.0]
    """
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)                     # (L, 1)
    freq = 10000.0 ** (-torch.arange(0, embed_dim, 2, dtype=torch.float64) / embed_dim)  # (ceil(E/2),)
    angles = pos * freq                                                              # (L, ceil(E/2))
    pe = torch.zeros(length, embed_dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, :embed_dim // 2])
    return pe.to(dtype)


@dataclass(frozen=True)
class Sentences:
    """A batch of typed sentences, padded to one length, ready for an attention layer."""
    tokens: list                     # per sentence, its tokens padded with PAD to the longest one
    ids: torch.Tensor                # (B, S) token ids, PAD = 0
    x: torch.Tensor                  # (B, S, E) embedding (+ positional encoding), batch-first
    key_padding_mask: torch.Tensor   # (B, S) bool, True on padding
    embedding: nn.Embedding          # the lookup table used


def embed_sentences(texts, embed_dim, seed=0, positional=True, dtype=torch.float32, pads=0):
    """Tokenize, pad and embed sentences; the mask marks the padding so no query attends to it.

    Every sentence is padded to the longest one, then `pads` more PAD tokens are appended to all,
    as when a batch is padded to the length of a longer sentence that is not shown.

    >>> s = embed_sentences(["the cat sat", "hello"], 8)
    >>> tuple(s.x.shape), s.tokens[1], s.key_padding_mask[1].tolist()
    ((2, 3, 8), ['hello', '<pad>', '<pad>'], [False, True, True])
    """
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(pads, int) or not 0 <= pads <= MAX_TOKENS:
        raise ExplorerError(f"The number of pad tokens must be a whole number from 0 to {MAX_TOKENS}; got {pads}.")
    token_lists = [tokenize(t) for t in texts]
    S = max(len(t) for t in token_lists) + pads
    if S > MAX_TOKENS:
        raise ExplorerError(f"With the pad tokens the sequence has {S} positions; keep it to {MAX_TOKENS} or fewer.")
    padded = [t + [PAD] * (S - len(t)) for t in token_lists]
    vocab = build_vocab(*token_lists)
    emb = embedding_layer(vocab, embed_dim, seed, dtype)
    ids = torch.tensor([[vocab[tok] for tok in t] for t in padded])                 # (B, S)
    with torch.no_grad():
        x = emb(ids)                                                                 # (B, S, E)
    if positional:
        x = x + positional_encoding(S, embed_dim, dtype)                             # (B, S, E)
    return Sentences(tokens=padded, ids=ids, x=x, key_padding_mask=ids == vocab[PAD], embedding=emb)


def sentence_pair(source, target, embed_dim, seed=0, dtype=torch.float32, positional=True, pads=0):
    """Encoder and decoder sentences for cross-attention: queries from the target, keys/values from the source.

    Returns (source Sentences, target Sentences), each a batch of one; `pads` pad the source (the keys).
    """
    return (embed_sentences([source], embed_dim, seed, positional, dtype, pads),
            embed_sentences([target], embed_dim, seed, positional, dtype))


def random_inputs(batch, tgt_len, src_len, embed_dim, kdim=None, vdim=None, seed=0, dtype=torch.float32):
    """Seeded standard-normal (query, key, value), batch-first: (B, L, E), (B, S, kdim), (B, S, vdim)."""
    g = torch.Generator().manual_seed(int(seed))
    query = torch.randn(batch, tgt_len, embed_dim, generator=g, dtype=dtype)
    key = torch.randn(batch, src_len, kdim or embed_dim, generator=g, dtype=dtype)
    value = torch.randn(batch, src_len, vdim or embed_dim, generator=g, dtype=dtype)
    return query, key, value


def custom_mask(cells, tgt_len, src_len):
    """(L, S) bool attn_mask, True (may not attend) at each clicked (query, key) cell.

    >>> custom_mask([(0, 1)], 2, 2).tolist()
    [[False, True], [False, False]]
    """
    mask = torch.zeros(tgt_len, src_len, dtype=torch.bool)
    for i, j in cells:
        if not (0 <= i < tgt_len and 0 <= j < src_len):
            raise ExplorerError(f"The cell (query {i}, key {j}) is outside the {tgt_len}×{src_len} grid.")
        mask[i, j] = True
    return mask


BIAS_SCALE = 0.1  # biases of a trained layer are small but not zero


def init_scale(name, p):
    """The standard deviation of a parameter's seeded values: 1/sqrt(fan_in) for weights, BIAS_SCALE for biases."""
    return BIAS_SCALE if name.endswith("bias") else 1.0 / math.sqrt(p.shape[-1])


def make_layer(kind="multihead", embed_dim=8, num_heads=2, seed=0, *, kdim=None, vdim=None, bias=True,
               batch_first=True, hidden_dim=None, dtype=torch.float32):
    """A seeded attention layer in eval mode: nn.MultiheadAttention or AdditiveAttention.

    Learned-looking parameters: normal values of size init_scale, drawn in named_parameters() order
    from a torch.Generator, so the same seed always builds the same layer. The layer is built on the
    meta device first: torch's own initialisation would draw from the global random generator, which
    every session of the server shares.
    """
    if kind == "multihead":
        if num_heads < 1 or embed_dim % num_heads:
            divisors = ", ".join(str(h) for h in range(1, embed_dim + 1) if embed_dim % h == 0)
            raise ExplorerError(f"embed_dim {embed_dim} must split evenly into heads; {num_heads} heads do not "
                                f"divide it. Try {divisors}.")
        layer = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, batch_first=batch_first, kdim=kdim,
                                      vdim=vdim, dtype=dtype, device="meta")
    elif kind == "additive":
        layer = AdditiveAttention(embed_dim, kdim=kdim, hidden_dim=hidden_dim, dtype=dtype, device="meta")
    else:
        raise ExplorerError(f"Unknown attention kind {kind!r}; choose 'multihead' or 'additive'.")
    layer = layer.to_empty(device="cpu").eval()
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, p in layer.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype) * init_scale(name, p))
    return layer


# -- the seed notes' common mistakes -------------------------------------------------------------
def _seeded_layer_code(E, heads):
    return (f"layer = nn.MultiheadAttention({E}, {heads}, batch_first=True).eval()\n"
            "g = torch.Generator().manual_seed(0)\n"
            "with torch.no_grad():  # the page's seeded weights\n"
            "    for name, p in layer.named_parameters():\n"
            f"        p.copy_(torch.randn(p.shape, generator=g) * ({BIAS_SCALE!r} if name.endswith('bias') "
            "else 1.0 / math.sqrt(p.shape[-1])))\n"
            f"x = torch.randn(1, 6, {E}, generator=torch.Generator().manual_seed(1))  # six tokens\n")


def mistakes():
    """The notes' attention code, used where it does not fit nn.MultiheadAttention, against torch."""
    from ..attention import temperature, trace_attention
    from . import Mistake
    E, heads = 32, 4
    d = E // heads
    layer = make_layer("multihead", E, heads, seed=0)
    x = torch.randn(1, 6, E, generator=torch.Generator().manual_seed(1))
    t = trace_attention(layer, x)
    wrong = temperature(t, math.sqrt(d / E)).weights[0, 0]                       # softmax(QK^T / sqrt(E))
    right_top = [round(float(v), 3) for v in t.weights[0, 0].max(dim=-1).values]
    wrong_top = [round(float(v), 3) for v in wrong.max(dim=-1).values]
    scale = Mistake(
        title="dividing by √d_model in a multi-head layer",
        claim="“scores = Q Kᵀ / √d_model” (the notes' Attention class divides by "
              "`torch.sqrt(torch.tensor(self.d_model))`), while their formula says d_k is the size of a key vector.",
        what_goes_wrong=f"With several heads each key vector has d = E / heads numbers, and nn.MultiheadAttention "
                        f"scales by 1/√d. For E = {E} and {heads} heads that is 1/√{d}, not 1/√{E}: the notes' "
                        f"scores are {math.sqrt(E / d):.3g}× too small and every row too flat. The largest weight "
                        f"of each query row in head 0: torch {right_top}, with √d_model {wrong_top}.",
        trace=t,
        code="import math\nimport torch\nfrom torch import nn\n\n" + _seeded_layer_code(E, heads) +
             "with torch.no_grad():\n"
             "    _, w = layer(x, x, x, average_attn_weights=False)  # (1, heads, 6, 6)\n"
             "    W_q, W_k, _ = layer.in_proj_weight.chunk(3)\n"
             "    b_q, b_k, _ = layer.in_proj_bias.chunk(3)\n"
             f"    q, k = (x @ W_q.T + b_q)[0, :, :{d}], (x @ W_k.T + b_k)[0, :, :{d}]  # head 0\n"
             f"    right = torch.softmax(q @ k.T / math.sqrt({d}), dim=-1)   # d = E / heads\n"
             f"    wrong = torch.softmax(q @ k.T / math.sqrt({E}), dim=-1)  # d_model\n"
             "print(torch.allclose(right, w[0, 0], atol=1e-6))  # True: the layer uses d = E / heads\n"
             "print(right.max(-1).values, wrong.max(-1).values, sep='\\n')\n")

    L = x.shape[1]
    causal = trace_attention(layer, x, is_causal=True)
    keep = torch.ones(L, L).tril().bool()                                        # the notes' 1 = keep
    with torch.no_grad():
        _, flipped = layer(x, x, x, attn_mask=keep)                              # True = blocked to torch
    nan_rows = [i for i in range(L) if bool(torch.isnan(flipped[0, i]).any())]
    first = [round(float(v), 3) for v in flipped[0, 0]]
    mask = Mistake(
        title="a 1 = keep mask given to nn.MultiheadAttention",
        claim="“scores.masked_fill_(mask == 0, float('-inf'))”: in the notes a mask holds 1 where a query may "
              "look, e.g. torch.tril(torch.ones(L, L)) for a causal mask.",
        what_goes_wrong=f"nn.MultiheadAttention reads a bool attn_mask the other way round: True means *may not "
                        f"attend*. The tril mask then blocks the past and opens the future: the "
                        f"first query's weights become {first}, and row(s) {nan_rows} have every key blocked, so "
                        f"torch returns NaN there. Pass ~keep instead, which is "
                        f"torch.ones(L, L, dtype=torch.bool).triu(1).",
        trace=causal,
        code="import math\nimport torch\nfrom torch import nn\n\n" + _seeded_layer_code(E, heads) +
             f"keep = torch.ones({L}, {L}).tril().bool()  # the notes' convention: True = may look\n"
             "with torch.no_grad():\n"
             "    _, wrong = layer(x, x, x, attn_mask=keep)   # torch: True = may NOT look\n"
             "    _, right = layer(x, x, x, attn_mask=~keep)  # the causal mask torch expects\n"
             "print(wrong)  # the future is open, the last row is NaN\n"
             "print(right)  # lower triangular, every row sums to 1\n")
    return [scale, mask]
