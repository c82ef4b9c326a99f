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
    """nn.Embedding over `vocab` with padding_idx 0 (a zero row), every other row from token_vector."""
    emb = nn.Embedding(len(vocab), embed_dim, padding_idx=vocab.get(PAD, 0), dtype=dtype)
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


def embed_sentences(texts, embed_dim, seed=0, positional=True, dtype=torch.float32):
    """Tokenize, pad and embed sentences; the mask marks the padding so no query attends to it.

    >>> s = embed_sentences(["the cat sat", "hello"], 8)
    >>> tuple(s.x.shape), s.tokens[1], s.key_padding_mask[1].tolist()
    ((2, 3, 8), ['hello', '<pad>', '<pad>'], [False, True, True])
    """
    if isinstance(texts, str):
        texts = [texts]
    token_lists = [tokenize(t) for t in texts]
    S = max(len(t) for t in token_lists)
    padded = [t + [PAD] * (S - len(t)) for t in token_lists]
    vocab = build_vocab(*token_lists)
    emb = embedding_layer(vocab, embed_dim, seed, dtype)
    ids = torch.tensor([[vocab[tok] for tok in t] for t in padded])                 # (B, S)
    with torch.no_grad():
        x = emb(ids)                                                                 # (B, S, E)
    if positional:
        x = x + positional_encoding(S, embed_dim, dtype)                             # (B, S, E)
    return Sentences(tokens=padded, ids=ids, x=x, key_padding_mask=ids == vocab[PAD], embedding=emb)


def sentence_pair(source, target, embed_dim, seed=0, dtype=torch.float32):
    """Encoder and decoder sentences for cross-attention: queries from the target, keys/values from the source.

    Returns (source Sentences, target Sentences), each a batch of one.
    """
    return (embed_sentences([source], embed_dim, seed, dtype=dtype),
            embed_sentences([target], embed_dim, seed, dtype=dtype))


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


def make_layer(kind="multihead", embed_dim=8, num_heads=2, seed=0, *, kdim=None, vdim=None, bias=True,
               batch_first=True, hidden_dim=None, dtype=torch.float32):
    """A seeded attention layer in eval mode: nn.MultiheadAttention or AdditiveAttention.

    Weights are drawn from a torch.Generator with the usual 1/sqrt(fan_in) size, so the same seed
    always builds the same layer, whatever torch's global random state. Biases start at zero, as torch
    initialises them.
    """
    if kind == "multihead":
        if num_heads < 1 or embed_dim % num_heads:
            divisors = ", ".join(str(h) for h in range(1, embed_dim + 1) if embed_dim % h == 0)
            raise ExplorerError(f"embed_dim {embed_dim} must split evenly into heads; {num_heads} heads do not "
                                f"divide it. Try {divisors}.")
        layer = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, batch_first=batch_first, kdim=kdim,
                                      vdim=vdim, dtype=dtype)
    elif kind == "additive":
        layer = AdditiveAttention(embed_dim, kdim=kdim, hidden_dim=hidden_dim, dtype=dtype)
    else:
        raise ExplorerError(f"Unknown attention kind {kind!r}; choose 'multihead' or 'additive'.")
    layer = layer.eval()
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            else:
                p.copy_(torch.randn(p.shape, generator=g, dtype=dtype) / math.sqrt(p.shape[-1]))
    return layer
